//! `GET /metrics` of a subgraph (catalog, served over HTTP), on both
//! backends: requests, errors by code and latency by operation name, the
//! database pool, the outbox backlog and its oldest event's age, parked
//! events, and catalog's reservations outstanding; all of it readable as
//! Prometheus text, and only with the bearer token when one is configured.

mod support;

use janta_catalog::demo::*;
use janta_events::{InProcessBus, Runtime};
use janta_platform::config::Secret;
use janta_testkit::prometheus::parse_exposition;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb, TestIssuer};
use serde_json::json;
use std::collections::BTreeMap;
use support::{quiet_settings, Catalog};

const TOKEN: &str = "metrics-token-for-tests-0123456789abcdef";

/// Catalog with a `/metrics` token, its events held in the outbox (the bus
/// is never released), seeded with the demo data; and its base URL.
async fn start(db: &TestDb) -> (Catalog, String) {
    janta_platform::telemetry::init("error");
    let issuer = TestIssuer::start().await;
    let mut config = config("catalog", db, &issuer.jwks_url);
    config.metrics_token = Some(Secret::new(TOKEN));
    let bus = InProcessBus::held();
    let runtime = Runtime::new(bus.clone());
    let (router, store) = janta_catalog::build_with_settings(&config, &runtime, quiet_settings())
        .await
        .expect("catalog builds");
    assert!(janta_catalog::demo::seed(&store).await.expect("seed"));
    let base = janta_testkit::serve(router).await;
    let gql = Gql::new(format!("{base}/graphql"));
    let catalog = Catalog {
        gql,
        store,
        issuer,
        bus,
    };
    (catalog, base)
}

/// The scraped metrics, parsed strictly.
async fn scrape(base: &str) -> BTreeMap<String, f64> {
    let response = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    parse_exposition(&response.text().await.unwrap())
}

/// Posts a named operation, optionally with a bearer token.
async fn post(
    gql: &Gql,
    name: &str,
    query: &str,
    vars: serde_json::Value,
    token: Option<&str>,
) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .post(&gql.url)
        .json(&json!({ "query": query, "operationName": name, "variables": vars }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

const LISTING: &str =
    "mutation Listing($input: UpsertListingInput!) { upsertListing(input: $input) { id } }";
const BATCH: &str =
    "mutation Batch($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id } }";
const RESERVE: &str = "mutation Reserve($o: ID!, $l: [ReservationLineInput!]!) { reserveStock(orderId: $o, lines: $l) { status } }";

both_backends! {
    async fn metrics_show_requests_errors_pool_outbox_and_reservations(db) {
        let (c, base) = start(&db).await;

        // Without the token, nothing.
        let anonymous = reqwest::get(format!("{base}/metrics")).await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let wrong = reqwest::Client::new().get(format!("{base}/metrics")).bearer_auth("nope").send().await.unwrap();
        assert_eq!(wrong.status(), 401);

        // A listing with stock, and one reservation of it held for an order.
        let ka = c.staff_ka();
        let input = json!({"input": {"medicineId": medicine_id(19), "price": "100", "mrp": "120"}});
        let listing = post(&c.gql, "Listing", LISTING, input, Some(&ka)).await;
        let listing = listing["data"]["upsertListing"]["id"].as_str().expect("listing").to_string();
        let batch = json!({"input": {"listingId": listing, "batchNumber": "M1", "expiresOn": in_days(90), "quantity": 10}});
        post(&c.gql, "Batch", BATCH, batch, Some(&ka)).await;
        let lines = json!([{ "listingId": listing, "quantity": 3 }]);
        let reserved = post(&c.gql, "Reserve", RESERVE, json!({"o": janta_platform::ids::new_id(), "l": lines}), Some(&c.service())).await;
        assert_eq!(reserved["data"]["reserveStock"]["status"], "ACTIVE", "{reserved}");
        // Twice the same anonymous query, and one refused: a forged token.
        for _ in 0..2 {
            c.gql.data(None, "{ __typename }", json!({})).await;
        }
        let refused = post(&c.gql, "Reserve", RESERVE, json!({"o": "x", "l": []}), Some("forged")).await;
        assert_eq!(error_code(&refused).as_deref(), Some("UNAUTHENTICATED"));
        // A parked event of catalog's consumer awaiting replay.
        sqlx::query(
            "INSERT INTO parked_events (consumer, event_id, source, event_type, envelope, error, attempts, parked_at) \
             VALUES ('catalog', 'e-1', 'users', 'VendorVerified', '{}', 'boom', 5, '2026-01-01T00:00:00Z')",
        )
        .execute(c.store.pool())
        .await
        .unwrap();

        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let m = scrape(&base).await;
        let get = |series: &str| *m.get(series).unwrap_or_else(|| panic!("no {series} in {m:#?}"));
        assert_eq!(get(r#"janta_graphql_requests_total{operation="Listing"}"#), 1.0);
        assert_eq!(get(r#"janta_graphql_requests_total{operation="Reserve"}"#), 2.0);
        assert_eq!(get(r#"janta_graphql_requests_total{operation="anonymous"}"#), 2.0);
        assert_eq!(get(r#"janta_graphql_errors_total{operation="Reserve",code="UNAUTHENTICATED"}"#), 1.0);
        assert!(!m.keys().any(|k| k.starts_with("janta_graphql_errors_total{operation=\"Listing\"")), "no errors for Listing");
        let hist = "janta_graphql_request_duration_seconds";
        assert_eq!(get(&format!(r#"{hist}_count{{operation="Reserve"}}"#)), 2.0);
        assert_eq!(get(&format!(r#"{hist}_bucket{{operation="Reserve",le="+Inf"}}"#)), 2.0);
        assert_eq!(get(&format!(r#"{hist}_bucket{{operation="anonymous",le="10"}}"#)), 2.0);
        assert!(get(&format!(r#"{hist}_sum{{operation="Reserve"}}"#)) > 0.0);
        let small = get(&format!(r#"{hist}_bucket{{operation="Reserve",le="0.005"}}"#));
        assert!(small <= get(&format!(r#"{hist}_bucket{{operation="Reserve",le="0.5"}}"#)), "buckets are cumulative");

        let max = get("janta_db_pool_max_connections");
        assert_eq!(max, if db.url.starts_with("sqlite") { 8.0 } else { 16.0 });
        let in_use = get(r#"janta_db_pool_connections{state="in_use"}"#);
        let idle = get(r#"janta_db_pool_connections{state="idle"}"#);
        assert!(in_use >= 0.0 && idle >= 1.0 && in_use + idle <= max, "{in_use} + {idle} <= {max}");

        // Events wait in the outbox (the bus is held): exactly those rows.
        let pending = c.scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").await;
        assert!(pending > 0, "the reservation published events");
        assert_eq!(get("janta_outbox_pending_events"), pending as f64);
        let age = get("janta_outbox_oldest_pending_age_seconds");
        assert!(age > 0.0 && age < 600.0, "{age}");
        assert_eq!(get(r#"janta_events_parked{consumer="catalog"}"#), 1.0);
        assert_eq!(get(r#"janta_metrics_source_up{source="events"}"#), 1.0);

        assert_eq!(get("janta_catalog_reservations_outstanding"), 1.0);
        assert_eq!(get("janta_catalog_reserved_units"), 3.0);
        assert_eq!(get(r#"janta_metrics_source_up{source="catalog"}"#), 1.0);

        // The probes answer under both names (subgraphs' and the router's).
        for probe in ["health", "ready", "readiness"] {
            let status = reqwest::get(format!("{base}/{probe}")).await.unwrap().status();
            assert_eq!(status, 200, "/{probe}");
        }
    }
}
