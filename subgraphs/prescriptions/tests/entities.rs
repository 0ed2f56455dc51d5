//! Entity references from other subgraphs resolve in batches: a router's
//! `_entities` call for 100 prescriptions (with their lines) or 100 orders
//! (with the prescriptions they used) costs exactly what one reference costs.

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
    let prescription_refs: Vec<_> = (0..100)
        .map(
            |i| json!({"__typename": "Prescription", "id": prescriptions[i % prescriptions.len()]}),
        )
        .collect();
    let order_refs: Vec<_> = (0..100)
        .map(|i| json!({"__typename": "Order", "id": orders[i % orders.len()]}))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { \
        ... on Prescription { id status lines { maxQuantity remainingQuantity medicine { id } } } \
        ... on Order { id prescriptions { id status lines { remainingQuantity } } } } }";
    // Warm the pool so connection set-up does not count.
    let all: Vec<_> = prescription_refs
        .iter()
        .chain(&order_refs)
        .cloned()
        .collect();
    env.gql
        .data(Some(&customer), query, json!({ "r": all }))
        .await;
    // Each kind of reference: 100 cost exactly what one costs, in one run.
    let cost = |refs: Vec<serde_json::Value>| {
        let (counter, gql, customer) = (&counter, &env.gql, &customer);
        async move {
            let vars = json!({ "r": refs });
            counter
                .cost_of(|| gql.data(Some(customer), query, vars.clone()))
                .await
        }
    };
    let (one, one_sql, _) = cost(prescription_refs[..1].to_vec()).await;
    let (many, many_sql, data) = cost(prescription_refs.clone()).await;
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 100);
    assert_eq!(entities[0]["lines"][0]["remainingQuantity"], 48);
    assert_eq!(
        many, one,
        "prescriptions: 100 took {many}, one took {one}: {many_sql:#?}\n{one_sql:#?}"
    );
    let (one, one_sql, _) = cost(order_refs[..1].to_vec()).await;
    let (many, many_sql, data) = cost(order_refs.clone()).await;
    assert_eq!(
        data["_entities"][0]["prescriptions"][0]["status"],
        "APPROVED"
    );
    assert_eq!(
        many, one,
        "orders: 100 took {many}, one took {one}: {many_sql:#?}\n{one_sql:#?}"
    );
}
