//! The admin tools through the router, with the contract's `Operations`
//! query: one request reads every subgraph's outbox and parked events from
//! that subgraph's own database, and the audit trail of an entity from the
//! subgraph that owns it; anyone but an admin is refused, through the router
//! and straight at a subgraph alike. (Replaying a parked event exactly once
//! is shown against a real consumer in `crates/kit/tests/operations.rs`,
//! and through the router with a real event in `tests/parked_replay_e2e.rs`.)

mod support;

use serde_json::json;
use support::{code, operation, Platform};

#[tokio::test]
async fn an_admin_reads_every_subgraphs_outbox_and_an_orders_audit_trail() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let vars =
        json!({"first": 10, "entity": "order", "id": "019a0000-0000-7000-8004-000000000001"});
    let data = p
        .gql
        .data(Some(&admin), &operation("Operations"), vars.clone())
        .await;
    let operations = &data["operations"];
    assert_eq!(operations["id"], "platform");
    for subgraph in [
        "orders",
        "payments",
        "users",
        "catalog",
        "prescriptions",
        "notifications",
    ] {
        let outbox = &operations[subgraph]["outbox"];
        assert!(
            outbox["backlog"].as_i64().is_some_and(|n| n >= 0),
            "{subgraph}: {outbox}"
        );
        assert_eq!(
            outbox["parked"], 0,
            "{subgraph}: nothing parked on a fresh platform"
        );
        assert_eq!(
            operations[subgraph]["parkedEvents"],
            json!([]),
            "{subgraph}"
        );
    }
    assert!(operations["orders"]["auditTrail"].is_array());

    let customer = p.login("customer@janta.test").await;
    let refused = p
        .gql
        .send(Some(&customer), &operation("Operations"), vars.clone())
        .await;
    assert_eq!(code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");

    let direct = janta_testkit::Gql::new(p.subgraph_url("orders"));
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { \
        ... on Operations { orders { outbox { backlog } } } } }";
    let r = json!({"r": [{"__typename": "Operations", "id": "platform"}]});
    let straight = direct.send(Some(&customer), entities, r).await;
    assert_eq!(code(&straight).as_deref(), Some("FORBIDDEN"), "{straight}");
}
