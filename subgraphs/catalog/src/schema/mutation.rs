//! `Mutation`: catalog writes (master data, listings, stock, GST slabs) and
//! the stock reservations of the checkout saga. Each resolver parses its
//! arguments, authorises, and calls one use case of [`crate::service`].

use super::state;
use super::types::{
    AdjustStockInput, Category, CreateCategoryInput, ImportReport, Listing, Medicine,
    MedicineInput, ReceiveBatchInput, Reservation, ReservationLineInput, TaxSlab, TaxSlabInput,
    UpsertListingInput,
};
use crate::domain::{
    self, compliance, LineRequest, MedicineFields, MedicinePatch, Prices, RawMedicine,
};
use crate::service::import::{self, ListingFile};
use crate::service::listings::{self, Adjustment, Receipt};
use crate::service::master::{self, NewSlab};
use crate::service::reservations;
use crate::store::ListingChange;
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{
    principal, require_admin, require_service_of, require_vendor_actor, PartnerScope, Principal,
};
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};

/// Write operations.
#[derive(Default)]
pub struct CatalogMutation;

/// An optional free text: blank is none, otherwise 1 to `max` characters.
fn text_opt(raw: Option<&str>, field: &str, max: usize) -> ApiResult<Option<String>> {
    raw.filter(|t| !t.trim().is_empty())
        .map(|t| domain::parse_text(t, field, 1, max))
        .transpose()
}

/// FORBIDDEN unless `caller` acts for `vendor_id` as `scope` needs: its
/// staff, or its partner app holding the scope (named when lacking).
fn require_acts_for(caller: &Principal, vendor_id: &str, scope: PartnerScope) -> ApiResult<()> {
    if caller.acts_for_vendor(vendor_id, scope) {
        return Ok(());
    }
    if caller.is_partner() && caller.vendor_id.as_deref() == Some(vendor_id) {
        caller.require_scope(scope)?;
    }
    Err(ApiError::forbidden(
        "you can only import into your own vendor's listings",
    ))
}

#[Object]
impl CatalogMutation {
    /// Imports the medicine master from CSV text (admin). Columns, by
    /// header name in any order and case: name, generic, manufacturer,
    /// strength, form, pack, schedule, hsn, category (a name, created when
    /// new, or an ID); other columns are ignored. Each row is validated like
    /// `createMedicine`; a medicine with the same name, strength, form and
    /// manufacturer gets a new version when a field differs and is left
    /// alone otherwise, so the same file twice changes nothing. Rows that
    /// fail are reported by line with nothing of them written. More than
    /// 1.9 MB or 20 000 rows, or a header lacking a column, is BAD_USER_INPUT.
    async fn import_medicines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The CSV text, header on line 1 (UTF-8)")] csv: String,
        #[graphql(
            desc = "Validate and count without writing anything",
            default_with = "Some(false)"
        )]
        dry_run: Option<bool>,
    ) -> ApiResult<ImportReport> {
        require_admin(ctx)?;
        let cause = Cause::of_request(ctx);
        let dry_run = dry_run.unwrap_or(false);
        let report = import::import_medicines(&state(ctx).store, &csv, dry_run, &cause).await?;
        Ok(ImportReport(report))
    }

    /// Imports a vendor's listings and stock from CSV text (its staff, or
    /// its partner app: `listings:write` for listing columns, `stock:write`
    /// for batch columns). Each row names a medicine by medicine_id or by
    /// name, strength, form and manufacturer; price and mrp create or
    /// change its listing (also active, min_shelf_life_days); batch, expiry
    /// (YYYY-MM-DD), quantity and batch_mrp record packs received. Rows are
    /// validated like `upsertListing` and `receiveBatch`; a batch already
    /// recorded is never added twice, so the same file twice changes
    /// nothing. Rows that fail are reported by line with nothing of them
    /// written. More than 1.9 MB or 20 000 rows is BAD_USER_INPUT.
    async fn import_listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor whose listings these are")] vendor_id: ID,
        #[graphql(desc = "The CSV text, header on line 1 (UTF-8)")] csv: String,
        #[graphql(
            desc = "Validate and count without writing anything",
            default_with = "Some(false)"
        )]
        dry_run: Option<bool>,
    ) -> ApiResult<ImportReport> {
        let caller = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let writes = [PartnerScope::ListingsWrite, PartnerScope::StockWrite];
        if !writes
            .iter()
            .any(|s| caller.acts_for_vendor(&vendor_id, *s))
        {
            require_acts_for(caller, &vendor_id, PartnerScope::ListingsWrite)?;
        }
        let file = ListingFile::parse(&csv)?;
        for scope in file.scopes() {
            require_acts_for(caller, &vendor_id, scope)?;
        }
        let st = state(ctx);
        let cause = Cause::of_request(ctx);
        let dry_run = dry_run.unwrap_or(false);
        let report =
            import::import_listings(&st.store, &st.settings, &vendor_id, &file, dry_run, &cause)
                .await?;
        Ok(ImportReport(report))
    }

    /// Adds a category (admin).
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category")] input: CreateCategoryInput,
    ) -> ApiResult<Category> {
        require_admin(ctx)?;
        let name = domain::parse_text(&input.name, "name", 2, 60)?;
        let description = text_opt(input.description.as_deref(), "description", 300)?;
        let cause = Cause::of_request(ctx);
        let row = master::create_category(&state(ctx).store, &name, description.as_deref(), &cause)
            .await?;
        Ok(Category(row))
    }

    /// Adds a medicine to the master at version 1 (admin).
    async fn create_medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its master data")] input: MedicineInput,
    ) -> ApiResult<Medicine> {
        require_admin(ctx)?;
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
        let cause = Cause::of_request(ctx);
        let row = master::create_medicine(&state(ctx).store, &fields, &cause).await?;
        Ok(Medicine::new(row))
    }

    /// Changes a medicine (admin): publishes a new version linked to the
    /// previous one; orders keep the version they bought. Nothing changes
    /// (and no version is made) when the fields are the same.
    async fn update_medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
        #[graphql(desc = "The fields to change")] input: MedicinePatch,
        #[graphql(desc = "Fail with CONFLICT unless this is still the current version")]
        expected_version: Option<i32>,
    ) -> ApiResult<Medicine> {
        require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let expected = expected_version.map(i64::from);
        let cause = Cause::of_request(ctx);
        let row = master::update_medicine(&state(ctx).store, &id, &input, expected, &cause).await?;
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
    ) -> ApiResult<Medicine> {
        require_admin(ctx)?;
        let id = parse_id(&medicine_id, "medicineId")?;
        if alternative_ids.len() > 20 {
            return Err(ApiError::bad_input("at most 20 alternatives"));
        }
        let alternatives = alternative_ids
            .iter()
            .map(|a| parse_id(a, "alternativeIds"))
            .collect::<ApiResult<Vec<_>>>()?;
        if alternatives.contains(&id) {
            return Err(ApiError::bad_input("a medicine is not its own alternative"));
        }
        let mut unique = alternatives.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != alternatives.len() {
            return Err(ApiError::bad_input("alternativeIds has duplicates"));
        }
        let cause = Cause::of_request(ctx);
        let row = master::set_alternatives(&state(ctx).store, &id, &alternatives, &cause).await?;
        Ok(Medicine::new(row))
    }

    /// Records the GST slab of an HSN code from a date (admin). Slabs keep
    /// their history: a slab is never changed, so a second one for the same
    /// code and date is CONFLICT; record a correction as a new slab with its
    /// own effective date (`gstRateOn` reads the rate of any date).
    async fn upsert_tax_slab(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The slab")] input: TaxSlabInput,
    ) -> ApiResult<TaxSlab> {
        require_admin(ctx)?;
        let slab = NewSlab {
            hsn_code: domain::parse_slab_hsn(&input.hsn_code)?,
            rate_bp: domain::parse_gst_rate(&input.rate)?,
            effective_from: input.effective_from.0,
            description: domain::parse_text(&input.description, "description", 2, 300)?,
        };
        let cause = Cause::of_request(ctx);
        let row = master::upsert_tax_slab(&state(ctx).store, &slab, &cause).await?;
        Ok(TaxSlab(row))
    }

    /// Offers a medicine, or changes the offer's price, MRP, availability
    /// or shelf life demanded at sale (vendor staff; the vendor comes from
    /// the token). Schedule X medicines are not sold online (BAD_USER_INPUT);
    /// a price above the lowest MRP of the listing's sellable batches is
    /// BAD_USER_INPUT; a stale `expectedVersion` is CONFLICT.
    async fn upsert_listing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The offer")] input: UpsertListingInput,
        #[graphql(
            desc = "The listing's `version` as you read it: fail with CONFLICT if it changed since"
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<Listing> {
        let (_, vendor_id) = require_vendor_actor(ctx, PartnerScope::ListingsWrite)?;
        let medicine_id = parse_id(&input.medicine_id, "medicineId")?;
        let st = state(ctx);
        let change = ListingChange {
            prices: Prices::parse(&input.price, &input.mrp)?,
            active: input.active,
            min_shelf_life_days: input
                .min_shelf_life_days
                .map(|d| compliance::parse_min_shelf_life(d, st.settings.min_shelf_life_days))
                .transpose()?,
            expected_version: expected_version.map(i64::from),
        };
        let cause = Cause::of_request(ctx);
        let row =
            listings::upsert_listing(&st.store, vendor_id, &medicine_id, change, &cause).await?;
        Ok(Listing::new(row))
    }

    /// Records packs received for one of your listings (vendor staff): a new
    /// batch, or more packs of a batch already recorded with the same expiry
    /// and MRP. A batch MRP below the listing's price is BAD_USER_INPUT
    /// (lower the price first).
    async fn receive_batch(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receipt")] input: ReceiveBatchInput,
    ) -> ApiResult<Listing> {
        let (_, vendor_id) = require_vendor_actor(ctx, PartnerScope::StockWrite)?;
        let receipt = Receipt {
            listing_id: parse_id(&input.listing_id, "listingId")?,
            batch_number: domain::parse_batch_number(&input.batch_number)?,
            quantity: domain::parse_quantity(input.quantity, "quantity", domain::MAX_STOCK_CHANGE)?,
            expires_on: input.expires_on.0,
            mrp: input
                .mrp
                .as_deref()
                .map(compliance::parse_batch_mrp)
                .transpose()?,
        };
        domain::check_receivable_expiry(receipt.expires_on, domain::today())?;
        let cause = Cause::of_request(ctx);
        let row = listings::receive_batch(&state(ctx).store, vendor_id, &receipt, &cause).await?;
        Ok(Listing::new(row))
    }

    /// Corrects stock on hand of one of your listings with a reason (vendor
    /// staff); recorded in the append-only ledger.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The correction")] input: AdjustStockInput,
    ) -> ApiResult<Listing> {
        let (_, vendor_id) = require_vendor_actor(ctx, PartnerScope::StockWrite)?;
        let adjustment = Adjustment {
            listing_id: parse_id(&input.listing_id, "listingId")?,
            batch_id: input
                .batch_id
                .as_deref()
                .map(|b| parse_id(b, "batchId"))
                .transpose()?,
            delta: domain::parse_delta(input.delta)?,
            reason: domain::parse_text(&input.reason, "reason", 3, 200)?,
        };
        let st = state(ctx);
        let threshold = st.settings.stock_low_threshold;
        let cause = Cause::of_request(ctx);
        let row =
            listings::adjust_stock(&st.store, vendor_id, &adjustment, threshold, &cause).await?;
        Ok(Listing::new(row))
    }

    /// Holds stock for an order (service principals only), first expiry
    /// first out, all lines or none. Idempotent per order: a retry returns
    /// the same reservation. Only batches with enough shelf life left (the
    /// listing's, at least the platform minimum) and an MRP not below the
    /// price are allocated. Schedule X lines fail with BAD_USER_INPUT
    /// (never sold online). Short lines fail with OUT_OF_STOCK, listing
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
    ) -> ApiResult<Reservation> {
        require_service_of(ctx, &["orders"])?;
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
        let cause = Cause::of_request(ctx);
        let view =
            reservations::reserve(&st.store, &st.settings, &order_id, &lines, &cause).await?;
        Ok(Reservation(view))
    }

    /// Turns an order's reservation into a sale once it is paid (service
    /// principals only); the packs leave stock for good. Idempotent. An
    /// expired or released reservation is CONFLICT (reserve again).
    #[graphql(inaccessible)]
    async fn commit_reservation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order")] order_id: ID,
    ) -> ApiResult<Reservation> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let cause = Cause::of_request(ctx);
        let view = reservations::commit(&state(ctx).store, &order_id, &cause).await?;
        Ok(Reservation(view))
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
    ) -> ApiResult<Reservation> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let cause = Cause::of_request(ctx);
        let view = reservations::release(&state(ctx).store, &order_id, &cause).await?;
        Ok(Reservation(view))
    }
}
