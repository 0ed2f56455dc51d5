//! Quarantine: packs customers returned (approved returns), kept apart from
//! stock on hand and never sold again. Each return puts a listing's packs
//! here at most once.

use super::stock::Movement;
use crate::domain::MovementKind;
use janta_platform::ids::new_id;
use janta_platform::scalars::DateTime;
use janta_platform::store::{placeholders, Store};
use sqlx::AnyConnection;

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

/// Packs in quarantine per listing of `listing_ids` (listings without any
/// are left out), in one statement.
pub async fn quarantined(
    store: &Store,
    listing_ids: &[String],
) -> sqlx::Result<Vec<(String, i64)>> {
    if listing_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT listing_id, CAST(SUM(quantity) AS BIGINT) FROM quarantine \
         WHERE listing_id IN ({}) GROUP BY listing_id",
        placeholders(1, listing_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in listing_ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}
