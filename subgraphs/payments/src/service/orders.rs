//! What orders' events mean for payments: a cancelled order's open payment
//! fails and what was captured is refunded in full; a delivered
//! cash-on-delivery order is collected; an order placed with cash on
//! delivery gets its cash payment recorded; an approved return is refunded
//! to the order's payment (a cash refund for cash on delivery).

use super::audit;
use super::payment_now;
use super::refunds::{complete_refund, reserve_refund_in, Reservation};
use super::{apply_report, created_audit, truncate, CANCELLATION_REFUND_KEY};
use crate::domain::{OrderFacts, PaymentEvent, PaymentMethod, RefundAmount};
use crate::store::{self, NewPaymentRow};
use crate::PaymentsState;
use janta_events::types::{
    OrderCancelled, OrderPlaced, OrderStatus, OrderStatusChanged, ReturnApproved,
};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;

/// `OrderCancelled`, inside the caller's (the consumer's) transaction: the
/// order's open payment fails (no `PaymentFailed`: orders already knows; a
/// cash-on-delivery promise lapses, an unfinished checkout can no longer
/// complete), and every payment with money left captured gets a full refund
/// reserved (idempotency key [`CANCELLATION_REFUND_KEY`]). The gateway is
/// asked once the transaction committed:
/// [`complete_cancellation_refunds`].
pub async fn order_cancelled_in(
    conn: &mut AnyConnection,
    event: &OrderCancelled,
    cause: &Cause,
) -> ApiResult<()> {
    let order_id = event.order_id.as_str();
    let reason = match event.reason.trim() {
        "" => "order cancelled".to_string(),
        reason => format!("order cancelled: {reason}"),
    };
    for payment in store::payments_of_order_in_tx(conn, order_id).await? {
        if payment.status.is_open() {
            apply_report(
                conn,
                &payment,
                PaymentEvent::OrderCancelled,
                Some("order cancelled"),
                cause,
            )
            .await?;
        }
    }
    let reason = truncate(&reason, 500);
    for payment in store::payments_of_order_in_tx(conn, order_id).await? {
        let Some(amount) = RefundAmount::of_paise(payment.refundable().get()) else {
            continue;
        };
        let reservation = reserve_refund_in(
            conn,
            cause,
            &payment.id,
            amount,
            None,
            &reason,
            Some(CANCELLATION_REFUND_KEY),
        )
        .await?;
        if let Reservation::Reserved(refund) = reservation {
            tracing::debug!(refund_id = %refund.id, order_id, "cancellation refund reserved");
        }
    }
    Ok(())
}

/// Asks the gateway for every refund of `order_id` still pending without a
/// gateway answer (re-read, so running it again is harmless) and settles
/// them. Errors when one is still left pending, so that the caller may
/// retry; the refunds sweeper is the safety net.
pub async fn complete_cancellation_refunds(
    state: &PaymentsState,
    order_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let mut left = 0;
    for refund_id in store::pending_refunds_of_order(state.store.pool(), order_id).await? {
        if let Err(err) = complete_refund(state, &refund_id, cause).await {
            tracing::warn!(%refund_id, error = %err, "cancellation refund left pending");
            left += 1;
        }
    }
    if left > 0 {
        return Err(anyhow::anyhow!("{left} refunds of order {order_id} still pending").into());
    }
    Ok(())
}

/// [`order_cancelled_in`] in its own transaction, then the refunds at the
/// gateway: what the consumer does, callable directly. Idempotent.
pub async fn order_cancelled(
    state: &PaymentsState,
    event: &OrderCancelled,
    cause: &Cause,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    order_cancelled_in(&mut tx, event, cause).await?;
    tx.commit().await?;
    if let Err(err) = complete_cancellation_refunds(state, &event.order_id, cause).await {
        tracing::warn!(order_id = %event.order_id, error = %err, "refunds left to the sweeper");
    }
    Ok(())
}

/// `OrderStatusChanged`, inside the caller's transaction: when an order is
/// `DELIVERED`, its cash-on-delivery payment is collected (`PENDING →
/// SUCCEEDED`, captured = amount). Other transitions and online payments
/// are not payments' business.
pub async fn order_status_changed_in(
    conn: &mut AnyConnection,
    event: &OrderStatusChanged,
    cause: &Cause,
) -> ApiResult<()> {
    if event.to != OrderStatus::Delivered {
        return Ok(());
    }
    for payment in store::payments_of_order_in_tx(conn, &event.order_id).await? {
        if payment.method == PaymentMethod::CashOnDelivery {
            apply_report(conn, &payment, PaymentEvent::CashCollected, None, cause).await?;
        }
    }
    Ok(())
}

/// [`order_status_changed_in`] in its own transaction. Idempotent.
pub async fn order_status_changed(
    state: &PaymentsState,
    event: &OrderStatusChanged,
    cause: &Cause,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    order_status_changed_in(&mut tx, event, cause).await?;
    tx.commit().await?;
    Ok(())
}

/// `OrderPlaced`, inside the caller's transaction: an order placed with
/// cash on delivery chosen at checkout (orders confirms it without asking
/// payments) gets its cash payment recorded, `PENDING` until delivery.
/// Orders placed for another method wait for `payOrder`.
pub async fn order_placed_in(
    conn: &mut AnyConnection,
    event: &OrderPlaced,
    cause: &Cause,
) -> ApiResult<()> {
    if event.payment_method != PaymentMethod::CashOnDelivery.as_db() {
        return Ok(());
    }
    let order = OrderFacts {
        id: event.order_id.clone(),
        buyer_id: event.customer_id.clone(),
        vendor_id: event.vendor_id.clone(),
        status: "CONFIRMED".to_string(),
        total_paise: event.total_paise,
        tax_paise: event.tax_paise,
        currency: janta_platform::money::INR.to_string(),
    };
    cash_order_placed_in(conn, &order, cause).await?;
    Ok(())
}

/// [`order_placed_in`] in its own transaction. Idempotent.
pub async fn order_placed(
    state: &PaymentsState,
    event: &OrderPlaced,
    cause: &Cause,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    order_placed_in(&mut tx, event, cause).await?;
    tx.commit().await?;
    Ok(())
}

/// An order was placed with cash on delivery chosen at checkout (orders
/// confirms such orders itself), inside the caller's transaction: payments
/// records the cash payment due (`PENDING`, collected on delivery) so that
/// `Order.payments` shows it and delivery settles it. Publishes nothing
/// (the order is already confirmed). Idempotent: an order has at most one
/// open payment. Returns whether it created one.
async fn cash_order_placed_in(
    conn: &mut AnyConnection,
    order: &OrderFacts,
    cause: &Cause,
) -> ApiResult<bool> {
    if order.total_paise <= 0 {
        return Ok(false);
    }
    let id = new_id();
    let reference = crate::gateway::CashGateway::reference(&id);
    let inserted = store::insert_payment(
        conn,
        &NewPaymentRow {
            id: &id,
            order_id: &order.id,
            customer_id: &order.buyer_id,
            vendor_id: &order.vendor_id,
            method: PaymentMethod::CashOnDelivery,
            gateway: crate::gateway::CASH,
            gateway_payment_id: &reference,
            checkout_url: None,
            amount: Paise(order.total_paise),
            tax: Paise(order.tax_paise),
            currency: &order.currency,
        },
    )
    .await?;
    if inserted {
        let row = payment_now(conn, &id).await?;
        audit(
            conn,
            cause.actor(),
            "payment",
            &id,
            "created",
            None,
            Some(created_audit(&row, order)),
        )
        .await?;
    }
    Ok(inserted)
}

/// `ReturnApproved`, inside the caller's (the consumer's) transaction:
/// reserves a refund of exactly the returned lines' paid amount on the
/// order's captured payment, with the return ID as idempotency key (a
/// redelivered event finds it and does nothing). The gateway (for cash on
/// delivery: the cash gateway, which records a cash refund) is asked once
/// the transaction committed: [`complete_cancellation_refunds`] settles
/// every pending refund of the order.
pub async fn return_approved_in(
    conn: &mut AnyConnection,
    event: &ReturnApproved,
    cause: &Cause,
) -> ApiResult<()> {
    let Some(amount) = RefundAmount::of_paise(event.refund_paise) else {
        return Ok(());
    };
    let payments = store::payments_of_order_in_tx(conn, &event.order_id).await?;
    for payment in &payments {
        if store::refund_by_key(conn, &payment.id, &event.return_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    let payment = payments
        .iter()
        .find(|p| p.refundable().get() >= amount.paise())
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "no payment of order {} can refund {} paise for return {}",
                event.order_id,
                amount.paise(),
                event.return_id
            ))
        })?;
    let reason = truncate(&format!("order return: {}", event.note), 500);
    reserve_refund_in(
        conn,
        cause,
        &payment.id,
        amount,
        Some(Paise(event.refund_tax_paise)),
        &reason,
        Some(&event.return_id),
    )
    .await?;
    Ok(())
}

/// [`return_approved_in`] in its own transaction, then the refund at the
/// gateway: what the consumer does, callable directly. Idempotent.
pub async fn return_approved(
    state: &PaymentsState,
    event: &ReturnApproved,
    cause: &Cause,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    return_approved_in(&mut tx, event, cause).await?;
    tx.commit().await?;
    if let Err(err) = complete_cancellation_refunds(state, &event.order_id, cause).await {
        tracing::warn!(order_id = %event.order_id, error = %err, "refunds left to the sweeper");
    }
    Ok(())
}
