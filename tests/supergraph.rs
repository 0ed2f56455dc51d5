//! The committed supergraph is what composition produces today, and it
//! loads the way Apollo Router loads a supergraph.

use std::process::Command;

#[test]
fn committed_supergraph_is_fresh() {
    let out = Command::new(env!("CARGO_BIN_EXE_janta"))
        .args(["compose", "--check", "--out"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/supergraph.graphql"))
        .output()
        .expect("janta compose runs");
    assert!(
        out.status.success(),
        "stale supergraph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn contract_copy_matches_the_shared_contract() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/contract/operations.graphql"
    );
    if let Ok(text) = std::fs::read_to_string(shared) {
        let ours = include_str!("contract/operations.graphql");
        assert_eq!(
            ours, text,
            "tests/contract/operations.graphql differs from shared/contract"
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
    assert!(
        out.status.success(),
        "Apollo JS composition failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
