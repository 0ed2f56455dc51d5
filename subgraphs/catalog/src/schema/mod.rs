//! The catalog subgraph's GraphQL API: thin resolvers that validate input
//! with `domain`, authorise with the platform guards and call one use case
//! of `service` (reads go to `store` and the batch loaders). Entities (`Medicine`, `Listing`, `Category`) and every field
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
use mutation::CatalogMutation;
use query::CatalogQuery;

/// Read operations: the catalog subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(CatalogQuery, OperationsQuery);

/// Write operations: the catalog subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(CatalogMutation, OperationsMutation);

janta_kit::operations_api!(
    catalog,
    "replayCatalogParkedEvent",
    "discardCatalogParkedEvent"
);
pub use types::*;

use crate::CatalogState;
use async_graphql::{Context, EmptySubscription, Schema};

/// The catalog subgraph schema.
pub type CatalogSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a CatalogState {
    ctx.data_unchecked::<CatalogState>()
}

/// GraphQL `Int` from a stored count (counts never approach 2^31).
fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}
