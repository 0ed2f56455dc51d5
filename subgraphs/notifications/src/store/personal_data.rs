//! The SQL of a person's data rights (issue 18) in the notifications
//! subgraph: what it holds about a person (their notifications, read
//! marks, channel preferences, e-mail/SMS/in-app deliveries and every
//! attempt), and its erasure. Every function runs in the caller's (the
//! consumer's) transaction. A person's deliveries are those whose
//! recipient is their user ID on a channel other than webhooks (a webhook
//! delivery's recipient is a subscription).

use janta_platform::columns::row_json;
use serde_json::Value;
use sqlx::AnyConnection;

/// Rows of `sql` with `binds` as `$1`, `$2`…, each as JSON.
async fn rows(conn: &mut AnyConnection, sql: &str, binds: &[&str]) -> sqlx::Result<Vec<Value>> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    query.fetch_all(conn).await?.iter().map(row_json).collect()
}

/// The person's own notifications (audience `audience`), oldest first,
/// each with when they read it.
pub async fn notifications(
    conn: &mut AnyConnection,
    user_id: &str,
    audience: &str,
) -> sqlx::Result<Vec<Value>> {
    rows(
        conn,
        "SELECT n.id, n.kind, n.title, n.body, n.event_type AS \"eventType\", \
         n.subject_type AS \"subjectType\", n.subject_id AS \"subjectId\", \
         n.created_at AS \"createdAt\", r.read_at AS \"readAt\" \
         FROM notifications n \
         LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = $1 \
         WHERE n.audience = $2 ORDER BY n.created_at, n.id",
        &[user_id, audience],
    )
    .await
}

/// The person's read marks on notifications shared with others (their
/// pharmacy's, their role's).
pub async fn shared_read_marks(
    conn: &mut AnyConnection,
    user_id: &str,
    audience: &str,
) -> sqlx::Result<Vec<Value>> {
    rows(
        conn,
        "SELECT r.notification_id AS \"notificationId\", r.read_at AS \"readAt\" \
         FROM notification_reads r JOIN notifications n ON n.id = r.notification_id \
         WHERE r.user_id = $1 AND n.audience <> $2 ORDER BY r.read_at, r.notification_id",
        &[user_id, audience],
    )
    .await
}

/// The person's channel choices per notification kind.
pub async fn preferences(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<Value>> {
    rows(
        conn,
        "SELECT kind, email_enabled AS \"emailEnabled\", sms_enabled AS \"smsEnabled\", \
         updated_at AS \"updatedAt\" FROM notification_preferences \
         WHERE user_id = $1 ORDER BY kind",
        &[user_id],
    )
    .await
}

/// The person's e-mail, SMS and in-app deliveries, oldest first.
pub async fn deliveries(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<Value>> {
    rows(
        conn,
        "SELECT id, notification_id AS \"notificationId\", event_type AS \"eventType\", channel, \
         status, total_attempts AS \"totalAttempts\", created_at AS \"createdAt\", \
         delivered_at AS \"deliveredAt\", last_error AS \"lastError\" \
         FROM deliveries WHERE recipient = $1 AND channel <> 'WEBHOOK' \
         ORDER BY created_at, id",
        &[user_id],
    )
    .await
}

/// Every attempt of the person's deliveries.
pub async fn delivery_attempts(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<Value>> {
    rows(
        conn,
        "SELECT a.delivery_id AS \"deliveryId\", a.attempt_number AS \"attemptNumber\", \
         a.started_at AS \"startedAt\", a.duration_ms AS \"durationMs\", a.outcome, a.error, \
         a.response_code AS \"responseCode\" \
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
         WHERE d.recipient = $1 AND d.channel <> 'WEBHOOK' \
         ORDER BY a.started_at, a.id",
        &[user_id],
    )
    .await
}

/// IDs of the person's e-mail and SMS deliveries (their outbox files).
pub async fn message_delivery_ids(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<String>> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM deliveries WHERE recipient = $1 AND channel IN ('EMAIL', 'SMS')",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// Webhook deliveries whose payload names the person (`needle`: their ID
/// as a JSON string), as (delivery ID, payload).
pub async fn webhook_payloads_naming(
    conn: &mut AnyConnection,
    needle: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT id, payload FROM deliveries \
         WHERE channel = 'WEBHOOK' AND payload IS NOT NULL AND payload LIKE $1",
    )
    .bind(format!("%{needle}%"))
    .fetch_all(conn)
    .await
}

/// Replaces the payload of webhook delivery `id`.
pub async fn set_webhook_payload(
    conn: &mut AnyConnection,
    id: &str,
    payload: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE deliveries SET payload = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(payload)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
}

/// What [`erase`] changed, in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Notifications whose title and text were erased.
    pub notifications: u64,
    /// One-time codes of the person's notifications, deleted.
    pub codes: u64,
    /// Read marks, deleted.
    pub read_marks: u64,
    /// Channel preferences, deleted.
    pub preferences: u64,
    /// Deliveries not yet made, cancelled (or whose error text went).
    pub deliveries: u64,
    /// Delivery attempts whose error text was erased.
    pub attempts: u64,
}

/// The title an erased notification keeps (the row stays so that a
/// redelivered event cannot make the notification again).
pub const ERASED_TITLE: &str = "(erased)";

/// Erases what the notifications subgraph holds about the person with ID
/// `user_id` and audience key `audience`, as of `now`: the title and text
/// of their notifications and any one-time code, their read marks and
/// channel preferences; their deliveries not yet made are cancelled and
/// every error text of their deliveries (which could quote an address or
/// number) erased. Running it again changes nothing more.
pub async fn erase(
    conn: &mut AnyConnection,
    user_id: &str,
    audience: &str,
    now: &str,
) -> sqlx::Result<Erased> {
    let codes = affected(
        conn,
        "DELETE FROM account_codes WHERE notification_id IN \
         (SELECT id FROM notifications WHERE audience = $1)",
        &[audience],
    )
    .await?;
    let notifications = affected(
        conn,
        "UPDATE notifications SET title = $2, body = '' \
         WHERE audience = $1 AND (title <> $2 OR body <> '')",
        &[audience, ERASED_TITLE],
    )
    .await?;
    let read_marks = affected(
        conn,
        "DELETE FROM notification_reads WHERE user_id = $1",
        &[user_id],
    )
    .await?;
    let preferences = affected(
        conn,
        "DELETE FROM notification_preferences WHERE user_id = $1",
        &[user_id],
    )
    .await?;
    let deliveries = affected(
        conn,
        "UPDATE deliveries SET status = CASE WHEN status IN ('PENDING', 'SENDING') \
         THEN 'CANCELLED' ELSE status END, last_error = NULL, lease_until = NULL, updated_at = $2 \
         WHERE recipient = $1 AND channel <> 'WEBHOOK' \
         AND (status IN ('PENDING', 'SENDING') OR last_error IS NOT NULL)",
        &[user_id, now],
    )
    .await?;
    let attempts = affected(
        conn,
        "UPDATE delivery_attempts SET error = NULL WHERE error IS NOT NULL AND delivery_id IN \
         (SELECT id FROM deliveries WHERE recipient = $1 AND channel <> 'WEBHOOK')",
        &[user_id],
    )
    .await?;
    Ok(Erased {
        notifications,
        codes,
        read_marks,
        preferences,
        deliveries,
        attempts,
    })
}

/// Runs `sql` with `binds`; how many rows it changed.
async fn affected(conn: &mut AnyConnection, sql: &str, binds: &[&str]) -> sqlx::Result<u64> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    Ok(query.execute(conn).await?.rows_affected())
}
