//! What a bulk import reads up front, in one statement each (never one per
//! row): the current medicine master, a vendor's listings and the batches
//! they received; and the savepoints that let one row of a chunk fail
//! without undoing the rows before it.

use super::{medicine_columns, ListingRow, MedicineRow, Sql, CURRENT_MEDICINES};
use janta_platform::columns::Flag;
use janta_platform::money::Paise;
use janta_platform::scalars::Date;
use janta_platform::store::Store;
use sqlx::{AnyConnection, FromRow};

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

/// Marks the start of one imported row inside the chunk's transaction.
pub async fn savepoint(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("SAVEPOINT import_row")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Keeps what the row wrote.
pub async fn release(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("RELEASE SAVEPOINT import_row")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Undoes everything the row wrote, keeping the rows before it.
pub async fn undo(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("ROLLBACK TO SAVEPOINT import_row")
        .execute(&mut *conn)
        .await?;
    release(conn).await
}
