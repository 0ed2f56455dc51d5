//! Gateway webhooks on both backends: authentication before anything else,
//! exactly-once effects under replays and concurrency, forward-only state,
//! and the sandbox gateway's own asynchronous, unreliable delivery.

mod common;

use common::start;
use janta_payments::domain::PaymentMethod;
use janta_payments::gateway::{signature_header, Chaos, SIGNATURE_TOLERANCE_SECS};
use janta_testkit::both_backends;
use std::time::Duration;

both_backends! {
    async fn bad_missing_and_stale_signatures_are_refused_before_anything_is_read(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Upi, 50_000).await;
        let event = h.event(&payment, "payment.succeeded");
        let body = serde_json::to_vec(&event).unwrap();
        let now = chrono::Utc::now().timestamp();
        // Missing or malformed header: 400.
        assert_eq!(h.raw_webhook(body.clone(), None).await, 400);
        assert_eq!(h.raw_webhook(body.clone(), Some("garbage".into())).await, 400);
        assert_eq!(h.raw_webhook(body.clone(), Some(format!("t={now}"))).await, 400);
        // Wrong secret, tampered body, or a signature moved to another time: 401.
        let wrong_key = signature_header(b"not-the-secret", now, &body);
        assert_eq!(h.raw_webhook(body.clone(), Some(wrong_key)).await, 401);
        let good = signature_header(h.secret.as_bytes(), now, &body);
        let mut tampered = body.clone();
        let amount = format!("{}", payment.amount.get());
        let pos = String::from_utf8_lossy(&tampered).find(&amount).unwrap();
        tampered[pos] = b'9';
        assert_eq!(h.raw_webhook(tampered, Some(good.clone())).await, 401);
        // A correct signature made too long ago (or too far ahead): 401.
        let stale = now - SIGNATURE_TOLERANCE_SECS - 5;
        let stale_header = signature_header(h.secret.as_bytes(), stale, &body);
        assert_eq!(h.raw_webhook(body.clone(), Some(stale_header)).await, 401);
        let future = signature_header(h.secret.as_bytes(), now + SIGNATURE_TOLERANCE_SECS + 5, &body);
        assert_eq!(h.raw_webhook(body.clone(), Some(future)).await, 401);
        // Unsigned garbage is refused for its signature, not parsed.
        assert_eq!(h.raw_webhook(b"{not json".to_vec(), None).await, 400);
        // Nothing was recorded or changed.
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 0);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "CREATED");
        assert_eq!(h.outbox("PaymentSucceeded").await, 0);
        // The genuine request still works afterwards.
        assert_eq!(h.raw_webhook(body, Some(good)).await, 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "SUCCEEDED");
    }

    async fn the_same_webhook_twenty_times_concurrently_captures_once(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Card, 123_456).await;
        let event = h.event(&payment, "payment.succeeded");
        let sends = (0..20).map(|_| h.webhook(&event));
        let statuses = futures::future::join_all(sends).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let after = h.reload(&payment.id).await;
        assert_eq!(after.status.as_db(), "SUCCEEDED");
        assert_eq!(after.captured.get(), 123_456);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 1);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'captured'").await,
            1
        );
    }

    async fn twenty_different_success_events_concurrently_still_capture_once(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Upi, 9_999).await;
        let events: Vec<_> = (0..20).map(|_| h.event(&payment, "payment.succeeded")).collect();
        let statuses = futures::future::join_all(events.iter().map(|e| h.webhook(e))).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(h.reload(&payment.id).await.captured.get(), 9_999);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 20);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM webhook_events WHERE outcome = 'applied'").await,
            1
        );
    }

    async fn a_replayed_event_id_changes_nothing(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Netbanking, 40_000).await;
        let processing = h.event(&payment, "payment.processing");
        assert_eq!(h.webhook(&processing).await, 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "PENDING");
        let failed = h.event(&payment, "payment.failed");
        assert_eq!(h.webhook(&failed).await, 200);
        let after_failure = h.reload(&payment.id).await;
        assert_eq!(after_failure.status.as_db(), "FAILED");
        assert_eq!(after_failure.failure_reason.as_deref(), Some("card declined"));
        // Replays of both, and a replay of the failure's ID claiming success.
        assert_eq!(h.webhook(&processing).await, 200);
        assert_eq!(h.webhook(&failed).await, 200);
        let mut forged_replay = h.event(&payment, "payment.succeeded");
        forged_replay.id = failed.id.clone();
        assert_eq!(h.webhook(&forged_replay).await, 200);
        assert_eq!(h.reload(&payment.id).await, after_failure);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 2);
        assert_eq!(h.outbox("PaymentFailed").await, 1);
        assert_eq!(h.outbox("PaymentSucceeded").await, 0);
    }

    async fn a_failure_after_success_is_recorded_but_not_applied(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(25_000).await;
        let late = h.event(&payment, "payment.failed");
        assert_eq!(h.webhook(&late).await, 200);
        let after = h.reload(&payment.id).await;
        assert_eq!(after.status.as_db(), "SUCCEEDED");
        assert_eq!(after.captured.get(), 25_000);
        assert_eq!(after.failure_reason, None);
        let (outcome,): (String,) = sqlx::query_as("SELECT outcome FROM webhook_events WHERE event_id = $1")
            .bind(&late.id)
            .fetch_one(h.state.store.pool())
            .await
            .unwrap();
        assert_eq!(outcome, "ignored: failure after success");
        assert_eq!(h.outbox("PaymentFailed").await, 0);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
    }

    async fn a_stale_processing_event_after_success_is_ignored(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(7_500).await;
        let stale = h.event(&payment, "payment.processing");
        assert_eq!(h.webhook(&stale).await, 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "SUCCEEDED");
    }

    async fn webhooks_for_unknown_payments_or_other_amounts_change_nothing(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Card, 10_000).await;
        let mut other_amount = h.event(&payment, "payment.succeeded");
        other_amount.data.amount = Some(1);
        assert_eq!(h.webhook(&other_amount).await, 200);
        assert_eq!(h.reload(&payment.id).await.status.as_db(), "CREATED");
        let mut unknown = h.event(&payment, "payment.succeeded");
        unknown.data.payment_id = "sbx_pay_unknown".into();
        assert_eq!(h.webhook(&unknown).await, 200);
        assert_eq!(h.outbox("PaymentSucceeded").await, 0);
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 2);
    }

    async fn the_sandbox_checkout_completes_payments_through_its_own_webhooks(db) {
        // Always duplicate and reorder, so every run meets the hard cases.
        let chaos = Chaos { max_delay: Duration::from_millis(100), duplicate: 1.0, out_of_order: 1.0 };
        let h = common::start_with(&db, chaos).await;
        let paid = h.payment(PaymentMethod::Upi, 31_400).await;
        let declined = h.payment(PaymentMethod::Card, 27_100).await;
        let url = paid.checkout_url.clone().expect("online payments have a checkout URL");
        assert!(url.starts_with(&format!("{}/sandbox/checkout/sbx_pay_", h.base)), "{url}");
        let page = h.http.get(&url).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains("314.00"));
        let post = |url: String, outcome: &'static str| {
            let http = h.http.clone();
            async move {
                http.post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("outcome={outcome}"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(post(url.clone(), "maybe").await, 400);
        assert_eq!(post(url.clone(), "success").await, 202);
        assert_eq!(post(url.clone(), "failure").await, 409, "a checkout is submitted once");
        assert_eq!(post(declined.checkout_url.clone().unwrap(), "failure").await, 202);
        let paid = h.wait_for_status(&paid.id, "SUCCEEDED").await;
        assert_eq!(paid.captured.get(), 31_400);
        h.wait_for_status(&declined.id, "FAILED").await;
        // Let the duplicate and the stale event arrive, then count.
        for _ in 0..100 {
            if h.count("SELECT COUNT(*) FROM webhook_events").await >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(h.count("SELECT COUNT(*) FROM webhook_events").await, 4);
        assert_eq!(h.outbox("PaymentSucceeded").await, 1);
        assert_eq!(h.outbox("PaymentFailed").await, 1);
        assert_eq!(h.reload(&paid.id).await.status.as_db(), "SUCCEEDED");
        // A completed checkout cannot be completed again.
        assert_eq!(post(url, "success").await, 409);
        assert_eq!(h.http.get(format!("{}/sandbox/checkout/sbx_pay_nope", h.base)).send().await.unwrap().status().as_u16(), 404);
    }
}
