//! The breaking-change check (`scripts/schema-check`, which runs GraphQL
//! Inspector through `tests/schema-diff/diff.mjs`) passes an unchanged or
//! grown schema, fails when a field is removed without an announcement,
//! and passes again once CHANGELOG.md names the removed field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Installs the checker's npm packages once.
fn install() {
    let modules = Path::new(ROOT).join("tests/schema-diff/node_modules");
    if !modules.exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(Path::new(ROOT).join("tests/schema-diff"))
            .status()
            .expect("npm runs (Node.js is needed for this test)");
        assert!(installed.success(), "npm ci failed");
    }
}

/// A scratch directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("janta-schema-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check(old: &Path, new: &Path, changelog: &Path) -> Output {
    Command::new("node")
        .arg(Path::new(ROOT).join("tests/schema-diff/diff.mjs"))
        .args([old, new, changelog])
        .output()
        .expect("node runs")
}

/// Whether `line` is a whole field definition of a type body, e.g.
/// `  categories: [Category!]!` or `  medicine(id: ID!): Medicine`, and
/// not a line of a description.
fn field_name(line: &str) -> Option<&str> {
    let body = line.strip_prefix("  ").filter(|b| !b.starts_with(' '))?;
    let (signature, ty) = body.rsplit_once(": ")?;
    let name = signature.split('(').next()?;
    let is_type = !ty.is_empty()
        && ty
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "[]!_".contains(c));
    let is_name = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (is_type && is_name).then_some(name)
}

/// The published schema without the first one-line field of `type Query`
/// (and its description), and that field's coordinate.
fn without_a_query_field(schema: &str) -> (String, String) {
    let mut lines: Vec<&str> = schema.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("type Query"))
        .expect("a Query type");
    let (at, field) = (start + 1..lines.len())
        .take_while(|i| lines[*i] != "}")
        .find_map(|i| field_name(lines[i]).map(|name| (i, name.to_string())))
        .expect("a one-line field of Query");
    let mut from = at;
    let above = lines[at - 1].trim();
    if above.ends_with("\"\"\"") {
        from = at - 1;
        if above == "\"\"\"" {
            while lines[from - 1].trim() != "\"\"\""
                && !lines[from - 1].trim().starts_with("\"\"\"")
            {
                from -= 1;
            }
            from -= 1;
        }
    }
    lines.drain(from..=at);
    (lines.join("\n"), format!("Query.{field}"))
}

#[test]
fn a_removed_field_fails_the_check_until_the_changelog_announces_it() {
    install();
    let dir = scratch("diff");
    let published = std::fs::read_to_string(Path::new(ROOT).join("schema/janta.graphql"))
        .expect("schema/janta.graphql is published");
    let old = dir.join("old.graphql");
    let new = dir.join("new.graphql");
    let changelog = dir.join("CHANGELOG.md");
    std::fs::write(&old, &published).unwrap();
    std::fs::write(&changelog, "# Changelog\n").unwrap();

    std::fs::write(&new, &published).unwrap();
    let same = check(&old, &new, &changelog);
    assert!(
        same.status.success(),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );

    std::fs::write(&new, format!("{published}\ntype BrandNew {{ id: ID! }}\n")).unwrap();
    let grown = check(&old, &new, &changelog);
    assert!(
        grown.status.success(),
        "adding a type is not breaking: {}",
        String::from_utf8_lossy(&grown.stderr)
    );

    let (removed, coordinate) = without_a_query_field(&published);
    std::fs::write(&new, removed).unwrap();
    let broken = check(&old, &new, &changelog);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        !broken.status.success(),
        "removing {coordinate} must fail the check"
    );
    assert!(
        stderr.contains(&coordinate),
        "the failure names {coordinate}: {stderr}"
    );

    std::fs::write(
        &changelog,
        format!("# Changelog\n- **Breaking**: `{coordinate}` removed\n"),
    )
    .unwrap();
    let announced = check(&old, &new, &changelog);
    assert!(
        announced.status.success(),
        "{}",
        String::from_utf8_lossy(&announced.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
