//! Hive Router (the platform's own) vs Apollo Gateway over the same running
//! subgraphs: each contract query at each connection count, a distinct
//! customer per connection, the same load tool for both.

use crate::client::{body, post};
use crate::customers::{register, PARACETAMOL};
use crate::load::{closed_loop, Target};
use crate::platform::tree_rss_mib;
use crate::scenarios::{per_customer, variables};
use crate::stats::{ratio, Stats};
use std::time::Duration;

/// What the comparison runs.
pub struct Options {
    /// The platform's router endpoint.
    pub router: String,
    /// Apollo Gateway's endpoint (`bench/run.sh gateway` starts it).
    pub gateway: String,
    /// Contract queries to compare.
    pub queries: Vec<String>,
    /// Connection counts (each a customer of its own).
    pub connections: Vec<usize>,
    /// Measured seconds per side and count (after one second of warm-up).
    pub seconds: u64,
    /// `SearchMedicines`' search term.
    pub search: String,
    /// Processes whose memory is reported after the run: (label, pid).
    pub processes: Vec<(String, u32)>,
}

/// Runs the comparison and prints a row per side, then a summary table.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let most = options.connections.iter().copied().max().unwrap_or(1);
    println!("gateway: registering {most} customers, each with a paid order ...");
    let customers = register(&options.router, most, true).await?;
    for (label, pid) in &options.processes {
        println!("  idle RSS {label}: {:.0} MiB", tree_rss_mib(*pid));
    }
    let mut summary = Vec::new();
    for query in &options.queries {
        same_answer(options, query, &customers[0].token).await?;
        println!("\n{query}");
        for &connections in &options.connections {
            let requests = per_customer(query, &options.search, &customers[..connections]);
            let window = Duration::from_secs(options.seconds);
            let warmup = Duration::from_secs(1);
            let label = |side: &str| format!("{side}, {connections} conn");
            let router = closed_loop(
                &label("Hive Router"),
                &Target::new(&options.router),
                &requests,
                connections,
                warmup,
                window,
            )
            .await;
            let apollo = closed_loop(
                &label("Apollo Gateway"),
                &Target::new(&options.gateway),
                &requests,
                connections,
                warmup,
                window,
            )
            .await;
            router.print();
            apollo.print();
            println!(
                "  ratio router/gateway: throughput {:.2}x, p50 {:.2}x",
                ratio(router.throughput(), apollo.throughput()),
                ratio(router.p50_ms(), apollo.p50_ms())
            );
            summary.push((query.clone(), connections, router, apollo));
        }
    }
    print_summary(&summary);
    for (label, pid) in &options.processes {
        println!(
            "loaded RSS {label} (after the run): {:.0} MiB",
            tree_rss_mib(*pid)
        );
    }
    Ok(())
}

/// Both sides must give the same answer, or the comparison is void.
async fn same_answer(options: &Options, query: &str, token: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let request = body(query, variables(query, &options.search, PARACETAMOL));
    let routed = post(&http, &options.router, Some(token), &request).await?;
    let gateway = post(&http, &options.gateway, Some(token), &request).await?;
    anyhow::ensure!(
        routed["data"] == gateway["data"] && routed.get("errors").is_none(),
        "{query}: the router and the gateway answer differently:\n router:  {routed}\n gateway: {gateway}"
    );
    Ok(())
}

fn print_summary(rows: &[(String, usize, Stats, Stats)]) {
    println!("\n| query | connections | Hive Router req/s | Apollo Gateway req/s | ratio | router p50 ms | gateway p50 ms | errors |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (query, connections, router, apollo) in rows {
        println!(
            "| {query} | {connections} | {:.0} | {:.0} | {:.2}x | {:.2} | {:.2} | {} |",
            router.throughput(),
            apollo.throughput(),
            ratio(router.throughput(), apollo.throughput()),
            router.p50_ms(),
            apollo.p50_ms(),
            router.errors + apollo.errors
        );
    }
}
