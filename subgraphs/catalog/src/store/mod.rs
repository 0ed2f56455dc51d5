//! All SQL of the catalog subgraph, in one place: medicines and their
//! versions, categories, alternatives, tax slabs and listings here; search
//! in [`search`]; batches, the stock ledger and reservations in [`stock`].
//! Functions that take a connection run inside the caller's transaction;
//! those that take the store use the pool.

mod column;
pub mod import;
pub mod quarantine;
pub mod search;
pub mod stock;
pub mod vendors;

pub use janta_platform::columns::Flag;

use crate::domain::{self, DosageForm, ListingAudience, MedicineFields, Prices, Schedule};
use chrono::{NaiveDate, Utc};
use janta_platform::error::is_unique_violation;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{to_db_time, Date, DateTime};
use janta_platform::store::{placeholders, Backend, Migrations, Store};
use janta_platform::{ApiError, ApiResult};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Executor, FromRow};
use vendors::{JOIN_STATUS, SELLABLE};

/// The catalog subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/catalog/sqlite"),
        postgres: sqlx::migrate!("../../migrations/catalog/postgres"),
    }
}

/// A bind value of a statement built with [`Sql`].
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// A statement assembled piece by piece: each `arg_*` call appends a bind
/// value and returns its placeholder (`$n`, valid on both backends), so
/// optional filters never get their numbering wrong.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new() -> Self {
        Sql::default()
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(crate) fn arg_text(&mut self, value: impl Into<String>) -> String {
        self.args.push(Arg::Text(value.into()));
        format!("${}", self.args.len())
    }

    pub(crate) fn arg_int(&mut self, value: i64) -> String {
        self.args.push(Arg::Int(value));
        format!("${}", self.args.len())
    }

    pub(crate) fn arg_opt_int(&mut self, value: Option<i64>) -> String {
        self.args.push(Arg::OptInt(value));
        format!("${}", self.args.len())
    }

    pub(crate) fn arg_bool(&mut self, value: bool) -> String {
        self.args.push(Arg::Bool(value));
        format!("${}", self.args.len())
    }

    pub(crate) fn arg_list(&mut self, values: &[String]) -> String {
        let first = self.args.len() + 1;
        self.args.extend(values.iter().cloned().map(Arg::Text));
        placeholders(first, values.len())
    }

    pub(crate) fn query_as<'q, T>(&'q self) -> sqlx::query::QueryAs<'q, Any, T, AnyArguments<'q>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        let mut query = sqlx::query_as(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::Int(v) => query.bind(*v),
                Arg::OptInt(v) => query.bind(*v),
                Arg::Bool(v) => query.bind(*v),
            };
        }
        query
    }

    pub(crate) fn query(&self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::Int(v) => query.bind(*v),
                Arg::OptInt(v) => query.bind(*v),
                Arg::Bool(v) => query.bind(*v),
            };
        }
        query
    }
}

/// A product category.
#[derive(Debug, Clone, FromRow)]
pub struct CategoryRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime,
}

/// One version of a medicine (the current one, unless read from history).
#[derive(Debug, Clone, FromRow)]
pub struct MedicineRow {
    pub id: String,
    pub version: i64,
    pub previous_version: Option<i64>,
    pub name: String,
    pub generic_name: String,
    pub manufacturer: String,
    pub strength: String,
    pub form: DosageForm,
    pub pack_size: String,
    pub schedule: Schedule,
    pub hsn_code: String,
    pub category_id: String,
    pub created_by: String,
    /// When this version was published.
    pub version_created_at: DateTime,
    /// When the medicine was first created.
    pub created_at: DateTime,
    /// GST rate in force today for its HSN code, in basis points (None: no slab).
    pub gst_rate_bp: Option<i64>,
}

impl MedicineRow {
    /// The validated fields of this version (for updates that change some of them).
    pub fn fields(&self) -> MedicineFields {
        MedicineFields {
            name: self.name.clone(),
            generic_name: self.generic_name.clone(),
            manufacturer: self.manufacturer.clone(),
            strength: self.strength.clone(),
            form: self.form,
            pack_size: self.pack_size.clone(),
            schedule: self.schedule,
            hsn_code: self.hsn_code.clone(),
            category_id: self.category_id.clone(),
        }
    }

    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": self.version, "name": self.name, "genericName": self.generic_name,
            "manufacturer": self.manufacturer, "strength": self.strength, "form": self.form.as_db(),
            "packSize": self.pack_size, "schedule": self.schedule.as_db(), "hsnCode": self.hsn_code,
            "categoryId": self.category_id,
        })
    }
}

/// The columns of [`MedicineRow`] for medicines `m` joined to versions `v`,
/// including the GST rate in force today (longest matching HSN prefix, then
/// the latest slab already effective), so no separate lookup is needed.
pub(crate) fn medicine_columns(sql: &mut Sql) -> String {
    let today = sql.arg_text(Date(domain::today()).to_db());
    format!(
        "m.id, v.version, v.previous_version, v.name, v.generic_name, v.manufacturer, v.strength, \
         v.form, v.pack_size, v.schedule, v.hsn_code, v.category_id, v.created_by, \
         v.created_at AS version_created_at, m.created_at, \
         (SELECT t.rate_bp FROM tax_slabs t WHERE t.effective_from <= {today} \
          AND substr(v.hsn_code, 1, length(t.hsn_code)) = t.hsn_code \
          ORDER BY length(t.hsn_code) DESC, t.effective_from DESC LIMIT 1) AS gst_rate_bp"
    )
}
/// Joins medicines `m` to their current version `v`.
pub(crate) const CURRENT_VERSION: &str =
    "JOIN medicine_versions v ON v.medicine_id = m.id AND v.version = m.current_version";
/// Medicines joined to their current version.
pub(crate) const CURRENT_MEDICINES: &str =
    "medicines m JOIN medicine_versions v ON v.medicine_id = m.id AND v.version = m.current_version";

/// A GST slab as stored.
#[derive(Debug, Clone, FromRow)]
pub struct TaxSlabRow {
    pub id: String,
    pub hsn_code: String,
    pub rate_bp: i64,
    pub effective_from: Date,
    pub description: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl TaxSlabRow {
    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "hsnCode": self.hsn_code, "rateBp": self.rate_bp,
            "effectiveFrom": self.effective_from.to_db(), "description": self.description,
        })
    }
}

/// A vendor's listing with its sellable stock, computed at read time.
#[derive(Debug, Clone, FromRow)]
pub struct ListingRow {
    pub id: String,
    pub vendor_id: String,
    pub medicine_id: String,
    pub price_paise: Paise,
    pub mrp_paise: Paise,
    /// While the vendor offers it.
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// Shelf life the listing demands at sale, in days (None: the platform minimum).
    pub min_shelf_life_days: Option<i64>,
    /// Units in unexpired batches not held by active reservations.
    pub stock: i64,
    /// While it may be sold: its vendor sells (verified, not suspended; see
    /// [`vendors`]) and its medicine is not Schedule X.
    #[sqlx(try_from = "Flag")]
    pub sellable: bool,
    /// Whether its medicine (current version) is Schedule X: never sold online.
    #[sqlx(try_from = "Flag")]
    pub schedule_x: bool,
}

impl ListingRow {
    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "vendorId": self.vendor_id, "medicineId": self.medicine_id,
            "pricePaise": self.price_paise, "mrpPaise": self.mrp_paise, "active": self.active,
            "minShelfLifeDays": self.min_shelf_life_days, "version": self.version,
        })
    }
}

/// Sellable stock of listing `alias`: units neither sold nor held in
/// batches that have not expired, plus units still held by reservations
/// that are past their expiry but not swept yet (they are free again, so
/// reads never wait for the sweeper).
pub(crate) fn stock_expr(sql: &mut Sql, alias: &str, clock: &ReadClock) -> String {
    let t1 = sql.arg_text(clock.today_db());
    let n = sql.arg_text(to_db_time(clock.now));
    let t2 = sql.arg_text(clock.today_db());
    format!(
        "((SELECT CAST(COALESCE(SUM(b.quantity - b.reserved), 0) AS BIGINT) FROM batches b \
           WHERE b.listing_id = {alias}.id AND b.expires_on > {t1}) + \
          (SELECT CAST(COALESCE(SUM(a.quantity), 0) AS BIGINT) FROM reservation_allocations a \
           JOIN reservations r ON r.order_id = a.order_id JOIN batches b2 ON b2.id = a.batch_id \
           WHERE a.listing_id = {alias}.id AND r.status = 'ACTIVE' AND r.expires_at <= {n} \
           AND b2.expires_on > {t2}))"
    )
}

/// True when listing `l` offers a Schedule X medicine (its current
/// version): such a listing is never sold online, whoever its vendor is.
pub(crate) const SCHEDULE_X: &str = "EXISTS (SELECT 1 FROM medicines xm JOIN medicine_versions xv \
     ON xv.medicine_id = xm.id AND xv.version = xm.current_version \
     WHERE xm.id = l.medicine_id AND xv.schedule = 'X')";

/// True when listing `l` (joined to its vendor's status `vs`) may be sold:
/// its vendor sells and its medicine is not Schedule X.
fn on_sale() -> String {
    format!("({SELLABLE} AND NOT {SCHEDULE_X})")
}

/// `SELECT` of [`ListingRow`]s from listings `l` joined to their vendor's
/// status `vs`; the caller appends `WHERE …`.
fn listing_select(sql: &mut Sql, clock: &ReadClock) {
    let stock = stock_expr(sql, "l", clock);
    let on_sale = on_sale();
    sql.push(&format!(
        "SELECT l.id, l.vendor_id, l.medicine_id, l.price_paise, l.mrp_paise, l.active, l.version, \
         l.created_at, l.updated_at, l.min_shelf_life_days, {stock} AS stock, \
         CAST(CASE WHEN {on_sale} THEN 1 ELSE 0 END AS BIGINT) AS sellable, \
         CAST(CASE WHEN {SCHEDULE_X} THEN 1 ELSE 0 END AS BIGINT) AS schedule_x \
         FROM listings l {JOIN_STATUS}"
    ));
}

/// The moment reads are evaluated at: today's date in India (expiry) and now (reservations).
#[derive(Debug, Clone)]
pub struct ReadClock {
    /// Today in India.
    pub today: NaiveDate,
    /// Now.
    pub now: chrono::DateTime<Utc>,
}

impl ReadClock {
    /// The current moment.
    pub fn now() -> Self {
        ReadClock {
            today: domain::today(),
            now: Utc::now(),
        }
    }

    /// Today in storage form ("YYYY-MM-DD").
    pub fn today_db(&self) -> String {
        Date(self.today).to_db()
    }
}

// ---------- categories ----------

/// Adds a category; a duplicate name is `CONFLICT`.
pub async fn insert_category(
    conn: &mut AnyConnection,
    id: Option<&str>,
    name: &str,
    description: Option<&str>,
) -> ApiResult<CategoryRow> {
    let row = CategoryRow {
        id: id.map_or_else(new_id, str::to_string),
        name: name.to_string(),
        description: description.map(str::to_string),
        created_at: DateTime::now(),
    };
    let result = sqlx::query(
        "INSERT INTO categories (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&row.id)
    .bind(&row.name)
    .bind(&row.description)
    .bind(row.created_at)
    .execute(conn)
    .await;
    match result {
        Err(e) if is_unique_violation(&e, "categories", "name") => Err(ApiError::conflict(
            "a category with this name already exists",
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(row),
    }
}

/// Every category by name.
pub async fn all_categories(store: &Store) -> sqlx::Result<Vec<CategoryRow>> {
    sqlx::query_as("SELECT id, name, description, created_at FROM categories ORDER BY name, id")
        .fetch_all(store.pool())
        .await
}

/// Many categories in one statement (entity batches).
pub async fn categories_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<CategoryRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let list = sql.arg_list(ids);
    sql.push(&format!(
        "SELECT id, name, description, created_at FROM categories WHERE id IN ({list})"
    ));
    sql.query_as().fetch_all(store.pool()).await
}

/// Whether a category exists.
pub async fn category_exists(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM categories WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

// ---------- medicines ----------

/// One version of a medicine to record.
pub(crate) struct NewVersion<'a> {
    pub(crate) medicine_id: &'a str,
    pub(crate) version: i64,
    pub(crate) previous: Option<i64>,
    pub(crate) fields: &'a MedicineFields,
    pub(crate) actor: &'a str,
    pub(crate) at: DateTime,
}

/// Versions per `INSERT` of [`NewVersion::insert_all`] (14 bind values each).
const VERSIONS_PER_STATEMENT: usize = 500;

impl NewVersion<'_> {
    /// Records many versions, a few hundred per statement (bulk imports).
    pub(crate) async fn insert_all(
        conn: &mut AnyConnection,
        versions: &[NewVersion<'_>],
    ) -> sqlx::Result<()> {
        for chunk in versions.chunks(VERSIONS_PER_STATEMENT) {
            let mut sql = Sql::new();
            let rows: Vec<String> = chunk.iter().map(|v| v.values(&mut sql)).collect();
            sql.push(&format!(
                "INSERT INTO medicine_versions (medicine_id, version, previous_version, name, generic_name, \
                 manufacturer, strength, form, pack_size, schedule, hsn_code, category_id, created_by, created_at) \
                 VALUES {}",
                rows.join(", ")
            ));
            sql.query().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// This version's `(…)` row of values, its bind values added to `sql`.
    fn values(&self, sql: &mut Sql) -> String {
        let f = self.fields;
        let values = [
            sql.arg_text(self.medicine_id),
            sql.arg_int(self.version),
            sql.arg_opt_int(self.previous),
            sql.arg_text(f.name.clone()),
            sql.arg_text(f.generic_name.clone()),
            sql.arg_text(f.manufacturer.clone()),
            sql.arg_text(f.strength.clone()),
            sql.arg_text(f.form.as_db()),
            sql.arg_text(f.pack_size.clone()),
            sql.arg_text(f.schedule.as_db()),
            sql.arg_text(f.hsn_code.clone()),
            sql.arg_text(f.category_id.clone()),
            sql.arg_text(self.actor),
            sql.arg_text(to_db_time(self.at.0)),
        ];
        format!("({})", values.join(", "))
    }
}

/// Creates a medicine at version 1 and indexes it for search. `id` is for
/// fixed demo IDs; otherwise a new one is made. (The same write as a bulk
/// import's, [`import::write_medicines`], for one medicine.)
pub async fn insert_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    id: Option<&str>,
    fields: &MedicineFields,
    actor: &str,
) -> sqlx::Result<MedicineRow> {
    let id = id.map_or_else(new_id, str::to_string);
    let change = import::MedicineChange {
        id: &id,
        from_version: None,
        fields,
    };
    import::write_medicines(conn, backend, &[change], actor).await?;
    medicine_by_id(conn, &id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Publishes a new version of a medicine, provided its current version is
/// still `from_version` (optimistic lock); else `CONFLICT`.
pub async fn update_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
    from_version: i64,
    fields: &MedicineFields,
    actor: &str,
) -> ApiResult<MedicineRow> {
    let change = import::MedicineChange {
        id,
        from_version: Some(from_version),
        fields,
    };
    match import::write_medicines(conn, backend, &[change], actor).await {
        Err(sqlx::Error::RowNotFound) => {
            return Err(ApiError::conflict(
                "the medicine was changed meanwhile; reload it and try again",
            ))
        }
        written => written?,
    }
    medicine_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("medicine"))
}

/// The current version of one medicine.
pub async fn medicine_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<MedicineRow>> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let id = sql.arg_text(id);
    sql.push(&format!(
        "SELECT {columns} FROM {CURRENT_MEDICINES} WHERE m.id = {id}"
    ));
    sql.query_as().fetch_optional(conn).await
}

/// Current versions of many medicines in one statement (entity batches).
pub async fn medicines_by_ids<'c, E>(db: E, ids: &[String]) -> sqlx::Result<Vec<MedicineRow>>
where
    E: Executor<'c, Database = Any>,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let list = sql.arg_list(ids);
    sql.push(&format!(
        "SELECT {columns} FROM {CURRENT_MEDICINES} WHERE m.id IN ({list})"
    ));
    sql.query_as().fetch_all(db).await
}

/// Every version of many medicines in one statement (the
/// `Medicine.versions` batch), newest first within each medicine.
pub async fn medicine_versions(store: &Store, ids: &[String]) -> sqlx::Result<Vec<MedicineRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let list = sql.arg_list(ids);
    sql.push(&format!(
        "SELECT {columns} FROM medicines m JOIN medicine_versions v ON v.medicine_id = m.id \
         WHERE m.id IN ({list}) ORDER BY m.id, v.version DESC"
    ));
    sql.query_as().fetch_all(store.pool()).await
}

/// One specific version of a medicine (what an order bought).
pub async fn medicine_version(
    store: &Store,
    id: &str,
    version: i64,
) -> sqlx::Result<Option<MedicineRow>> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let id = sql.arg_text(id);
    let version = sql.arg_int(version);
    sql.push(&format!(
        "SELECT {columns} FROM medicines m JOIN medicine_versions v ON v.medicine_id = m.id \
         WHERE m.id = {id} AND v.version = {version}"
    ));
    sql.query_as().fetch_optional(store.pool()).await
}

/// Which of `ids` are existing medicines.
pub async fn existing_medicine_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let list = sql.arg_list(ids);
    sql.push(&format!("SELECT id FROM medicines WHERE id IN ({list})"));
    let rows: Vec<(String,)> = sql.query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// An alternative of some medicine (row of a batched alternatives read).
#[derive(Debug, Clone, FromRow)]
pub struct AlternativeRow {
    /// The medicine the alternative is for.
    pub of_medicine: String,
    /// The alternative itself (current version).
    #[sqlx(flatten)]
    pub medicine: MedicineRow,
}

/// The ranked alternatives of many medicines in one statement.
pub async fn alternatives_of(store: &Store, ids: &[String]) -> sqlx::Result<Vec<AlternativeRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let list = sql.arg_list(ids);
    sql.push(&format!(
        "SELECT a.medicine_id AS of_medicine, {columns} FROM medicine_alternatives a \
         JOIN medicines m ON m.id = a.alternative_id {CURRENT_VERSION} \
         WHERE a.medicine_id IN ({list}) ORDER BY a.medicine_id, a.ranking"
    ));
    sql.query_as().fetch_all(store.pool()).await
}

/// The alternative IDs of a medicine, by rank.
pub async fn alternative_ids(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT alternative_id FROM medicine_alternatives WHERE medicine_id = $1 ORDER BY ranking",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Replaces a medicine's ranked alternatives.
pub async fn set_alternatives(
    conn: &mut AnyConnection,
    id: &str,
    alternatives: &[String],
    actor: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM medicine_alternatives WHERE medicine_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let now = DateTime::now();
    for (rank, alternative) in alternatives.iter().enumerate() {
        sqlx::query(
            "INSERT INTO medicine_alternatives (medicine_id, alternative_id, ranking, approved_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(alternative)
        .bind(rank as i64 + 1)
        .bind(actor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ---------- tax slabs ----------

const SLAB_COLUMNS: &str =
    "id, hsn_code, rate_bp, effective_from, description, created_at, updated_at";

/// Records the slab of `hsn_code` effective from `effective_from`. A slab
/// is never changed: a second one for the same code and date is
/// `CONFLICT` (a correction is a new slab with its own effective date), and
/// the database refuses updates and deletes.
pub async fn insert_tax_slab(
    conn: &mut AnyConnection,
    hsn_code: &str,
    rate_bp: i64,
    effective_from: chrono::NaiveDate,
    description: &str,
) -> ApiResult<TaxSlabRow> {
    let now = DateTime::now();
    let row = TaxSlabRow {
        id: new_id(),
        hsn_code: hsn_code.to_string(),
        rate_bp,
        effective_from: Date(effective_from),
        description: description.to_string(),
        created_at: now,
        updated_at: now,
    };
    let result = sqlx::query(
        "INSERT INTO tax_slabs (id, hsn_code, rate_bp, effective_from, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&row.id)
    .bind(&row.hsn_code)
    .bind(row.rate_bp)
    .bind(row.effective_from)
    .bind(&row.description)
    .bind(now)
    .execute(conn)
    .await;
    match result {
        Err(e) if is_unique_violation(&e, "tax_slabs", "hsn_code") => {
            Err(ApiError::conflict(format!(
                "a GST slab for {hsn_code} from {} exists and is never changed; \
             record a correction as a new slab with its own effective date",
                row.effective_from.to_db()
            )))
        }
        Err(e) => Err(e.into()),
        Ok(_) => Ok(row),
    }
}

/// All slabs (optionally those whose code is a prefix of, or starts with, `hsn`).
pub async fn tax_slabs(store: &Store, hsn: Option<&str>) -> sqlx::Result<Vec<TaxSlabRow>> {
    let mut sql = Sql::new();
    sql.push(&format!("SELECT {SLAB_COLUMNS} FROM tax_slabs"));
    if let Some(hsn) = hsn {
        let mut codes = domain::hsn_prefixes(hsn);
        codes.push(hsn.to_string());
        let list = sql.arg_list(&codes);
        let like = sql.arg_text(format!("{hsn}%"));
        sql.push(&format!(
            " WHERE hsn_code IN ({list}) OR hsn_code LIKE {like}"
        ));
    }
    sql.push(" ORDER BY hsn_code, effective_from");
    sql.query_as().fetch_all(store.pool()).await
}

// ---------- listings ----------

/// Many listings with their stock in one statement (entity batches).
pub async fn listings_by_ids<'c, E>(
    db: E,
    ids: &[String],
    clock: &ReadClock,
) -> sqlx::Result<Vec<ListingRow>>
where
    E: Executor<'c, Database = Any>,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    listing_select(&mut sql, clock);
    let list = sql.arg_list(ids);
    sql.push(&format!(" WHERE l.id IN ({list})"));
    sql.query_as().fetch_all(db).await
}

/// One listing with its stock.
pub async fn listing_by_id(
    conn: &mut AnyConnection,
    id: &str,
    clock: &ReadClock,
) -> sqlx::Result<Option<ListingRow>> {
    Ok(listings_by_ids(conn, &[id.to_string()], clock)
        .await?
        .into_iter()
        .next())
}

/// Appends the condition that keeps the listings `audience` may see: those
/// of vendors that sell, plus all of their own vendor's for staff and all
/// for admins.
fn push_visible_to(sql: &mut Sql, audience: &ListingAudience) {
    match audience {
        ListingAudience::Public => {
            sql.push(&format!(" AND {}", on_sale()));
        }
        ListingAudience::Staff(vendor) => {
            let vendor = sql.arg_text(vendor.clone());
            sql.push(&format!(" AND ({} OR l.vendor_id = {vendor})", on_sale()));
        }
        ListingAudience::Admin => {}
    }
}

/// The best `limit` active listings of each medicine that `audience` may
/// see, in one statement: buyable (in stock, vendor selling) first, then
/// cheapest, then oldest.
pub async fn top_listings_of_medicines(
    store: &Store,
    medicine_ids: &[String],
    limit: i64,
    audience: &ListingAudience,
    clock: &ReadClock,
) -> sqlx::Result<Vec<ListingRow>> {
    if medicine_ids.is_empty() || limit <= 0 {
        return Ok(vec![]);
    }
    let mut sql = Sql::new();
    sql.push("SELECT id, vendor_id, medicine_id, price_paise, mrp_paise, active, version, created_at, updated_at, \
              min_shelf_life_days, stock, sellable, schedule_x FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.medicine_id \
              ORDER BY CASE WHEN s.stock > 0 AND s.sellable = 1 THEN 0 ELSE 1 END, s.price_paise, s.id) AS rn FROM (");
    listing_select(&mut sql, clock);
    let list = sql.arg_list(medicine_ids);
    let active = sql.arg_bool(true);
    sql.push(&format!(
        " WHERE l.medicine_id IN ({list}) AND l.active = {active}"
    ));
    push_visible_to(&mut sql, audience);
    let limit = sql.arg_int(limit);
    sql.push(&format!(
        ") s) r WHERE r.rn <= {limit} ORDER BY r.medicine_id, r.rn"
    ));
    sql.query_as().fetch_all(store.pool()).await
}

/// A page of a vendor's listings, oldest first, with their total. Its staff
/// and admins (`include_hidden`) see them all; others only active ones, and
/// none while the vendor does not sell.
pub async fn vendor_listings(
    store: &Store,
    vendor_id: &str,
    include_hidden: bool,
    page: &PageRequest,
    clock: &ReadClock,
) -> sqlx::Result<(Vec<ListingRow>, i64)> {
    let filter = |sql: &mut Sql| {
        let vendor = sql.arg_text(vendor_id);
        sql.push(&format!(" WHERE l.vendor_id = {vendor}"));
        if !include_hidden {
            let active = sql.arg_bool(true);
            sql.push(&format!(" AND l.active = {active} AND {}", on_sale()));
        }
    };
    let mut sql = Sql::new();
    listing_select(&mut sql, clock);
    filter(&mut sql);
    if let Some(after) = &page.after {
        let id = sql.arg_text(after.id.clone());
        sql.push(&format!(" AND l.id > {id}"));
    }
    let limit = sql.arg_int(page.fetch_limit());
    sql.push(&format!(" ORDER BY l.id LIMIT {limit}"));
    let rows = sql.query_as().fetch_all(store.pool()).await?;
    let mut count = Sql::new();
    count.push(&format!("SELECT COUNT(*) FROM listings l {JOIN_STATUS}"));
    filter(&mut count);
    let total = page.total(count.query_as().fetch_one(store.pool())).await?;
    Ok((rows, total))
}

/// The listing of `medicine_id` by `vendor_id`, if any.
pub async fn listing_of(
    conn: &mut AnyConnection,
    vendor_id: &str,
    medicine_id: &str,
    clock: &ReadClock,
) -> sqlx::Result<Option<ListingRow>> {
    let mut sql = Sql::new();
    listing_select(&mut sql, clock);
    let vendor = sql.arg_text(vendor_id);
    let medicine = sql.arg_text(medicine_id);
    sql.push(&format!(
        " WHERE l.vendor_id = {vendor} AND l.medicine_id = {medicine}"
    ));
    sql.query_as().fetch_optional(conn).await
}

/// What a vendor sets on its listing of a medicine (validated by the caller).
#[derive(Debug, Clone, Copy)]
pub struct ListingChange {
    /// Price and MRP.
    pub prices: Prices,
    /// Offer it (None: true for a new listing, unchanged otherwise).
    pub active: Option<bool>,
    /// Shelf life demanded at sale (None: unchanged; the platform minimum for a new listing).
    pub min_shelf_life_days: Option<i64>,
    /// The version the caller read (None: no check).
    pub expected_version: Option<i64>,
}

/// Creates or updates the vendor's listing of a medicine. Returns the state
/// before (None when created) and after. With an expected version, the
/// update applies only while the listing is still at it (`CONFLICT`
/// otherwise, also when there is no listing yet).
pub async fn upsert_listing(
    conn: &mut AnyConnection,
    id: Option<&str>,
    vendor_id: &str,
    medicine_id: &str,
    change: ListingChange,
    clock: &ReadClock,
) -> ApiResult<(Option<ListingRow>, ListingRow)> {
    let now = DateTime::now();
    let mut before = listing_of(conn, vendor_id, medicine_id, clock).await?;
    if before.is_none() {
        if change.expected_version.is_some() {
            return Err(ApiError::conflict(
                "there is no listing of this medicine yet; create it without expectedVersion",
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO listings (id, vendor_id, medicine_id, price_paise, mrp_paise, active, version, \
             min_shelf_life_days, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (vendor_id, medicine_id) DO NOTHING",
        )
        .bind(id.map_or_else(new_id, str::to_string))
        .bind(vendor_id)
        .bind(medicine_id)
        .bind(change.prices.price)
        .bind(change.prices.mrp)
        .bind(change.active.unwrap_or(true))
        .bind(1_i64)
        .bind(change.min_shelf_life_days)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            let after = listing_of(conn, vendor_id, medicine_id, clock)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            return Ok((None, after));
        }
        // Someone created it concurrently: update theirs instead.
        before = listing_of(conn, vendor_id, medicine_id, clock).await?;
    }
    let before = before.ok_or(sqlx::Error::RowNotFound)?;
    domain::compliance::check_expected_version(change.expected_version, before.version)?;
    update_listing(conn, &before, &change, now).await?;
    let after = listing_by_id(conn, &before.id, clock)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((Some(before), after))
}

/// Applies `change` to listing `before` (its next version), provided it is
/// still at `before`'s version; else `CONFLICT`.
pub(crate) async fn update_listing(
    conn: &mut AnyConnection,
    before: &ListingRow,
    change: &ListingChange,
    now: DateTime,
) -> ApiResult<()> {
    let mut sql = Sql::new();
    let price = sql.arg_int(change.prices.price.get());
    let mrp = sql.arg_int(change.prices.mrp.get());
    let active = sql.arg_bool(change.active.unwrap_or(before.active));
    let shelf = match change.min_shelf_life_days {
        Some(days) => sql.arg_int(days),
        None => "min_shelf_life_days".to_string(),
    };
    let at = sql.arg_text(to_db_time(now.0));
    let listing = sql.arg_text(before.id.clone());
    let version = sql.arg_int(before.version);
    sql.push(&format!(
        "UPDATE listings SET price_paise = {price}, mrp_paise = {mrp}, active = {active}, \
         min_shelf_life_days = {shelf}, version = version + 1, updated_at = {at} \
         WHERE id = {listing} AND version = {version}"
    ));
    let done = sql.query().execute(&mut *conn).await?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(
            "the listing was changed meanwhile; reload it and try again",
        ));
    }
    Ok(())
}

/// A new listing a bulk import creates.
pub struct NewListing<'a> {
    pub id: &'a str,
    pub vendor_id: &'a str,
    pub medicine_id: &'a str,
    pub change: &'a ListingChange,
}

/// Listings per statement of [`insert_listings`] (7 bind values each).
const LISTINGS_PER_STATEMENT: usize = 500;

/// Creates listings at version 1 as [`upsert_listing`] creates one, a few
/// hundred per statement (a bulk import's chunk). A listing of the same
/// vendor and medicine created meanwhile fails the statement.
pub async fn insert_listings(
    conn: &mut AnyConnection,
    listings: &[NewListing<'_>],
) -> sqlx::Result<()> {
    let now = to_db_time(Utc::now());
    for chunk in listings.chunks(LISTINGS_PER_STATEMENT) {
        let mut sql = Sql::new();
        let at = sql.arg_text(now.clone());
        let rows: Vec<String> = chunk
            .iter()
            .map(|l| {
                let c = l.change;
                let values = [
                    sql.arg_text(l.id),
                    sql.arg_text(l.vendor_id),
                    sql.arg_text(l.medicine_id),
                    sql.arg_int(c.prices.price.get()),
                    sql.arg_int(c.prices.mrp.get()),
                    sql.arg_bool(c.active.unwrap_or(true)),
                    sql.arg_opt_int(c.min_shelf_life_days),
                ];
                format!("({}, 1, {at}, {at})", values.join(", "))
            })
            .collect();
        sql.push(&format!(
            "INSERT INTO listings (id, vendor_id, medicine_id, price_paise, mrp_paise, active, \
             min_shelf_life_days, version, created_at, updated_at) VALUES {}",
            rows.join(", ")
        ));
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

// ---------- tax slabs: history ----------

/// The slab in force for `hsn` on `on`: the longest matching prefix, then
/// the latest one already effective (the rule of [`domain::rate_in_force`]).
pub async fn slab_in_force(
    store: &Store,
    hsn: &str,
    on: NaiveDate,
) -> sqlx::Result<Option<TaxSlabRow>> {
    let mut sql = Sql::new();
    let on = sql.arg_text(Date(on).to_db());
    let code = sql.arg_text(hsn);
    sql.push(&format!(
        "SELECT {SLAB_COLUMNS} FROM tax_slabs t WHERE t.effective_from <= {on} \
         AND substr(CAST({code} AS TEXT), 1, length(t.hsn_code)) = t.hsn_code \
         ORDER BY length(t.hsn_code) DESC, t.effective_from DESC LIMIT 1"
    ));
    sql.query_as().fetch_optional(store.pool()).await
}
