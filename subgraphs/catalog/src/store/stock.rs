//! Stock: batches, the append-only movement ledger, and reservations.
//!
//! Counters change only through conditional updates (`… WHERE quantity -
//! reserved >= $n`), inside one transaction per operation. On PostgreSQL the
//! batches an operation touches are locked first (`FOR UPDATE`), always in
//! ascending batch ID order, and expiry claims reservations with `SKIP
//! LOCKED`, so concurrent operations queue instead of deadlocking; on SQLite
//! the write transaction (`BEGIN IMMEDIATE`) serialises writers.

use super::{listings_by_ids, medicines_by_ids, ListingRow, MedicineRow, ReadClock, Sql};
use crate::domain::{
    self, compliance, AvailableBatch, LineRequest, MovementKind, ReservationStatus, Schedule,
};
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::error::is_unique_violation;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::to_db_time;
use janta_platform::scalars::{Date, DateTime as At};
use janta_platform::store::{Backend, Store};
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};
use std::collections::{BTreeMap, HashMap};

/// A batch of a listing.
#[derive(Debug, Clone, FromRow)]
pub struct BatchRow {
    pub id: String,
    pub listing_id: String,
    pub batch_number: String,
    pub expires_on: Date,
    /// Units on hand (sold units have left).
    pub quantity: i64,
    /// Units on hand held by active reservations.
    pub reserved: i64,
    pub received_at: At,
    /// MRP printed on this batch's packs: none of them sells above it.
    pub mrp_paise: Paise,
}

impl BatchRow {
    /// Whether its units may be sold on `today` (it expires after today).
    pub fn sellable(&self, today: NaiveDate) -> bool {
        domain::is_sellable(self.expires_on.0, today)
    }

    fn unreserved(&self) -> i64 {
        self.quantity - self.reserved
    }
}

/// One entry of the stock ledger.
#[derive(Debug, Clone, FromRow)]
pub struct MovementRow {
    pub id: String,
    pub listing_id: String,
    pub batch_id: Option<String>,
    pub delta: i64,
    pub kind: MovementKind,
    pub reason: Option<String>,
    /// The order a sale or return belongs to.
    pub reference: Option<String>,
    pub actor: String,
    pub at: At,
}

/// A reservation header.
#[derive(Debug, Clone, FromRow)]
pub struct ReservationRow {
    pub order_id: String,
    pub status: ReservationStatus,
    pub expires_at: At,
    pub actor: String,
    pub created_at: At,
    pub updated_at: At,
}

/// A reserved line with the snapshot an order keeps.
#[derive(Debug, Clone, FromRow)]
pub struct ReservationItemRow {
    pub order_id: String,
    pub line_no: i64,
    pub listing_id: String,
    pub vendor_id: String,
    pub quantity: i64,
    pub unit_price_paise: Paise,
    pub mrp_paise: Paise,
    pub medicine_id: String,
    pub medicine_version: i64,
    pub medicine_name: String,
    pub generic_name: String,
    pub schedule: Schedule,
    pub hsn_code: String,
    pub gst_rate_bp: Option<i64>,
}

/// Units of one batch held for one reserved line.
#[derive(Debug, Clone, FromRow)]
pub struct AllocationRow {
    pub order_id: String,
    pub listing_id: String,
    pub batch_id: String,
    pub batch_number: String,
    pub expires_on: Date,
    pub quantity: i64,
    /// The batch's MRP (orders keep it on the line).
    pub mrp_paise: Paise,
}

/// A reservation with its lines and their batch allocations.
#[derive(Debug, Clone)]
pub struct ReservationView {
    pub reservation: ReservationRow,
    pub items: Vec<ReservationItemRow>,
    pub allocations: Vec<AllocationRow>,
}

impl ReservationView {
    /// Status as an enum.
    pub fn status(&self) -> ReservationStatus {
        self.reservation.status
    }

    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "status": self.reservation.status.as_db(),
            "expiresAt": to_db_time(self.reservation.expires_at.0),
            "lines": self.items.iter().map(|i| json!({"listingId": i.listing_id, "quantity": i.quantity})).collect::<Vec<_>>(),
            "batches": self.allocations.iter().map(|a| json!({"batchId": a.batch_id, "quantity": a.quantity})).collect::<Vec<_>>(),
        })
    }

    fn same_lines(&self, lines: &[LineRequest]) -> bool {
        let mut ours: Vec<(&str, i64)> = self
            .items
            .iter()
            .map(|i| (i.listing_id.as_str(), i.quantity))
            .collect();
        let mut theirs: Vec<(&str, i64)> = lines
            .iter()
            .map(|l| (l.listing_id.as_str(), l.quantity))
            .collect();
        ours.sort();
        theirs.sort();
        ours == theirs
    }
}

/// How an operation changed a listing's sellable stock (for `StockLow`).
#[derive(Debug, Clone)]
pub struct StockChange {
    pub listing_id: String,
    pub vendor_id: String,
    pub medicine_id: String,
    pub before: i64,
    pub after: i64,
}

const BATCH_COLUMNS: &str =
    "id, listing_id, batch_number, expires_on, quantity, reserved, received_at, mrp_paise";
const ALLOCATION_COLUMNS: &str =
    "order_id, listing_id, batch_id, batch_number, expires_on, quantity, mrp_paise";
const RESERVATION_COLUMNS: &str = "order_id, status, expires_at, actor, created_at, updated_at";

/// A listing's batches, soonest expiry first (expired ones included).
pub async fn batches_of(store: &Store, listing_id: &str) -> sqlx::Result<Vec<BatchRow>> {
    sqlx::query_as(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE listing_id = $1 ORDER BY expires_on, id"
    ))
    .bind(listing_id)
    .fetch_all(store.pool())
    .await
}

/// Reads (and on PostgreSQL locks, in ID order) every batch of the listings.
async fn lock_batches(
    conn: &mut AnyConnection,
    backend: Backend,
    listing_ids: &[String],
) -> sqlx::Result<Vec<BatchRow>> {
    if listing_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let list = sql.arg_list(listing_ids);
    sql.push(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE listing_id IN ({list}) ORDER BY id"
    ));
    if backend == Backend::Postgres {
        sql.push(" FOR UPDATE");
    }
    sql.query_as().fetch_all(conn).await
}

/// One entry of the stock ledger to append.
pub(super) struct Movement<'a> {
    pub(super) listing_id: &'a str,
    /// None for packs that are not in a batch on hand (quarantine).
    pub(super) batch_id: Option<&'a str>,
    pub(super) delta: i64,
    pub(super) kind: MovementKind,
    pub(super) reason: Option<&'a str>,
    /// The order of a sale or return.
    pub(super) reference: Option<&'a str>,
    pub(super) actor: &'a str,
}

impl Movement<'_> {
    pub(super) async fn insert(&self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO stock_movements (id, listing_id, batch_id, delta, kind, reason, reference, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(self.listing_id)
        .bind(self.batch_id)
        .bind(self.delta)
        .bind(self.kind)
        .bind(self.reason)
        .bind(self.reference)
        .bind(self.actor)
        .bind(At::now())
        .execute(conn)
        .await
        .map(|_| ())
    }
}

/// Packs received for a listing, as the store records them.
pub struct BatchReceipt<'a> {
    /// A fixed ID for demo data; otherwise a new one is made.
    pub id: Option<&'a str>,
    pub listing_id: &'a str,
    pub batch_number: &'a str,
    pub expires_on: NaiveDate,
    pub quantity: i64,
    /// The MRP printed on the packs; None: the batch's own when it is
    /// recorded already, else `default_mrp`.
    pub mrp: Option<Paise>,
    /// The listing's MRP, for a new batch received without one.
    pub default_mrp: Paise,
    pub actor: &'a str,
}

/// Records received stock: a new batch, or more units of a batch already
/// recorded with the same expiry and MRP (a different expiry or MRP is
/// `CONFLICT`).
pub async fn receive_batch(conn: &mut AnyConnection, r: &BatchReceipt<'_>) -> ApiResult<BatchRow> {
    let (listing_id, batch_number, quantity) = (r.listing_id, r.batch_number, r.quantity);
    let expires_on = Date(r.expires_on);
    let select =
        format!("SELECT {BATCH_COLUMNS} FROM batches WHERE listing_id = $1 AND batch_number = $2");
    let existing: Option<BatchRow> = sqlx::query_as(&select)
        .bind(listing_id)
        .bind(batch_number)
        .fetch_optional(&mut *conn)
        .await?;
    let batch_id = match existing {
        Some(b) if b.expires_on != expires_on => {
            return Err(ApiError::conflict(format!(
                "batch {batch_number} is already recorded with expiry {}",
                b.expires_on.to_db()
            )))
        }
        Some(b) if r.mrp.is_some_and(|m| m != b.mrp_paise) => {
            return Err(ApiError::conflict(format!(
                "batch {batch_number} is already recorded with MRP {}",
                janta_platform::money::Money::from(b.mrp_paise).amount
            )))
        }
        Some(b) => {
            sqlx::query("UPDATE batches SET quantity = quantity + $2 WHERE id = $1")
                .bind(&b.id)
                .bind(quantity)
                .execute(&mut *conn)
                .await?;
            b.id
        }
        None => insert_batch(conn, r, expires_on).await?,
    };
    let movement = Movement {
        listing_id,
        batch_id: Some(&batch_id),
        delta: quantity,
        kind: MovementKind::Received,
        reason: None,
        reference: None,
        actor: r.actor,
    };
    movement.insert(conn).await?;
    let batch = sqlx::query_as(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1"
    ))
    .bind(&batch_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(batch)
}

async fn insert_batch(
    conn: &mut AnyConnection,
    r: &BatchReceipt<'_>,
    expires_on: Date,
) -> ApiResult<String> {
    let id = r.id.map_or_else(new_id, str::to_string);
    let result = sqlx::query(
        "INSERT INTO batches (id, listing_id, batch_number, expires_on, quantity, reserved, received_at, mrp_paise) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(r.listing_id)
    .bind(r.batch_number)
    .bind(expires_on)
    .bind(r.quantity)
    .bind(0_i64)
    .bind(At::now())
    .bind(r.mrp.unwrap_or(r.default_mrp))
    .execute(&mut *conn)
    .await;
    match result {
        Err(e) if is_unique_violation(&e, "batches", "listing_id") => Err(ApiError::conflict(
            "this batch was recorded at the same moment; try again",
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(id),
    }
}

/// The lowest MRP among a listing's sellable batches (unexpired, packs on
/// hand), None without any: a new price may not exceed it.
pub async fn lowest_batch_mrp(
    conn: &mut AnyConnection,
    listing_id: &str,
    today: NaiveDate,
) -> sqlx::Result<Option<Paise>> {
    let ids = [listing_id.to_string()];
    Ok(lowest_batch_mrps(conn, &ids, today)
        .await?
        .remove(listing_id))
}

/// [`lowest_batch_mrp`] of many listings in one statement (a bulk import's
/// chunk), by listing; a listing without such a batch is absent.
pub async fn lowest_batch_mrps(
    conn: &mut AnyConnection,
    listing_ids: &[String],
    today: NaiveDate,
) -> sqlx::Result<HashMap<String, Paise>> {
    if listing_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new();
    let today = sql.arg_text(Date(today).to_db());
    let list = sql.arg_list(listing_ids);
    sql.push(&format!(
        "SELECT listing_id, CAST(MIN(mrp_paise) AS BIGINT) FROM batches \
         WHERE listing_id IN ({list}) AND quantity > 0 AND expires_on > {today} GROUP BY listing_id"
    ));
    let rows: Vec<(String, i64)> = sql.query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(id, mrp)| (id, Paise(mrp))).collect())
}

/// A new batch a bulk import records, with the ledger entry of its packs.
pub struct NewBatch<'a> {
    pub id: String,
    pub listing_id: &'a str,
    pub batch_number: &'a str,
    pub expires_on: NaiveDate,
    pub quantity: i64,
    pub mrp: Paise,
    pub actor: &'a str,
}

/// Batches per statement of [`insert_batches`] (9 bind values each).
const BATCHES_PER_STATEMENT: usize = 500;

/// Records new batches and their `RECEIVED` ledger entries, as
/// [`receive_batch`] records a new batch, in two statements per few hundred
/// (a bulk import's chunk). A batch recorded meanwhile fails the statement.
pub async fn insert_batches(
    conn: &mut AnyConnection,
    batches: &[NewBatch<'_>],
) -> sqlx::Result<()> {
    let at = to_db_time(chrono::Utc::now());
    for chunk in batches.chunks(BATCHES_PER_STATEMENT) {
        let mut sql = Sql::new();
        let received = sql.arg_text(at.clone());
        let rows: Vec<String> = chunk
            .iter()
            .map(|b| {
                let values = [
                    sql.arg_text(b.id.clone()),
                    sql.arg_text(b.listing_id),
                    sql.arg_text(b.batch_number),
                    sql.arg_text(Date(b.expires_on).to_db()),
                    sql.arg_int(b.quantity),
                    sql.arg_int(b.mrp.get()),
                ];
                format!("({}, 0, {received})", values.join(", "))
            })
            .collect();
        sql.push(&format!(
            "INSERT INTO batches (id, listing_id, batch_number, expires_on, quantity, mrp_paise, reserved, received_at) \
             VALUES {}",
            rows.join(", ")
        ));
        sql.query().execute(&mut *conn).await?;
        let mut sql = Sql::new();
        let (kind, when) = (
            sql.arg_text(MovementKind::Received.as_db()),
            sql.arg_text(at.clone()),
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|b| {
                let values = [
                    sql.arg_text(new_id()),
                    sql.arg_text(b.listing_id),
                    sql.arg_text(b.id.clone()),
                    sql.arg_int(b.quantity),
                    sql.arg_text(b.actor),
                ];
                format!("({}, {kind}, NULL, NULL, {when})", values.join(", "))
            })
            .collect();
        sql.push(&format!(
            "INSERT INTO stock_movements (id, listing_id, batch_id, delta, actor, kind, reason, reference, at) \
             VALUES {}",
            rows.join(", ")
        ));
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

fn sellable_stock(batches: &[BatchRow], listing_id: &str, today: NaiveDate) -> i64 {
    batches
        .iter()
        .filter(|b| b.listing_id == listing_id && b.sellable(today))
        .map(BatchRow::unreserved)
        .sum()
}

/// Corrects stock on hand (damage, loss, count corrections, write-offs of
/// expired stock). A positive delta needs a batch; a negative one without a
/// batch is taken from the soonest-expiring batches (expired first). Only
/// unreserved units can be removed (`CONFLICT` otherwise). Returns the
/// batches changed and how the sellable stock moved.
#[allow(clippy::too_many_arguments)]
pub async fn adjust_stock(
    conn: &mut AnyConnection,
    backend: Backend,
    listing: &ListingRow,
    batch_id: Option<&str>,
    delta: i64,
    reason: &str,
    actor: &str,
    today: NaiveDate,
) -> ApiResult<(Vec<(String, i64)>, StockChange)> {
    let batches = lock_batches(conn, backend, std::slice::from_ref(&listing.id)).await?;
    let before = sellable_stock(&batches, &listing.id, today);
    let mut plan: Vec<(String, i64)> = Vec::new();
    match batch_id {
        Some(id) => {
            let batch = batches
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(|| ApiError::not_found("batch"))?;
            if delta > 0 && !batch.sellable(today) {
                return Err(ApiError::bad_input(
                    "this batch has expired; expired stock can only be removed",
                ));
            }
            if delta < 0 && batch.unreserved() < -delta {
                return Err(ApiError::conflict(format!(
                    "batch {} has only {} units that are not reserved",
                    batch.batch_number,
                    batch.unreserved()
                )));
            }
            plan.push((batch.id.clone(), delta));
        }
        None if delta > 0 => {
            return Err(ApiError::bad_input(
                "batchId is required to add stock; new stock arrives with receiveBatch",
            ))
        }
        None => {
            let mut ordered: Vec<&BatchRow> =
                batches.iter().filter(|b| b.unreserved() > 0).collect();
            ordered.sort_by(|a, b| (&a.expires_on, &a.id).cmp(&(&b.expires_on, &b.id)));
            let available: i64 = ordered.iter().map(|b| b.unreserved()).sum();
            if available < -delta {
                return Err(ApiError::conflict(format!(
                    "only {available} units are not reserved"
                )));
            }
            let mut left = -delta;
            for b in ordered {
                if left == 0 {
                    break;
                }
                let take = left.min(b.unreserved());
                plan.push((b.id.clone(), -take));
                left -= take;
            }
        }
    }
    plan.sort();
    for (id, change) in &plan {
        let done = sqlx::query(
            "UPDATE batches SET quantity = quantity + $2 WHERE id = $1 AND quantity - reserved + $2 >= 0",
        )
        .bind(id)
        .bind(*change)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ApiError::conflict("stock changed meanwhile; try again"));
        }
        let movement = Movement {
            listing_id: &listing.id,
            batch_id: Some(id),
            delta: *change,
            kind: MovementKind::Adjusted,
            reason: Some(reason),
            reference: None,
            actor,
        };
        movement.insert(conn).await?;
    }
    let after = before
        + plan
            .iter()
            .filter(|(id, _)| batches.iter().any(|b| &b.id == id && b.sellable(today)))
            .map(|(_, c)| c)
            .sum::<i64>();
    Ok((
        plan,
        StockChange {
            listing_id: listing.id.clone(),
            vendor_id: listing.vendor_id.clone(),
            medicine_id: listing.medicine_id.clone(),
            before,
            after,
        },
    ))
}

/// A page of a listing's ledger, newest first.
pub async fn movements(
    store: &Store,
    listing_id: &str,
    page: &PageRequest,
) -> sqlx::Result<(Vec<MovementRow>, i64)> {
    let mut sql = Sql::new();
    let listing = sql.arg_text(listing_id);
    sql.push(&format!(
        "SELECT id, listing_id, batch_id, delta, kind, reason, reference, actor, at FROM stock_movements \
         WHERE listing_id = {listing}"
    ));
    if let Some(after) = &page.after {
        let id = sql.arg_text(after.id.clone());
        sql.push(&format!(" AND id < {id}"));
    }
    let limit = sql.arg_int(page.fetch_limit());
    sql.push(&format!(" ORDER BY id DESC LIMIT {limit}"));
    let rows = sql.query_as().fetch_all(store.pool()).await?;
    let total = page
        .total(
            sqlx::query_as("SELECT COUNT(*) FROM stock_movements WHERE listing_id = $1")
                .bind(listing_id)
                .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}

/// A reservation with its lines and allocations.
pub async fn reservation_view(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Option<ReservationView>> {
    let reservation: Option<ReservationRow> = sqlx::query_as(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(reservation) = reservation else {
        return Ok(None);
    };
    let items = sqlx::query_as(
        "SELECT order_id, line_no, listing_id, vendor_id, quantity, unit_price_paise, mrp_paise, medicine_id, \
         medicine_version, medicine_name, generic_name, schedule, hsn_code, gst_rate_bp \
         FROM reservation_items WHERE order_id = $1 ORDER BY line_no",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let allocations = sqlx::query_as(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM reservation_allocations WHERE order_id = $1 \
         ORDER BY expires_on, batch_id"
    ))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(ReservationView {
        reservation,
        items,
        allocations,
    }))
}

/// What `reserveStock` asks for.
pub struct ReserveRequest<'a> {
    /// The order (idempotency key).
    pub order_id: &'a str,
    /// Validated lines (see [`domain::check_reservation_lines`]).
    pub lines: &'a [LineRequest],
    /// The calling service principal.
    pub actor: &'a str,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Today's date in India.
    pub today: NaiveDate,
    /// How long the hold lasts.
    pub ttl: chrono::Duration,
    /// Platform minimum of shelf life left at sale, in days (listings may demand more).
    pub min_shelf_life_days: i64,
}

/// The result of a reservation request that did not fail.
pub enum ReserveOutcome {
    /// Units were held now.
    Reserved {
        view: ReservationView,
        changes: Vec<StockChange>,
    },
    /// The order already had this reservation (a retry); nothing changed.
    Existing(ReservationView),
}

/// `BAD_USER_INPUT` naming the lines of Schedule X medicines: they are
/// never sold online, whatever the vendor.
fn refuse_schedule_x(
    lines: &[LineRequest],
    listings: &HashMap<String, ListingRow>,
) -> ApiResult<()> {
    let refused: Vec<&str> = lines
        .iter()
        .filter_map(|l| listings.get(&l.listing_id))
        .filter(|l| l.schedule_x)
        .map(|l| l.id.as_str())
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(janta_platform::pharmacy::schedule_x_refusal(&refused))
}

/// `FORBIDDEN` naming the lines whose vendor does not sell now (not
/// verified, or suspended): checkout re-checks here, so a cart filled while
/// the vendor sold cannot buy once catalog learnt otherwise.
fn refuse_unsellable(
    lines: &[LineRequest],
    listings: &HashMap<String, ListingRow>,
) -> ApiResult<()> {
    let refused: Vec<&ListingRow> = lines
        .iter()
        .filter_map(|l| listings.get(&l.listing_id))
        .filter(|l| !l.sellable)
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let mut vendors: Vec<&str> = refused.iter().map(|l| l.vendor_id.as_str()).collect();
    vendors.sort();
    vendors.dedup();
    Err(
        ApiError::forbidden(domain::NOT_SELLING).with_details(json!({
            "listingIds": refused.iter().map(|l| &l.id).collect::<Vec<_>>(),
            "vendorIds": vendors,
        })),
    )
}

/// Holds stock for every line of an order, first expiry first out, or
/// nothing at all. Only batches with enough shelf life left after today
/// (the listing's, at least the platform minimum) and an MRP not below the
/// listing's price are allocated; others are skipped for the next one. A
/// short line is `OUT_OF_STOCK` with every short line in
/// `extensions.details.lines`, an unknown listing `NOT_FOUND`, a Schedule X
/// listing `BAD_USER_INPUT`, a listing of a vendor that does not sell
/// `FORBIDDEN`. A retry with
/// the same order and lines returns the existing reservation; different
/// lines are `CONFLICT`. The caller's transaction must be rolled back on error.
pub async fn reserve(
    conn: &mut AnyConnection,
    backend: Backend,
    req: ReserveRequest<'_>,
) -> ApiResult<ReserveOutcome> {
    let now = At(req.now);
    let expires_at = At(req.now + req.ttl);
    let claimed = sqlx::query(
        "INSERT INTO reservations (order_id, status, expires_at, actor, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(req.order_id)
    .bind(ReservationStatus::Active)
    .bind(expires_at)
    .bind(req.actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        let existing = reservation_view(conn, req.order_id)
            .await?
            .ok_or_else(|| ApiError::conflict("the reservation is being changed; try again"))?;
        if !existing.same_lines(req.lines) {
            return Err(ApiError::conflict(
                "this order already has a reservation with different lines",
            ));
        }
        return Ok(ReserveOutcome::Existing(existing));
    }

    let today = req.today;
    let clock = ReadClock {
        today,
        now: req.now,
    };
    let mut listing_ids: Vec<String> = req.lines.iter().map(|l| l.listing_id.clone()).collect();
    listing_ids.sort();
    let listings: HashMap<String, ListingRow> = listings_by_ids(&mut *conn, &listing_ids, &clock)
        .await?
        .into_iter()
        .map(|l| (l.id.clone(), l))
        .collect();
    let missing: Vec<&str> = req
        .lines
        .iter()
        .filter(|l| !listings.contains_key(&l.listing_id))
        .map(|l| l.listing_id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::not_found("listing").with_details(json!({ "listingIds": missing })));
    }
    refuse_schedule_x(req.lines, &listings)?;
    refuse_unsellable(req.lines, &listings)?;
    let medicine_ids: Vec<String> = {
        let mut ids: Vec<String> = listings.values().map(|l| l.medicine_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let medicines: HashMap<String, MedicineRow> = medicines_by_ids(&mut *conn, &medicine_ids)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let batches = lock_batches(conn, backend, &listing_ids).await?;
    let mut shortages = Vec::new();
    let mut holds: Vec<(usize, &BatchRow, i64)> = Vec::new();
    for (line_no, line) in req.lines.iter().enumerate() {
        let listing = &listings[&line.listing_id];
        let shelf_life =
            compliance::shelf_life_days(listing.min_shelf_life_days, req.min_shelf_life_days);
        let candidates: Vec<&BatchRow> = batches
            .iter()
            .filter(|b| b.listing_id == line.listing_id && b.sellable(today))
            .filter(|b| {
                compliance::allocatable(
                    b.expires_on.0,
                    b.mrp_paise,
                    listing.price_paise,
                    today,
                    shelf_life,
                )
            })
            .collect();
        let available: Vec<AvailableBatch> = candidates
            .iter()
            .map(|b| AvailableBatch {
                batch_id: b.id.clone(),
                expires_on: b.expires_on.to_db(),
                available: b.unreserved(),
            })
            .collect();
        let allocation = if listing.active {
            domain::allocate_fefo(&available, line.quantity)
        } else {
            Err(0)
        };
        match allocation {
            Ok(taken) => holds.extend(taken.into_iter().map(|(i, q)| (line_no, candidates[i], q))),
            Err(have) => shortages.push(json!({
                "listingId": line.listing_id, "requested": line.quantity, "available": have,
            })),
        }
    }
    if !shortages.is_empty() {
        let names: Vec<&str> = shortages
            .iter()
            .filter_map(|s| s["listingId"].as_str())
            .collect();
        return Err(ApiError::client(
            ErrorCode::OutOfStock,
            format!("not enough stock for listing {}", names.join(", ")),
        )
        .with_details(json!({ "lines": shortages })));
    }

    let mut ordered = holds.clone();
    ordered.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    for (_, batch, quantity) in &ordered {
        let done = sqlx::query(
            "UPDATE batches SET reserved = reserved + $2 WHERE id = $1 AND quantity - reserved >= $2",
        )
        .bind(&batch.id)
        .bind(*quantity)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ApiError::conflict("stock changed meanwhile; try again"));
        }
    }
    let mut changes = Vec::new();
    for (line_no, line) in req.lines.iter().enumerate() {
        let listing = &listings[&line.listing_id];
        let medicine = medicines
            .get(&listing.medicine_id)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("listing without medicine")))?;
        let reserved = ReservedLine {
            order_id: req.order_id,
            line_no: line_no as i64 + 1,
            quantity: line.quantity,
            listing,
            medicine,
        };
        reserved.insert(conn).await?;
        for (_, batch, quantity) in holds.iter().filter(|h| h.0 == line_no) {
            sqlx::query(&format!(
                "INSERT INTO reservation_allocations ({ALLOCATION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(req.order_id)
            .bind(&listing.id)
            .bind(&batch.id)
            .bind(&batch.batch_number)
            .bind(batch.expires_on)
            .bind(*quantity)
            .bind(batch.mrp_paise)
            .execute(&mut *conn)
            .await?;
        }
        let before = sellable_stock(&batches, &listing.id, today);
        changes.push(StockChange {
            listing_id: listing.id.clone(),
            vendor_id: listing.vendor_id.clone(),
            medicine_id: listing.medicine_id.clone(),
            before,
            after: before - line.quantity,
        });
    }
    let view = reservation_view(conn, req.order_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("reservation vanished")))?;
    Ok(ReserveOutcome::Reserved { view, changes })
}

/// A reserved line to store, with the snapshot of its listing and medicine
/// that the order keeps.
struct ReservedLine<'a> {
    order_id: &'a str,
    line_no: i64,
    quantity: i64,
    listing: &'a ListingRow,
    medicine: &'a MedicineRow,
}

impl ReservedLine<'_> {
    async fn insert(&self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        let (listing, medicine) = (self.listing, self.medicine);
        sqlx::query(
            "INSERT INTO reservation_items (order_id, line_no, listing_id, vendor_id, quantity, unit_price_paise, \
             mrp_paise, medicine_id, medicine_version, medicine_name, generic_name, schedule, hsn_code, gst_rate_bp) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(self.order_id)
        .bind(self.line_no)
        .bind(&listing.id)
        .bind(&listing.vendor_id)
        .bind(self.quantity)
        .bind(listing.price_paise)
        .bind(listing.mrp_paise)
        .bind(&medicine.id)
        .bind(medicine.version)
        .bind(&medicine.name)
        .bind(&medicine.generic_name)
        .bind(medicine.schedule)
        .bind(&medicine.hsn_code)
        .bind(medicine.gst_rate_bp)
        .execute(conn)
        .await
        .map(|_| ())
    }
}

/// The result of committing or releasing a reservation.
pub enum Settled {
    /// The change was made now.
    Done(ReservationView),
    /// It had been made before (a retry); nothing changed.
    AlreadyDone(ReservationView),
    /// The reservation had run out: it was expired now (commit the
    /// transaction, then tell the caller).
    ExpiredNow(ReservationView),
}

async fn locked_reservation(
    conn: &mut AnyConnection,
    backend: Backend,
    order_id: &str,
) -> ApiResult<ReservationView> {
    let mut sql = Sql::new();
    let id = sql.arg_text(order_id);
    sql.push(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE order_id = {id}"
    ));
    if backend == Backend::Postgres {
        sql.push(" FOR UPDATE");
    }
    let row: Option<ReservationRow> = sql.query_as().fetch_optional(&mut *conn).await?;
    if row.is_none() {
        return Err(ApiError::not_found("reservation for this order"));
    }
    reservation_view(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation for this order"))
}

async fn set_status(
    conn: &mut AnyConnection,
    order_id: &str,
    from: ReservationStatus,
    to: ReservationStatus,
) -> ApiResult<()> {
    let done = sqlx::query(
        "UPDATE reservations SET status = $3, updated_at = $4 WHERE order_id = $1 AND status = $2",
    )
    .bind(order_id)
    .bind(from)
    .bind(to)
    .bind(At::now())
    .execute(conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(
            "the reservation changed meanwhile; try again",
        ));
    }
    Ok(())
}

/// Per batch, in ascending ID order (the lock order), the units of `allocations`.
fn per_batch(allocations: &[AllocationRow]) -> BTreeMap<&str, (i64, &str)> {
    let mut totals: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for a in allocations {
        let entry = totals
            .entry(a.batch_id.as_str())
            .or_insert((0, a.listing_id.as_str()));
        entry.0 += a.quantity;
    }
    totals
}

async fn free_holds(conn: &mut AnyConnection, allocations: &[AllocationRow]) -> ApiResult<()> {
    for (batch_id, (quantity, _)) in per_batch(allocations) {
        let done = sqlx::query(
            "UPDATE batches SET reserved = reserved - $2 WHERE id = $1 AND reserved >= $2",
        )
        .bind(batch_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ApiError::internal(anyhow::anyhow!(
                "batch {batch_id} holds fewer units than its reservations"
            )));
        }
    }
    Ok(())
}

/// Turns an order's held units into a sale: they leave stock for good, and
/// the ledger records them as SOLD. Idempotent; an expired or released
/// reservation is `CONFLICT` (reserve again), a missing one `NOT_FOUND`.
pub async fn commit(
    conn: &mut AnyConnection,
    backend: Backend,
    order_id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<Settled> {
    let view = locked_reservation(conn, backend, order_id).await?;
    match view.status() {
        ReservationStatus::Committed => return Ok(Settled::AlreadyDone(view)),
        ReservationStatus::Released | ReservationStatus::Expired => {
            return Err(ApiError::conflict(format!(
                "the reservation was {}; reserve the stock again",
                view.reservation.status.as_db().to_lowercase()
            )))
        }
        ReservationStatus::Active => {}
    }
    if view.reservation.expires_at.0 <= now {
        set_status(
            conn,
            order_id,
            ReservationStatus::Active,
            ReservationStatus::Expired,
        )
        .await?;
        free_holds(conn, &view.allocations).await?;
        let view = reservation_view(conn, order_id).await?.unwrap_or(view);
        return Ok(Settled::ExpiredNow(view));
    }
    set_status(
        conn,
        order_id,
        ReservationStatus::Active,
        ReservationStatus::Committed,
    )
    .await?;
    for (batch_id, (quantity, listing_id)) in per_batch(&view.allocations) {
        let done = sqlx::query(
            "UPDATE batches SET quantity = quantity - $2, reserved = reserved - $2 \
             WHERE id = $1 AND reserved >= $2 AND quantity >= $2",
        )
        .bind(batch_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ApiError::internal(anyhow::anyhow!(
                "batch {batch_id} holds fewer units than its reservations"
            )));
        }
        let movement = Movement {
            listing_id,
            batch_id: Some(batch_id),
            delta: -quantity,
            kind: MovementKind::Sold,
            reason: None,
            reference: Some(order_id),
            actor,
        };
        movement.insert(conn).await?;
    }
    let view = reservation_view(conn, order_id).await?.unwrap_or(view);
    Ok(Settled::Done(view))
}

/// Gives an order's units back: held units are freed; units of a committed
/// reservation (an order cancelled after payment, before dispatch) return
/// to their batches and the ledger records them as RETURNED. Idempotent; a
/// missing reservation is `NOT_FOUND`.
pub async fn release(
    conn: &mut AnyConnection,
    backend: Backend,
    order_id: &str,
    actor: &str,
) -> ApiResult<Settled> {
    let view = locked_reservation(conn, backend, order_id).await?;
    match view.status() {
        ReservationStatus::Released | ReservationStatus::Expired => Ok(Settled::AlreadyDone(view)),
        ReservationStatus::Active => {
            set_status(
                conn,
                order_id,
                ReservationStatus::Active,
                ReservationStatus::Released,
            )
            .await?;
            free_holds(conn, &view.allocations).await?;
            let view = reservation_view(conn, order_id).await?.unwrap_or(view);
            Ok(Settled::Done(view))
        }
        ReservationStatus::Committed => {
            set_status(
                conn,
                order_id,
                ReservationStatus::Committed,
                ReservationStatus::Released,
            )
            .await?;
            for (batch_id, (quantity, listing_id)) in per_batch(&view.allocations) {
                sqlx::query("UPDATE batches SET quantity = quantity + $2 WHERE id = $1")
                    .bind(batch_id)
                    .bind(quantity)
                    .execute(&mut *conn)
                    .await?;
                let movement = Movement {
                    listing_id,
                    batch_id: Some(batch_id),
                    delta: quantity,
                    kind: MovementKind::Returned,
                    reason: Some("order cancelled"),
                    reference: Some(order_id),
                    actor,
                };
                movement.insert(conn).await?;
            }
            let view = reservation_view(conn, order_id).await?.unwrap_or(view);
            Ok(Settled::Done(view))
        }
    }
}

/// Whether some active reservation ran out by `now` (a cheap check before
/// taking the write lock to expire them).
pub async fn any_due(store: &Store, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let due: Option<(String,)> = sqlx::query_as(
        "SELECT order_id FROM reservations WHERE status = $1 AND expires_at <= $2 LIMIT 1",
    )
    .bind(ReservationStatus::Active)
    .bind(At(now))
    .fetch_optional(store.pool())
    .await?;
    Ok(due.is_some())
}

/// Expires reservations whose time ran out by `now` (at most `limit`;
/// on PostgreSQL skipping those another transaction holds), freeing their
/// units, in the caller's transaction. Returns the orders expired.
pub async fn expire_due(
    conn: &mut AnyConnection,
    backend: Backend,
    now: DateTime<Utc>,
    limit: i64,
) -> ApiResult<Vec<String>> {
    let mut sql = Sql::new();
    let status = sql.arg_text(ReservationStatus::Active.as_db());
    let at = sql.arg_text(to_db_time(now));
    let limit = sql.arg_int(limit);
    sql.push(&format!(
        "SELECT order_id FROM reservations WHERE status = {status} AND expires_at <= {at} \
         ORDER BY order_id LIMIT {limit}"
    ));
    if backend == Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    let due: Vec<(String,)> = sql.query_as().fetch_all(&mut *conn).await?;
    let mut expired = Vec::new();
    for (order_id,) in due {
        set_status(
            conn,
            &order_id,
            ReservationStatus::Active,
            ReservationStatus::Expired,
        )
        .await?;
        expired.push(order_id);
    }
    if expired.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let list = sql.arg_list(&expired);
    sql.push(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM reservation_allocations WHERE order_id IN ({list})"
    ));
    let allocations: Vec<AllocationRow> = sql.query_as().fetch_all(&mut *conn).await?;
    free_holds(conn, &allocations).await?;
    Ok(expired)
}

/// A batch with packs on hand that expires soon, with its listing's vendor.
#[derive(Debug, Clone, FromRow)]
pub struct ExpiringBatchRow {
    #[sqlx(flatten)]
    pub batch: BatchRow,
    pub vendor_id: String,
    pub medicine_id: String,
}

/// Most rows [`expiring_batches`] returns.
pub const MAX_EXPIRING_BATCHES: i64 = 500;

/// Batches with packs on hand that expire on or before `until` (expired
/// ones not swept yet included), of one vendor or of all, soonest first;
/// at most [`MAX_EXPIRING_BATCHES`].
pub async fn expiring_batches(
    store: &Store,
    vendor_id: Option<&str>,
    until: NaiveDate,
) -> sqlx::Result<Vec<ExpiringBatchRow>> {
    let mut sql = Sql::new();
    let until = sql.arg_text(Date(until).to_db());
    sql.push(&format!(
        "SELECT b.id, b.listing_id, b.batch_number, b.expires_on, b.quantity, b.reserved, b.received_at, \
         b.mrp_paise, l.vendor_id, l.medicine_id FROM batches b JOIN listings l ON l.id = b.listing_id \
         WHERE b.quantity > 0 AND b.expires_on <= {until}"
    ));
    if let Some(vendor) = vendor_id {
        let vendor = sql.arg_text(vendor);
        sql.push(&format!(" AND l.vendor_id = {vendor}"));
    }
    let limit = sql.arg_int(MAX_EXPIRING_BATCHES);
    sql.push(&format!(" ORDER BY b.expires_on, b.id LIMIT {limit}"));
    sql.query_as().fetch_all(store.pool()).await
}

/// The catalog's `/metrics` gauges: reservations holding stock, and the
/// units they hold.
pub const GAUGES: [janta_platform::metrics::CountQuery; 2] = [
    janta_platform::metrics::CountQuery {
        metric: "janta_catalog_reservations_outstanding",
        help: "Stock reservations holding units for an order (active: not yet committed, released or expired).",
        labels: &[],
        sql: "SELECT COUNT(*) FROM reservations WHERE status = 'ACTIVE'",
    },
    janta_platform::metrics::CountQuery {
        metric: "janta_catalog_reserved_units",
        help: "Units held by active stock reservations.",
        labels: &[],
        sql: "SELECT CAST(COALESCE(SUM(a.quantity), 0) AS BIGINT) FROM reservation_allocations a \
              JOIN reservations r ON r.order_id = a.order_id WHERE r.status = 'ACTIVE'",
    },
];
