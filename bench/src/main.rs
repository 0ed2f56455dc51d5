//! `janta-bench`: reproducible load scenarios against a running platform
//! (start one with `cargo run --release`), each run side by side with its
//! baseline so the printed ratio, not an absolute number, carries the result:
//!
//! - `router`: the contract's `Me` query through the router vs directly
//!   against the users subgraph — what the federation hop costs.
//! - `entities`: resolving 100 users as one `_entities` batch vs 100
//!   separate `user(id)` requests — what batching saves.
//!
//! Requests are bounded in count and go to loopback only.

use clap::Parser;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Load scenarios with baselines.
#[derive(Parser)]
struct Args {
    /// Router port of the running platform (subgraphs on the next ports).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    /// Requests per measured side.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Which scenario: router, entities or all.
    #[arg(long, default_value = "all")]
    scenario: String,
}

struct Stats {
    label: String,
    total: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

impl Stats {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.total.as_secs_f64()
    }

    fn print(&self) {
        println!(
            "  {:<34} {:>9.0} req/s   p50 {:>7.2} ms   p95 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
            self.label,
            self.throughput(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.95)),
            ms(self.percentile(0.99)),
            self.errors
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn measure(label: &str, args: &Args, url: &str, token: &str, body: Value) -> Stats {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = stream::iter(0..args.requests)
        .map(|_| {
            let request = http.post(url).bearer_auth(token).json(&body);
            async move {
                let t = Instant::now();
                let ok = match request.send().await {
                    Ok(r) => r
                        .json::<Value>()
                        .await
                        .is_ok_and(|v| v.get("errors").is_none()),
                    Err(_) => false,
                };
                (t.elapsed(), ok)
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    Stats {
        label: label.to_string(),
        total: started.elapsed(),
        errors: results.iter().filter(|(_, ok)| !ok).count(),
        latencies: results.into_iter().map(|(d, _)| d).collect(),
    }
}

fn ratio(name: &str, measured: &Stats, baseline: &Stats) {
    println!(
        "  ratio {name}: p50 {:.2}x, throughput {:.2}x of baseline\n",
        ms(measured.percentile(0.5)) / ms(baseline.percentile(0.5)).max(1e-9),
        measured.throughput() / baseline.throughput().max(1e-9)
    );
}

async fn login(router: &str) -> anyhow::Result<(String, String)> {
    let body: Value = reqwest::Client::new()
        .post(router)
        .json(&json!({"query": "mutation { login(email: \"admin@janta.test\", password: \"demo-password-1\") { accessToken user { id } } }"}))
        .send()
        .await?
        .json()
        .await?;
    let token = body["data"]["login"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {body}"))?;
    let id = body["data"]["login"]["user"]["id"]
        .as_str()
        .unwrap_or_default();
    Ok((token.to_string(), id.to_string()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let router = format!("http://127.0.0.1:{}/graphql", args.port);
    let users = format!("http://127.0.0.1:{}/graphql", args.port + 1);
    let (token, admin_id) = login(&router).await?;
    println!(
        "janta-bench: {} requests per side, {} in flight\n",
        args.requests, args.concurrency
    );
    let me = json!({"query": "query Me { me { id email fullName roles addresses { id line1 city state pincode isDefault } } }"});
    if args.scenario == "all" || args.scenario == "router" {
        println!("router: Me through the router vs directly against users");
        let direct = measure(
            "direct to users subgraph (baseline)",
            &args,
            &users,
            &token,
            me.clone(),
        )
        .await;
        let routed = measure("through the router", &args, &router, &token, me).await;
        direct.print();
        routed.print();
        ratio("router/direct", &routed, &direct);
    }
    if args.scenario == "all" || args.scenario == "entities" {
        println!("entities: 100 users as one _entities batch vs 100 single requests");
        let reps: Vec<Value> = (0..100)
            .map(|_| json!({"__typename": "User", "id": admin_id}))
            .collect();
        let batch = json!({"query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }", "variables": {"r": reps}});
        let single = json!({"query": "query($id: ID!) { user(id: $id) { id fullName } }", "variables": {"id": admin_id}});
        let per_batch = Args {
            requests: args.requests / 100 + 1,
            ..args
        };
        let batched = measure(
            "one batch of 100 references",
            &per_batch,
            &users,
            &token,
            batch,
        )
        .await;
        let singles = measure(
            "single user(id) requests (baseline)",
            &Args {
                requests: per_batch.requests * 100,
                ..per_batch
            },
            &users,
            &token,
            single,
        )
        .await;
        batched.print();
        singles.print();
        let per_user_batched =
            batched.total.as_secs_f64() / (batched.latencies.len() as f64 * 100.0);
        let per_user_single = singles.total.as_secs_f64() / singles.latencies.len() as f64;
        println!(
            "  cost per user: batched {:.1} µs vs single {:.1} µs ({:.1}x cheaper)\n",
            per_user_batched * 1e6,
            per_user_single * 1e6,
            per_user_single / per_user_batched.max(1e-12)
        );
    }
    Ok(())
}
