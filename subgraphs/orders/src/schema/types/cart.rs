//! The cart and its lines, priced by the catalog when asked for.

use super::foreign::Listing;
use crate::peers::PricedListing;
use crate::schema::state;
use crate::service::cart::{self, CartView};
use crate::store::{CartLineRow, CartRow};
use crate::OrdersState;
use async_graphql::{Context, Object, ID};
use janta_platform::cause::correlation_of;
use janta_platform::money::Money;
use janta_platform::ApiResult;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Current catalog prices of a cart's listings, fetched at most once per
/// cart object (one batched catalog call, however many fields ask).
struct CartPricing {
    listing_ids: Vec<String>,
    prices: OnceCell<HashMap<String, PricedListing>>,
}

impl CartPricing {
    async fn get(&self, ctx: &Context<'_>) -> ApiResult<&HashMap<String, PricedListing>> {
        self.prices
            .get_or_try_init(|| async {
                state(ctx)
                    .peers
                    .price_listings(&self.listing_ids, correlation_of(ctx))
                    .await
            })
            .await
    }
}

/// The catalog's price of a listing that can be bought now: known, and its
/// pharmacy selling (verified, not suspended).
fn buyable<'a>(
    prices: &'a HashMap<String, PricedListing>,
    listing_id: &str,
) -> Option<&'a PricedListing> {
    prices.get(listing_id).filter(|p| p.sellable)
}

/// A customer's cart: listings and quantities. Prices are never stored or
/// taken from the client; they come from the catalog when asked for.
pub struct Cart {
    row: CartRow,
    lines: Vec<CartLineRow>,
    pricing: Arc<CartPricing>,
}

/// A shopping cart.
#[Object]
impl Cart {
    /// Cart ID.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// The lines, oldest first.
    async fn lines(&self) -> Vec<CartLine> {
        self.lines
            .iter()
            .map(|row| CartLine {
                row: row.clone(),
                pricing: self.pricing.clone(),
            })
            .collect()
    }

    /// Sum of the lines at current catalog prices (tax included). Lines the
    /// catalog no longer sells, or whose pharmacy does not sell now, count
    /// nothing.
    async fn subtotal(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        let prices = self.pricing.get(ctx).await?;
        let total: i64 = self
            .lines
            .iter()
            .filter_map(|l| buyable(prices, &l.listing_id).map(|p| p.price * l.quantity))
            .sum();
        Ok(Money::inr(total))
    }

    /// Units in the cart, all lines together.
    async fn item_count(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// One line of a cart.
pub struct CartLine {
    row: CartLineRow,
    pricing: Arc<CartPricing>,
}

/// A listing in the cart and how many units of it.
#[Object]
impl CartLine {
    /// Cart line ID (for updateCartLine and removeCartLine).
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// Units wanted (1–100).
    async fn quantity(&self) -> i64 {
        self.row.quantity
    }

    /// The listing (vendor offer) in the catalog.
    async fn listing(&self) -> Listing {
        Listing {
            id: ID(self.row.listing_id.clone()),
        }
    }

    /// Current price per unit from the catalog; null when the listing is no
    /// longer sold or its pharmacy does not sell now (remove the line).
    async fn unit_price(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        let prices = self.pricing.get(ctx).await?;
        Ok(buyable(prices, &self.row.listing_id).map(|p| Money::inr(p.price)))
    }

    /// Current price × quantity; null when the line cannot be bought now
    /// (see `unitPrice`).
    async fn line_total(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        let prices = self.pricing.get(ctx).await?;
        Ok(buyable(prices, &self.row.listing_id).map(|p| Money::inr(p.price * self.row.quantity)))
    }
}

impl From<CartView> for Cart {
    fn from(view: CartView) -> Self {
        let listing_ids: Vec<String> = view.lines.iter().map(|l| l.listing_id.clone()).collect();
        let prices = match view.prices {
            Some(p) => OnceCell::new_with(Some(p)),
            None => OnceCell::new(),
        };
        Cart {
            row: view.row,
            lines: view.lines,
            pricing: Arc::new(CartPricing {
                listing_ids,
                prices,
            }),
        }
    }
}

/// The cart of `customer` (created on first use).
pub(in crate::schema) async fn load_cart(st: &OrdersState, customer: &str) -> ApiResult<Cart> {
    Ok(Cart::from(cart::cart_of(st, customer, None).await?))
}
