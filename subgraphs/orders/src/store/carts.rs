//! Carts and checkout claims (idempotency of `placeOrder`).

use super::split_ids;
use crate::domain::CheckoutStatus;
use janta_platform::ids::new_id;
use janta_platform::scalars::{now_db, DateTime};
use janta_platform::store::Store;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

/// A customer's cart.
#[derive(Debug, Clone, FromRow)]
pub struct CartRow {
    pub id: String,
    pub customer_id: String,
}

/// A line of a cart: a catalog listing and a quantity (no price: prices
/// always come from catalog when needed).
#[derive(Debug, Clone, FromRow)]
pub struct CartLineRow {
    pub id: String,
    pub cart_id: String,
    pub listing_id: String,
    pub quantity: i64,
}

/// The customer's cart, created on first use.
pub async fn ensure_cart(conn: &mut AnyConnection, customer_id: &str) -> sqlx::Result<CartRow> {
    let now = now_db();
    sqlx::query(
        "INSERT INTO carts (id, customer_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (customer_id) DO NOTHING",
    )
    .bind(new_id())
    .bind(customer_id)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as("SELECT id, customer_id FROM carts WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_one(conn)
        .await
}

/// The customer's cart if they have one (no write).
pub async fn find_cart(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<Option<CartRow>> {
    sqlx::query_as("SELECT id, customer_id FROM carts WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(conn)
        .await
}

/// The lines of a cart, oldest first.
pub async fn cart_lines(conn: &mut AnyConnection, cart_id: &str) -> sqlx::Result<Vec<CartLineRow>> {
    sqlx::query_as(
        "SELECT id, cart_id, listing_id, quantity FROM cart_lines WHERE cart_id = $1 \
         ORDER BY added_at, id",
    )
    .bind(cart_id)
    .fetch_all(conn)
    .await
}

/// How many lines a cart holds.
pub async fn count_cart_lines(conn: &mut AnyConnection, cart_id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cart_lines WHERE cart_id = $1")
        .bind(cart_id)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Adds `quantity` units of a listing: a new line, or more on the existing
/// line as long as it stays within `max` (one atomic upsert). Returns false
/// when the line would exceed `max`.
pub async fn add_to_cart(
    conn: &mut AnyConnection,
    cart_id: &str,
    listing_id: &str,
    quantity: i64,
    max: i64,
) -> sqlx::Result<bool> {
    let now = now_db();
    let done = sqlx::query(
        "INSERT INTO cart_lines (id, cart_id, listing_id, quantity, added_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (cart_id, listing_id) DO UPDATE \
         SET quantity = cart_lines.quantity + excluded.quantity, updated_at = excluded.updated_at \
         WHERE cart_lines.quantity + excluded.quantity <= $6",
    )
    .bind(new_id())
    .bind(cart_id)
    .bind(listing_id)
    .bind(quantity)
    .bind(&now)
    .bind(max)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    touch_cart(conn, cart_id).await?;
    Ok(done == 1)
}

/// Sets a line's quantity; false when the line is not in this cart.
pub async fn set_cart_line_quantity(
    conn: &mut AnyConnection,
    cart_id: &str,
    line_id: &str,
    quantity: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE cart_lines SET quantity = $3, updated_at = $4 WHERE id = $1 AND cart_id = $2",
    )
    .bind(line_id)
    .bind(cart_id)
    .bind(quantity)
    .bind(now_db())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    touch_cart(conn, cart_id).await?;
    Ok(done == 1)
}

/// Removes a line; false when the line is not in this cart.
pub async fn remove_cart_line(
    conn: &mut AnyConnection,
    cart_id: &str,
    line_id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM cart_lines WHERE id = $1 AND cart_id = $2")
        .bind(line_id)
        .bind(cart_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    touch_cart(conn, cart_id).await?;
    Ok(done == 1)
}

/// Takes what was ordered out of the cart: `quantity` units off the line, or
/// the whole line when that is all it holds (units added meanwhile stay).
pub async fn take_from_cart(
    conn: &mut AnyConnection,
    line_id: &str,
    quantity: i64,
) -> sqlx::Result<()> {
    let deleted = sqlx::query("DELETE FROM cart_lines WHERE id = $1 AND quantity <= $2")
        .bind(line_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if deleted == 1 {
        return Ok(());
    }
    sqlx::query("UPDATE cart_lines SET quantity = quantity - $2, updated_at = $3 WHERE id = $1")
        .bind(line_id)
        .bind(quantity)
        .bind(now_db())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn touch_cart(conn: &mut AnyConnection, cart_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE carts SET updated_at = $2 WHERE id = $1")
        .bind(cart_id)
        .bind(now_db())
        .execute(conn)
        .await
        .map(|_| ())
}

/// A claimed checkout attempt.
#[derive(Debug, Clone)]
pub struct CheckoutRow {
    pub customer_id: String,
    pub idempotency_key: String,
    pub id: String,
    pub request_hash: String,
    pub status: CheckoutStatus,
    /// The order IDs (planned while in progress, placed when done).
    pub order_ids: Vec<String>,
    pub updated_at: DateTime,
}

impl FromRow<'_, AnyRow> for CheckoutRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(CheckoutRow {
            customer_id: row.try_get("customer_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            id: row.try_get("id")?,
            request_hash: row.try_get("request_hash")?,
            status: row.try_get("status")?,
            order_ids: split_ids(&row.try_get::<String, _>("order_ids")?),
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const IN_PROGRESS: CheckoutStatus = CheckoutStatus::InProgress;

/// Claims `(customer, key)` for a new attempt; false when someone holds it.
pub async fn claim_checkout(
    store: &Store,
    customer_id: &str,
    key: &str,
    id: &str,
    request_hash: &str,
) -> sqlx::Result<bool> {
    let now = now_db();
    let _turn = store.write_turn().await?;
    let done = sqlx::query(
        "INSERT INTO checkouts (customer_id, idempotency_key, id, request_hash, status, order_ids, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $6) ON CONFLICT (customer_id, idempotency_key) DO NOTHING",
    )
    .bind(customer_id)
    .bind(key)
    .bind(id)
    .bind(request_hash)
    .bind(IN_PROGRESS.as_db())
    .bind(&now)
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok(done == 1)
}

const CHECKOUT_COLUMNS: &str =
    "customer_id, idempotency_key, id, request_hash, status, order_ids, updated_at";

/// The attempt holding `(customer, key)`, if any.
pub async fn checkout(
    store: &Store,
    customer_id: &str,
    key: &str,
) -> sqlx::Result<Option<CheckoutRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE customer_id = $1 AND idempotency_key = $2"
    ))
    .bind(customer_id)
    .bind(key)
    .fetch_optional(store.pool())
    .await
}

/// Records the orders an in-progress attempt is about to reserve stock for,
/// so that an abandoned attempt's reservations can be released.
pub async fn plan_checkout(
    store: &Store,
    checkout_id: &str,
    order_ids: &[String],
) -> sqlx::Result<()> {
    let _turn = store.write_turn().await?;
    sqlx::query(
        "UPDATE checkouts SET order_ids = $2, updated_at = $3 WHERE id = $1 AND status = $4",
    )
    .bind(checkout_id)
    .bind(order_ids.join(","))
    .bind(now_db())
    .bind(IN_PROGRESS.as_db())
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// Marks an attempt done with its orders (in the orders' transaction).
pub async fn finish_checkout(
    conn: &mut AnyConnection,
    checkout_id: &str,
    order_ids: &[String],
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE checkouts SET status = $2, order_ids = $3, updated_at = $4 WHERE id = $1 AND status = $5",
    )
    .bind(checkout_id)
    .bind(CheckoutStatus::Done.as_db())
    .bind(order_ids.join(","))
    .bind(now_db())
    .bind(IN_PROGRESS.as_db())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Drops a failed (or abandoned) attempt so its key can be retried.
pub async fn drop_checkout(store: &Store, checkout_id: &str) -> sqlx::Result<()> {
    let _turn = store.write_turn().await?;
    sqlx::query("DELETE FROM checkouts WHERE id = $1 AND status = $2")
        .bind(checkout_id)
        .bind(IN_PROGRESS.as_db())
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// In-progress attempts not touched since `before` (their process died).
pub async fn stale_checkouts(store: &Store, before: DateTime) -> sqlx::Result<Vec<CheckoutRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE status = $1 AND updated_at < $2 \
         ORDER BY updated_at LIMIT 50"
    ))
    .bind(IN_PROGRESS.as_db())
    .bind(before)
    .fetch_all(store.pool())
    .await
}
