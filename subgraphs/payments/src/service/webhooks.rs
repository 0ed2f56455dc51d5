//! Gateway reports (webhooks), applied at most once per gateway event ID and
//! only when they move a payment forward; a capture that arrives for a
//! payment already closed is reversed at the gateway.

use super::audit;
use super::refunds::settle_refund_in_tx;
use super::{apply_report, truncate};
use crate::domain::PaymentEvent;
use crate::gateway::{RefundOutcome, RefundRequest, WebhookEvent, WebhookKind};
use crate::store::{self, PaymentRow};
use crate::PaymentsState;
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use serde_json::json;

/// Applies one authenticated gateway report, at most once per gateway event
/// ID, and only if it moves the payment forward. Returns what it did (kept
/// on the webhook record): `duplicate`, `applied`, or `ignored: …`.
pub async fn apply_webhook(
    state: &PaymentsState,
    gateway: &str,
    event: &WebhookEvent,
    raw_body: &str,
) -> ApiResult<String> {
    let cause = Cause::new(format!("gateway:{gateway}"), None);
    let mut tx = state.store.begin().await?;
    let Some(record) = store::record_webhook(
        &mut tx,
        gateway,
        &event.event_id,
        &event.event_type,
        &event.gateway_payment_id,
        raw_body,
    )
    .await?
    else {
        tx.rollback().await?;
        return Ok("duplicate".to_string());
    };
    let Some(payment) =
        store::payment_by_gateway_ref(&mut *tx, gateway, &event.gateway_payment_id).await?
    else {
        let outcome = "ignored: unknown payment";
        store::set_webhook_outcome(&mut tx, &record, None, outcome).await?;
        tx.commit().await?;
        tracing::warn!(gateway, event_id = %event.event_id, "webhook for an unknown payment");
        return Ok(outcome.to_string());
    };
    let outcome = match &event.kind {
        WebhookKind::PaymentProcessing => {
            apply_report(&mut tx, &payment, PaymentEvent::Processing, None, &cause).await?
        }
        WebhookKind::PaymentSucceeded => {
            if event
                .amount_paise
                .is_some_and(|a| a != payment.amount.get())
            {
                tracing::error!(
                    payment_id = %payment.id, reported = ?event.amount_paise, expected = payment.amount.get(),
                    "gateway reported a capture of a different amount; not applied"
                );
                "ignored: amount mismatch".to_string()
            } else {
                if let Some(charge) = &event.charge_id {
                    store::set_gateway_charge(&mut tx, &payment.id, charge).await?;
                }
                apply_report(&mut tx, &payment, PaymentEvent::Captured, None, &cause).await?
            }
        }
        WebhookKind::PaymentFailed { reason } => {
            let reason = truncate(reason, 300);
            apply_report(
                &mut tx,
                &payment,
                PaymentEvent::Declined,
                Some(&reason),
                &cause,
            )
            .await?
        }
        WebhookKind::RefundSucceeded { refund_id } => {
            settle_refund_in_tx(
                &mut tx,
                &payment.id,
                refund_id,
                &RefundOutcome::Succeeded {
                    gateway_refund_id: String::new(),
                },
                &cause,
            )
            .await?
        }
        WebhookKind::RefundFailed { refund_id, reason } => {
            settle_refund_in_tx(
                &mut tx,
                &payment.id,
                refund_id,
                &RefundOutcome::Declined {
                    reason: truncate(reason, 300),
                },
                &cause,
            )
            .await?
        }
        // Capturing calls the gateway: the webhook route does it after this
        // commit (see `reconcile`), then the capture's own webhook applies.
        WebhookKind::PaymentAuthorized => "authorized: capture follows".to_string(),
        WebhookKind::Other => "ignored: event type not handled".to_string(),
    };
    store::set_webhook_outcome(&mut tx, &record, Some(&payment.id), &outcome).await?;
    tx.commit().await?;
    match outcome.as_str() {
        LATE_FAILURE => tracing::warn!(
            payment_id = %payment.id, event_id = %event.event_id,
            "late failure after success recorded, not applied"
        ),
        LATE_CAPTURE => {
            return reverse_late_capture(state, gateway, &payment, event, &record).await;
        }
        _ => {}
    }
    Ok(outcome)
}

const LATE_FAILURE: &str = "ignored: failure after success";
const LATE_CAPTURE: &str = "ignored: success after failure";

/// The gateway captured money for a payment we had already closed (its
/// order was cancelled meanwhile): the payment stays FAILED, and the
/// capture is reversed at the gateway so the customer is not charged. The
/// attempt is audited; a failed reversal is logged for reconciliation.
async fn reverse_late_capture(
    state: &PaymentsState,
    gateway_name: &str,
    payment: &PaymentRow,
    event: &WebhookEvent,
    record: &str,
) -> ApiResult<String> {
    let gateway = state
        .gateways
        .by_name(gateway_name)
        .ok_or_else(|| anyhow::anyhow!("no gateway {gateway_name} configured"))?;
    let amount = event.amount_paise.unwrap_or(payment.amount.get());
    let result = gateway
        .refund(&RefundRequest {
            gateway_payment_id: event.charge_id.as_deref().unwrap_or(payment.charge_id()),
            refund_id: &format!("reversal-{record}"),
            amount_paise: amount,
            reason: "captured after the payment was closed",
        })
        .await;
    let (action, outcome) = match &result {
        Ok(RefundOutcome::Succeeded { .. } | RefundOutcome::Pending { .. }) => (
            "late_capture_reversed",
            format!("{LATE_CAPTURE}; reversed at the gateway"),
        ),
        Ok(RefundOutcome::Declined { .. }) | Err(_) => {
            tracing::error!(
                payment_id = %payment.id, event_id = %event.event_id, result = ?result,
                "could not reverse a capture on a closed payment; reconcile by hand"
            );
            (
                "late_capture_not_reversed",
                format!("{LATE_CAPTURE}; reversal failed"),
            )
        }
    };
    let mut tx = state.store.begin().await?;
    audit(
        &mut tx,
        &format!("gateway:{gateway_name}"),
        "payment",
        &payment.id,
        action,
        None,
        Some(json!({ "eventId": event.event_id, "amount": amount })),
    )
    .await?;
    store::set_webhook_outcome(&mut tx, record, Some(&payment.id), &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}
