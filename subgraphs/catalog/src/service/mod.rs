//! Catalog's use cases, one function each: open the transaction, apply the
//! domain rules, write through the store, audit, publish, commit. Resolvers
//! and the event consumer call these; these call `domain`, `store` and
//! `events::publish`, never `schema`.

pub mod import;
pub mod listings;
pub mod master;
pub mod personal_data;
pub mod quarantine;
pub mod reservations;
pub mod vendors;

use crate::store::{self, ListingRow, ReadClock};
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;

/// Appends to this subgraph's audit trail inside the caller's transaction.
use janta_platform::audit::append as audit;

/// The listing `listing_id` of vendor `vendor_id`: NOT_FOUND when there is
/// none, FORBIDDEN when it is another vendor's.
async fn own_listing(
    conn: &mut AnyConnection,
    vendor_id: &str,
    listing_id: &str,
    clock: &ReadClock,
) -> ApiResult<ListingRow> {
    let listing = store::listing_by_id(conn, listing_id, clock)
        .await?
        .ok_or_else(|| ApiError::not_found("listing"))?;
    if listing.vendor_id != vendor_id {
        return Err(ApiError::forbidden(
            "you can only manage your own vendor's listings",
        ));
    }
    Ok(listing)
}

/// The listing `listing_id` as it is now, inside the caller's transaction.
async fn reread_listing(
    conn: &mut AnyConnection,
    listing_id: &str,
    clock: &ReadClock,
) -> ApiResult<ListingRow> {
    store::listing_by_id(conn, listing_id, clock)
        .await?
        .ok_or_else(|| ApiError::not_found("listing"))
}
