//! Bulk imports from CSV: the medicine master (admins) and a vendor's
//! listings and stock (its staff and partner apps). Every row is validated
//! first ([`crate::domain::import`]); good rows are then written in chunks
//! of [`CHUNK_ROWS`], one transaction each, in a few statements for the
//! whole chunk instead of several per row.
//!
//! A chunk writes exactly what the mutations that make each change by
//! hand would write for its rows: medicines through the store write they
//! share ([`bulk::write_medicines`]: identities, versions, search index),
//! listings and batches with the rules of [`listings::offer`] and
//! [`listings::receive`] applied to each row in memory first, then the
//! audit entries ([`janta_platform::audit::record_all`]) and
//! `ListingPriceChanged` events. When the database refuses a chunk, it is
//! undone and replayed row by row through those use cases themselves
//! ([`master::add_medicine`], [`master::add_version`], [`listings::offer`],
//! [`listings::receive`]), each row inside a savepoint, so a refused row is
//! reported and undone alone.
//!
//! Re-running a file changes nothing: medicines are matched on their
//! natural key ([`domain::import::medicine_key`]), listings on (vendor,
//! medicine), batches on (listing, batch number), and a row whose values
//! are already there is counted as unchanged without writing. What the
//! import needs to know up front is read once, never per row; what a chunk
//! needs (the lowest batch MRPs of its listings, the listings it changes)
//! once per chunk.

use super::{listings, master};
use crate::domain::import::{
    BatchLine, CategoryRef, CsvTable, ListingLine, ListingTerms as Terms, MedicineLine,
    MedicineRef, Rejection, LISTING_COLUMNS, MEDICINE_COLUMNS,
};
use crate::domain::{self, compliance, Prices};
use crate::events::publish;
use crate::store::import::{self as bulk, ListingTerms, MedicineChange, ReceivedBatch, Span};
use crate::store::{self, CategoryRow, ListingChange, ListingRow, MedicineRow, ReadClock};
use crate::CatalogSettings;
use janta_platform::audit::AuditEntry;
use janta_platform::auth::PartnerScope;
use janta_platform::cause::Cause;
use janta_platform::money::Paise;
use janta_platform::store::{Backend, Store, Tx};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
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

/// The transaction rows are written in: committed after each chunk
/// ([`Chunks::next`]), or for a dry run one transaction for the whole file,
/// rolled back at the end (so later rows see what earlier ones would have
/// done). Inside it, savepoints mark a chunk written at once, or one row of
/// a chunk replayed row by row.
struct Chunks<'s> {
    store: &'s Store,
    /// The open transaction (None only between a commit and the next begin).
    tx: Option<Tx>,
    dry_run: bool,
}

impl<'s> Chunks<'s> {
    async fn begin(store: &'s Store, dry_run: bool) -> ApiResult<Self> {
        Ok(Chunks {
            store,
            tx: Some(store.begin().await?),
            dry_run,
        })
    }

    /// The open transaction (one is open except inside [`Chunks::next`]).
    fn tx(&mut self) -> ApiResult<&mut Tx> {
        self.tx
            .as_mut()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no import transaction is open")))
    }

    /// The connection of the current chunk, with a savepoint opened for a
    /// chunk or one row.
    async fn open(&mut self, span: Span) -> ApiResult<&mut AnyConnection> {
        let tx = self.tx()?;
        bulk::savepoint(tx, span).await?;
        Ok(tx)
    }

    /// Closes a chunk's savepoint: kept when its write succeeded, undone
    /// when it failed (the chunk is then replayed row by row).
    async fn close<T>(&mut self, result: ApiResult<T>) -> ApiResult<Option<T>> {
        match result {
            Ok(value) => {
                bulk::release(self.tx()?, Span::Chunk).await?;
                Ok(Some(value))
            }
            Err(err) => {
                // Slower, but says which rows; frequent replays are worth a look.
                tracing::warn!(error = %err, "import chunk refused; replaying it row by row");
                bulk::undo(self.tx()?, Span::Chunk).await?;
                Ok(None)
            }
        }
    }

    /// Closes a row's savepoint: kept when it succeeded, undone when it
    /// was refused (the reason is returned). A fault of ours aborts the
    /// import (earlier chunks stay; re-running the file completes it).
    async fn settle<T>(&mut self, result: ApiResult<T>) -> ApiResult<Result<T, String>> {
        match result {
            Ok(value) => {
                bulk::release(self.tx()?, Span::Row).await?;
                Ok(Ok(value))
            }
            Err(e @ ApiError::Internal(_)) => Err(e),
            Err(e) => {
                bulk::undo(self.tx()?, Span::Row).await?;
                Ok(Err(e.to_string()))
            }
        }
    }

    /// Ends a chunk: commits it and opens the next transaction (a dry run
    /// keeps its one transaction).
    async fn next(&mut self) -> ApiResult<()> {
        if self.dry_run {
            return Ok(());
        }
        if let Some(done) = self.tx.take() {
            done.commit().await?;
        }
        self.tx = Some(self.store.begin().await?);
        Ok(())
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

    /// Why a row's category cannot be used: an ID that names no category
    /// (a name that does not exist yet is created instead).
    fn missing(&self, category: &CategoryRef) -> Option<ApiError> {
        match category {
            CategoryRef::Id(id) if !self.ids.contains(id) => {
                Some(ApiError::bad_input(format!("category {id} does not exist")))
            }
            _ => None,
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
    let mut pending = Vec::new();
    for line in lines {
        let current = master.by_key(&line.key()).cloned();
        if current.as_ref().is_some_and(|c| categories.same(c, &line)) {
            report.count(Outcome::Unchanged);
            continue;
        }
        match categories.missing(&line.category) {
            Some(missing) => report.reject(line.line, missing.to_string()),
            None => pending.push((line, current)),
        }
    }
    let mut chunks = Chunks::begin(store, dry_run).await?;
    for chunk in pending.chunks(CHUNK_ROWS) {
        let conn = chunks.open(Span::Chunk).await?;
        let written = write_medicine_chunk(conn, store.backend(), chunk, &categories, cause).await;
        match chunks.close(written).await? {
            Some(written) => {
                report.created += written.created;
                report.updated += written.updated;
                categories.extend(written.categories);
                master.extend(written.medicines);
            }
            None => {
                let known = (&mut master, &mut categories);
                replay_medicines(&mut chunks, known, chunk, &mut report, cause).await?;
            }
        }
        chunks.next().await?;
    }
    chunks.finish().await?;
    Ok(report.finish())
}

/// What a chunk of medicine rows wrote: how many medicines it created and
/// updated, the categories it created and the medicines as they now are.
#[derive(Default)]
struct ChunkWritten {
    created: usize,
    updated: usize,
    categories: Vec<CategoryRow>,
    medicines: Vec<MedicineRow>,
}

/// Writes a chunk of medicine rows (validated, none unchanged, each
/// naming an existing category ID or a category name) at once, inside the
/// chunk's savepoint: the categories they name that do not exist yet
/// ([`master::add_category`]), then every medicine and version
/// ([`bulk::write_medicines`]) and their audit entries, each as
/// [`master::add_medicine`] or [`master::add_version`] would write it.
async fn write_medicine_chunk(
    conn: &mut AnyConnection,
    backend: Backend,
    chunk: &[(MedicineLine, Option<MedicineRow>)],
    categories: &Categories,
    cause: &Cause,
) -> ApiResult<ChunkWritten> {
    let mut written = ChunkWritten::default();
    let mut rows = Vec::with_capacity(chunk.len());
    for (line, current) in chunk {
        let mut fields = line.fields.clone();
        fields.category_id = match categories.known(&line.category) {
            Some(id) => id.clone(),
            None => created_category(conn, &line.category, &mut written.categories, cause).await?,
        };
        let id = current
            .as_ref()
            .map_or_else(janta_platform::ids::new_id, |c| c.id.clone());
        rows.push((id, current, fields));
    }
    let changes: Vec<MedicineChange<'_>> = rows
        .iter()
        .map(|(id, current, fields)| MedicineChange {
            id,
            from_version: current.as_ref().map(|c| c.version),
            fields,
        })
        .collect();
    bulk::write_medicines(conn, backend, &changes, cause.actor()).await?;
    let ids: Vec<String> = rows.iter().map(|(id, _, _)| id.clone()).collect();
    let after: HashMap<String, MedicineRow> = store::medicines_by_ids(&mut *conn, &ids)
        .await?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    let mut entries = Vec::with_capacity(rows.len());
    for (id, current, _) in &rows {
        let row = after
            .get(id)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("medicine {id} not written")))?;
        let (action, before) = match current {
            None => ("created", None),
            Some(current) => ("new_version", Some(current.to_json())),
        };
        if current.is_none() {
            written.created += 1;
        } else {
            written.updated += 1;
        }
        entries.push(AuditEntry {
            actor: cause.actor(),
            entity_type: "medicine",
            entity_id: id,
            action,
            before,
            after: Some(row.to_json()),
        });
    }
    janta_platform::audit::record_all(conn, &entries).await?;
    written.medicines = after.into_values().collect();
    Ok(written)
}

/// The ID of the category `category` names that an earlier row of the
/// chunk created, or of one created now (audited) and added to `created`.
async fn created_category(
    conn: &mut AnyConnection,
    category: &CategoryRef,
    created: &mut Vec<CategoryRow>,
    cause: &Cause,
) -> ApiResult<String> {
    let CategoryRef::Name(name) = category else {
        return Err(ApiError::not_found("category"));
    };
    let lower = name.to_lowercase();
    if let Some(row) = created.iter().find(|c| c.name.to_lowercase() == lower) {
        return Ok(row.id.clone());
    }
    let row = master::add_category(conn, name, None, cause).await?;
    let id = row.id.clone();
    created.push(row);
    Ok(id)
}

/// Writes a chunk the database refused as a whole row by row, each in its
/// own savepoint, through the use cases that make each change by hand: the
/// rows it refuses are reported with their reasons, the others kept.
async fn replay_medicines(
    chunks: &mut Chunks<'_>,
    (master, categories): (&mut Master, &mut Categories),
    chunk: &[(MedicineLine, Option<MedicineRow>)],
    report: &mut ImportReport,
    cause: &Cause,
) -> ApiResult<()> {
    for (line, current) in chunk {
        let backend = chunks.store.backend();
        let conn = chunks.open(Span::Row).await?;
        let result = import_medicine(
            conn,
            backend,
            line.clone(),
            current.clone(),
            categories,
            cause,
        )
        .await;
        match chunks.settle(result).await? {
            Ok((outcome, row, category)) => {
                report.count(outcome);
                categories.extend(category);
                master.extend(row);
            }
            Err(reason) => report.reject(line.line, reason),
        }
    }
    Ok(())
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

/// Writes one medicine row inside its savepoint (a chunk replayed row by row).
async fn import_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    line: MedicineLine,
    current: Option<MedicineRow>,
    categories: &Categories,
    cause: &Cause,
) -> ApiResult<MedicineWrite> {
    let mut fields = line.fields;
    let mut created = None;
    if let Some(missing) = categories.missing(&line.category) {
        return Err(missing);
    }
    fields.category_id = match &line.category {
        CategoryRef::Id(id) => id.clone(),
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
    let mut pending = Vec::new();
    for line in lines {
        let medicine = match master.find(&line.medicine) {
            Ok(medicine) => medicine,
            Err(reason) => {
                report.reject(line.line, reason);
                continue;
            }
        };
        match same_within_file(&line, &medicine.id, &mut file_terms, &mut file_batches) {
            Ok(()) => pending.push((line, medicine)),
            Err(reason) => report.reject(line.line, reason),
        }
    }
    let vendor = Vendor {
        id: vendor_id,
        clock: &clock,
        cause,
    };
    let mut chunks = Chunks::begin(store, dry_run).await?;
    for chunk in pending.chunks(CHUNK_ROWS) {
        let conn = chunks.open(Span::Chunk).await?;
        let written = write_listing_chunk(conn, &vendor, chunk, &stock).await;
        match chunks.close(written).await? {
            Some(written) => {
                for (line, outcome) in written.outcomes {
                    match outcome {
                        Ok(outcome) => report.count(outcome),
                        Err(reason) => report.reject(line, reason),
                    }
                }
                stock.listings.extend(written.plan.listings);
                stock.batches.extend(written.plan.batches);
            }
            None => replay_listings(&mut chunks, &vendor, chunk, &mut stock, &mut report).await?,
        }
        chunks.next().await?;
    }
    chunks.finish().await?;
    Ok(report.finish())
}

/// Who a listings import writes for, when, and on whose behalf.
struct Vendor<'a> {
    id: &'a str,
    clock: &'a ReadClock,
    cause: &'a Cause,
}

/// Writes a chunk of listings rows the database refused as a whole row by
/// row, each in its own savepoint, through the use cases that make each
/// change by hand ([`listings::offer`], [`listings::receive`]).
async fn replay_listings(
    chunks: &mut Chunks<'_>,
    vendor: &Vendor<'_>,
    chunk: &[(ListingLine, &MedicineRow)],
    stock: &mut VendorStock,
    report: &mut ImportReport,
) -> ApiResult<()> {
    for (line, medicine) in chunk {
        if untouched(line, &medicine.id, stock) {
            report.count(Outcome::Unchanged);
            continue;
        }
        let conn = chunks.open(Span::Row).await?;
        let (id, clock, cause) = (vendor.id, vendor.clock, vendor.cause);
        let result = import_listing(conn, id, medicine, line, stock, clock, cause).await;
        match chunks.settle(result).await? {
            Ok((outcome, listing, batch)) => {
                report.count(outcome);
                stock.record(listing, batch);
            }
            Err(reason) => report.reject(line.line, reason),
        }
    }
    Ok(())
}

/// What a chunk of listings rows will write, worked out in memory row by
/// row against what the import knows (the vendor's listings and batches,
/// the lowest MRP of each listing's batches on hand) and what earlier rows
/// of the chunk write, with the rules of [`listings::offer`] and
/// [`listings::receive`].
#[derive(Default)]
struct ListingPlan {
    steps: Vec<ListingStep>,
    /// Listings as the chunk leaves them, by medicine.
    listings: HashMap<String, ListingTerms>,
    /// Batches the chunk records.
    batches: HashMap<(String, String), ReceivedBatch>,
    /// The lowest MRP of each listing's batches on hand.
    lowest: HashMap<String, Paise>,
}

/// One row of a chunk that writes something.
struct ListingStep {
    listing_id: String,
    medicine_id: String,
    /// The change to the listing, and whether it creates it.
    change: Option<(ListingChange, bool)>,
    /// The batch it records, at its MRP.
    batch: Option<(BatchLine, Paise)>,
}

impl ListingPlan {
    fn listing<'s>(
        &'s self,
        stock: &'s VendorStock,
        medicine_id: &str,
    ) -> Option<&'s ListingTerms> {
        self.listings
            .get(medicine_id)
            .or_else(|| stock.listings.get(medicine_id))
    }

    fn batch<'s>(
        &'s self,
        stock: &'s VendorStock,
        key: &(String, String),
    ) -> Option<&'s ReceivedBatch> {
        self.batches.get(key).or_else(|| stock.batches.get(key))
    }

    /// Plans one row: what it writes (None: nothing, it is unchanged), or
    /// why it is refused (nothing of it is planned then).
    fn add(
        &mut self,
        stock: &VendorStock,
        line: &ListingLine,
        medicine: &MedicineRow,
    ) -> ApiResult<Option<Outcome>> {
        let current = self.listing(stock, &medicine.id).cloned();
        let change = listing_change(&line.terms, current.as_ref())?;
        let after = match (change, &current) {
            (Some(change), _) => {
                compliance::check_listable(medicine.schedule)?;
                if let Some(current) = &current {
                    let lowest = self.lowest.get(&current.id).copied();
                    compliance::check_price_within_batches(change.prices.price, lowest)?;
                }
                Some(changed_terms(current.as_ref(), &medicine.id, &change))
            }
            (None, Some(current)) => Some(current.clone()),
            (None, None) => None,
        };
        let batch = match (&line.batch, &after) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ApiError::bad_input(
                    "there is no listing of this medicine yet: give its price and mrp",
                ))
            }
            (Some(batch), Some(listing)) => {
                let key = (listing.id.clone(), batch.number.clone());
                match self.batch(stock, &key) {
                    Some(recorded) => {
                        check_recorded_batch(recorded, batch)?;
                        None
                    }
                    None => {
                        let mrp = batch.mrp.unwrap_or(listing.mrp_paise);
                        compliance::check_batch_mrp(mrp, listing.price_paise)?;
                        Some((batch.clone(), mrp))
                    }
                }
            }
        };
        let outcome = match (&change, &batch) {
            (None, None) => return Ok(None),
            (Some(_), _) if current.is_none() => Outcome::Created,
            _ => Outcome::Updated,
        };
        let listing =
            after.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no listing planned")))?;
        if let Some((batch, mrp)) = &batch {
            let lowest = self.lowest.entry(listing.id.clone()).or_insert(*mrp);
            *lowest = (*lowest).min(*mrp);
            let recorded = ReceivedBatch {
                listing_id: listing.id.clone(),
                batch_number: batch.number.clone(),
                expires_on: janta_platform::scalars::Date(batch.expires_on),
                mrp_paise: *mrp,
                received: batch.quantity,
            };
            self.batches
                .insert((listing.id.clone(), batch.number.clone()), recorded);
        }
        self.steps.push(ListingStep {
            listing_id: listing.id.clone(),
            medicine_id: medicine.id.clone(),
            change: change.map(|c| (c, current.is_none())),
            batch,
        });
        self.listings.insert(medicine.id.clone(), listing);
        Ok(Some(outcome))
    }
}

/// The terms of a listing once `change` is applied to `current` (a new
/// listing, with a new ID, when there is none), as the store writes them.
fn changed_terms(
    current: Option<&ListingTerms>,
    medicine_id: &str,
    change: &ListingChange,
) -> ListingTerms {
    ListingTerms {
        id: current.map_or_else(janta_platform::ids::new_id, |c| c.id.clone()),
        medicine_id: medicine_id.to_string(),
        price_paise: change.prices.price,
        mrp_paise: change.prices.mrp,
        active: change.active.unwrap_or(current.is_none_or(|c| c.active)),
        min_shelf_life_days: change
            .min_shelf_life_days
            .or(current.and_then(|c| c.min_shelf_life_days)),
    }
}

/// What a chunk of listings rows wrote: each row's outcome (or why it was
/// refused) by line, and the plan it wrote.
struct ListingsWritten {
    outcomes: Vec<(i64, Result<Outcome, String>)>,
    plan: ListingPlan,
}

/// Plans a chunk of listings rows, then writes it inside the chunk's
/// savepoint in a few statements (new listings, changed ones, new batches
/// and their ledger entries, audit entries) plus one event per listing
/// created or repriced: what [`listings::offer`] and [`listings::receive`]
/// would write row by row.
async fn write_listing_chunk(
    conn: &mut AnyConnection,
    vendor: &Vendor<'_>,
    chunk: &[(ListingLine, &MedicineRow)],
    stock: &VendorStock,
) -> ApiResult<ListingsWritten> {
    let known: Vec<String> = chunk
        .iter()
        .filter_map(|(_, m)| stock.listings.get(&m.id).map(|l| l.id.clone()))
        .collect();
    let mut plan = ListingPlan {
        lowest: store::stock::lowest_batch_mrps(conn, &known, vendor.clock.today).await?,
        ..ListingPlan::default()
    };
    let mut outcomes = Vec::with_capacity(chunk.len());
    for (line, medicine) in chunk {
        let outcome = match plan.add(stock, line, medicine) {
            Ok(None) => Ok(Outcome::Unchanged),
            Ok(Some(outcome)) => Ok(outcome),
            Err(e @ ApiError::Internal(_)) => return Err(e),
            Err(e) => Err(e.to_string()),
        };
        outcomes.push((line.line, outcome));
    }
    write_listing_plan(conn, vendor, &plan).await?;
    Ok(ListingsWritten { outcomes, plan })
}

/// Writes a chunk's plan (see [`write_listing_chunk`]).
async fn write_listing_plan(
    conn: &mut AnyConnection,
    vendor: &Vendor<'_>,
    plan: &ListingPlan,
) -> ApiResult<()> {
    let clock = vendor.clock;
    let changed: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.change, Some((_, false))))
        .map(|s| s.listing_id.clone())
        .collect();
    let before: HashMap<String, ListingRow> =
        by_id(store::listings_by_ids(&mut *conn, &changed, clock).await?);
    let now = janta_platform::scalars::DateTime::now();
    let mut created = Vec::new();
    for step in &plan.steps {
        match &step.change {
            Some((change, true)) => created.push(store::NewListing {
                id: &step.listing_id,
                vendor_id: vendor.id,
                medicine_id: &step.medicine_id,
                change,
            }),
            Some((change, false)) => {
                let row = before
                    .get(&step.listing_id)
                    .ok_or_else(|| ApiError::not_found("listing"))?;
                store::update_listing(conn, row, change, now).await?;
            }
            None => {}
        }
    }
    store::insert_listings(conn, &created).await?;
    let touched: Vec<String> = plan.steps.iter().map(|s| s.listing_id.clone()).collect();
    let after = by_id(store::listings_by_ids(&mut *conn, &touched, clock).await?);
    let actor = vendor.cause.actor();
    let batches: Vec<store::stock::NewBatch<'_>> = plan
        .steps
        .iter()
        .filter_map(|s| {
            s.batch.as_ref().map(|(b, mrp)| store::stock::NewBatch {
                id: janta_platform::ids::new_id(),
                listing_id: &s.listing_id,
                batch_number: &b.number,
                expires_on: b.expires_on,
                quantity: b.quantity,
                mrp: *mrp,
                actor,
            })
        })
        .collect();
    store::stock::insert_batches(conn, &batches).await?;
    let mut stock_of: HashMap<&str, i64> =
        after.iter().map(|(id, l)| (id.as_str(), l.stock)).collect();
    let mut entries = Vec::new();
    let mut new_batches = batches.iter();
    for step in &plan.steps {
        let row = after
            .get(&step.listing_id)
            .ok_or_else(|| ApiError::not_found("listing"))?;
        if let Some((_, creates)) = &step.change {
            let previous = before.get(&step.listing_id);
            let action = if *creates { "created" } else { "updated" };
            entries.push(AuditEntry {
                actor,
                entity_type: "listing",
                entity_id: &step.listing_id,
                action,
                before: previous.map(ListingRow::to_json),
                after: Some(row.to_json()),
            });
            let repriced = previous
                .is_none_or(|b| b.price_paise != row.price_paise || b.mrp_paise != row.mrp_paise);
            if repriced {
                publish::listing_price_changed(conn, previous, row, vendor.cause).await?;
            }
        }
        if let Some((batch, mrp)) = &step.batch {
            let recorded = new_batches
                .next()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch not written")))?;
            let stock = stock_of
                .entry(step.listing_id.as_str())
                .or_insert(row.stock);
            let before_stock = *stock;
            *stock += batch.quantity;
            entries.push(AuditEntry {
                actor,
                entity_type: "listing",
                entity_id: &step.listing_id,
                action: "batch_received",
                before: Some(json!({ "stock": before_stock })),
                after: Some(json!({
                    "stock": *stock, "batchId": recorded.id, "batchNumber": batch.number,
                    "expiresOn": janta_platform::scalars::Date(batch.expires_on).to_db(),
                    "received": batch.quantity, "mrpPaise": mrp,
                })),
            });
        }
    }
    janta_platform::audit::record_all(conn, &entries).await?;
    Ok(())
}

/// Listing rows by ID.
fn by_id(rows: Vec<ListingRow>) -> HashMap<String, ListingRow> {
    rows.into_iter().map(|row| (row.id.clone(), row)).collect()
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
