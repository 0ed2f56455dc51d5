//! Orders, their lines and their status history.

use super::{split_ids, Insert, Owed};
use crate::domain::{
    AllocatedBatch, GstRate, PaymentMethod, RxAction, Schedule, Status, StockAction, Supply,
};
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::DateTime;
use janta_platform::store::{placeholders, Store};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

/// An order as stored, typed.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: String,
    pub checkout_id: String,
    pub customer_id: String,
    pub vendor_id: String,
    pub vendor_state: String,
    pub status: Status,
    pub payment_method: Option<PaymentMethod>,
    pub supply: Supply,
    pub currency: String,
    pub total: Paise,
    pub taxable_total: Paise,
    pub cgst_total: Paise,
    pub sgst_total: Paise,
    pub igst_total: Paise,
    pub address: AddressSnapshot,
    /// The prescriptions the customer offered for this order.
    pub prescription_ids: Vec<String>,
    pub cancellation_reason: Option<String>,
    pub placed_at: DateTime,
    pub payment_due_at: DateTime,
    pub updated_at: DateTime,
    pub version: i64,
    /// Calls still owed for the current status.
    pub owed: Owed,
}

/// The delivery address copied onto an order at checkout.
#[derive(Debug, Clone)]
pub struct AddressSnapshot {
    pub id: String,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub pincode: String,
}

impl OrderRow {
    /// All GST in the total.
    pub fn tax_total(&self) -> Paise {
        self.cgst_total + self.sgst_total + self.igst_total
    }
}

impl FromRow<'_, AnyRow> for OrderRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(OrderRow {
            id: row.try_get("id")?,
            checkout_id: row.try_get("checkout_id")?,
            customer_id: row.try_get("customer_id")?,
            vendor_id: row.try_get("vendor_id")?,
            vendor_state: row.try_get("vendor_state")?,
            status: row.try_get("status")?,
            payment_method: row.try_get("payment_method")?,
            supply: row.try_get("supply")?,
            currency: row.try_get("currency")?,
            total: row.try_get("total")?,
            taxable_total: row.try_get("taxable_total")?,
            cgst_total: row.try_get("cgst_total")?,
            sgst_total: row.try_get("sgst_total")?,
            igst_total: row.try_get("igst_total")?,
            address: AddressSnapshot {
                id: row.try_get("address_id")?,
                label: row.try_get("address_label")?,
                line1: row.try_get("address_line1")?,
                line2: row.try_get("address_line2")?,
                city: row.try_get("address_city")?,
                state: row.try_get("address_state")?,
                pincode: row.try_get("address_pincode")?,
            },
            prescription_ids: split_ids(&row.try_get::<String, _>("prescription_ids")?),
            cancellation_reason: row.try_get("cancellation_reason")?,
            placed_at: row.try_get("placed_at")?,
            payment_due_at: row.try_get("payment_due_at")?,
            updated_at: row.try_get("updated_at")?,
            version: row.try_get("version")?,
            owed: Owed {
                stock: row.try_get("stock_action")?,
                rx: row.try_get("rx_action")?,
            },
        })
    }
}

const ORDER_COLUMNS: &str = "id, checkout_id, customer_id, vendor_id, vendor_state, status, \
    payment_method, supply, currency, total, taxable_total, cgst_total, sgst_total, igst_total, \
    address_id, address_label, address_line1, address_line2, address_city, address_state, \
    address_pincode, prescription_ids, cancellation_reason, placed_at, payment_due_at, updated_at, \
    version, stock_action, rx_action";

/// An order line as stored, typed.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub id: String,
    pub order_id: String,
    pub position: i64,
    pub listing_id: String,
    pub medicine_id: String,
    pub medicine_version: i64,
    pub medicine_name: String,
    pub schedule: Schedule,
    pub hsn_code: String,
    pub gst_rate: GstRate,
    pub quantity: i64,
    pub unit_price: Paise,
    pub mrp: Paise,
    pub line_total: Paise,
    pub taxable_value: Paise,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
    pub prescription_id: Option<String>,
    /// The batches the units were allocated from.
    pub batches: Vec<AllocatedBatch>,
}

impl LineRow {
    /// All GST in the line total.
    pub fn tax_total(&self) -> Paise {
        self.cgst + self.sgst + self.igst
    }
}

impl FromRow<'_, AnyRow> for LineRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let bad = |column: &str, source: Box<dyn std::error::Error + Send + Sync>| {
            sqlx::Error::ColumnDecode {
                index: column.to_string(),
                source,
            }
        };
        let gst_rate = GstRate::from_basis_points(row.try_get("gst_rate_bp")?)
            .map_err(|e| bad("gst_rate_bp", e.into()))?;
        let batches = serde_json::from_str(&row.try_get::<String, _>("batches")?)
            .map_err(|e| bad("batches", e.into()))?;
        Ok(LineRow {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            position: row.try_get("position")?,
            listing_id: row.try_get("listing_id")?,
            medicine_id: row.try_get("medicine_id")?,
            medicine_version: row.try_get("medicine_version")?,
            medicine_name: row.try_get("medicine_name")?,
            schedule: row.try_get("schedule")?,
            hsn_code: row.try_get("hsn_code")?,
            gst_rate,
            quantity: row.try_get("quantity")?,
            unit_price: row.try_get("unit_price")?,
            mrp: row.try_get("mrp")?,
            line_total: row.try_get("line_total")?,
            taxable_value: row.try_get("taxable_value")?,
            cgst: row.try_get("cgst")?,
            sgst: row.try_get("sgst")?,
            igst: row.try_get("igst")?,
            prescription_id: row.try_get("prescription_id")?,
            batches,
        })
    }
}

const LINE_COLUMNS: &str = "id, order_id, position, listing_id, medicine_id, medicine_version, \
    medicine_name, schedule, hsn_code, gst_rate_bp, quantity, unit_price, mrp, line_total, \
    taxable_value, cgst, sgst, igst, prescription_id, batches";

/// One recorded transition.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub order_id: String,
    pub seq: i64,
    pub status: Status,
    pub actor: String,
    pub note: Option<String>,
    pub at: DateTime,
}

/// Inserts a new order (its lines and history separately, same
/// transaction): `PENDING_PAYMENT`, version 1, nothing owed yet.
pub async fn insert_order(conn: &mut AnyConnection, o: &OrderRow) -> sqlx::Result<()> {
    let a = &o.address;
    Insert::into("orders")
        .set("id", o.id.as_str())
        .set("checkout_id", o.checkout_id.as_str())
        .set("customer_id", o.customer_id.as_str())
        .set("vendor_id", o.vendor_id.as_str())
        .set("vendor_state", o.vendor_state.as_str())
        .set("status", o.status.as_db())
        .set("payment_method", o.payment_method.map(PaymentMethod::as_db))
        .set("supply", o.supply.as_db())
        .set("currency", o.currency.as_str())
        .set("total", o.total)
        .set("taxable_total", o.taxable_total)
        .set("cgst_total", o.cgst_total)
        .set("sgst_total", o.sgst_total)
        .set("igst_total", o.igst_total)
        .set("address_id", a.id.as_str())
        .set("address_label", a.label.as_deref())
        .set("address_line1", a.line1.as_str())
        .set("address_line2", a.line2.as_deref())
        .set("address_city", a.city.as_str())
        .set("address_state", a.state.as_str())
        .set("address_pincode", a.pincode.as_str())
        .set("prescription_ids", o.prescription_ids.join(","))
        .set("cancellation_reason", o.cancellation_reason.as_deref())
        .set("placed_at", o.placed_at)
        .set("payment_due_at", o.payment_due_at)
        .set("updated_at", o.updated_at)
        .set("version", o.version)
        .set("stock_action", o.owed.stock.map(StockAction::as_db))
        .set("rx_action", o.owed.rx.map(RxAction::as_db))
        .execute(conn)
        .await
}

/// Inserts an order line.
pub async fn insert_line(conn: &mut AnyConnection, l: &LineRow) -> sqlx::Result<()> {
    let batches = serde_json::to_string(&l.batches).map_err(|e| sqlx::Error::Encode(e.into()))?;
    Insert::into("order_lines")
        .set("id", l.id.as_str())
        .set("order_id", l.order_id.as_str())
        .set("position", l.position)
        .set("listing_id", l.listing_id.as_str())
        .set("medicine_id", l.medicine_id.as_str())
        .set("medicine_version", l.medicine_version)
        .set("medicine_name", l.medicine_name.as_str())
        .set("schedule", l.schedule.as_db())
        .set("hsn_code", l.hsn_code.as_str())
        .set("gst_rate_bp", l.gst_rate.basis_points())
        .set("quantity", l.quantity)
        .set("unit_price", l.unit_price)
        .set("mrp", l.mrp)
        .set("line_total", l.line_total)
        .set("taxable_value", l.taxable_value)
        .set("cgst", l.cgst)
        .set("sgst", l.sgst)
        .set("igst", l.igst)
        .set("prescription_id", l.prescription_id.as_deref())
        .set("batches", batches)
        .execute(conn)
        .await
}

/// Appends a transition to an order's history (next sequence number).
pub async fn record_status(
    conn: &mut AnyConnection,
    order_id: &str,
    status: Status,
    actor: &str,
    note: Option<&str>,
    at: DateTime,
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
    .bind(status.as_db())
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

/// The lines of one order inside a transaction, in position order.
pub async fn lines_of_order(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(&format!(
        "SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = $1 ORDER BY position"
    ))
    .bind(order_id)
    .fetch_all(conn)
    .await
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
    status: Option<Status>,
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
        count = count.bind(status.as_db());
    }
    let total = page.total(count.fetch_one(store.pool())).await?;
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
        query = query.bind(status.as_db());
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
    pub from: Status,
    /// New status.
    pub to: Status,
    /// Calls this change owes (each replaces the pending one of its kind).
    pub owed: Owed,
    /// Why it was cancelled.
    pub cancellation_reason: Option<&'a str>,
    /// The payment method, when this change settles it (cash on delivery).
    pub payment_method: Option<PaymentMethod>,
    /// When.
    pub at: DateTime,
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
    .bind(c.from.as_db())
    .bind(c.to.as_db())
    .bind(c.at)
    .bind(c.owed.stock.map(StockAction::as_db))
    .bind(c.owed.rx.map(RxAction::as_db))
    .bind(c.cancellation_reason)
    .bind(c.payment_method.map(PaymentMethod::as_db))
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
            .bind(Schedule::Otc.as_db())
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}
