//! Entity references from other subgraphs resolve in batches: a router's
//! `_entities` call for 100 listings or every demo medicine, with their
//! nested fields and lists, costs exactly what one reference costs, on
//! SQLite and on PostgreSQL.

use janta_catalog::demo::{listing_id, medicine_id};
use janta_testkit::{config, Backend, Gql, StatementCounter, TestDb, TestIssuer};
use serde_json::{json, Value};

/// The entities' own fields: one statement per entity type.
const FLAT: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Listing { id price { amount } mrp { amount } stock inStock vendor { id } } \
    ... on Medicine { id name genericName schedule requiresPrescription hsnCode } } }";
/// A listing's nested fields: listings, then their medicines.
const LISTING_NESTED: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Listing { id stock medicine { id name gstRate } } } }";
/// A medicine's nested lists: medicines, then categories, versions,
/// alternatives and the best listings, one batch each.
const MEDICINE_NESTED: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
    ... on Medicine { id name gstRate category { name } versions { version name } \
    alternatives { id } listings(first: 3) { id stock } } } }";

/// Statements one request costs, exactly, with those statements.
async fn count(
    counter: &StatementCounter,
    gql: &Gql,
    query: &str,
    r: &[Value],
) -> (usize, Vec<String>, Value) {
    counter
        .cost_of(|| gql.data(None, query, json!({ "r": r })))
        .await
}

/// Asserts that `many` references cost exactly what one costs.
async fn same_cost(
    counter: &StatementCounter,
    gql: &Gql,
    query: &str,
    many: &[Value],
    label: &str,
) {
    let (one, one_sql, _) = count(counter, gql, query, &many[..1]).await;
    let (all, all_sql, data) = count(counter, gql, query, many).await;
    assert_eq!(data["_entities"].as_array().unwrap().len(), many.len());
    assert!(
        all == one,
        "{label}: {} references took {all} statements, one took {one}\n{all_sql:#?}\n{one_sql:#?}",
        many.len()
    );
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
    // 50 medicines listed at both vendors: 100 listings; then each of the 78
    // demo medicines once.
    let both: Vec<u32> = (6..=78)
        .filter(|n| ![13, 19, 26, 29, 71, 78].contains(n))
        .take(50)
        .collect();
    let representations: Vec<Value> = (0..100usize)
        .map(|i| json!({"__typename": "Listing", "id": listing_id(both[i / 2], i % 2 == 0)}))
        .chain((0..78u32).map(|i| json!({"__typename": "Medicine", "id": medicine_id(1 + i)})))
        .collect();
    // Warm the pool up first, so that opening connections is not counted.
    gql.data(
        None,
        MEDICINE_NESTED,
        json!({ "r": representations[100..] }),
    )
    .await;

    let (flat, flat_sql, data) = count(counter, &gql, FLAT, &representations).await;
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), representations.len());
    assert!(
        entities.iter().all(|e| e["id"].is_string()),
        "every reference resolved"
    );
    assert_eq!(entities[100]["name"], "Paracetamol 500 mg tablet");
    // One statement for the listings, one for the medicines.
    assert_eq!(
        flat, 2,
        "{backend:?}: 178 references took {flat} statements: {flat_sql:#?}"
    );

    let (_, _, data) = count(counter, &gql, LISTING_NESTED, &representations[..100]).await;
    assert_eq!(data["_entities"][0]["medicine"]["name"], "Dolo 650 tablet");
    let (_, _, data) = count(counter, &gql, MEDICINE_NESTED, &representations[100..]).await;
    assert_eq!(data["_entities"][0]["category"]["name"], "Pain & Fever");
    assert_eq!(data["_entities"][0]["gstRate"], "5");
    assert!(!data["_entities"][0]["versions"]
        .as_array()
        .unwrap()
        .is_empty());
    same_cost(
        counter,
        &gql,
        LISTING_NESTED,
        &representations[..100],
        "listings",
    )
    .await;
    same_cost(
        counter,
        &gql,
        MEDICINE_NESTED,
        &representations[100..],
        // Exact although resolving 78 medicines' fields can outlast a
        // loader's batch window: each nested list loads once for all the
        // medicines of the entity batch (see `schema::loaders::Siblings`).
        "medicines",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        measure(&counter, backend).await;
    }
}
