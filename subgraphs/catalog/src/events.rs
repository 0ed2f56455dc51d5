//! Events the catalog subgraph publishes (through its outbox, in the same
//! transaction as the change, with the typed payloads of
//! `janta_events::types`): `StockLow` when a listing's sellable stock falls
//! below the threshold, and `ListingPriceChanged` when a vendor lists a
//! medicine or changes a listing's price or MRP. It consumes users'
//! `VendorVerified`, `VendorSuspended` and `VendorReinstated` into its
//! `vendor_status` table (see [`crate::store::vendors`]), which decides
//! whose listings customers see and checkout may reserve.

use crate::store::stock::StockChange;
use crate::store::{vendors, ListingRow};
use janta_events::types::{
    ListingPriceChanged, StockLow, VendorReinstated, VendorSuspended, VendorVerified,
};
use janta_events::{ConsumerHandle, Envelope, EventBus};
use janta_platform::scalars::{from_db_time, to_db_time};
use janta_platform::store::Store;
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

// ---------- consumed ----------

/// What a users event says about a vendor's selling status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VendorChange {
    /// `VendorVerified`.
    Verified,
    /// `VendorSuspended`.
    Suspended,
    /// `VendorReinstated`.
    Reinstated,
}

impl VendorChange {
    fn action(self) -> &'static str {
        match self {
            VendorChange::Verified => "vendor_verified",
            VendorChange::Suspended => "vendor_suspended",
            VendorChange::Reinstated => "vendor_reinstated",
        }
    }
}

/// Applies one vendor event to `vendor_status` in the consumer's
/// transaction, ordered by when it happened (`envelope.occurred_at`), and
/// audits the change; an event older than what is recorded changes nothing.
async fn apply_vendor_change(
    conn: &mut AnyConnection,
    vendor_id: &str,
    change: VendorChange,
    envelope: &Envelope,
) -> anyhow::Result<()> {
    let at = to_db_time(from_db_time(&envelope.occurred_at)?);
    let before = vendors::vendor_status(conn, vendor_id).await?;
    let applied = match change {
        VendorChange::Verified => vendors::record_verified(conn, vendor_id, &at).await?,
        VendorChange::Suspended => vendors::record_suspension(conn, vendor_id, true, &at).await?,
        VendorChange::Reinstated => vendors::record_suspension(conn, vendor_id, false, &at).await?,
    };
    if !applied {
        tracing::info!(
            vendor_id,
            ?change,
            "vendor event older than the recorded status; ignored"
        );
        return Ok(());
    }
    let after = vendors::vendor_status(conn, vendor_id).await?;
    crate::audit(
        conn,
        &envelope.actor,
        "vendor_status",
        vendor_id,
        change.action(),
        before.as_ref().map(vendors::VendorStatusRow::to_json),
        after.as_ref().map(vendors::VendorStatusRow::to_json),
    )
    .await?;
    Ok(())
}

/// Starts catalog's consumer of users' vendor events on `bus`.
pub async fn start_consumer(bus: &EventBus, store: &Store) -> ConsumerHandle {
    bus.consumer("catalog", store)
        .on_fn(|conn, e: VendorVerified, envelope| {
            Box::pin(async move {
                apply_vendor_change(conn, &e.vendor_id, VendorChange::Verified, envelope).await
            })
        })
        .on_fn(|conn, e: VendorSuspended, envelope| {
            Box::pin(async move {
                apply_vendor_change(conn, &e.vendor_id, VendorChange::Suspended, envelope).await
            })
        })
        .on_fn(|conn, e: VendorReinstated, envelope| {
            Box::pin(async move {
                apply_vendor_change(conn, &e.vendor_id, VendorChange::Reinstated, envelope).await
            })
        })
        .start()
        .await
}
