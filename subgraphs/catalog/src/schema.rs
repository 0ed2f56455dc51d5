//! The catalog subgraph's GraphQL API: thin resolvers that validate input
//! with `domain`, authorise with the platform guards and persist through
//! `store`. Entities (`Medicine`, `Listing`, `Category`) and every field
//! that other lists reach (`Listing.medicine`, `Medicine.category`,
//! `Medicine.alternatives`, `Medicine.listings`, `Medicine.versions`) load
//! through the platform's batch loader:
//! one statement per batch, never one per row. `Medicine.gstRate` and
//! `Listing.stock` are computed in the statement that reads the row.

use crate::domain::{
    self, DosageForm, LineRequest, ListingAudience, MedicineFields, Prices, RawMedicine,
    ReservationStatus, Schedule,
};
use crate::events::{self, Cause};
use crate::store::search::{self, MedicineFilter};
use crate::store::stock::{
    self, AllocationRow, BatchRow, MovementRow, ReservationItemRow, ReservationView,
    ReserveOutcome, ReserveRequest, Settled,
};
use crate::store::{self, CategoryRow, ListingRow, MedicineRow, ReadClock, TaxSlabRow};
use crate::{audit, CatalogState};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use janta_platform::auth::{
    optional_principal, require_admin, require_service_of, require_vendor_staff, Principal,
};
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::server::CorrelationId;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use std::collections::HashMap;

/// The catalog subgraph schema.
pub type CatalogSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a CatalogState {
    ctx.data_unchecked::<CatalogState>()
}

fn cause<'a>(ctx: &Context<'a>, actor: &'a str) -> Cause<'a> {
    Cause {
        actor,
        correlation_id: ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str()),
    }
}

/// GraphQL `Int` from a stored count (counts never approach 2^31).
fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

fn date(s: &str) -> Result<Date> {
    Ok(Date::from_db(s).map_err(ApiError::from)?)
}

fn datetime(s: &str) -> Result<DateTime> {
    Ok(DateTime::from_db(s).map_err(ApiError::from)?)
}

// ---------- loaders ----------

/// Loads the current version of medicines by ID, one statement per batch.
pub struct MedicineLoader;

impl BatchLoad<String> for MedicineLoader {
    type Value = MedicineRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, MedicineRow>> {
        let rows = store::medicines_by_ids(store.pool(), keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads every version of many medicines, one statement per batch.
pub struct VersionsLoader;

impl BatchLoad<String> for VersionsLoader {
    type Value = Vec<MedicineRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<MedicineRow>>> {
        let rows = store::medicine_versions(store, keys).await?;
        Ok(grouped(rows, |r| r.id.clone()))
    }
}

/// Loads listings (with their stock) by ID, one statement per batch.
pub struct ListingLoader;

impl BatchLoad<String> for ListingLoader {
    type Value = ListingRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, ListingRow>> {
        let rows = store::listings_by_ids(store.pool(), keys, &ReadClock::now()).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads categories by ID, one statement per batch.
pub struct CategoryLoader;

impl BatchLoad<String> for CategoryLoader {
    type Value = CategoryRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, CategoryRow>> {
        let rows = store::categories_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the ranked alternatives of medicines, one statement per batch.
pub struct AlternativesLoader;

impl BatchLoad<String> for AlternativesLoader {
    type Value = Vec<MedicineRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<MedicineRow>>> {
        let rows = store::alternatives_of(store, keys).await?;
        let mut map: HashMap<String, Vec<MedicineRow>> = HashMap::new();
        for row in rows {
            map.entry(row.of_medicine).or_default().push(row.medicine);
        }
        Ok(map)
    }
}

/// "The best `limit` listings of a medicine that `audience` may see".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopListingsKey {
    /// The medicine.
    pub medicine_id: String,
    /// How many listings.
    pub limit: i64,
    /// Who asks (one per request, so it does not split batches).
    pub audience: ListingAudience,
}

/// Loads the best listings of many medicines, one statement per batch, page
/// size and audience.
pub struct TopListingsLoader;

impl BatchLoad<TopListingsKey> for TopListingsLoader {
    type Value = Vec<ListingRow>;

    async fn load(
        store: &Store,
        keys: &[TopListingsKey],
    ) -> sqlx::Result<HashMap<TopListingsKey, Vec<ListingRow>>> {
        let mut groups: HashMap<(i64, &ListingAudience), Vec<String>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.limit, &key.audience))
                .or_default()
                .push(key.medicine_id.clone());
        }
        let clock = ReadClock::now();
        let mut out: HashMap<TopListingsKey, Vec<ListingRow>> = HashMap::new();
        for ((limit, audience), ids) in groups {
            let rows =
                store::top_listings_of_medicines(store, &ids, limit, audience, &clock).await?;
            let key = |medicine_id: String| TopListingsKey {
                medicine_id,
                limit,
                audience: audience.clone(),
            };
            for id in ids {
                out.entry(key(id)).or_default();
            }
            for row in rows {
                out.entry(key(row.medicine_id.clone()))
                    .or_default()
                    .push(row);
            }
        }
        Ok(out)
    }
}

async fn load_medicine(ctx: &Context<'_>, id: &str) -> ApiResult<Option<MedicineRow>> {
    load_one::<MedicineLoader, _>(ctx, id.to_string()).await
}

async fn load_listing(ctx: &Context<'_>, id: &str) -> ApiResult<Option<ListingRow>> {
    load_one::<ListingLoader, _>(ctx, id.to_string()).await
}

async fn load_category(ctx: &Context<'_>, id: &str) -> ApiResult<Option<CategoryRow>> {
    load_one::<CategoryLoader, _>(ctx, id.to_string()).await
}

// ---------- types ----------

/// A medicine as sold: the current version of its master data.
pub struct Medicine {
    row: MedicineRow,
    cursor_key: String,
}

impl Medicine {
    fn new(row: MedicineRow) -> Self {
        Medicine {
            row,
            cursor_key: String::new(),
        }
    }
}

/// A medicine in the catalog (current version). Its ID is stable across
/// versions; orders keep the version they bought (see `medicineVersion`).
#[Object]
impl Medicine {
    /// Stable medicine ID (UUID), the same for every version.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// Version number of these fields; each change by an admin makes a new one.
    async fn version(&self) -> i32 {
        int(self.row.version)
    }
    /// Product name as sold, e.g. "Dolo 650 tablet".
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Salt composition (generic name), e.g. "Paracetamol".
    async fn generic_name(&self) -> &str {
        &self.row.generic_name
    }
    /// Marketing company.
    async fn manufacturer(&self) -> &str {
        &self.row.manufacturer
    }
    /// Strength, e.g. "650 mg".
    async fn strength(&self) -> &str {
        &self.row.strength
    }
    /// Dosage form.
    async fn form(&self) -> DosageForm {
        DosageForm::from_db(&self.row.form)
    }
    /// Pack, e.g. "strip of 15 tablets".
    async fn pack_size(&self) -> &str {
        &self.row.pack_size
    }
    /// Drug schedule: OTC, H, H1 or X.
    async fn schedule(&self) -> Schedule {
        Schedule::from_db(&self.row.schedule)
    }
    /// Whether a prescription is needed (every schedule but OTC).
    async fn requires_prescription(&self) -> bool {
        Schedule::from_db(&self.row.schedule).requires_prescription()
    }
    /// HSN code, which decides the GST rate.
    async fn hsn_code(&self) -> &str {
        &self.row.hsn_code
    }
    /// GST rate in force today as a percentage string ("5", "12", "0", "2.5"),
    /// from the tax slab of the longest matching HSN prefix; null when no
    /// slab covers the code. Prices and MRP already include it.
    async fn gst_rate(&self) -> Option<String> {
        self.row.gst_rate_bp.map(domain::format_rate)
    }
    /// The same rate in basis points (500 = 5 %), for arithmetic.
    async fn gst_rate_basis_points(&self) -> Option<i32> {
        self.row.gst_rate_bp.map(int)
    }
    /// The category it is filed under.
    async fn category(&self, ctx: &Context<'_>) -> Result<Category> {
        let row = load_category(ctx, &self.row.category_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("medicine without category")))?;
        Ok(Category(row))
    }
    /// Admin-approved generic alternatives (same salt), best first.
    async fn alternatives(&self, ctx: &Context<'_>) -> Result<Vec<Medicine>> {
        let rows = load_or_empty::<AlternativesLoader, _, _>(ctx, self.row.id.clone()).await?;
        Ok(rows.into_iter().map(Medicine::new).collect())
    }
    /// Vendors' active offers of this medicine: buyable first, then
    /// cheapest. Offers of pharmacies that do not sell now (not verified, or
    /// suspended) are left out, except for their own staff and admins.
    async fn listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many listings (at most 50, default 10)")] first: Option<i32>,
    ) -> Result<Vec<Listing>> {
        let limit = i64::from(first.unwrap_or(10));
        if !(0..=50).contains(&limit) {
            return Err(ApiError::bad_input("first must be between 0 and 50").into());
        }
        let key = TopListingsKey {
            medicine_id: self.row.id.clone(),
            limit,
            audience: ListingAudience::of(optional_principal(ctx)),
        };
        let rows = load_or_empty::<TopListingsLoader, _, _>(ctx, key).await?;
        Ok(rows.into_iter().map(Listing).collect())
    }
    /// Every version of this medicine, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> Result<Vec<MedicineVersion>> {
        let rows = load_or_empty::<VersionsLoader, _, _>(ctx, self.row.id.clone()).await?;
        Ok(rows.into_iter().map(MedicineVersion).collect())
    }
    /// When this version was published.
    async fn updated_at(&self) -> Result<DateTime> {
        datetime(&self.row.version_created_at)
    }
    /// When the medicine was first added.
    async fn created_at(&self) -> Result<DateTime> {
        datetime(&self.row.created_at)
    }
}

/// One immutable version of a medicine's master data.
pub struct MedicineVersion(MedicineRow);

/// A historical (or the current) version of a medicine, as orders bought it.
#[Object]
impl MedicineVersion {
    /// The medicine's stable ID.
    async fn medicine_id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Version number (1, 2, …).
    async fn version(&self) -> i32 {
        int(self.0.version)
    }
    /// The version this one replaced, if any.
    async fn previous_version(&self) -> Option<i32> {
        self.0.previous_version.map(int)
    }
    /// Product name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Salt composition.
    async fn generic_name(&self) -> &str {
        &self.0.generic_name
    }
    /// Marketing company.
    async fn manufacturer(&self) -> &str {
        &self.0.manufacturer
    }
    /// Strength.
    async fn strength(&self) -> &str {
        &self.0.strength
    }
    /// Dosage form.
    async fn form(&self) -> DosageForm {
        DosageForm::from_db(&self.0.form)
    }
    /// Pack.
    async fn pack_size(&self) -> &str {
        &self.0.pack_size
    }
    /// Drug schedule.
    async fn schedule(&self) -> Schedule {
        Schedule::from_db(&self.0.schedule)
    }
    /// Whether a prescription is needed.
    async fn requires_prescription(&self) -> bool {
        Schedule::from_db(&self.0.schedule).requires_prescription()
    }
    /// HSN code.
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }
    /// Category ID at that version.
    async fn category_id(&self) -> ID {
        ID(self.0.category_id.clone())
    }
    /// When this version was published.
    async fn created_at(&self) -> Result<DateTime> {
        datetime(&self.0.version_created_at)
    }
}

/// A product category.
pub struct Category(CategoryRow);

/// A shelf of the catalog, e.g. "Pain & Fever".
#[Object]
impl Category {
    /// Category ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What belongs here.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
}

/// A pharmacy (owned by the users subgraph); the catalog adds its listings.
pub struct Vendor {
    id: String,
}

/// A licensed pharmacy. The catalog knows it by ID and contributes `listings`.
#[Object]
impl Vendor {
    /// Vendor ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// This vendor's listings, oldest first; its own staff and admins also
    /// see inactive ones, and see them while the vendor does not sell (not
    /// verified, or suspended), when others see none.
    async fn listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Listing>> {
        let page = PageRequest::new(first, after)?;
        let staff =
            optional_principal(ctx).is_some_and(|p| domain::can_view_stock_details(p, &self.id));
        let (rows, total) =
            store::vendor_listings(&state(ctx).store, &self.id, staff, &page, &ReadClock::now())
                .await
                .map_err(ApiError::from)?;
        let nodes = rows.into_iter().map(Listing).collect();
        Ok(build_connection(&page, nodes, total, |l: &Listing| {
            Cursor {
                key: String::new(),
                id: l.0.id.clone(),
            }
        }))
    }
}

/// A vendor's offer of a medicine.
pub struct Listing(ListingRow);

fn require_stock_viewer<'a>(ctx: &Context<'a>, vendor_id: &str) -> ApiResult<&'a Principal> {
    let p = janta_platform::auth::principal(ctx)?;
    if domain::can_view_stock_details(p, vendor_id) {
        Ok(p)
    } else {
        Err(ApiError::forbidden(
            "only this vendor's staff and admins can see its stock details",
        ))
    }
}

/// A vendor's offer of a medicine: price, MRP and sellable stock.
#[Object]
impl Listing {
    /// Listing ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Sale price per pack, tax-inclusive; never above the MRP.
    async fn price(&self) -> Money {
        Money::inr(self.0.price_paise)
    }
    /// Maximum retail price per pack, tax-inclusive.
    async fn mrp(&self) -> Money {
        Money::inr(self.0.mrp_paise)
    }
    /// Discount on the MRP in percent, rounded down (e.g. 12).
    async fn discount_percent(&self) -> i32 {
        if self.0.mrp_paise <= 0 {
            return 0;
        }
        int((self.0.mrp_paise - self.0.price_paise) * 100 / self.0.mrp_paise)
    }
    /// Packs that can be sold now: unexpired batches minus units held for orders.
    async fn stock(&self) -> i32 {
        int(self.0.stock.max(0))
    }
    /// Whether it can be bought now (offered, in stock, and its vendor sells).
    async fn in_stock(&self) -> bool {
        self.0.active == 1 && self.0.stock > 0 && self.0.sellable == 1
    }
    /// Whether its vendor may sell now: verified by the platform and not
    /// suspended. Only the vendor's staff and admins see listings where it
    /// is false (and a cart or order that already holds one).
    async fn sellable(&self) -> bool {
        self.0.sellable == 1
    }
    /// Whether the vendor currently offers it.
    async fn active(&self) -> bool {
        self.0.active == 1
    }
    /// The medicine offered (current version).
    async fn medicine(&self, ctx: &Context<'_>) -> Result<Medicine> {
        let row = load_medicine(ctx, &self.0.medicine_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("listing without medicine")))?;
        Ok(Medicine::new(row))
    }
    /// The vendor selling it (resolved by the users subgraph).
    async fn vendor(&self) -> Vendor {
        Vendor {
            id: self.0.vendor_id.clone(),
        }
    }
    /// When price, MRP or availability last changed.
    async fn updated_at(&self) -> Result<DateTime> {
        datetime(&self.0.updated_at)
    }
    /// Batches on hand, soonest expiry first (the vendor's staff and admins only).
    async fn batches(&self, ctx: &Context<'_>) -> Result<Vec<Batch>> {
        require_stock_viewer(ctx, &self.0.vendor_id)?;
        let rows = stock::batches_of(&state(ctx).store, &self.0.id)
            .await
            .map_err(ApiError::from)?;
        let today = domain::today().format("%Y-%m-%d").to_string();
        Ok(rows
            .into_iter()
            .map(|row| Batch {
                row,
                today: today.clone(),
            })
            .collect())
    }
    /// The stock ledger, newest first (the vendor's staff and admins only).
    async fn stock_movements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<StockMovement>> {
        require_stock_viewer(ctx, &self.0.vendor_id)?;
        let page = PageRequest::new(first, after)?;
        let (rows, total) = stock::movements(&state(ctx).store, &self.0.id, &page)
            .await
            .map_err(ApiError::from)?;
        let nodes = rows.into_iter().map(StockMovement).collect();
        Ok(build_connection(
            &page,
            nodes,
            total,
            |m: &StockMovement| Cursor {
                key: String::new(),
                id: m.0.id.clone(),
            },
        ))
    }
}

/// A batch of a listing.
pub struct Batch {
    row: BatchRow,
    today: String,
}

/// Packs of one manufacturing batch received by a vendor.
#[Object]
impl Batch {
    /// Batch ID.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// Batch number as printed on the pack.
    async fn batch_number(&self) -> &str {
        &self.row.batch_number
    }
    /// Expiry date; the batch is sellable until the day before.
    async fn expires_on(&self) -> Result<Date> {
        date(&self.row.expires_on)
    }
    /// Packs on hand (including those held for orders).
    async fn quantity(&self) -> i32 {
        int(self.row.quantity)
    }
    /// Packs held for unconfirmed orders.
    async fn reserved(&self) -> i32 {
        int(self.row.reserved)
    }
    /// Packs that can be sold now (0 once expired).
    async fn available(&self) -> i32 {
        if self.row.expires_on.as_str() > self.today.as_str() {
            int(self.row.quantity - self.row.reserved)
        } else {
            0
        }
    }
    /// Whether the batch has expired (never sold again).
    async fn expired(&self) -> bool {
        self.row.expires_on.as_str() <= self.today.as_str()
    }
    /// When it was first received.
    async fn received_at(&self) -> Result<DateTime> {
        datetime(&self.row.received_at)
    }
}

/// Why stock on hand changed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum StockMovementKind {
    /// A batch was received.
    Received,
    /// Staff corrected stock (damage, loss, count, write-off).
    Adjusted,
    /// An order's reservation was committed.
    Sold,
    /// A committed order was cancelled and its packs returned.
    Returned,
}

/// One ledger entry.
pub struct StockMovement(MovementRow);

/// An append-only record of a change to stock on hand.
#[Object]
impl StockMovement {
    /// Entry ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The batch changed.
    async fn batch_id(&self) -> Option<ID> {
        self.0.batch_id.clone().map(ID)
    }
    /// Packs added (positive) or removed (negative).
    async fn delta(&self) -> i32 {
        int(self.0.delta)
    }
    /// What kind of change.
    async fn kind(&self) -> StockMovementKind {
        match self.0.kind.as_str() {
            "RECEIVED" => StockMovementKind::Received,
            "SOLD" => StockMovementKind::Sold,
            "RETURNED" => StockMovementKind::Returned,
            _ => StockMovementKind::Adjusted,
        }
    }
    /// The reason staff gave (adjustments).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The order of a sale or return.
    async fn order_id(&self) -> Option<ID> {
        self.0.reference.clone().map(ID)
    }
    /// Who made the change (user ID or `service:<name>`).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// When.
    async fn at(&self) -> Result<DateTime> {
        datetime(&self.0.at)
    }
}

/// A GST slab.
pub struct TaxSlab(TaxSlabRow);

/// The GST rate for an HSN code (prefix) from a date on. The slab of the
/// longest matching prefix applies; among those, the latest one in effect.
#[Object]
impl TaxSlab {
    /// Slab ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// HSN code or prefix (2, 4, 6 or 8 digits).
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }
    /// Rate as a percentage string ("5", "0", "2.5").
    async fn rate(&self) -> String {
        domain::format_rate(self.0.rate_bp)
    }
    /// Rate in basis points.
    async fn rate_basis_points(&self) -> i32 {
        int(self.0.rate_bp)
    }
    /// First day the rate applies.
    async fn effective_from(&self) -> Result<Date> {
        date(&self.0.effective_from)
    }
    /// What the slab covers.
    async fn description(&self) -> &str {
        &self.0.description
    }
}

/// What an order snapshots about the medicine of a line.
pub struct MedicineSnapshot {
    medicine_id: String,
    version: i64,
    name: String,
    generic_name: String,
    schedule: String,
    hsn_code: String,
    gst_rate_bp: Option<i64>,
}

impl MedicineSnapshot {
    fn of_item(item: &ReservationItemRow) -> Self {
        MedicineSnapshot {
            medicine_id: item.medicine_id.clone(),
            version: item.medicine_version,
            name: item.medicine_name.clone(),
            generic_name: item.generic_name.clone(),
            schedule: item.schedule.clone(),
            hsn_code: item.hsn_code.clone(),
            gst_rate_bp: item.gst_rate_bp,
        }
    }

    fn of_medicine(m: &MedicineRow) -> Self {
        MedicineSnapshot {
            medicine_id: m.id.clone(),
            version: m.version,
            name: m.name.clone(),
            generic_name: m.generic_name.clone(),
            schedule: m.schedule.clone(),
            hsn_code: m.hsn_code.clone(),
            gst_rate_bp: m.gst_rate_bp,
        }
    }
}

/// The medicine facts an order keeps with a line: which version it bought,
/// its name, schedule and the GST rate that applied.
#[Object]
impl MedicineSnapshot {
    /// Medicine ID.
    async fn medicine_id(&self) -> ID {
        ID(self.medicine_id.clone())
    }
    /// The version at the time (read it back with `medicineVersion`).
    async fn version(&self) -> i32 {
        int(self.version)
    }
    /// Product name at the time.
    async fn name(&self) -> &str {
        &self.name
    }
    /// Salt composition at the time.
    async fn generic_name(&self) -> &str {
        &self.generic_name
    }
    /// Schedule at the time.
    async fn schedule(&self) -> Schedule {
        Schedule::from_db(&self.schedule)
    }
    /// Whether a prescription was needed.
    async fn requires_prescription(&self) -> bool {
        Schedule::from_db(&self.schedule).requires_prescription()
    }
    /// HSN code at the time.
    async fn hsn_code(&self) -> &str {
        &self.hsn_code
    }
    /// GST rate that applied ("5", "0"); null if no slab covered the code.
    async fn gst_rate(&self) -> Option<String> {
        self.gst_rate_bp.map(domain::format_rate)
    }
    /// The same rate in basis points.
    async fn gst_rate_basis_points(&self) -> Option<i32> {
        self.gst_rate_bp.map(int)
    }
}

/// Units of one batch allocated to a line.
#[derive(SimpleObject)]
pub struct BatchAllocation {
    /// Batch number as printed on the pack.
    pub batch_number: String,
    /// Its expiry date.
    pub expires_on: Date,
    /// Packs taken from it.
    pub quantity: i32,
}

/// A reserved line.
pub struct ReservedLine {
    item: ReservationItemRow,
    batches: Vec<AllocationRow>,
}

/// One line of a reservation with the snapshot the order keeps.
#[Object]
impl ReservedLine {
    /// The listing reserved from.
    async fn listing_id(&self) -> ID {
        ID(self.item.listing_id.clone())
    }
    /// The vendor selling it.
    async fn vendor_id(&self) -> ID {
        ID(self.item.vendor_id.clone())
    }
    /// Packs reserved.
    async fn quantity(&self) -> i32 {
        int(self.item.quantity)
    }
    /// Sale price per pack at the time, tax-inclusive.
    async fn unit_price(&self) -> Money {
        Money::inr(self.item.unit_price_paise)
    }
    /// MRP per pack at the time.
    async fn mrp(&self) -> Money {
        Money::inr(self.item.mrp_paise)
    }
    /// Unit price × quantity, tax-inclusive.
    async fn line_total(&self) -> Money {
        Money::inr(self.item.unit_price_paise * self.item.quantity)
    }
    /// The medicine as it was.
    async fn medicine(&self) -> MedicineSnapshot {
        MedicineSnapshot::of_item(&self.item)
    }
    /// Batches allocated, first expiry first.
    async fn batches(&self) -> Result<Vec<BatchAllocation>> {
        self.batches
            .iter()
            .map(|a| {
                Ok(BatchAllocation {
                    batch_number: a.batch_number.clone(),
                    expires_on: date(&a.expires_on)?,
                    quantity: int(a.quantity),
                })
            })
            .collect()
    }
}

/// Stock held (or sold) for one order.
pub struct Reservation(ReservationView);

/// Stock held for an order until it is committed (paid), released, or expires.
#[Object]
impl Reservation {
    /// The order (the idempotency key).
    async fn order_id(&self) -> ID {
        ID(self.0.reservation.order_id.clone())
    }
    /// Where it stands.
    async fn status(&self) -> ReservationStatus {
        self.0.status()
    }
    /// When an uncommitted reservation releases itself.
    async fn expires_at(&self) -> Result<DateTime> {
        datetime(&self.0.reservation.expires_at)
    }
    /// When stock was reserved.
    async fn created_at(&self) -> Result<DateTime> {
        datetime(&self.0.reservation.created_at)
    }
    /// The lines, in request order.
    async fn lines(&self) -> Vec<ReservedLine> {
        self.0
            .items
            .iter()
            .map(|item| ReservedLine {
                item: item.clone(),
                batches: self
                    .0
                    .allocations
                    .iter()
                    .filter(|a| a.listing_id == item.listing_id)
                    .cloned()
                    .collect(),
            })
            .collect()
    }
}

/// Price and availability of a listing for cart pricing (service only).
pub struct ListingQuote {
    listing: ListingRow,
    medicine: MedicineSnapshot,
}

/// A listing's current price, MRP, stock and medicine facts, as checkout prices a cart.
#[Object]
impl ListingQuote {
    /// Listing ID.
    async fn listing_id(&self) -> ID {
        ID(self.listing.id.clone())
    }
    /// The vendor selling it.
    async fn vendor_id(&self) -> ID {
        ID(self.listing.vendor_id.clone())
    }
    /// Sale price per pack, tax-inclusive.
    async fn price(&self) -> Money {
        Money::inr(self.listing.price_paise)
    }
    /// MRP per pack.
    async fn mrp(&self) -> Money {
        Money::inr(self.listing.mrp_paise)
    }
    /// Packs sellable now.
    async fn stock(&self) -> i32 {
        int(self.listing.stock.max(0))
    }
    /// Offered, in stock, and its vendor sells.
    async fn available(&self) -> bool {
        self.listing.active == 1 && self.listing.stock > 0 && self.listing.sellable == 1
    }
    /// Whether its vendor may sell now (verified, not suspended); checkout
    /// and carts refuse the listing otherwise.
    async fn sellable(&self) -> bool {
        self.listing.sellable == 1
    }
    /// The medicine's current version, schedule and GST rate.
    async fn medicine(&self) -> &MedicineSnapshot {
        &self.medicine
    }
}

// ---------- queries ----------

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// Medicines, relevance-ranked when `search` is given (name, generic name
    /// and manufacturer; words match as prefixes and slight misspellings are
    /// corrected), by name otherwise.
    async fn medicines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Free text, e.g. \"parace\" or \"amoxicillin 500\"")] search: Option<
            String,
        >,
        #[graphql(desc = "Only this category")] category_id: Option<ID>,
        #[graphql(desc = "Only prescription (true) or over-the-counter (false) medicines")]
        requires_prescription: Option<bool>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Medicine>> {
        let page = PageRequest::new(first, after)?;
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ApiError::bad_input("search must have at most 200 characters").into());
        }
        let filter = MedicineFilter {
            search,
            category_id: category_id
                .as_deref()
                .map(|c| parse_id(c, "categoryId"))
                .transpose()?,
            requires_prescription,
        };
        let (hits, total) = search::search_medicines(&state(ctx).store, &filter, &page).await?;
        let nodes = hits
            .into_iter()
            .map(|h| Medicine {
                row: h.medicine,
                cursor_key: h.key,
            })
            .collect();
        Ok(build_connection(&page, nodes, total, |m: &Medicine| {
            Cursor {
                key: m.cursor_key.clone(),
                id: m.row.id.clone(),
            }
        }))
    }

    /// A medicine by ID (current version).
    async fn medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
    ) -> Result<Medicine> {
        let id = parse_id(&id, "id")?;
        let row = load_medicine(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("medicine"))?;
        Ok(Medicine::new(row))
    }

    /// A specific version of a medicine, e.g. the one an order bought.
    async fn medicine_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
        #[graphql(desc = "Version number")] version: i32,
    ) -> Result<MedicineVersion> {
        let id = parse_id(&id, "id")?;
        let row = store::medicine_version(&state(ctx).store, &id, i64::from(version))
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("medicine version"))?;
        Ok(MedicineVersion(row))
    }

    /// Every category, by name.
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let rows = store::all_categories(&state(ctx).store)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Category).collect())
    }

    /// A category by ID.
    async fn category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Category ID")] id: ID,
    ) -> Result<Category> {
        let id = parse_id(&id, "id")?;
        let row = load_category(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("category"))?;
        Ok(Category(row))
    }

    /// A listing by ID. A listing of a pharmacy that does not sell now (not
    /// verified, or suspended) is NOT_FOUND except for its staff and admins.
    async fn listing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Listing ID")] id: ID,
    ) -> Result<Listing> {
        let id = parse_id(&id, "id")?;
        let audience = ListingAudience::of(optional_principal(ctx));
        let row = load_listing(ctx, &id)
            .await?
            .filter(|l| audience.sees(&l.vendor_id, l.sellable == 1))
            .ok_or_else(|| ApiError::not_found("listing"))?;
        Ok(Listing(row))
    }

    /// GST slabs, optionally those relevant to one HSN code.
    async fn tax_slabs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only slabs for this HSN code (its prefixes and extensions)")]
        hsn_code: Option<String>,
    ) -> Result<Vec<TaxSlab>> {
        let hsn = hsn_code
            .as_deref()
            .map(domain::parse_slab_hsn)
            .transpose()?;
        let rows = store::tax_slabs(&state(ctx).store, hsn.as_deref())
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(TaxSlab).collect())
    }

    /// An order's reservation (service principals only).
    #[graphql(inaccessible)]
    async fn reservation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] order_id: ID,
    ) -> Result<Reservation> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let mut conn = state(ctx)
            .store
            .pool()
            .acquire()
            .await
            .map_err(ApiError::from)?;
        let view = stock::reservation_view(&mut conn, &order_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("reservation for this order"))?;
        Ok(Reservation(view))
    }

    /// Current price, MRP, stock and medicine facts of listings, for cart
    /// pricing (service principals only). Unknown IDs are left out; listings
    /// of pharmacies that do not sell now come with `sellable: false`.
    #[graphql(inaccessible)]
    async fn price_listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Listing IDs (at most 100)")] ids: Vec<ID>,
    ) -> Result<Vec<ListingQuote>> {
        require_service_of(ctx, &["orders"])?;
        if ids.len() > 100 {
            return Err(ApiError::bad_input("at most 100 ids").into());
        }
        let ids = ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<ApiResult<Vec<_>>>()?;
        let store = &state(ctx).store;
        let listings = store::listings_by_ids(store.pool(), &ids, &ReadClock::now())
            .await
            .map_err(ApiError::from)?;
        let medicine_ids: Vec<String> = listings.iter().map(|l| l.medicine_id.clone()).collect();
        let medicines: HashMap<String, MedicineRow> =
            store::medicines_by_ids(store.pool(), &medicine_ids)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect();
        let by_id: HashMap<String, ListingRow> =
            listings.into_iter().map(|l| (l.id.clone(), l)).collect();
        Ok(ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .filter_map(|listing| {
                let m = medicines.get(&listing.medicine_id)?;
                Some(ListingQuote {
                    listing: listing.clone(),
                    medicine: MedicineSnapshot::of_medicine(m),
                })
            })
            .collect())
    }

    /// Resolves `Medicine` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_medicine_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Medicine>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_medicine(ctx, &id).await?.map(Medicine::new))
    }

    /// Resolves `Listing` references from other subgraphs (batched), for
    /// everyone, whether or not its vendor sells: such references come from
    /// carts and orders that already hold the listing (`CartLine.listing`
    /// and `OrderLine.listing` are non-null), and `sellable`/`inStock` say
    /// it cannot be bought. New offers are only found through `medicines`,
    /// `Medicine.listings`, `Vendor.listings` and `listing`, which hide it.
    #[graphql(entity)]
    async fn find_listing_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Listing>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_listing(ctx, &id).await?.map(Listing))
    }

    /// Resolves `Category` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_category_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Category>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_category(ctx, &id).await?.map(Category))
    }

    /// Resolves `Vendor` references so the router can ask for their listings.
    #[graphql(entity)]
    async fn find_vendor_by_id(&self, id: ID) -> Option<Vendor> {
        parse_id(&id, "id").ok().map(|id| Vendor { id })
    }
}

// ---------- inputs ----------

/// A new category.
#[derive(InputObject)]
pub struct CreateCategoryInput {
    /// Display name (unique).
    pub name: String,
    /// What belongs here.
    pub description: Option<String>,
}

/// A new medicine's master data.
#[derive(InputObject)]
pub struct MedicineInput {
    /// Product name as sold, e.g. "Dolo 650 tablet".
    pub name: String,
    /// Salt composition, e.g. "Paracetamol".
    pub generic_name: String,
    /// Marketing company.
    pub manufacturer: String,
    /// Strength, e.g. "650 mg".
    pub strength: String,
    /// Dosage form.
    pub form: DosageForm,
    /// Pack, e.g. "strip of 15 tablets".
    pub pack_size: String,
    /// Drug schedule.
    pub schedule: Schedule,
    /// HSN code (4, 6 or 8 digits).
    pub hsn_code: String,
    /// Category ID.
    pub category_id: ID,
}

/// Changes to a medicine; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateMedicineInput {
    /// New product name.
    pub name: Option<String>,
    /// New salt composition.
    pub generic_name: Option<String>,
    /// New manufacturer.
    pub manufacturer: Option<String>,
    /// New strength.
    pub strength: Option<String>,
    /// New dosage form.
    pub form: Option<DosageForm>,
    /// New pack.
    pub pack_size: Option<String>,
    /// New schedule.
    pub schedule: Option<Schedule>,
    /// New HSN code.
    pub hsn_code: Option<String>,
    /// New category.
    pub category_id: Option<ID>,
}

/// A vendor's offer of a medicine (the vendor comes from the token).
#[derive(InputObject)]
pub struct UpsertListingInput {
    /// The medicine offered.
    pub medicine_id: ID,
    /// Sale price per pack, tax-inclusive, e.g. "29.50"; at most the MRP.
    pub price: String,
    /// MRP per pack as printed, e.g. "33.60".
    pub mrp: String,
    /// Offer it (default: true for new listings, unchanged for existing ones).
    pub active: Option<bool>,
}

/// Stock received from a supplier.
#[derive(InputObject)]
pub struct ReceiveBatchInput {
    /// The listing the packs belong to.
    pub listing_id: ID,
    /// Batch number as printed on the pack.
    pub batch_number: String,
    /// Expiry date; must be in the future.
    pub expires_on: Date,
    /// Packs received (positive).
    pub quantity: i32,
}

/// A correction of stock on hand.
#[derive(InputObject)]
pub struct AdjustStockInput {
    /// The listing.
    pub listing_id: ID,
    /// The batch to change; required to add stock. Without it, packs are
    /// removed from the soonest-expiring batches.
    pub batch_id: Option<ID>,
    /// Packs to add (positive) or remove (negative); never zero.
    pub delta: i32,
    /// Why, e.g. "damaged in transit" (recorded in the ledger).
    pub reason: String,
}

/// A GST slab to create or replace.
#[derive(InputObject)]
pub struct TaxSlabInput {
    /// HSN code or prefix (2, 4, 6 or 8 digits).
    pub hsn_code: String,
    /// Rate as a percentage, e.g. "5" or "0".
    pub rate: String,
    /// First day the rate applies.
    pub effective_from: Date,
    /// What the slab covers.
    pub description: String,
}

/// One line to reserve.
#[derive(InputObject)]
pub struct ReservationLineInput {
    /// The listing to reserve from.
    pub listing_id: ID,
    /// Packs (1-1000).
    pub quantity: i32,
}

// ---------- mutations ----------

/// Write operations.
pub struct Mutation;

fn text_opt(raw: Option<&str>, field: &str, max: usize) -> ApiResult<Option<String>> {
    raw.filter(|t| !t.trim().is_empty())
        .map(|t| domain::parse_text(t, field, 1, max))
        .transpose()
}

async fn own_listing(
    conn: &mut sqlx::AnyConnection,
    vendor_id: &str,
    listing_id: &str,
    clock: &ReadClock,
) -> ApiResult<ListingRow> {
    let listing = store::listing_by_id(conn, listing_id, clock)
        .await?
        .ok_or_else(|| ApiError::not_found("listing"))?;
    if listing.vendor_id != vendor_id {
        return Err(ApiError::forbidden(
            "you can only manage your own vendor's listings",
        ));
    }
    Ok(listing)
}

#[Object]
impl Mutation {
    /// Adds a category (admin).
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category")] input: CreateCategoryInput,
    ) -> Result<Category> {
        let admin = require_admin(ctx)?;
        let name = domain::parse_text(&input.name, "name", 2, 60)?;
        let description = text_opt(input.description.as_deref(), "description", 300)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::insert_category(&mut tx, None, &name, description.as_deref()).await?;
        audit(
            &mut tx,
            &admin.subject,
            "category",
            &row.id,
            "created",
            None,
            Some(json!({ "name": row.name, "description": row.description })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Category(row))
    }

    /// Adds a medicine to the master at version 1 (admin).
    async fn create_medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its master data")] input: MedicineInput,
    ) -> Result<Medicine> {
        let admin = require_admin(ctx)?;
        let fields = MedicineFields::parse(RawMedicine {
            name: &input.name,
            generic_name: &input.generic_name,
            manufacturer: &input.manufacturer,
            strength: &input.strength,
            form: input.form,
            pack_size: &input.pack_size,
            schedule: input.schedule,
            hsn_code: &input.hsn_code,
            category_id: &input.category_id,
        })?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        if !store::category_exists(&mut tx, &fields.category_id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::not_found("category").into());
        }
        let row =
            store::insert_medicine(&mut tx, st.store.backend(), None, &fields, &admin.subject)
                .await
                .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &admin.subject,
            "medicine",
            &row.id,
            "created",
            None,
            Some(row.to_json()),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Medicine::new(row))
    }

    /// Changes a medicine (admin): publishes a new version linked to the
    /// previous one; orders keep the version they bought. Nothing changes
    /// (and no version is made) when the fields are the same.
    async fn update_medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
        #[graphql(desc = "The fields to change")] input: UpdateMedicineInput,
        #[graphql(desc = "Fail with CONFLICT unless this is still the current version")]
        expected_version: Option<i32>,
    ) -> Result<Medicine> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let current = store::medicine_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("medicine"))?;
        if expected_version.is_some_and(|v| i64::from(v) != current.version) {
            return Err(ApiError::conflict(format!(
                "the medicine is at version {}, not {}",
                current.version,
                expected_version.unwrap_or_default()
            ))
            .into());
        }
        let old = current.fields();
        let category = input.category_id.as_ref().map(|c| c.to_string());
        let fields = MedicineFields::parse(RawMedicine {
            name: input.name.as_deref().unwrap_or(&old.name),
            generic_name: input.generic_name.as_deref().unwrap_or(&old.generic_name),
            manufacturer: input.manufacturer.as_deref().unwrap_or(&old.manufacturer),
            strength: input.strength.as_deref().unwrap_or(&old.strength),
            form: input.form.unwrap_or(old.form),
            pack_size: input.pack_size.as_deref().unwrap_or(&old.pack_size),
            schedule: input.schedule.unwrap_or(old.schedule),
            hsn_code: input.hsn_code.as_deref().unwrap_or(&old.hsn_code),
            category_id: category.as_deref().unwrap_or(&old.category_id),
        })?;
        if fields == old {
            return Ok(Medicine::new(current));
        }
        if fields.category_id != old.category_id
            && !store::category_exists(&mut tx, &fields.category_id)
                .await
                .map_err(ApiError::from)?
        {
            return Err(ApiError::not_found("category").into());
        }
        let row = store::update_medicine(
            &mut tx,
            st.store.backend(),
            &id,
            current.version,
            &fields,
            &admin.subject,
        )
        .await?;
        audit(
            &mut tx,
            &admin.subject,
            "medicine",
            &id,
            "new_version",
            Some(current.to_json()),
            Some(row.to_json()),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Medicine::new(row))
    }

    /// Replaces a medicine's generic alternatives, best first (admin: this
    /// is the approval).
    async fn set_alternatives(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The medicine")] medicine_id: ID,
        #[graphql(desc = "Alternative medicine IDs, best first (at most 20)")] alternative_ids: Vec<
            ID,
        >,
    ) -> Result<Medicine> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&medicine_id, "medicineId")?;
        if alternative_ids.len() > 20 {
            return Err(ApiError::bad_input("at most 20 alternatives").into());
        }
        let alternatives = alternative_ids
            .iter()
            .map(|a| parse_id(a, "alternativeIds"))
            .collect::<ApiResult<Vec<_>>>()?;
        if alternatives.contains(&id) {
            return Err(ApiError::bad_input("a medicine is not its own alternative").into());
        }
        let mut unique = alternatives.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != alternatives.len() {
            return Err(ApiError::bad_input("alternativeIds has duplicates").into());
        }
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::medicine_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("medicine"))?;
        let existing = store::existing_medicine_ids(&mut tx, &alternatives)
            .await
            .map_err(ApiError::from)?;
        let missing: Vec<&String> = alternatives
            .iter()
            .filter(|a| !existing.contains(a))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::not_found("medicine")
                .with_details(json!({ "medicineIds": missing }))
                .into());
        }
        let before = store::alternative_ids(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        store::set_alternatives(&mut tx, &id, &alternatives, &admin.subject)
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &admin.subject,
            "medicine",
            &id,
            "alternatives_set",
            Some(json!({ "alternatives": before })),
            Some(json!({ "alternatives": alternatives })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Medicine::new(row))
    }

    /// Creates or replaces the GST slab of an HSN code from a date (admin).
    async fn upsert_tax_slab(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The slab")] input: TaxSlabInput,
    ) -> Result<TaxSlab> {
        let admin = require_admin(ctx)?;
        let hsn = domain::parse_slab_hsn(&input.hsn_code)?;
        let rate = domain::parse_gst_rate(&input.rate)?;
        let description = domain::parse_text(&input.description, "description", 2, 300)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let (before, after) = store::upsert_tax_slab(
            &mut tx,
            &hsn,
            rate,
            &input.effective_from.to_db(),
            &description,
        )
        .await
        .map_err(ApiError::from)?;
        let as_json = |s: &TaxSlabRow| json!({ "hsnCode": s.hsn_code, "rateBp": s.rate_bp, "effectiveFrom": s.effective_from, "description": s.description });
        audit(
            &mut tx,
            &admin.subject,
            "tax_slab",
            &after.id,
            if before.is_some() {
                "updated"
            } else {
                "created"
            },
            before.as_ref().map(as_json),
            Some(as_json(&after)),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(TaxSlab(after))
    }

    /// Offers a medicine, or changes the offer's price, MRP or availability
    /// (vendor staff; the vendor comes from the token).
    async fn upsert_listing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The offer")] input: UpsertListingInput,
    ) -> Result<Listing> {
        let (staff, vendor_id) = require_vendor_staff(ctx)?;
        let medicine_id = parse_id(&input.medicine_id, "medicineId")?;
        let prices = Prices::parse(&input.price, &input.mrp)?;
        let clock = ReadClock::now();
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        store::medicine_by_id(&mut tx, &medicine_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("medicine"))?;
        let (before, after) = store::upsert_listing(
            &mut tx,
            None,
            vendor_id,
            &medicine_id,
            prices,
            input.active,
            &clock,
        )
        .await
        .map_err(ApiError::from)?;
        let action = if before.is_some() {
            "updated"
        } else {
            "created"
        };
        audit(
            &mut tx,
            &staff.subject,
            "listing",
            &after.id,
            action,
            before.as_ref().map(ListingRow::to_json),
            Some(after.to_json()),
        )
        .await?;
        let repriced = before
            .as_ref()
            .is_none_or(|b| b.price_paise != after.price_paise || b.mrp_paise != after.mrp_paise);
        if repriced {
            events::listing_price_changed(
                &mut tx,
                cause(ctx, &staff.subject),
                before.as_ref(),
                &after,
            )
            .await?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Listing(after))
    }

    /// Records packs received for one of your listings (vendor staff): a new
    /// batch, or more packs of a batch already recorded with the same expiry.
    async fn receive_batch(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receipt")] input: ReceiveBatchInput,
    ) -> Result<Listing> {
        let (staff, vendor_id) = require_vendor_staff(ctx)?;
        let listing_id = parse_id(&input.listing_id, "listingId")?;
        let batch_number = domain::parse_batch_number(&input.batch_number)?;
        let quantity =
            domain::parse_quantity(input.quantity, "quantity", domain::MAX_STOCK_CHANGE)?;
        domain::check_receivable_expiry(input.expires_on.0, domain::today())?;
        let clock = ReadClock::now();
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let before = own_listing(&mut tx, vendor_id, &listing_id, &clock).await?;
        let batch = stock::receive_batch(
            &mut tx,
            None,
            &listing_id,
            &batch_number,
            &input.expires_on.to_db(),
            quantity,
            &staff.subject,
        )
        .await?;
        let after = store::listing_by_id(&mut tx, &listing_id, &clock)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("listing"))?;
        audit(&mut tx, &staff.subject, "listing", &listing_id, "batch_received",
              Some(json!({ "stock": before.stock })),
              Some(json!({ "stock": after.stock, "batchId": batch.id, "batchNumber": batch.batch_number,
                           "expiresOn": batch.expires_on, "received": quantity }))).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Listing(after))
    }

    /// Corrects stock on hand of one of your listings with a reason (vendor
    /// staff); recorded in the append-only ledger.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The correction")] input: AdjustStockInput,
    ) -> Result<Listing> {
        let (staff, vendor_id) = require_vendor_staff(ctx)?;
        let listing_id = parse_id(&input.listing_id, "listingId")?;
        let batch_id = input
            .batch_id
            .as_deref()
            .map(|b| parse_id(b, "batchId"))
            .transpose()?;
        let delta = domain::parse_delta(input.delta)?;
        let reason = domain::parse_text(&input.reason, "reason", 3, 200)?;
        let clock = ReadClock::now();
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let listing = own_listing(&mut tx, vendor_id, &listing_id, &clock).await?;
        let (plan, change) = stock::adjust_stock(
            &mut tx,
            st.store.backend(),
            &listing,
            batch_id.as_deref(),
            delta,
            &reason,
            &staff.subject,
            &clock.today,
        )
        .await?;
        let threshold = st.settings.stock_low_threshold;
        if domain::crossed_below(change.before, change.after, threshold) {
            events::stock_low(&mut tx, cause(ctx, &staff.subject), &change, threshold).await?;
        }
        audit(&mut tx, &staff.subject, "listing", &listing_id, "stock_adjusted",
              Some(json!({ "stock": change.before })),
              Some(json!({ "stock": change.after, "reason": reason,
                           "batches": plan.iter().map(|(b, d)| json!({"batchId": b, "delta": d})).collect::<Vec<_>>() }))).await?;
        let after = store::listing_by_id(&mut tx, &listing_id, &clock)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("listing"))?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Listing(after))
    }

    /// Holds stock for an order (service principals only), first expiry
    /// first out, all lines or none. Idempotent per order: a retry returns
    /// the same reservation. Short lines fail with OUT_OF_STOCK, listing
    /// each in `extensions.details.lines` ({listingId, requested, available});
    /// lines of a pharmacy that does not sell now (not verified, or
    /// suspended) fail with FORBIDDEN, naming them in
    /// `extensions.details` ({listingIds, vendorIds}).
    /// The hold expires unless committed in time (default 15 minutes).
    #[graphql(inaccessible)]
    async fn reserve_stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order the stock is for (idempotency key)")] order_id: ID,
        #[graphql(desc = "Listings and quantities, each listing once")] lines: Vec<
            ReservationLineInput,
        >,
    ) -> Result<Reservation> {
        let service = require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let lines = lines
            .iter()
            .map(|l| {
                Ok(LineRequest {
                    listing_id: parse_id(&l.listing_id, "lines.listingId")?,
                    quantity: domain::parse_quantity(
                        l.quantity,
                        "lines.quantity",
                        domain::MAX_LINE_QUANTITY,
                    )?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        domain::check_reservation_lines(&lines)?;
        let st = state(ctx);
        let now = chrono::Utc::now();
        if let Err(err) = stock::expire_due(&st.store, now, 100).await {
            tracing::warn!(error = %err, "lazy reservation expiry failed");
        }
        let ttl = chrono::Duration::from_std(st.settings.reservation_ttl)
            .map_err(|e| ApiError::Internal(e.into()))?;
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let outcome = stock::reserve(
            &mut tx,
            st.store.backend(),
            ReserveRequest {
                order_id: &order_id,
                lines: &lines,
                actor: &service.subject,
                now,
                today: domain::today(),
                ttl,
            },
        )
        .await?;
        match outcome {
            ReserveOutcome::Existing(view) => Ok(Reservation(view)),
            ReserveOutcome::Reserved { view, changes } => {
                let threshold = st.settings.stock_low_threshold;
                for change in &changes {
                    if domain::crossed_below(change.before, change.after, threshold) {
                        events::stock_low(&mut tx, cause(ctx, &service.subject), change, threshold)
                            .await?;
                    }
                }
                audit(
                    &mut tx,
                    &service.subject,
                    "reservation",
                    &order_id,
                    "reserved",
                    None,
                    Some(view.to_json()),
                )
                .await?;
                tx.commit().await.map_err(ApiError::from)?;
                Ok(Reservation(view))
            }
        }
    }

    /// Turns an order's reservation into a sale once it is paid (service
    /// principals only); the packs leave stock for good. Idempotent. An
    /// expired or released reservation is CONFLICT (reserve again).
    #[graphql(inaccessible)]
    async fn commit_reservation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order")] order_id: ID,
    ) -> Result<Reservation> {
        let service = require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        match stock::commit(
            &mut tx,
            st.store.backend(),
            &order_id,
            &service.subject,
            chrono::Utc::now(),
        )
        .await?
        {
            Settled::AlreadyDone(view) => Ok(Reservation(view)),
            Settled::Done(view) => {
                audit(
                    &mut tx,
                    &service.subject,
                    "reservation",
                    &order_id,
                    "committed",
                    Some(json!({ "status": "ACTIVE" })),
                    Some(view.to_json()),
                )
                .await?;
                tx.commit().await.map_err(ApiError::from)?;
                Ok(Reservation(view))
            }
            Settled::ExpiredNow(view) => {
                audit(
                    &mut tx,
                    "system",
                    "reservation",
                    &order_id,
                    "expired",
                    Some(json!({ "status": "ACTIVE" })),
                    Some(view.to_json()),
                )
                .await?;
                tx.commit().await.map_err(ApiError::from)?;
                Err(ApiError::conflict("the reservation expired; reserve the stock again").into())
            }
        }
    }

    /// Gives an order's stock back (service principals only): held packs are
    /// freed; packs of a committed reservation (order cancelled before
    /// dispatch) return to their batches. Idempotent; NOT_FOUND when the
    /// order has no reservation.
    #[graphql(inaccessible)]
    async fn release_reservation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order")] order_id: ID,
    ) -> Result<Reservation> {
        let service = require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        match stock::release(&mut tx, st.store.backend(), &order_id, &service.subject).await? {
            Settled::AlreadyDone(view) => Ok(Reservation(view)),
            Settled::Done(view) | Settled::ExpiredNow(view) => {
                audit(
                    &mut tx,
                    &service.subject,
                    "reservation",
                    &order_id,
                    "released",
                    None,
                    Some(view.to_json()),
                )
                .await?;
                tx.commit().await.map_err(ApiError::from)?;
                Ok(Reservation(view))
            }
        }
    }
}
