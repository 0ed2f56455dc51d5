//! Returns of delivered lines and their review.

use super::Insert;
use crate::domain::returns::{ReturnReason, ReturnStatus};
use crate::domain::Status;
use janta_platform::money::Paise;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::DateTime;
use janta_platform::store::{placeholders, Store};
use sqlx::{AnyConnection, FromRow};
use std::collections::HashMap;

/// A return as stored, typed.
#[derive(Debug, Clone, FromRow)]
pub struct ReturnRow {
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    pub vendor_id: String,
    pub status: ReturnStatus,
    pub reason: ReturnReason,
    pub note: Option<String>,
    pub refund_total: Paise,
    pub requested_at: DateTime,
    pub reviewed_at: Option<DateTime>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
}

const RETURN_COLUMNS: &str = "id, order_id, customer_id, vendor_id, status, reason, note, \
    refund_total, requested_at, reviewed_at, reviewed_by, review_note";

/// One line of a return, as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ReturnLineRow {
    pub id: String,
    pub return_id: String,
    pub order_line_id: String,
    pub position: i64,
    pub listing_id: String,
    pub quantity: i64,
    pub refund: Paise,
    /// The GST inside `refund`.
    pub refund_tax: Paise,
}

const RETURN_LINE_COLUMNS: &str =
    "id, return_id, order_line_id, position, listing_id, quantity, refund, refund_tax";

/// Inserts a new return (its lines separately, same transaction).
pub async fn insert_return(conn: &mut AnyConnection, r: &ReturnRow) -> sqlx::Result<()> {
    Insert::into("order_returns")
        .set("id", r.id.as_str())
        .set("order_id", r.order_id.as_str())
        .set("customer_id", r.customer_id.as_str())
        .set("vendor_id", r.vendor_id.as_str())
        .set("status", r.status.as_db())
        .set("reason", r.reason.as_db())
        .set("note", r.note.as_deref())
        .set("refund_total", r.refund_total)
        .set("requested_at", r.requested_at)
        .set("reviewed_at", r.reviewed_at)
        .set("reviewed_by", r.reviewed_by.as_deref())
        .set("review_note", r.review_note.as_deref())
        .execute(conn)
        .await
}

/// Inserts a line of a return.
pub async fn insert_return_line(conn: &mut AnyConnection, l: &ReturnLineRow) -> sqlx::Result<()> {
    Insert::into("order_return_lines")
        .set("id", l.id.as_str())
        .set("return_id", l.return_id.as_str())
        .set("order_line_id", l.order_line_id.as_str())
        .set("position", l.position)
        .set("listing_id", l.listing_id.as_str())
        .set("quantity", l.quantity)
        .set("refund", l.refund)
        .set("refund_tax", l.refund_tax)
        .execute(conn)
        .await
}

/// Units per order line of an order in returns of the given statuses.
pub async fn units_in_returns(
    conn: &mut AnyConnection,
    order_id: &str,
    statuses: &[ReturnStatus],
) -> sqlx::Result<HashMap<String, i64>> {
    let sql = format!(
        "SELECT l.order_line_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_return_lines l \
         JOIN order_returns r ON r.id = l.return_id \
         WHERE r.order_id = $1 AND r.status IN ({}) GROUP BY l.order_line_id",
        placeholders(2, statuses.len())
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(order_id);
    for status in statuses {
        query = query.bind(status.as_db());
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// When the order was (last) delivered, if it was.
pub async fn delivered_at(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Option<DateTime>> {
    let row: Option<(DateTime,)> = sqlx::query_as(
        "SELECT at FROM order_status_history WHERE order_id = $1 AND status = $2 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(order_id)
    .bind(Status::Delivered.as_db())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(at,)| at))
}

/// Claims the order for a change by bumping its version if it is still
/// `version`: false when someone else changed it meanwhile (the loser of two
/// concurrent return requests).
pub async fn claim_order(conn: &mut AnyConnection, id: &str, version: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE orders SET version = version + 1 WHERE id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .execute(conn)
            .await?
            .rows_affected();
    Ok(done == 1)
}

/// One return, inside a transaction.
pub async fn return_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<ReturnRow>> {
    sqlx::query_as(&format!(
        "SELECT {RETURN_COLUMNS} FROM order_returns WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The lines of one return, inside a transaction.
pub async fn lines_of_return(
    conn: &mut AnyConnection,
    return_id: &str,
) -> sqlx::Result<Vec<ReturnLineRow>> {
    sqlx::query_as(&format!(
        "SELECT {RETURN_LINE_COLUMNS} FROM order_return_lines WHERE return_id = $1 \
         ORDER BY position"
    ))
    .bind(return_id)
    .fetch_all(conn)
    .await
}

/// The review of a return.
pub struct Review<'a> {
    pub id: &'a str,
    pub to: ReturnStatus,
    pub by: &'a str,
    pub note: &'a str,
    pub at: DateTime,
}

/// Records the review if the return is still `REQUESTED`; false when it
/// was already reviewed (the loser of two concurrent reviews).
pub async fn review_return(conn: &mut AnyConnection, r: &Review<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE order_returns SET status = $2, reviewed_at = $3, reviewed_by = $4, \
         review_note = $5 WHERE id = $1 AND status = $6",
    )
    .bind(r.id)
    .bind(r.to.as_db())
    .bind(r.at)
    .bind(r.by)
    .bind(r.note)
    .bind(ReturnStatus::Requested.as_db())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Many returns by ID in one statement.
pub async fn returns_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<ReturnRow>> {
    in_list(store, RETURN_COLUMNS, "order_returns", "id", ids, "id").await
}

/// The returns of many orders in one statement, oldest first.
pub async fn returns_of_orders(
    store: &Store,
    order_ids: &[String],
) -> sqlx::Result<Vec<ReturnRow>> {
    in_list(
        store,
        RETURN_COLUMNS,
        "order_returns",
        "order_id",
        order_ids,
        "requested_at, id",
    )
    .await
}

/// The lines of many returns in one statement, in position order.
pub async fn lines_of_returns(
    store: &Store,
    return_ids: &[String],
) -> sqlx::Result<Vec<ReturnLineRow>> {
    in_list(
        store,
        RETURN_LINE_COLUMNS,
        "order_return_lines",
        "return_id",
        return_ids,
        "return_id, position",
    )
    .await
}

async fn in_list<T>(
    store: &Store,
    columns: &str,
    table: &str,
    key: &str,
    ids: &[String],
    order_by: &str,
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE {key} IN ({}) ORDER BY {order_by}",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, T>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Whose returns a list shows.
pub enum ReturnOwner<'a> {
    /// A customer's own returns.
    Customer(&'a str),
    /// Returns of a vendor's orders.
    Vendor(&'a str),
    /// Every return (admins).
    All,
}

/// A page of returns, newest first, optionally of one status; plus the total count.
pub async fn list_returns(
    store: &Store,
    owner: ReturnOwner<'_>,
    status: Option<ReturnStatus>,
    page: &PageRequest,
) -> sqlx::Result<(Vec<ReturnRow>, i64)> {
    let mut filters = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    match owner {
        ReturnOwner::Customer(id) => {
            binds.push(id.to_string());
            filters.push(format!("customer_id = ${}", binds.len()));
        }
        ReturnOwner::Vendor(id) => {
            binds.push(id.to_string());
            filters.push(format!("vendor_id = ${}", binds.len()));
        }
        ReturnOwner::All => {}
    }
    if let Some(status) = status {
        binds.push(status.as_db().to_string());
        filters.push(format!("status = ${}", binds.len()));
    }
    let filter = if filters.is_empty() {
        "1 = 1".to_string()
    } else {
        filters.join(" AND ")
    };
    let count_sql = format!("SELECT COUNT(*) FROM order_returns WHERE {filter}");
    let mut count = sqlx::query_as::<_, (i64,)>(&count_sql);
    for b in &binds {
        count = count.bind(b.as_str());
    }
    let total = page.total(count.fetch_one(store.pool())).await?;
    let mut keyset = String::new();
    if let Some(cursor) = &page.after {
        let (k, i) = (binds.len() + 1, binds.len() + 2);
        binds.push(cursor.key.clone());
        binds.push(cursor.id.clone());
        keyset = format!(" AND (requested_at < ${k} OR (requested_at = ${k} AND id < ${i}))");
    }
    let sql = format!(
        "SELECT {RETURN_COLUMNS} FROM order_returns WHERE {filter}{keyset} \
         ORDER BY requested_at DESC, id DESC LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query_as::<_, ReturnRow>(&sql);
    for b in &binds {
        query = query.bind(b.as_str());
    }
    let rows = query
        .bind(page.fetch_limit())
        .fetch_all(store.pool())
        .await?;
    Ok((rows, total))
}
