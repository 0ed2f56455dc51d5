//! What the orders subgraph publishes: `OrderPlaced`, `OrderConfirmed`,
//! `OrderStatusChanged` (packed, out for delivery, delivered, returned) and
//! `OrderCancelled` (payments refunds on it), and the returns'
//! `ReturnRequested`, `ReturnApproved` (payments refunds, catalog
//! quarantines) and `ReturnRejected`, with the typed payloads of
//! `janta_events::types`, each written to the outbox inside the caller's
//! transaction.

use crate::domain::{PaymentMethod, Status};
use crate::store::{LineRow, OrderRow, ReturnLineRow, ReturnRow};
use janta_events::publish;
use janta_events::types::{
    self, OrderCancelled, OrderConfirmed, OrderPlaced, OrderStatusChanged, ReturnApproved,
    ReturnRejected, ReturnRequested,
};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

fn wire_status(status: Status) -> types::OrderStatus {
    match status {
        Status::PendingPayment => types::OrderStatus::PendingPayment,
        Status::Confirmed => types::OrderStatus::Confirmed,
        Status::Packed => types::OrderStatus::Packed,
        Status::OutForDelivery => types::OrderStatus::OutForDelivery,
        Status::Delivered => types::OrderStatus::Delivered,
        Status::Cancelled => types::OrderStatus::Cancelled,
        Status::Returned => types::OrderStatus::Returned,
        Status::PartiallyReturned => types::OrderStatus::PartiallyReturned,
    }
}

/// An order was placed (`PENDING_PAYMENT`); `paymentMethod` is the method
/// chosen at checkout, or `UNDECIDED` when the customer will choose at payment.
pub async fn order_placed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    lines: &[LineRow],
    cause: &Cause,
) -> ApiResult<()> {
    let event = OrderPlaced {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        total_paise: order.total.get(),
        tax_paise: order.tax_total().get(),
        payment_method: order
            .payment_method
            .map_or("UNDECIDED", PaymentMethod::as_db)
            .to_string(),
        lines: lines
            .iter()
            .map(|l| types::OrderLine {
                listing_id: l.listing_id.clone(),
                medicine_id: l.medicine_id.clone(),
                quantity: l.quantity,
                unit_price_paise: l.unit_price.get(),
            })
            .collect(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// The order was confirmed by a payment (`paymentId`) or cash on delivery.
pub async fn order_confirmed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    payment_id: Option<&str>,
    cause: &Cause,
) -> ApiResult<()> {
    let event = OrderConfirmed {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        total_paise: order.total.get(),
        payment_id: payment_id.map(str::to_string),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// The vendor moved the order along fulfilment.
pub async fn order_status_changed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    from: Status,
    to: Status,
    cause: &Cause,
) -> ApiResult<()> {
    let event = OrderStatusChanged {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        from: wire_status(from),
        to: wire_status(to),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// The order was cancelled from `from`; payments refunds what it captured.
pub async fn order_cancelled(
    conn: &mut AnyConnection,
    order: &OrderRow,
    from: Status,
    reason: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = OrderCancelled {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        from: wire_status(from),
        reason: reason.to_string(),
        cancelled_by: cause.actor().to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

fn wire_lines(lines: &[ReturnLineRow]) -> Vec<types::ReturnLine> {
    lines
        .iter()
        .map(|l| types::ReturnLine {
            order_line_id: l.order_line_id.clone(),
            listing_id: l.listing_id.clone(),
            quantity: l.quantity,
            refund_paise: l.refund.get(),
        })
        .collect()
}

/// The customer asked to return lines; the vendor's staff review it.
pub async fn return_requested(
    conn: &mut AnyConnection,
    r: &ReturnRow,
    lines: &[ReturnLineRow],
    cause: &Cause,
) -> ApiResult<()> {
    let event = ReturnRequested {
        return_id: r.id.clone(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        vendor_id: r.vendor_id.clone(),
        reason: r.reason.as_db().to_string(),
        lines: wire_lines(lines),
        refund_paise: r.refund_total.get(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A return was approved: payments refunds it, catalog quarantines the units.
pub async fn return_approved(
    conn: &mut AnyConnection,
    r: &ReturnRow,
    lines: &[ReturnLineRow],
    note: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = ReturnApproved {
        return_id: r.id.clone(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        vendor_id: r.vendor_id.clone(),
        lines: wire_lines(lines),
        refund_paise: r.refund_total.get(),
        refund_tax_paise: lines.iter().map(|l| l.refund_tax.get()).sum(),
        note: note.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A return was rejected.
pub async fn return_rejected(
    conn: &mut AnyConnection,
    r: &ReturnRow,
    note: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = ReturnRejected {
        return_id: r.id.clone(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        vendor_id: r.vendor_id.clone(),
        note: note.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}
