//! A webhook subscriber's own delivery log and replays, on SQLite and
//! PostgreSQL: a partner app (scope `webhooks:manage`) sees and replays the
//! deliveries of its own subscriptions only, a vendor admin those of its
//! vendor's integration; anyone else's delivery is `NOT_FOUND`, callers
//! without the scope or role are `FORBIDDEN`. Event types are given as the
//! `WebhookEventType` enum, the older string names still work.

mod support;

use janta_events::types::{OrderLine, OrderPlaced};
use janta_notifications::demo::DEMO_SUBSCRIPTION_ID;
use janta_platform::auth::Role;
use janta_platform::demo::{VENDOR_KA_ADMIN_ID, VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::{eventually, nodes, start, Env, Options, Partner};

const CREATE: &str = "mutation($url: String!, $types: [WebhookEventType!]) { createWebhookSubscription(url: $url, eventTypes: $types) { subscription { id events eventTypes } } }";
const CREATE_BY_NAME: &str = "mutation($url: String!, $events: [String!]) { createWebhookSubscription(url: $url, events: $events) { subscription { id eventTypes } } }";
const CREATE_BOTH: &str = "mutation($url: String!) { createWebhookSubscription(url: $url, events: [\"OrderPlaced\"], eventTypes: [ORDER_PLACED]) { subscription { id } } }";
const GRANT: &str = "mutation($partner: ID!) { grantWebhookEventTypes(partnerId: $partner, types: [ORDER_PLACED]) }";
const LOG: &str = "query { deliveries(channel: WEBHOOK, first: 50) { totalCount edges { node { id status subscriptionId eventId totalAttempts } } } }";
const REPLAY: &str =
    "mutation($id: ID!) { replayDelivery(deliveryId: $id) { id status attempts totalAttempts } }";

fn order_placed(vendor: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: janta_platform::ids::new_id(),
        customer_id: janta_platform::ids::new_id(),
        vendor_id: vendor.to_string(),
        total_paise: 5_000,
        tax_paise: 0,
        payment_method: "COD".into(),
        lines: vec![OrderLine {
            listing_id: janta_platform::ids::new_id(),
            medicine_id: janta_platform::ids::new_id(),
            quantity: 1,
            unit_price_paise: 5_000,
        }],
    }
}

/// One attempt per round, receivers on this machine.
fn one_attempt() -> Options {
    Options {
        private_webhook_targets: true,
        max_attempts: 1,
        ..Options::default()
    }
}

/// `token`'s delivery log (webhook deliveries, newest first).
async fn log(env: &Env, token: &str) -> Vec<Value> {
    nodes(&env.gql.data(Some(token), LOG, json!({})).await["deliveries"])
}

/// Waits until `token`'s log holds `n` deliveries, all `DEAD`.
async fn dead_in_log(env: &Env, token: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} dead deliveries"), || async {
        let log = log(env, token).await;
        if log.len() == n && log.iter().all(|d| d["status"] == "DEAD") {
            Ok(log)
        } else {
            Err(format!("{log:?}"))
        }
    })
    .await
}

fn subscription_id(created: &Value) -> String {
    created["createWebhookSubscription"]["subscription"]["id"]
        .as_str()
        .expect("a subscription")
        .to_string()
}

both_backends! {
    async fn the_demo_integration_shows_in_its_pharmacys_delivery_log(db) {
        let env = start(&db, Options::default()).await;
        assert!(janta_notifications::demo::seed(&env.store).await.unwrap());
        let ka_admin = env.token(VENDOR_KA_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let log = log(&env, &ka_admin).await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0]["subscriptionId"], DEMO_SUBSCRIPTION_ID);
        let mh_admin = env.token("mh-admin", &[Role::VendorAdmin], Some(VENDOR_MH_ID));
        assert!(self::log(&env, &mh_admin).await.is_empty());
        assert!(!janta_notifications::demo::seed(&env.store).await.unwrap(), "seeded once");
    }

    async fn a_partner_app_sees_and_replays_only_its_own_deliveries(db) {
        let env = start(&db, one_attempt()).await;
        let (receiver_a, receiver_b) = (Partner::start(&[500]).await, Partner::start(&[500]).await);
        let admin = env.admin();
        let app_a = env.partner_app("app-a", None, &["webhooks:manage"]);
        let app_b = env.partner_app("app-b", Some(VENDOR_KA_ID), &["webhooks:manage", "orders:read"]);
        for partner in ["partner:app-a", "partner:app-b"] {
            let granted = env.gql.data(Some(&admin), GRANT, json!({ "partner": partner })).await;
            assert_eq!(granted["grantWebhookEventTypes"], json!(["OrderPlaced"]));
        }
        let both = env.gql.send(Some(&app_a), CREATE_BOTH, json!({ "url": receiver_a.url })).await;
        assert_eq!(error_code(&both).as_deref(), Some("BAD_USER_INPUT"), "{both}");
        let neither = env.gql.send(Some(&app_a), CREATE, json!({ "url": receiver_a.url })).await;
        assert_eq!(error_code(&neither).as_deref(), Some("BAD_USER_INPUT"), "{neither}");
        let typo = env.gql.send(Some(&app_a), CREATE, json!({ "url": receiver_a.url, "types": ["ORDER_PLACE"] })).await;
        assert!(typo["errors"].is_array() && typo["data"].is_null(), "{typo}");

        let created = env.gql.data(Some(&app_a), CREATE, json!({ "url": receiver_a.url, "types": ["ORDER_PLACED"] })).await;
        let subscription = &created["createWebhookSubscription"]["subscription"];
        assert_eq!(subscription["events"], json!(["OrderPlaced"]));
        assert_eq!(subscription["eventTypes"], json!(["ORDER_PLACED"]));
        let sub_a = subscription_id(&created);
        let by_name = env.gql.data(Some(&app_b), CREATE_BY_NAME, json!({ "url": receiver_b.url, "events": ["OrderPlaced"] })).await;
        assert_eq!(by_name["createWebhookSubscription"]["subscription"]["eventTypes"], json!(["ORDER_PLACED"]));
        let sub_b = subscription_id(&by_name);

        let order = env.publish(&order_placed(VENDOR_KA_ID)).await;
        let mine = dead_in_log(&env, &app_a, 1).await;
        assert_eq!(mine[0]["subscriptionId"], sub_a.as_str());
        assert_eq!(mine[0]["eventId"], order.id.as_str());
        let theirs = dead_in_log(&env, &app_b, 1).await;
        assert_eq!(theirs[0]["subscriptionId"], sub_b.as_str());
        assert_eq!(log(&env, &admin).await.len(), 2, "admins see every delivery");

        // Another's delivery does not exist for A; B's stays dead.
        let refused = env.gql.send(Some(&app_a), REPLAY, json!({ "id": theirs[0]["id"] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("NOT_FOUND"), "{refused}");
        assert_eq!(log(&env, &app_b).await[0]["status"], "DEAD");
        assert_eq!(receiver_b.requests().len(), 1);

        // A replays its own: a fresh round, same event ID.
        let replayed = env.gql.data(Some(&app_a), REPLAY, json!({ "id": mine[0]["id"] })).await;
        assert_eq!(replayed["replayDelivery"]["status"], "PENDING");
        assert_eq!(replayed["replayDelivery"]["attempts"], 0);
        eventually("the replayed attempt", || async {
            let d = &log(&env, &app_a).await[0];
            if d["status"] == "DEAD" && d["totalAttempts"] == 2 { Ok(()) } else { Err(d.to_string()) }
        }).await;
        let requests = receiver_a.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].headers["janta-event-id"], requests[1].headers["janta-event-id"]);
        assert_eq!(requests[1].headers["janta-event-id"], order.id);

        // Without the scope, or without a role that owns webhooks: refused.
        let scopeless = env.partner_app("app-a", None, &["orders:read"]);
        let customer = env.token("customer", &[Role::Customer], None);
        let pharmacist = env.token("ka-rx", &[Role::Pharmacist], Some(VENDOR_KA_ID));
        for token in [&scopeless, &customer, &pharmacist] {
            let listed = env.gql.send(Some(token), LOG, json!({})).await;
            assert_eq!(error_code(&listed).as_deref(), Some("FORBIDDEN"), "{listed}");
            let replay = env.gql.send(Some(token), REPLAY, json!({ "id": mine[0]["id"] })).await;
            assert_eq!(error_code(&replay).as_deref(), Some("FORBIDDEN"), "{replay}");
        }
    }

    async fn a_vendor_admin_sees_its_vendors_integration_deliveries_only(db) {
        let env = start(&db, one_attempt()).await;
        let (receiver_ka, receiver_mh) = (Partner::start(&[500]).await, Partner::start(&[500]).await);
        let ka_admin = env.token("ka-admin", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let mh_admin = env.token("mh-admin", &[Role::VendorAdmin], Some(VENDOR_MH_ID));
        let ka = env.gql.data(Some(&ka_admin), CREATE, json!({ "url": receiver_ka.url, "types": ["ORDER_PLACED"] })).await;
        let sub_ka = subscription_id(&ka);
        env.gql.data(Some(&mh_admin), CREATE, json!({ "url": receiver_mh.url, "types": ["ORDER_PLACED"] })).await;
        env.publish(&order_placed(VENDOR_KA_ID)).await;
        env.publish(&order_placed(VENDOR_MH_ID)).await;

        // A colleague who did not create it manages the vendor's integration.
        let colleague = env.token("ka-admin-2", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let ka_log = dead_in_log(&env, &colleague, 1).await;
        assert_eq!(ka_log[0]["subscriptionId"], sub_ka.as_str());
        let mh_log = dead_in_log(&env, &mh_admin, 1).await;
        assert_ne!(mh_log[0]["id"], ka_log[0]["id"]);

        let refused = env.gql.send(Some(&mh_admin), REPLAY, json!({ "id": ka_log[0]["id"] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("NOT_FOUND"), "{refused}");
        // A partner app of the KA pharmacy is not its admin: not its deliveries.
        let ka_app = env.partner_app("ka-app", Some(VENDOR_KA_ID), &["webhooks:manage"]);
        assert!(log(&env, &ka_app).await.is_empty());
        let refused = env.gql.send(Some(&ka_app), REPLAY, json!({ "id": ka_log[0]["id"] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("NOT_FOUND"), "{refused}");

        let replayed = env.gql.data(Some(&colleague), REPLAY, json!({ "id": ka_log[0]["id"] })).await;
        assert_eq!(replayed["replayDelivery"]["status"], "PENDING");
        eventually("KA's replayed attempt", || async {
            let n = receiver_ka.requests().len();
            if n == 2 { Ok(()) } else { Err(n.to_string()) }
        }).await;
        assert_eq!(receiver_mh.requests().len(), 1, "MH's delivery was not replayed");
    }
}
