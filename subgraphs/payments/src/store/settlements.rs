//! Commission rates and settlement statements.

use janta_platform::money::Paise;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::{Backend, Store};
use sqlx::{AnyConnection, FromRow};

/// A vendor's commission rate from a date on.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CommissionRow {
    pub vendor_id: String,
    pub effective_from: Date,
    pub rate_bps: i64,
    pub set_by: String,
    pub set_at: DateTime,
}

/// Adds a commission rate; false when the vendor already has one from that date.
pub async fn insert_commission(
    conn: &mut AnyConnection,
    row: &CommissionRow,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO vendor_commissions (vendor_id, effective_from, rate_bps, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (vendor_id, effective_from) DO NOTHING",
    )
    .bind(&row.vendor_id)
    .bind(row.effective_from)
    .bind(row.rate_bps)
    .bind(&row.set_by)
    .bind(row.set_at)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The rate in force for `vendor_id` on `day`, if any.
pub async fn commission_on(
    conn: &mut AnyConnection,
    vendor_id: &str,
    day: Date,
) -> sqlx::Result<Option<CommissionRow>> {
    sqlx::query_as(
        "SELECT vendor_id, effective_from, rate_bps, set_by, set_at FROM vendor_commissions \
         WHERE vendor_id = $1 AND effective_from <= $2 ORDER BY effective_from DESC LIMIT 1",
    )
    .bind(vendor_id)
    .bind(day)
    .fetch_optional(conn)
    .await
}

/// What a vendor's payments captured and refunded between two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodTotals {
    /// Payments that captured money in the period.
    pub payments: i64,
    /// Money they captured.
    pub captured: Paise,
    /// Money refunded in the period (on any of the vendor's payments).
    pub refunded: Paise,
    /// The GST inside `captured`.
    pub captured_tax: Paise,
    /// The GST inside `refunded`.
    pub refunded_tax: Paise,
}

/// The vendor's captures in `[from, until)` and refunds completed then.
pub async fn period_totals(
    conn: &mut AnyConnection,
    vendor_id: &str,
    from: DateTime,
    until: DateTime,
) -> sqlx::Result<PeriodTotals> {
    let (payments, captured, captured_tax): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(captured), 0) AS BIGINT), \
         CAST(COALESCE(SUM(tax), 0) AS BIGINT) FROM payments \
         WHERE vendor_id = $1 AND captured_at >= $2 AND captured_at < $3",
    )
    .bind(vendor_id)
    .bind(from)
    .bind(until)
    .fetch_one(&mut *conn)
    .await?;
    let (refunded, refunded_tax): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(r.amount), 0) AS BIGINT), CAST(COALESCE(SUM(r.tax), 0) AS BIGINT) \
         FROM refunds r \
         JOIN payments p ON p.id = r.payment_id \
         WHERE p.vendor_id = $1 AND r.status = 'SUCCEEDED' AND r.updated_at >= $2 AND r.updated_at < $3",
    )
    .bind(vendor_id)
    .bind(from)
    .bind(until)
    .fetch_one(conn)
    .await?;
    Ok(PeriodTotals {
        payments,
        captured: Paise(captured),
        refunded: Paise(refunded),
        captured_tax: Paise(captured_tax),
        refunded_tax: Paise(refunded_tax),
    })
}

/// An issued settlement statement.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SettlementRow {
    pub id: String,
    pub vendor_id: String,
    pub period_start: Date,
    pub period_end: Date,
    pub payments_count: i64,
    pub captured: Paise,
    pub refunded: Paise,
    /// The GST inside the period's net sales (captured − refunded).
    pub gst: Paise,
    pub commission_rate_bps: i64,
    pub commission: Paise,
    pub tcs_rate_bps: i64,
    pub tcs: Paise,
    pub tds_rate_bps: i64,
    pub tds: Paise,
    pub payout: Paise,
    pub issued_by: String,
    pub issued_at: DateTime,
}

const SETTLEMENT_COLUMNS: &str = "id, vendor_id, period_start, period_end, payments_count, \
    captured, refunded, commission_rate_bps, commission, tcs_rate_bps, tcs, tds_rate_bps, tds, \
    payout, issued_by, issued_at, gst";

/// Holds the vendor's settlements still until the transaction ends, so that
/// two admins issuing overlapping periods at once cannot both pass the
/// overlap check. SQLite's write transactions are serial already; on
/// PostgreSQL this takes a transaction-scoped advisory lock on the vendor.
pub async fn lock_vendor(
    conn: &mut AnyConnection,
    backend: Backend,
    vendor_id: &str,
) -> sqlx::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext('settlements:' || $1))) AS locked")
            .bind(vendor_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Whether the vendor has a statement covering any day of `[first, last]`.
pub async fn overlaps_issued(
    conn: &mut AnyConnection,
    vendor_id: &str,
    first: Date,
    last: Date,
) -> sqlx::Result<bool> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM settlements WHERE vendor_id = $1 AND period_start <= $3 AND period_end >= $2 LIMIT 1",
    )
    .bind(vendor_id)
    .bind(first)
    .bind(last)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Writes an issued statement (never changed afterwards: the table refuses).
pub async fn insert_settlement(conn: &mut AnyConnection, s: &SettlementRow) -> sqlx::Result<bool> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO settlements ({SETTLEMENT_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (vendor_id, period_start) DO NOTHING"
    ))
    .bind(&s.id)
    .bind(&s.vendor_id)
    .bind(s.period_start)
    .bind(s.period_end)
    .bind(s.payments_count)
    .bind(s.captured)
    .bind(s.refunded)
    .bind(s.commission_rate_bps)
    .bind(s.commission)
    .bind(s.tcs_rate_bps)
    .bind(s.tcs)
    .bind(s.tds_rate_bps)
    .bind(s.tds)
    .bind(s.payout)
    .bind(&s.issued_by)
    .bind(s.issued_at)
    .bind(s.gst)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// One statement by ID.
pub async fn settlement(store: &Store, id: &str) -> sqlx::Result<Option<SettlementRow>> {
    sqlx::query_as(&format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await
}

/// A page of the statements of `vendor_id` (all vendors' when `None`),
/// newest period first, and how many there are.
pub async fn settlements(
    store: &Store,
    vendor_id: Option<&str>,
    page: &PageRequest,
) -> sqlx::Result<(Vec<SettlementRow>, i64)> {
    let (after_start, after_id) = match &page.after {
        Some(cursor) => (Some(cursor.key.as_str()), Some(cursor.id.as_str())),
        None => (None, None),
    };
    let rows = sqlx::query_as(&format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements \
         WHERE ($1 IS NULL OR vendor_id = $1) \
         AND ($2 IS NULL OR period_start < $2 OR (period_start = $2 AND id < $3)) \
         ORDER BY period_start DESC, id DESC LIMIT $4"
    ))
    .bind(vendor_id)
    .bind(after_start)
    .bind(after_id)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let total = page
        .total(
            sqlx::query_as(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM settlements WHERE ($1 IS NULL OR vendor_id = $1)",
            )
            .bind(vendor_id)
            .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}
