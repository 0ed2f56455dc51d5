//! Turning a consumed event into notifications, inside the consumer's
//! transaction: the event's rule (`domain::on_*`) plans the notifications;
//! each is stored once per audience (unique `(event_id, audience)`), with
//! e-mail and SMS deliveries for people who want them; every active webhook
//! subscription to the event type whose scope lets it see this event
//! (`domain::webhook_receives`: a vendor integration only its vendor's, a
//! partner only granted types) gets a webhook delivery (unique
//! `(event_id, recipient, channel)`). A one-time secret (account codes)
//! is stored apart from the notification text, for its delivery only.
//! With the consumer's
//! `processed_events` row in the same transaction, an event delivered
//! twice has all this done once.

use crate::domain::{self, channels_for, Channel, Planned};
use crate::service::delivery::Deliverer;
use crate::store::{self, NewDelivery, NewNotification};
use janta_events::Envelope;
use janta_platform::scalars::now_db;
use serde_json::json;
use sqlx::AnyConnection;
use std::sync::Arc;

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
    /// the webhook deliveries of the event; all within `conn`'s transaction
    /// (the worker is woken once it committed: [`Notifier::committed`]).
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
            if let Some(secret) = &p.secret {
                store::insert_secret(conn, &id, &secret.text, &secret.expires_at).await?;
            }
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
                    s.granted,
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
        Ok(())
    }

    /// The transaction of an event committed: wakes the worker for the
    /// deliveries it may have created (harmless when there are none).
    pub fn committed(&self) {
        self.deliverer.poke();
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
