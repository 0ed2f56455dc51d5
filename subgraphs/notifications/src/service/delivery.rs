//! Delivery of e-mail, SMS and webhooks: a worker owned by the kit (one
//! [`Deliverer::round`] after another, woken early by [`Deliverer::poke`]
//! once a consumed event or a replay committed) claims due
//! deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share
//! the queue; SQLite has one writer), makes one attempt at each, and
//! records every attempt (outcome, error, response code, duration).
//! Retryable failures come back after an exponential back-off with jitter;
//! after [`DeliverySettings::max_attempts`] they are `DEAD`. Permanent
//! failures (HTTP 4xx, SMTP 5xx, no address) end `FAILED` at once. Admins
//! see both and can replay them.
//!
//! Contact details are fetched from users per batch, used, and dropped;
//! logs carry delivery and user IDs, never addresses. Webhook secrets are
//! opened per batch the same way. A webhook delivery whose subscription was
//! deactivated is `CANCELLED` when picked up, without being sent.

use crate::channels::{Channels, Contact, Email, Sent, WebhookCall};
use crate::domain::{
    self, after_failure, may_manage_webhook, redact, AfterFailure, Channel, DeliveryStatus,
    Failure, Kind, Outcome,
};
use crate::secrets::SecretBox;
use crate::store::{self, AttemptRecord, DeliveryRow, NotificationRow};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use janta_events::Backoff;
use janta_platform::auth::Principal;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How deliveries are paced and retried.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Attempts per round before a retryable failure becomes `DEAD`.
    pub max_attempts: u32,
    /// Waits between attempts (doubling, with jitter).
    pub backoff: Backoff,
    /// How often the worker looks for due deliveries when not woken.
    pub poll_interval: Duration,
    /// Deliveries claimed at once.
    pub batch_size: i64,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Time limit of one send (connect and answer).
    pub send_timeout: Duration,
    /// How long a claimed delivery stays with its worker before another may
    /// take it over (a worker that died mid-attempt).
    pub lease: Duration,
}

impl DeliverySettings {
    /// The defaults, with the attempts and back-off of `config`
    /// (`delivery_max_attempts`, `delivery_backoff`, `delivery_backoff_max`).
    pub fn from_config(config: &janta_platform::config::SubgraphConfig) -> Self {
        DeliverySettings {
            max_attempts: config.delivery_max_attempts,
            backoff: Backoff::new(config.delivery_backoff, config.delivery_backoff_max),
            ..DeliverySettings::default()
        }
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_attempts: janta_platform::config::DEFAULT_DELIVERY_MAX_ATTEMPTS,
            backoff: Backoff::new(
                janta_platform::config::DEFAULT_DELIVERY_BACKOFF,
                janta_platform::config::DEFAULT_DELIVERY_BACKOFF_MAX,
            ),
            poll_interval: Duration::from_secs(1),
            batch_size: 32,
            concurrency: 8,
            send_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(120),
        }
    }
}

/// What a worker is made of besides its store, read from configuration
/// (and checked) before anything connects.
pub struct Setup {
    channels: Channels,
    settings: DeliverySettings,
    secrets: Arc<SecretBox>,
}

impl Setup {
    /// The channels and webhook secret key of `config`, paced by `settings`.
    pub fn from_config(
        config: &janta_platform::config::SubgraphConfig,
        settings: DeliverySettings,
    ) -> anyhow::Result<Self> {
        config.check_webhook_settings()?;
        let secrets = Arc::new(SecretBox::new(&config.webhook_encryption_key_bytes()?));
        let channels = Channels::from_config(config, settings.send_timeout)?;
        Ok(Setup {
            channels,
            settings,
            secrets,
        })
    }

    /// The worker over `store`.
    pub fn deliverer(self, store: Store) -> Deliverer {
        Deliverer::new(store, self.channels, self.settings, self.secrets)
    }
}

/// The delivery worker's shared parts.
pub struct Deliverer {
    store: Store,
    channels: Channels,
    settings: DeliverySettings,
    secrets: Arc<SecretBox>,
    wake: Arc<Notify>,
}

/// Where one webhook delivery goes, as its batch found it.
struct Target {
    url: String,
    /// The opened signing secret, or why it could not be opened.
    secret: Result<String, String>,
    active: bool,
}

/// What one batch needs besides the rows: notification texts, contacts
/// (or why they could not be had), and webhook targets.
struct BatchContext {
    notifications: HashMap<String, NotificationRow>,
    /// One-time secrets of account-code notifications, by notification.
    secrets: HashMap<String, String>,
    contacts: Result<HashMap<String, Contact>, String>,
    targets: HashMap<String, Target>,
}

impl BatchContext {
    /// Whether `row` is a webhook whose subscription is no longer active.
    fn subscription_inactive(&self, row: &DeliveryRow) -> bool {
        row.subscription_id
            .as_ref()
            .and_then(|id| self.targets.get(id))
            .is_some_and(|t| !t.active)
    }
}

impl Deliverer {
    /// A worker over `store` sending through `channels`, opening webhook
    /// secrets with `secrets`.
    pub fn new(
        store: Store,
        channels: Channels,
        settings: DeliverySettings,
        secrets: Arc<SecretBox>,
    ) -> Self {
        Deliverer {
            store,
            channels,
            settings,
            secrets,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The key sealing webhook signing secrets.
    pub fn secrets(&self) -> Arc<SecretBox> {
        self.secrets.clone()
    }

    /// Which addresses webhook subscriptions may target.
    pub fn target_policy(&self) -> crate::target::TargetPolicy {
        self.channels.webhooks.policy()
    }

    /// Whether e-mail deliveries can be made.
    pub fn email_available(&self) -> bool {
        self.channels.email.is_some()
    }

    /// Whether SMS deliveries can be made.
    pub fn sms_available(&self) -> bool {
        self.channels.sms.is_some()
    }

    /// The retry settings.
    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    /// Tells the worker that deliveries were (or are about to be) created.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// One round of the worker: attempts every due delivery, batch by
    /// batch, then waits until the next one is due (at most the poll
    /// interval) or until it is woken. After a failure it waits a poll
    /// interval before reporting it, so a database outage is not hammered.
    pub async fn round(self: Arc<Self>) -> anyhow::Result<()> {
        loop {
            match self.run_once().await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(err) => {
                    tokio::time::sleep(self.settings.poll_interval).await;
                    return Err(err);
                }
            }
        }
        let wait = self.idle_wait().await;
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        Ok(())
    }

    /// Claims one batch of due deliveries and attempts each; returns how
    /// many were attempted.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.settings.lease)
            .unwrap_or_else(|_| chrono::Duration::minutes(2));
        let rows =
            store::claim_due(&self.store, now, now + lease, self.settings.batch_size).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let context = self.context(&rows).await?;
        let attempted = rows.len();
        futures::stream::iter(rows)
            .map(|row| self.attempt(row, &context))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<()>>()
            .await;
        Ok(attempted)
    }

    async fn context(&self, rows: &[DeliveryRow]) -> anyhow::Result<BatchContext> {
        let notification_ids: Vec<String> = rows
            .iter()
            .filter_map(|r| r.notification_id.clone())
            .collect();
        let mut conn = self.store.pool().acquire().await?;
        let notifications = store::notifications_by_ids(&mut conn, &notification_ids)
            .await?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let secrets = store::live_secrets(&mut conn, &notification_ids)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        let mut people: Vec<String> = rows
            .iter()
            .filter(|r| matches!(r.channel, Channel::Email | Channel::Sms))
            .map(|r| r.recipient.clone())
            .collect();
        people.sort();
        people.dedup();
        let contacts = if people.is_empty() {
            Ok(HashMap::new())
        } else {
            self.channels
                .contacts
                .contacts(&people)
                .await
                .map_err(|e| redact(&format!("contact details unavailable: {e:#}")))
        };
        let subscription_ids: Vec<String> = rows
            .iter()
            .filter_map(|r| r.subscription_id.clone())
            .collect();
        let targets = store::subscription_targets(&self.store, &subscription_ids)
            .await?
            .into_iter()
            .map(|t| {
                let target = Target {
                    secret: self
                        .secrets
                        .open(&t.secret, &t.id)
                        .map_err(|e| e.to_string()),
                    url: t.url,
                    active: t.active,
                };
                (t.id, target)
            })
            .collect();
        Ok(BatchContext {
            notifications,
            secrets,
            contacts,
            targets,
        })
    }

    async fn attempt(&self, row: DeliveryRow, context: &BatchContext) {
        if context.subscription_inactive(&row) {
            self.cancel(&row).await;
            return;
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let result = self.send(&row, context).await;
        let duration_ms = clock.elapsed().as_millis().min(i64::MAX as u128) as i64;
        if let Err(err) = self.record(&row, started_at, duration_ms, result).await {
            // The lease runs out and the delivery is attempted again.
            tracing::error!(delivery_id = %row.id, error = %format!("{err:#}"), "cannot record a delivery attempt");
        }
    }

    /// Drops a claimed webhook delivery whose subscription was deactivated.
    async fn cancel(&self, row: &DeliveryRow) {
        match store::cancel_claimed(&self.store, &row.id).await {
            Ok(_) => {
                tracing::info!(delivery_id = %row.id, "subscription deactivated; delivery cancelled")
            }
            // The lease runs out and the delivery is picked up (and cancelled) again.
            Err(err) => {
                tracing::error!(delivery_id = %row.id, error = %err, "cannot cancel a delivery")
            }
        }
    }

    async fn send(&self, row: &DeliveryRow, context: &BatchContext) -> Result<Sent, Failure> {
        let channel = row.channel;
        match channel {
            Channel::Email | Channel::Sms => {
                let notification = row
                    .notification_id
                    .as_ref()
                    .and_then(|id| context.notifications.get(id))
                    .ok_or_else(|| Failure::permanent("the notification is gone", None))?;
                let contacts = context
                    .contacts
                    .as_ref()
                    .map_err(|e| Failure::retryable(e.clone(), None))?;
                let contact = contacts.get(&row.recipient);
                let secret = context.secrets.get(&notification.id).map(String::as_str);
                if notification.kind == Kind::AccountCode && secret.is_none() {
                    return Err(Failure::permanent(
                        "the code expired before it was sent",
                        None,
                    ));
                }
                let body = domain::message_body(&notification.body, secret);
                if channel == Channel::Email {
                    let to = contact.and_then(|c| c.email.as_deref()).ok_or_else(|| {
                        Failure::permanent("the user has no e-mail address", None)
                    })?;
                    let sender = self
                        .channels
                        .email
                        .as_ref()
                        .ok_or_else(|| Failure::permanent("e-mail is not configured", None))?;
                    sender
                        .send(&Email {
                            delivery_id: &row.id,
                            to,
                            subject: &notification.title,
                            body: &body,
                        })
                        .await
                } else {
                    let to = contact
                        .and_then(|c| c.phone.as_deref())
                        .ok_or_else(|| Failure::permanent("the user has no phone number", None))?;
                    let provider = self
                        .channels
                        .sms
                        .as_ref()
                        .ok_or_else(|| Failure::permanent("SMS is not configured", None))?;
                    let text = format!("Janta: {}. {}", notification.title, body);
                    provider.send(to, &text, &row.id).await
                }
            }
            Channel::Webhook => {
                let target = row
                    .subscription_id
                    .as_ref()
                    .and_then(|id| context.targets.get(id))
                    .ok_or_else(|| Failure::permanent("the subscription is gone", None))?;
                let secret = target
                    .secret
                    .as_deref()
                    .map_err(|e| Failure::permanent(e.to_string(), None))?;
                let body = row
                    .payload
                    .as_deref()
                    .ok_or_else(|| Failure::permanent("the delivery has no payload", None))?;
                self.channels
                    .webhooks
                    .send(&WebhookCall {
                        url: &target.url,
                        secret,
                        event_id: &row.event_id,
                        event_type: &row.event_type,
                        delivery_id: &row.id,
                        body,
                    })
                    .await
            }
            Channel::InApp => Ok(None),
        }
    }

    async fn record(
        &self,
        row: &DeliveryRow,
        started_at: DateTime<Utc>,
        duration_ms: i64,
        result: Result<Sent, Failure>,
    ) -> anyhow::Result<()> {
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let (status, outcome, error, code, next) = match &result {
            Ok(code) => (
                DeliveryStatus::Delivered,
                Outcome::Delivered,
                None,
                *code,
                Utc::now(),
            ),
            Err(failure) => {
                let error = Some(redact(&failure.error));
                match after_failure(
                    failure,
                    attempts,
                    self.settings.max_attempts,
                    &self.settings.backoff,
                ) {
                    AfterFailure::RetryIn(delay) => {
                        let at = Utc::now()
                            + chrono::Duration::from_std(delay)
                                .unwrap_or_else(|_| chrono::Duration::minutes(15));
                        (
                            DeliveryStatus::Pending,
                            Outcome::RetryableFailure,
                            error,
                            failure.response_code,
                            at,
                        )
                    }
                    AfterFailure::Dead => (
                        DeliveryStatus::Dead,
                        Outcome::RetryableFailure,
                        error,
                        failure.response_code,
                        Utc::now(),
                    ),
                    AfterFailure::Failed => (
                        DeliveryStatus::Failed,
                        Outcome::PermanentFailure,
                        error,
                        failure.response_code,
                        Utc::now(),
                    ),
                }
            }
        };
        let mut tx = self.store.begin().await?;
        let recorded = store::record_attempt(
            &mut tx,
            &AttemptRecord {
                delivery_id: &row.id,
                attempt_number: row.total_attempts,
                started_at,
                duration_ms,
                outcome,
                error: error.as_deref(),
                response_code: code,
                new_status: status,
                next_attempt_at: next,
            },
        )
        .await?;
        tx.commit().await?;
        if !recorded {
            tracing::warn!(delivery_id = %row.id, "delivery was taken over before its attempt was recorded");
            return Ok(());
        }
        let log_error = error.as_deref().unwrap_or("");
        match status {
            DeliveryStatus::Delivered => tracing::info!(
                delivery_id = %row.id, channel = row.channel.as_db(), attempt = row.total_attempts,
                duration_ms, "delivered"
            ),
            DeliveryStatus::Pending => tracing::warn!(
                delivery_id = %row.id, channel = row.channel.as_db(), attempt = row.total_attempts,
                retry_at = %next, error = %log_error, "delivery failed; will retry"
            ),
            _ => tracing::error!(
                delivery_id = %row.id, channel = row.channel.as_db(), attempt = row.total_attempts,
                status = status.as_db(), error = %log_error, "delivery gave up"
            ),
        }
        Ok(())
    }

    /// How long to sleep until the next pending delivery is due (capped by
    /// the poll interval).
    async fn idle_wait(&self) -> Duration {
        let poll = self.settings.poll_interval;
        match store::next_due(&self.store).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(poll),
            _ => poll,
        }
    }
}

/// Sends a `FAILED` or `DEAD` delivery again with a fresh round of attempts,
/// as `actor`, and wakes the worker. Admins replay any delivery; anyone
/// else only webhook deliveries of subscriptions they manage
/// ([`may_manage_webhook`]): any other is `NOT_FOUND`, as if it did not
/// exist.
pub async fn replay(deliverer: &Deliverer, actor: &Principal, id: &str) -> ApiResult<DeliveryRow> {
    let mut tx = deliverer.store.begin().await?;
    let before = delivery_in(&mut tx, id).await?;
    if !actor.is_admin() && !manages_delivery(&mut tx, actor, &before).await? {
        return Err(ApiError::not_found("delivery"));
    }
    if !store::replay_delivery(&mut tx, id).await? {
        return Err(ApiError::conflict(format!(
            "only FAILED or DEAD deliveries can be replayed; this one is {}",
            before.status.as_db()
        )));
    }
    janta_platform::audit::append(
        &mut tx,
        &actor.subject,
        "delivery",
        id,
        "replayed",
        Some(serde_json::json!({ "status": before.status.as_db() })),
        Some(serde_json::json!({ "status": "PENDING" })),
    )
    .await?;
    let row = delivery_in(&mut tx, id).await?;
    tx.commit().await?;
    deliverer.poke();
    Ok(row)
}

/// Whether `actor` manages the webhook subscription `row` goes to (never
/// for e-mail and SMS deliveries, which only admins handle).
async fn manages_delivery(
    conn: &mut sqlx::AnyConnection,
    actor: &Principal,
    row: &DeliveryRow,
) -> ApiResult<bool> {
    let Some(subscription) = row.subscription_id.as_deref() else {
        return Ok(false);
    };
    Ok(store::subscription_by_id(conn, subscription)
        .await?
        .is_some_and(|s| may_manage_webhook(actor, &s.owner_id, s.vendor_id.as_deref())))
}

async fn delivery_in(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<DeliveryRow> {
    store::deliveries_by_ids(conn, std::slice::from_ref(&id.to_string()))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("delivery"))
}
