//! The events notifications consumes (every event of the platform) and what
//! it does with each, inside the consumer's transaction: the event's rule
//! (`domain::on_*`) plans the notifications; each is stored once per
//! audience (unique `(event_id, audience)`), with e-mail and SMS deliveries
//! for people who want them; every active webhook subscription to the
//! event type whose scope lets it see this event (`domain::webhook_receives`:
//! a vendor integration only its vendor's, a partner only granted types)
//! gets a webhook delivery (unique `(event_id, recipient, channel)`). With the consumer's `processed_events` row in the same
//! transaction, an event delivered twice has all this done once.
//! Notifications publishes no events.

use crate::delivery::Deliverer;
use crate::domain::{self, channels_for, Channel, Planned};
use crate::store::{self, NewDelivery, NewNotification};
use async_trait::async_trait;
use janta_events::types::{
    Event, ListingPriceChanged, OrderCancelled, OrderConfirmed, OrderPlaced, OrderStatusChanged,
    PaymentFailed, PaymentRefunded, PaymentSucceeded, PrescriptionApproved, PrescriptionRejected,
    PrescriptionSubmitted, RegistrationAttempted, StockLow, UserRegistered, VendorVerified,
};
use janta_events::{ConsumerHandle, Envelope, EventBus, EventHandler};
use janta_platform::scalars::now_db;
use janta_platform::store::Store;
use serde_json::json;
use sqlx::AnyConnection;
use std::sync::Arc;

/// The consumer's name (its `processed_events.consumer` and NATS durable).
pub const CONSUMER: &str = "notifications";

/// What the handlers need: which channels exist, and the worker to wake.
pub struct Notifier {
    deliverer: Arc<Deliverer>,
}

impl Notifier {
    /// Handlers creating deliveries for `deliverer`.
    pub fn new(deliverer: Arc<Deliverer>) -> Self {
        Notifier { deliverer }
    }

    /// Stores `planned` for the event in `envelope`, with its deliveries and
    /// the webhook deliveries of the event; all within `conn`'s transaction.
    pub async fn apply(
        &self,
        conn: &mut AnyConnection,
        envelope: &Envelope,
        planned: Vec<Planned>,
    ) -> anyhow::Result<()> {
        let now = now_db();
        let mut deliveries = 0usize;
        for p in &planned {
            let audience = p.audience.key();
            let inserted = store::insert_notification(
                conn,
                &NewNotification {
                    event_id: &envelope.id,
                    event_type: &envelope.event_type,
                    kind: p.kind,
                    audience: &audience,
                    title: &p.title,
                    body: &p.body,
                    subject_type: &envelope.aggregate_type,
                    subject_id: &envelope.aggregate_id,
                    created_at: &now,
                },
            )
            .await?;
            let (Some(id), Some(user)) = (inserted, p.audience.user_id()) else {
                continue;
            };
            let preference = store::preferences_of(conn, user)
                .await?
                .into_iter()
                .find(|pref| pref.kind == p.kind);
            let channels = channels_for(
                p,
                preference,
                self.deliverer.email_available(),
                self.deliverer.sms_available(),
            );
            for channel in channels {
                let created = store::insert_delivery(
                    conn,
                    &NewDelivery {
                        event_id: &envelope.id,
                        event_type: &envelope.event_type,
                        channel,
                        recipient: user,
                        notification_id: Some(&id),
                        subscription_id: None,
                        payload: None,
                    },
                )
                .await?;
                deliveries += usize::from(created);
            }
        }
        let payload_vendor = envelope.payload.get("vendorId").and_then(|v| v.as_str());
        let subscribers: Vec<String> = store::subscribers_of(conn, &envelope.event_type)
            .await?
            .into_iter()
            .filter(|s| {
                domain::webhook_receives(
                    &s.scope(),
                    s.granted != 0,
                    &envelope.event_type,
                    payload_vendor,
                )
            })
            .map(|s| s.id)
            .collect();
        if !subscribers.is_empty() {
            let body = webhook_body(envelope).to_string();
            for subscription in &subscribers {
                let created = store::insert_delivery(
                    conn,
                    &NewDelivery {
                        event_id: &envelope.id,
                        event_type: &envelope.event_type,
                        channel: Channel::Webhook,
                        recipient: subscription,
                        notification_id: None,
                        subscription_id: Some(subscription),
                        payload: Some(&body),
                    },
                )
                .await?;
                deliveries += usize::from(created);
            }
        }
        tracing::debug!(
            notifications = planned.len(),
            deliveries,
            "event turned into notifications"
        );
        if deliveries > 0 {
            self.deliverer.poke();
        }
        Ok(())
    }
}

/// The JSON a partner endpoint receives: the event as published, without
/// the internal actor and correlation IDs.
pub fn webhook_body(envelope: &Envelope) -> serde_json::Value {
    json!({
        "id": envelope.id,
        "type": envelope.event_type,
        "version": envelope.version,
        "occurredAt": envelope.occurred_at,
        "aggregateType": envelope.aggregate_type,
        "aggregateId": envelope.aggregate_id,
        "data": envelope.payload,
    })
}

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

/// Starts the consumer of every event type (events without a notification
/// rule still feed partner webhooks).
pub async fn start(bus: &EventBus, store: &Store, deliverer: Arc<Deliverer>) -> ConsumerHandle {
    let n = Arc::new(Notifier::new(deliverer));
    bus.consumer(CONSUMER, store)
        .on::<UserRegistered>(rule(&n, domain::on_user_registered))
        .on::<VendorVerified>(rule(&n, domain::on_vendor_verified))
        .on::<RegistrationAttempted>(rule(&n, domain::on_registration_attempted))
        .on::<StockLow>(rule(&n, domain::on_stock_low))
        .on::<ListingPriceChanged>(rule(&n, none))
        .on::<PrescriptionSubmitted>(rule(&n, domain::on_prescription_submitted))
        .on::<PrescriptionApproved>(rule(&n, domain::on_prescription_approved))
        .on::<PrescriptionRejected>(rule(&n, domain::on_prescription_rejected))
        .on::<OrderPlaced>(rule(&n, domain::on_order_placed))
        .on::<OrderConfirmed>(rule(&n, domain::on_order_confirmed))
        .on::<OrderStatusChanged>(rule(&n, domain::on_order_status_changed))
        .on::<OrderCancelled>(rule(&n, domain::on_order_cancelled))
        .on::<PaymentSucceeded>(rule(&n, none))
        .on::<PaymentFailed>(rule(&n, domain::on_payment_failed))
        .on::<PaymentRefunded>(rule(&n, domain::on_payment_refunded))
        .start()
        .await
}
