//! The benchmarks still run: `janta-bench --scenario smoke` starts its own
//! platform (the `janta` binary the workspace build puts next to it), sends
//! each contract query with distinct customers and races a small checkout,
//! and must print figures with no error and nothing oversold.

use std::path::Path;
use std::process::Command;

#[test]
fn the_benchmarks_run_against_a_real_platform_without_errors() {
    let bench = Path::new(env!("CARGO_BIN_EXE_janta-bench"));
    let janta = bench.with_file_name("janta");
    assert!(
        janta.exists(),
        "{} is missing: build the platform first (cargo build -p janta)",
        janta.display()
    );
    let output = Command::new(bench)
        .args(["--scenario", "smoke", "--janta-bin"])
        .arg(&janta)
        .output()
        .expect("janta-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "janta-bench failed:\n{stdout}\n{stderr}"
    );
    for query in ["Me", "SearchMedicines", "MedicineDetail", "Dashboard"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(query) && l.contains("req/s"))
            .unwrap_or_else(|| panic!("no figures for {query}:\n{stdout}"));
        assert!(line.ends_with("errors 0"), "{line}");
    }
    assert!(stdout.contains("orders/s"), "{stdout}");
    assert!(stdout.contains("oversold 0 units"), "{stdout}");
}
