//! Read operations and entity resolvers.

use super::loaders::load_order;
use super::types::{
    list, list_returns, load_cart, Cart, Order, OrderForPayment, OrderReturn, User, Vendor,
};
use super::{check_vendor_order_reader, readable_order, require_customer, state};
use crate::domain::returns::ReturnStatus;
use crate::domain::{access, Status};
use crate::store::{OrderOwner, ReturnOwner};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{optional_principal, principal, require_service_of, PartnerScope};
use janta_platform::ids::parse_id;
use janta_platform::pagination::CountedConnection;
use janta_platform::{ApiError, ApiResult};

/// Read operations on carts, orders and returns.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// Your shopping cart (created empty on first use).
    async fn cart(&self, ctx: &Context<'_>) -> ApiResult<Cart> {
        let me = require_customer(ctx)?;
        load_cart(state(ctx), &me.subject).await
    }

    /// An order: for its buyer, the vendor's staff and admins (null with
    /// an error otherwise, so the other root fields still answer).
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
    ) -> ApiResult<Option<Order>> {
        let (order, _) = readable_order(ctx, &id).await?;
        Ok(Some(Order(order)))
    }

    /// Your orders, newest first.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Order>> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        list(ctx, OrderOwner::Customer(&me.subject), status, first, after).await
    }

    /// Orders to a vendor, newest first: staff see their own vendor's (the
    /// default); admins name the vendor.
    async fn vendor_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor (defaults to yours; required for admins)")] vendor_id: Option<
            ID,
        >,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Order>> {
        let me = principal(ctx)?;
        me.require_scope(PartnerScope::OrdersRead)?;
        let vendor = match vendor_id {
            Some(id) => parse_id(&id, "vendorId")?,
            None => me
                .vendor_id
                .clone()
                .filter(|v| me.acts_for_vendor(v, PartnerScope::OrdersRead))
                .ok_or_else(|| {
                    if me.is_admin() {
                        ApiError::bad_input("vendorId is required for admins")
                    } else {
                        ApiError::forbidden("only vendor staff can list a vendor's orders")
                    }
                })?,
        };
        check_vendor_order_reader(me, &vendor)?;
        list(ctx, OrderOwner::Vendor(&vendor), status, first, after).await
    }

    /// Your returns, newest first.
    async fn my_returns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last return of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<OrderReturn>> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        list_returns(ctx, ReturnOwner::Customer(&me.subject), None, first, after).await
    }

    /// Returns of your vendor's orders, newest first (vendor staff); admins
    /// see every vendor's.
    async fn vendor_returns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only returns in this status")] status: Option<ReturnStatus>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last return of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<OrderReturn>> {
        let me = principal(ctx)?;
        let owner = if me.is_admin() {
            ReturnOwner::All
        } else {
            match me.vendor_id.as_deref().filter(|v| me.is_staff_of(v)) {
                Some(vendor) => ReturnOwner::Vendor(vendor),
                None => {
                    return Err(ApiError::forbidden(
                        "only vendor staff can list a vendor's returns",
                    ))
                }
            }
        };
        list_returns(ctx, owner, status, first, after).await
    }

    /// What payments needs to charge for an order (service principals only).
    #[graphql(inaccessible)]
    async fn order_for_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
    ) -> ApiResult<OrderForPayment> {
        require_service_of(ctx, &["payments"])?;
        let id = parse_id(&id, "id")?;
        let order = load_order(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        Ok(OrderForPayment::from(&order))
    }

    /// How many of a customer's orders are still under way (not delivered,
    /// cancelled or returned, or with a return awaiting review): users
    /// refuses to close an account while any is. The users service only.
    #[graphql(inaccessible)]
    async fn open_order_count(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's user ID")] customer_id: ID,
    ) -> ApiResult<i32> {
        require_service_of(ctx, &["users"])?;
        let customer_id = parse_id(&customer_id, "customerId")?;
        let count =
            crate::service::personal_data::open_order_count(&state(ctx).store, &customer_id)
                .await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Resolves `Order` references from other subgraphs (batched); null for
    /// callers who may not see the order.
    #[graphql(entity)]
    async fn find_order_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Order>> {
        let Some(viewer) = optional_principal(ctx) else {
            return Ok(None);
        };
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        Ok(load_order(ctx, &id)
            .await?
            .filter(|o| access(viewer, &o.customer_id, &o.vendor_id).read)
            .map(Order))
    }

    /// Resolves `User` references, to add `cart` and `orders`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id: id.0 }
    }

    /// Resolves `Vendor` references, to add `orders`.
    #[graphql(entity)]
    async fn find_vendor_by_id(&self, id: ID) -> Vendor {
        Vendor { id: id.0 }
    }
}
