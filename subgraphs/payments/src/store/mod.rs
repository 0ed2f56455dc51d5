//! All SQL of the payments subgraph, in one place. Functions that take a
//! connection run inside the caller's transaction; the rest use the pool.
//!
//! Every change of a payment's status or amounts is one conditional
//! `UPDATE … WHERE status IN (…)` (and, for refunds, `captured - refunded >= $n`),
//! so concurrent webhooks, refunds and events can never apply twice or push
//! the sums past the capture; the caller learns from the affected row count
//! whether its change won.

use crate::domain::{PaymentEvent, PaymentMethod, PaymentStatus, RefundStatus};
use janta_platform::money::Paise;
use janta_platform::scalars::{now_db, DateTime};
use janta_platform::store::{fetch_in, Migrations};
use sqlx::{AnyConnection, AnyPool, FromRow};

pub mod personal_data;
pub mod sandbox;
pub mod settlements;

janta_platform::text_column!(PaymentStatus, PaymentMethod, RefundStatus);

/// The payments subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/payments/sqlite"),
        postgres: sqlx::migrate!("../../migrations/payments/postgres"),
    }
}

/// A payment as stored, typed.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PaymentRow {
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    pub vendor_id: String,
    pub method: PaymentMethod,
    pub gateway: String,
    pub gateway_payment_id: String,
    /// The gateway's ID of the charge that captured it (Razorpay's `pay_…`),
    /// when it differs from `gateway_payment_id`.
    pub gateway_charge_id: Option<String>,
    pub checkout_url: Option<String>,
    pub status: PaymentStatus,
    pub amount: Paise,
    /// The GST inside `amount`.
    pub tax: Paise,
    pub currency: String,
    pub captured: Paise,
    pub refunded: Paise,
    pub failure_reason: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl PaymentRow {
    /// The gateway's ID of the captured money, which refunds name.
    pub fn charge_id(&self) -> &str {
        self.gateway_charge_id
            .as_deref()
            .unwrap_or(&self.gateway_payment_id)
    }

    /// What is left to refund.
    pub fn refundable(&self) -> Paise {
        (self.captured - self.refunded).max(Paise::ZERO)
    }

    /// A compact view for audit entries.
    pub fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status.as_db(),
            "amount": self.amount,
            "captured": self.captured,
            "refunded": self.refunded,
            "method": self.method.as_db(),
            "failureReason": self.failure_reason,
        })
    }
}

const PAYMENT_COLUMNS: &str = "id, order_id, customer_id, vendor_id, method, gateway, \
    gateway_payment_id, gateway_charge_id, checkout_url, status, amount, tax, currency, captured, \
    refunded, failure_reason, created_at, updated_at";

/// A refund as stored, typed.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RefundRow {
    pub id: String,
    pub payment_id: String,
    pub amount: Paise,
    /// The GST inside `amount`.
    pub tax: Paise,
    pub reason: String,
    pub status: RefundStatus,
    pub idempotency_key: Option<String>,
    pub gateway_refund_id: Option<String>,
    pub requested_by: String,
    pub failure_reason: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

const REFUND_COLUMNS: &str = "id, payment_id, amount, tax, reason, status, idempotency_key, \
    gateway_refund_id, requested_by, failure_reason, created_at, updated_at";

/// A new payment to insert.
#[derive(Debug, Clone)]
pub struct NewPaymentRow<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub customer_id: &'a str,
    pub vendor_id: &'a str,
    pub method: PaymentMethod,
    pub gateway: &'a str,
    pub gateway_payment_id: &'a str,
    pub checkout_url: Option<&'a str>,
    pub amount: Paise,
    /// The GST inside `amount`.
    pub tax: Paise,
    pub currency: &'a str,
}

/// Inserts an open payment (status from its method). Returns false, having
/// written nothing, when the order already has an open payment (or the
/// gateway reference is taken): the caller returns the existing one.
pub async fn insert_payment(conn: &mut AnyConnection, p: &NewPaymentRow<'_>) -> sqlx::Result<bool> {
    let now = now_db();
    let result = sqlx::query(
        "INSERT INTO payments (id, order_id, customer_id, vendor_id, method, gateway, \
         gateway_payment_id, checkout_url, status, amount, tax, currency, captured, refunded, \
         open_order_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, $2, $13, $13) \
         ON CONFLICT DO NOTHING",
    )
    .bind(p.id)
    .bind(p.order_id)
    .bind(p.customer_id)
    .bind(p.vendor_id)
    .bind(p.method.as_db())
    .bind(p.gateway)
    .bind(p.gateway_payment_id)
    .bind(p.checkout_url)
    .bind(p.method.initial_status().as_db())
    .bind(p.amount)
    .bind(p.tax)
    .bind(p.currency)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// One payment by ID, inside a transaction.
pub async fn payment_in_tx(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// One payment by ID.
pub async fn payment(pool: &AnyPool, id: &str) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The payment a gateway knows as `gateway_payment_id` (its reference or
/// the charge that captured it), on the pool or inside a transaction.
pub async fn payment_by_gateway_ref<'e, E>(
    executor: E,
    gateway: &str,
    gateway_payment_id: &str,
) -> sqlx::Result<Option<PaymentRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments \
         WHERE gateway = $1 AND (gateway_payment_id = $2 OR gateway_charge_id = $2)"
    ))
    .bind(gateway)
    .bind(gateway_payment_id)
    .fetch_optional(executor)
    .await
}

/// Records the charge that captured payment `id` (first one wins).
pub async fn set_gateway_charge(
    conn: &mut AnyConnection,
    id: &str,
    charge_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payments SET gateway_charge_id = $2 WHERE id = $1 AND gateway_charge_id IS NULL",
    )
    .bind(id)
    .bind(charge_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Online payments still waiting for the gateway's word (`CREATED` or
/// `PENDING`) that were created before `before`, oldest first.
pub async fn open_online_payments(
    pool: &AnyPool,
    before: DateTime,
    limit: i64,
) -> sqlx::Result<Vec<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments \
         WHERE status IN ('CREATED', 'PENDING') AND method <> 'CASH_ON_DELIVERY' \
         AND created_at < $1 ORDER BY created_at LIMIT $2"
    ))
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The order's open (CREATED or PENDING) payment, if any.
pub async fn open_payment_for_order(
    pool: &AnyPool,
    order_id: &str,
) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE open_order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(pool)
    .await
}

/// Whether money was ever captured for the order.
pub async fn order_has_capture(pool: &AnyPool, order_id: &str) -> sqlx::Result<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM payments WHERE captured_order_id = $1")
            .bind(order_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.is_some())
}

/// Every payment of the order, oldest first.
pub async fn payments_of_order(pool: &AnyPool, order_id: &str) -> sqlx::Result<Vec<PaymentRow>> {
    payments_by_order_ids(pool, &[order_id.to_string()]).await
}

/// Payments by ID, in one statement (DataLoader batches).
pub async fn payments_by_ids(pool: &AnyPool, ids: &[String]) -> sqlx::Result<Vec<PaymentRow>> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id IN ({{ids}})");
    fetch_in(pool, &sql, ids).await
}

/// Payments of several orders, oldest first, in one statement.
pub async fn payments_by_order_ids(
    pool: &AnyPool,
    order_ids: &[String],
) -> sqlx::Result<Vec<PaymentRow>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id IN ({{ids}}) ORDER BY created_at, id"
    );
    fetch_in(pool, &sql, order_ids).await
}

/// Refunds of several payments, oldest first, in one statement.
pub async fn refunds_by_payment_ids(
    pool: &AnyPool,
    payment_ids: &[String],
) -> sqlx::Result<Vec<RefundRow>> {
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id IN ({{ids}}) ORDER BY created_at, id"
    );
    fetch_in(pool, &sql, payment_ids).await
}

/// Applies `event` to the payment if it is in one of the states the event
/// applies to; returns whether it did (false: already moved on, by a replay,
/// a concurrent duplicate or a later state). Captures set `captured` to the
/// amount and claim the order's one capture; leaving an open state frees the
/// order's open slot.
pub async fn apply_event(
    conn: &mut AnyConnection,
    payment_id: &str,
    event: PaymentEvent,
    failure_reason: Option<&str>,
) -> sqlx::Result<bool> {
    let transition = event.transition();
    let capture = matches!(event, PaymentEvent::Captured | PaymentEvent::CashCollected);
    let still_open = transition.to.is_open();
    let mut set =
        String::from("status = $1, updated_at = $2, failure_reason = COALESCE($3, failure_reason)");
    if capture {
        set.push_str(", captured = amount, captured_order_id = order_id, captured_at = $2");
    }
    if !still_open {
        set.push_str(", open_order_id = NULL");
    }
    let guard: Vec<String> = transition
        .from
        .iter()
        .map(|s| format!("'{}'", s.as_db()))
        .collect();
    let sql = format!(
        "UPDATE payments SET {set} WHERE id = $4 AND status IN ({})",
        guard.join(", ")
    );
    let result = sqlx::query(&sql)
        .bind(transition.to.as_db())
        .bind(now_db())
        .bind(failure_reason)
        .bind(payment_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Reserves `amount` of the payment's capture for a refund, if that much is
/// still refundable and the payment is captured; moves the status to
/// PARTIALLY_REFUNDED or REFUNDED. Returns whether the reservation won.
pub async fn reserve_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    amount: Paise,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE payments SET refunded = refunded + $1, \
         status = CASE WHEN refunded + $1 >= captured THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END, \
         updated_at = $2 \
         WHERE id = $3 AND status IN ('SUCCEEDED', 'PARTIALLY_REFUNDED') AND captured - refunded >= $1",
    )
    .bind(amount)
    .bind(now_db())
    .bind(payment_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives back a reservation whose refund the gateway refused.
pub async fn release_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    amount: Paise,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE payments SET refunded = refunded - $1, \
         status = CASE WHEN refunded - $1 <= 0 THEN 'SUCCEEDED' ELSE 'PARTIALLY_REFUNDED' END, \
         updated_at = $2 \
         WHERE id = $3 AND status IN ('PARTIALLY_REFUNDED', 'REFUNDED') AND refunded >= $1",
    )
    .bind(amount)
    .bind(now_db())
    .bind(payment_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A new refund to insert.
#[derive(Debug, Clone)]
pub struct NewRefundRow<'a> {
    pub id: &'a str,
    pub payment_id: &'a str,
    pub amount: Paise,
    /// The GST inside `amount`.
    pub tax: Paise,
    pub reason: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub requested_by: &'a str,
}

/// Inserts a PENDING refund. Returns false, having written nothing, when the
/// payment already has a refund with the same idempotency key.
pub async fn insert_refund(conn: &mut AnyConnection, r: &NewRefundRow<'_>) -> sqlx::Result<bool> {
    let now = now_db();
    let result = sqlx::query(
        "INSERT INTO refunds (id, payment_id, amount, tax, reason, status, idempotency_key, \
         requested_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7, $8, $8) ON CONFLICT DO NOTHING",
    )
    .bind(r.id)
    .bind(r.payment_id)
    .bind(r.amount)
    .bind(r.tax)
    .bind(r.reason)
    .bind(r.idempotency_key)
    .bind(r.requested_by)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The GST inside the payment's refunds that did not fail (done or still
/// reserved).
pub async fn tax_refunded(conn: &mut AnyConnection, payment_id: &str) -> sqlx::Result<Paise> {
    let (tax,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(tax), 0) AS BIGINT) FROM refunds \
         WHERE payment_id = $1 AND status <> 'FAILED'",
    )
    .bind(payment_id)
    .fetch_one(conn)
    .await?;
    Ok(Paise(tax))
}

/// The payment's refund with idempotency key `key`.
pub async fn refund_by_key(
    conn: &mut AnyConnection,
    payment_id: &str,
    key: &str,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND idempotency_key = $2"
    ))
    .bind(payment_id)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// One refund by ID.
pub async fn refund(pool: &AnyPool, id: &str) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One refund by ID, inside a transaction.
pub async fn refund_in_tx(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Settles a PENDING refund as SUCCEEDED or FAILED; returns whether this
/// call settled it (false: already settled by a replay or a concurrent call).
pub async fn settle_refund(
    conn: &mut AnyConnection,
    refund_id: &str,
    status: RefundStatus,
    gateway_refund_id: Option<&str>,
    failure_reason: Option<&str>,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE refunds SET status = $1, gateway_refund_id = COALESCE($2, gateway_refund_id), \
         failure_reason = $3, updated_at = $4 WHERE id = $5 AND status = 'PENDING'",
    )
    .bind(status.as_db())
    .bind(gateway_refund_id)
    .bind(failure_reason)
    .bind(now_db())
    .bind(refund_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Notes the gateway's ID of a refund still pending at the gateway.
pub async fn set_refund_gateway_id(
    conn: &mut AnyConnection,
    refund_id: &str,
    gateway_refund_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE refunds SET gateway_refund_id = $1 WHERE id = $2 AND status = 'PENDING'")
        .bind(gateway_refund_id)
        .bind(refund_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Every payment of the order, oldest first, inside a transaction.
pub async fn payments_of_order_in_tx(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Vec<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id = $1 ORDER BY created_at, id"
    ))
    .bind(order_id)
    .fetch_all(conn)
    .await
}

/// Refunds still PENDING with no gateway answer, created before `before`.
pub async fn stale_pending_refunds(
    pool: &AnyPool,
    before: &str,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM refunds WHERE status = 'PENDING' AND gateway_refund_id IS NULL \
         AND created_at < $1 ORDER BY created_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Records an authenticated webhook once per gateway event ID. Returns the
/// record's ID, or `None` when the event was seen before (a replay: the
/// caller changes nothing).
pub async fn record_webhook(
    conn: &mut AnyConnection,
    gateway: &str,
    event_id: &str,
    event_type: &str,
    gateway_payment_id: &str,
    payload: &str,
) -> sqlx::Result<Option<String>> {
    let id = janta_platform::ids::new_id();
    let result = sqlx::query(
        "INSERT INTO webhook_events (id, gateway, event_id, event_type, gateway_payment_id, \
         payload, outcome, received_at) VALUES ($1, $2, $3, $4, $5, $6, 'received', $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(gateway)
    .bind(event_id)
    .bind(event_type)
    .bind(gateway_payment_id)
    .bind(payload)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok((result.rows_affected() == 1).then_some(id))
}

/// Notes what a recorded webhook did.
pub async fn set_webhook_outcome(
    conn: &mut AnyConnection,
    record_id: &str,
    payment_id: Option<&str>,
    outcome: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE webhook_events SET outcome = $1, payment_id = $2 WHERE id = $3")
        .bind(outcome)
        .bind(payment_id)
        .bind(record_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Refunds of the order's payments still PENDING with no gateway answer.
pub async fn pending_refunds_of_order(pool: &AnyPool, order_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id \
         WHERE p.order_id = $1 AND r.status = 'PENDING' AND r.gateway_refund_id IS NULL \
         ORDER BY r.created_at, r.id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The payments `/metrics` gauge: payments by status.
pub const GAUGES: [janta_platform::metrics::CountQuery; 1] =
    [janta_platform::metrics::CountQuery {
        metric: "janta_payments",
        help: "Payments by status.",
        labels: &["status"],
        sql: "SELECT status, COUNT(*) FROM payments GROUP BY status ORDER BY status",
    }];
