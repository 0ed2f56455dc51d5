//! Master data types: `Medicine`, `MedicineVersion`, `Category`, `TaxSlab`.

use super::Listing;
use crate::domain::{self, DosageForm, ListingAudience, Schedule};
use crate::schema::int;
use crate::schema::loaders::{
    alone, AlternativesLoader, CategoryLoader, LoadedMedicine, Siblings, TopListingsKey,
    TopListingsLoader, VersionsLoader,
};
use crate::store::{CategoryRow, MedicineRow, TaxSlabRow};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::optional_principal;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::ApiError;
use janta_platform::ApiResult;
use std::sync::Arc;

/// A medicine as sold: the current version of its master data.
pub struct Medicine {
    pub(in crate::schema) row: MedicineRow,
    pub(in crate::schema) cursor_key: String,
    /// The medicines resolved with this one (their nested lists load together).
    siblings: Arc<Siblings<MedicineRow>>,
}

impl Medicine {
    /// A medicine resolved alone.
    pub(in crate::schema) fn new(row: MedicineRow) -> Self {
        Medicine::from(alone(row))
    }

    /// A medicine of a page, with its cursor key.
    pub(in crate::schema) fn on_page(loaded: LoadedMedicine, cursor_key: String) -> Self {
        Medicine {
            cursor_key,
            ..Medicine::from(loaded)
        }
    }
}

impl From<LoadedMedicine> for Medicine {
    fn from(loaded: LoadedMedicine) -> Self {
        Medicine {
            row: loaded.row,
            cursor_key: String::new(),
            siblings: loaded.siblings,
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
        self.row.form
    }
    /// Pack, e.g. "strip of 15 tablets".
    async fn pack_size(&self) -> &str {
        &self.row.pack_size
    }
    /// Drug schedule: OTC, H, H1 or X.
    async fn schedule(&self) -> Schedule {
        self.row.schedule
    }
    /// Whether a prescription is needed (every schedule but OTC).
    async fn requires_prescription(&self) -> bool {
        self.row.schedule.requires_prescription()
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
    async fn category(&self, ctx: &Context<'_>) -> ApiResult<Category> {
        let slot = "category".to_string();
        let categories = self
            .siblings
            .load::<CategoryLoader, _>(ctx, slot, |m| m.category_id.clone())
            .await?;
        let row = categories
            .get(&self.row.category_id)
            .cloned()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("medicine without category")))?;
        Ok(Category(row))
    }
    /// Admin-approved generic alternatives (same salt), best first.
    async fn alternatives(&self, ctx: &Context<'_>) -> ApiResult<Vec<Medicine>> {
        let slot = "alternatives".to_string();
        let all = self
            .siblings
            .load::<AlternativesLoader, _>(ctx, slot, |m| m.id.clone())
            .await?;
        let rows = all.get(&self.row.id).cloned().unwrap_or_default();
        Ok(rows.into_iter().map(Medicine::from).collect())
    }
    /// Vendors' active offers of this medicine: buyable first, then
    /// cheapest. Offers of pharmacies that do not sell now (not verified, or
    /// suspended) are left out, except for their own staff and admins.
    async fn listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many listings (at most 50, default 10)")] first: Option<i32>,
    ) -> ApiResult<Vec<Listing>> {
        let limit = i64::from(first.unwrap_or(10));
        if !(0..=50).contains(&limit) {
            return Err(ApiError::bad_input("first must be between 0 and 50"));
        }
        let audience = ListingAudience::of(optional_principal(ctx));
        let slot = format!("listings/{limit}/{audience:?}");
        let key = |m: &MedicineRow| TopListingsKey {
            medicine_id: m.id.clone(),
            limit,
            audience: audience.clone(),
        };
        let all = self
            .siblings
            .load::<TopListingsLoader, _>(ctx, slot, key)
            .await?;
        let rows = all.get(&key(&self.row)).cloned().unwrap_or_default();
        Ok(Listing::all(rows))
    }
    /// Every version of this medicine, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> ApiResult<Vec<MedicineVersion>> {
        let slot = "versions".to_string();
        let all = self
            .siblings
            .load::<VersionsLoader, _>(ctx, slot, |m| m.id.clone())
            .await?;
        let rows = all.get(&self.row.id).cloned().unwrap_or_default();
        Ok(rows.into_iter().map(MedicineVersion).collect())
    }
    /// When this version was published.
    async fn updated_at(&self) -> DateTime {
        self.row.version_created_at
    }
    /// When the medicine was first added.
    async fn created_at(&self) -> DateTime {
        self.row.created_at
    }
}

/// One immutable version of a medicine's master data.
pub struct MedicineVersion(pub(in crate::schema) MedicineRow);

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
        self.0.form
    }
    /// Pack.
    async fn pack_size(&self) -> &str {
        &self.0.pack_size
    }
    /// Drug schedule.
    async fn schedule(&self) -> Schedule {
        self.0.schedule
    }
    /// Whether a prescription is needed.
    async fn requires_prescription(&self) -> bool {
        self.0.schedule.requires_prescription()
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
    async fn created_at(&self) -> DateTime {
        self.0.version_created_at
    }
}

/// A product category.
pub struct Category(pub(in crate::schema) CategoryRow);

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

/// A GST slab.
pub struct TaxSlab(pub(in crate::schema) TaxSlabRow);

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
    async fn effective_from(&self) -> Date {
        self.0.effective_from
    }
    /// What the slab covers.
    async fn description(&self) -> &str {
        &self.0.description
    }
}
