//! `Mutation`: catalog writes (master data, listings, stock, GST slabs) and
//! the stock reservations of the checkout saga.

use super::types::{
    AdjustStockInput, Category, CreateCategoryInput, Listing, Medicine, MedicineInput,
    ReceiveBatchInput, Reservation, ReservationLineInput, TaxSlab, TaxSlabInput,
    UpdateMedicineInput, UpsertListingInput,
};
use super::{cause, own_listing, state, text_opt};
use crate::audit;
use crate::domain::{self, LineRequest, MedicineFields, Prices, RawMedicine};
use crate::events;
use crate::store::stock::{self, ReserveOutcome, ReserveRequest, Settled};
use crate::store::{self, ListingRow, ReadClock, TaxSlabRow};
use async_graphql::{Context, Object, Result, ID};
use janta_platform::auth::{require_admin, require_service_of, require_vendor_staff};
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Write operations.
pub struct Mutation;

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
