//! `janta-bench`: reproducible load scenarios against the platform, each run
//! side by side with its baseline so the printed ratio, not an absolute
//! number, carries the result (`bench/run.sh <scenario>` starts what each
//! needs; `bench/README.md` has the latest figures):
//!
//! - `gateway`: each contract query through Hive Router vs Apollo Gateway
//!   over the same subgraphs, a distinct customer per connection.
//! - `plan`: each query's single-client p50 through the router vs the sum
//!   of its plan levels' direct subgraph p50s.
//! - `scale`: search, detail and Dashboard at catalog scale 1×/100×/1000×.
//! - `checkout`: distinct customers ordering limited stock at once.
//! - `memory`: cold start and the whole platform's RSS, idle and loaded.
//! - `router`: `Me` through the router vs straight to users.
//! - `entities`: one `_entities` batch vs single requests.
//! - `soak`: a mixed load of browsing, checkouts, payments, refunds,
//!   returns and prescription reviews for `--seconds` (`bench/soak.sh`
//!   injects faults around it and checks the invariants).
//! - `smoke`: a few requests of the above on a platform of its own, failing
//!   on any error (what the test suite runs).
//!
//! Requests go to loopback only.

mod client;
mod customers;
mod load;
mod platform;
mod scenarios;
mod stats;

use clap::Parser;
use scenarios::{numbers, selected};
use std::path::PathBuf;

/// Load scenarios with baselines.
#[derive(Parser)]
#[command(args_override_self = true)]
struct Args {
    /// Which scenario: gateway, plan, scale, checkout, memory, router,
    /// entities, soak, smoke, or all (router and entities).
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Router port of the running platform (subgraphs on the next ports).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    /// Requests per single-client measurement.
    #[arg(long, default_value_t = 500)]
    requests: usize,
    /// Connections (each its own customer) of `router`, `scale`, `memory`.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Connection counts of `gateway`.
    #[arg(long, default_value = "1,16,64")]
    connections: String,
    /// Measured seconds per side of a load run (`memory`: of the mixed load).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Contract queries (comma-separated; default Me, SearchMedicines,
    /// MedicineDetail, Dashboard).
    #[arg(long, default_value = "")]
    queries: String,
    /// `SearchMedicines`' search term.
    #[arg(long, default_value = "para")]
    search: String,
    /// Apollo Gateway's GraphQL endpoint (`gateway`).
    #[arg(long, default_value = "http://127.0.0.1:4100/graphql")]
    gateway_url: String,
    /// Processes to report the memory of in `gateway`, as label=pid.
    #[arg(long = "rss-of")]
    rss_of: Vec<String>,
    /// The janta binary (`plan`, `scale`, `memory`, `smoke`); default: next
    /// to this one.
    #[arg(long)]
    janta_bin: Option<PathBuf>,
    /// The running platform's data directory (`plan`).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Where `scale-<N>` data directories live (`scale`).
    #[arg(long, default_value = "bench-data")]
    scale_root: PathBuf,
    /// Catalog scales (`scale`).
    #[arg(long, default_value = "1,100,1000")]
    scales: String,
    /// Customers ordering at once (`checkout`).
    #[arg(long, default_value_t = 40)]
    customers: usize,
    /// Packs put on the shelf before they race (`checkout`).
    #[arg(long, default_value_t = 400)]
    stock: i64,
}

impl Args {
    fn router(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }

    fn janta_bin(&self) -> anyhow::Result<PathBuf> {
        if let Some(bin) = &self.janta_bin {
            return Ok(bin.clone());
        }
        let sibling = std::env::current_exe()?.with_file_name("janta");
        anyhow::ensure!(
            sibling.exists(),
            "no janta binary next to janta-bench: pass --janta-bin"
        );
        Ok(sibling)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "janta-bench {} on {} cores, {}\n",
        args.scenario,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chrono_free_now()
    );
    match args.scenario.as_str() {
        "gateway" => {
            scenarios::gateway::run(&scenarios::gateway::Options {
                router: args.router(),
                gateway: args.gateway_url.clone(),
                queries: selected(&args.queries),
                connections: numbers(&args.connections),
                seconds: args.seconds,
                search: args.search.clone(),
                processes: args
                    .rss_of
                    .iter()
                    .filter_map(|p| {
                        p.split_once('=')
                            .and_then(|(l, pid)| Some((l.to_string(), pid.parse().ok()?)))
                    })
                    .collect(),
            })
            .await
        }
        "plan" => {
            scenarios::plan::run(&scenarios::plan::Options {
                port: args.port,
                janta_bin: args.janta_bin()?,
                data_dir: args.data_dir.clone(),
                queries: selected(&args.queries),
                requests: args.requests,
                search: args.search.clone(),
            })
            .await
        }
        "scale" => {
            scenarios::scale::run(&scenarios::scale::Options {
                janta_bin: args.janta_bin()?,
                root: args.scale_root.clone(),
                scales: numbers(&args.scales),
                requests: args.requests,
                connections: args.concurrency,
                seconds: args.seconds,
                search: args.search.clone(),
            })
            .await
        }
        "checkout" => scenarios::checkout::run(&args.router(), args.customers, args.stock)
            .await
            .map(|_| ()),
        "smoke" => scenarios::smoke::run(&args.janta_bin()?).await,
        "soak" => {
            scenarios::soak::run(&scenarios::soak::Options {
                router: args.router(),
                seconds: args.seconds,
                customers: args.concurrency,
            })
            .await
        }
        "memory" => {
            scenarios::memory::run(
                &args.janta_bin()?,
                args.concurrency,
                args.seconds,
                &args.search,
            )
            .await
        }
        "router" => scenarios::basics::router_hop(args.port, args.concurrency, args.seconds).await,
        "entities" => scenarios::basics::entities(args.port, args.requests).await,
        "all" => {
            scenarios::basics::router_hop(args.port, args.concurrency, args.seconds).await?;
            scenarios::basics::entities(args.port, args.requests).await
        }
        other => anyhow::bail!("unknown scenario {other}"),
    }
}

/// The current UTC time (seconds since the epoch and a readable form)
/// without a date library.
fn chrono_free_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let (y, mo, d) = civil_date(secs / 86_400);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// The civil date (year, month, day) of `days` since 1970-01-01 (Howard
/// Hinnant's algorithm), for scenarios that send dates.
pub fn civil_date(days: u64) -> (i64, i64, i64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (y, mo, d)
}
