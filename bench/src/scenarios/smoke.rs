//! A short run of the benchmarks' machinery for the test suite: a platform
//! of its own, a few seconds of each contract query with distinct
//! customers, and a small checkout race; fails on any error, so a change
//! that breaks the benchmarks is noticed before someone needs figures.

use crate::customers::register;
use crate::load::{closed_loop, Target};
use crate::platform::{scratch_dir, Platform};
use crate::scenarios::{per_customer, QUERIES};
use std::path::Path;
use std::time::Duration;

/// Runs the smoke check; `Err` when anything failed.
pub async fn run(janta_bin: &Path) -> anyhow::Result<()> {
    let dir = scratch_dir("smoke");
    let outcome = check(janta_bin, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn check(janta_bin: &Path, dir: &Path) -> anyhow::Result<()> {
    let (platform, started) = Platform::start(janta_bin, dir).await?;
    println!(
        "smoke: platform answered {:.2} s after start",
        started.as_secs_f64()
    );
    let router = platform.router();
    let customers = register(&router, 2, true).await?;
    let mut errors = 0;
    for query in QUERIES {
        let requests = per_customer(query, "para", &customers);
        let stats = closed_loop(
            query,
            &Target::new(&router),
            &requests,
            2,
            Duration::ZERO,
            Duration::from_millis(500),
        )
        .await;
        stats.print();
        anyhow::ensure!(!stats.latencies.is_empty(), "{query}: no request completed");
        errors += stats.errors;
    }
    let checkout = crate::scenarios::checkout::run(&router, 3, 0).await?;
    anyhow::ensure!(errors == 0, "{errors} queries failed");
    anyhow::ensure!(
        checkout.placed > 0 && checkout.errors == 0,
        "checkout failed"
    );
    anyhow::ensure!(
        checkout.oversold == 0 && checkout.consistent,
        "checkout oversold or lost stock"
    );
    println!("smoke: ok");
    Ok(())
}
