//! The committed supergraph and published API schema are what composition
//! produces today, and the supergraph loads the way Apollo Router loads one.

use std::process::Command;

#[test]
fn committed_supergraph_is_fresh() {
    let out = Command::new(env!("CARGO_BIN_EXE_janta"))
        .args(["compose", "--check", "--out"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/supergraph.graphql"))
        .arg("--api-schema")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/janta.graphql"))
        .arg("--contract")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/contract/operations.graphql"
        ))
        .arg("--persisted-documents")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/router-config/persisted-documents.json"
        ))
        .output()
        .expect("janta compose runs");
    assert!(
        out.status.success(),
        "stale supergraph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The operations of a contract file by name, each exactly as written (from
/// its `query`/`mutation` line to its closing brace at the start of a line).
fn operations(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some((_, body)) = current.as_mut() {
            body.push(line);
            if line == "}" {
                let (name, body) = current.take().expect("an open operation");
                found.insert(name, body.join("\n"));
            }
            continue;
        }
        let mut words = line.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
        if let (Some("query" | "mutation"), Some(name)) = (words.next(), words.next()) {
            current = Some((name.to_string(), vec![line]));
        }
    }
    found
}

/// The living contract only grows: every operation first agreed (in the
/// shared contract) is still in `tests/contract/operations.graphql`, exactly
/// as written, so it keeps working for the clients that send it.
#[test]
fn every_agreed_operation_is_still_in_the_contract_as_written() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/contract/operations.graphql"
    );
    let Ok(agreed) = std::fs::read_to_string(shared) else {
        return; // a checkout without the shared documents
    };
    let agreed = operations(&agreed);
    let ours = operations(include_str!("contract/operations.graphql"));
    assert!(
        agreed.len() >= 20,
        "the shared contract was read: {agreed:?}"
    );
    for (name, text) in &agreed {
        assert_eq!(
            ours.get(name),
            Some(text),
            "operation {name} changed or went missing"
        );
    }
}

/// The subgraphs' SDL must also compose under Apollo's JavaScript composition
/// (the reference implementation), not only under the Rust port.
#[test]
fn subgraphs_compose_under_apollo_javascript_composition() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = std::env::temp_dir().join(format!("janta-sdl-{}", std::process::id()));
    let dumped = Command::new(env!("CARGO_BIN_EXE_janta"))
        .args(["compose", "--out"])
        .arg(dir.with_extension("supergraph.graphql"))
        .arg("--api-schema")
        .arg(dir.with_extension("api.graphql"))
        .arg("--contract")
        .arg(format!("{root}/tests/contract/operations.graphql"))
        .arg("--persisted-documents")
        .arg(dir.with_extension("documents.json"))
        .arg("--sdl-dir")
        .arg(&dir)
        .status()
        .expect("janta compose runs");
    assert!(dumped.success());
    let modules = format!("{root}/tests/js-compose/node_modules");
    if !std::path::Path::new(&modules).exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(format!("{root}/tests/js-compose"))
            .status()
            .expect("npm runs (Node.js is needed for this test)");
        assert!(installed.success(), "npm ci failed");
    }
    let out = Command::new("node")
        .arg(format!("{root}/tests/js-compose/compose.mjs"))
        .arg(&dir)
        .output()
        .expect("node runs");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(dir.with_extension("supergraph.graphql"));
    let _ = std::fs::remove_file(dir.with_extension("api.graphql"));
    let _ = std::fs::remove_file(dir.with_extension("documents.json"));
    assert!(
        out.status.success(),
        "Apollo JS composition failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
