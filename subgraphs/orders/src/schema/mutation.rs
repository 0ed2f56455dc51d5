//! Write operations: the cart, checkout and the order life cycle.

use super::types::{load_cart, Cart, Order, PlaceOrderInput, PlaceOrderPayload};
use super::{correlation, readable_order, require_customer, state};
use crate::audit;
use crate::domain::{self, Mover, Quantity, Status};
use crate::saga::{self, PlaceOrderRequest};
use crate::store;
use async_graphql::{Context, Object, Result, ID};
use janta_platform::auth::principal;
use janta_platform::ids::parse_id;
use janta_platform::ApiError;
use serde_json::json;

/// Write operations.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds units of a listing to your cart (more units if it is already
    /// there). A listing of a pharmacy that does not sell now (not verified
    /// by the platform, or suspended) is FORBIDDEN.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Catalog listing ID")] listing_id: ID,
        #[graphql(desc = "Units to add (1–100; a line holds at most 100)")] quantity: i32,
    ) -> Result<Cart> {
        let me = require_customer(ctx)?;
        let quantity = Quantity::parse(i64::from(quantity))?;
        let listing_id = parse_id(&listing_id, "listingId")?;
        let st = state(ctx);
        // One catalog call prices the new listing and everything already in
        // the cart, so the answer's subtotal needs no second call.
        let mut ids: Vec<String> = {
            let mut conn = st.store.pool().acquire().await.map_err(ApiError::from)?;
            match store::find_cart(&mut conn, &me.subject)
                .await
                .map_err(ApiError::from)?
            {
                Some(cart) => store::cart_lines(&mut conn, &cart.id)
                    .await
                    .map_err(ApiError::from)?
                    .into_iter()
                    .map(|l| l.listing_id)
                    .collect(),
                None => vec![],
            }
        };
        if !ids.contains(&listing_id) {
            ids.push(listing_id.clone());
        }
        let prices = st.peers.price_listings(&ids, correlation(ctx)).await?;
        let priced = prices
            .get(&listing_id)
            .ok_or_else(|| ApiError::not_found("listing"))?;
        if !priced.sellable {
            return Err(domain::not_selling(&[&priced.listing_id], &[&priced.vendor_id]).into());
        }
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let cart = store::ensure_cart(&mut tx, &me.subject)
            .await
            .map_err(ApiError::from)?;
        let lines = store::cart_lines(&mut tx, &cart.id)
            .await
            .map_err(ApiError::from)?;
        let is_new = !lines.iter().any(|l| l.listing_id == listing_id);
        if is_new && lines.len() >= domain::MAX_CART_LINES {
            return Err(ApiError::bad_input(format!(
                "a cart holds at most {} different listings",
                domain::MAX_CART_LINES
            ))
            .into());
        }
        if !store::add_to_cart(
            &mut tx,
            &cart.id,
            &listing_id,
            quantity.get(),
            domain::MAX_LINE_QUANTITY,
        )
        .await
        .map_err(ApiError::from)?
        {
            return Err(ApiError::bad_input(format!(
                "a cart line holds at most {} units",
                domain::MAX_LINE_QUANTITY
            ))
            .into());
        }
        audit(
            &mut tx,
            &me.subject,
            "cart",
            &cart.id,
            "line_added",
            None,
            Some(json!({ "listingId": listing_id, "quantity": quantity.get() })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(load_cart(st, &me.subject, Some(prices)).await?)
    }

    /// Sets the quantity of one of your cart lines.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cart line ID")] line_id: ID,
        #[graphql(desc = "New quantity (1–100)")] quantity: i32,
    ) -> Result<Cart> {
        let me = require_customer(ctx)?;
        let quantity = Quantity::parse(i64::from(quantity))?;
        let line_id = parse_id(&line_id, "lineId")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let cart = store::ensure_cart(&mut tx, &me.subject)
            .await
            .map_err(ApiError::from)?;
        if !store::set_cart_line_quantity(&mut tx, &cart.id, &line_id, quantity.get())
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::not_found("cart line").into());
        }
        audit(
            &mut tx,
            &me.subject,
            "cart",
            &cart.id,
            "line_updated",
            None,
            Some(json!({ "lineId": line_id, "quantity": quantity.get() })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(load_cart(st, &me.subject, None).await?)
    }

    /// Removes one of your cart lines.
    async fn remove_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cart line ID")] line_id: ID,
    ) -> Result<Cart> {
        let me = require_customer(ctx)?;
        let line_id = parse_id(&line_id, "lineId")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let cart = store::ensure_cart(&mut tx, &me.subject)
            .await
            .map_err(ApiError::from)?;
        if !store::remove_cart_line(&mut tx, &cart.id, &line_id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::not_found("cart line").into());
        }
        audit(
            &mut tx,
            &me.subject,
            "cart",
            &cart.id,
            "line_removed",
            None,
            Some(json!({ "lineId": line_id })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(load_cart(st, &me.subject, None).await?)
    }

    /// Checks out your cart: one order per vendor, priced by the catalog,
    /// stock reserved, prescriptions checked, GST computed, delivery address
    /// copied. The ordered lines leave the cart. Idempotent per
    /// `idempotencyKey`.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> Result<PlaceOrderPayload> {
        let me = require_customer(ctx)?;
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
        };
        let orders = saga::place_order(state(ctx), &me.subject, request, correlation(ctx)).await?;
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
    ) -> Result<Order> {
        let me = principal(ctx)?;
        let reason = domain::parse_reason(&reason)?;
        let (order, mover) = readable_order(ctx, &id).await?;
        let st = state(ctx);
        saga::cancel(st, &order.id, &me.subject, mover, &reason, correlation(ctx)).await?;
        let after = store::find_order(&st.store, &order.id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("order"))?;
        Ok(Order(after))
    }

    /// Moves an order along fulfilment (vendor staff of its vendor, or an
    /// admin): `CONFIRMED → PACKED → OUT_FOR_DELIVERY → DELIVERED`, and
    /// `DELIVERED → RETURNED`. Other moves are `CONFLICT`.
    async fn advance_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
        #[graphql(desc = "The next status")] to: Status,
        #[graphql(desc = "Optional note (tracking number, …), up to 500 characters")] note: Option<
            String,
        >,
    ) -> Result<Order> {
        let me = principal(ctx)?;
        let (order, mover) = readable_order(ctx, &id).await?;
        if !matches!(mover, Mover::VendorStaff | Mover::Admin) {
            return Err(
                ApiError::forbidden("only the vendor's staff can move an order forward").into(),
            );
        }
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(ApiError::bad_input("note must be at most 500 characters").into());
        }
        let after = saga::advance(
            state(ctx),
            &order.id,
            &me.subject,
            mover,
            to,
            note.as_deref(),
            correlation(ctx),
        )
        .await?;
        Ok(Order(after))
    }
}
