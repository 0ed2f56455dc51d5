//! Razorpay through its adapter, against the fake Razorpay server (the
//! documented API, webhooks and misbehaviour), on both backends: capture by
//! webhook, 20 concurrent copies of it, a lost webhook settled by
//! reconciliation (and a late webhook after it changing nothing), forged
//! webhooks, the signed return from checkout, payments only authorized
//! (captured by us, once), and refunds that never exceed the capture or
//! happen twice.

mod common;

use common::{start_razorpay, RAZORPAY_KEY_ID};
use janta_payments::domain::PaymentMethod;
use janta_payments::service::reconcile;
use janta_testkit::both_backends;
use janta_testkit::razorpay::{razorpay_signature, FakeRazorpay, Faults};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn fake() -> FakeRazorpay {
    FakeRazorpay::start(
        RAZORPAY_KEY_ID,
        common::RAZORPAY_KEY_SECRET,
        "janta-dev-webhook-secret",
    )
    .await
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends! {
    async fn a_payment_captured_at_razorpay_succeeds_once_whatever_the_webhooks_do(db) {
        let fake = fake().await;
        fake.set_faults(Faults { duplicates: 3, reorder: true, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Upi, 43_210).await;
        assert!(payment.gateway_payment_id.starts_with("order_"), "a Razorpay order backs the payment");
        let checkout = payment.checkout_url.clone().expect("a checkout page");
        assert!(checkout.ends_with(&format!("/checkout/razorpay/{}", payment.id)));

        let (charge, _) = fake.pay(&payment.gateway_payment_id, "upi").unwrap();
        until("the payment succeeded", || async { h.reload(&payment.id).await.status.as_db() == "SUCCEEDED" }).await;
        until("every copy arrived", || async { fake.sent_webhooks().len() >= 8 }).await;
        let after = h.reload(&payment.id).await;
        assert_eq!(after.captured.get(), 43_210);
        assert_eq!(after.gateway_charge_id.as_deref(), Some(charge.as_str()));
        assert_eq!(h.outbox("PaymentSucceeded").await, 1, "eight deliveries, one capture");
        assert!(fake.sent_webhooks().iter().all(|w| w.status == 200));
    }

    async fn the_same_razorpay_webhook_twenty_times_concurrently_captures_once(db) {
        let fake = fake().await;
        fake.set_faults(Faults { drop_webhooks: true, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Card, 99_900).await;
        let (charge, _) = fake.pay(&payment.gateway_payment_id, "card").unwrap();
        let body = json!({
            "entity": "event", "event": "payment.captured", "contains": ["payment"],
            "payload": {"payment": {"entity": fake.payment(&charge).unwrap()}},
        });
        let sends = (0..20).map(|_| fake.send_webhook(&body, "evt_same_one"));
        let statuses = futures::future::join_all(sends).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(h.reload(&payment.id).await.captured.get(), 99_900);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 1);
    }

    async fn a_lost_webhook_is_settled_by_reconciliation_and_a_late_one_changes_nothing(db) {
        let fake = fake().await;
        fake.set_faults(Faults { drop_webhooks: true, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let paid = h.payment(PaymentMethod::Upi, 25_000).await;
        let declined = h.payment(PaymentMethod::Upi, 7_000).await;
        let abandoned = h.payment(PaymentMethod::Upi, 3_000).await;
        let (charge, _) = fake.pay(&paid.gateway_payment_id, "upi").unwrap();
        fake.decline(&declined.gateway_payment_id, "Payment was declined by the bank").unwrap();

        // One sweep settles what Razorpay knows and leaves the rest open.
        let moved = reconcile::sweep(&h.state, Duration::ZERO).await.unwrap();
        assert_eq!(moved, 2);
        assert_eq!(h.reload(&paid.id).await.status.as_db(), "SUCCEEDED");
        assert_eq!(h.reload(&declined.id).await.status.as_db(), "FAILED");
        assert_eq!(h.reload(&abandoned.id).await.status.as_db(), "CREATED");
        assert_eq!(reconcile::sweep(&h.state, Duration::ZERO).await.unwrap(), 0, "a second sweep moves nothing");

        // Razorpay's webhook arrives after all: recorded, nothing changes.
        let body = json!({
            "entity": "event", "event": "payment.captured", "contains": ["payment"],
            "payload": {"payment": {"entity": fake.payment(&charge).unwrap()}},
        });
        assert_eq!(fake.send_webhook(&body, "evt_late").await, 200);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
        assert_eq!(h.reload(&paid.id).await.captured.get(), 25_000);

        // Razorpay down: the payment stays open for the next sweep.
        let later = h.payment(PaymentMethod::Upi, 4_000).await;
        fake.pay(&later.gateway_payment_id, "upi").unwrap();
        fake.set_faults(Faults { failing_calls: 100, drop_webhooks: true, ..Faults::default() });
        assert_eq!(reconcile::sweep(&h.state, Duration::ZERO).await.unwrap(), 0);
        assert_eq!(h.reload(&later.id).await.status.as_db(), "CREATED");
        fake.set_faults(Faults { drop_webhooks: true, ..Faults::default() });
        assert_eq!(reconcile::sweep(&h.state, Duration::ZERO).await.unwrap(), 1);
    }

    async fn an_authorized_payment_is_captured_by_us_once_even_when_told_many_times(db) {
        let fake = fake().await;
        fake.set_faults(Faults { manual_capture: true, duplicates: 4, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Card, 51_200).await;
        let (charge, _) = fake.pay(&payment.gateway_payment_id, "card").unwrap();
        assert_eq!(fake.payment(&charge).unwrap()["status"], "authorized");

        // Five copies of payment.authorized: we capture (once), then the
        // capture's own webhooks settle the payment.
        until("the payment succeeded", || async { h.reload(&payment.id).await.status.as_db() == "SUCCEEDED" }).await;
        assert_eq!(fake.payment(&charge).unwrap()["status"], "captured");
        until("the capture's webhooks arrived", || async {
            fake.sent_webhooks().iter().filter(|w| w.event == "order.paid").count() >= 5
        }).await;
        let after = h.reload(&payment.id).await;
        assert_eq!(after.captured.get(), 51_200);
        assert_eq!(after.gateway_charge_id.as_deref(), Some(charge.as_str()));
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);

        // With every webhook lost, the sweeper captures and settles it.
        fake.set_faults(Faults { manual_capture: true, drop_webhooks: true, ..Faults::default() });
        let quiet = h.payment(PaymentMethod::Upi, 7_700).await;
        let (quiet_charge, _) = fake.pay(&quiet.gateway_payment_id, "upi").unwrap();
        assert_eq!(reconcile::sweep(&h.state, Duration::ZERO).await.unwrap(), 1);
        assert_eq!(fake.payment(&quiet_charge).unwrap()["status"], "captured");
        assert_eq!(h.reload(&quiet.id).await.status.as_db(), "SUCCEEDED");
        assert_eq!(h.outbox("PaymentSucceeded").await, 2);
    }

    async fn forged_razorpay_webhooks_are_refused_and_change_nothing(db) {
        let fake = fake().await;
        fake.set_faults(Faults { drop_webhooks: true, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Upi, 10_000).await;
        let (charge, _) = fake.pay(&payment.gateway_payment_id, "upi").unwrap();
        let body = json!({
            "entity": "event", "event": "payment.captured", "contains": ["payment"],
            "payload": {"payment": {"entity": fake.payment(&charge).unwrap()}},
        })
        .to_string();
        let post = |signature: Option<String>| {
            let mut request = reqwest::Client::new()
                .post(format!("{}/webhooks/razorpay", h.base))
                .header("content-type", "application/json")
                .header("X-Razorpay-Event-Id", "evt_forged")
                .body(body.clone());
            if let Some(signature) = signature {
                request = request.header("X-Razorpay-Signature", signature);
            }
            request.send()
        };
        assert_eq!(post(None).await.unwrap().status(), 400);
        assert_eq!(post(Some("zz-not-hex".into())).await.unwrap().status(), 400);
        let forged = razorpay_signature("not-the-webhook-secret", body.as_bytes());
        assert_eq!(post(Some(forged)).await.unwrap().status(), 401);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 0);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "CREATED");
        let genuine = razorpay_signature("janta-dev-webhook-secret", body.as_bytes());
        assert_eq!(post(Some(genuine)).await.unwrap().status(), 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "SUCCEEDED");
    }

    async fn the_signed_return_from_checkout_confirms_at_once_and_a_forged_one_does_not(db) {
        let fake = fake().await;
        fake.set_faults(Faults { drop_webhooks: true, ..Faults::default() });
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Netbanking, 15_500).await;
        let http = reqwest::Client::new();
        let page = http.get(payment.checkout_url.clone().unwrap()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains(&format!("{}/v1/checkout/embedded", fake.url)), "{page}");
        assert!(page.contains(&payment.gateway_payment_id) && page.contains(RAZORPAY_KEY_ID));

        let (charge, signature) = fake.pay(&payment.gateway_payment_id, "netbanking").unwrap();
        let callback = format!("{}/checkout/razorpay/callback", h.base);
        let forged = http.post(&callback).form(&[
            ("razorpay_payment_id", charge.as_str()),
            ("razorpay_order_id", payment.gateway_payment_id.as_str()),
            ("razorpay_signature", "00".repeat(32).as_str()),
        ]).send().await.unwrap();
        assert_eq!(forged.status(), 400);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "CREATED");
        let genuine = http.post(&callback).form(&[
            ("razorpay_payment_id", charge.as_str()),
            ("razorpay_order_id", payment.gateway_payment_id.as_str()),
            ("razorpay_signature", signature.as_str()),
        ]).send().await.unwrap();
        assert_eq!(genuine.status(), 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "SUCCEEDED", "settled without any webhook");
    }

    async fn refunds_go_to_the_captured_charge_never_above_it_and_never_twice(db) {
        let fake = fake().await;
        let h = start_razorpay(&db, &fake).await;
        let payment = h.payment(PaymentMethod::Upi, 20_000).await;
        let (charge, _) = fake.pay(&payment.gateway_payment_id, "upi").unwrap();
        until("the payment succeeded", || async { h.reload(&payment.id).await.status.as_db() == "SUCCEEDED" }).await;
        let vendor = h.vendor_admin();
        let refund = |amount: &str, key: &str| {
            let vars = json!({"paymentId": payment.id, "amount": amount, "reason": "damaged strip", "idempotencyKey": key});
            h.gql.send(Some(&vendor), REFUND, vars)
        };
        let too_much = refund("200.01", "r-too-much").await;
        assert_eq!(janta_testkit::error_code(&too_much).as_deref(), Some("BAD_USER_INPUT"), "{too_much}");
        assert!(fake.refunds().is_empty(), "nothing reached Razorpay");

        let first: Value = refund("50.00", "refund-one").await;
        assert!(first["errors"].is_null(), "{first}");
        let again: Value = refund("50.00", "refund-one").await;
        assert!(again["errors"].is_null(), "{again}");
        until("the refund processed", || async {
            h.count("SELECT COUNT(*) FROM refunds WHERE status = 'SUCCEEDED'").await == 1
        }).await;
        let made = fake.refunds();
        assert_eq!(made.len(), 1, "one refund at Razorpay for one idempotency key");
        assert_eq!(made[0]["payment_id"], charge.as_str());
        assert_eq!(made[0]["amount"], 5_000);
        assert_eq!(fake.payment(&charge).unwrap()["amount_refunded"], 5_000);
        assert_eq!(h.reload(&payment.id).await.refunded.get(), 5_000);
    }
}

const REFUND: &str = "mutation($paymentId: ID!, $amount: String!, $reason: String!, $idempotencyKey: String) {
  refundPayment(paymentId: $paymentId, amount: $amount, reason: $reason, idempotencyKey: $idempotencyKey) { id status }
}";
