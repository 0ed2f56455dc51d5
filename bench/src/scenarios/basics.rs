//! The first two scenarios: what the federation hop costs for `Me`, and
//! what batching `_entities` saves.

use crate::client::data;
use crate::customers::{demo_login, register};
use crate::load::{closed_loop, sequential, Request, Target};
use crate::scenarios::per_customer;
use crate::stats::{ratio, Stats};
use serde_json::json;
use std::time::Duration;

/// `Me` through the router vs straight to the users subgraph (sent as the
/// router sends it), `connections` distinct customers at once.
pub async fn router_hop(port: u16, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let router = format!("http://127.0.0.1:{port}/graphql");
    let customers = register(&router, connections, false).await?;
    let requests = per_customer("Me", "", &customers);
    let users = as_router_sends(port + 1);
    println!("router: Me through the router vs directly against users, {connections} connections");
    let window = Duration::from_secs(seconds);
    let warmup = Duration::from_secs(1);
    let direct = closed_loop(
        "direct to users (baseline)",
        &users,
        &requests,
        connections,
        warmup,
        window,
    )
    .await;
    let routed = closed_loop(
        "through the router",
        &Target::new(&router),
        &requests,
        connections,
        warmup,
        window,
    )
    .await;
    direct.print();
    routed.print();
    hop_ratio(&routed, &direct);
    Ok(())
}

/// A subgraph endpoint called as the router calls it: with the client's
/// address forwarded from loopback, which subgraphs trust (and then leave
/// rate limiting to the router, which applied it).
pub fn as_router_sends(subgraph_port: u16) -> Target {
    Target {
        url: format!("http://127.0.0.1:{subgraph_port}/graphql"),
        headers: vec![("x-forwarded-for".into(), "127.0.0.1".into())],
    }
}

fn hop_ratio(measured: &Stats, baseline: &Stats) {
    println!(
        "  ratio router/direct: p50 {:.2}x, throughput {:.2}x\n",
        ratio(measured.p50_ms(), baseline.p50_ms()),
        ratio(measured.throughput(), baseline.throughput())
    );
}

/// 100 users as one `_entities` batch vs 100 single `user(id)` requests,
/// straight to the users subgraph.
pub async fn entities(port: u16, requests: usize) -> anyhow::Result<()> {
    let router = format!("http://127.0.0.1:{port}/graphql");
    let token = demo_login(&router, "admin@janta.test").await?;
    let me = data(
        &reqwest::Client::new(),
        &router,
        Some(&token),
        &json!({"query": "{ me { id } }"}),
    )
    .await?;
    let admin_id = me["me"]["id"].as_str().unwrap_or_default().to_string();
    let users = as_router_sends(port + 1);
    println!("entities: 100 users as one _entities batch vs 100 single requests");
    let reps: Vec<_> = (0..100)
        .map(|_| json!({"__typename": "User", "id": admin_id}))
        .collect();
    let batch = Request::new(
        &json!({"query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }", "variables": {"r": reps}}),
        Some(&token),
    );
    let single = Request::new(
        &json!({"query": "query($id: ID!) { user(id: $id) { id fullName } }", "variables": {"id": admin_id}}),
        Some(&token),
    );
    let batches = (requests / 100).max(10);
    let batched = sequential("one batch of 100 references", &users, &batch, batches).await;
    let singles = sequential(
        "single user(id) requests (baseline)",
        &users,
        &single,
        batches * 100,
    )
    .await;
    batched.print();
    singles.print();
    let per_user_batched = batched.total.as_secs_f64() / (batched.latencies.len() as f64 * 100.0);
    let per_user_single = singles.total.as_secs_f64() / singles.latencies.len() as f64;
    println!(
        "  cost per user: batched {:.1} µs vs single {:.1} µs ({:.1}x cheaper)\n",
        per_user_batched * 1e6,
        per_user_single * 1e6,
        ratio(per_user_single, per_user_batched)
    );
    Ok(())
}
