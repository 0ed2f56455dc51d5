//! All SQL of the orders subgraph, in one place. Functions that take a
//! connection run inside the caller's transaction; the rest use the pool.
//! Status changes are conditional updates (`… WHERE status = $from`), so two
//! concurrent movers of one order cannot both win.

use janta_platform::ids::new_id;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::now_db;
use janta_platform::store::{placeholders, Migrations, Store};
use sqlx::{AnyConnection, FromRow};

/// The orders subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/orders/sqlite"),
        postgres: sqlx::migrate!("../../migrations/orders/postgres"),
    }
}

// ---------- carts ----------

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
    sqlx::query("DELETE FROM cart_lines WHERE id = $1 AND quantity <= $2")
        .bind(line_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
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

// ---------- checkouts (idempotency) ----------

/// A claimed checkout attempt.
#[derive(Debug, Clone, FromRow)]
pub struct CheckoutRow {
    pub customer_id: String,
    pub idempotency_key: String,
    pub id: String,
    pub request_hash: String,
    /// IN_PROGRESS or DONE.
    pub status: String,
    /// Comma-separated order IDs (planned while in progress, placed when done).
    pub order_ids: String,
    pub updated_at: String,
}

impl CheckoutRow {
    /// The order IDs recorded on the attempt.
    pub fn order_ids(&self) -> Vec<String> {
        split_ids(&self.order_ids)
    }
}

/// Checkout status while the saga runs.
pub const CHECKOUT_IN_PROGRESS: &str = "IN_PROGRESS";
/// Checkout status once its orders exist.
pub const CHECKOUT_DONE: &str = "DONE";

/// Claims `(customer, key)` for a new attempt; false when someone holds it.
pub async fn claim_checkout(
    store: &Store,
    customer_id: &str,
    key: &str,
    id: &str,
    request_hash: &str,
) -> sqlx::Result<bool> {
    let now = now_db();
    let done = sqlx::query(
        "INSERT INTO checkouts (customer_id, idempotency_key, id, request_hash, status, order_ids, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $6) ON CONFLICT (customer_id, idempotency_key) DO NOTHING",
    )
    .bind(customer_id)
    .bind(key)
    .bind(id)
    .bind(request_hash)
    .bind(CHECKOUT_IN_PROGRESS)
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
    sqlx::query(
        "UPDATE checkouts SET order_ids = $2, updated_at = $3 WHERE id = $1 AND status = $4",
    )
    .bind(checkout_id)
    .bind(order_ids.join(","))
    .bind(now_db())
    .bind(CHECKOUT_IN_PROGRESS)
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
    .bind(CHECKOUT_DONE)
    .bind(order_ids.join(","))
    .bind(now_db())
    .bind(CHECKOUT_IN_PROGRESS)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Drops a failed (or abandoned) attempt so its key can be retried.
pub async fn drop_checkout(store: &Store, checkout_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM checkouts WHERE id = $1 AND status = $2")
        .bind(checkout_id)
        .bind(CHECKOUT_IN_PROGRESS)
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// In-progress attempts not touched since `before` (their process died).
pub async fn stale_checkouts(store: &Store, before: &str) -> sqlx::Result<Vec<CheckoutRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHECKOUT_COLUMNS} FROM checkouts WHERE status = $1 AND updated_at < $2 \
         ORDER BY updated_at LIMIT 50"
    ))
    .bind(CHECKOUT_IN_PROGRESS)
    .bind(before)
    .fetch_all(store.pool())
    .await
}

// ---------- orders ----------

/// An order as stored.
#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: String,
    pub checkout_id: String,
    pub customer_id: String,
    pub vendor_id: String,
    pub vendor_state: String,
    pub status: String,
    pub payment_method: Option<String>,
    pub supply: String,
    pub currency: String,
    pub total: i64,
    pub taxable_total: i64,
    pub cgst_total: i64,
    pub sgst_total: i64,
    pub igst_total: i64,
    pub address_id: String,
    pub address_label: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub address_city: String,
    pub address_state: String,
    pub address_pincode: String,
    pub prescription_ids: String,
    pub cancellation_reason: Option<String>,
    pub placed_at: String,
    pub payment_due_at: String,
    pub updated_at: String,
    pub version: i64,
    pub stock_action: Option<String>,
    pub rx_action: Option<String>,
}

impl OrderRow {
    /// The prescriptions the customer offered for this order.
    pub fn prescription_ids(&self) -> Vec<String> {
        split_ids(&self.prescription_ids)
    }
}

const ORDER_COLUMNS: &str = "id, checkout_id, customer_id, vendor_id, vendor_state, status, \
    payment_method, supply, currency, total, taxable_total, cgst_total, sgst_total, igst_total, \
    address_id, address_label, address_line1, address_line2, address_city, address_state, \
    address_pincode, prescription_ids, cancellation_reason, placed_at, payment_due_at, updated_at, \
    version, stock_action, rx_action";

/// An order line as stored.
#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub id: String,
    pub order_id: String,
    pub position: i64,
    pub listing_id: String,
    pub medicine_id: String,
    pub medicine_version: i64,
    pub medicine_name: String,
    pub schedule: String,
    pub hsn_code: String,
    pub gst_rate_bp: i64,
    pub quantity: i64,
    pub unit_price: i64,
    pub mrp: i64,
    pub line_total: i64,
    pub taxable_value: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
    pub prescription_id: Option<String>,
    /// JSON array of `{batchNumber, expiresOn, quantity}`.
    pub batches: String,
}

const LINE_COLUMNS: &str = "id, order_id, position, listing_id, medicine_id, medicine_version, \
    medicine_name, schedule, hsn_code, gst_rate_bp, quantity, unit_price, mrp, line_total, \
    taxable_value, cgst, sgst, igst, prescription_id, batches";

/// One recorded transition.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub order_id: String,
    pub seq: i64,
    pub status: String,
    pub actor: String,
    pub note: Option<String>,
    pub at: String,
}

/// Inserts an order (its lines and history separately, same transaction).
pub async fn insert_order(conn: &mut AnyConnection, o: &OrderRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({})",
        placeholders(1, 29)
    ))
    .bind(&o.id)
    .bind(&o.checkout_id)
    .bind(&o.customer_id)
    .bind(&o.vendor_id)
    .bind(&o.vendor_state)
    .bind(&o.status)
    .bind(&o.payment_method)
    .bind(&o.supply)
    .bind(&o.currency)
    .bind(o.total)
    .bind(o.taxable_total)
    .bind(o.cgst_total)
    .bind(o.sgst_total)
    .bind(o.igst_total)
    .bind(&o.address_id)
    .bind(&o.address_label)
    .bind(&o.address_line1)
    .bind(&o.address_line2)
    .bind(&o.address_city)
    .bind(&o.address_state)
    .bind(&o.address_pincode)
    .bind(&o.prescription_ids)
    .bind(&o.cancellation_reason)
    .bind(&o.placed_at)
    .bind(&o.payment_due_at)
    .bind(&o.updated_at)
    .bind(o.version)
    .bind(&o.stock_action)
    .bind(&o.rx_action)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Inserts an order line.
pub async fn insert_line(conn: &mut AnyConnection, l: &LineRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO order_lines ({LINE_COLUMNS}) VALUES ({})",
        placeholders(1, 20)
    ))
    .bind(&l.id)
    .bind(&l.order_id)
    .bind(l.position)
    .bind(&l.listing_id)
    .bind(&l.medicine_id)
    .bind(l.medicine_version)
    .bind(&l.medicine_name)
    .bind(&l.schedule)
    .bind(&l.hsn_code)
    .bind(l.gst_rate_bp)
    .bind(l.quantity)
    .bind(l.unit_price)
    .bind(l.mrp)
    .bind(l.line_total)
    .bind(l.taxable_value)
    .bind(l.cgst)
    .bind(l.sgst)
    .bind(l.igst)
    .bind(&l.prescription_id)
    .bind(&l.batches)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Appends a transition to an order's history (next sequence number).
pub async fn record_status(
    conn: &mut AnyConnection,
    order_id: &str,
    status: &str,
    actor: &str,
    note: Option<&str>,
    at: &str,
) -> sqlx::Result<()> {
    let (seq,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM order_status_history WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO order_status_history (id, order_id, seq, status, actor, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(order_id)
    .bind(seq)
    .bind(status)
    .bind(actor)
    .bind(note)
    .bind(at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// One order, inside a transaction.
pub async fn order_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One order from the pool.
pub async fn find_order(store: &Store, id: &str) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ids: &'q [String],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for id in ids {
        query = query.bind(id);
    }
    query
}

/// Many orders in one statement (entity batches, DataLoader).
pub async fn orders_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<OrderRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    bind_all(sqlx::query_as(&sql), ids)
        .fetch_all(store.pool())
        .await
}

/// The lines of many orders in one statement, in order and position order.
pub async fn lines_of_orders(store: &Store, order_ids: &[String]) -> sqlx::Result<Vec<LineRow>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id IN ({}) ORDER BY order_id, position",
        placeholders(1, order_ids.len())
    );
    bind_all(sqlx::query_as(&sql), order_ids)
        .fetch_all(store.pool())
        .await
}

/// The history of many orders in one statement, oldest first.
pub async fn history_of_orders(
    store: &Store,
    order_ids: &[String],
) -> sqlx::Result<Vec<HistoryRow>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT order_id, seq, status, actor, note, at FROM order_status_history \
         WHERE order_id IN ({}) ORDER BY order_id, seq",
        placeholders(1, order_ids.len())
    );
    bind_all(sqlx::query_as(&sql), order_ids)
        .fetch_all(store.pool())
        .await
}

/// Whose orders a list shows.
pub enum OrderOwner<'a> {
    /// A customer's own orders.
    Customer(&'a str),
    /// A vendor's orders.
    Vendor(&'a str),
}

/// A page of orders, newest first, optionally of one status; plus the total count.
pub async fn list_orders(
    store: &Store,
    owner: OrderOwner<'_>,
    status: Option<&str>,
    page: &PageRequest,
) -> sqlx::Result<(Vec<OrderRow>, i64)> {
    let (column, owner_id) = match owner {
        OrderOwner::Customer(id) => ("customer_id", id),
        OrderOwner::Vendor(id) => ("vendor_id", id),
    };
    let mut filter = format!("{column} = $1");
    let mut next = 2;
    if status.is_some() {
        filter.push_str(" AND status = $2");
        next = 3;
    }
    let count_sql = format!("SELECT COUNT(*) FROM orders WHERE {filter}");
    let mut count = sqlx::query_as::<_, (i64,)>(&count_sql).bind(owner_id);
    if let Some(status) = status {
        count = count.bind(status);
    }
    let (total,) = count.fetch_one(store.pool()).await?;
    let keyset = if page.after.is_some() {
        let (k, i) = (next, next + 1);
        next += 2;
        format!(" AND (placed_at < ${k} OR (placed_at = ${k} AND id < ${i}))")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE {filter}{keyset} \
         ORDER BY placed_at DESC, id DESC LIMIT ${next}"
    );
    let mut query = sqlx::query_as::<_, OrderRow>(&sql).bind(owner_id);
    if let Some(status) = status {
        query = query.bind(status);
    }
    if let Some(cursor) = &page.after {
        query = query.bind(&cursor.key).bind(&cursor.id);
    }
    let rows = query
        .bind(page.fetch_limit())
        .fetch_all(store.pool())
        .await?;
    Ok((rows, total))
}

/// What a status change also sets.
pub struct StatusChange<'a> {
    /// The order.
    pub id: &'a str,
    /// Expected current status (the guard).
    pub from: &'a str,
    /// New status.
    pub to: &'a str,
    /// Calls to catalog still owed (replaces the pending one), if this
    /// change needs any.
    pub stock_action: Option<&'a str>,
    /// Calls to prescriptions still owed, if this change needs any.
    pub rx_action: Option<&'a str>,
    /// Why it was cancelled.
    pub cancellation_reason: Option<&'a str>,
    /// The payment method, when this change settles it (cash on delivery).
    pub payment_method: Option<&'a str>,
    /// When.
    pub at: &'a str,
}

/// Moves an order if it is still in `from`; false when it was not.
pub async fn change_status(conn: &mut AnyConnection, c: &StatusChange<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = $3, updated_at = $4, version = version + 1, \
         stock_action = COALESCE($5, stock_action), rx_action = COALESCE($6, rx_action), \
         cancellation_reason = COALESCE($7, cancellation_reason), \
         payment_method = COALESCE($8, payment_method) \
         WHERE id = $1 AND status = $2",
    )
    .bind(c.id)
    .bind(c.from)
    .bind(c.to)
    .bind(c.at)
    .bind(c.stock_action)
    .bind(c.rx_action)
    .bind(c.cancellation_reason)
    .bind(c.payment_method)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Whether any line of the order needed a prescription.
pub async fn order_needs_prescriptions(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM order_lines WHERE order_id = $1 AND schedule <> $2")
            .bind(id)
            .bind("OTC")
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

// ---------- follow-ups (calls owed to catalog and prescriptions) ----------

/// Takes the follow-up lease of an order until `until`, so one worker at a
/// time calls catalog and prescriptions for it, in order. False when held.
pub async fn lease_followup(store: &Store, id: &str, until: &str, now: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET followup_lease_until = $2 \
         WHERE id = $1 AND (followup_lease_until IS NULL OR followup_lease_until < $3)",
    )
    .bind(id)
    .bind(until)
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Gives the lease back, counting a failed attempt when `failed`.
pub async fn end_followup(store: &Store, id: &str, failed: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET followup_lease_until = NULL, \
         followup_attempts = CASE WHEN $2 = 1 THEN followup_attempts + 1 ELSE 0 END WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(failed))
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// The owed catalog and prescriptions actions of an order.
pub async fn pending_actions(
    store: &Store,
    id: &str,
) -> sqlx::Result<Option<(Option<String>, Option<String>)>> {
    sqlx::query_as("SELECT stock_action, rx_action FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await
}

/// Clears the owed catalog action if it is still `done` (a newer one stays).
pub async fn clear_stock_action(store: &Store, id: &str, done: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET stock_action = NULL WHERE id = $1 AND stock_action = $2")
        .bind(id)
        .bind(done)
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// Clears the owed prescriptions action if it is still `done`.
pub async fn clear_rx_action(store: &Store, id: &str, done: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET rx_action = NULL WHERE id = $1 AND rx_action = $2")
        .bind(id)
        .bind(done)
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// Orders that still owe calls and are not leased, oldest first.
pub async fn orders_owing_followups(store: &Store, now: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE (stock_action IS NOT NULL OR rx_action IS NOT NULL) \
         AND (followup_lease_until IS NULL OR followup_lease_until < $1) \
         ORDER BY updated_at LIMIT 100",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Unpaid online-payment orders whose payment window closed before `now`.
pub async fn expired_unpaid_orders(store: &Store, now: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE status = $1 AND payment_due_at < $2 \
         AND (payment_method IS NULL OR payment_method <> $3) ORDER BY payment_due_at LIMIT 100",
    )
    .bind("PENDING_PAYMENT")
    .bind(now)
    .bind("CASH_ON_DELIVERY")
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Cash-on-delivery orders still waiting for their confirmation to go through.
pub async fn unconfirmed_cash_orders(store: &Store) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE status = $1 AND payment_method = $2 ORDER BY placed_at LIMIT 100",
    )
    .bind("PENDING_PAYMENT")
    .bind("CASH_ON_DELIVERY")
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Orders already placed by a checkout attempt (for stale-attempt cleanup).
pub async fn orders_of_checkout(store: &Store, checkout_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM orders WHERE checkout_id = $1")
        .bind(checkout_id)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

fn split_ids(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
