//! Checkout types: reservations, their lines and medicine snapshots, quotes.

use crate::domain::{self, ReservationStatus, Schedule};
use crate::schema::int;
use crate::store::stock::{AllocationRow, ReservationItemRow, ReservationView};
use crate::store::{ListingRow, MedicineRow};
use async_graphql::{Object, SimpleObject, ID};
use janta_platform::money::Money;
use janta_platform::scalars::{Date, DateTime};

/// What an order snapshots about the medicine of a line.
pub struct MedicineSnapshot {
    medicine_id: String,
    version: i64,
    name: String,
    generic_name: String,
    schedule: Schedule,
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
            schedule: item.schedule,
            hsn_code: item.hsn_code.clone(),
            gst_rate_bp: item.gst_rate_bp,
        }
    }

    pub(in crate::schema) fn of_medicine(m: &MedicineRow) -> Self {
        MedicineSnapshot {
            medicine_id: m.id.clone(),
            version: m.version,
            name: m.name.clone(),
            generic_name: m.generic_name.clone(),
            schedule: m.schedule,
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
        self.schedule
    }
    /// Whether a prescription was needed.
    async fn requires_prescription(&self) -> bool {
        self.schedule.requires_prescription()
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
    /// The batch's MRP (the unit price never exceeds it).
    pub mrp: Money,
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
        self.item.unit_price_paise.into()
    }
    /// MRP per pack at the time.
    async fn mrp(&self) -> Money {
        self.item.mrp_paise.into()
    }
    /// Unit price × quantity, tax-inclusive.
    async fn line_total(&self) -> Money {
        self.item.unit_price_paise.times(self.item.quantity).into()
    }
    /// The medicine as it was.
    async fn medicine(&self) -> MedicineSnapshot {
        MedicineSnapshot::of_item(&self.item)
    }
    /// Batches allocated, first expiry first.
    async fn batches(&self) -> Vec<BatchAllocation> {
        self.batches
            .iter()
            .map(|a| BatchAllocation {
                batch_number: a.batch_number.clone(),
                expires_on: a.expires_on,
                quantity: int(a.quantity),
                mrp: a.mrp_paise.into(),
            })
            .collect()
    }
}

/// Stock held (or sold) for one order.
pub struct Reservation(pub(in crate::schema) ReservationView);

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
    async fn expires_at(&self) -> DateTime {
        self.0.reservation.expires_at
    }
    /// When stock was reserved.
    async fn created_at(&self) -> DateTime {
        self.0.reservation.created_at
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
    pub(in crate::schema) listing: ListingRow,
    pub(in crate::schema) medicine: MedicineSnapshot,
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
        self.listing.price_paise.into()
    }
    /// MRP per pack.
    async fn mrp(&self) -> Money {
        self.listing.mrp_paise.into()
    }
    /// Packs sellable now.
    async fn stock(&self) -> i32 {
        int(self.listing.stock.max(0))
    }
    /// Offered, in stock, and its vendor sells.
    async fn available(&self) -> bool {
        self.listing.active && self.listing.stock > 0 && self.listing.sellable
    }
    /// Whether it may be sold now (its vendor verified and not suspended,
    /// its medicine not Schedule X); checkout and carts refuse it otherwise.
    async fn sellable(&self) -> bool {
        self.listing.sellable
    }
    /// The medicine's current version, schedule and GST rate.
    async fn medicine(&self) -> &MedicineSnapshot {
        &self.medicine
    }
}
