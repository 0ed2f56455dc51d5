//! Vendor offers: `Vendor`, `Listing`, its `Batch`es and stock ledger.

use super::Medicine;
use crate::domain::{self, compliance, MovementKind};
use crate::schema::loaders::{
    alone, with_siblings, LoadedListing, MedicineLoader, QuarantineLoader, Siblings,
};
use crate::schema::{int, state};
use crate::store::stock::{self, BatchRow, ExpiringBatchRow, MovementRow};
use crate::store::{self, ListingRow, ReadClock};
use async_graphql::{Context, Object, ID};
use chrono::NaiveDate;
use janta_platform::auth::{optional_principal, Principal};
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};
use std::sync::Arc;

/// A pharmacy (owned by the users subgraph); the catalog adds its listings.
pub struct Vendor {
    pub(in crate::schema) id: String,
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
    ) -> ApiResult<CountedConnection<Listing>> {
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let staff =
            optional_principal(ctx).is_some_and(|p| domain::can_view_stock_details(p, &self.id));
        let (rows, total) =
            store::vendor_listings(&state(ctx).store, &self.id, staff, &page, &ReadClock::now())
                .await?;
        let nodes = Listing::all(rows);
        Ok(build_connection(&page, nodes, total, |l: &Listing| {
            Cursor {
                key: String::new(),
                id: l.0.id.clone(),
            }
        }))
    }
}

/// A vendor's offer of a medicine, with the listings resolved with it
/// (their medicines load together).
pub struct Listing(pub(in crate::schema) ListingRow, Arc<Siblings<ListingRow>>);

impl Listing {
    /// A listing resolved alone.
    pub(in crate::schema) fn new(row: ListingRow) -> Self {
        Listing::from(alone(row))
    }

    /// Listings resolved together.
    pub(in crate::schema) fn all(rows: Vec<ListingRow>) -> Vec<Self> {
        with_siblings(rows).into_iter().map(Listing::from).collect()
    }
}

impl From<LoadedListing> for Listing {
    fn from(loaded: LoadedListing) -> Self {
        Listing(loaded.row, loaded.siblings)
    }
}

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
        self.0.price_paise.into()
    }
    /// Maximum retail price per pack, tax-inclusive.
    async fn mrp(&self) -> Money {
        self.0.mrp_paise.into()
    }
    /// Discount on the MRP in percent, rounded down (e.g. 12).
    async fn discount_percent(&self) -> i32 {
        let (price, mrp) = (self.0.price_paise.get(), self.0.mrp_paise.get());
        if mrp <= 0 {
            return 0;
        }
        int((mrp - price) * 100 / mrp)
    }
    /// Packs on hand in unexpired batches minus units held for orders.
    /// Checkout also leaves out batches inside the shelf-life margin
    /// (`minShelfLifeDays`) and batches whose MRP is below the price, so it
    /// may sell fewer (the vendor's staff see each batch in `batches`).
    async fn stock(&self) -> i32 {
        int(self.0.stock.max(0))
    }
    /// Whether it can be bought now (offered, in stock, and its vendor sells).
    async fn in_stock(&self) -> bool {
        self.0.active && self.0.stock > 0 && self.0.sellable
    }
    /// Whether it may be sold now: its vendor is verified by the platform
    /// and not suspended, and the medicine is not Schedule X (never sold
    /// online). Only the vendor's staff and admins see listings where it is
    /// false (and a cart or order that already holds one).
    async fn sellable(&self) -> bool {
        self.0.sellable
    }
    /// Version of the listing, raised by every change: pass it as
    /// `upsertListing(expectedVersion:)` to change it only if nobody did meanwhile.
    async fn version(&self) -> i32 {
        int(self.0.version)
    }
    /// Shelf life a pack must have left at sale, in days after the order
    /// date: the listing's own demand, never below the platform minimum.
    async fn min_shelf_life_days(&self, ctx: &Context<'_>) -> i32 {
        let platform = state(ctx).settings.min_shelf_life_days;
        int(compliance::shelf_life_days(
            self.0.min_shelf_life_days,
            platform,
        ))
    }
    /// Whether the vendor currently offers it.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The medicine offered (current version).
    async fn medicine(&self, ctx: &Context<'_>) -> ApiResult<Medicine> {
        let slot = "medicine".to_string();
        let medicines = self
            .1
            .load::<MedicineLoader, _>(ctx, slot, |l| l.medicine_id.clone())
            .await?;
        let loaded = medicines
            .get(&self.0.medicine_id)
            .cloned()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("listing without medicine")))?;
        Ok(Medicine::from(loaded))
    }
    /// The vendor selling it (resolved by the users subgraph).
    async fn vendor(&self) -> Vendor {
        Vendor {
            id: self.0.vendor_id.clone(),
        }
    }
    /// When price, MRP or availability last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at
    }
    /// Batches on hand, soonest expiry first (the vendor's staff and admins only).
    async fn batches(&self, ctx: &Context<'_>) -> ApiResult<Vec<Batch>> {
        require_stock_viewer(ctx, &self.0.vendor_id)?;
        let rows = stock::batches_of(&state(ctx).store, &self.0.id).await?;
        let today = domain::today();
        Ok(rows.into_iter().map(|row| Batch { row, today }).collect())
    }
    /// Packs held in quarantine, never sold again: returned by customers,
    /// or left in batches when they expired (the vendor's staff and admins only).
    async fn quarantined(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        require_stock_viewer(ctx, &self.0.vendor_id)?;
        let slot = "quarantined".to_string();
        let counts = self
            .1
            .load::<QuarantineLoader, _>(ctx, slot, |l| l.id.clone())
            .await?;
        Ok(int(counts.get(&self.0.id).copied().unwrap_or(0)))
    }
    /// The stock ledger, newest first (the vendor's staff and admins only).
    async fn stock_movements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<StockMovement>> {
        require_stock_viewer(ctx, &self.0.vendor_id)?;
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let (rows, total) = stock::movements(&state(ctx).store, &self.0.id, &page).await?;
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
    today: NaiveDate,
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
    async fn expires_on(&self) -> Date {
        self.row.expires_on
    }
    /// MRP printed on this batch's packs; none of them sells above it.
    async fn mrp(&self) -> Money {
        self.row.mrp_paise.into()
    }
    /// Packs on hand (including those held for orders).
    async fn quantity(&self) -> i32 {
        int(self.row.quantity)
    }
    /// Packs held for unconfirmed orders.
    async fn reserved(&self) -> i32 {
        int(self.row.reserved)
    }
    /// Packs not held for orders (0 once expired; the shelf-life margin
    /// and the MRP rule may still keep them from checkout).
    async fn available(&self) -> i32 {
        if self.row.sellable(self.today) {
            int(self.row.quantity - self.row.reserved)
        } else {
            0
        }
    }
    /// Whether the batch has expired (never sold again).
    async fn expired(&self) -> bool {
        !self.row.sellable(self.today)
    }
    /// When it was first received.
    async fn received_at(&self) -> DateTime {
        self.row.received_at
    }
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
    async fn kind(&self) -> MovementKind {
        self.0.kind
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
    async fn at(&self) -> DateTime {
        self.0.at
    }
}

/// A batch with packs on hand that expires soon (see `expiringBatches`).
pub struct ExpiringBatch(pub(in crate::schema) ExpiringBatchRow);

/// A batch expiring within the asked window, with its packs: staff pull it
/// (the sweeper quarantines what is left once it expires).
#[Object]
impl ExpiringBatch {
    /// Batch ID.
    async fn id(&self) -> ID {
        ID(self.0.batch.id.clone())
    }
    /// The listing it belongs to.
    async fn listing_id(&self) -> ID {
        ID(self.0.batch.listing_id.clone())
    }
    /// The vendor holding it.
    async fn vendor_id(&self) -> ID {
        ID(self.0.vendor_id.clone())
    }
    /// The medicine of the listing.
    async fn medicine_id(&self) -> ID {
        ID(self.0.medicine_id.clone())
    }
    /// Batch number as printed on the pack.
    async fn batch_number(&self) -> &str {
        &self.0.batch.batch_number
    }
    /// Expiry date.
    async fn expires_on(&self) -> Date {
        self.0.batch.expires_on
    }
    /// Days from today (India) to expiry; 0 or less once expired.
    async fn days_left(&self) -> i32 {
        int((self.0.batch.expires_on.0 - domain::today()).num_days())
    }
    /// Packs on hand (including those held for orders).
    async fn quantity(&self) -> i32 {
        int(self.0.batch.quantity)
    }
    /// Packs held for unconfirmed orders.
    async fn reserved(&self) -> i32 {
        int(self.0.batch.reserved)
    }
    /// MRP printed on its packs.
    async fn mrp(&self) -> Money {
        self.0.batch.mrp_paise.into()
    }
}
