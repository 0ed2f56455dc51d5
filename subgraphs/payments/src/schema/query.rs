//! Read operations and entity resolvers.

use super::loaders::visible_payment;
use super::types::{Order, Payment};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::principal;
use janta_platform::ids::parse_id;
use janta_platform::ApiResult;

/// Payment reads and entity resolvers.
#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// A payment by ID: for its customer, the vendor's staff and admins
    /// (null with a NOT_FOUND error otherwise, so the other root fields of
    /// the request still answer).
    async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Payment ID")] id: ID,
    ) -> ApiResult<Option<Payment>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        Ok(Some(Payment(visible_payment(ctx, viewer, &id).await?)))
    }

    /// Resolves `Payment` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_payment_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Payment> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        Ok(Payment(visible_payment(ctx, viewer, &id).await?))
    }

    /// Resolves `Order` references so that payments can add `Order.payments`.
    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> ApiResult<Order> {
        let id = parse_id(&id, "order id")?;
        Ok(Order { id })
    }
}
