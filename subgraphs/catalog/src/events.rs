//! Events the catalog subgraph publishes (through its outbox, in the same
//! transaction as the change, with the typed payloads of
//! `janta_events::types`): `StockLow` when a listing's sellable stock falls
//! below the threshold, and `ListingPriceChanged` when a vendor lists a
//! medicine or changes a listing's price or MRP. It consumes none yet.

use crate::store::stock::StockChange;
use crate::store::ListingRow;
use janta_events::types::{ListingPriceChanged, StockLow};
use janta_platform::ApiResult;
use sqlx::AnyConnection;

/// Who caused an event and the request it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    /// User ID, `service:<name>` or `system`.
    pub actor: &'a str,
    /// Correlation ID of the request, if any.
    pub correlation_id: Option<&'a str>,
}

/// A listing's sellable stock fell below `threshold` (it was at or above it
/// before this change). Vendors restock; notifications tell their staff.
pub async fn stock_low(
    conn: &mut AnyConnection,
    cause: Cause<'_>,
    change: &StockChange,
    threshold: i64,
) -> ApiResult<()> {
    let event = StockLow {
        listing_id: change.listing_id.clone(),
        vendor_id: change.vendor_id.clone(),
        branch_id: None,
        medicine_id: change.medicine_id.clone(),
        available_quantity: change.after,
        threshold,
    };
    janta_events::publish(conn, &event, cause.actor, cause.correlation_id).await?;
    Ok(())
}

/// A vendor listed a medicine (`before` is None) or changed the price or
/// MRP of a listing (amounts in paise). Carts may re-price; placed orders
/// keep their snapshot.
pub async fn listing_price_changed(
    conn: &mut AnyConnection,
    cause: Cause<'_>,
    before: Option<&ListingRow>,
    after: &ListingRow,
) -> ApiResult<()> {
    let event = ListingPriceChanged {
        listing_id: after.id.clone(),
        vendor_id: after.vendor_id.clone(),
        medicine_id: after.medicine_id.clone(),
        old_price_paise: before.map(|b| b.price_paise),
        new_price_paise: after.price_paise,
        mrp_paise: after.mrp_paise,
    };
    janta_events::publish(conn, &event, cause.actor, cause.correlation_id).await?;
    Ok(())
}
