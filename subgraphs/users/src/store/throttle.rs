//! SQL of attempt throttling: one row per key (SHA-256 of the key, so no
//! e-mail or address is stored in clear) in `attempt_throttle`.

use crate::domain::throttle::Counter;
use chrono::{DateTime, Utc};
use janta_platform::scalars::{from_db_time, to_db_time};
use janta_platform::ApiResult;
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct CounterRow {
    failures: i64,
    blocked_until: Option<String>,
    updated_at: String,
}

/// Locks the row of `key_hash` until the transaction ends, creating it
/// when new, and returns its count. Concurrent attempts on the same key
/// queue here (a row lock on PostgreSQL, the write lock on SQLite), so each
/// sees the count the one before it left.
pub async fn lock(
    conn: &mut AnyConnection,
    key_hash: &str,
    now: DateTime<Utc>,
) -> ApiResult<Counter> {
    let row: CounterRow = sqlx::query_as(
        "INSERT INTO attempt_throttle (key_hash, failures, blocked_until, updated_at) \
         VALUES ($1, 0, NULL, $2) \
         ON CONFLICT (key_hash) DO UPDATE SET failures = attempt_throttle.failures \
         RETURNING failures, blocked_until, updated_at",
    )
    .bind(key_hash)
    .bind(to_db_time(now))
    .fetch_one(conn)
    .await?;
    Ok(Counter {
        failures: row.failures,
        blocked_until: row.blocked_until.as_deref().map(from_db_time).transpose()?,
        updated_at: from_db_time(&row.updated_at)?,
    })
}

/// Writes the new count of `key_hash`.
pub async fn save(conn: &mut AnyConnection, key_hash: &str, counter: &Counter) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE attempt_throttle SET failures = $2, blocked_until = $3, updated_at = $4 \
         WHERE key_hash = $1",
    )
    .bind(key_hash)
    .bind(counter.failures)
    .bind(counter.blocked_until.map(to_db_time))
    .bind(to_db_time(counter.updated_at))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Forgets the count of `key_hash` (a subject's secret was right).
pub async fn forget(conn: &mut AnyConnection, key_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM attempt_throttle WHERE key_hash = $1")
        .bind(key_hash)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Gives back one counted attempt of `key_hash` (it succeeded).
pub async fn refund(conn: &mut AnyConnection, key_hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE attempt_throttle SET failures = failures - 1 WHERE key_hash = $1 AND failures > 0",
    )
    .bind(key_hash)
    .execute(conn)
    .await
    .map(|_| ())
}
