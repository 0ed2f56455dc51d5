//! Entity references from other subgraphs resolve in batches: a router's
//! `_entities` call for 100 listings and 100 medicines costs a constant
//! number of statements, on SQLite and on PostgreSQL.

use janta_catalog::demo::{listing_id, medicine_id};
use janta_testkit::{config, Backend, Gql, StatementCounter, TestDb, TestIssuer};
use serde_json::{json, Value};

/// The entities' own fields: one statement per entity type.
const FLAT: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Listing { id price { amount } mrp { amount } stock inStock vendor { id } } \
    ... on Medicine { id name genericName schedule requiresPrescription hsnCode } } }";
/// Plus nested fields that go through further loaders.
const NESTED: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Listing { id stock medicine { id name gstRate } } \
    ... on Medicine { id name gstRate category { name } } } }";

/// Statements one request costs: the least of three runs, since the outbox
/// relay and the reservation sweeper of the subgraph poll in the background.
async fn count(counter: &StatementCounter, gql: &Gql, query: &str, r: &[Value]) -> (usize, Value) {
    let mut best = (usize::MAX, Value::Null);
    for _ in 0..3 {
        let before = counter.request_statements();
        let data = gql.data(None, query, json!({ "r": r })).await;
        let statements = counter.request_statements() - before;
        if statements < best.0 {
            best = (statements, data);
        }
    }
    best
}

async fn measure(counter: &StatementCounter, backend: Backend) {
    let db = TestDb::new(backend).await;
    let issuer = TestIssuer::start().await;
    let settings = janta_catalog::CatalogSettings {
        sweep_interval: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    let (router, store) = janta_catalog::build_with_settings(
        &config("catalog", &db, &issuer.jwks_url),
        &janta_events::Runtime::standalone(),
        settings,
    )
    .await
    .unwrap();
    janta_catalog::demo::seed(&store).await.unwrap();
    let gql = Gql::new(format!("{}/graphql", janta_testkit::serve(router).await));
    // 50 medicines listed at both vendors: 100 listings; then 100 medicine references.
    let both: Vec<u32> = (6..=78)
        .filter(|n| ![13, 19, 26, 29, 71, 78].contains(n))
        .take(50)
        .collect();
    let representations: Vec<Value> = (0..100usize)
        .map(|i| json!({"__typename": "Listing", "id": listing_id(both[i / 2], i % 2 == 0)}))
        .chain(
            (0..100u32).map(|i| json!({"__typename": "Medicine", "id": medicine_id(1 + i % 78)})),
        )
        .collect();
    // Warm the pool up first, so that opening connections is not counted.
    gql.data(None, NESTED, json!({ "r": representations }))
        .await;

    let (flat, data) = count(counter, &gql, FLAT, &representations).await;
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 200);
    assert!(
        entities.iter().all(|e| e["id"].is_string()),
        "every reference resolved"
    );
    assert_eq!(entities[100]["name"], "Paracetamol 500 mg tablet");
    eprintln!("{backend:?}: 200 references, own fields: {flat} statements");
    assert!(
        flat <= 2,
        "{backend:?}: 200 references took {flat} statements"
    );

    let (nested, data) = count(counter, &gql, NESTED, &representations).await;
    assert_eq!(data["_entities"][0]["medicine"]["name"], "Dolo 650 tablet");
    assert_eq!(data["_entities"][100]["category"]["name"], "Pain & Fever");
    assert_eq!(data["_entities"][100]["gstRate"], "5");
    let (nested_few, _) = count(counter, &gql, NESTED, &representations[98..102]).await;
    eprintln!(
        "{backend:?}: nested fields: 200 references {nested} statements, 4 references {nested_few}"
    );
    // Loader stages: listings and medicines (with their GST rate), medicines
    // again for `Listing.medicine` when asked while the first batch is in
    // flight, then categories. Scheduling may cut a stage into two batches;
    // one statement per reference would be hundreds.
    assert!(
        nested <= 16,
        "{backend:?}: 200 nested references took {nested} statements"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        measure(&counter, backend).await;
    }
}
