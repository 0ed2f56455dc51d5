//! The customer's cart: listings and quantities, never prices (those come
//! from catalog whenever they are needed).

use crate::domain::{self, Quantity};
use crate::peers::PricedListing;
use crate::store::{self, CartLineRow, CartRow};
use crate::{audit, OrdersState};
use janta_platform::cause::Cause;
use janta_platform::store::Tx;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use std::collections::HashMap;

/// A cart as read, with catalog prices when they were fetched for every
/// listing in it.
pub struct CartView {
    /// The cart.
    pub row: CartRow,
    /// Its lines, oldest first.
    pub lines: Vec<CartLineRow>,
    /// Current catalog prices of every line's listing, if already known.
    pub prices: Option<HashMap<String, PricedListing>>,
}

/// The cart of `customer` (created on first use); `prices`, when the caller
/// already fetched them for every listing in the cart, are kept.
pub async fn cart_of(
    state: &OrdersState,
    customer: &str,
    prices: Option<HashMap<String, PricedListing>>,
) -> ApiResult<CartView> {
    let mut conn = state.store.pool().acquire().await?;
    let row = store::ensure_cart(&mut conn, customer).await?;
    let lines = store::cart_lines(&mut conn, &row.id).await?;
    Ok(CartView::new(row, lines, prices))
}

impl CartView {
    /// The view of `row` with `lines`, keeping `prices` only when they cover
    /// every line.
    fn new(
        row: CartRow,
        lines: Vec<CartLineRow>,
        prices: Option<HashMap<String, PricedListing>>,
    ) -> Self {
        let prices = prices.filter(|p| lines.iter().all(|l| p.contains_key(&l.listing_id)));
        CartView { row, lines, prices }
    }
}

/// Commits a change of `cart`'s lines and answers the cart as the
/// transaction left it: read inside it, the answer needs no connection or
/// statement after the write.
async fn commit_and_view(
    mut tx: Tx,
    cart: CartRow,
    prices: Option<HashMap<String, PricedListing>>,
) -> ApiResult<CartView> {
    let lines = store::cart_lines(&mut tx, &cart.id).await?;
    tx.commit().await?;
    Ok(CartView::new(cart, lines, prices))
}

/// Adds `quantity` units of a listing to the cart of `cause`'s actor (more
/// units if it is already there). A listing of a pharmacy that does not sell
/// now is FORBIDDEN.
pub async fn add_to_cart(
    state: &OrdersState,
    cause: &Cause,
    listing_id: &str,
    quantity: Quantity,
) -> ApiResult<CartView> {
    let customer = cause.actor();
    // One catalog call prices the new listing and everything already in
    // the cart, so the answer's subtotal needs no second call.
    let mut ids: Vec<String> = {
        let mut conn = state.store.pool().acquire().await?;
        match store::find_cart(&mut conn, customer).await? {
            Some(cart) => store::cart_lines(&mut conn, &cart.id)
                .await?
                .into_iter()
                .map(|l| l.listing_id)
                .collect(),
            None => vec![],
        }
    };
    if !ids.iter().any(|id| id == listing_id) {
        ids.push(listing_id.to_string());
    }
    let prices = state
        .peers
        .price_listings(&ids, cause.correlation())
        .await?;
    let priced = prices
        .get(listing_id)
        .ok_or_else(|| ApiError::not_found("listing"))?;
    domain::dispensing::refuse_schedule_x([(listing_id, priced.schedule)])?;
    if !priced.sellable {
        return Err(domain::not_selling(
            &[&priced.listing_id],
            &[&priced.vendor_id],
        ));
    }
    let mut tx = state.store.begin().await?;
    let cart = store::ensure_cart(&mut tx, customer).await?;
    let lines = store::cart_lines(&mut tx, &cart.id).await?;
    let is_new = !lines.iter().any(|l| l.listing_id == listing_id);
    if is_new && lines.len() >= domain::MAX_CART_LINES {
        return Err(ApiError::bad_input(format!(
            "a cart holds at most {} different listings",
            domain::MAX_CART_LINES
        )));
    }
    if !store::add_to_cart(
        &mut tx,
        &cart.id,
        listing_id,
        quantity.get(),
        domain::MAX_LINE_QUANTITY,
    )
    .await?
    {
        return Err(ApiError::bad_input(format!(
            "a cart line holds at most {} units",
            domain::MAX_LINE_QUANTITY
        )));
    }
    audit_cart(
        &mut tx,
        customer,
        &cart.id,
        "line_added",
        json!({ "listingId": listing_id, "quantity": quantity.get() }),
    )
    .await?;
    commit_and_view(tx, cart, Some(prices)).await
}

/// Sets the quantity of one of the cart lines of `cause`'s actor.
pub async fn update_cart_line(
    state: &OrdersState,
    cause: &Cause,
    line_id: &str,
    quantity: Quantity,
) -> ApiResult<CartView> {
    let customer = cause.actor();
    let mut tx = state.store.begin().await?;
    let cart = store::ensure_cart(&mut tx, customer).await?;
    if !store::set_cart_line_quantity(&mut tx, &cart.id, line_id, quantity.get()).await? {
        return Err(ApiError::not_found("cart line"));
    }
    audit_cart(
        &mut tx,
        customer,
        &cart.id,
        "line_updated",
        json!({ "lineId": line_id, "quantity": quantity.get() }),
    )
    .await?;
    commit_and_view(tx, cart, None).await
}

/// Removes one of the cart lines of `cause`'s actor.
pub async fn remove_cart_line(
    state: &OrdersState,
    cause: &Cause,
    line_id: &str,
) -> ApiResult<CartView> {
    let customer = cause.actor();
    let mut tx = state.store.begin().await?;
    let cart = store::ensure_cart(&mut tx, customer).await?;
    if !store::remove_cart_line(&mut tx, &cart.id, line_id).await? {
        return Err(ApiError::not_found("cart line"));
    }
    audit_cart(
        &mut tx,
        customer,
        &cart.id,
        "line_removed",
        json!({ "lineId": line_id }),
    )
    .await?;
    commit_and_view(tx, cart, None).await
}

/// Audits a change of a cart's lines by its owner.
async fn audit_cart(
    conn: &mut sqlx::AnyConnection,
    customer: &str,
    cart_id: &str,
    action: &str,
    after: serde_json::Value,
) -> ApiResult<()> {
    audit(conn, customer, "cart", cart_id, action, None, Some(after)).await
}
