//! All SQL of the notifications subgraph, in one place. Functions that take
//! a connection run inside the caller's transaction (the event consumer's,
//! or a resolver's); the rest use the pool.

use crate::domain::{Channel, DeliveryStatus, Kind, Outcome, Preference, WebhookScope};
use chrono::{DateTime, Utc};
use janta_platform::columns::{flag, opt_time, parsed, time};
use janta_platform::ids::new_id;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{self, now_db, to_db_time};
use janta_platform::store::{placeholders, Backend, Migrations, Store};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryAs;
use sqlx::{Any, AnyConnection, FromRow, Row};

pub mod personal_data;

/// The notifications subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/notifications/sqlite"),
        postgres: sqlx::migrate!("../../migrations/notifications/postgres"),
    }
}

// ---------------------------------------------------------------- notifications

/// A notification as stored, with the viewer's read mark when it was
/// loaded for a viewer.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub kind: Kind,
    pub audience: String,
    pub title: String,
    pub body: String,
    pub subject_type: String,
    pub subject_id: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for NotificationRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(NotificationRow {
            id: row.try_get("id")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            kind: parsed(row, "kind", Kind::from_db)?,
            audience: row.try_get("audience")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            subject_type: row.try_get("subject_type")?,
            subject_id: row.try_get("subject_id")?,
            created_at: time(row, "created_at")?,
            read_at: opt_time(row, "read_at")?,
        })
    }
}

const NOTIFICATION_COLUMNS: &str = "n.id, n.event_id, n.event_type, n.kind, n.audience, n.title, \
     n.body, n.subject_type, n.subject_id, n.created_at";

/// A notification to store.
pub struct NewNotification<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub kind: Kind,
    pub audience: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub created_at: &'a str,
}

/// Stores a notification unless this event already made one for this
/// audience (unique index); returns the new ID, or `None` for a duplicate.
pub async fn insert_notification(
    conn: &mut AnyConnection,
    n: &NewNotification<'_>,
) -> sqlx::Result<Option<String>> {
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO notifications (id, event_id, event_type, kind, audience, title, body, \
         subject_type, subject_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (event_id, audience) DO NOTHING",
    )
    .bind(&id)
    .bind(n.event_id)
    .bind(n.event_type)
    .bind(n.kind.as_db())
    .bind(n.audience)
    .bind(n.title)
    .bind(n.body)
    .bind(n.subject_type)
    .bind(n.subject_id)
    .bind(n.created_at)
    .execute(conn)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// Which notifications to list for a viewer.
pub struct InboxQuery<'a> {
    /// The viewer (read marks are theirs).
    pub user_id: &'a str,
    /// The audience keys the viewer sees.
    pub audiences: &'a [String],
    /// Only those the viewer has not read.
    pub unread_only: bool,
}

/// The inbox's rows: the viewer's audiences, without account-code
/// notifications (those exist to carry their e-mail or SMS; the inbox
/// would only repeat "we sent you a code").
fn inbox_filter(q: &InboxQuery<'_>, first_param: usize) -> String {
    let mut sql = format!(
        " FROM notifications n LEFT JOIN notification_reads r \
         ON r.notification_id = n.id AND r.user_id = ${first_param} \
         WHERE n.kind <> 'ACCOUNT_CODE' AND n.audience IN ({})",
        placeholders(first_param + 1, q.audiences.len())
    );
    if q.unread_only {
        sql.push_str(" AND r.read_at IS NULL");
    }
    sql
}

fn bind_inbox<'q, O>(
    mut query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    q: &'q InboxQuery<'q>,
) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
    query = query.bind(q.user_id);
    for audience in q.audiences {
        query = query.bind(audience);
    }
    query
}

/// A page of the viewer's notifications, newest first, and how many match.
pub async fn list_inbox(
    store: &Store,
    q: &InboxQuery<'_>,
    page: &PageRequest,
) -> sqlx::Result<(Vec<NotificationRow>, i64)> {
    if q.audiences.is_empty() {
        return Ok((vec![], 0));
    }
    let filter = inbox_filter(q, 1);
    let next = q.audiences.len() + 2;
    let mut sql = format!("SELECT {NOTIFICATION_COLUMNS}, r.read_at AS read_at{filter}");
    if page.after.is_some() {
        sql.push_str(&format!(
            " AND (n.created_at < ${next} OR (n.created_at = ${next} AND n.id < ${}))",
            next + 1
        ));
    }
    let limit = if page.after.is_some() { next + 2 } else { next };
    sql.push_str(&format!(
        " ORDER BY n.created_at DESC, n.id DESC LIMIT ${limit}"
    ));
    let mut query = bind_inbox(sqlx::query_as::<_, NotificationRow>(&sql), q);
    if let Some(after) = &page.after {
        query = query.bind(&after.key).bind(&after.id);
    }
    let rows = query
        .bind(page.fetch_limit())
        .fetch_all(store.pool())
        .await?;
    let count_sql = format!("SELECT COUNT(*){filter}");
    let total = page
        .total(bind_inbox(sqlx::query_as(&count_sql), q).fetch_one(store.pool()))
        .await?;
    Ok((rows, total))
}

/// How many of the viewer's notifications are unread.
pub async fn unread_count(store: &Store, user_id: &str, audiences: &[String]) -> sqlx::Result<i64> {
    if audiences.is_empty() {
        return Ok(0);
    }
    let q = InboxQuery {
        user_id,
        audiences,
        unread_only: true,
    };
    let sql = format!("SELECT COUNT(*){}", inbox_filter(&q, 1));
    let (n,): (i64,) = bind_inbox(sqlx::query_as(&sql), &q)
        .fetch_one(store.pool())
        .await?;
    Ok(n)
}

/// Keeps the one-time secret of notification `notification_id` for its
/// delivery until `expires_at` (RFC 3339; unreadable means already expired).
pub async fn insert_secret(
    conn: &mut AnyConnection,
    notification_id: &str,
    text: &str,
    expires_at: &str,
) -> sqlx::Result<()> {
    let expires = DateTime::parse_from_rfc3339(expires_at)
        .map(|t| to_db_time(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| now_db());
    sqlx::query(
        "INSERT INTO account_codes (notification_id, secret_text, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(notification_id)
    .bind(text)
    .bind(expires)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The unexpired secrets of `notification_ids`, by notification; expired
/// ones are deleted first (a secret is kept no longer than it works).
pub async fn live_secrets(
    conn: &mut AnyConnection,
    notification_ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query("DELETE FROM account_codes WHERE expires_at <= $1")
        .bind(now_db())
        .execute(&mut *conn)
        .await?;
    if notification_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT notification_id, secret_text FROM account_codes WHERE notification_id IN ({})",
        placeholders(1, notification_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in notification_ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// Notifications by ID (without read marks), one statement.
pub async fn notifications_by_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<Vec<NotificationRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS}, NULL AS read_at FROM notifications n WHERE n.id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// Of `ids`, those `user_id` has read, with when.
pub async fn read_marks(
    store: &Store,
    user_id: &str,
    ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT notification_id, read_at FROM notification_reads \
         WHERE user_id = $1 AND notification_id IN ({})",
        placeholders(2, ids.len())
    );
    let mut query = sqlx::query_as(&sql).bind(user_id);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Marks `ids` read for `user_id`; returns how many were unread before.
pub async fn mark_read(
    conn: &mut AnyConnection,
    user_id: &str,
    ids: &[String],
) -> sqlx::Result<u64> {
    let now = now_db();
    let mut changed = 0;
    for id in ids {
        let done = sqlx::query(
            "INSERT INTO notification_reads (notification_id, user_id, read_at) \
             VALUES ($1, $2, $3) ON CONFLICT (notification_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        changed += done.rows_affected();
    }
    Ok(changed)
}

/// IDs of every unread notification the viewer sees.
pub async fn unread_ids(
    conn: &mut AnyConnection,
    user_id: &str,
    audiences: &[String],
) -> sqlx::Result<Vec<String>> {
    if audiences.is_empty() {
        return Ok(vec![]);
    }
    let q = InboxQuery {
        user_id,
        audiences,
        unread_only: true,
    };
    let sql = format!("SELECT n.id{}", inbox_filter(&q, 1));
    let rows: Vec<(String,)> = bind_inbox(sqlx::query_as(&sql), &q).fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

// ---------------------------------------------------------------- preferences

struct PreferenceRow(Preference);

impl FromRow<'_, AnyRow> for PreferenceRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(PreferenceRow(Preference {
            kind: parsed(row, "kind", Kind::from_db)?,
            email: flag(row, "email_enabled")?,
            sms: flag(row, "sms_enabled")?,
        }))
    }
}

/// The preferences `user_id` has set (kinds without a row use defaults).
pub async fn preferences_of(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<Preference>> {
    let rows: Vec<PreferenceRow> = sqlx::query_as(
        "SELECT kind, email_enabled, sms_enabled FROM notification_preferences WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.0).collect())
}

/// Sets one preference of `user_id`.
pub async fn upsert_preference(
    conn: &mut AnyConnection,
    user_id: &str,
    pref: &Preference,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notification_preferences (user_id, kind, email_enabled, sms_enabled, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, kind) DO UPDATE SET \
         email_enabled = excluded.email_enabled, sms_enabled = excluded.sms_enabled, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(pref.kind.as_db())
    .bind(pref.email)
    .bind(pref.sms)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

// ---------------------------------------------------------------- webhook subscriptions

/// A webhook subscription as stored; `secret` is in sealed form.
#[derive(Debug, Clone)]
pub struct SubscriptionRow {
    pub id: String,
    pub owner_id: String,
    pub owner_role: String,
    pub vendor_id: Option<String>,
    pub url: String,
    pub secret: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for SubscriptionRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(SubscriptionRow {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            owner_role: row.try_get("owner_role")?,
            vendor_id: row.try_get("vendor_id")?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            active: flag(row, "active")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
        })
    }
}

impl SubscriptionRow {
    /// Whose data it may carry.
    pub fn scope(&self) -> WebhookScope {
        WebhookScope::from_db(&self.owner_role, self.vendor_id.as_deref())
    }
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, owner_id, owner_role, vendor_id, url, secret, active, created_at, updated_at";

/// A subscription to store (its URL and event types already checked).
pub struct NewSubscription<'a> {
    pub owner_id: &'a str,
    pub scope: &'a WebhookScope,
    pub url: &'a str,
    /// The signing secret, sealed for this subscription's ID.
    pub sealed_secret: &'a str,
    pub events: &'a [String],
}

/// Stores subscription `id` (the ID its secret was sealed for).
pub async fn insert_subscription(
    conn: &mut AnyConnection,
    id: &str,
    s: &NewSubscription<'_>,
) -> sqlx::Result<SubscriptionRow> {
    let at = Utc::now();
    let now = to_db_time(at);
    sqlx::query(
        "INSERT INTO webhook_subscriptions (id, owner_id, owner_role, vendor_id, url, secret, \
         active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $7)",
    )
    .bind(id)
    .bind(s.owner_id)
    .bind(s.scope.role_db())
    .bind(s.scope.vendor_id())
    .bind(s.url)
    .bind(s.sealed_secret)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    for event in s.events {
        sqlx::query(
            "INSERT INTO webhook_subscription_events (subscription_id, event_type) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(event)
        .execute(&mut *conn)
        .await?;
    }
    Ok(SubscriptionRow {
        id: id.to_string(),
        owner_id: s.owner_id.to_string(),
        owner_role: s.scope.role_db().to_string(),
        vendor_id: s.scope.vendor_id().map(str::to_string),
        url: s.url.to_string(),
        secret: s.sealed_secret.to_string(),
        active: true,
        created_at: at,
        updated_at: at,
    })
}

/// Active subscriptions of `owner_id`.
pub async fn count_active_subscriptions(store: &Store, owner_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_subscriptions WHERE owner_id = $1 AND active = TRUE",
    )
    .bind(owner_id)
    .fetch_one(store.pool())
    .await
}

/// Which subscriptions a listing shows.
pub enum SubscriptionFilter<'a> {
    /// Every one (admins).
    All,
    /// Those one caller created (partners).
    Owner(&'a str),
    /// One vendor's integrations (its admins).
    Vendor(&'a str),
}

/// Subscriptions, newest first.
pub async fn list_subscriptions(
    store: &Store,
    filter: SubscriptionFilter<'_>,
) -> sqlx::Result<Vec<SubscriptionRow>> {
    let (owner, vendor) = match filter {
        SubscriptionFilter::All => ("", ""),
        SubscriptionFilter::Owner(owner) => (owner, ""),
        SubscriptionFilter::Vendor(vendor) => ("", vendor),
    };
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions \
         WHERE ($1 = '' OR owner_id = $1) AND ($2 = '' OR vendor_id = $2) \
         ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    sqlx::query_as(&sql)
        .bind(owner)
        .bind(vendor)
        .fetch_all(store.pool())
        .await
}

/// One subscription.
pub async fn subscription_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<SubscriptionRow>> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(conn).await
}

/// The event types of subscriptions `ids`, as (subscription, event type).
pub async fn subscription_events(
    store: &Store,
    ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT subscription_id, event_type FROM webhook_subscription_events \
         WHERE subscription_id IN ({}) ORDER BY event_type",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// An active subscription to an event type, with what decides whether it
/// receives a given event.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: String,
    pub owner_role: String,
    pub vendor_id: Option<String>,
    /// Whether the owner holds a partner grant for the event type.
    pub granted: bool,
}

impl FromRow<'_, AnyRow> for Subscriber {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Subscriber {
            id: row.try_get("id")?,
            owner_role: row.try_get("owner_role")?,
            vendor_id: row.try_get("vendor_id")?,
            granted: flag(row, "granted")?,
        })
    }
}

impl Subscriber {
    /// Whose data it may carry.
    pub fn scope(&self) -> WebhookScope {
        WebhookScope::from_db(&self.owner_role, self.vendor_id.as_deref())
    }
}

/// Active subscriptions to `event_type`, with their owners' grants of it.
pub async fn subscribers_of(
    conn: &mut AnyConnection,
    event_type: &str,
) -> sqlx::Result<Vec<Subscriber>> {
    sqlx::query_as(
        "SELECT s.id, s.owner_role, s.vendor_id, \
         CASE WHEN g.event_type IS NULL THEN 0 ELSE 1 END AS granted \
         FROM webhook_subscriptions s JOIN webhook_subscription_events e ON e.subscription_id = s.id \
         LEFT JOIN webhook_event_grants g ON g.partner_id = s.owner_id AND g.event_type = e.event_type \
         WHERE e.event_type = $1 AND s.active = TRUE ORDER BY s.id",
    )
    .bind(event_type)
    .fetch_all(conn)
    .await
}

/// Stops a subscription and cancels its deliveries waiting for an attempt
/// (queued retries included); returns how many it cancelled. Attempts in
/// flight are cancelled by the worker when it next picks them up.
pub async fn deactivate_subscription(conn: &mut AnyConnection, id: &str) -> sqlx::Result<u64> {
    let now = now_db();
    sqlx::query("UPDATE webhook_subscriptions SET active = FALSE, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    let cancelled = sqlx::query(
        "UPDATE deliveries SET status = 'CANCELLED', last_error = 'subscription deactivated', \
         updated_at = $2 WHERE subscription_id = $1 AND status = 'PENDING'",
    )
    .bind(id)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(cancelled.rows_affected())
}

/// Where and how to deliver to one subscription (the secret still sealed).
#[derive(Debug, Clone)]
pub struct TargetRow {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub active: bool,
}

impl FromRow<'_, AnyRow> for TargetRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(TargetRow {
            id: row.try_get("id")?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            active: flag(row, "active")?,
        })
    }
}

/// The targets of subscriptions `ids`, one statement.
pub async fn subscription_targets(store: &Store, ids: &[String]) -> sqlx::Result<Vec<TargetRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT id, url, secret, active FROM webhook_subscriptions WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Subscriptions whose secret may still be plaintext, as (id, secret).
pub async fn unsealed_secrets(store: &Store) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, secret FROM webhook_subscriptions WHERE secret NOT LIKE 'v1:%'")
        .fetch_all(store.pool())
        .await
}

/// Replaces subscription `id`'s secret if it still is `old`; returns whether it did.
pub async fn replace_secret(store: &Store, id: &str, old: &str, new: &str) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE webhook_subscriptions SET secret = $3 WHERE id = $1 AND secret = $2")
            .bind(id)
            .bind(old)
            .bind(new)
            .execute(store.pool())
            .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- partner grants

/// The event types granted to partner `partner_id`, sorted.
pub async fn granted_event_types(
    conn: &mut AnyConnection,
    partner_id: &str,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT event_type FROM webhook_event_grants WHERE partner_id = $1 ORDER BY event_type",
    )
    .bind(partner_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// Grants `events` to `partner_id` (already granted ones stay as they were).
pub async fn grant_event_types(
    conn: &mut AnyConnection,
    partner_id: &str,
    events: &[String],
    granted_by: &str,
) -> sqlx::Result<()> {
    let now = now_db();
    for event in events {
        sqlx::query(
            "INSERT INTO webhook_event_grants (partner_id, event_type, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (partner_id, event_type) DO NOTHING",
        )
        .bind(partner_id)
        .bind(event)
        .bind(granted_by)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Withdraws `events` from `partner_id`.
pub async fn revoke_event_types(
    conn: &mut AnyConnection,
    partner_id: &str,
    events: &[String],
) -> sqlx::Result<()> {
    for event in events {
        sqlx::query("DELETE FROM webhook_event_grants WHERE partner_id = $1 AND event_type = $2")
            .bind(partner_id)
            .bind(event)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- deliveries

/// A delivery of one event on one channel to one recipient.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub channel: Channel,
    pub recipient: String,
    pub notification_id: Option<String>,
    pub subscription_id: Option<String>,
    pub payload: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub total_attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_response_code: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for DeliveryRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(DeliveryRow {
            id: row.try_get("id")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            channel: parsed(row, "channel", Channel::from_db)?,
            recipient: row.try_get("recipient")?,
            notification_id: row.try_get("notification_id")?,
            subscription_id: row.try_get("subscription_id")?,
            payload: row.try_get("payload")?,
            status: parsed(row, "status", DeliveryStatus::from_db)?,
            attempts: row.try_get("attempts")?,
            total_attempts: row.try_get("total_attempts")?,
            next_attempt_at: time(row, "next_attempt_at")?,
            last_error: row.try_get("last_error")?,
            last_response_code: row.try_get("last_response_code")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            delivered_at: opt_time(row, "delivered_at")?,
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, event_id, event_type, channel, recipient, notification_id, \
     subscription_id, payload, status, attempts, total_attempts, next_attempt_at, last_error, \
     last_response_code, created_at, updated_at, delivered_at";

/// A delivery to create.
pub struct NewDelivery<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub channel: Channel,
    pub recipient: &'a str,
    pub notification_id: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
    pub payload: Option<&'a str>,
}

/// Creates a pending delivery, due now, unless this event already has one
/// for this recipient and channel (unique index). Returns whether it did.
pub async fn insert_delivery(conn: &mut AnyConnection, d: &NewDelivery<'_>) -> sqlx::Result<bool> {
    let now = now_db();
    let done = sqlx::query(
        "INSERT INTO deliveries (id, event_id, event_type, channel, recipient, notification_id, \
         subscription_id, payload, status, attempts, total_attempts, next_attempt_at, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10, $10, $10) \
         ON CONFLICT (event_id, recipient, channel) DO NOTHING",
    )
    .bind(new_id())
    .bind(d.event_id)
    .bind(d.event_type)
    .bind(d.channel.as_db())
    .bind(d.recipient)
    .bind(d.notification_id)
    .bind(d.subscription_id)
    .bind(d.payload)
    .bind(DeliveryStatus::Pending.as_db())
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims up to `limit` due deliveries for one attempt each: pending ones
/// whose time has come, and ones whose worker vanished (lease expired).
/// Each claimed row is `SENDING` until `lease_until` with its attempt
/// counters already raised. PostgreSQL replicas skip each other's rows
/// (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
pub async fn claim_due(
    store: &Store,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let lock = match store.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'SENDING', lease_until = $1, attempts = attempts + 1, \
         total_attempts = total_attempts + 1, updated_at = $2 WHERE id IN (\
         SELECT id FROM deliveries WHERE (status = 'PENDING' AND next_attempt_at <= $2) \
         OR (status = 'SENDING' AND lease_until <= $2) ORDER BY next_attempt_at LIMIT $3{lock}) \
         RETURNING {DELIVERY_COLUMNS}"
    );
    let mut tx = store.begin().await?;
    let rows = sqlx::query_as(&sql)
        .bind(to_db_time(lease_until))
        .bind(to_db_time(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Cancels a claimed delivery without an attempt (its subscription was
/// deactivated meanwhile): the claim's attempt counts are given back.
pub async fn cancel_claimed(store: &Store, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'CANCELLED', lease_until = NULL, \
         attempts = attempts - 1, total_attempts = total_attempts - 1, \
         last_error = 'subscription deactivated', updated_at = $2 \
         WHERE id = $1 AND status = 'SENDING'",
    )
    .bind(id)
    .bind(now_db())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the next delivery is due (to sleep until then), if any is pending.
pub async fn next_due(store: &Store) -> sqlx::Result<Option<DateTime<Utc>>> {
    let at: Option<scalars::DateTime> =
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'PENDING'")
            .fetch_one(store.pool())
            .await?;
    Ok(at.map(|t| t.0))
}

/// The result of one attempt, recorded with the delivery's new state.
pub struct AttemptRecord<'a> {
    pub delivery_id: &'a str,
    pub attempt_number: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: Outcome,
    pub error: Option<&'a str>,
    pub response_code: Option<i64>,
    pub new_status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
}

/// Appends the attempt and moves the delivery on, if this worker still
/// holds it (`SENDING`); returns whether it did.
pub async fn record_attempt(conn: &mut AnyConnection, a: &AttemptRecord<'_>) -> sqlx::Result<bool> {
    let now = now_db();
    let delivered_at = (a.new_status == DeliveryStatus::Delivered).then_some(now.as_str());
    let done = sqlx::query(
        "UPDATE deliveries SET status = $2, next_attempt_at = $3, lease_until = NULL, \
         last_error = $4, last_response_code = $5, updated_at = $6, \
         delivered_at = COALESCE($7, delivered_at) WHERE id = $1 AND status = 'SENDING'",
    )
    .bind(a.delivery_id)
    .bind(a.new_status.as_db())
    .bind(to_db_time(a.next_attempt_at))
    .bind(a.error)
    .bind(a.response_code)
    .bind(&now)
    .bind(delivered_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms, \
         outcome, error, response_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (delivery_id, attempt_number) DO NOTHING",
    )
    .bind(new_id())
    .bind(a.delivery_id)
    .bind(a.attempt_number)
    .bind(to_db_time(a.started_at))
    .bind(a.duration_ms)
    .bind(a.outcome.as_db())
    .bind(a.error)
    .bind(a.response_code)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Puts a `FAILED` or `DEAD` delivery back in the queue with a fresh round
/// of attempts; returns whether it was in such a state.
pub async fn replay_delivery(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let now = now_db();
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'PENDING', attempts = 0, next_attempt_at = $2, \
         updated_at = $2 WHERE id = $1 AND status IN ('FAILED', 'DEAD')",
    )
    .bind(id)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deliveries by ID, one statement.
pub async fn deliveries_by_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<Vec<DeliveryRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// The deliveries of one notification, oldest first.
pub async fn deliveries_of_notification(
    store: &Store,
    notification_id: &str,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE notification_id = $1 \
         ORDER BY created_at, id"
    );
    sqlx::query_as(&sql)
        .bind(notification_id)
        .fetch_all(store.pool())
        .await
}

/// Filters over deliveries: admins' searches, and partners' and vendor
/// admins' delivery logs (`managed_by`).
#[derive(Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<Channel>,
    pub subscription_id: Option<String>,
    /// Only webhook deliveries of subscriptions this caller manages
    /// (`None`: every delivery, for admins).
    pub managed_by: Option<ManagedBy>,
}

/// Whose webhook subscriptions a non-admin manages: those it created and,
/// for a vendor admin, its vendor's integrations (as
/// `domain::may_manage_webhook` decides for one subscription).
#[derive(Debug, Clone)]
pub struct ManagedBy {
    /// The caller's token subject (a user ID or `partner:<clientId>`).
    pub owner_id: String,
    /// The vendor of a vendor admin; `None` for everyone else.
    pub vendor_id: Option<String>,
}

/// A page of deliveries, newest first, and how many match.
pub async fn list_deliveries(
    store: &Store,
    filter: &DeliveryFilter,
    page: &PageRequest,
) -> sqlx::Result<(Vec<DeliveryRow>, i64)> {
    let status = filter.status.map(DeliveryStatus::as_db).unwrap_or("");
    let channel = filter.channel.map(Channel::as_db).unwrap_or("");
    let subscription = filter.subscription_id.as_deref().unwrap_or("");
    let owner = filter
        .managed_by
        .as_ref()
        .map_or("", |m| m.owner_id.as_str());
    let vendor = filter
        .managed_by
        .as_ref()
        .and_then(|m| m.vendor_id.as_deref())
        .unwrap_or("");
    let where_sql = "WHERE ($1 = '' OR status = $1) AND ($2 = '' OR channel = $2) \
                     AND ($3 = '' OR subscription_id = $3) \
                     AND ($4 = '' OR subscription_id IN (SELECT id FROM webhook_subscriptions \
                          WHERE owner_id = $4 OR ($5 <> '' AND vendor_id = $5)))";
    let (after_key, after_id) = page
        .after
        .as_ref()
        .map(|c| (c.key.clone(), c.id.clone()))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries {where_sql} \
         AND ($6 = '' OR created_at < $7 OR (created_at = $7 AND id < $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $8"
    );
    let rows = sqlx::query_as(&sql)
        .bind(status)
        .bind(channel)
        .bind(subscription)
        .bind(owner)
        .bind(vendor)
        .bind(&after_id)
        .bind(&after_key)
        .bind(page.fetch_limit())
        .fetch_all(store.pool())
        .await?;
    let count_sql = format!("SELECT COUNT(*) FROM deliveries {where_sql}");
    let total = page
        .total(
            sqlx::query_as(&count_sql)
                .bind(status)
                .bind(channel)
                .bind(subscription)
                .bind(owner)
                .bind(vendor)
                .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}

/// One attempt at a delivery.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub attempt_number: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub response_code: Option<i64>,
}

impl FromRow<'_, AnyRow> for AttemptRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(AttemptRow {
            id: row.try_get("id")?,
            delivery_id: row.try_get("delivery_id")?,
            attempt_number: row.try_get("attempt_number")?,
            started_at: time(row, "started_at")?,
            duration_ms: row.try_get("duration_ms")?,
            outcome: parsed(row, "outcome", Outcome::from_db)?,
            error: row.try_get("error")?,
            response_code: row.try_get("response_code")?,
        })
    }
}

const ATTEMPT_COLUMNS: &str =
    "id, delivery_id, attempt_number, started_at, duration_ms, outcome, error, response_code";

/// The attempts of deliveries `ids`, in order, one statement.
pub async fn attempts_of(store: &Store, ids: &[String]) -> sqlx::Result<Vec<AttemptRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id IN ({}) \
         ORDER BY delivery_id, attempt_number",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Every attempt at every delivery of one notification, in order.
pub async fn attempts_of_notification(
    store: &Store,
    notification_id: &str,
) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as(
        "SELECT a.id, a.delivery_id, a.attempt_number, a.started_at, a.duration_ms, a.outcome, \
         a.error, a.response_code FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
         WHERE d.notification_id = $1 ORDER BY a.started_at, a.delivery_id, a.attempt_number",
    )
        .bind(notification_id)
        .fetch_all(store.pool())
        .await
}

/// Whether a notification exists.
pub async fn notification_exists(store: &Store, id: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    Ok(n > 0)
}

/// The notifications `/metrics` gauge: deliveries by channel and outcome
/// (their status: pending, delivered, dead-lettered, …).
pub const GAUGES: [janta_platform::metrics::CountQuery; 1] =
    [janta_platform::metrics::CountQuery {
        metric: "janta_notification_deliveries",
        help: "Notification deliveries by channel and outcome (delivery status).",
        labels: &["channel", "outcome"],
        sql: "SELECT channel, status, COUNT(*) FROM deliveries GROUP BY channel, status \
          ORDER BY channel, status",
    }];
