//! The payments subgraph's handlers of orders' events: `OrderPlaced` with
//! cash on delivery chosen at checkout (record the cash payment due,
//! `PENDING`), `OrderCancelled` (fail the open payment; refund what was
//! captured, in full — the gateway is asked in `after_commit`, once the
//! reservation committed) and `OrderStatusChanged` to `DELIVERED` (cash on
//! delivery collected). The handlers are idempotent on their own
//! (conditional updates, idempotency keys), so a redelivered event changes
//! nothing; the after-commit work re-reads the refunds still pending.

use crate::service::{orders, SYSTEM};
use crate::PaymentsState;
use async_trait::async_trait;
use janta_events::types::{OrderCancelled, OrderPlaced, OrderStatusChanged, ReturnApproved};
use janta_events::{Consumer, Envelope, EventHandler};
use janta_platform::cause::Cause;
use sqlx::AnyConnection;
use std::sync::Arc;

/// Registers the handlers of orders' `OrderPlaced`, `OrderCancelled` and
/// `OrderStatusChanged` on the payments consumer.
pub fn register(consumer: Consumer, state: &Arc<PaymentsState>) -> Consumer {
    consumer
        .on::<OrderPlaced>(OrderHandlers {
            state: state.clone(),
        })
        .on::<OrderCancelled>(OrderHandlers {
            state: state.clone(),
        })
        .on::<OrderStatusChanged>(OrderHandlers {
            state: state.clone(),
        })
        .on::<ReturnApproved>(OrderHandlers {
            state: state.clone(),
        })
}

/// `ReturnApproved`: reserve the return's refund (idempotency key = return
/// ID) in the consumer's transaction, ask the gateway after the commit.
#[async_trait]
impl EventHandler<ReturnApproved> for OrderHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: ReturnApproved,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        orders::return_approved_in(conn, &event, &Cause::of_event(envelope, SYSTEM)).await?;
        Ok(())
    }

    async fn after_commit(
        &self,
        event: &ReturnApproved,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let cause = Cause::of_event(envelope, SYSTEM);
        orders::complete_cancellation_refunds(&self.state, &event.order_id, &cause).await?;
        Ok(())
    }
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
        orders::order_cancelled_in(conn, &event, &Cause::of_event(envelope, SYSTEM)).await?;
        Ok(())
    }

    async fn after_commit(
        &self,
        event: &OrderCancelled,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let cause = Cause::of_event(envelope, SYSTEM);
        orders::complete_cancellation_refunds(&self.state, &event.order_id, &cause).await?;
        Ok(())
    }
}

#[async_trait]
impl EventHandler<OrderPlaced> for OrderHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: OrderPlaced,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        orders::order_placed_in(conn, &event, &Cause::of_event(envelope, SYSTEM)).await?;
        Ok(())
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
        orders::order_status_changed_in(conn, &event, &Cause::of_event(envelope, SYSTEM)).await?;
        Ok(())
    }
}
