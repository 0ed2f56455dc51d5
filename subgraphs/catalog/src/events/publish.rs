//! Events the catalog subgraph publishes, with the typed payloads of
//! `janta_events::types`, in the caller's transaction (the outbox).

use crate::store::quarantine::ExpiredBatch;
use crate::store::stock::StockChange;
use crate::store::ListingRow;
use janta_events::types::{ListingPriceChanged, StockLow, StockQuarantined};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

/// A listing's sellable stock fell below `threshold` (it was at or above it
/// before this change). Vendors restock; notifications tell their staff.
pub async fn stock_low(
    conn: &mut AnyConnection,
    change: &StockChange,
    threshold: i64,
    cause: &Cause,
) -> ApiResult<()> {
    let event = StockLow {
        listing_id: change.listing_id.clone(),
        vendor_id: change.vendor_id.clone(),
        branch_id: None,
        medicine_id: change.medicine_id.clone(),
        available_quantity: change.after,
        threshold,
    };
    janta_events::publish(conn, &event, cause).await?;
    Ok(())
}

/// A vendor listed a medicine (`before` is None) or changed the price or
/// MRP of a listing (amounts in paise). Carts may re-price; placed orders
/// keep their snapshot.
pub async fn listing_price_changed(
    conn: &mut AnyConnection,
    before: Option<&ListingRow>,
    after: &ListingRow,
    cause: &Cause,
) -> ApiResult<()> {
    let event = ListingPriceChanged {
        listing_id: after.id.clone(),
        vendor_id: after.vendor_id.clone(),
        medicine_id: after.medicine_id.clone(),
        old_price_paise: before.map(|b| b.price_paise.get()),
        new_price_paise: after.price_paise.get(),
        mrp_paise: after.mrp_paise.get(),
    };
    janta_events::publish(conn, &event, cause).await?;
    Ok(())
}

/// The sweeper quarantined an expired batch's remaining packs (reason
/// `EXPIRED`): they are off sale for good and the vendor's staff dispose of them.
pub async fn stock_quarantined(
    conn: &mut AnyConnection,
    batch: &ExpiredBatch,
    cause: &Cause,
) -> ApiResult<()> {
    let event = StockQuarantined {
        listing_id: batch.listing_id.clone(),
        vendor_id: batch.vendor_id.clone(),
        batch_number: batch.batch_number.clone(),
        quantity: batch.quantity,
        reason: "EXPIRED".to_string(),
    };
    janta_events::publish(conn, &event, cause).await?;
    Ok(())
}
