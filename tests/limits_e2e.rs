//! Limits per client, through the router and straight at a subgraph: with a
//! rate of 2 a minute and bursts of 3, a customer's fourth request at once is
//! `RATE_LIMITED` with `extensions.retryAfter` (about 30 s), while another
//! customer goes on; the same customer calling the users subgraph's port
//! directly meets the subgraph's own bucket. A page of 100 inside a page of
//! 100 costs 30 401 (over the default 8 000): the router refuses it before
//! planning, with `extensions.cost` and `extensions.maxCost` and no `data`,
//! and a subgraph reached directly refuses a costly document of its own
//! the same way.

mod support;

use janta_platform::demo::DEMO_PASSWORD;
use serde_json::{json, Value};
use support::{code, operation, Platform};

/// POSTs `query` to `url` as `token` (if any) from the client `address`
/// (the `x-forwarded-for` a loopback peer may send); the status and body.
async fn post(
    url: &str,
    token: Option<&str>,
    address: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(address) = address {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("GraphQL JSON"))
}

async fn login(p: &Platform, address: &str, email: &str) -> String {
    let body = p.login_from(address, email, DEMO_PASSWORD).await;
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {body}"))
        .to_string()
}

/// A page of 100 vendors, each with a page of 100 listings:
/// 1 + 100 × (edges 1 + node 1 + id 1 + listings (1 + 100 × 3)) = 30 401.
const NESTED_PAGES: &str = "query Nested($n: Int) { vendors(first: $n) { edges { node { id \
     listings(first: $n) { edges { node { id } } } } } } }";

#[tokio::test]
async fn rates_and_costs_are_limited_per_client_in_the_router_and_each_subgraph() {
    let p = Platform::start_with(&[
        ("JANTA_RATE_LIMIT_PER_MINUTE", "2"),
        ("JANTA_RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let router = format!("http://127.0.0.1:{}/graphql", p.port);
    // Each sign-in from an address of its own, so no bucket is spent twice.
    let alice = login(&p, "198.51.100.1", "customer@janta.test").await;
    let bob = login(&p, "198.51.100.2", "vendor.ka@janta.test").await;

    let me = operation("Me");
    for _ in 0..3 {
        let (_, body) = post(&router, Some(&alice), None, &me, json!({})).await;
        assert!(body["data"]["me"]["id"].is_string(), "{body}");
    }
    let (status, refused) = post(&router, Some(&alice), None, &me, json!({})).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(code(&refused).as_deref(), Some("RATE_LIMITED"), "{refused}");
    let retry = refused["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("retryAfter in {refused}"));
    // 2 a minute: the next token is at most 30 s away.
    assert!((1..=30).contains(&retry), "retryAfter {retry}");
    assert!(refused["data"].is_null(), "{refused}");

    // Another customer is unaffected.
    let (_, body) = post(&router, Some(&bob), None, &me, json!({})).await;
    assert!(body["data"]["me"]["id"].is_string(), "{body}");

    // Straight at the users subgraph (no router, no forwarded address):
    // its own bucket for Alice, with the same rate.
    let users = p.subgraph_url("users");
    for _ in 0..3 {
        let (_, body) = post(&users, Some(&alice), None, &me, json!({})).await;
        assert!(body["data"]["me"]["id"].is_string(), "{body}");
    }
    let (_, refused) = post(&users, Some(&alice), None, &me, json!({})).await;
    assert_eq!(code(&refused).as_deref(), Some("RATE_LIMITED"), "{refused}");
    let retry = refused["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert!(retry.is_some_and(|s| (1..=30).contains(&s)), "{refused}");

    // Cost: refused by the router before planning, whoever asks.
    let (status, refused) = post(
        &router,
        None,
        Some("198.51.100.10"),
        NESTED_PAGES,
        json!({"n": 100}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        code(&refused).as_deref(),
        Some("QUERY_TOO_COSTLY"),
        "{refused}"
    );
    let extensions = &refused["errors"][0]["extensions"];
    assert_eq!(extensions["cost"], json!(30_401), "{refused}");
    assert_eq!(extensions["maxCost"], json!(8_000), "{refused}");
    assert!(refused.get("data").is_none_or(Value::is_null), "{refused}");
    assert_eq!(refused["errors"].as_array().map(Vec::len), Some(1));

    // The same document with pages of 5 (1 + 5 × (3 + 1 + 5 × 3) = 96) passes.
    let (_, body) = post(
        &router,
        None,
        Some("198.51.100.11"),
        NESTED_PAGES,
        json!({"n": 5}),
    )
    .await;
    assert_ne!(code(&body).as_deref(), Some("QUERY_TOO_COSTLY"), "{body}");

    // A subgraph reached directly prices the document itself: two pages of
    // 100 medicines with 50 listings each cost 2 × (1 + 100 × 54) = 10 802.
    let medicines = "{ a: medicines(first: 100) { edges { node { id listings(first: 50) { id } } } } \
                     b: medicines(first: 100) { edges { node { id listings(first: 50) { id } } } } }";
    let (_, refused) = post(
        &p.subgraph_url("catalog"),
        Some(&bob),
        None,
        medicines,
        json!({}),
    )
    .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("QUERY_TOO_COSTLY"),
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["cost"], json!(10_802));
    assert_eq!(refused["errors"][0]["extensions"]["maxCost"], json!(8_000));
    assert!(refused["data"].is_null(), "{refused}");
}
