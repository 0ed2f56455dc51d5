//! The events notifications consumes (every event of the platform): each
//! event type's handler plans its notifications with its rule
//! (`domain::on_*`) and hands them to [`crate::service::notify`], inside
//! the consumer's transaction. Notifications publishes no events.

use crate::domain::{self, Planned};
use crate::service::delivery::Deliverer;
use crate::service::notify::Notifier;
use async_trait::async_trait;
use janta_events::types::{
    AccountCodeIssued, Event, ListingPriceChanged, OrderCancelled, OrderConfirmed, OrderPlaced,
    OrderStatusChanged, PaymentFailed, PaymentRefunded, PaymentSucceeded, PrescriptionApproved,
    PrescriptionRejected, PrescriptionSubmitted, RegistrationAttempted, ReturnApproved,
    ReturnRejected, ReturnRequested, SettlementIssued, StockLow, StockQuarantined, UserRegistered,
    VendorReinstated, VendorSuspended, VendorVerified,
};
use janta_events::{Consumer, Envelope, EventHandler};
use sqlx::AnyConnection;
use std::sync::Arc;

/// The consumer's name (its `processed_events.consumer` and NATS durable).
pub const CONSUMER: &str = "notifications";

/// The rule of one event type: how its payload becomes notifications.
struct Rule<E> {
    notifier: Arc<Notifier>,
    plan: fn(&E) -> Vec<Planned>,
}

#[async_trait]
impl<E: Event> EventHandler<E> for Rule<E> {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: E,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        self.notifier
            .apply(conn, envelope, (self.plan)(&event))
            .await
    }

    async fn after_commit(&self, _event: &E, _envelope: &Envelope) -> anyhow::Result<()> {
        self.notifier.committed();
        Ok(())
    }
}

fn rule<E: Event>(notifier: &Arc<Notifier>, plan: fn(&E) -> Vec<Planned>) -> Rule<E> {
    Rule {
        notifier: notifier.clone(),
        plan,
    }
}

fn none<E>(_: &E) -> Vec<Planned> {
    vec![]
}

/// The handlers of every event type (events without a notification rule
/// still feed partner webhooks), added to the subgraph's `consumer`.
pub fn handlers(consumer: Consumer, deliverer: Arc<Deliverer>) -> Consumer {
    let n = Arc::new(Notifier::new(deliverer));
    consumer
        .on::<UserRegistered>(rule(&n, domain::on_user_registered))
        .on::<VendorVerified>(rule(&n, domain::on_vendor_verified))
        .on::<VendorSuspended>(rule(&n, none))
        .on::<VendorReinstated>(rule(&n, none))
        .on::<RegistrationAttempted>(rule(&n, domain::on_registration_attempted))
        .on::<AccountCodeIssued>(rule(&n, domain::on_account_code_issued))
        .on::<StockLow>(rule(&n, domain::on_stock_low))
        .on::<ListingPriceChanged>(rule(&n, none))
        .on::<StockQuarantined>(rule(&n, none))
        .on::<PrescriptionSubmitted>(rule(&n, domain::on_prescription_submitted))
        .on::<PrescriptionApproved>(rule(&n, domain::on_prescription_approved))
        .on::<PrescriptionRejected>(rule(&n, domain::on_prescription_rejected))
        .on::<OrderPlaced>(rule(&n, domain::on_order_placed))
        .on::<OrderConfirmed>(rule(&n, domain::on_order_confirmed))
        .on::<OrderStatusChanged>(rule(&n, domain::on_order_status_changed))
        .on::<OrderCancelled>(rule(&n, domain::on_order_cancelled))
        .on::<ReturnRequested>(rule(&n, domain::on_return_requested))
        .on::<ReturnApproved>(rule(&n, domain::on_return_approved))
        .on::<ReturnRejected>(rule(&n, domain::on_return_rejected))
        .on::<PaymentSucceeded>(rule(&n, none))
        .on::<PaymentFailed>(rule(&n, domain::on_payment_failed))
        .on::<PaymentRefunded>(rule(&n, domain::on_payment_refunded))
        .on::<SettlementIssued>(rule(&n, domain::on_settlement_issued))
}
