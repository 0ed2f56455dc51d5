//! The users subgraph's SDL: what the router may and may not see.

use janta_users::sdl;

/// The SDL text of root field `name` (from its name to the end of its
/// type, across multi-line argument lists).
fn field_definition<'a>(sdl: &'a str, name: &str) -> &'a str {
    let start = sdl
        .find(&format!("\t{name}("))
        .unwrap_or_else(|| panic!("{name} is not in the SDL"));
    let end = sdl[start..]
        .find("\n\t\"\"\"")
        .or_else(|| sdl[start..].find("\n}"))
        .map_or(sdl.len(), |offset| start + offset);
    &sdl[start..end]
}

#[test]
fn service_only_fields_are_hidden_from_the_router() {
    let sdl = sdl();
    for field in [
        "contactForService",
        "addressForService",
        "familyMemberOfForService",
        "recordPersonalDataAnswer",
    ] {
        let definition = field_definition(&sdl, field);
        assert!(definition.contains("@inaccessible"), "{definition}");
    }
    assert!(
        !sdl.contains("serviceToken"),
        "the serviceToken mutation is back"
    );
    assert!(
        !field_definition(&sdl, "login").contains("@inaccessible"),
        "sign-in must stay public"
    );
}
