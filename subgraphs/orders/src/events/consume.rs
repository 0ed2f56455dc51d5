//! The orders subgraph's handlers of payments' events. `PaymentSucceeded`
//! confirms the order and `PaymentFailed` cancels it, inside the consumer's
//! transaction (see [`crate::service::payments`]); once that committed,
//! `after_commit` makes the calls the order owes (commit or release stock,
//! consume or restore prescriptions). Those calls are idempotent and re-read
//! what is still owed, so a redelivery or a restart may run them again; the
//! sweeper covers whatever every attempt missed.

use crate::service::{self, payments};
use crate::OrdersState;
use async_trait::async_trait;
use janta_events::types::{PaymentFailed, PaymentSucceeded};
use janta_events::{Consumer, Envelope, EventHandler};
use janta_platform::cause::Cause;
use sqlx::AnyConnection;
use std::sync::Arc;

/// The actor recorded for what payments' events do.
const PAYMENTS: &str = "service:payments";

/// Registers the handlers of `PaymentSucceeded` and `PaymentFailed` on
/// the orders consumer.
pub fn register(consumer: Consumer, state: &Arc<OrdersState>) -> Consumer {
    consumer
        .on::<PaymentSucceeded>(PaymentHandlers {
            state: state.clone(),
        })
        .on::<PaymentFailed>(PaymentHandlers {
            state: state.clone(),
        })
}

/// Both payment handlers, with the state their after-commit work needs.
struct PaymentHandlers {
    state: Arc<OrdersState>,
}

impl PaymentHandlers {
    /// Makes the calls `order_id` still owes; an error while some are still
    /// owed (another worker holds the lease, a peer is down) makes the
    /// consumer try again after its back-off.
    async fn settle(&self, order_id: &str, envelope: &Envelope) -> anyhow::Result<()> {
        let cause = Cause::of_event(envelope, PAYMENTS);
        service::run_followups(&self.state, order_id, &cause).await?;
        if crate::store::owes_calls(&self.state.store, order_id).await? {
            anyhow::bail!("order {order_id} still owes calls to catalog or prescriptions");
        }
        Ok(())
    }
}

#[async_trait]
impl EventHandler<PaymentSucceeded> for PaymentHandlers {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: PaymentSucceeded,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        payments::payment_succeeded_in(conn, &event, &Cause::of_event(envelope, PAYMENTS)).await?;
        Ok(())
    }

    async fn after_commit(
        &self,
        event: &PaymentSucceeded,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        self.settle(&event.order_id, envelope).await
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
        payments::payment_failed_in(conn, &event, &Cause::of_event(envelope, PAYMENTS)).await?;
        Ok(())
    }

    async fn after_commit(&self, event: &PaymentFailed, envelope: &Envelope) -> anyhow::Result<()> {
        self.settle(&event.order_id, envelope).await
    }
}
