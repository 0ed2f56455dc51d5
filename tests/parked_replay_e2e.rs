//! A parked event, end to end through the router: the notifications
//! database refuses the notifications of order confirmations (a trigger
//! stands in for a storage fault: a full disk, a broken migration), so the
//! notifications consumer gives up on a customer's `OrderConfirmed` after
//! `JANTA_CONSUMER_MAX_ATTEMPTS` tries and parks it. An admin lists it
//! through the router (type, source, error, attempts), a replay while the
//! fault lasts is refused and counted, the fault is removed, the admin
//! replays it: the customer and the vendor each see the confirmation
//! exactly once, nothing is parked any more, the replay is in the audit
//! trail, and a second replay is refused. Customers, vendors and anonymous
//! callers are refused, through the router and straight at the subgraph.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";

/// The consumer's attempts before it parks, lowered for the test.
const MAX_ATTEMPTS: i64 = 2;

/// The fault: every notification of an order confirmation is refused.
const FAULT: &str = "CREATE TRIGGER storage_fault BEFORE INSERT ON notifications \
     WHEN NEW.event_type = 'OrderConfirmed' \
     BEGIN SELECT RAISE(ABORT, 'notifications storage unavailable'); END";

/// The notifications consumer's parked events and the subgraph's audit
/// trail of one of them (not in the contract: an operator's query).
const NOTIFICATIONS_OPS: &str = "query($id: ID!) { operations { notifications { \
     outbox { parked } \
     parkedEvents(first: 20) { id envelope resolvedAt } \
     auditTrail(entity: \"parked_event\", id: $id) { actor action entityId before after } } } }";

/// The same fields straight from the notifications subgraph, as the router
/// would ask for them.
const ENTITY_OPS: &str = "query($r: [_Any!]!) { _entities(representations: $r) { \
     ... on Operations { notifications { parkedEvents { id error } } } } }";

const REPLAY_STRAIGHT: &str =
    "mutation($id: ID!) { replayNotificationsParkedEvent(id: $id) { id resolvedAt } }";

/// Runs `sql` on the notifications subgraph's SQLite database, as an
/// operator with a shell on the machine would.
async fn on_notifications_db(p: &Platform, sql: &str) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", p.data_dir.join("notifications.db").display());
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the notifications database");
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.expect("close");
}

/// A cash-on-delivery order of one paracetamol strip from the KA pharmacy,
/// placed and paid by `customer`; returns its ID once it is confirmed.
async fn confirmed_cod_order(p: &Platform, customer: &str) -> String {
    p.gql
        .data(
            Some(customer),
            &operation("AddToCart"),
            json!({"listingId": KA_PARACETAMOL, "quantity": 1}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": "parked-replay-1"}}),
        )
        .await;
    let order_id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .expect("order ID")
        .to_string();
    p.gql
        .data(
            Some(customer),
            &operation("PayOrder"),
            json!({"orderId": order_id, "method": "CASH_ON_DELIVERY"}),
        )
        .await;
    p.order_when(customer, &order_id, |o| o["status"] == "CONFIRMED")
        .await;
    order_id
}

/// The contract's `Operations` query as `token` (the orders part reads the
/// order's audit trail).
async fn operations(p: &Platform, token: Option<&str>, order_id: &str) -> Value {
    p.gql
        .send(
            token,
            &operation("Operations"),
            json!({"first": 20, "entity": "order", "id": order_id}),
        )
        .await
}

/// The notifications consumer's parked events as the admin sees them, once
/// one is there; fails the test after 60 s.
async fn wait_parked(p: &Platform, admin: &str, order_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = operations(p, Some(admin), order_id).await;
        assert!(body["errors"].is_null(), "{body}");
        let notifications = &body["data"]["operations"]["notifications"];
        if notifications["parkedEvents"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            return body["data"]["operations"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the confirmation was never parked: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many of `token`'s notifications of `kind` are about order `order_id`.
async fn notifications_about(p: &Platform, token: &str, kind: &str, order_id: &str) -> usize {
    let data = p
        .gql
        .data(
            Some(token),
            &operation("MyNotifications"),
            json!({"first": 100, "unreadOnly": false}),
        )
        .await;
    let reference = short_ref(order_id);
    data["myNotifications"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| {
            e["node"]["kind"] == kind
                && e["node"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(&reference))
        })
        .count()
}

/// How notifications name an order: the last eight letters and digits of
/// its ID, in capitals.
fn short_ref(id: &str) -> String {
    let tail: Vec<char> = id
        .chars()
        .rev()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    tail.into_iter().rev().collect::<String>().to_uppercase()
}

/// The notifications subgraph's own view, for what the contract query does
/// not show (the envelope, the audit trail).
async fn notifications_ops(p: &Platform, admin: &str, id: &str) -> Value {
    let data = p
        .gql
        .data(Some(admin), NOTIFICATIONS_OPS, json!({ "id": id }))
        .await;
    data["operations"]["notifications"].clone()
}

#[tokio::test]
async fn a_parked_confirmation_is_listed_and_replayed_once_by_an_admin() {
    let max_attempts = MAX_ATTEMPTS.to_string();
    let p = Platform::start_with(&[("JANTA_CONSUMER_MAX_ATTEMPTS", max_attempts.as_str())]).await;
    let admin = p.login("admin@janta.test").await;
    let customer = p.login("customer@janta.test").await;
    let vendor = p.login("vendor.ka@janta.test").await;

    on_notifications_db(&p, FAULT).await;
    let order_id = confirmed_cod_order(&p, &customer).await;

    // Parked after its attempts, listed through the router.
    let ops = wait_parked(&p, &admin, &order_id).await;
    let parked = ops["notifications"]["parkedEvents"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(parked.len(), 1, "{parked:?}");
    let entry = &parked[0];
    let id = entry["id"].as_str().expect("parked ID").to_string();
    assert_eq!(entry["consumer"], "notifications");
    assert_eq!(entry["source"], "orders");
    assert_eq!(entry["eventType"], "OrderConfirmed");
    assert_eq!(entry["attempts"], MAX_ATTEMPTS);
    assert!(entry["resolvedAt"].is_null());
    let error = entry["error"].as_str().unwrap();
    assert!(
        error.contains("notifications storage unavailable"),
        "{error}"
    );
    assert_eq!(ops["notifications"]["outbox"]["parked"], 1);
    for other in ["users", "catalog", "prescriptions", "orders", "payments"] {
        assert_eq!(ops[other]["outbox"]["parked"], 0, "{other}");
    }
    let own = notifications_ops(&p, &admin, &id).await;
    let envelope: Value =
        serde_json::from_str(own["parkedEvents"][0]["envelope"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["aggregateId"], order_id.as_str(), "{envelope}");
    // The order went on; only its notifications are missing.
    assert_eq!(
        notifications_about(&p, &customer, "ORDER_CONFIRMED", &order_id).await,
        0
    );
    assert_eq!(
        notifications_about(&p, &vendor, "NEW_ORDER", &order_id).await,
        0
    );

    nobody_else_lists_or_replays(&p, &[&customer, &vendor], &id, &order_id).await;

    // The fault still there: the replay is refused and counted.
    let replay = operation("ReplayNotificationsParkedEvent");
    let failed = p.gql.send(Some(&admin), &replay, json!({ "id": id })).await;
    assert_eq!(code(&failed).as_deref(), Some("CONFLICT"), "{failed}");
    let ops = wait_parked(&p, &admin, &order_id).await;
    assert_eq!(
        ops["notifications"]["parkedEvents"][0]["attempts"],
        MAX_ATTEMPTS + 1
    );

    // The cause removed, the replay applies the notifications once.
    on_notifications_db(&p, "DROP TRIGGER storage_fault").await;
    let replayed = p.gql.data(Some(&admin), &replay, json!({ "id": id })).await;
    let replayed = &replayed["replayNotificationsParkedEvent"];
    assert_eq!(replayed["id"], id.as_str());
    assert!(replayed["resolvedAt"].is_string(), "{replayed}");
    assert_eq!(
        notifications_about(&p, &customer, "ORDER_CONFIRMED", &order_id).await,
        1
    );
    assert_eq!(
        notifications_about(&p, &vendor, "NEW_ORDER", &order_id).await,
        1
    );

    let ops = operations(&p, Some(&admin), &order_id).await;
    assert!(ops["errors"].is_null(), "{ops}");
    let notifications = &ops["data"]["operations"]["notifications"];
    assert_eq!(notifications["parkedEvents"], json!([]));
    assert_eq!(notifications["outbox"]["parked"], 0);

    // Audited with the admin as actor.
    let me = p.gql.data(Some(&admin), &operation("Me"), json!({})).await;
    let trail = notifications_ops(&p, &admin, &id).await["auditTrail"].clone();
    let trail = trail.as_array().expect("audit trail");
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["actor"], me["me"]["id"]);
    assert_eq!(trail[0]["action"], "replayed");
    assert_eq!(trail[0]["entityId"], id.as_str());
    let before: Value = serde_json::from_str(trail[0]["before"].as_str().unwrap()).unwrap();
    assert_eq!(before["eventType"], "OrderConfirmed");
    let after: Value = serde_json::from_str(trail[0]["after"].as_str().unwrap()).unwrap();
    assert_eq!(after["outcome"], "handled");

    // Replayed once is replayed for good.
    let again = p.gql.send(Some(&admin), &replay, json!({ "id": id })).await;
    assert_eq!(code(&again).as_deref(), Some("CONFLICT"), "{again}");
    let message = again["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("already replayed"), "{again}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        notifications_about(&p, &customer, "ORDER_CONFIRMED", &order_id).await,
        1,
        "a second replay notifies nobody again"
    );
    assert_eq!(
        notifications_about(&p, &vendor, "NEW_ORDER", &order_id).await,
        1
    );
}

/// Customers and vendors get `FORBIDDEN`, anonymous callers
/// `UNAUTHENTICATED`, for listing and for replaying parked event `id`,
/// through the router and straight at the notifications subgraph; the
/// event stays parked with nothing applied.
async fn nobody_else_lists_or_replays(p: &Platform, tokens: &[&str], id: &str, order_id: &str) {
    let replay = operation("ReplayNotificationsParkedEvent");
    let direct = janta_testkit::Gql::new(p.subgraph_url("notifications"));
    let representations = json!({"r": [{"__typename": "Operations", "id": "platform"}]});
    let callers = tokens
        .iter()
        .map(|t| (Some(*t), "FORBIDDEN"))
        .chain([(None, "UNAUTHENTICATED")]);
    for (token, expected) in callers {
        let answers = [
            operations(p, token, order_id).await,
            p.gql.send(token, &replay, json!({ "id": id })).await,
            direct
                .send(token, ENTITY_OPS, representations.clone())
                .await,
            direct
                .send(token, REPLAY_STRAIGHT, json!({ "id": id }))
                .await,
        ];
        for body in answers {
            assert_eq!(code(&body).as_deref(), Some(expected), "{body}");
            let data = body["data"].to_string();
            assert!(
                !data.contains(id) && !data.contains("OrderConfirmed"),
                "nothing leaks: {body}"
            );
        }
    }
}
