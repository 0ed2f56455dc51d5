//! The whole platform's memory and start-up: cold start to the first
//! answered query (a fresh data directory, which migrates and seeds, and a
//! restart on it), resident memory idle, under a mixed load of the contract
//! queries, and idle again afterwards (the sum over the `janta dev` process
//! and its router child, from /proc).

use crate::customers::{register, sign_in_again};
use crate::load::Target;
use crate::load::{closed_loop, Request};
use crate::platform::{scratch_dir, tree_pss_mib, tree_rss_mib, Platform};
use crate::scenarios::{per_customer, QUERIES};
use crate::stats::ratio;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest round of load on one set of tokens (they live 15 minutes).
const TOKEN_ROUND_SECONDS: u64 = 600;

/// Runs the scenario with `seconds` of mixed load on `connections`.
pub async fn run(
    janta_bin: &Path,
    connections: usize,
    seconds: u64,
    search: &str,
) -> anyhow::Result<()> {
    let dir = scratch_dir("memory");
    let (first, fresh) = Platform::start(janta_bin, &dir).await?;
    println!(
        "memory: cold start, fresh data directory (migrate + seed): {:.3} s",
        fresh.as_secs_f64()
    );
    drop(first);
    let (platform, restart) = Platform::start(janta_bin, &dir).await?;
    println!(
        "  cold start, existing data directory: {:.3} s",
        restart.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = tree_rss_mib(platform.pid());
    println!(
        "  idle RSS (5 s after start): {idle:.0} MiB (PSS {:.0} MiB: pages shared by its processes counted once)",
        tree_pss_mib(platform.pid())
    );

    let router = platform.router();
    let mut customers = register(&router, connections, true).await?;
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (samples, pid) = (samples.clone(), platform.pid());
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                samples
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), tree_rss_mib(pid)));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    // Rounds shorter than a token's life, signing in again between them.
    let mut remaining = seconds;
    while remaining > 0 {
        let round = remaining.min(TOKEN_ROUND_SECONDS);
        let requests: Vec<Request> = customers
            .chunks(1)
            .enumerate()
            .map(|(i, c)| per_customer(QUERIES[i % QUERIES.len()], search, c).remove(0))
            .collect();
        let load = closed_loop(
            &format!("mixed load, {connections} conn, {round} s"),
            &Target::new(&router),
            &requests,
            connections,
            Duration::ZERO,
            Duration::from_secs(round),
        )
        .await;
        load.print();
        remaining -= round;
        if remaining > 0 {
            sign_in_again(&router, &mut customers).await?;
        }
    }
    sampler.abort();
    let samples = samples.lock().unwrap().clone();
    let at = |t: u64| {
        samples
            .iter()
            .rev()
            .find(|s| s.0 <= Duration::from_secs(t))
            .map_or(0.0, |s| s.1)
    };
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    let first_minute = at(60.min(seconds));
    let last = samples.last().map_or(0.0, |s| s.1);
    println!(
        "  RSS under load: after {}s {first_minute:.0} MiB, at the end ({seconds}s) {last:.0} MiB, peak {peak:.0} MiB; end/first-minute {:.2}x",
        60.min(seconds),
        ratio(last, first_minute)
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "  idle RSS 10 s after the load: {:.0} MiB (PSS {:.0} MiB)",
        tree_rss_mib(platform.pid()),
        tree_pss_mib(platform.pid())
    );
    drop(platform);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
