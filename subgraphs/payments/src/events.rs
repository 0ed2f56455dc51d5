//! Events of the payments subgraph.
//!
//! Published (through the outbox, in the transaction of the change), all
//! with aggregate `payment` and camelCase payloads matching
//! `janta_events::types` (money in paise, `…Paise`):
//! - `PaymentSucceeded` — exactly once per payment. For an online method: the
//!   gateway captured the money (`captured: true`). For cash on delivery:
//!   the customer chose to pay cash, nothing is captured yet
//!   (`captured: false`, `amountPaise` is what is due on delivery). Either
//!   way orders confirms the order.
//! - `PaymentFailed` — the gateway declined the payment; orders cancels the order.
//! - `PaymentRefunded` — a refund completed (partial or full).
//!
//! Consumed (from orders): `OrderPlaced` with cash on delivery chosen at
//! checkout (record the cash payment due, `PENDING`), `OrderCancelled`
//! (fail the open payment; refund what was captured, in full) and
//! `OrderStatusChanged` to `DELIVERED` (cash on delivery collected: the
//! payment becomes `SUCCEEDED`). The
//! handlers are idempotent on their own (conditional updates, idempotency
//! keys), so a redelivered event changes nothing.

use crate::domain::{OrderFacts, PaymentMethod};
use crate::service;
use crate::store::{PaymentRow, RefundRow};
use crate::PaymentsState;
use async_trait::async_trait;
use janta_events::types::{
    OrderCancelled, OrderPlaced, OrderStatus, OrderStatusChanged, PaymentFailed, PaymentRefunded,
    PaymentSucceeded,
};
use janta_events::{publish, ConsumerHandle, Envelope, EventBus, EventHandler, RelayHandle};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;
use std::sync::Arc;
use std::time::Duration;

/// `PaymentSucceeded` for `payment` (`captured: false` for cash on delivery).
pub fn succeeded_event(payment: &PaymentRow, captured: bool) -> PaymentSucceeded {
    PaymentSucceeded {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: payment.amount,
        currency: payment.currency.clone(),
        method: payment.method.clone(),
        captured,
        gateway_reference: captured.then(|| payment.gateway_payment_id.clone()),
    }
}

/// `PaymentFailed` for `payment`, declined for `reason`.
pub fn failed_event(payment: &PaymentRow, reason: &str) -> PaymentFailed {
    PaymentFailed {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: payment.amount,
        currency: payment.currency.clone(),
        method: payment.method.clone(),
        reason: reason.to_string(),
    }
}

/// `PaymentRefunded` for `refund`; `payment` is the payment after the refund.
pub fn refunded_event(payment: &PaymentRow, refund: &RefundRow) -> PaymentRefunded {
    PaymentRefunded {
        payment_id: payment.id.clone(),
        refund_id: refund.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: refund.amount,
        refunded_total_paise: payment.refunded,
        fully_refunded: payment.refunded >= payment.captured,
        currency: payment.currency.clone(),
        method: payment.method.clone(),
        reason: refund.reason.clone(),
    }
}

/// The order's payment is settled enough to confirm it: captured online, or
/// accepted as cash on delivery (`captured: false`).
pub async fn payment_succeeded(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    captured: bool,
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = succeeded_event(payment, captured);
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

/// The gateway declined the payment; nothing was captured.
pub async fn payment_failed(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    reason: &str,
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = failed_event(payment, reason);
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

/// A refund completed; `payment` is the payment after it.
pub async fn payment_refunded(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    refund: &RefundRow,
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let event = refunded_event(payment, refund);
    publish(conn, &event, actor, correlation).await?;
    Ok(())
}

// ------------------------------------------------------------ consumed

/// `OrderCancelled`, inside the consumer's transaction: the order's open
/// payment fails (a cash-on-delivery promise lapses, an unfinished checkout
/// can no longer complete) and whatever was captured gets a full refund
/// reserved. Returns the refunds to complete at the gateway after commit.
pub async fn order_cancelled_in(
    conn: &mut AnyConnection,
    event: &OrderCancelled,
    correlation: Option<&str>,
) -> ApiResult<Vec<String>> {
    let reason = match event.reason.trim() {
        "" => "order cancelled".to_string(),
        reason => format!("order cancelled: {reason}"),
    };
    service::order_cancelled_in(conn, &event.order_id, &reason, correlation).await
}

/// `OrderStatusChanged`, inside the consumer's transaction: when an order
/// is `DELIVERED`, its cash-on-delivery payment is collected
/// (`PENDING → SUCCEEDED`). Other transitions are not payments' business.
pub async fn order_status_changed_in(
    conn: &mut AnyConnection,
    event: &OrderStatusChanged,
    correlation: Option<&str>,
) -> ApiResult<()> {
    if event.to != OrderStatus::Delivered {
        return Ok(());
    }
    service::cash_collected_in(conn, &event.order_id, correlation).await
}

/// `OrderPlaced`, inside the consumer's transaction: an order placed with
/// cash on delivery chosen at checkout (orders confirms it without asking
/// payments) gets its cash payment recorded, `PENDING` until delivery.
/// Orders placed for another method wait for `payOrder`.
pub async fn order_placed_in(conn: &mut AnyConnection, event: &OrderPlaced) -> ApiResult<()> {
    if event.payment_method != PaymentMethod::CashOnDelivery.as_db() {
        return Ok(());
    }
    let order = OrderFacts {
        id: event.order_id.clone(),
        buyer_id: event.customer_id.clone(),
        vendor_id: event.vendor_id.clone(),
        status: "CONFIRMED".to_string(),
        total_paise: event.total_paise,
        currency: janta_platform::money::INR.to_string(),
    };
    service::cash_order_placed_in(conn, &order).await?;
    Ok(())
}

/// Handles `OrderPlaced` in its own transaction. Idempotent.
pub async fn on_order_placed(state: &PaymentsState, event: &OrderPlaced) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    order_placed_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Handles `OrderCancelled` on its own (own transaction, then the refunds):
/// what the consumer does, callable directly. Idempotent.
pub async fn on_order_cancelled(
    state: &PaymentsState,
    event: &OrderCancelled,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    let refunds = order_cancelled_in(&mut tx, event, correlation).await?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    complete_refunds(state, &refunds, correlation).await;
    Ok(())
}

/// Handles `OrderStatusChanged` on its own transaction. Idempotent.
pub async fn on_order_status_changed(
    state: &PaymentsState,
    event: &OrderStatusChanged,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    order_status_changed_in(&mut tx, event, correlation).await?;
    tx.commit().await?;
    Ok(())
}

async fn complete_refunds(state: &PaymentsState, refunds: &[String], correlation: Option<&str>) {
    for refund_id in refunds {
        if let Err(err) =
            service::complete_refund(state, refund_id, service::SYSTEM, correlation).await
        {
            tracing::warn!(%refund_id, error = %err, "refund left pending for the retry loop");
        }
    }
}

/// Completes refunds reserved by a consumer handler once its transaction
/// committed (a handler cannot act after its own commit); the retry loop
/// ([`service::drive_pending_refunds`]) covers anything this misses.
fn complete_refunds_soon(
    state: Arc<PaymentsState>,
    refunds: Vec<String>,
    correlation: Option<String>,
) {
    if refunds.is_empty() {
        return;
    }
    janta_platform::tasks::background().spawn(async move {
        let mut remaining = refunds;
        for delay_ms in [20u64, 100, 500, 2_000, 10_000] {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let mut waiting = Vec::new();
            for refund_id in remaining {
                match crate::store::refund(state.store.pool(), &refund_id).await {
                    Ok(Some(r)) if r.status == "PENDING" && r.gateway_refund_id.is_none() => {
                        let done = service::complete_refund(
                            &state,
                            &refund_id,
                            service::SYSTEM,
                            correlation.as_deref(),
                        )
                        .await;
                        if let Err(err) = done {
                            tracing::warn!(%refund_id, error = %err, "refund not completed yet");
                            waiting.push(refund_id);
                        }
                    }
                    Ok(Some(_)) => {} // settled meanwhile
                    // Not committed yet (or the store hiccuped): look again.
                    Ok(None) | Err(_) => waiting.push(refund_id),
                }
            }
            if waiting.is_empty() {
                return;
            }
            remaining = waiting;
        }
    });
}

/// The consumer's handlers for orders' events.
struct OrderHandlers {
    state: Arc<PaymentsState>,
}

#[async_trait]
impl EventHandler<OrderCancelled> for OrderHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: OrderCancelled,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let refunds = order_cancelled_in(conn, &event, envelope.correlation_id.as_deref())
            .await
            .map_err(anyhow_of)?;
        complete_refunds_soon(self.state.clone(), refunds, envelope.correlation_id.clone());
        Ok(())
    }
}

#[async_trait]
impl EventHandler<OrderPlaced> for OrderHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: OrderPlaced,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        order_placed_in(conn, &event).await.map_err(anyhow_of)
    }
}

#[async_trait]
impl EventHandler<OrderStatusChanged> for OrderHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: OrderStatusChanged,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        order_status_changed_in(conn, &event, envelope.correlation_id.as_deref())
            .await
            .map_err(anyhow_of)
    }
}

fn anyhow_of(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Internal(cause) => cause,
        client => anyhow::anyhow!("{client}"),
    }
}

/// The running relay and consumer, stopped when the process's background
/// tasks shut down.
pub struct EventTasks {
    /// Publishes this subgraph's outbox.
    pub relay: RelayHandle,
    /// Handles orders' events.
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

/// Starts the relay of the payments outbox and the consumer of orders'
/// `OrderPlaced`, `OrderCancelled` and `OrderStatusChanged` on `bus`.
pub async fn start(bus: &EventBus, store: &Store, state: Arc<PaymentsState>) -> EventTasks {
    let relay = bus.start_relay(store, "payments");
    let consumer = bus
        .consumer("payments", store)
        .on::<OrderPlaced>(OrderHandlers {
            state: state.clone(),
        })
        .on::<OrderCancelled>(OrderHandlers {
            state: state.clone(),
        })
        .on::<OrderStatusChanged>(OrderHandlers { state })
        .start()
        .await;
    EventTasks { relay, consumer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payment() -> PaymentRow {
        PaymentRow {
            id: "p1".into(),
            order_id: "o1".into(),
            customer_id: "c1".into(),
            vendor_id: "v1".into(),
            method: "CASH_ON_DELIVERY".into(),
            gateway: "cash".into(),
            gateway_payment_id: "cod_p1".into(),
            checkout_url: None,
            status: "SUCCEEDED".into(),
            amount: 12_345,
            currency: "INR".into(),
            captured: 12_345,
            refunded: 2_345,
            failure_reason: None,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    /// The typed payloads keep the wire shape payments published as untyped
    /// JSON before, so events already in outboxes and consumers agree.
    #[test]
    fn typed_payloads_keep_the_wire_shape() {
        let p = payment();
        assert_eq!(
            serde_json::to_value(succeeded_event(&p, false)).unwrap(),
            json!({"paymentId": "p1", "orderId": "o1", "customerId": "c1", "vendorId": "v1",
                   "amountPaise": 12_345, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "captured": false, "gatewayReference": null})
        );
        assert_eq!(
            succeeded_event(&p, true).gateway_reference.as_deref(),
            Some("cod_p1")
        );
        assert_eq!(
            serde_json::to_value(failed_event(&p, "declined")).unwrap(),
            json!({"paymentId": "p1", "orderId": "o1", "customerId": "c1", "vendorId": "v1",
                   "amountPaise": 12_345, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "reason": "declined"})
        );
        let refund = RefundRow {
            id: "r1".into(),
            payment_id: "p1".into(),
            amount: 2_345,
            reason: "damaged".into(),
            status: "SUCCEEDED".into(),
            idempotency_key: None,
            gateway_refund_id: None,
            requested_by: "va".into(),
            failure_reason: None,
            created_at: p.created_at.clone(),
            updated_at: p.created_at.clone(),
        };
        assert_eq!(
            serde_json::to_value(refunded_event(&p, &refund)).unwrap(),
            json!({"paymentId": "p1", "refundId": "r1", "orderId": "o1", "customerId": "c1",
                   "vendorId": "v1", "amountPaise": 2_345, "refundedTotalPaise": 2_345,
                   "fullyRefunded": false, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "reason": "damaged"})
        );
    }
}
