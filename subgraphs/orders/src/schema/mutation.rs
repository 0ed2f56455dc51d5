//! Write operations: the cart, checkout and the order life cycle. Each
//! resolver parses, authorises and calls one service function.

use super::loaders::ReturnLoader;
use super::types::{
    Cart, Order, OrderReturn, PlaceOrderInput, PlaceOrderPayload, RequestReturnInput,
    ReviewReturnInput,
};
use super::{changing_as, readable_order, require_customer, state};
use crate::domain::{self, returns, Mover, Quantity, Status};
use crate::service::returns::ReturnRequest;
use crate::service::{self, cart, PlaceOrderRequest};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::principal;
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::loader::load_one;
use janta_platform::{ApiError, ApiResult};

/// Write operations on carts, orders and returns.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Adds units of a listing to your cart (more units if it is already
    /// there). A listing of a pharmacy that does not sell now (not verified
    /// by the platform, or suspended) is FORBIDDEN.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Catalog listing ID")] listing_id: ID,
        #[graphql(desc = "Units to add (1–100; a line holds at most 100)")] quantity: i32,
    ) -> ApiResult<Cart> {
        require_customer(ctx)?;
        let quantity = Quantity::parse(i64::from(quantity))?;
        let listing_id = parse_id(&listing_id, "listingId")?;
        let view =
            cart::add_to_cart(state(ctx), &Cause::of_request(ctx), &listing_id, quantity).await?;
        Ok(Cart::from(view))
    }

    /// Sets the quantity of one of your cart lines.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cart line ID")] line_id: ID,
        #[graphql(desc = "New quantity (1–100)")] quantity: i32,
    ) -> ApiResult<Cart> {
        require_customer(ctx)?;
        let quantity = Quantity::parse(i64::from(quantity))?;
        let line_id = parse_id(&line_id, "lineId")?;
        let view =
            cart::update_cart_line(state(ctx), &Cause::of_request(ctx), &line_id, quantity).await?;
        Ok(Cart::from(view))
    }

    /// Removes one of your cart lines.
    async fn remove_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cart line ID")] line_id: ID,
    ) -> ApiResult<Cart> {
        require_customer(ctx)?;
        let line_id = parse_id(&line_id, "lineId")?;
        let view = cart::remove_cart_line(state(ctx), &Cause::of_request(ctx), &line_id).await?;
        Ok(Cart::from(view))
    }

    /// Checks out your cart: one order per vendor, priced by the catalog,
    /// stock reserved, prescriptions checked, GST computed, delivery address
    /// copied. The ordered lines leave the cart. Idempotent per
    /// `idempotencyKey`.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> ApiResult<PlaceOrderPayload> {
        require_customer(ctx)?;
        let request = PlaceOrderRequest {
            address_id: input.address_id.0,
            prescription_ids: input
                .prescription_ids
                .unwrap_or_default()
                .into_iter()
                .map(|id| id.0)
                .collect(),
            idempotency_key: input.idempotency_key,
            payment_method: input.payment_method,
            fulfil_from: input
                .fulfil_from
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.vendor_id.0, f.branch_id.0))
                .collect(),
        };
        let orders = service::place_order(state(ctx), &Cause::of_request(ctx), request).await?;
        Ok(PlaceOrderPayload {
            orders: orders.into_iter().map(Order).collect(),
        })
    }

    /// Cancels an order before dispatch: the buyer, the vendor's staff or an
    /// admin. Stock goes back, consumed prescription quantities are restored,
    /// and payments refunds what it captured.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
        #[graphql(desc = "Why (3–500 characters, shown to the customer)")] reason: String,
    ) -> ApiResult<Order> {
        let reason = domain::parse_reason(&reason)?;
        let (order, mover) = readable_order(ctx, &id).await?;
        let mover = changing_as(ctx, mover)?;
        let after = service::cancel(
            state(ctx),
            &order.id,
            &Cause::of_request(ctx),
            mover,
            &reason,
        )
        .await?;
        Ok(Order(after))
    }

    /// Moves an order along fulfilment (vendor staff of its vendor, or an
    /// admin): `CONFIRMED → PACKED → OUT_FOR_DELIVERY → DELIVERED`, and
    /// `DELIVERED → RETURNED`. Other moves are `CONFLICT`. An order with
    /// prescription medicines leaves `PACKED` only once a pharmacist
    /// recorded its dispensing (`dispenseOrder`; `BAD_USER_INPUT` before);
    /// dispatching it writes its schedule H1 sales to the H1 register.
    async fn advance_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
        #[graphql(desc = "The next status")] to: Status,
        #[graphql(desc = "Optional note (tracking number, …), up to 500 characters")] note: Option<
            String,
        >,
    ) -> ApiResult<Order> {
        let (order, mover) = readable_order(ctx, &id).await?;
        let mover = changing_as(ctx, mover)?;
        if !matches!(mover, Mover::VendorStaff | Mover::Admin) {
            return Err(ApiError::forbidden(
                "only the vendor's staff can move an order forward",
            ));
        }
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(ApiError::bad_input("note must be at most 500 characters"));
        }
        let after = service::advance(
            state(ctx),
            &order.id,
            &Cause::of_request(ctx),
            mover,
            to,
            note.as_deref(),
        )
        .await?;
        Ok(Order(after))
    }

    /// Asks to return delivered units of one of your orders, within the
    /// return window after delivery. More units than were delivered (minus
    /// those already in a return) or a closed window is `BAD_USER_INPUT`.
    async fn request_return(
        &self,
        ctx: &Context<'_>,
        input: RequestReturnInput,
    ) -> ApiResult<OrderReturn> {
        let me = require_customer(ctx)?;
        let note = returns::parse_note(input.note.as_deref())?;
        let order_id = parse_id(&input.order_id, "orderId")?;
        let lines = input
            .lines
            .iter()
            .map(|l| Ok((parse_id(&l.line_id, "lineId")?, i64::from(l.quantity))))
            .collect::<ApiResult<Vec<_>>>()?;
        let request = ReturnRequest {
            order_id,
            reason: input.reason,
            note,
            lines,
        };
        let row = service::returns::request_return(
            state(ctx),
            &Cause::of_request(ctx),
            &me.subject,
            request,
        )
        .await?;
        Ok(OrderReturn(row))
    }

    /// Approves (refund to the original payment, units to quarantine) or
    /// rejects a requested return: the vendor's staff or an admin. A return
    /// already reviewed is `CONFLICT`.
    async fn review_return(
        &self,
        ctx: &Context<'_>,
        input: ReviewReturnInput,
    ) -> ApiResult<OrderReturn> {
        let me = principal(ctx)?;
        let note = returns::parse_review_note(&input.note)?;
        let id = parse_id(&input.return_id, "returnId")?;
        let found = load_one::<ReturnLoader, _>(ctx, id.clone())
            .await?
            .ok_or_else(|| ApiError::not_found("return"))?;
        if !me.is_staff_of(&found.vendor_id) && !me.is_admin() {
            return Err(ApiError::forbidden(
                "only the vendor's staff can review its returns",
            ));
        }
        let row = service::returns::review_return(
            state(ctx),
            &Cause::of_request(ctx),
            &id,
            input.approve,
            &note,
        )
        .await?;
        Ok(OrderReturn(row))
    }
}
