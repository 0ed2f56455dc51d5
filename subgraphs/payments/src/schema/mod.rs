//! The payments subgraph's GraphQL API: thin resolvers that authorise with
//! the platform guards and `domain`, and delegate to `service` and `store`.
//! Entity `Payment`; extends orders' `Order` with `payments`. Every lookup by
//! ID goes through a DataLoader, so lists and `_entities` batches cost one
//! statement per kind.

mod loaders;
mod mutation;
mod query;
mod types;

pub use loaders::{OrderPaymentsLoader, PaymentLoader, RefundsLoader};
pub use mutation::Mutation;
pub use query::Query;
pub use types::{Order, PayOrderPayload, Payment, Refund};

use crate::PaymentsState;
use async_graphql::{Context, EmptySubscription, Schema};
use std::sync::Arc;

/// The payments subgraph schema.
pub type PaymentsSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a PaymentsState {
    ctx.data_unchecked::<Arc<PaymentsState>>()
}
