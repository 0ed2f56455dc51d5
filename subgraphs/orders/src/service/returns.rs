//! Returns: a customer asks to return delivered lines within the return
//! window; the vendor's staff (or an admin) approve or reject. Approval
//! publishes `ReturnApproved` (payments refunds the lines' paid amount,
//! catalog quarantines the units) and moves the order to
//! `PARTIALLY_RETURNED`, or `RETURNED` once every unit is back.

use super::lifecycle::move_in;
use crate::domain::returns::{self, LineBalance, ReturnReason, ReturnStatus};
use crate::domain::{check_transition, Mover, Status};
use crate::events::publish;
use crate::store::{self, ReturnLineRow, ReturnRow, Review};
use crate::{audit, OrdersState};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use std::collections::HashSet;

/// What a customer asks back.
#[derive(Debug, Clone)]
pub struct ReturnRequest {
    /// The order.
    pub order_id: String,
    /// Why.
    pub reason: ReturnReason,
    /// Optional details (validated).
    pub note: Option<String>,
    /// (order line ID, units) per line.
    pub lines: Vec<(String, i64)>,
}

/// Records a return request of `customer_id` for delivered lines of their
/// order: within the window, no more units than were delivered and are not
/// already in a requested or approved return. Returns the new return.
pub async fn request_return(
    state: &OrdersState,
    cause: &Cause,
    customer_id: &str,
    request: ReturnRequest,
) -> ApiResult<ReturnRow> {
    if request.lines.is_empty() {
        return Err(ApiError::bad_input("a return needs at least one line"));
    }
    let mut seen = HashSet::new();
    if !request.lines.iter().all(|(id, _)| seen.insert(id.as_str())) {
        return Err(ApiError::bad_input("each order line may appear only once"));
    }
    let mut tx = state.store.begin().await?;
    let order = store::order_by_id(&mut tx, &request.order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    if order.customer_id != customer_id {
        return Err(ApiError::forbidden(
            "only the buyer can return an order's lines",
        ));
    }
    if !matches!(order.status, Status::Delivered | Status::PartiallyReturned) {
        return Err(ApiError::bad_input(format!(
            "only delivered orders can be returned (this one is {})",
            order.status.as_db()
        )));
    }
    let delivered_at = store::delivered_at(&mut tx, &order.id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("delivered order without delivery")))?;
    let now = DateTime::now();
    returns::check_window(delivered_at, now, state.settings.return_window_days)?;
    let order_lines = store::lines_of_order(&mut tx, &order.id).await?;
    let taken = store::units_in_returns(
        &mut tx,
        &order.id,
        &[ReturnStatus::Requested, ReturnStatus::Approved],
    )
    .await?;
    let return_id = new_id();
    let mut lines = Vec::with_capacity(request.lines.len());
    for (position, (line_id, quantity)) in request.lines.iter().enumerate() {
        let line = order_lines
            .iter()
            .find(|l| &l.id == line_id)
            .ok_or_else(|| ApiError::bad_input(format!("{line_id} is not a line of this order")))?;
        let balance = LineBalance {
            ordered: line.quantity,
            paid: line.line_total,
            taken: taken.get(&line.id).copied().unwrap_or(0),
        };
        lines.push(ReturnLineRow {
            id: new_id(),
            return_id: return_id.clone(),
            order_line_id: line.id.clone(),
            position: position as i64 + 1,
            listing_id: line.listing_id.clone(),
            quantity: *quantity,
            refund: returns::refund_for(balance, *quantity)?,
            refund_tax: returns::tax_share(line.tax_total(), balance, *quantity),
        });
    }
    if !store::claim_order(&mut tx, &order.id, order.version).await? {
        return Err(ApiError::conflict("the order changed meanwhile; try again"));
    }
    let row = ReturnRow {
        id: return_id,
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        status: ReturnStatus::Requested,
        reason: request.reason,
        note: request.note,
        refund_total: lines.iter().map(|l| l.refund).sum::<Paise>(),
        requested_at: now,
        reviewed_at: None,
        reviewed_by: None,
        review_note: None,
    };
    store::insert_return(&mut tx, &row).await?;
    for line in &lines {
        store::insert_return_line(&mut tx, line).await?;
    }
    audit(
        &mut tx,
        cause.actor(),
        "order_return",
        &row.id,
        "requested",
        None,
        Some(json!({
            "orderId": row.order_id,
            "reason": row.reason.as_db(),
            "note": row.note,
            "refundPaise": row.refund_total.get(),
            "lines": lines.iter().map(|l| json!({
                "orderLineId": l.order_line_id, "quantity": l.quantity, "refundPaise": l.refund.get()
            })).collect::<Vec<_>>(),
        })),
    )
    .await?;
    publish::return_requested(&mut tx, &row, &lines, cause).await?;
    tx.commit().await?;
    Ok(row)
}

/// Approves or rejects a `REQUESTED` return (the caller checked that the
/// reviewer is staff of its vendor or an admin). Of two concurrent reviews
/// exactly one wins; the other is `CONFLICT`. Returns the reviewed return.
pub async fn review_return(
    state: &OrdersState,
    cause: &Cause,
    return_id: &str,
    approve: bool,
    note: &str,
) -> ApiResult<ReturnRow> {
    let mut tx = state.store.begin().await?;
    let before = store::return_by_id(&mut tx, return_id)
        .await?
        .ok_or_else(|| ApiError::not_found("return"))?;
    let reviewed = || {
        ApiError::conflict(format!(
            "this return was already reviewed ({})",
            before.status.as_db()
        ))
    };
    if before.status != ReturnStatus::Requested {
        return Err(reviewed());
    }
    let to = if approve {
        ReturnStatus::Approved
    } else {
        ReturnStatus::Rejected
    };
    let at = DateTime::now();
    let review = Review {
        id: return_id,
        to,
        by: cause.actor(),
        note,
        at,
    };
    if !store::review_return(&mut tx, &review).await? {
        return Err(ApiError::conflict("this return was already reviewed"));
    }
    audit(
        &mut tx,
        cause.actor(),
        "order_return",
        return_id,
        if approve { "approved" } else { "rejected" },
        Some(json!({ "status": before.status.as_db() })),
        Some(json!({
            "status": to.as_db(),
            "note": note,
            "refundPaise": approve.then_some(before.refund_total.get()),
        })),
    )
    .await?;
    if approve {
        let lines = store::lines_of_return(&mut tx, return_id).await?;
        move_order(&mut tx, &before.order_id, cause, note).await?;
        super::invoices::credit_return_in(&mut tx, &before, &lines, note, cause).await?;
        publish::return_approved(&mut tx, &before, &lines, note, cause).await?;
    } else {
        publish::return_rejected(&mut tx, &before, note, cause).await?;
    }
    let after = store::return_by_id(&mut tx, return_id)
        .await?
        .ok_or_else(|| ApiError::not_found("return"))?;
    tx.commit().await?;
    Ok(after)
}

/// After an approval: `RETURNED` when every unit of every line is in an
/// approved return, else `PARTIALLY_RETURNED`.
async fn move_order(
    conn: &mut sqlx::AnyConnection,
    order_id: &str,
    cause: &Cause,
    note: &str,
) -> ApiResult<()> {
    let order = store::order_by_id(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    if !store::claim_order(conn, order_id, order.version).await? {
        return Err(ApiError::conflict("the order changed meanwhile; try again"));
    }
    let lines = store::lines_of_order(conn, order_id).await?;
    let returned = store::units_in_returns(conn, order_id, &[ReturnStatus::Approved]).await?;
    let all_back = lines
        .iter()
        .all(|l| returned.get(&l.id).copied().unwrap_or(0) >= l.quantity);
    let to = if all_back {
        Status::Returned
    } else {
        Status::PartiallyReturned
    };
    if order.status == to {
        return Ok(());
    }
    check_transition(order.status, to, Mover::System)?;
    move_in(conn, &order, to, cause, Some(note)).await
}
