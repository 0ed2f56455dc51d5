//! Search, detail and Dashboard as the catalog grows: the same queries on
//! platforms seeded at 1×, 100× and 1000× the demo catalog, each started
//! fresh on its own data directory `<root>/scale-<N>` (seeded beforehand
//! with `janta seed --scale N`, e.g. `bench/run.sh seed N`; a scale
//! without its directory is skipped and says how to seed it). Also the
//! Dashboard of `scale.customer@janta.test`, who has 5·N orders, against
//! that of a customer with one.

use crate::client::{body, data};
use crate::customers::{demo_login, register};
use crate::load::{closed_loop, sequential, Request, Target};
use crate::platform::Platform;
use crate::scenarios::variables;
use crate::stats::ratio;
use std::path::PathBuf;
use std::time::Duration;

/// What the comparison runs.
pub struct Options {
    /// The janta binary.
    pub janta_bin: PathBuf,
    /// Where the `scale-<N>` data directories live.
    pub root: PathBuf,
    /// Scales to measure.
    pub scales: Vec<usize>,
    /// Requests per single-client p50.
    pub requests: usize,
    /// Connections (distinct customers) of the throughput run.
    pub connections: usize,
    /// Measured seconds of the throughput run.
    pub seconds: u64,
    /// `SearchMedicines`' search term.
    pub search: String,
}

const QUERIES: [&str; 3] = ["SearchMedicines", "MedicineDetail", "Dashboard"];

/// Runs every scale that is seeded; prints a table with ratios to 1×.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let mut rows: Vec<(usize, &str, f64, f64)> = Vec::new();
    for &scale in &options.scales {
        let dir = options.root.join(format!("scale-{scale}"));
        if !dir.exists() {
            println!(
                "scale {scale}x: skipped, not seeded ({} does not exist); seed it with\n    bench/run.sh seed {scale}   (= JANTA_DATA_DIR={} janta seed --scale {scale})",
                dir.display(),
                dir.display()
            );
            continue;
        }
        let (platform, started) = Platform::start(&options.janta_bin, &dir).await?;
        println!(
            "scale {scale}x: {} (ready in {:.2} s)",
            dir.display(),
            started.as_secs_f64()
        );
        for (query, p50, throughput) in measure(&platform, options).await? {
            rows.push((scale, query, p50, throughput));
        }
    }
    println!(
        "\n| scale | query | single-client p50 ms | vs 1x | {} conn req/s | vs 1x |",
        options.connections
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (scale, query, p50, throughput) in &rows {
        let base = rows.iter().find(|r| r.0 == 1 && r.1 == *query);
        let (p50_ratio, rps_ratio) = base.map_or((f64::NAN, f64::NAN), |b| {
            (ratio(*p50, b.2), ratio(*throughput, b.3))
        });
        let loaded = if throughput.is_nan() {
            "-".to_string()
        } else {
            format!("{throughput:.0} | {rps_ratio:.2}x")
        };
        let loaded = if throughput.is_nan() {
            format!("{loaded} | -")
        } else {
            loaded
        };
        println!("| {scale}x | {query} | {p50:.2} | {p50_ratio:.2}x | {loaded} |");
    }
    Ok(())
}

async fn measure(
    platform: &Platform,
    options: &Options,
) -> anyhow::Result<Vec<(&'static str, f64, f64)>> {
    let router = platform.router();
    let customers = match register(&router, options.connections, true).await {
        Ok(c) => c,
        Err(e) => {
            println!("  (customers without orders: ordering the demo paracetamol failed: {e})");
            register(&router, options.connections, false).await?
        }
    };
    let found = data(
        &reqwest::Client::new(),
        &router,
        None,
        &body(
            "SearchMedicines",
            variables("SearchMedicines", &options.search, ""),
        ),
    )
    .await?;
    let medicine = found["medicines"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!(
        "  search {:?}: totalCount {}, detail of {medicine}",
        options.search, found["medicines"]["totalCount"]
    );
    let mut results = Vec::new();
    for query in QUERIES {
        let body = body(query, variables(query, &options.search, &medicine));
        let requests: Vec<Request> = customers
            .iter()
            .map(|c| Request::new(&body, Some(&c.token)))
            .collect();
        let target = Target::new(&router);
        let single = sequential(
            &format!("{query}, 1 client"),
            &target,
            &requests[0],
            options.requests,
        )
        .await;
        let window = Duration::from_secs(options.seconds);
        let loaded = closed_loop(
            &format!("{query}, {} conn", options.connections),
            &target,
            &requests,
            options.connections,
            Duration::from_secs(1),
            window,
        )
        .await;
        single.print();
        loaded.print();
        results.push((query, single.p50_ms(), loaded.throughput()));
    }
    match demo_login(&router, "scale.customer@janta.test").await {
        Ok(token) => {
            let body = body("Dashboard", variables("Dashboard", "", ""));
            let long = sequential(
                "Dashboard of scale.customer, 1 client",
                &Target::new(&router),
                &Request::new(&body, Some(&token)),
                options.requests,
            )
            .await;
            long.print();
            results.push(("Dashboard (scale.customer)", long.p50_ms(), f64::NAN));
        }
        Err(e) => println!(
            "  no scale.customer@janta.test here ({e}); only the bench customers' Dashboard"
        ),
    }
    Ok(results)
}
