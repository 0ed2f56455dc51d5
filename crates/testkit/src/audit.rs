//! The GraphQL-over-HTTP conformance audit of the `graphql-http` package
//! (the reference implementation of the spec), run with Node.js against a
//! live endpoint: the same MUSTs and SHOULDs every client library assumes.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Runs every server audit against `url`; returns the failed ones (each
/// `{id, name, status, reason}`, status `error` for a MUST and `warn` for a
/// SHOULD; failed MAYs are not returned). Panics when the audit cannot run.
pub async fn graphql_http_audit(url: &str) -> Vec<Value> {
    let modules = graphql_http_package();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/graphql_http_audit.cjs");
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(url)
        .env("NODE_PATH", &modules)
        .output()
        .await
        .expect("node runs (install Node.js 18+, or run scripts/test)");
    assert!(
        output.status.success(),
        "the audit crashed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("audit results");
    assert!(results.len() > 40, "the audit did not run: {results:?}");
    results
        .into_iter()
        .filter(|result| result["status"] == "error" || result["status"] == "warn")
        .collect()
}

/// The `node_modules` directory holding `graphql-http` (and its peer
/// `graphql`), installed with npm into a cache directory on first use
/// (`JANTA_NPM_CACHE`, default `~/.cache/janta/npm`). `scripts/test`
/// installs Node.js and npm when the machine has none.
fn graphql_http_package() -> PathBuf {
    const PACKAGES: [&str; 2] = ["graphql-http@1.23.1", "graphql@16.11.0"];
    let cache = std::env::var_os("JANTA_NPM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/janta/npm")
        });
    let dir = cache.join("graphql-http-1.23.1");
    let modules = dir.join("node_modules");
    if modules.join("graphql-http/package.json").exists() {
        return modules;
    }
    // Install beside, then move into place, so concurrent runs never see a
    // half-installed package.
    let staging = cache.join(format!(
        "staging-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&staging)
        .args(PACKAGES)
        .status()
        .expect("npm runs (install Node.js and npm, or run scripts/test)");
    assert!(status.success(), "npm install {PACKAGES:?} failed");
    if std::fs::rename(&staging, &dir).is_err() {
        // Another run installed it first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    modules
}
