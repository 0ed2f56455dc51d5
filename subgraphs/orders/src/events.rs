//! Events of the orders subgraph. It publishes (through its outbox, in the
//! transaction of the change) `OrderPlaced`, `OrderConfirmed`,
//! `OrderStatusChanged` (packed, out for delivery, delivered, returned) and
//! `OrderCancelled` (payments refunds on it), with the typed payloads of
//! `janta_events::types`. It consumes payments' `PaymentSucceeded` (confirm
//! the order, commit stock, consume prescriptions) and `PaymentFailed`
//! (cancel it, release stock).

use crate::domain::{Mover, PaymentMethod, Status};
use crate::saga::{self, SYSTEM};
use crate::store::{LineRow, OrderRow};
use crate::OrdersState;
use async_trait::async_trait;
use janta_events::types::{
    self, OrderCancelled, OrderConfirmed, OrderPlaced, OrderStatusChanged, PaymentFailed,
    PaymentSucceeded,
};
use janta_events::{publish, ConsumerHandle, Envelope, EventBus, EventHandler, RelayHandle};
use janta_platform::store::Store;
use janta_platform::{ApiResult, ErrorCode};
use sqlx::AnyConnection;
use std::sync::Arc;
use std::time::Duration;

fn wire_status(status: Status) -> types::OrderStatus {
    match status {
        Status::PendingPayment => types::OrderStatus::PendingPayment,
        Status::Confirmed => types::OrderStatus::Confirmed,
        Status::Packed => types::OrderStatus::Packed,
        Status::OutForDelivery => types::OrderStatus::OutForDelivery,
        Status::Delivered => types::OrderStatus::Delivered,
        Status::Cancelled => types::OrderStatus::Cancelled,
        Status::Returned => types::OrderStatus::Returned,
    }
}

/// An order was placed (`PENDING_PAYMENT`); `paymentMethod` is the method
/// chosen at checkout, or `UNDECIDED` when the customer will choose at payment.
pub async fn order_placed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    lines: &[LineRow],
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = OrderPlaced {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        total_paise: order.total,
        payment_method: order
            .payment_method
            .clone()
            .unwrap_or_else(|| "UNDECIDED".to_string()),
        lines: lines
            .iter()
            .map(|l| types::OrderLine {
                listing_id: l.listing_id.clone(),
                medicine_id: l.medicine_id.clone(),
                quantity: l.quantity,
                unit_price_paise: l.unit_price,
            })
            .collect(),
    };
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

/// The order was confirmed by a payment (`paymentId`) or cash on delivery.
pub async fn order_confirmed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    payment_id: Option<&str>,
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = OrderConfirmed {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        total_paise: order.total,
        payment_id: payment_id.map(str::to_string),
    };
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

/// The vendor moved the order along fulfilment.
pub async fn order_status_changed(
    conn: &mut AnyConnection,
    order: &OrderRow,
    from: Status,
    to: Status,
    actor: &str,
    _note: Option<&str>,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = OrderStatusChanged {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        from: wire_status(from),
        to: wire_status(to),
    };
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

/// The order was cancelled from `from`; payments refunds what it captured.
pub async fn order_cancelled(
    conn: &mut AnyConnection,
    order: &OrderRow,
    from: Status,
    reason: &str,
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = OrderCancelled {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        from: wire_status(from),
        reason: reason.to_string(),
        cancelled_by: actor.to_string(),
    };
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

// ---------- consumed ----------

/// `PaymentSucceeded`: confirms the order in the consumer's transaction
/// (`conn`), recording the stock commit and prescription consumption it
/// owes; those calls run once the transaction committed (see
/// [`settle_soon`]). Redelivery and late events change nothing: an order no
/// longer `PENDING_PAYMENT` stays as it is. A payment captured for an order
/// already cancelled (expired meanwhile) gets a fresh `OrderCancelled`, so
/// payments refunds it.
pub async fn on_payment_succeeded(
    conn: &mut AnyConnection,
    event: &PaymentSucceeded,
    correlation: Option<&str>,
) -> anyhow::Result<bool> {
    let Some(order) = crate::store::order_by_id(conn, &event.order_id).await? else {
        tracing::warn!(order_id = %event.order_id, "payment for an unknown order ignored");
        return Ok(false);
    };
    if order.total != event.amount_paise {
        // Payments takes the amount from orderForPayment; a mismatch is a bug.
        // Not confirming lets the order expire and be refunded.
        tracing::error!(
            order_id = %order.id,
            expected = order.total,
            paid = event.amount_paise,
            "payment amount does not match the order total; not confirming"
        );
        return Ok(false);
    }
    let method = PaymentMethod::from_db(&event.method);
    let note = match method {
        Some(PaymentMethod::CashOnDelivery) => {
            format!("cash on delivery accepted (payment {})", event.payment_id)
        }
        _ => format!("payment {} succeeded", event.payment_id),
    };
    let payment = saga::Payment {
        id: Some(&event.payment_id),
        method,
        note: &note,
    };
    let confirmed =
        saga::confirm_in(conn, &order.id, "service:payments", payment, correlation).await?;
    if !confirmed && Status::from_db(&order.status)? == Status::Cancelled {
        order_cancelled(
            conn,
            &order,
            Status::Cancelled,
            "the payment arrived after the order was cancelled; it is refunded",
            SYSTEM,
            correlation,
        )
        .await?;
    }
    Ok(confirmed)
}

/// `PaymentFailed`: cancels a `PENDING_PAYMENT` order (stock released once
/// the transaction committed). Anything else is left alone.
pub async fn on_payment_failed(
    conn: &mut AnyConnection,
    event: &PaymentFailed,
    correlation: Option<&str>,
) -> anyhow::Result<bool> {
    let Some(order) = crate::store::order_by_id(conn, &event.order_id).await? else {
        tracing::warn!(order_id = %event.order_id, "failed payment for an unknown order ignored");
        return Ok(false);
    };
    if Status::from_db(&order.status)? != Status::PendingPayment {
        return Ok(false);
    }
    let reason = format!("payment failed: {}", event.reason.trim());
    match saga::cancel_in(conn, &order.id, SYSTEM, Mover::System, &reason, correlation).await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == ErrorCode::Conflict => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Runs the calls an order owes shortly after the consumer's transaction
/// commits (handlers cannot act after their own commit); the sweeper covers
/// anything this misses.
pub fn settle_soon(state: Arc<OrdersState>, order_id: String, correlation: Option<String>) {
    janta_platform::tasks::background().spawn(async move {
        for delay_ms in [20, 100, 500, 2_000] {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            match crate::store::pending_actions(&state.store, &order_id).await {
                Ok(Some((None, None))) | Ok(None) => return,
                Ok(Some(_)) => {}
                Err(err) => {
                    tracing::warn!(order_id, error = %err, "cannot read owed calls");
                    return;
                }
            }
            if let Err(err) = saga::run_followups(&state, &order_id, correlation.as_deref()).await {
                tracing::warn!(order_id, error = %err, "follow-up calls deferred to the sweeper");
                return;
            }
        }
    });
}

/// Both payment handlers, with the state they need to settle afterwards.
struct PaymentHandlers {
    state: Arc<OrdersState>,
}

#[async_trait]
impl EventHandler<PaymentSucceeded> for PaymentHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: PaymentSucceeded,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let correlation = envelope.correlation_id.as_deref();
        if on_payment_succeeded(conn, &event, correlation).await? {
            settle_soon(
                self.state.clone(),
                event.order_id,
                envelope.correlation_id.clone(),
            );
        }
        Ok(())
    }
}

#[async_trait]
impl EventHandler<PaymentFailed> for PaymentHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: PaymentFailed,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let correlation = envelope.correlation_id.as_deref();
        if on_payment_failed(conn, &event, correlation).await? {
            settle_soon(
                self.state.clone(),
                event.order_id,
                envelope.correlation_id.clone(),
            );
        }
        Ok(())
    }
}

/// The running relay and consumer, stopped when the process's background
/// tasks shut down.
pub struct EventTasks {
    /// Publishes this subgraph's outbox.
    pub relay: RelayHandle,
    /// Handles payments' events.
    pub consumer: ConsumerHandle,
}

impl EventTasks {
    /// Stops the consumer, then the relay (so that what the consumer
    /// published last still goes out), and waits for both.
    pub async fn stop(self) {
        self.consumer.stop().await;
        self.relay.stop().await;
    }
}

/// Starts the relay of the orders outbox and the consumer of payments'
/// events on `bus`.
pub async fn start(bus: &EventBus, store: &Store, state: Arc<OrdersState>) -> EventTasks {
    let relay = bus.start_relay(store, "orders");
    let consumer = bus
        .consumer("orders", store)
        .on::<PaymentSucceeded>(PaymentHandlers {
            state: state.clone(),
        })
        .on::<PaymentFailed>(PaymentHandlers { state })
        .start()
        .await;
    EventTasks { relay, consumer }
}
