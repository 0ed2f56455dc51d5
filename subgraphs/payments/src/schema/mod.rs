//! The payments subgraph's GraphQL API: thin resolvers that authorise with
//! the platform guards and `domain`, and delegate to `service` and `store`.
//! Entity `Payment`; extends orders' `Order` with `payments`. Every lookup by
//! ID goes through a DataLoader, so lists and `_entities` batches cost one
//! statement per kind.

mod loaders;
mod mutation;
mod query;
mod settlements;
mod types;

pub use loaders::{OrderPaymentsLoader, PaymentLoader, RefundsLoader};
pub use settlements::{Settlement, VendorCommission};
pub use types::{Order, PayOrderPayload, Payment, Refund};

use crate::PaymentsState;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use janta_platform::loader::batched;
use janta_platform::store::Store;
use std::sync::Arc;

/// Read operations: payments and settlements.
#[derive(MergedObject, Default)]
pub struct Query(
    query::PaymentQuery,
    settlements::SettlementQuery,
    OperationsQuery,
);

/// Write operations: paying, refunding, settling vendors.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::PaymentMutation,
    settlements::SettlementMutation,
    OperationsMutation,
);

janta_kit::operations_api!(
    payments,
    "replayPaymentsParkedEvent",
    "discardPaymentsParkedEvent"
);

/// The payments subgraph schema.
pub type PaymentsSchema = Schema<Query, Mutation, EmptySubscription>;

/// `request` with this request's loaders (fresh per request: their caches
/// live as long as it).
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<PaymentLoader>(store))
        .data(batched::<OrderPaymentsLoader>(store))
        .data(batched::<RefundsLoader>(store))
}

fn state<'a>(ctx: &Context<'a>) -> &'a PaymentsState {
    ctx.data_unchecked::<Arc<PaymentsState>>()
}
