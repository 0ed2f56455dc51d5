//! The order after checkout, against the real peers (orders on SQLite and
//! PostgreSQL): who may read it, the state machine and its history, what
//! payments' events do (confirm and commit stock, or cancel and release),
//! cash on delivery, unpaid expiry, cancellation with stock returned, and a
//! prescription consumed on payment and restored on cancellation.

mod common;

use common::{catalog_demo, Stack, ORDER, PLACE_ORDER};
use janta_events::types::{PaymentFailed, PaymentSucceeded};
use janta_orders::service::{self, payments};
use janta_orders::OrdersSettings;
use janta_platform::cause::Cause;
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, CUSTOMER_ID, VENDOR_KA_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use std::time::Duration;

const ADVANCE: &str =
    "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { id status } }";
const CANCEL: &str =
    "mutation($id: ID!, $reason: String!) { cancelOrder(id: $id, reason: $reason) { id status cancellationReason } }";

/// Puts 2 × KA paracetamol (₹30.00) in the demo customer's cart and places
/// the order; returns (order ID, listing ID).
async fn place_one(s: &Stack, key: &str) -> (String, String) {
    let ka = s
        .set_price(
            &s.ka_staff(),
            catalog_demo::PARACETAMOL_500_ID,
            "30.00",
            "45.00",
        )
        .await;
    let me = s.customer();
    s.add(&me, &ka, 2).await;
    let body = s.place(&me, CUSTOMER_ADDRESS_ID, key).await;
    assert!(body["errors"].is_null(), "{body}");
    let id = body["data"]["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, ka)
}

fn succeeded(order_id: &str, amount: i64) -> PaymentSucceeded {
    PaymentSucceeded {
        payment_id: janta_platform::ids::new_id(),
        order_id: order_id.to_string(),
        customer_id: CUSTOMER_ID.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        amount_paise: amount,
        currency: "INR".to_string(),
        method: "UPI".to_string(),
        captured: true,
        gateway_reference: Some("sandbox-1".to_string()),
    }
}

/// Delivers `PaymentSucceeded` the way the consumer does (its transaction,
/// then the owed calls).
async fn pay(s: &Stack, order_id: &str, amount: i64) -> bool {
    let mut tx = s.store().begin().await.unwrap();
    let cause = Cause::new("service:payments", None);
    let confirmed = payments::payment_succeeded_in(&mut tx, &succeeded(order_id, amount), &cause)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    service::run_followups(&s.state, order_id, &cause)
        .await
        .unwrap();
    confirmed
}

async fn status(s: &Stack, order_id: &str) -> Value {
    s.orders
        .data(Some(&s.admin()), ORDER, json!({ "id": order_id }))
        .await["order"]
        .clone()
}

both_backends! {
    async fn only_the_buyer_the_vendors_staff_and_admins_read_an_order(db) {
        let s = Stack::start(db).await;
        let (id, _) = place_one(&s, "read-1").await;
        let vars = json!({ "id": id });
        for token in [s.customer(), s.ka_staff(), s.ka_pharmacist(), s.admin()] {
            let body = s.orders.data(Some(&token), ORDER, vars.clone()).await;
            assert_eq!(body["order"]["id"], id.as_str());
        }
        let (other, _, _) = s.register_customer("KA").await;
        let body = s.orders.send(Some(&other), ORDER, vars.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        assert!(body["data"].is_null() || body["data"]["order"].is_null());
        let body = s.orders.send(Some(&s.mh_staff()), ORDER, vars.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let body = s.orders.send(None, ORDER, vars.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
        let body = s.orders.send(Some(&other), ORDER, json!({"id": janta_platform::ids::new_id()})).await;
        assert_eq!(error_code(&body).as_deref(), Some("NOT_FOUND"));

        // Vendor lists: each vendor's staff see their own orders only.
        let list = "query($v: ID) { vendorOrders(vendorId: $v, first: 10) { totalCount edges { node { id status buyer { id } total { amount } } } } }";
        let ka = s.orders.data(Some(&s.ka_staff()), list, json!({})).await;
        assert_eq!(ka["vendorOrders"]["totalCount"], 1);
        assert_eq!(ka["vendorOrders"]["edges"][0]["node"]["buyer"]["id"], CUSTOMER_ID);
        let mh_own = s.orders.data(Some(&s.mh_staff()), list, json!({})).await;
        assert_eq!(mh_own["vendorOrders"]["totalCount"], 0);
        let mh_peeking = s.orders.send(Some(&s.mh_staff()), list, json!({"v": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&mh_peeking).as_deref(), Some("FORBIDDEN"));
        let customer = s.orders.send(Some(&s.customer()), list, json!({})).await;
        assert_eq!(error_code(&customer).as_deref(), Some("FORBIDDEN"));
        let admin = s.orders.data(Some(&s.admin()), list, json!({"v": VENDOR_KA_ID})).await;
        assert_eq!(admin["vendorOrders"]["totalCount"], 1);
        let vendor_entity = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Vendor { orders { totalCount } } } }";
        let reps = json!({"r": [{"__typename": "Vendor", "id": VENDOR_KA_ID}]});
        let body = s.orders.send(Some(&s.mh_staff()), vendor_entity, reps.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let body = s.orders.data(Some(&s.ka_staff()), vendor_entity, reps).await;
        assert_eq!(body["_entities"][0]["orders"]["totalCount"], 1);

        // Order references from other subgraphs resolve only for those who may see them.
        let order_entity = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id total { amount } } } }";
        let reps = json!({"r": [{"__typename": "Order", "id": id}]});
        let body = s.orders.data(Some(&s.customer()), order_entity, reps.clone()).await;
        assert_eq!(body["_entities"][0]["id"], id.as_str());
        let body = s.orders.data(Some(&other), order_entity, reps).await;
        assert!(body["_entities"][0].is_null());

        // What payments reads, for services only.
        let for_payment = "query($id: ID!) { orderForPayment(id: $id) { id buyerId vendorId status totalPaise currency total { amount currency } } }";
        let body = s.orders.send(Some(&s.customer()), for_payment, vars.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let body = s.orders.data(Some(&s.service("payments")), for_payment, vars).await;
        let o = &body["orderForPayment"];
        assert_eq!((o["buyerId"].as_str(), o["vendorId"].as_str()), (Some(CUSTOMER_ID), Some(VENDOR_KA_ID)));
        assert_eq!((o["status"].as_str(), o["totalPaise"].as_i64()), (Some("PENDING_PAYMENT"), Some(6000)));
        assert_eq!(o["total"]["amount"], "60.00");
    }

    async fn the_state_machine_refuses_illegal_moves_and_records_every_transition(db) {
        let s = Stack::start(db).await;
        let (id, ka) = place_one(&s, "life-1").await;
        let staff = s.ka_staff();
        let vars = |to: &str| json!({"id": id, "to": to});
        // Nothing moves before payment.
        let body = s.orders.send(Some(&staff), ADVANCE, vars("PACKED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"), "{body}");
        let body = s.orders.send(Some(&staff), ADVANCE, vars("CONFIRMED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "only payment confirms");

        // A payment for the wrong amount confirms nothing.
        assert!(!pay(&s, &id, 1).await);
        assert!(pay(&s, &id, 6000).await);
        assert!(!pay(&s, &id, 6000).await, "a redelivered payment changes nothing");
        assert_eq!(status(&s, &id).await["status"], "CONFIRMED");
        assert_eq!(s.reservation_status(&id).await.as_deref(), Some("COMMITTED"));
        assert_eq!(s.reserved(&ka).await, 0, "committed units left stock");

        let body = s.orders.send(Some(&s.customer()), ADVANCE, vars("PACKED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "buyers do not pack");
        let body = s.orders.send(Some(&s.mh_staff()), ADVANCE, vars("PACKED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "another vendor's staff");
        let body = s.orders.send(Some(&staff), ADVANCE, vars("DELIVERED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"), "no skipping");
        for to in ["PACKED", "OUT_FOR_DELIVERY"] {
            let body = s.orders.data(Some(&staff), ADVANCE, vars(to)).await;
            assert_eq!(body["advanceOrder"]["status"], to);
        }
        // Dispatched: no cancelling any more.
        let body = s.orders.send(Some(&s.customer()), CANCEL, json!({"id": id, "reason": "too slow"})).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"));
        let body = s.orders.send(Some(&s.admin()), CANCEL, json!({"id": id, "reason": "too slow"})).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"));
        s.orders.data(Some(&staff), ADVANCE, vars("DELIVERED")).await;
        let body = s.orders.send(Some(&staff), ADVANCE, vars("PACKED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"));
        // Marking it returned by hand would keep the customer's money: only
        // an approved return request (tests/returns.rs) returns an order.
        let body = s.orders.send(Some(&staff), ADVANCE, vars("RETURNED")).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));

        let order = status(&s, &id).await;
        let history: Vec<&str> = order["statusHistory"].as_array().unwrap().iter()
            .map(|h| h["status"].as_str().unwrap()).collect();
        assert_eq!(history, ["PENDING_PAYMENT", "CONFIRMED", "PACKED", "OUT_FOR_DELIVERY", "DELIVERED"]);
        assert_eq!(order["statusHistory"][1]["actor"], "service:payments");
        assert_eq!(order["statusHistory"][2]["actor"], janta_platform::demo::VENDOR_KA_ADMIN_ID);
        let outbox = |t: &str| format!("SELECT COUNT(*) FROM outbox WHERE event_type = '{t}'");
        assert_eq!(s.count(&outbox("OrderConfirmed")).await, 1);
        assert_eq!(s.count(&outbox("OrderStatusChanged")).await, 3, "packed, out for delivery, delivered");
        assert_eq!(s.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'order'").await, 5);
    }

    async fn cancelling_a_paid_order_returns_its_stock_and_asks_for_a_refund(db) {
        let s = Stack::start(db).await;
        let (id, ka) = place_one(&s, "cancel-1").await;
        let on_hand_before = s.on_hand(&ka).await;
        assert!(pay(&s, &id, 6000).await);
        assert_eq!(s.on_hand(&ka).await, on_hand_before - 2, "sold");
        let body = s.orders.send(Some(&s.customer()), CANCEL, json!({"id": id, "reason": "no"})).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "a reason of 3+ characters");
        let (other, _, _) = s.register_customer("KA").await;
        let body = s.orders.send(Some(&other), CANCEL, json!({"id": id, "reason": "not mine"})).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let body = s.orders.data(Some(&s.customer()), CANCEL, json!({"id": id, "reason": "ordered by mistake"})).await;
        assert_eq!(body["cancelOrder"]["status"], "CANCELLED");
        assert_eq!(body["cancelOrder"]["cancellationReason"], "ordered by mistake");
        assert_eq!(s.on_hand(&ka).await, on_hand_before, "the units went back to their batches");
        assert_eq!(s.reservation_status(&id).await.as_deref(), Some("RELEASED"));
        let (payload,): (String,) = sqlx::query_as("SELECT payload FROM outbox WHERE event_type = 'OrderCancelled'")
            .fetch_one(s.store().pool()).await.unwrap();
        let cancelled: janta_events::types::OrderCancelled = serde_json::from_str(&payload).unwrap();
        assert_eq!(cancelled.from, janta_events::types::OrderStatus::Confirmed);
        assert_eq!(cancelled.cancelled_by, CUSTOMER_ID);
        assert_eq!(s.count("SELECT COUNT(*) FROM orders WHERE stock_action IS NOT NULL OR rx_action IS NOT NULL").await, 0);
        let again = s.orders.send(Some(&s.customer()), CANCEL, json!({"id": id, "reason": "ordered by mistake"})).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"));
        let history = status(&s, &id).await["statusHistory"].clone();
        assert_eq!(history[2]["status"], "CANCELLED");
        assert_eq!(history[2]["note"], "ordered by mistake");
    }

    async fn failed_payments_and_unpaid_expiry_cancel_and_release_stock(db) {
        let settings = OrdersSettings { payment_window: Duration::from_secs(1), ..common::test_settings() };
        let s = Stack::start_with(db, settings).await;
        let (failed, ka) = place_one(&s, "fail-1").await;
        let mut tx = s.store().begin().await.unwrap();
        let event = PaymentFailed {
            payment_id: janta_platform::ids::new_id(), order_id: failed.clone(),
            customer_id: CUSTOMER_ID.into(), vendor_id: VENDOR_KA_ID.into(), amount_paise: 6000,
            currency: "INR".into(), method: "CARD".into(),
            reason: "card declined".into(),
        };
        let cause = Cause::new("service:payments", None);
        assert!(payments::payment_failed_in(&mut tx, &event, &cause).await.unwrap());
        tx.commit().await.unwrap();
        service::run_followups(&s.state, &failed, &cause).await.unwrap();
        let order = status(&s, &failed).await;
        assert_eq!(order["status"], "CANCELLED");
        assert_eq!(order["cancellationReason"], "payment failed: card declined");
        assert_eq!(s.reserved(&ka).await, 0);

        let (unpaid, _) = place_one(&s, "unpaid-1").await;
        assert_eq!(s.reserved(&ka).await, 2);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let report = service::sweep_once(&s.state).await.unwrap();
        assert_eq!(report.expired, 1);
        let order = status(&s, &unpaid).await;
        assert_eq!(order["status"], "CANCELLED");
        assert_eq!(order["statusHistory"][1]["actor"], "system");
        assert_eq!(s.reserved(&ka).await, 0);
        assert_eq!(s.reservation_status(&unpaid).await.as_deref(), Some("RELEASED"));
        assert_eq!(service::sweep_once(&s.state).await.unwrap(), service::SweepReport::default());

        // A payment captured after expiry confirms nothing; payments is told
        // again that the order is cancelled (and refunds).
        assert!(!pay(&s, &unpaid, 6000).await);
        assert_eq!(status(&s, &unpaid).await["status"], "CANCELLED");
        assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'OrderCancelled'").await, 3);
    }

    async fn racing_followup_workers_commit_and_release_stock_once(db) {
        let s = Stack::start(db).await;
        let (id, ka) = place_one(&s, "race-followups-1").await;
        let on_hand_before = s.on_hand(&ka).await;
        let cause = Cause::new("service:payments", None);
        // PaymentSucceeded delivered twice: confirmed once.
        for expected in [true, false] {
            let mut tx = s.store().begin().await.unwrap();
            let event = succeeded(&id, 6000);
            assert_eq!(payments::payment_succeeded_in(&mut tx, &event, &cause).await.unwrap(), expected);
            tx.commit().await.unwrap();
        }
        // The consumer's after-commit retries, a redelivery and the sweeper
        // all run the owed calls at the same moment: one lease holder makes them.
        let runs = futures::future::join_all((0..8).map(|_| service::run_followups(&s.state, &id, &cause))).await;
        assert!(runs.iter().all(Result::is_ok), "{runs:?}");
        service::sweep_once(&s.state).await.unwrap();
        assert_eq!(s.reservation_status(&id).await.as_deref(), Some("COMMITTED"));
        assert_eq!(s.on_hand(&ka).await, on_hand_before - 2, "sold once");
        assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'OrderConfirmed'").await, 1);
        // The same for a cancellation: released once.
        let body = s.orders.data(Some(&s.customer()), CANCEL, json!({"id": id, "reason": "ordered twice"})).await;
        assert_eq!(body["cancelOrder"]["status"], "CANCELLED");
        let runs = futures::future::join_all((0..8).map(|_| service::run_followups(&s.state, &id, &cause))).await;
        assert!(runs.iter().all(Result::is_ok), "{runs:?}");
        assert_eq!(s.on_hand(&ka).await, on_hand_before, "given back once");
        assert_eq!(s.reservation_status(&id).await.as_deref(), Some("RELEASED"));
        assert_eq!(s.count("SELECT COUNT(*) FROM orders WHERE stock_action IS NOT NULL OR rx_action IS NOT NULL").await, 0);
    }

    async fn cash_on_delivery_confirms_at_checkout(db) {
        let s = Stack::start(db).await;
        let ka = s.set_price(&s.ka_staff(), catalog_demo::PARACETAMOL_500_ID, "30.00", "45.00").await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        let body = s.orders.send(Some(&me), PLACE_ORDER, json!({"input": {
            "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "cod-1", "paymentMethod": "CASH_ON_DELIVERY"}})).await;
        let order = &body["data"]["placeOrder"]["orders"][0];
        assert_eq!(order["status"], "CONFIRMED", "{body}");
        assert_eq!(order["paymentMethod"], "CASH_ON_DELIVERY");
        let id = order["id"].as_str().unwrap();
        assert_eq!(s.reservation_status(id).await.as_deref(), Some("COMMITTED"));
        // Cash-on-delivery orders never expire unpaid.
        assert_eq!(service::sweep_once(&s.state).await.unwrap().expired, 0);
    }
}

/// A schedule-H medicine with an approved prescription: covered at
/// checkout, consumed when paid, restored when cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prescriptions_are_consumed_on_payment_and_restored_on_cancellation() {
    let db = janta_testkit::TestDb::new(janta_testkit::Backend::Sqlite).await;
    let s = Stack::start(db).await;
    let me = s.customer();
    let rx = approved_prescription(&s, catalog_demo::AMOXICILLIN_500_ID, 10).await;
    let amox = catalog_demo::AMOXICILLIN_500_KA_LISTING_ID;
    s.add(&me, amox, 4).await;
    let body = s
        .orders
        .send(
            Some(&me),
            PLACE_ORDER,
            json!({"input": {"addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "rx-ok", "prescriptionIds": [rx]}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let order = &body["data"]["placeOrder"]["orders"][0];
    assert_eq!(order["lines"][0]["schedule"], "H");
    let id = order["id"].as_str().unwrap().to_string();
    let total =
        janta_platform::money::parse_rupees(order["total"]["amount"].as_str().unwrap(), "total")
            .unwrap();
    assert_eq!(
        remaining(&s, &rx).await,
        10,
        "nothing consumed before payment"
    );
    assert!(pay(&s, &id, total).await);
    assert_eq!(remaining(&s, &rx).await, 6, "consumed on payment");
    s.orders
        .data(
            Some(&s.ka_staff()),
            CANCEL,
            json!({"id": id, "reason": "pharmacist found an interaction"}),
        )
        .await;
    assert_eq!(remaining(&s, &rx).await, 10, "restored on cancellation");
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM orders WHERE stock_action IS NOT NULL OR rx_action IS NOT NULL"
        )
        .await,
        0
    );
}

async fn remaining(s: &Stack, prescription_id: &str) -> i64 {
    let data = s
        .prescriptions
        .data(
            Some(&s.customer()),
            "query($id: ID!) { prescription(id: $id) { lines { remainingQuantity } } }",
            json!({ "id": prescription_id }),
        )
        .await;
    data["prescription"]["lines"][0]["remainingQuantity"]
        .as_i64()
        .unwrap()
}

/// Uploads a (tiny, valid) PDF as the demo customer, submits it, and has
/// the KA pharmacist approve `max` units of `medicine_id`.
async fn approved_prescription(s: &Stack, medicine_id: &str, max: i64) -> String {
    let me = s.customer();
    let upload = s
        .prescriptions
        .data(
            Some(&me),
            "mutation { createPrescriptionUpload { uploadId uploadUrl } }",
            json!({}),
        )
        .await;
    let upload_id = upload["createPrescriptionUpload"]["uploadId"]
        .as_str()
        .unwrap()
        .to_string();
    let url = upload["createPrescriptionUpload"]["uploadUrl"]
        .as_str()
        .unwrap();
    // The URL names the configured public address; the test server listens elsewhere.
    let path = &url[url.find("/uploads/").expect("upload path")..];
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let put = reqwest::Client::new()
        .put(format!("{}{path}", s.prescriptions_base))
        .header("content-type", "application/pdf")
        .body(pdf.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "upload: {}", put.status());
    let today = chrono::Utc::now().date_naive();
    let submitted = s
        .prescriptions
        .data(
            Some(&me),
            "mutation($input: SubmitPrescriptionInput!) { submitPrescription(input: $input) { id } }",
            json!({"input": {"uploadId": upload_id, "patientName": "Chitra Customer",
                "doctorName": "Dr. Anand Rao", "doctorRegistrationNumber": "KMC 30817",
                "issuedOn": today.format("%Y-%m-%d").to_string(),
                "vendorId": VENDOR_KA_ID}}),
        )
        .await;
    let id = submitted["submitPrescription"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let valid_until = (today + chrono::Days::new(30))
        .format("%Y-%m-%d")
        .to_string();
    s.prescriptions
        .data(
            Some(&s.ka_pharmacist()),
            "mutation($input: ReviewPrescriptionInput!) { reviewPrescription(input: $input) { id status } }",
            json!({"input": {"prescriptionId": id, "decision": "APPROVE",
                "lines": [{"medicineId": medicine_id, "maxQuantity": max}], "validUntil": valid_until}}),
        )
        .await;
    id
}
