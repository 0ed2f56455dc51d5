//! Refunds on both backends: who may refund, partial and full refunds,
//! never more than the capture (also under concurrency), idempotency keys,
//! the automatic full refund of a cancelled order, and cash on delivery
//! settled by delivery.

mod common;

use common::{start, Harness};
use janta_events::types::{OrderCancelled, OrderStatus, OrderStatusChanged};
use janta_payments::domain::PaymentMethod;
use janta_payments::service::orders;
use janta_platform::cause::Cause;
use janta_platform::demo::*;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

const REFUND: &str = "mutation($paymentId: ID!, $amount: String!, $reason: String!, $key: String) {
    refundPayment(paymentId: $paymentId, amount: $amount, reason: $reason, idempotencyKey: $key) {
        id status refundedAmount { amount } refundableAmount { amount }
        refunds { id amount { amount } reason status createdAt }
    } }";

async fn refund(h: &Harness, token: &str, payment_id: &str, amount: &str) -> Value {
    h.gql
        .send(
            Some(token),
            REFUND,
            json!({ "paymentId": payment_id, "amount": amount, "reason": "strip was damaged" }),
        )
        .await
}

fn cancelled(order_id: &str) -> OrderCancelled {
    OrderCancelled {
        order_id: order_id.to_string(),
        customer_id: CUSTOMER_ID.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        from: OrderStatus::Confirmed,
        reason: "customer changed their mind".to_string(),
        cancelled_by: CUSTOMER_ID.to_string(),
    }
}

fn delivered(order_id: &str, to: OrderStatus) -> OrderStatusChanged {
    OrderStatusChanged {
        order_id: order_id.to_string(),
        customer_id: CUSTOMER_ID.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        from: OrderStatus::OutForDelivery,
        to,
    }
}

both_backends! {
    async fn partial_then_full_refunds_by_the_vendor_admin_and_admin(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(10_000).await;
        let first = refund(&h, &h.vendor_admin(), &payment.id, "40").await;
        let p = &first["data"]["refundPayment"];
        assert_eq!(p["status"], "PARTIALLY_REFUNDED", "{first}");
        assert_eq!(p["refundedAmount"]["amount"], "40.00");
        assert_eq!(p["refundableAmount"]["amount"], "60.00");
        assert_eq!(p["refunds"][0]["amount"]["amount"], "40.00");
        assert_eq!(p["refunds"][0]["status"], "SUCCEEDED");
        assert_eq!(p["refunds"][0]["reason"], "strip was damaged");
        let too_much = refund(&h, &h.admin(), &payment.id, "60.01").await;
        assert_eq!(error_code(&too_much).as_deref(), Some("BAD_USER_INPUT"), "{too_much}");
        let rest = refund(&h, &h.admin(), &payment.id, "60.00").await;
        assert_eq!(rest["data"]["refundPayment"]["status"], "REFUNDED", "{rest}");
        let none_left = refund(&h, &h.admin(), &payment.id, "0.01").await;
        assert_eq!(error_code(&none_left).as_deref(), Some("BAD_USER_INPUT"));
        let after = h.reload(&payment.id).await;
        assert_eq!((after.captured.get(), after.refunded.get()), (10_000, 10_000));
        assert_eq!(h.outbox("PaymentRefunded").await, 2);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('refund_requested', 'refunded')").await,
            4
        );
    }

    async fn a_refund_above_the_capture_and_bad_inputs_are_refused(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(5_000).await;
        let above = refund(&h, &h.vendor_admin(), &payment.id, "50.01").await;
        assert_eq!(error_code(&above).as_deref(), Some("BAD_USER_INPUT"), "{above}");
        assert_eq!(above["errors"][0]["extensions"]["details"]["refundable"], "50.00");
        for bad in ["0", "-5", "1.234", "abc"] {
            let body = refund(&h, &h.vendor_admin(), &payment.id, bad).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{bad}: {body}");
        }
        let no_reason = h.gql.send(Some(&h.vendor_admin()), REFUND,
            json!({ "paymentId": payment.id, "amount": "1", "reason": " " })).await;
        assert_eq!(error_code(&no_reason).as_deref(), Some("BAD_USER_INPUT"));
        // Not captured yet: nothing to refund.
        let open = h.payment(PaymentMethod::Upi, 5_000).await;
        let early = refund(&h, &h.vendor_admin(), &open.id, "1").await;
        assert_eq!(error_code(&early).as_deref(), Some("CONFLICT"), "{early}");
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds").await, 0);
        assert_eq!(h.reload(&payment.id).await.refunded.get(), 0);
    }

    async fn only_the_vendors_admin_or_an_admin_may_refund(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(5_000).await;
        for token in [h.customer(), h.pharmacist(), h.other_vendor_admin()] {
            let body = refund(&h, &token, &payment.id, "1").await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
        }
        let anonymous = h.gql.send(None, REFUND,
            json!({ "paymentId": payment.id, "amount": "1", "reason": "because" })).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let missing = refund(&h, &h.admin(), &janta_platform::ids::new_id(), "1").await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"));
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds").await, 0);
    }

    async fn two_concurrent_refunds_that_together_exceed_the_capture_one_wins(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(10_000).await;
        let (vendor, admin) = (h.vendor_admin(), h.admin());
        let (a, b) = tokio::join!(
            refund(&h, &vendor, &payment.id, "60"),
            refund(&h, &admin, &payment.id, "60"),
        );
        let codes = [error_code(&a), error_code(&b)];
        assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{a} {b}");
        assert!(codes.contains(&Some("BAD_USER_INPUT".to_string())), "{a} {b}");
        let after = h.reload(&payment.id).await;
        assert_eq!(after.refunded.get(), 6_000);
        assert_eq!(after.status.as_db(), "PARTIALLY_REFUNDED");
        // Many at once: 10 × 30.00 on 100.00 → exactly three succeed.
        let payment = h.captured_payment(10_000).await;
        let token = h.vendor_admin();
        let all = futures::future::join_all((0..10).map(|_| refund(&h, &token, &payment.id, "30"))).await;
        let ok = all.iter().filter(|b| error_code(b).is_none()).count();
        assert_eq!(ok, 3, "{all:?}");
        let after = h.reload(&payment.id).await;
        assert_eq!(after.refunded.get(), 9_000);
        assert_eq!(h.count(&format!(
            "SELECT COUNT(*) FROM refunds WHERE payment_id = '{}' AND status = 'SUCCEEDED'", payment.id)).await, 3);
    }

    async fn an_idempotency_key_refunds_once(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(10_000).await;
        let vars = json!({ "paymentId": payment.id, "amount": "25", "reason": "late delivery", "key": "refund-req-0001" });
        let token = h.vendor_admin();
        let sends = (0..5).map(|_| h.gql.send(Some(&token), REFUND, vars.clone()));
        let bodies = futures::future::join_all(sends).await;
        assert!(bodies.iter().all(|b| error_code(b).is_none()), "{bodies:?}");
        assert_eq!(h.reload(&payment.id).await.refunded.get(), 2_500);
        let other_amount = h.gql.send(Some(&h.vendor_admin()), REFUND,
            json!({ "paymentId": payment.id, "amount": "26", "reason": "late delivery", "key": "refund-req-0001" })).await;
        assert_eq!(error_code(&other_amount).as_deref(), Some("CONFLICT"));
        assert_eq!(h.outbox("PaymentRefunded").await, 1);
    }

    async fn a_cancelled_order_is_refunded_in_full_once(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(20_000).await;
        let partial = refund(&h, &h.vendor_admin(), &payment.id, "50").await;
        assert!(error_code(&partial).is_none(), "{partial}");
        // An open payment of another cancelled order fails instead.
        let open = h.payment(PaymentMethod::Upi, 3_000).await;
        let event = cancelled(&payment.order_id);
        orders::order_cancelled(&h.state, &event, &Cause::system(None)).await.unwrap();
        orders::order_cancelled(&h.state, &event, &Cause::system(None)).await.unwrap();
        orders::order_cancelled(&h.state, &cancelled(&open.order_id), &Cause::system(None)).await.unwrap();
        let after = h.reload(&payment.id).await;
        assert_eq!((after.status.as_db(), after.refunded.get()), ("REFUNDED", 20_000));
        let refunds: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT amount, status, reason FROM refunds WHERE payment_id = $1 ORDER BY created_at")
            .bind(&payment.id).fetch_all(h.state.store.pool()).await.unwrap();
        assert_eq!(refunds.len(), 2, "{refunds:?}");
        assert_eq!((refunds[1].0, refunds[1].1.as_str()), (15_000, "SUCCEEDED"));
        assert_eq!(refunds[1].2, "order cancelled: customer changed their mind");
        assert_eq!(h.outbox("PaymentRefunded").await, 2);
        let open = h.reload(&open.id).await;
        assert_eq!(open.status.as_db(), "FAILED");
        assert_eq!(open.failure_reason.as_deref(), Some("order cancelled"));
        assert_eq!(h.outbox("PaymentFailed").await, 0);
        // Its checkout can no longer be completed.
        let status = h.http.post(open.checkout_url.unwrap()).body("outcome=success").send().await.unwrap().status();
        assert_eq!(status.as_u16(), 409);
    }

    async fn racing_after_commit_workers_refund_a_cancelled_order_once(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(30_000).await;
        let event = cancelled(&payment.order_id);
        let cause = Cause::system(None);
        // The consumer's transaction reserves the refund, delivered twice.
        for _ in 0..2 {
            let mut tx = h.state.store.begin().await.unwrap();
            orders::order_cancelled_in(&mut tx, &event, &cause).await.unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(h.reload(&payment.id).await.refunded.get(), 30_000, "reserved once");
        // Its after-commit work runs again and again, all at once (retries,
        // a redelivery, a restart): the gateway's answer settles it once.
        let runs = futures::future::join_all(
            (0..10).map(|_| orders::complete_cancellation_refunds(&h.state, &payment.order_id, &cause)),
        )
        .await;
        assert!(runs.iter().all(Result::is_ok), "{runs:?}");
        let after = h.reload(&payment.id).await;
        assert_eq!((after.status.as_db(), after.refunded.get()), ("REFUNDED", 30_000));
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds").await, 1);
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds WHERE status = 'SUCCEEDED'").await, 1);
        assert_eq!(h.outbox("PaymentRefunded").await, 1);
        // Nothing is left for a later run or the sweeper.
        orders::complete_cancellation_refunds(&h.state, &payment.order_id, &cause).await.unwrap();
        assert_eq!(h.outbox("PaymentRefunded").await, 1);
    }

    async fn a_capture_reported_after_cancellation_is_reversed_not_applied(db) {
        let h = start(&db).await;
        let payment = h.payment(PaymentMethod::Card, 8_000).await;
        orders::order_cancelled(&h.state, &cancelled(&payment.order_id), &Cause::system(None)).await.unwrap();
        let late = h.event(&payment, "payment.succeeded");
        assert_eq!(h.webhook(&late).await, 200);
        let after = h.reload(&payment.id).await;
        assert_eq!((after.status.as_db(), after.captured.get()), ("FAILED", 0));
        assert_eq!(h.outbox("PaymentSucceeded").await, 0);
        let (outcome,): (String,) = sqlx::query_as("SELECT outcome FROM webhook_events WHERE event_id = $1")
            .bind(&late.id).fetch_one(h.state.store.pool()).await.unwrap();
        assert_eq!(outcome, "ignored: success after failure; reversed at the gateway");
        assert_eq!(h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'late_capture_reversed'").await, 1);
    }

    async fn cash_on_delivery_is_collected_when_the_order_is_delivered(db) {
        let h = start(&db).await;
        let cod = h.payment(PaymentMethod::CashOnDelivery, 45_000).await;
        assert_eq!((cod.status.as_db(), cod.captured.get()), ("PENDING", 0));
        assert_eq!(cod.checkout_url, None);
        orders::order_status_changed(&h.state, &delivered(&cod.order_id, OrderStatus::Packed), &Cause::system(None)).await.unwrap();
        assert_eq!(h.reload(&cod.id).await.status.as_db(), "PENDING");
        let event = delivered(&cod.order_id, OrderStatus::Delivered);
        orders::order_status_changed(&h.state, &event, &Cause::system(None)).await.unwrap();
        orders::order_status_changed(&h.state, &event, &Cause::system(None)).await.unwrap();
        let after = h.reload(&cod.id).await;
        assert_eq!((after.status.as_db(), after.captured.get()), ("SUCCEEDED", 45_000));
        assert_eq!(h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'cash_collected'").await, 1);
        // Collected cash can be refunded (paid out by the vendor).
        let body = refund(&h, &h.vendor_admin(), &cod.id, "450").await;
        assert_eq!(body["data"]["refundPayment"]["status"], "REFUNDED", "{body}");
        // A cash promise of a cancelled order lapses.
        let lapsed = h.payment(PaymentMethod::CashOnDelivery, 1_000).await;
        orders::order_cancelled(&h.state, &cancelled(&lapsed.order_id), &Cause::system(None)).await.unwrap();
        assert_eq!(h.reload(&lapsed.id).await.status.as_db(), "FAILED");
        orders::order_status_changed(&h.state, &delivered(&lapsed.order_id, OrderStatus::Delivered), &Cause::system(None)).await.unwrap();
        assert_eq!(h.reload(&lapsed.id).await.status.as_db(), "FAILED");
    }
}
