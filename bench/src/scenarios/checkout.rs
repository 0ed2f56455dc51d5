//! Checkout under contention: distinct customers buy one pack at a time of
//! one listing with a known, limited stock, all at once, until it is sold
//! out. Orders per second, and whether more was sold than there was.

use crate::client::{body, error_code, post, succeeded};
use crate::customers::{
    listing_stock, receive_stock, register, run_tag, Customer, KA_PARACETAMOL_LISTING,
};
use crate::stats::{ms, Stats};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The subgraphs, in port order after the router's (`janta dev`).
const SUBGRAPHS: [&str; 6] = [
    "users",
    "catalog",
    "prescriptions",
    "orders",
    "payments",
    "notifications",
];

/// What one customer achieved.
#[derive(Default)]
struct Outcome {
    placed: usize,
    errors: usize,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

/// What the run found, for callers that check it (the smoke test).
pub struct Summary {
    /// Orders placed.
    pub placed: usize,
    /// Units sold beyond the stock there was.
    pub oversold: i64,
    /// Whether the stock afterwards is the stock before less what was sold.
    pub consistent: bool,
    /// Failures other than running out of stock.
    pub errors: usize,
}

/// Runs the scenario against the router at `router`.
pub async fn run(router: &str, customers: usize, stock: i64) -> anyhow::Result<Summary> {
    println!("checkout: {customers} customers buy one pack at a time until the listing is sold out ({stock} packs received first)");
    let people = register(router, customers, false).await?;
    let before_receipt = listing_stock(router).await?;
    let on_shelf = if stock > 0 {
        receive_stock(router, stock).await?
    } else {
        before_receipt
    };
    let available = listing_stock(router).await?;
    println!("  stock {before_receipt} + received {stock} = listing shows {on_shelf} (customers see {available})");
    let calls_before = subgraph_requests(router).await;
    let started = Instant::now();
    let workers: Vec<_> = people
        .into_iter()
        .map(|customer| {
            let router = router.to_string();
            tokio::spawn(async move { buy_until_sold_out(&router, &customer).await })
        })
        .collect();
    let mut placed = 0;
    let mut latencies = Stats {
        label: "AddToCart + PlaceOrder".into(),
        ..Stats::default()
    };
    for worker in workers {
        let outcome = worker.await?;
        placed += outcome.placed;
        latencies.errors += outcome.errors;
        latencies.latencies.extend(outcome.latencies);
        if latencies.first_error.is_none() {
            latencies.first_error = outcome.first_error;
        }
    }
    let elapsed = started.elapsed();
    latencies.total = elapsed;
    let calls_after = subgraph_requests(router).await;
    let after = listing_stock(router).await?;
    let oversold = (placed as i64 - available).max(0);
    println!(
        "  {placed} orders in {:.2} s = {:.0} orders/s; p50 {:.2} ms per order (cart + place), p95 {:.2} ms; unexpected errors {}",
        elapsed.as_secs_f64(),
        placed as f64 / elapsed.as_secs_f64(),
        latencies.p50_ms(),
        ms(latencies.percentile(0.95)),
        latencies.errors
    );
    if let Some(error) = &latencies.first_error {
        println!("    first error: {error}");
    }
    print_requests_per_order(&calls_before, &calls_after, placed);
    let consistent = after == available - placed as i64 && after >= 0;
    println!(
        "  stock before {available}, sold {placed}, stock after {after}: oversold {oversold} units; stock consistent: {}",
        if consistent { "yes" } else { "NO" }
    );
    Ok(Summary {
        placed,
        oversold,
        consistent,
        errors: latencies.errors,
    })
}

/// Adds one pack and places the order, again and again, until the
/// listing is out of stock (or something else keeps failing).
async fn buy_until_sold_out(router: &str, customer: &Customer) -> Outcome {
    let http = reqwest::Client::new();
    let token = Some(customer.token.as_str());
    let add = body(
        "AddToCart",
        json!({"listingId": KA_PARACETAMOL_LISTING, "quantity": 1}),
    );
    let mut outcome = Outcome::default();
    while outcome.errors < 5 {
        let t = Instant::now();
        let added = post(&http, router, token, &add).await;
        if sold_out(&added, &mut outcome) {
            break;
        }
        let place = body(
            "PlaceOrder",
            json!({"input": {"addressId": customer.address_id, "idempotencyKey": run_tag()}}),
        );
        let placed = post(&http, router, token, &place).await;
        if sold_out(&placed, &mut outcome) {
            break;
        }
        if placed.as_ref().is_ok_and(succeeded) {
            outcome.placed += 1;
            outcome.latencies.push(t.elapsed());
        }
    }
    outcome
}

/// Whether the answer says the stock is gone; counts other failures.
fn sold_out(answer: &anyhow::Result<serde_json::Value>, outcome: &mut Outcome) -> bool {
    match answer {
        Ok(a) if succeeded(a) => false,
        Ok(a) if error_code(a) == Some("OUT_OF_STOCK") => true,
        Ok(a) => {
            outcome.errors += 1;
            outcome.first_error.get_or_insert_with(|| a.to_string());
            false
        }
        Err(e) => {
            outcome.errors += 1;
            outcome.first_error.get_or_insert_with(|| e.to_string());
            false
        }
    }
}

/// GraphQL requests each subgraph has answered so far, by (subgraph,
/// operation), from their `/metrics` (open on loopback in `janta dev`);
/// empty when a subgraph does not answer.
async fn subgraph_requests(router: &str) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    let Some(port) = router_port(router) else {
        return out;
    };
    let http = reqwest::Client::new();
    for (i, subgraph) in SUBGRAPHS.iter().enumerate() {
        let url = format!("http://127.0.0.1:{}/metrics", port + 1 + i as u16);
        let Ok(text) = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        else {
            continue;
        };
        let Ok(text) = text.text().await else {
            continue;
        };
        for (operation, count) in request_counts(&text) {
            out.insert((subgraph.to_string(), operation), count);
        }
    }
    out
}

/// The router's port in its URL (`http://127.0.0.1:4000/graphql`).
fn router_port(router: &str) -> Option<u16> {
    router.rsplit(':').next()?.split('/').next()?.parse().ok()
}

/// `janta_graphql_requests_total{operation="…"} n` samples of a
/// Prometheus text exposition.
fn request_counts(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("janta_graphql_requests_total{operation=\"")?;
            let (operation, rest) = rest.split_once('"')?;
            let count = rest.rsplit(' ').next()?.parse().ok()?;
            Some((operation.to_string(), count))
        })
        .collect()
}

/// Subgraph requests per placed order during the race (the router's
/// fetches and the subgraphs' calls to each other), by subgraph and operation.
fn print_requests_per_order(
    before: &BTreeMap<(String, String), f64>,
    after: &BTreeMap<(String, String), f64>,
    placed: usize,
) {
    if placed == 0 || after.is_empty() {
        return;
    }
    let per_order: Vec<(&(String, String), f64)> = after
        .iter()
        .map(|(key, n)| (key, (n - before.get(key).unwrap_or(&0.0)) / placed as f64))
        .filter(|(_, n)| *n >= 0.005)
        .collect();
    let total: f64 = per_order.iter().map(|(_, n)| n).sum();
    let detail: Vec<String> = per_order
        .iter()
        .map(|((subgraph, operation), n)| format!("{subgraph} {operation} {n:.2}"))
        .collect();
    println!(
        "  subgraph requests per order: {total:.2} ({})",
        detail.join(", ")
    );
}
