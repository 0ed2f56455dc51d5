//! Entity references from other subgraphs resolve in batches: a router's
//! `_entities` call for 100 prescriptions (with their lines) and 100 orders
//! (with the prescriptions they used) costs a constant number of statements.

mod support;

use janta_testkit::{StatementCounter, TestDb};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    let db = TestDb::new(janta_testkit::Backend::Sqlite).await;
    let env = start(&db).await;
    let customer_id = new_id();
    let customer = env.customer(&customer_id);
    let service = env.service();
    let mut prescriptions = Vec::new();
    let mut orders = Vec::new();
    for _ in 0..5 {
        let medicine = new_id();
        let rx = env
            .approved(&customer, &[(&medicine, 50), (&new_id(), 3)])
            .await;
        for _ in 0..2 {
            let order = new_id();
            env.gql
                .data(
                    Some(&service),
                    CONSUME,
                    json!({"o": order, "c": customer_id, "p": [rx], "l": [line(&medicine, 1, "H")]}),
                )
                .await;
            orders.push(order);
        }
        prescriptions.push(rx);
    }
    let representations: Vec<_> = (0..100)
        .map(
            |i| json!({"__typename": "Prescription", "id": prescriptions[i % prescriptions.len()]}),
        )
        .chain((0..100).map(|i| json!({"__typename": "Order", "id": orders[i % orders.len()]})))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { \
        ... on Prescription { id status lines { maxQuantity remainingQuantity medicine { id } } } \
        ... on Order { id prescriptions { id status lines { remainingQuantity } } } } }";
    // Warm the pool so connection set-up does not count.
    let vars = json!({ "r": representations });
    env.gql.data(Some(&customer), query, vars.clone()).await;
    // The outbox relay polls in the background (eagerly right after the
    // writes above) and its statements, like a pool connection's set-up,
    // count too: let it settle, and take the best of a few runs.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mut statements = usize::MAX;
    let mut data = serde_json::Value::Null;
    for _ in 0..5 {
        let before = counter.request_statements();
        data = env.gql.data(Some(&customer), query, vars.clone()).await;
        statements = statements.min(counter.request_statements() - before);
    }
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 200);
    assert_eq!(entities[0]["lines"][0]["remainingQuantity"], 48);
    assert_eq!(entities[100]["prescriptions"][0]["status"], "APPROVED");
    // Expected 5: prescriptions + their lines (2), orders' links +
    // prescriptions + lines (3). The slack absorbs background relay polls
    // and pool connection set-up on a loaded machine; an N+1 would cost
    // hundreds.
    assert!(
        statements <= 20,
        "200 references took {statements} statements"
    );
}
