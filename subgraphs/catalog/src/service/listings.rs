//! Vendors' listings and their stock: offers and prices, received
//! batches, corrections (vendor staff, for their own vendor's listings).

use super::{audit, own_listing, reread_listing};
use crate::domain::{self, compliance};
use crate::events::publish;
use crate::store::{self, stock, ListingChange, ListingRow, MedicineRow, ReadClock};
use chrono::NaiveDate;
use janta_platform::cause::Cause;
use janta_platform::money::Paise;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Offers `medicine_id` at `vendor_id`, or changes the offer's price,
/// MRP, availability or shelf life demanded at sale; a new offer or a new
/// price publishes `ListingPriceChanged`. Schedule X is never listed; a
/// price never exceeds the lowest MRP of the listing's sellable batches; a
/// stale `expected_version` is CONFLICT.
pub async fn upsert_listing(
    store: &Store,
    vendor_id: &str,
    medicine_id: &str,
    change: ListingChange,
    cause: &Cause,
) -> ApiResult<ListingRow> {
    let clock = ReadClock::now();
    let mut tx = store.begin().await?;
    let medicine = store::medicine_by_id(&mut tx, medicine_id)
        .await?
        .ok_or_else(|| ApiError::not_found("medicine"))?;
    let (_, after) = offer(&mut tx, vendor_id, &medicine, change, &clock, cause).await?;
    tx.commit().await?;
    Ok(after)
}

/// [`upsert_listing`] of a medicine already read, inside the caller's
/// transaction: the path of every listing change, by hand or by an import
/// (rules, write, audit, `ListingPriceChanged`). Returns the listing before
/// (None when created) and after.
pub(crate) async fn offer(
    conn: &mut AnyConnection,
    vendor_id: &str,
    medicine: &MedicineRow,
    change: ListingChange,
    clock: &ReadClock,
    cause: &Cause,
) -> ApiResult<(Option<ListingRow>, ListingRow)> {
    compliance::check_listable(medicine.schedule)?;
    let medicine_id = medicine.id.as_str();
    if let Some(current) = store::listing_of(conn, vendor_id, medicine_id, clock).await? {
        compliance::check_expected_version(change.expected_version, current.version)?;
        let lowest = stock::lowest_batch_mrp(conn, &current.id, clock.today).await?;
        compliance::check_price_within_batches(change.prices.price, lowest)?;
    }
    let (before, after) =
        store::upsert_listing(conn, None, vendor_id, medicine_id, change, clock).await?;
    let action = if before.is_some() {
        "updated"
    } else {
        "created"
    };
    let audit_before = before.as_ref().map(ListingRow::to_json);
    let audit_after = Some(after.to_json());
    audit(
        conn,
        cause.actor(),
        "listing",
        &after.id,
        action,
        audit_before,
        audit_after,
    )
    .await?;
    let repriced = before
        .as_ref()
        .is_none_or(|b| b.price_paise != after.price_paise || b.mrp_paise != after.mrp_paise);
    if repriced {
        publish::listing_price_changed(conn, before.as_ref(), &after, cause).await?;
    }
    Ok((before, after))
}

/// Packs received for a listing (validated by the caller).
#[derive(Debug, Clone)]
pub struct Receipt {
    pub listing_id: String,
    pub batch_number: String,
    pub expires_on: NaiveDate,
    pub quantity: i64,
    /// MRP printed on the packs; None: the batch's own if recorded, else the listing's MRP.
    pub mrp: Option<Paise>,
}

/// Records packs received for one of `vendor_id`'s listings: a new batch,
/// or more packs of a batch already recorded with the same expiry and MRP.
/// A batch MRP below the listing's current price is refused (lower the
/// price first), so no pack sells above its MRP.
pub async fn receive_batch(
    store: &Store,
    vendor_id: &str,
    receipt: &Receipt,
    cause: &Cause,
) -> ApiResult<ListingRow> {
    let clock = ReadClock::now();
    let mut tx = store.begin().await?;
    let before = own_listing(&mut tx, vendor_id, &receipt.listing_id, &clock).await?;
    let after = receive(&mut tx, &before, receipt, &clock, cause).await?;
    tx.commit().await?;
    Ok(after)
}

/// [`receive_batch`] for a listing already read (`before`, the vendor's
/// own), inside the caller's transaction: the path of every receipt, by
/// hand or by an import (ledger, MRP rule, audit). Returns the listing after.
pub(crate) async fn receive(
    conn: &mut AnyConnection,
    before: &ListingRow,
    receipt: &Receipt,
    clock: &ReadClock,
    cause: &Cause,
) -> ApiResult<ListingRow> {
    let listing_id = receipt.listing_id.as_str();
    let batch = stock::receive_batch(
        conn,
        &stock::BatchReceipt {
            id: None,
            listing_id,
            batch_number: &receipt.batch_number,
            expires_on: receipt.expires_on,
            quantity: receipt.quantity,
            mrp: receipt.mrp,
            default_mrp: before.mrp_paise,
            actor: cause.actor(),
        },
    )
    .await?;
    compliance::check_batch_mrp(batch.mrp_paise, before.price_paise)?;
    let after = reread_listing(conn, listing_id, clock).await?;
    let audit_before = Some(json!({ "stock": before.stock }));
    let audit_after = Some(json!({
        "stock": after.stock, "batchId": batch.id, "batchNumber": batch.batch_number,
        "expiresOn": batch.expires_on.to_db(), "received": receipt.quantity,
        "mrpPaise": batch.mrp_paise,
    }));
    let actor = cause.actor();
    audit(
        conn,
        actor,
        "listing",
        listing_id,
        "batch_received",
        audit_before,
        audit_after,
    )
    .await?;
    Ok(after)
}

/// A correction of stock on hand (validated by the caller).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub listing_id: String,
    /// The batch to correct; without one, units are taken soonest expiry first.
    pub batch_id: Option<String>,
    pub delta: i64,
    pub reason: String,
}

/// Corrects stock on hand of one of `vendor_id`'s listings, recorded in the
/// ledger; `StockLow` when sellable stock falls below `stock_low_threshold`.
pub async fn adjust_stock(
    store: &Store,
    vendor_id: &str,
    adjustment: &Adjustment,
    stock_low_threshold: i64,
    cause: &Cause,
) -> ApiResult<ListingRow> {
    let clock = ReadClock::now();
    let listing_id = adjustment.listing_id.as_str();
    let mut tx = store.begin().await?;
    let listing = own_listing(&mut tx, vendor_id, listing_id, &clock).await?;
    let (plan, change) = stock::adjust_stock(
        &mut tx,
        store.backend(),
        &listing,
        adjustment.batch_id.as_deref(),
        adjustment.delta,
        &adjustment.reason,
        cause.actor(),
        clock.today,
    )
    .await?;
    if domain::crossed_below(change.before, change.after, stock_low_threshold) {
        publish::stock_low(&mut tx, &change, stock_low_threshold, cause).await?;
    }
    let batches: Vec<_> = plan
        .iter()
        .map(|(b, d)| json!({"batchId": b, "delta": d}))
        .collect();
    let audit_before = Some(json!({ "stock": change.before }));
    let audit_after = Some(json!({
        "stock": change.after, "reason": adjustment.reason, "batches": batches,
    }));
    let actor = cause.actor();
    audit(
        &mut tx,
        actor,
        "listing",
        listing_id,
        "stock_adjusted",
        audit_before,
        audit_after,
    )
    .await?;
    let after = reread_listing(&mut tx, listing_id, &clock).await?;
    tx.commit().await?;
    Ok(after)
}
