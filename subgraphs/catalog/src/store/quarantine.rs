//! Quarantine: packs kept apart from stock on hand and never sold again —
//! packs customers returned (approved returns; each return puts a listing's
//! packs here at most once) and the remaining packs of expired batches,
//! moved here by the expiry sweeper.

use super::stock::Movement;
use super::Sql;
use crate::domain::MovementKind;
use chrono::NaiveDate;
use janta_platform::ids::new_id;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::{Backend, Store};
use sqlx::{AnyConnection, FromRow};

/// Packs of one listing from one approved return.
pub struct Quarantined<'a> {
    pub listing_id: &'a str,
    pub return_id: &'a str,
    pub order_id: &'a str,
    pub quantity: i64,
    pub actor: &'a str,
}

/// Records the packs in quarantine and in the ledger (kind
/// `RETURNED_TO_QUARANTINE`, no batch: stock on hand does not change).
/// False when this return's packs of this listing were already recorded.
pub async fn quarantine(conn: &mut AnyConnection, q: &Quarantined<'_>) -> sqlx::Result<bool> {
    let known: Option<(String,)> =
        sqlx::query_as("SELECT id FROM quarantine WHERE return_id = $1 AND listing_id = $2")
            .bind(q.return_id)
            .bind(q.listing_id)
            .fetch_optional(&mut *conn)
            .await?;
    if known.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO quarantine (id, listing_id, return_id, order_id, quantity, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(q.listing_id)
    .bind(q.return_id)
    .bind(q.order_id)
    .bind(q.quantity)
    .bind(q.actor)
    .bind(DateTime::now())
    .execute(&mut *conn)
    .await?;
    Movement {
        listing_id: q.listing_id,
        batch_id: None,
        delta: q.quantity,
        kind: MovementKind::ReturnedToQuarantine,
        reason: Some("customer return"),
        reference: Some(q.order_id),
        actor: q.actor,
    }
    .insert(conn)
    .await?;
    Ok(true)
}

/// Packs in quarantine (returned and expired) per listing of
/// `listing_ids` (listings without any are left out), in one statement.
pub async fn quarantined(
    store: &Store,
    listing_ids: &[String],
) -> sqlx::Result<Vec<(String, i64)>> {
    if listing_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let returned = sql.arg_list(listing_ids);
    let expired = sql.arg_list(listing_ids);
    sql.push(&format!(
        "SELECT listing_id, CAST(SUM(quantity) AS BIGINT) FROM ( \
         SELECT listing_id, quantity FROM quarantine WHERE listing_id IN ({returned}) \
         UNION ALL SELECT listing_id, quantity FROM expired_quarantine WHERE listing_id IN ({expired}) \
         ) q GROUP BY listing_id"
    ));
    sql.query_as().fetch_all(store.pool()).await
}

/// Packs of an expired batch taken off stock on hand into quarantine.
#[derive(Debug, Clone, FromRow)]
pub struct ExpiredBatch {
    pub batch_id: String,
    pub listing_id: String,
    pub vendor_id: String,
    pub batch_number: String,
    pub expires_on: Date,
    /// Packs moved (those on hand not held by reservations).
    pub quantity: i64,
}

/// Whether some batch expired by `today` still has packs on hand that no
/// reservation holds (a cheap check before taking the write lock).
pub async fn any_expired(store: &Store, today: NaiveDate) -> sqlx::Result<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM batches WHERE expires_on <= $1 AND quantity - reserved > 0 LIMIT 1",
    )
    .bind(Date(today))
    .fetch_optional(store.pool())
    .await?;
    Ok(row.is_some())
}

/// Moves the unreserved packs of batches expired by `today` (at most
/// `limit` batches; on PostgreSQL skipping those another transaction holds)
/// off stock on hand into quarantine, in the caller's transaction: the
/// ledger records `EXPIRED_TO_QUARANTINE`. Held packs stay until their
/// reservation ends (a later sweep takes them if they come back). Returns
/// what was moved.
pub async fn quarantine_expired(
    conn: &mut AnyConnection,
    backend: Backend,
    today: NaiveDate,
    actor: &str,
    limit: i64,
) -> sqlx::Result<Vec<ExpiredBatch>> {
    let mut sql = Sql::new();
    let today = sql.arg_text(Date(today).to_db());
    let limit = sql.arg_int(limit);
    sql.push(&format!(
        "SELECT b.id AS batch_id, b.listing_id, l.vendor_id, b.batch_number, b.expires_on, \
         b.quantity - b.reserved AS quantity FROM batches b JOIN listings l ON l.id = b.listing_id \
         WHERE b.expires_on <= {today} AND b.quantity - b.reserved > 0 ORDER BY b.id LIMIT {limit}"
    ));
    if backend == Backend::Postgres {
        sql.push(" FOR UPDATE OF b SKIP LOCKED");
    }
    let due: Vec<ExpiredBatch> = sql.query_as().fetch_all(&mut *conn).await?;
    let mut moved = Vec::with_capacity(due.len());
    for batch in due {
        if take_off_hand(conn, &batch, actor).await? {
            moved.push(batch);
        }
    }
    Ok(moved)
}

/// Takes `batch.quantity` packs off the batch (only if still unreserved)
/// and records them in quarantine and the ledger. False when stock moved meanwhile.
async fn take_off_hand(
    conn: &mut AnyConnection,
    batch: &ExpiredBatch,
    actor: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE batches SET quantity = quantity - $2 WHERE id = $1 AND quantity - reserved >= $2",
    )
    .bind(&batch.batch_id)
    .bind(batch.quantity)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO expired_quarantine (id, listing_id, batch_id, batch_number, expires_on, quantity, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(&batch.listing_id)
    .bind(&batch.batch_id)
    .bind(&batch.batch_number)
    .bind(batch.expires_on)
    .bind(batch.quantity)
    .bind(actor)
    .bind(DateTime::now())
    .execute(&mut *conn)
    .await?;
    Movement {
        listing_id: &batch.listing_id,
        batch_id: Some(&batch.batch_id),
        delta: -batch.quantity,
        kind: MovementKind::ExpiredToQuarantine,
        reason: Some("expired"),
        reference: None,
        actor,
    }
    .insert(conn)
    .await?;
    Ok(true)
}
