//! The catalog subgraph's GraphQL API: thin resolvers that validate input
//! with `domain`, authorise with the platform guards and persist through
//! `store`. Entities (`Medicine`, `Listing`, `Category`) and every field
//! that other lists reach (`Listing.medicine`, `Medicine.category`,
//! `Medicine.alternatives`, `Medicine.listings`, `Medicine.versions`) load
//! through the platform's batch loader:
//! one statement per batch, never one per row. `Medicine.gstRate` and
//! `Listing.stock` are computed in the statement that reads the row.
//!
//! Layout: `query` and `mutation` hold the root operations, `types`
//! the object, input and enum types by topic, `loaders` the batch loaders;
//! this module the helpers resolvers share.

mod loaders;
mod mutation;
mod query;
mod types;

pub use loaders::*;
pub use mutation::Mutation;
pub use query::Query;
pub use types::*;

use crate::domain;
use crate::events::Cause;
use crate::store::{self, ListingRow, ReadClock};
use crate::CatalogState;
use async_graphql::{Context, EmptySubscription, Result, Schema};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::server::CorrelationId;
use janta_platform::{ApiError, ApiResult};

/// The catalog subgraph schema.
pub type CatalogSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a CatalogState {
    ctx.data_unchecked::<CatalogState>()
}

fn cause<'a>(ctx: &Context<'a>, actor: &'a str) -> Cause<'a> {
    Cause {
        actor,
        correlation_id: ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str()),
    }
}

/// GraphQL `Int` from a stored count (counts never approach 2^31).
fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

fn date(s: &str) -> Result<Date> {
    Ok(Date::from_db(s).map_err(ApiError::from)?)
}

fn datetime(s: &str) -> Result<DateTime> {
    Ok(DateTime::from_db(s).map_err(ApiError::from)?)
}

fn text_opt(raw: Option<&str>, field: &str, max: usize) -> ApiResult<Option<String>> {
    raw.filter(|t| !t.trim().is_empty())
        .map(|t| domain::parse_text(t, field, 1, max))
        .transpose()
}

async fn own_listing(
    conn: &mut sqlx::AnyConnection,
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
