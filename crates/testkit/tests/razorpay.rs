//! The fake Razorpay behaves as Razorpay's documentation says: basic
//! authentication, orders in paise, signed and (on demand) duplicated
//! webhooks, refunds never above the capture, injected outages.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use janta_testkit::razorpay::{razorpay_signature, FakeRazorpay, Faults};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY_ID: &str = "rzp_test_fake0001";
const KEY_SECRET: &str = "fake-key-secret";
const WEBHOOK_SECRET: &str = "fake-webhook-secret";

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/webhooks/razorpay",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let url = janta_testkit::serve(app).await;
    (format!("{url}/webhooks/razorpay"), received)
}

async fn wait_for(received: &Received, count: usize) -> Vec<(HeaderMap, Bytes)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = received.lock().unwrap().clone();
        if got.len() >= count {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "only {} webhooks arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_order(fake: &FakeRazorpay, amount: i64) -> Value {
    reqwest::Client::new()
        .post(format!("{}/v1/orders", fake.url))
        .basic_auth(KEY_ID, Some(KEY_SECRET))
        .json(&json!({"amount": amount, "currency": "INR", "receipt": "pay-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn orders_need_the_key_pair_and_payments_send_signed_webhooks() {
    let fake = FakeRazorpay::start(KEY_ID, KEY_SECRET, WEBHOOK_SECRET).await;
    let (url, received) = receiver().await;
    fake.set_webhook_url(&url);

    let refused = reqwest::Client::new()
        .post(format!("{}/v1/orders", fake.url))
        .basic_auth(KEY_ID, Some("wrong"))
        .json(&json!({"amount": 1000, "currency": "INR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let order = create_order(&fake, 12_345).await;
    assert_eq!(order["status"], "created");
    assert_eq!(order["amount"], 12_345);
    let order_id = order["id"].as_str().unwrap();
    assert!(order_id.starts_with("order_"));

    let (payment_id, signature) = fake.pay(order_id, "upi").unwrap();
    assert_eq!(
        signature,
        razorpay_signature(KEY_SECRET, format!("{order_id}|{payment_id}").as_bytes())
    );
    let webhooks = wait_for(&received, 2).await;
    let events: Vec<String> = webhooks
        .iter()
        .map(|(headers, body)| {
            let sig = headers["x-razorpay-signature"].to_str().unwrap();
            assert_eq!(sig, razorpay_signature(WEBHOOK_SECRET, body));
            let body: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(body["payload"]["payment"]["entity"]["order_id"], order_id);
            body["event"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(events, vec!["payment.captured", "order.paid"]);
    assert!(fake.pay(order_id, "upi").is_err(), "an order is paid once");
}

#[tokio::test]
async fn duplicated_webhooks_repeat_one_event_id_and_refunds_stop_at_the_capture() {
    let fake = FakeRazorpay::start(KEY_ID, KEY_SECRET, WEBHOOK_SECRET).await;
    let (url, received) = receiver().await;
    fake.set_webhook_url(&url);
    fake.set_faults(Faults {
        duplicates: 2,
        ..Faults::default()
    });
    let order = create_order(&fake, 5_000).await;
    let (payment_id, _) = fake.pay(order["id"].as_str().unwrap(), "card").unwrap();
    let webhooks = wait_for(&received, 6).await;
    let ids: std::collections::BTreeSet<&str> = webhooks
        .iter()
        .map(|(h, _)| h["x-razorpay-event-id"].to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "three copies each of two events");

    let http = reqwest::Client::new();
    let refund = |amount: i64| {
        http.post(format!("{}/v1/payments/{payment_id}/refund", fake.url))
            .basic_auth(KEY_ID, Some(KEY_SECRET))
            .json(&json!({"amount": amount, "receipt": "refund-1"}))
            .send()
    };
    let too_much = refund(5_001).await.unwrap();
    assert_eq!(too_much.status(), 400);
    let body: Value = too_much.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_REQUEST_ERROR");
    let part = refund(2_000).await.unwrap();
    assert_eq!(part.status(), 200);
    assert_eq!(
        refund(3_001).await.unwrap().status(),
        400,
        "only 3 000 paise are left"
    );
    assert_eq!(fake.payment(&payment_id).unwrap()["amount_refunded"], 2_000);
}

#[tokio::test]
async fn outages_answer_503_until_they_pass() {
    let fake = FakeRazorpay::start(KEY_ID, KEY_SECRET, WEBHOOK_SECRET).await;
    fake.set_faults(Faults {
        failing_calls: 1,
        ..Faults::default()
    });
    let down = reqwest::Client::new()
        .get(format!("{}/v1/orders/order_x", fake.url))
        .basic_auth(KEY_ID, Some(KEY_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 503);
    let order = create_order(&fake, 1_000).await;
    assert_eq!(order["status"], "created", "the next call goes through");
}
