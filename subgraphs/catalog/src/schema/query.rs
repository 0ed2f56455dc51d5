//! `Query`: catalog reads and the entity resolvers of `Medicine`,
//! `Listing`, `Category` and `Vendor`.

use super::loaders::{load_category, load_listing, load_medicine, with_siblings};
use super::state;
use super::types::{
    Category, ExpiringBatch, Listing, ListingQuote, Medicine, MedicineSnapshot, MedicineVersion,
    Reservation, TaxSlab, Vendor,
};
use crate::domain::{self, ListingAudience};
use crate::store::search::{self, MedicineFilter};
use crate::store::stock;
use crate::store::{self, ListingRow, MedicineRow, ReadClock};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{
    optional_principal, principal, require_service_of, PartnerScope, Principal,
};
use janta_platform::ids::parse_id;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::Date;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Read operations.
#[derive(Default)]
pub struct CatalogQuery;

/// Whose batches `expiringBatches` reads: staff their own vendor's (asking
/// for another is FORBIDDEN), admins the one asked for or all (None).
fn expiring_scope(p: &Principal, asked: Option<String>) -> ApiResult<Option<String>> {
    if p.is_admin() {
        return Ok(asked);
    }
    p.require_scope(PartnerScope::CatalogRead)?;
    let own = p
        .vendor_id
        .as_deref()
        .filter(|v| p.acts_for_vendor(v, PartnerScope::CatalogRead))
        .ok_or_else(|| ApiError::forbidden("only vendor staff and admins see expiring stock"))?;
    match asked {
        Some(other) if other != own => Err(ApiError::forbidden(
            "you can only see your own vendor's stock",
        )),
        _ => Ok(Some(own.to_string())),
    }
}

/// Public catalogue reads: anyone, but a partner token needs `catalog:read`.
fn check_catalog_reader(ctx: &Context<'_>) -> ApiResult<()> {
    match optional_principal(ctx) {
        Some(p) => p.require_scope(PartnerScope::CatalogRead),
        None => Ok(()),
    }
}

#[Object]
impl CatalogQuery {
    /// Medicines, relevance-ranked when `search` is given (name, generic name
    /// and manufacturer; words match as prefixes and slight misspellings are
    /// corrected), by name otherwise. Schedule X medicines are not sold
    /// online, so only admins find them here (`medicine(id)` still reads them).
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
    ) -> ApiResult<CountedConnection<Medicine>> {
        check_catalog_reader(ctx)?;
        let page = PageRequest::from_ctx(ctx, first, after)?;
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ApiError::bad_input(
                "search must have at most 200 characters",
            ));
        }
        let filter = MedicineFilter {
            search,
            category_id: category_id
                .as_deref()
                .map(|c| parse_id(c, "categoryId"))
                .transpose()?,
            requires_prescription,
            include_schedule_x: optional_principal(ctx).is_some_and(|p| p.is_admin()),
        };
        let (hits, total) = search::search_medicines(&state(ctx).store, &filter, &page).await?;
        let (keys, rows): (Vec<String>, Vec<_>) =
            hits.into_iter().map(|h| (h.key, h.medicine)).unzip();
        let nodes = with_siblings(rows)
            .into_iter()
            .zip(keys)
            .map(|(loaded, key)| Medicine::on_page(loaded, key))
            .collect();
        Ok(build_connection(&page, nodes, total, |m: &Medicine| {
            Cursor {
                key: m.cursor_key.clone(),
                id: m.row.id.clone(),
            }
        }))
    }

    /// A medicine by ID (current version). Root lookups that can miss are
    /// nullable: a missing one is null with a NOT_FOUND error, and the other
    /// root fields of the request still answer.
    async fn medicine(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
    ) -> ApiResult<Option<Medicine>> {
        check_catalog_reader(ctx)?;
        let id = parse_id(&id, "id")?;
        let loaded = load_medicine(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("medicine"))?;
        Ok(Some(Medicine::from(loaded)))
    }

    /// A specific version of a medicine, e.g. the one an order bought.
    async fn medicine_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Medicine ID")] id: ID,
        #[graphql(desc = "Version number")] version: i32,
    ) -> ApiResult<Option<MedicineVersion>> {
        check_catalog_reader(ctx)?;
        let id = parse_id(&id, "id")?;
        let row = store::medicine_version(&state(ctx).store, &id, i64::from(version))
            .await?
            .ok_or_else(|| ApiError::not_found("medicine version"))?;
        Ok(Some(MedicineVersion(row)))
    }

    /// Every category, by name.
    async fn categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<Category>> {
        check_catalog_reader(ctx)?;
        let rows = store::all_categories(&state(ctx).store).await?;
        Ok(rows.into_iter().map(Category).collect())
    }

    /// A category by ID.
    async fn category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Category ID")] id: ID,
    ) -> ApiResult<Option<Category>> {
        check_catalog_reader(ctx)?;
        let id = parse_id(&id, "id")?;
        let row = load_category(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("category"))?;
        Ok(Some(Category(row)))
    }

    /// A listing by ID. A listing of a pharmacy that does not sell now (not
    /// verified, or suspended) is NOT_FOUND except for its staff and admins.
    async fn listing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Listing ID")] id: ID,
    ) -> ApiResult<Option<Listing>> {
        check_catalog_reader(ctx)?;
        let id = parse_id(&id, "id")?;
        let audience = ListingAudience::of(optional_principal(ctx));
        let loaded = load_listing(ctx, &id)
            .await?
            .filter(|l| audience.sees(&l.row.vendor_id, l.row.sellable))
            .ok_or_else(|| ApiError::not_found("listing"))?;
        Ok(Some(Listing::from(loaded)))
    }

    /// GST slabs, optionally those relevant to one HSN code.
    async fn tax_slabs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only slabs for this HSN code (its prefixes and extensions)")]
        hsn_code: Option<String>,
    ) -> ApiResult<Vec<TaxSlab>> {
        check_catalog_reader(ctx)?;
        let hsn = hsn_code
            .as_deref()
            .map(domain::parse_slab_hsn)
            .transpose()?;
        let rows = store::tax_slabs(&state(ctx).store, hsn.as_deref()).await?;
        Ok(rows.into_iter().map(TaxSlab).collect())
    }

    /// The GST slab that applied to an HSN code on a date (past, today or
    /// future): the longest matching prefix, then the latest slab already in
    /// effect that day. Null when no slab covered the code. Slabs are never
    /// changed, so the answer for a past date never moves.
    async fn gst_rate_on(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A medicine's HSN code (4, 6 or 8 digits)")] hsn_code: String,
        #[graphql(desc = "The day, e.g. an invoice date")] date: Date,
    ) -> ApiResult<Option<TaxSlab>> {
        check_catalog_reader(ctx)?;
        let hsn = domain::parse_medicine_hsn(&hsn_code)?;
        let row = store::slab_in_force(&state(ctx).store, &hsn, date.0).await?;
        Ok(row.map(TaxSlab))
    }

    /// Batches with packs on hand expiring within `withinDays` days (those
    /// already expired and not yet quarantined included), soonest first, at
    /// most 500: vendor staff see their own vendor's; admins any vendor's
    /// (`vendorId`) or all.
    async fn expiring_batches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days from today (0-365)")] within_days: i32,
        #[graphql(desc = "Admins: only this vendor's (staff: your own vendor, the default)")]
        vendor_id: Option<ID>,
    ) -> ApiResult<Vec<ExpiringBatch>> {
        let p = principal(ctx)?;
        let asked = vendor_id
            .as_deref()
            .map(|v| parse_id(v, "vendorId"))
            .transpose()?;
        let vendor = expiring_scope(p, asked)?;
        if !(0..=365).contains(&within_days) {
            return Err(ApiError::bad_input("withinDays must be between 0 and 365"));
        }
        let until = domain::today() + chrono::Days::new(within_days as u64);
        let rows = stock::expiring_batches(&state(ctx).store, vendor.as_deref(), until).await?;
        Ok(rows.into_iter().map(ExpiringBatch).collect())
    }

    /// An order's reservation (service principals only).
    #[graphql(inaccessible)]
    async fn reservation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] order_id: ID,
    ) -> ApiResult<Reservation> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let mut conn = state(ctx).store.pool().acquire().await?;
        let view = stock::reservation_view(&mut conn, &order_id)
            .await?
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
    ) -> ApiResult<Vec<ListingQuote>> {
        require_service_of(ctx, &["orders"])?;
        if ids.len() > 100 {
            return Err(ApiError::bad_input("at most 100 ids"));
        }
        let ids = ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<ApiResult<Vec<_>>>()?;
        let store = &state(ctx).store;
        let listings = store::listings_by_ids(store.pool(), &ids, &ReadClock::now()).await?;
        let medicine_ids: Vec<String> = listings.iter().map(|l| l.medicine_id.clone()).collect();
        let medicines: HashMap<String, MedicineRow> =
            store::medicines_by_ids(store.pool(), &medicine_ids)
                .await?
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
    async fn find_medicine_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Medicine>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_medicine(ctx, &id).await?.map(Medicine::from))
    }

    /// Resolves `Listing` references from other subgraphs (batched), for
    /// everyone, whether or not its vendor sells: such references come from
    /// carts and orders that already hold the listing (`CartLine.listing`
    /// and `OrderLine.listing` are non-null), and `sellable`/`inStock` say
    /// it cannot be bought. New offers are only found through `medicines`,
    /// `Medicine.listings`, `Vendor.listings` and `listing`, which hide it.
    #[graphql(entity)]
    async fn find_listing_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Listing>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_listing(ctx, &id).await?.map(Listing::from))
    }

    /// Resolves `Category` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_category_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Category>> {
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
