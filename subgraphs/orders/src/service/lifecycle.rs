//! The order life cycle after checkout: confirm (payment succeeded or cash
//! on delivery), cancel and advance along fulfilment. Each move changes the
//! order in one transaction and records the calls it owes other subgraphs
//! (commit or release stock, consume or restore prescriptions) on the order
//! row; [`super::followups`] makes them after the commit.

use super::followups::run_followups;
use crate::domain::{check_transition, Mover, PaymentMethod, RxAction, Status, StockAction};
use crate::events::publish;
use crate::store::{self, OrderRow, Owed, StatusChange};
use crate::{audit, OrdersState};
use janta_platform::cause::Cause;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// What confirms an order.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    /// The payment (payments' ID); None for cash on delivery chosen at checkout.
    pub id: Option<&'a str>,
    /// The method, recorded on the order.
    pub method: Option<PaymentMethod>,
    /// The history note.
    pub note: &'a str,
}

impl Payment<'static> {
    /// Cash on delivery chosen at checkout: confirmed with nothing paid yet.
    pub const CASH_ON_DELIVERY: Payment<'static> = Payment {
        id: None,
        method: Some(PaymentMethod::CashOnDelivery),
        note: "cash on delivery",
    };
}

/// Confirms a `PENDING_PAYMENT` order (payment succeeded or cash on
/// delivery) in its own transaction, then makes the calls it owes (commit
/// stock, consume prescriptions). Returns false when the order was not
/// pending (already confirmed or cancelled: nothing to do, idempotent).
pub async fn confirm(
    state: &OrdersState,
    order_id: &str,
    cause: &Cause,
    payment: Payment<'_>,
) -> ApiResult<bool> {
    let mut tx = state.store.begin().await?;
    let confirmed = confirm_in(&mut tx, order_id, cause, payment).await?;
    tx.commit().await?;
    if confirmed {
        if let Err(err) = run_followups(state, order_id, cause).await {
            tracing::warn!(order_id, error = %err, "follow-up calls deferred to the sweeper");
        }
    }
    Ok(confirmed)
}

/// The database half of [`confirm`], inside the caller's transaction: the
/// move, its history, audit and `OrderConfirmed`, and the calls it owes
/// recorded on the order (made by [`run_followups`] after the commit).
pub async fn confirm_in(
    conn: &mut AnyConnection,
    order_id: &str,
    cause: &Cause,
    payment: Payment<'_>,
) -> ApiResult<bool> {
    let actor = cause.actor();
    let order = store::order_by_id(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = order.status;
    if from != Status::PendingPayment {
        return Ok(false);
    }
    check_transition(from, Status::Confirmed, Mover::System)?;
    let needs_rx = store::order_needs_prescriptions(conn, order_id).await?;
    let at = DateTime::now();
    let changed = store::change_status(
        conn,
        &StatusChange {
            id: order_id,
            from,
            to: Status::Confirmed,
            owed: Owed {
                stock: Some(StockAction::Commit),
                rx: needs_rx.then_some(RxAction::Consume),
            },
            cancellation_reason: None,
            payment_method: payment.method,
            at,
        },
    )
    .await?;
    if !changed {
        return Ok(false);
    }
    store::record_status(
        conn,
        order_id,
        Status::Confirmed,
        actor,
        Some(payment.note),
        at,
    )
    .await?;
    audit(
        conn,
        actor,
        "order",
        order_id,
        "confirmed",
        Some(json!({ "status": from.as_db() })),
        Some(json!({
            "status": "CONFIRMED",
            "paymentId": payment.id,
            "paymentMethod": payment.method.map(PaymentMethod::as_db),
        })),
    )
    .await?;
    publish::order_confirmed(conn, &order, payment.id, cause).await?;
    super::invoices::issue_invoice_in(conn, &order, cause).await?;
    Ok(true)
}

/// Cancels an order (checked against the state machine for `mover`),
/// records the calls owed (release stock; restore prescriptions if they
/// were consumed) and makes them. Returns the order after the calls.
pub async fn cancel(
    state: &OrdersState,
    order_id: &str,
    cause: &Cause,
    mover: Mover,
    reason: &str,
) -> ApiResult<OrderRow> {
    cancel_in_db(state, order_id, cause, mover, reason).await?;
    if let Err(err) = run_followups(state, order_id, cause).await {
        tracing::warn!(order_id, error = %err, "follow-up calls deferred to the sweeper");
    }
    store::find_order(&state.store, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))
}

/// [`cancel_in`] in its own transaction (the owed calls are left to the
/// caller). Returns the order as it was before.
pub(crate) async fn cancel_in_db(
    state: &OrdersState,
    order_id: &str,
    cause: &Cause,
    mover: Mover,
    reason: &str,
) -> ApiResult<OrderRow> {
    let mut tx = state.store.begin().await?;
    let before = cancel_in(&mut tx, order_id, cause, mover, reason).await?;
    tx.commit().await?;
    Ok(before)
}

/// The database half of [`cancel`], inside the caller's transaction.
pub async fn cancel_in(
    conn: &mut AnyConnection,
    order_id: &str,
    cause: &Cause,
    mover: Mover,
    reason: &str,
) -> ApiResult<OrderRow> {
    let actor = cause.actor();
    let order = store::order_by_id(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = order.status;
    check_transition(from, Status::Cancelled, mover)?;
    let needs_rx = store::order_needs_prescriptions(conn, order_id).await?;
    let restore = needs_rx && (from.was_confirmed() || order.owed.rx.is_some());
    let at = DateTime::now();
    let changed = store::change_status(
        conn,
        &StatusChange {
            id: order_id,
            from,
            to: Status::Cancelled,
            owed: Owed {
                stock: Some(StockAction::Release),
                rx: restore.then_some(RxAction::Restore),
            },
            cancellation_reason: Some(reason),
            payment_method: None,
            at,
        },
    )
    .await?;
    if !changed {
        return Err(ApiError::conflict(
            "the order changed while you were cancelling it; reload it",
        ));
    }
    store::record_status(conn, order_id, Status::Cancelled, actor, Some(reason), at).await?;
    audit(
        conn,
        actor,
        "order",
        order_id,
        "cancelled",
        Some(json!({ "status": from.as_db() })),
        Some(json!({ "status": "CANCELLED", "reason": reason })),
    )
    .await?;
    publish::order_cancelled(conn, &order, from, reason, cause).await?;
    if from.was_confirmed() {
        super::invoices::credit_cancellation_in(conn, &order, reason, cause).await?;
    }
    Ok(order)
}

/// Moves `order` (as read in this transaction) to `to` without calls owed,
/// inside the caller's transaction: the conditional update (`CONFLICT` when
/// the order changed meanwhile), its history, audit and
/// `OrderStatusChanged`. The caller checked the transition.
pub(super) async fn move_in(
    conn: &mut AnyConnection,
    order: &OrderRow,
    to: Status,
    cause: &Cause,
    note: Option<&str>,
) -> ApiResult<()> {
    let actor = cause.actor();
    let from = order.status;
    let at = DateTime::now();
    let changed = store::change_status(
        conn,
        &StatusChange {
            id: &order.id,
            from,
            to,
            owed: Owed::default(),
            cancellation_reason: None,
            payment_method: None,
            at,
        },
    )
    .await?;
    if !changed {
        return Err(ApiError::conflict("the order changed meanwhile; reload it"));
    }
    store::record_status(conn, &order.id, to, actor, note, at).await?;
    audit(
        conn,
        actor,
        "order",
        &order.id,
        "status_changed",
        Some(json!({ "status": from.as_db() })),
        Some(json!({ "status": to.as_db(), "note": note })),
    )
    .await?;
    publish::order_status_changed(conn, order, from, to, cause).await?;
    Ok(())
}

/// Moves an order along fulfilment (`PACKED`, `OUT_FOR_DELIVERY`,
/// `DELIVERED`, `RETURNED`) as `mover`. Returns the order after the move.
pub async fn advance(
    state: &OrdersState,
    order_id: &str,
    cause: &Cause,
    mover: Mover,
    to: Status,
    note: Option<&str>,
) -> ApiResult<OrderRow> {
    if to == Status::Cancelled {
        return Err(ApiError::bad_input(
            "use cancelOrder to cancel an order (it needs a reason)",
        ));
    }
    let mut tx = state.store.begin().await?;
    let order = store::order_by_id(&mut tx, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    check_transition(order.status, to, mover)?;
    move_in(&mut tx, &order, to, cause, note).await?;
    // After the guarded move, so that of two racing dispatches the loser
    // stops at the move (CONFLICT) before touching the register.
    super::dispensing::dispatch_in(&mut tx, &order, to, cause).await?;
    let after = store::order_by_id(&mut tx, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    tx.commit().await?;
    Ok(after)
}
