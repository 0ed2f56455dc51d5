//! Input objects of the mutations.

use crate::domain::{DosageForm, Schedule};
use async_graphql::{InputObject, ID};
use janta_platform::scalars::Date;

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
    /// Shelf life a pack must have left at sale, in days after the order
    /// date: at least the platform minimum (default 30), so a listing may
    /// ask for more, never less (default: the platform minimum for new
    /// listings, unchanged for existing ones).
    pub min_shelf_life_days: Option<i32>,
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
    /// MRP printed on these packs, e.g. "33.60"; no pack of the batch sells
    /// above it, and it may not be below the listing's current price (lower
    /// the price first). Default: the batch's own when it is recorded
    /// already, else the listing's MRP.
    pub mrp: Option<String>,
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

/// A GST slab to record (slabs are never changed: a correction is a new
/// slab with its own effective date).
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
