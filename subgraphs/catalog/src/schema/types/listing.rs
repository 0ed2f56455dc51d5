//! Vendor offers: `Vendor`, `Listing`, its `Batch`es and stock ledger.

use super::Medicine;
use crate::domain;
use crate::schema::loaders::load_medicine;
use crate::schema::{date, datetime, int, state};
use crate::store::stock::{self, BatchRow, MovementRow};
use crate::store::{self, ListingRow, ReadClock};
use async_graphql::{Context, Enum, Object, Result, ID};
use janta_platform::auth::{optional_principal, Principal};
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};

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
pub struct Listing(pub(in crate::schema) ListingRow);

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
