//! Entity references from the router resolve in batches: `Order.payments`
//! for 100 orders and 100 `Payment` references (with their refunds) cost a
//! constant number of statements.

mod common;

use janta_payments::domain::PaymentMethod;
use janta_testkit::{Gql, StatementCounter, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    let db = TestDb::new(janta_testkit::Backend::Sqlite).await;
    let h = common::start(&db).await;
    let mut payments = Vec::new();
    for _ in 0..10 {
        payments.push(h.payment(PaymentMethod::Card, 1_000).await);
    }
    let gql = Gql::new(h.gql.url.clone());
    let representations: Vec<_> = (0..100)
        .map(|i| json!({ "__typename": "Order", "id": payments[i % 10].order_id }))
        .chain((0..100).map(|i| json!({ "__typename": "Payment", "id": payments[i % 10].id })))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Order { id payments { id status refunds { id } } }
        ... on Payment { id amount { amount } refunds { id } } } }";
    let token = h.admin();
    // Warm up the pool's connections first (opening one runs statements too).
    gql.data(Some(&token), query, json!({ "r": representations[..2] }))
        .await;
    let before = counter.request_statements();
    let data = gql
        .data(Some(&token), query, json!({ "r": representations }))
        .await;
    let statements = counter.request_statements() - before;
    assert_eq!(data["_entities"].as_array().unwrap().len(), 200);
    assert_eq!(data["_entities"][0]["payments"][0]["status"], "CREATED");
    assert_eq!(data["_entities"][150]["amount"]["amount"], "10.00");
    // One statement per loader (payments by ID, payments by order, refunds by
    // payment) and batch window; DataLoader's 1 ms window may split a batch
    // on a busy machine, so allow a few windows, far below one per reference.
    assert!(
        statements <= 20,
        "200 references took {statements} statements"
    );
}
