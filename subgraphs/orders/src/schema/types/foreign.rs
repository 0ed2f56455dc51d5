//! Entities of other subgraphs: referenced by ID, or extended with orders' fields.

use super::cart::{load_cart, Cart};
use super::order::{list, Order};
use crate::domain::Status;
use crate::schema::{check_vendor_order_reader, state};
use crate::store::OrderOwner;
use async_graphql::{Context, Object, SimpleObject, ID};
use janta_platform::auth::principal;
use janta_platform::pagination::CountedConnection;
use janta_platform::{ApiError, ApiResult};

/// A medicine of the catalog; orders refers to it by ID (the catalog
/// resolves its fields).
#[derive(SimpleObject)]
#[graphql(unresolvable)]
pub struct Medicine {
    /// Catalog medicine ID.
    pub id: ID,
}

/// A vendor's offer of a medicine in the catalog; orders refers to it by ID
/// (the catalog resolves price, stock and medicine).
#[derive(SimpleObject)]
#[graphql(unresolvable)]
pub struct Listing {
    /// Catalog listing ID.
    pub id: ID,
}

/// A user (users subgraph), extended with their cart and orders.
pub struct User {
    pub(in crate::schema) id: String,
}

/// A user account, as extended by the orders subgraph.
#[Object]
impl User {
    /// User ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The user's shopping cart (the user themselves and admins only).
    async fn cart(&self, ctx: &Context<'_>) -> ApiResult<Cart> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id && !viewer.is_admin() {
            return Err(ApiError::forbidden("you can only see your own cart"));
        }
        load_cart(state(ctx), &self.id).await
    }

    /// The user's orders, newest first (the user themselves and admins only).
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Order>> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id && !viewer.is_admin() {
            return Err(ApiError::forbidden("you can only see your own orders"));
        }
        list(ctx, OrderOwner::Customer(&self.id), status, first, after).await
    }
}

/// A vendor (users subgraph), extended with its orders.
pub struct Vendor {
    pub(in crate::schema) id: String,
}

/// A pharmacy, as extended by the orders subgraph.
#[Object]
impl Vendor {
    /// Vendor ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Orders to this vendor, newest first (its staff and admins only).
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Order>> {
        check_vendor_order_reader(principal(ctx)?, &self.id)?;
        list(ctx, OrderOwner::Vendor(&self.id), status, first, after).await
    }
}
