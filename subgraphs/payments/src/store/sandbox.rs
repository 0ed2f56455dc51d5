//! The sandbox gateway's own durable state (dev mode and tests): submitted
//! checkouts and the webhooks it owes.

use janta_platform::ids::new_id;
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use sqlx::{AnyConnection, FromRow};

/// Records that checkout `gateway_payment_id` was submitted; false when it
/// already was (a second press of the button, or a replayed form).
pub async fn submit_checkout(
    conn: &mut AnyConnection,
    gateway_payment_id: &str,
    succeeded: bool,
    now: DateTime,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO sandbox_checkouts (gateway_payment_id, succeeded, submitted_at) \
         VALUES ($1, $2, $3) ON CONFLICT (gateway_payment_id) DO NOTHING",
    )
    .bind(gateway_payment_id)
    .bind(succeeded)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Queues one webhook delivery of event `event_id` (`body`) for `due_at`.
pub async fn queue_webhook(
    conn: &mut AnyConnection,
    event_id: &str,
    body: &str,
    due_at: DateTime,
    now: DateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_webhooks (id, event_id, body, due_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(event_id)
    .bind(body)
    .bind(due_at)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A webhook delivery still owed.
#[derive(Debug, Clone, FromRow)]
pub struct OwedWebhook {
    /// The delivery's ID.
    pub id: String,
    /// The event's ID (duplicated deliveries share it).
    pub event_id: String,
    /// The event as JSON.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Deliveries due by `now`, oldest first, at most `limit`.
pub async fn owed_webhooks(
    store: &Store,
    now: DateTime,
    limit: i64,
) -> sqlx::Result<Vec<OwedWebhook>> {
    sqlx::query_as(
        "SELECT id, event_id, body, attempts FROM sandbox_webhooks \
         WHERE delivered_at IS NULL AND due_at <= $1 ORDER BY due_at, created_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(store.pool())
    .await
}

/// Marks delivery `id` acknowledged by the merchant.
pub async fn webhook_delivered(store: &Store, id: &str, now: DateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE sandbox_webhooks SET delivered_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// Counts a failed attempt of delivery `id` and sets when to try again.
pub async fn webhook_failed(store: &Store, id: &str, retry_at: DateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE sandbox_webhooks SET attempts = attempts + 1, due_at = $2 WHERE id = $1")
        .bind(id)
        .bind(retry_at)
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// How checkout `gateway_payment_id` was submitted: `Some(true)` paid,
/// `Some(false)` declined, `None` not submitted.
pub async fn checkout_outcome(
    store: &Store,
    gateway_payment_id: &str,
) -> sqlx::Result<Option<bool>> {
    let row: Option<(janta_platform::columns::Flag,)> =
        sqlx::query_as("SELECT succeeded FROM sandbox_checkouts WHERE gateway_payment_id = $1")
            .bind(gateway_payment_id)
            .fetch_optional(store.pool())
            .await?;
    Ok(row.map(|(flag,)| flag.0))
}
