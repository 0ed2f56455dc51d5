//! The orders subgraph's GraphQL API: thin resolvers that validate input
//! with `domain`, authorise with the platform guards, and hand the work to
//! `service` (checkout, the cart and the order life cycle) or `store`
//! (reads).
//!
//! Entities: `Order` (ours, batched); `User` and `Vendor` (users') extended
//! with `cart`/`orders` and `orders`; `Medicine` and `Listing` (catalog's)
//! referenced by ID only.

mod dispensing;
mod invoices;
mod loaders;
mod mutation;
mod query;
mod types;

pub use invoices::{
    DocumentsLoader, FulfilFromInput, Invoice, InvoiceBuyer, InvoiceFormat, InvoiceHsnSummary,
    InvoiceLine, InvoiceQuery, OrderSeller, PartiesLoader,
};
pub use loaders::{
    with_loaders, HistoryLoader, LinesLoader, OrderLoader, ReturnLinesLoader, ReturnLoader,
    ReturnsLoader,
};
pub use types::{
    Cart, CartLine, DeliveryAddress, Listing, Medicine, Order, OrderForPayment, OrderLine,
    OrderLineBatch, OrderReturn, OrderReturnLine, OrderStatusChange, PlaceOrderInput,
    PlaceOrderPayload, RequestReturnInput, ReturnLineInput, ReviewReturnInput, User, Vendor,
};

use crate::domain::{access, Mover};
use crate::store::OrderRow;
use crate::OrdersState;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema, ID};
use janta_platform::auth::{principal, PartnerScope, Principal, Role};
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};
use loaders::load_order;
use std::sync::Arc;

/// Read operations: carts, orders, returns, tax invoices and the H1 register.
#[derive(MergedObject, Default)]
pub struct Query(
    query::OrderQuery,
    invoices::InvoiceQuery,
    dispensing::DispensingQuery,
    OperationsQuery,
);

/// Write operations: the cart, checkout, the order life cycle, returns
/// and dispensing.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::OrderMutation,
    dispensing::DispensingMutation,
    OperationsMutation,
);

janta_kit::operations_api!(
    orders,
    "replayOrdersParkedEvent",
    "discardOrdersParkedEvent"
);

/// The orders subgraph schema.
pub type OrdersSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a OrdersState {
    ctx.data_unchecked::<Arc<OrdersState>>()
}

/// Buying needs a customer account (staff and partner accounts do not shop).
fn require_customer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    let me = principal(ctx)?;
    if me.has_role(Role::Customer) {
        Ok(me)
    } else {
        Err(ApiError::forbidden(
            "only customer accounts have a cart and place orders",
        ))
    }
}

/// An order the caller may read, and the mover they act as if they may
/// change it: `NOT_FOUND` when it does not exist, `FORBIDDEN` when it is
/// someone else's (for partner apps: another vendor's, or a token
/// without `orders:read`).
async fn readable_order(ctx: &Context<'_>, id: &ID) -> ApiResult<(OrderRow, Option<Mover>)> {
    let viewer = principal(ctx)?;
    let id = parse_id(id, "id")?;
    let order = load_order(ctx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let found = access(viewer, &order.customer_id, &order.vendor_id);
    if !found.read {
        viewer.require_scope(PartnerScope::OrdersRead)?;
        return Err(ApiError::forbidden(
            "only the buyer, the vendor's staff and admins can see this order",
        ));
    }
    Ok((order, found.mover))
}

/// The mover of a caller who changes an order they may read: partner
/// apps need `orders:write` for that.
fn changing_as(ctx: &Context<'_>, mover: Option<Mover>) -> ApiResult<Mover> {
    principal(ctx)?.require_scope(PartnerScope::OrdersWrite)?;
    mover.ok_or_else(|| ApiError::forbidden("you may read this order but not change it"))
}

/// Who reads the orders of `vendor_id`: its staff, a partner app of it
/// with `orders:read`, and admins.
fn check_vendor_order_reader(p: &Principal, vendor_id: &str) -> ApiResult<()> {
    if p.is_admin() || p.acts_for_vendor(vendor_id, PartnerScope::OrdersRead) {
        return Ok(());
    }
    p.require_scope(PartnerScope::OrdersRead)?;
    Err(ApiError::forbidden(
        "only this vendor's staff can see its orders",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sdl_declares_the_entities_it_owns_and_references() {
        let sdl = crate::sdl();
        for expected in [
            "type Order @key(fields: \"id\")",
            "type User @key(fields: \"id\")",
            "type Vendor @key(fields: \"id\")",
            "type Medicine @key(fields: \"id\", resolvable: false)",
            "type Listing @key(fields: \"id\", resolvable: false)",
            "type Money @shareable",
        ] {
            assert!(sdl.contains(expected), "missing {expected:?} in\n{sdl}");
        }
        assert!(
            !sdl.contains("price:"),
            "orders must not take prices from clients"
        );
        if std::env::var("PRINT_SDL").is_ok() {
            println!("{sdl}");
        }
    }
}
