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
