//! The consumer-side tables (platform migration `0003_events`), all SQL in
//! one place: `processed_events` (exactly-once effects) and `parked_events`
//! (events a handler gave up on, for an admin to inspect and replay).

use crate::transport::Undecodable;
use crate::Envelope;
use janta_platform::ids::new_id;
use janta_platform::scalars::now_db;
use janta_platform::store::Store;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// An event a consumer parked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedEvent {
    /// The consumer that gave up on it.
    pub consumer: String,
    /// The event's ID.
    pub event_id: String,
    /// The publishing subgraph.
    pub source: String,
    /// The event type (`?` when it could not be read).
    pub event_type: String,
    /// The whole envelope as JSON (or the raw message when unreadable).
    pub envelope: String,
    /// The last error.
    pub error: String,
    /// Attempts made so far (deliveries plus replays).
    pub attempts: i64,
    /// When it was (last) parked.
    pub parked_at: String,
    /// When a replay succeeded; `None` while it needs attention.
    pub resolved_at: Option<String>,
}

/// Records `envelope` as processed by `consumer` inside the caller's
/// transaction; `false` when it already was (then do nothing).
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    consumer: &str,
    envelope: &Envelope,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, event_type, processed_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, event_id) DO NOTHING",
    )
    .bind(consumer)
    .bind(&envelope.id)
    .bind(&envelope.event_type)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

const PARK_SQL: &str = "INSERT INTO parked_events \
     (consumer, event_id, source, event_type, envelope, error, attempts, parked_at, resolved_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
     ON CONFLICT (consumer, event_id) DO UPDATE SET envelope = excluded.envelope, \
     error = excluded.error, attempts = excluded.attempts, parked_at = excluded.parked_at, \
     resolved_at = NULL";

pub(crate) async fn park(
    store: &Store,
    consumer: &str,
    source: &str,
    envelope: &Envelope,
    error: &str,
    attempts: u32,
) -> anyhow::Result<()> {
    sqlx::query(PARK_SQL)
        .bind(consumer)
        .bind(&envelope.id)
        .bind(source)
        .bind(&envelope.event_type)
        .bind(serde_json::to_string(envelope)?)
        .bind(truncate(error))
        .bind(i64::from(attempts))
        .bind(now_db())
        .execute(store.pool())
        .await?;
    Ok(())
}

pub(crate) async fn park_raw(
    store: &Store,
    consumer: &str,
    source: &str,
    raw: &Undecodable,
) -> anyhow::Result<()> {
    let id = raw
        .id
        .clone()
        .unwrap_or_else(|| format!("unreadable-{}", new_id()));
    sqlx::query(PARK_SQL)
        .bind(consumer)
        .bind(id)
        .bind(source)
        .bind("?")
        .bind(&raw.raw)
        .bind(truncate(&raw.error))
        .bind(1i64)
        .bind(now_db())
        .execute(store.pool())
        .await?;
    Ok(())
}

fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

const PARKED_COLUMNS: &str =
    "consumer, event_id, source, event_type, envelope, error, attempts, parked_at, resolved_at";

fn parked_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<ParkedEvent> {
    Ok(ParkedEvent {
        consumer: row.try_get("consumer")?,
        event_id: row.try_get("event_id")?,
        source: row.try_get("source")?,
        event_type: row.try_get("event_type")?,
        envelope: row.try_get("envelope")?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        parked_at: row.try_get("parked_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

/// Parked events of `consumer` (only unresolved ones unless
/// `include_resolved`), oldest first, at most `limit`.
pub async fn list_parked(
    store: &Store,
    consumer: &str,
    include_resolved: bool,
    limit: i64,
) -> sqlx::Result<Vec<ParkedEvent>> {
    let sql = format!(
        "SELECT {PARKED_COLUMNS} FROM parked_events WHERE consumer = $1{} \
         ORDER BY parked_at, event_id LIMIT $2",
        if include_resolved {
            ""
        } else {
            " AND resolved_at IS NULL"
        }
    );
    let rows = sqlx::query(&sql)
        .bind(consumer)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(parked_from_row).collect()
}

/// Parked event `event_id` of `consumer` still awaiting replay or discard.
pub(crate) async fn open_parked(
    store: &Store,
    consumer: &str,
    event_id: &str,
) -> sqlx::Result<Option<ParkedEvent>> {
    parked_where(store, consumer, event_id, " AND resolved_at IS NULL").await
}

/// Parked event `event_id` of `consumer`, resolved or not: what the admin
/// API shows before and after a replay or discard.
pub async fn find_parked(
    store: &Store,
    consumer: &str,
    event_id: &str,
) -> sqlx::Result<Option<ParkedEvent>> {
    parked_where(store, consumer, event_id, "").await
}

/// Parked event `event_id` of `consumer` if it also meets `and` (an SQL
/// condition starting with ` AND`, or nothing).
async fn parked_where(
    store: &Store,
    consumer: &str,
    event_id: &str,
    and: &str,
) -> sqlx::Result<Option<ParkedEvent>> {
    let sql = format!(
        "SELECT {PARKED_COLUMNS} FROM parked_events WHERE consumer = $1 AND event_id = $2{and}"
    );
    let row = sqlx::query(&sql)
        .bind(consumer)
        .bind(event_id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(parked_from_row).transpose()
}

/// Gives up on unresolved parked event `event_id` of `consumer` inside the
/// caller's transaction (so the audit entry commits with it): the row stays,
/// marked resolved without a replay, so it is never replayed. `false` when
/// there was no unresolved entry (already replayed or discarded). A replay
/// takes its event the same way, before its handler runs, so the row lock
/// (or SQLite's write lock) keeps a second replay or a discard out until it
/// commits or rolls back.
pub async fn discard_parked(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE parked_events SET resolved_at = $1 \
         WHERE consumer = $2 AND event_id = $3 AND resolved_at IS NULL",
    )
    .bind(now_db())
    .bind(consumer)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn record_replay_failure(
    store: &Store,
    consumer: &str,
    event_id: &str,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE parked_events SET error = $1, attempts = attempts + 1 \
         WHERE consumer = $2 AND event_id = $3",
    )
    .bind(truncate(error))
    .bind(consumer)
    .bind(event_id)
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// How many events `consumer` has handled (monitoring and tests).
pub async fn processed_count(store: &Store, consumer: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM processed_events WHERE consumer = $1")
        .bind(consumer)
        .fetch_one(store.pool())
        .await
}

/// Whether `consumer` has handled event `event_id`.
pub async fn is_processed(store: &Store, consumer: &str, event_id: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE consumer = $1 AND event_id = $2",
    )
    .bind(consumer)
    .bind(event_id)
    .fetch_one(store.pool())
    .await?;
    Ok(n > 0)
}

/// The events of `store`'s outbox not yet handed to the transport, and
/// the age in seconds of the oldest of them (0 when there are none).
pub async fn outbox_backlog(store: &Store) -> anyhow::Result<(i64, f64)> {
    let (pending, oldest): (i64, Option<String>) =
        sqlx::query_as("SELECT COUNT(*), MIN(occurred_at) FROM outbox WHERE published_at IS NULL")
            .fetch_one(store.pool())
            .await?;
    let age = match oldest {
        Some(at) => {
            let at = janta_platform::scalars::from_db_time(&at)?;
            (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        }
        None => 0.0,
    };
    Ok((pending, age))
}

/// Unresolved parked events per consumer of `store` (consumers without any
/// are absent).
pub async fn parked_counts(store: &Store) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT consumer, COUNT(*) FROM parked_events WHERE resolved_at IS NULL \
         GROUP BY consumer ORDER BY consumer",
    )
    .fetch_all(store.pool())
    .await
}
