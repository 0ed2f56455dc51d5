//! What a bulk import reads up front, in one statement each (never one per
//! row): the current medicine master, a vendor's listings and the batches
//! they received; what it writes for a whole chunk of rows in a few
//! statements (new medicines, new versions of existing ones); and the
//! savepoints that let a chunk, or one row of a chunk replayed alone, fail
//! without undoing what came before it.

use super::{
    medicine_columns, search, ListingRow, MedicineRow, NewVersion, Sql, CURRENT_MEDICINES,
};
use crate::domain::MedicineFields;
use janta_platform::columns::Flag;
use janta_platform::money::Paise;
use janta_platform::scalars::{to_db_time, Date, DateTime};
use janta_platform::store::{Backend, Store};
use sqlx::{AnyConnection, FromRow};

/// New medicines per statement of [`write_medicines`] (3 bind values each).
const MEDICINES_PER_STATEMENT: usize = 1_000;
/// Medicines moved to their next version per statement: one `OR` term each,
/// kept well below SQLite's limit on expression depth (1000).
const MOVES_PER_STATEMENT: usize = 200;

/// One medicine a chunk of an import writes: a new one (`from_version`
/// None, written at version 1) or the next version of an existing one.
#[derive(Debug, Clone)]
pub struct MedicineChange<'a> {
    pub id: &'a str,
    /// The current version the change was decided against (optimistic lock).
    pub from_version: Option<i64>,
    pub fields: &'a MedicineFields,
}

/// Writes `changes` as [`super::insert_medicine`] and
/// [`super::update_medicine`] would one by one (identities, versions,
/// search index), in a few statements for all of them. Fails, writing
/// nothing the caller keeps, when a medicine moved on meanwhile
/// ([`sqlx::Error::RowNotFound`]) or a row is refused: the caller then
/// replays the chunk row by row to say which.
pub async fn write_medicines(
    conn: &mut AnyConnection,
    backend: Backend,
    changes: &[MedicineChange<'_>],
    actor: &str,
) -> sqlx::Result<()> {
    let at = DateTime::now();
    let fresh: Vec<&str> = changes
        .iter()
        .filter(|c| c.from_version.is_none())
        .map(|c| c.id)
        .collect();
    for ids in fresh.chunks(MEDICINES_PER_STATEMENT) {
        insert_identities(conn, ids, at).await?;
    }
    let moved: Vec<(&str, i64)> = changes
        .iter()
        .filter_map(|c| c.from_version.map(|v| (c.id, v)))
        .collect();
    for chunk in moved.chunks(MOVES_PER_STATEMENT) {
        advance_versions(conn, chunk, at).await?;
    }
    let versions: Vec<NewVersion<'_>> = changes
        .iter()
        .map(|c| NewVersion {
            medicine_id: c.id,
            version: c.from_version.map_or(1, |v| v + 1),
            previous: c.from_version,
            fields: c.fields,
            actor,
            at,
        })
        .collect();
    NewVersion::insert_all(conn, &versions).await?;
    let indexed: Vec<search::Indexed<'_>> = changes
        .iter()
        .map(|c| search::Indexed {
            id: c.id,
            fields: c.fields,
            fresh: c.from_version.is_none(),
        })
        .collect();
    search::index_medicines(conn, backend, &indexed).await
}

/// New medicine identities at version 1.
async fn insert_identities(
    conn: &mut AnyConnection,
    ids: &[&str],
    at: DateTime,
) -> sqlx::Result<()> {
    let mut sql = Sql::new();
    let at = sql.arg_text(to_db_time(at.0));
    let rows: Vec<String> = ids
        .iter()
        .map(|id| format!("({}, 1, {at}, {at})", sql.arg_text(*id)))
        .collect();
    sql.push(&format!(
        "INSERT INTO medicines (id, current_version, created_at, updated_at) VALUES {}",
        rows.join(", ")
    ));
    sql.query().execute(conn).await.map(|_| ())
}

/// Moves each medicine of `moves` from its version to the next, provided it
/// is still at that version; [`sqlx::Error::RowNotFound`] when one is not.
async fn advance_versions(
    conn: &mut AnyConnection,
    moves: &[(&str, i64)],
    at: DateTime,
) -> sqlx::Result<()> {
    let mut sql = Sql::new();
    let at = sql.arg_text(to_db_time(at.0));
    let conditions: Vec<String> = moves
        .iter()
        .map(|(id, version)| {
            let id = sql.arg_text(*id);
            let version = sql.arg_int(*version);
            format!("(id = {id} AND current_version = {version})")
        })
        .collect();
    sql.push(&format!(
        "UPDATE medicines SET current_version = current_version + 1, updated_at = {at} WHERE {}",
        conditions.join(" OR ")
    ));
    let done = sql.query().execute(conn).await?;
    if done.rows_affected() != moves.len() as u64 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

/// Every medicine at its current version (what an import matches rows against).
pub async fn current_medicines(store: &Store) -> sqlx::Result<Vec<MedicineRow>> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    sql.push(&format!("SELECT {columns} FROM {CURRENT_MEDICINES}"));
    sql.query_as().fetch_all(store.pool()).await
}

/// What an import compares a listing row with.
#[derive(Debug, Clone, FromRow)]
pub struct ListingTerms {
    pub id: String,
    pub medicine_id: String,
    pub price_paise: Paise,
    pub mrp_paise: Paise,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub min_shelf_life_days: Option<i64>,
}

impl From<&ListingRow> for ListingTerms {
    fn from(row: &ListingRow) -> Self {
        ListingTerms {
            id: row.id.clone(),
            medicine_id: row.medicine_id.clone(),
            price_paise: row.price_paise,
            mrp_paise: row.mrp_paise,
            active: row.active,
            min_shelf_life_days: row.min_shelf_life_days,
        }
    }
}

/// Every listing of `vendor_id`, as an import compares them.
pub async fn vendor_listing_terms(
    store: &Store,
    vendor_id: &str,
) -> sqlx::Result<Vec<ListingTerms>> {
    sqlx::query_as(
        "SELECT id, medicine_id, price_paise, mrp_paise, active, min_shelf_life_days \
         FROM listings WHERE vendor_id = $1",
    )
    .bind(vendor_id)
    .fetch_all(store.pool())
    .await
}

/// A batch of a vendor's listing and how many packs were received into it.
#[derive(Debug, Clone, FromRow)]
pub struct ReceivedBatch {
    pub listing_id: String,
    pub batch_number: String,
    pub expires_on: Date,
    pub mrp_paise: Paise,
    /// Packs received into it (the ledger's `RECEIVED` entries), whatever
    /// was sold or corrected since.
    pub received: i64,
}

/// Every batch of `vendor_id`'s listings with the packs received into it.
pub async fn vendor_batches(store: &Store, vendor_id: &str) -> sqlx::Result<Vec<ReceivedBatch>> {
    sqlx::query_as(
        "SELECT b.listing_id, b.batch_number, b.expires_on, b.mrp_paise, \
         CAST(COALESCE((SELECT SUM(m.delta) FROM stock_movements m \
           WHERE m.batch_id = b.id AND m.kind = 'RECEIVED'), 0) AS BIGINT) AS received \
         FROM batches b JOIN listings l ON l.id = b.listing_id WHERE l.vendor_id = $1",
    )
    .bind(vendor_id)
    .fetch_all(store.pool())
    .await
}

/// What a savepoint marks the start of: a chunk of rows written together,
/// or one row (when a chunk is replayed row by row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Chunk,
    Row,
}

impl Span {
    fn name(self) -> &'static str {
        match self {
            Span::Chunk => "import_chunk",
            Span::Row => "import_row",
        }
    }
}

/// Marks the start of a chunk or a row inside the import's transaction.
pub async fn savepoint(conn: &mut AnyConnection, span: Span) -> sqlx::Result<()> {
    let sql = format!("SAVEPOINT {}", span.name());
    sqlx::query(&sql).execute(conn).await.map(|_| ())
}

/// Keeps what the chunk or row wrote.
pub async fn release(conn: &mut AnyConnection, span: Span) -> sqlx::Result<()> {
    let sql = format!("RELEASE SAVEPOINT {}", span.name());
    sqlx::query(&sql).execute(conn).await.map(|_| ())
}

/// Undoes everything the chunk or row wrote, keeping what came before it.
pub async fn undo(conn: &mut AnyConnection, span: Span) -> sqlx::Result<()> {
    let sql = format!("ROLLBACK TO SAVEPOINT {}", span.name());
    sqlx::query(&sql).execute(&mut *conn).await?;
    release(conn, span).await
}
