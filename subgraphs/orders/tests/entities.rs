//! Order references from other subgraphs resolve in batches: the router's
//! `_entities` call for many orders, with their lines and history, costs a
//! the statements of one reference (one per table), not one per order.

mod common;

use common::{catalog_demo, Stack};
use janta_platform::demo::CUSTOMER_ADDRESS_ID;
use janta_testkit::{StatementCounter, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_order_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    let s = Stack::start(TestDb::new(janta_testkit::Backend::Sqlite).await).await;
    let ka = s
        .set_price(
            &s.ka_staff(),
            catalog_demo::PARACETAMOL_500_ID,
            "30.00",
            "45.00",
        )
        .await;
    let mh = s
        .set_price(
            &s.mh_staff(),
            catalog_demo::PARACETAMOL_500_ID,
            "30.00",
            "45.00",
        )
        .await;
    let me = s.customer();
    let mut ids = Vec::new();
    for i in 0..5 {
        s.add(&me, &ka, 1).await;
        s.add(&me, &mh, 2).await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, &format!("k{i}")).await;
        for order in body["data"]["placeOrder"]["orders"].as_array().unwrap() {
            ids.push(order["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(ids.len(), 10);
    let representations: Vec<_> = (0..50)
        .map(|i| json!({"__typename": "Order", "id": ids[i % ids.len()]}))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status \
        lines { medicineName quantity cgst { amount } } statusHistory { status at } } } }";
    // Exactly what one run costs.
    let cost = |refs: Vec<serde_json::Value>| {
        let (counter, orders, me) = (&counter, &s.orders, &me);
        async move {
            let vars = json!({ "r": refs });
            counter
                .cost_of(|| orders.data(Some(me), query, vars.clone()))
                .await
        }
    };
    let (one, one_sql, _) = cost(representations[..1].to_vec()).await;
    let (statements, sql, data) = cost(representations.clone()).await;
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 50);
    assert!(entities
        .iter()
        .all(|e| e["lines"][0]["medicineName"].is_string()));
    // Orders, lines and history: one batch each, as for one reference.
    assert_eq!(
        statements, one,
        "50 references took {statements} statements, one took {one}: {sql:#?}\n{one_sql:#?}"
    );
}
