//! Entity references from the router resolve in batches: `Order.payments`
//! for 100 orders and 100 `Payment` references (with their refunds) cost
//! exactly what one reference costs.

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
    // Each kind of reference: 100 cost exactly what one costs, in one run.
    let cost = |refs: Vec<serde_json::Value>| {
        let (counter, gql, token) = (&counter, &gql, &token);
        async move {
            let vars = json!({ "r": refs });
            counter
                .cost_of(|| gql.data(Some(token), query, vars.clone()))
                .await
        }
    };
    let (orders, orders_sql, data) = cost(representations[..100].to_vec()).await;
    assert_eq!(data["_entities"].as_array().unwrap().len(), 100);
    assert_eq!(data["_entities"][0]["payments"][0]["status"], "CREATED");
    let (order, order_sql, _) = cost(representations[..1].to_vec()).await;
    assert_eq!(
        orders, order,
        "orders: 100 took {orders}, one took {order}: {orders_sql:#?}\n{order_sql:#?}"
    );
    let (payments, payments_sql, data) = cost(representations[100..].to_vec()).await;
    assert_eq!(data["_entities"][50]["amount"]["amount"], "10.00");
    let (payment, payment_sql, _) = cost(representations[100..101].to_vec()).await;
    assert_eq!(
        payments, payment,
        "payments: 100 took {payments}, one took {payment}: {payments_sql:#?}\n{payment_sql:#?}"
    );
}
