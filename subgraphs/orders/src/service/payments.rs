//! What payments' events do to an order: `PaymentSucceeded` confirms it,
//! `PaymentFailed` cancels it. Both run inside the consumer's transaction and
//! record the calls the order owes; the consumer's `after_commit` makes them
//! ([`super::followups::run_followups`]).

use super::lifecycle::{cancel_in, confirm_in, Payment};
use crate::domain::{Mover, PaymentMethod, Status};
use crate::events::publish;
use crate::store;
use janta_events::types::{PaymentFailed, PaymentSucceeded};
use janta_platform::cause::{Cause, SYSTEM};
use janta_platform::ErrorCode;
use sqlx::AnyConnection;

/// `PaymentSucceeded`: confirms the order in the consumer's transaction
/// (`conn`), recording the stock commit and prescription consumption it
/// owes. Redelivery and late events change nothing: an order no longer
/// `PENDING_PAYMENT` stays as it is. A payment captured for an order already
/// cancelled (expired meanwhile) gets a fresh `OrderCancelled`, so payments
/// refunds it. Returns whether it confirmed the order.
pub async fn payment_succeeded_in(
    conn: &mut AnyConnection,
    event: &PaymentSucceeded,
    cause: &Cause,
) -> anyhow::Result<bool> {
    let Some(order) = store::order_by_id(conn, &event.order_id).await? else {
        tracing::warn!(order_id = %event.order_id, "payment for an unknown order ignored");
        return Ok(false);
    };
    if order.total.get() != event.amount_paise {
        // Payments takes the amount from orderForPayment; a mismatch is a bug.
        // Not confirming lets the order expire and be refunded.
        tracing::error!(
            order_id = %order.id,
            expected = order.total.get(),
            paid = event.amount_paise,
            "payment amount does not match the order total; not confirming"
        );
        return Ok(false);
    }
    let method = PaymentMethod::parse(&event.method);
    let note = match method {
        Some(PaymentMethod::CashOnDelivery) => {
            format!("cash on delivery accepted (payment {})", event.payment_id)
        }
        _ => format!("payment {} succeeded", event.payment_id),
    };
    let payment = Payment {
        id: Some(&event.payment_id),
        method,
        note: &note,
    };
    let confirmed = confirm_in(conn, &order.id, cause, payment).await?;
    if !confirmed && order.status == Status::Cancelled {
        publish::order_cancelled(
            conn,
            &order,
            Status::Cancelled,
            "the payment arrived after the order was cancelled; it is refunded",
            &cause.acting_as(SYSTEM),
        )
        .await?;
    }
    Ok(confirmed)
}

/// `PaymentFailed`: cancels a `PENDING_PAYMENT` order (stock released by the
/// owed calls once the transaction committed). Anything else is left alone.
/// Returns whether it cancelled the order.
pub async fn payment_failed_in(
    conn: &mut AnyConnection,
    event: &PaymentFailed,
    cause: &Cause,
) -> anyhow::Result<bool> {
    let Some(order) = store::order_by_id(conn, &event.order_id).await? else {
        tracing::warn!(order_id = %event.order_id, "failed payment for an unknown order ignored");
        return Ok(false);
    };
    if order.status != Status::PendingPayment {
        return Ok(false);
    }
    let reason = format!("payment failed: {}", event.reason.trim());
    let system = cause.acting_as(SYSTEM);
    match cancel_in(conn, &order.id, &system, Mover::System, &reason).await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == ErrorCode::Conflict => Ok(false),
        Err(err) => Err(err.into()),
    }
}
