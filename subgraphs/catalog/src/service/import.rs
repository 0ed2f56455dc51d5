//! Bulk imports from CSV: the medicine master (admins) and a vendor's
//! listings and stock (its staff and partner apps). Every row is validated
//! first ([`crate::domain::import`]); good rows then go through the same
//! in-transaction use cases as the mutations that make each change by hand
//! ([`master::add_medicine`], [`master::add_version`],
//! [`listings::offer`], [`listings::receive`]), so versions, the audit trail
//! and events are exactly theirs. Rows are written in chunks of
//! [`CHUNK_ROWS`], one transaction each, each row inside a savepoint: a row
//! the database refuses is reported and undone alone.
//!
//! Re-running a file changes nothing: medicines are matched on their
//! natural key ([`domain::import::medicine_key`]), listings on (vendor,
//! medicine), batches on (listing, batch number), and a row whose values
//! are already there is counted as unchanged without writing. What the
//! import needs to know up front is read once, never per row.

use super::{listings, master};
use crate::domain::import::{
    BatchLine, CategoryRef, CsvTable, ListingLine, ListingTerms as Terms, MedicineLine,
    MedicineRef, Rejection, LISTING_COLUMNS, MEDICINE_COLUMNS,
};
use crate::domain::{self, Prices};
use crate::store::import::{self as bulk, ListingTerms, ReceivedBatch};
use crate::store::{self, CategoryRow, ListingChange, ListingRow, MedicineRow, ReadClock};
use crate::CatalogSettings;
use janta_platform::auth::PartnerScope;
use janta_platform::cause::Cause;
use janta_platform::store::{Store, Tx};
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};

/// Rows written per transaction.
pub const CHUNK_ROWS: usize = 500;

/// What an import did, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows in the file (the header and blank lines excluded).
    pub rows_read: usize,
    /// Rows that created a medicine or a listing.
    pub created: usize,
    /// Rows that changed one (a new medicine version, a listing's terms,
    /// a batch received).
    pub updated: usize,
    /// Rows whose values were all there already.
    pub unchanged: usize,
    /// Rows not imported, by line.
    pub rejected: Vec<Rejection>,
    /// Header names that are no column of the import (not read).
    pub ignored_columns: Vec<String>,
    /// Whether nothing was written (a rehearsal).
    pub dry_run: bool,
}

/// What one row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl ImportReport {
    fn new(table: &CsvTable, dry_run: bool) -> Self {
        ImportReport {
            rows_read: table.len(),
            ignored_columns: table.ignored.clone(),
            dry_run,
            ..ImportReport::default()
        }
    }

    fn reject(&mut self, line: i64, reason: impl Into<String>) {
        self.rejected.push(Rejection {
            line,
            reason: reason.into(),
        });
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    fn finish(mut self) -> Self {
        self.rejected.sort_by_key(|r| r.line);
        self
    }
}

/// The transaction rows are written in: committed every [`CHUNK_ROWS`]
/// rows, or for a dry run one transaction for the whole file, rolled back
/// at the end (so later rows see what earlier ones would have done).
struct Chunks<'s> {
    store: &'s Store,
    /// The open transaction (None only between a commit and the next begin).
    tx: Option<Tx>,
    rows: usize,
    dry_run: bool,
}

impl<'s> Chunks<'s> {
    async fn begin(store: &'s Store, dry_run: bool) -> ApiResult<Self> {
        Ok(Chunks {
            store,
            tx: Some(store.begin().await?),
            rows: 0,
            dry_run,
        })
    }

    /// The open transaction (one is open except inside [`Chunks::settle`]).
    fn tx(&mut self) -> ApiResult<&mut Tx> {
        self.tx
            .as_mut()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no import transaction is open")))
    }

    /// The connection of the current chunk, with a savepoint opened for one row.
    async fn row(&mut self) -> ApiResult<&mut AnyConnection> {
        let tx = self.tx()?;
        bulk::savepoint(tx).await?;
        Ok(tx)
    }

    /// Closes the row's savepoint: kept when it succeeded, undone when it
    /// was refused (the reason is returned). A fault of ours aborts the
    /// import (earlier chunks stay; re-running the file completes it).
    async fn settle<T>(&mut self, result: ApiResult<T>) -> ApiResult<Result<T, String>> {
        let settled = match result {
            Ok(value) => {
                bulk::release(self.tx()?).await?;
                Ok(value)
            }
            Err(e @ ApiError::Internal(_)) => return Err(e),
            Err(e) => {
                bulk::undo(self.tx()?).await?;
                Err(e.to_string())
            }
        };
        self.rows += 1;
        if !self.dry_run && self.rows.is_multiple_of(CHUNK_ROWS) {
            if let Some(done) = self.tx.take() {
                done.commit().await?;
            }
            self.tx = Some(self.store.begin().await?);
        }
        Ok(settled)
    }

    async fn finish(self) -> ApiResult<()> {
        match self.tx {
            Some(tx) if self.dry_run => tx.rollback().await?,
            Some(tx) => tx.commit().await?,
            None => {}
        }
        Ok(())
    }
}

// ---------- medicines ----------

/// The medicine master at its current versions, by ID and by natural key.
#[derive(Default)]
struct Master {
    rows: HashMap<String, MedicineRow>,
    keys: HashMap<String, String>,
}

impl Master {
    async fn load(store: &Store) -> ApiResult<Self> {
        let mut master = Master::default();
        for row in bulk::current_medicines(store).await? {
            master.insert(row);
        }
        Ok(master)
    }

    fn insert(&mut self, row: MedicineRow) {
        let f = &row;
        let key = domain::import::medicine_key(&f.name, &f.strength, f.form, &f.manufacturer);
        self.keys.insert(key, row.id.clone());
        self.rows.insert(row.id.clone(), row);
    }

    fn by_key(&self, key: &str) -> Option<&MedicineRow> {
        self.keys.get(key).and_then(|id| self.rows.get(id))
    }

    /// The medicine a listings row names, or why there is none.
    fn find(&self, medicine: &MedicineRef) -> Result<&MedicineRow, String> {
        match medicine {
            MedicineRef::Id(id) => self
                .rows
                .get(id)
                .ok_or_else(|| format!("medicine {id} is not in the master")),
            MedicineRef::Key(key) => self.by_key(key).ok_or_else(|| {
                "no medicine in the master has this name, strength, form and manufacturer"
                    .to_string()
            }),
        }
    }
}

/// Categories by ID and by name (case-insensitive).
struct Categories {
    ids: HashSet<String>,
    by_name: HashMap<String, String>,
}

impl Categories {
    fn new(rows: Vec<CategoryRow>) -> Self {
        let mut categories = Categories {
            ids: HashSet::new(),
            by_name: HashMap::new(),
        };
        for row in rows {
            categories.add(row);
        }
        categories
    }

    fn add(&mut self, row: CategoryRow) {
        self.by_name.insert(row.name.to_lowercase(), row.id.clone());
        self.ids.insert(row.id);
    }

    /// The ID of an existing category a row names (None: none yet, or an unknown ID).
    fn known(&self, category: &CategoryRef) -> Option<&String> {
        match category {
            CategoryRef::Id(id) => self.ids.get(id),
            CategoryRef::Name(name) => self.by_name.get(&name.to_lowercase()),
        }
    }

    /// Whether `line` says exactly what `current` holds (nothing to write).
    fn same(&self, current: &MedicineRow, line: &MedicineLine) -> bool {
        self.known(&line.category).is_some_and(|id| {
            let mut fields = line.fields.clone();
            fields.category_id.clone_from(id);
            fields == current.fields()
        })
    }
}

/// Imports the medicine master from `csv` (admins): each row creates a
/// medicine (version 1), publishes a new version of the one with the same
/// natural key when a field differs, or leaves it as it is. A category
/// named by a row that does not exist yet is created (audited); one named
/// by ID must exist. The whole file is BAD_USER_INPUT when it is too large
/// or its header lacks a column; anything wrong with a row is reported
/// with its line, and nothing of that row is written.
pub async fn import_medicines(
    store: &Store,
    csv: &str,
    dry_run: bool,
    cause: &Cause,
) -> ApiResult<ImportReport> {
    let table = CsvTable::parse(csv, &MEDICINE_COLUMNS)?;
    let mut report = ImportReport::new(&table, dry_run);
    let lines = medicine_lines(&table, &mut report);
    let mut master = Master::load(store).await?;
    let mut categories = Categories::new(store::all_categories(store).await?);
    let mut chunks = Chunks::begin(store, dry_run).await?;
    for line in lines {
        let number = line.line;
        let current = master.by_key(&line.key()).cloned();
        if current.as_ref().is_some_and(|c| categories.same(c, &line)) {
            report.count(Outcome::Unchanged);
            continue;
        }
        let conn = chunks.row().await?;
        let result = import_medicine(conn, store, line, current, &categories, cause).await;
        match chunks.settle(result).await? {
            Ok((outcome, row, category)) => {
                report.count(outcome);
                categories.extend(category);
                master.extend(row);
            }
            Err(reason) => report.reject(number, reason),
        }
    }
    chunks.finish().await?;
    Ok(report.finish())
}

impl Extend<CategoryRow> for Categories {
    fn extend<I: IntoIterator<Item = CategoryRow>>(&mut self, rows: I) {
        rows.into_iter().for_each(|row| self.add(row));
    }
}

impl Extend<MedicineRow> for Master {
    fn extend<I: IntoIterator<Item = MedicineRow>>(&mut self, rows: I) {
        rows.into_iter().for_each(|row| self.insert(row));
    }
}

/// The valid medicine rows of `table`; the others, and rows repeating an
/// earlier row's medicine, go to `report`.
fn medicine_lines(table: &CsvTable, report: &mut ImportReport) -> Vec<MedicineLine> {
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut lines = Vec::new();
    for row in table.rows() {
        let row = match row {
            Ok(row) => row,
            Err(rejection) => {
                report.rejected.push(rejection);
                continue;
            }
        };
        let line = match MedicineLine::parse(&row) {
            Ok(line) => line,
            Err(e) => {
                report.reject(row.line, e.to_string());
                continue;
            }
        };
        match seen.get(&line.key()) {
            Some(first) => report.reject(
                line.line,
                format!("the same medicine (name, strength, form, manufacturer) as line {first}"),
            ),
            None => {
                seen.insert(line.key(), line.line);
                lines.push(line);
            }
        }
    }
    lines
}

/// What one medicine row wrote: its outcome, the medicine as it now is
/// (None when unchanged) and the category it created, if any.
type MedicineWrite = (Outcome, Option<MedicineRow>, Option<CategoryRow>);

/// Writes one medicine row inside its savepoint.
async fn import_medicine(
    conn: &mut AnyConnection,
    store: &Store,
    line: MedicineLine,
    current: Option<MedicineRow>,
    categories: &Categories,
    cause: &Cause,
) -> ApiResult<MedicineWrite> {
    let mut fields = line.fields;
    let mut created = None;
    fields.category_id = match &line.category {
        CategoryRef::Id(id) if categories.ids.contains(id) => id.clone(),
        CategoryRef::Id(id) => {
            return Err(ApiError::bad_input(format!("category {id} does not exist")))
        }
        CategoryRef::Name(name) => match categories.by_name.get(&name.to_lowercase()) {
            Some(id) => id.clone(),
            None => {
                let row = master::add_category(conn, name, None, cause).await?;
                let id = row.id.clone();
                created = Some(row);
                id
            }
        },
    };
    let backend = store.backend();
    Ok(match current {
        None => {
            let row = master::add_medicine(conn, backend, &fields, cause).await?;
            (Outcome::Created, Some(row), created)
        }
        Some(current) if current.fields() == fields => (Outcome::Unchanged, None, created),
        Some(current) => {
            let row = master::add_version(conn, backend, &current, &fields, cause).await?;
            (Outcome::Updated, Some(row), created)
        }
    })
}

// ---------- listings and stock ----------

/// The listing columns (partner scope `listings:write`).
const TERM_COLUMNS: [&str; 4] = ["price", "mrp", "active", "min_shelf_life_days"];
/// The batch columns (partner scope `stock:write`).
const BATCH_COLUMNS: [&str; 4] = ["batch", "expiry", "quantity", "batch_mrp"];

/// A vendor's listings file, read and its header checked, so the caller
/// can be authorised for what it changes before anything is looked up.
pub struct ListingFile {
    table: CsvTable,
}

impl ListingFile {
    /// Reads `csv`: BAD_USER_INPUT when it is too large, names no medicine
    /// (`medicine_id`, or name, strength, form and manufacturer) or has
    /// neither listing nor batch columns.
    pub fn parse(csv: &str) -> ApiResult<Self> {
        let table = CsvTable::parse(csv, &LISTING_COLUMNS)?;
        let by_key = ["name", "strength", "form", "manufacturer"]
            .iter()
            .all(|c| table.has(c));
        if !table.has("medicine_id") && !by_key {
            return Err(ApiError::bad_input(
                "the CSV header needs medicine_id, or name, strength, form and manufacturer",
            ));
        }
        let file = ListingFile { table };
        if file.scopes().is_empty() {
            return Err(ApiError::bad_input(
                "the CSV has neither listing columns (price, mrp, active, min_shelf_life_days) \
                 nor batch columns (batch, expiry, quantity, batch_mrp)",
            ));
        }
        Ok(file)
    }

    /// What the file may change, as partner scopes: `listings:write` for
    /// listing columns, `stock:write` for batch columns.
    pub fn scopes(&self) -> Vec<PartnerScope> {
        let has_any = |columns: &[&str]| columns.iter().any(|c| self.table.has(c));
        let mut scopes = Vec::new();
        if has_any(&TERM_COLUMNS) {
            scopes.push(PartnerScope::ListingsWrite);
        }
        if has_any(&BATCH_COLUMNS) {
            scopes.push(PartnerScope::StockWrite);
        }
        scopes
    }
}

/// Imports `vendor_id`'s listings and stock from `file` (the caller acts
/// for the vendor): each row names a medicine of the master, sets its
/// listing's price and MRP (creating the listing, or changing it when they
/// differ) and may record a received batch. A batch already recorded is
/// never added again: the row is unchanged when it matches (expiry, MRP,
/// packs received) and refused when it does not. Rows are refused with
/// the rules of `upsertListing` and `receiveBatch`, and when they repeat a
/// batch or set the same listing differently within the file.
pub async fn import_listings(
    store: &Store,
    settings: &CatalogSettings,
    vendor_id: &str,
    file: &ListingFile,
    dry_run: bool,
    cause: &Cause,
) -> ApiResult<ImportReport> {
    let clock = ReadClock::now();
    let mut report = ImportReport::new(&file.table, dry_run);
    let lines = listing_lines(&file.table, settings, &clock, &mut report);
    let master = Master::load(store).await?;
    let mut stock = VendorStock::load(store, vendor_id).await?;
    let mut file_terms: HashMap<String, (i64, Terms)> = HashMap::new();
    let mut file_batches: HashMap<(String, String), i64> = HashMap::new();
    let mut chunks = Chunks::begin(store, dry_run).await?;
    for line in lines {
        let medicine = match master.find(&line.medicine) {
            Ok(medicine) => medicine,
            Err(reason) => {
                report.reject(line.line, reason);
                continue;
            }
        };
        if let Err(reason) =
            same_within_file(&line, &medicine.id, &mut file_terms, &mut file_batches)
        {
            report.reject(line.line, reason);
            continue;
        }
        if untouched(&line, &medicine.id, &stock) {
            report.count(Outcome::Unchanged);
            continue;
        }
        let conn = chunks.row().await?;
        let result = import_listing(conn, vendor_id, medicine, &line, &stock, &clock, cause).await;
        match chunks.settle(result).await? {
            Ok((outcome, listing, batch)) => {
                report.count(outcome);
                stock.record(listing, batch);
            }
            Err(reason) => report.reject(line.line, reason),
        }
    }
    chunks.finish().await?;
    Ok(report.finish())
}

/// The valid listing rows of `table`; the others go to `report`.
fn listing_lines(
    table: &CsvTable,
    settings: &CatalogSettings,
    clock: &ReadClock,
    report: &mut ImportReport,
) -> Vec<ListingLine> {
    let mut lines = Vec::new();
    for row in table.rows() {
        let parsed = match row {
            Ok(row) => ListingLine::parse(&row, settings.min_shelf_life_days, clock.today)
                .map_err(|e| (row.line, e.to_string())),
            Err(rejection) => Err((rejection.line, rejection.reason)),
        };
        match parsed {
            Ok(line) => lines.push(line),
            Err((line, reason)) => report.reject(line, reason),
        }
    }
    lines
}

/// Refuses a row that sets a listing differently from an earlier row of
/// the file, or repeats an earlier row's batch (either would make a second
/// run of the file change something again).
fn same_within_file(
    line: &ListingLine,
    medicine_id: &str,
    terms: &mut HashMap<String, (i64, Terms)>,
    batches: &mut HashMap<(String, String), i64>,
) -> Result<(), String> {
    let t = &line.terms;
    if t.prices.is_some() || t.active.is_some() || t.min_shelf_life_days.is_some() {
        match terms.get(medicine_id) {
            Some((first, earlier)) if earlier != t => {
                return Err(format!(
                    "line {first} sets this medicine's listing differently (price, mrp, active or min_shelf_life_days)"
                ))
            }
            Some(_) => {}
            None => {
                terms.insert(medicine_id.to_string(), (line.line, *t));
            }
        }
    }
    if let Some(batch) = &line.batch {
        let key = (medicine_id.to_string(), batch.number.clone());
        if let Some(first) = batches.get(&key) {
            return Err(format!(
                "batch {} of this medicine is on line {first} already",
                batch.number
            ));
        }
        batches.insert(key, line.line);
    }
    Ok(())
}

/// The vendor's listings (by medicine) and batches (by listing and batch
/// number) as they stand, kept up to date as rows are written.
struct VendorStock {
    listings: HashMap<String, ListingTerms>,
    batches: HashMap<(String, String), ReceivedBatch>,
}

impl VendorStock {
    async fn load(store: &Store, vendor_id: &str) -> ApiResult<Self> {
        let listings = bulk::vendor_listing_terms(store, vendor_id)
            .await?
            .into_iter()
            .map(|l| (l.medicine_id.clone(), l))
            .collect();
        let batches = bulk::vendor_batches(store, vendor_id)
            .await?
            .into_iter()
            .map(|b| ((b.listing_id.clone(), b.batch_number.clone()), b))
            .collect();
        Ok(VendorStock { listings, batches })
    }

    fn record(&mut self, listing: Option<ListingRow>, batch: Option<ReceivedBatch>) {
        if let Some(listing) = listing {
            let terms = ListingTerms::from(&listing);
            self.listings.insert(listing.medicine_id, terms);
        }
        if let Some(batch) = batch {
            let key = (batch.listing_id.clone(), batch.batch_number.clone());
            self.batches.insert(key, batch);
        }
    }
}

/// Whether a listings row would write nothing: its listing exists with
/// its terms, and its batch, if any, is recorded as it says.
fn untouched(line: &ListingLine, medicine_id: &str, stock: &VendorStock) -> bool {
    let Some(current) = stock.listings.get(medicine_id) else {
        return false;
    };
    let same_terms = matches!(listing_change(&line.terms, Some(current)), Ok(None));
    let same_batch = line.batch.as_ref().is_none_or(|b| {
        stock
            .batches
            .get(&(current.id.clone(), b.number.clone()))
            .is_some_and(|recorded| check_recorded_batch(recorded, b).is_ok())
    });
    same_terms && same_batch
}

/// What one listings row wrote: its outcome, the listing as it now is
/// (None when untouched) and the batch it recorded, if any.
type ListingWrite = (Outcome, Option<ListingRow>, Option<ReceivedBatch>);

/// Writes one listings row inside its savepoint.
async fn import_listing(
    conn: &mut AnyConnection,
    vendor_id: &str,
    medicine: &MedicineRow,
    line: &ListingLine,
    stock: &VendorStock,
    clock: &ReadClock,
    cause: &Cause,
) -> ApiResult<ListingWrite> {
    let current = stock.listings.get(&medicine.id);
    let mut outcome = Outcome::Unchanged;
    let mut listing = None;
    if let Some(change) = listing_change(&line.terms, current)? {
        let (before, after) =
            listings::offer(conn, vendor_id, medicine, change, clock, cause).await?;
        outcome = if before.is_none() {
            Outcome::Created
        } else {
            Outcome::Updated
        };
        listing = Some(after);
    }
    let Some(batch) = &line.batch else {
        return Ok((outcome, listing, None));
    };
    let listing_id = match (&listing, current) {
        (Some(row), _) => row.id.clone(),
        (None, Some(terms)) => terms.id.clone(),
        (None, None) => {
            return Err(ApiError::bad_input(
                "there is no listing of this medicine yet: give its price and mrp",
            ))
        }
    };
    if let Some(recorded) = stock
        .batches
        .get(&(listing_id.clone(), batch.number.clone()))
    {
        check_recorded_batch(recorded, batch)?;
        return Ok((outcome, listing, None));
    }
    let before = match listing {
        Some(row) => row,
        None => store::listing_by_id(conn, &listing_id, clock)
            .await?
            .ok_or_else(|| ApiError::not_found("listing"))?,
    };
    let receipt = listings::Receipt {
        listing_id: listing_id.clone(),
        batch_number: batch.number.clone(),
        expires_on: batch.expires_on,
        quantity: batch.quantity,
        mrp: batch.mrp,
    };
    let after = listings::receive(conn, &before, &receipt, clock, cause).await?;
    let recorded = ReceivedBatch {
        listing_id,
        batch_number: batch.number.clone(),
        expires_on: janta_platform::scalars::Date(batch.expires_on),
        mrp_paise: batch.mrp.unwrap_or(before.mrp_paise),
        received: batch.quantity,
    };
    if outcome == Outcome::Unchanged {
        outcome = Outcome::Updated;
    }
    Ok((outcome, Some(after), Some(recorded)))
}

/// The change a row makes to its listing (None: nothing to change). A new
/// listing needs a price and MRP; omitted terms keep the listing's.
fn listing_change(
    terms: &Terms,
    current: Option<&ListingTerms>,
) -> ApiResult<Option<ListingChange>> {
    let change = |prices: Prices| ListingChange {
        prices,
        active: terms.active,
        min_shelf_life_days: terms.min_shelf_life_days,
        expected_version: None,
    };
    let Some(current) = current else {
        return match terms.prices {
            Some(prices) => Ok(Some(change(prices))),
            None if terms.active.is_some() || terms.min_shelf_life_days.is_some() => {
                Err(ApiError::bad_input("a new listing needs its price and mrp"))
            }
            None => Ok(None),
        };
    };
    let prices = terms.prices.unwrap_or(Prices {
        price: current.price_paise,
        mrp: current.mrp_paise,
    });
    let same = prices.price == current.price_paise
        && prices.mrp == current.mrp_paise
        && terms.active.is_none_or(|a| a == current.active)
        && terms
            .min_shelf_life_days
            .is_none_or(|d| Some(d) == current.min_shelf_life_days);
    Ok((!same).then(|| change(prices)))
}

/// A row's batch that is recorded already: unchanged when it says what was
/// received, CONFLICT otherwise (an import never adds packs twice; stock
/// corrections go through `adjustStock`).
fn check_recorded_batch(recorded: &ReceivedBatch, batch: &BatchLine) -> ApiResult<()> {
    let number = &batch.number;
    if recorded.expires_on.0 != batch.expires_on {
        return Err(ApiError::conflict(format!(
            "batch {number} is already recorded with expiry {}",
            recorded.expires_on.to_db()
        )));
    }
    if batch.mrp.is_some_and(|m| m != recorded.mrp_paise) {
        return Err(ApiError::conflict(format!(
            "batch {number} is already recorded with MRP {}",
            janta_platform::money::Money::from(recorded.mrp_paise).amount
        )));
    }
    if recorded.received != batch.quantity {
        return Err(ApiError::conflict(format!(
            "batch {number} was already received with {} packs; an import never adds a batch twice \
             (correct stock with adjustStock)",
            recorded.received
        )));
    }
    Ok(())
}
