//! The orders subgraph's GraphQL API: thin resolvers that validate input
//! with `domain`, authorise with the platform guards, and hand the work to
//! `saga` (checkout and the order life cycle) or `store` (reads).
//!
//! Entities: `Order` (ours, batched); `User` and `Vendor` (users') extended
//! with `cart`/`orders` and `orders`; `Medicine` and `Listing` (catalog's)
//! referenced by ID only.

use crate::domain::{self, access, Mover, PaymentMethod, Quantity, Schedule, Status, Supply};
use crate::peers::PricedListing;
use crate::saga::{self, PlaceOrderRequest};
use crate::store::{self, CartLineRow, CartRow, HistoryRow, LineRow, OrderOwner, OrderRow};
use crate::{audit, OrdersState};
use async_graphql::{
    Context, EmptySubscription, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use janta_platform::auth::{optional_principal, principal, require_service_of, Principal, Role};
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::server::CorrelationId;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The orders subgraph schema.
pub type OrdersSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a OrdersState {
    ctx.data_unchecked::<Arc<OrdersState>>()
}

fn correlation<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str())
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

// ---------- foreign entities ----------

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
    id: String,
}

/// A user account, as extended by the orders subgraph.
#[Object]
impl User {
    /// User ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The user's shopping cart (the user themselves and admins only).
    async fn cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id && !viewer.is_admin() {
            return Err(ApiError::forbidden("you can only see your own cart").into());
        }
        Ok(load_cart(state(ctx), &self.id, None).await?)
    }

    /// The user's orders, newest first (the user themselves and admins only).
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Order>> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id && !viewer.is_admin() {
            return Err(ApiError::forbidden("you can only see your own orders").into());
        }
        Ok(list(ctx, OrderOwner::Customer(&self.id), status, first, after).await?)
    }
}

/// A vendor (users subgraph), extended with its orders.
pub struct Vendor {
    id: String,
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
    ) -> Result<CountedConnection<Order>> {
        let viewer = principal(ctx)?;
        if !viewer.is_staff_of(&self.id) && !viewer.is_admin() {
            return Err(ApiError::forbidden("only this vendor's staff can see its orders").into());
        }
        Ok(list(ctx, OrderOwner::Vendor(&self.id), status, first, after).await?)
    }
}

// ---------- cart ----------

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
                    .price_listings(&self.listing_ids, correlation(ctx))
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
    async fn subtotal(&self, ctx: &Context<'_>) -> Result<Money> {
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
    async fn unit_price(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let prices = self.pricing.get(ctx).await?;
        Ok(buyable(prices, &self.row.listing_id).map(|p| Money::inr(p.price)))
    }

    /// Current price × quantity; null when the line cannot be bought now
    /// (see `unitPrice`).
    async fn line_total(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let prices = self.pricing.get(ctx).await?;
        Ok(buyable(prices, &self.row.listing_id).map(|p| Money::inr(p.price * self.row.quantity)))
    }
}

/// The cart of `customer` (created on first use); `prices`, when the caller
/// already fetched them for every listing in the cart, saves the catalog call.
async fn load_cart(
    st: &OrdersState,
    customer: &str,
    prices: Option<HashMap<String, PricedListing>>,
) -> ApiResult<Cart> {
    let mut conn = st.store.pool().acquire().await?;
    let row = store::ensure_cart(&mut conn, customer).await?;
    let lines = store::cart_lines(&mut conn, &row.id).await?;
    let listing_ids: Vec<String> = lines.iter().map(|l| l.listing_id.clone()).collect();
    let cell = match prices {
        Some(p) if listing_ids.iter().all(|id| p.contains_key(id)) => OnceCell::new_with(Some(p)),
        _ => OnceCell::new(),
    };
    Ok(Cart {
        row,
        lines,
        pricing: Arc::new(CartPricing {
            listing_ids,
            prices: cell,
        }),
    })
}

// ---------- orders ----------

/// An order to one vendor, as placed by checkout, with its snapshots.
pub struct Order(OrderRow);

impl Order {
    fn current_status(&self) -> ApiResult<Status> {
        Ok(Status::from_db(&self.0.status)?)
    }
}

/// An order: one vendor's part of a checkout, with the prices, tax,
/// medicine versions, batches and delivery address as they were when it was
/// placed.
#[Object]
impl Order {
    /// Order ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Where the order is in its life.
    async fn status(&self) -> Result<Status> {
        Ok(self.current_status()?)
    }

    /// When it was placed.
    async fn placed_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.placed_at).map_err(ApiError::from)?)
    }

    /// When it last changed.
    async fn updated_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.updated_at).map_err(ApiError::from)?)
    }

    /// Until when an online payment is awaited; after it the order is
    /// cancelled and its stock released. Null once it is no longer awaited.
    async fn payment_due_at(&self) -> Result<Option<DateTime>> {
        let pending = self.current_status()? == Status::PendingPayment
            && self.0.payment_method.as_deref() != Some(domain::CASH_ON_DELIVERY);
        if !pending {
            return Ok(None);
        }
        Ok(Some(
            DateTime::from_db(&self.0.payment_due_at).map_err(ApiError::from)?,
        ))
    }

    /// How the customer pays, when known.
    async fn payment_method(&self) -> Option<PaymentMethod> {
        self.0
            .payment_method
            .as_deref()
            .and_then(PaymentMethod::from_db)
    }

    /// Within one state (CGST + SGST) or across states (IGST).
    async fn supply(&self) -> Supply {
        Supply::from_db(&self.0.supply)
    }

    /// What the customer pays, tax included (sum of the lines).
    async fn total(&self) -> Money {
        Money::inr(self.0.total)
    }

    /// Value before tax (sum of the lines' taxable values).
    async fn taxable_value(&self) -> Money {
        Money::inr(self.0.taxable_total)
    }

    /// All GST in the total (CGST + SGST + IGST).
    async fn tax_total(&self) -> Money {
        Money::inr(self.0.cgst_total + self.0.sgst_total + self.0.igst_total)
    }

    /// Central GST (intra-state orders).
    async fn cgst_total(&self) -> Money {
        Money::inr(self.0.cgst_total)
    }

    /// State GST (intra-state orders).
    async fn sgst_total(&self) -> Money {
        Money::inr(self.0.sgst_total)
    }

    /// Integrated GST (inter-state orders).
    async fn igst_total(&self) -> Money {
        Money::inr(self.0.igst_total)
    }

    /// What was bought.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        let rows = load_or_empty::<LinesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(OrderLine).collect())
    }

    /// The customer who placed it.
    async fn buyer(&self) -> User {
        User {
            id: self.0.customer_id.clone(),
        }
    }

    /// The vendor fulfilling it.
    async fn vendor(&self) -> Vendor {
        Vendor {
            id: self.0.vendor_id.clone(),
        }
    }

    /// The delivery address as it was at checkout.
    async fn delivery_address(&self) -> DeliveryAddress {
        DeliveryAddress {
            label: self.0.address_label.clone(),
            line1: self.0.address_line1.clone(),
            line2: self.0.address_line2.clone(),
            city: self.0.address_city.clone(),
            state: self.0.address_state.clone(),
            pincode: self.0.address_pincode.clone(),
        }
    }

    /// Every status it has been in, oldest first, with who moved it and why.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<OrderStatusChange>> {
        let rows = load_or_empty::<HistoryLoader, _, _>(ctx, self.0.id.clone()).await?;
        rows.into_iter()
            .map(|row| {
                Ok(OrderStatusChange {
                    status: Status::from_db(&row.status).map_err(ApiError::from)?,
                    at: DateTime::from_db(&row.at).map_err(ApiError::from)?,
                    actor: row.actor,
                    note: row.note,
                })
            })
            .collect()
    }

    /// Why it was cancelled, if it was.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation_reason.as_deref()
    }
}

/// One line of an order, with the snapshot that makes the invoice.
pub struct OrderLine(LineRow);

/// A medicine bought: the version, price, MRP, GST and batches as they were
/// at checkout.
#[Object]
impl OrderLine {
    /// Order line ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Units bought.
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    /// The medicine's name in the version bought.
    async fn medicine_name(&self) -> &str {
        &self.0.medicine_name
    }

    /// The catalog version of the medicine bought.
    async fn medicine_version(&self) -> i64 {
        self.0.medicine_version
    }

    /// The medicine (catalog); `medicineVersion` says which version was bought.
    async fn medicine(&self) -> Medicine {
        Medicine {
            id: ID(self.0.medicine_id.clone()),
        }
    }

    /// The listing bought from (catalog).
    async fn listing(&self) -> Listing {
        Listing {
            id: ID(self.0.listing_id.clone()),
        }
    }

    /// The medicine's schedule in the version bought.
    async fn schedule(&self) -> Result<Schedule> {
        Ok(Schedule::parse(&self.0.schedule)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown schedule in storage")))?)
    }

    /// HSN code the GST rate came from.
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }

    /// GST rate applied, in percent ("5", "12", "0.25").
    async fn gst_rate(&self) -> Result<String> {
        Ok(domain::GstRate::from_basis_points(self.0.gst_rate_bp)
            .map_err(ApiError::from)?
            .percent_string())
    }

    /// Price per unit paid, tax included.
    async fn unit_price(&self) -> Money {
        Money::inr(self.0.unit_price)
    }

    /// Maximum retail price per unit at checkout.
    async fn mrp(&self) -> Money {
        Money::inr(self.0.mrp)
    }

    /// Unit price × quantity, tax included.
    async fn line_total(&self) -> Money {
        Money::inr(self.0.line_total)
    }

    /// The line's value before tax.
    async fn taxable_value(&self) -> Money {
        Money::inr(self.0.taxable_value)
    }

    /// Central GST in the line (zero for inter-state orders).
    async fn cgst(&self) -> Money {
        Money::inr(self.0.cgst)
    }

    /// State GST in the line (zero for inter-state orders).
    async fn sgst(&self) -> Money {
        Money::inr(self.0.sgst)
    }

    /// Integrated GST in the line (zero for intra-state orders).
    async fn igst(&self) -> Money {
        Money::inr(self.0.igst)
    }

    /// All GST in the line.
    async fn tax_total(&self) -> Money {
        Money::inr(self.0.cgst + self.0.sgst + self.0.igst)
    }

    /// The batches the units come from (first expiry first out).
    async fn batches(&self) -> Result<Vec<OrderLineBatch>> {
        let raw: Vec<crate::peers::AllocatedBatch> =
            serde_json::from_str(&self.0.batches).map_err(|e| ApiError::Internal(e.into()))?;
        raw.into_iter()
            .map(|b| {
                Ok(OrderLineBatch {
                    batch_number: b.batch_number,
                    expires_on: Date::from_db(&b.expires_on).map_err(ApiError::from)?,
                    quantity: b.quantity,
                })
            })
            .collect()
    }
}

/// A batch an order line's units were allocated from.
#[derive(SimpleObject)]
pub struct OrderLineBatch {
    /// The manufacturer's batch number.
    pub batch_number: String,
    /// The batch's expiry date.
    pub expires_on: Date,
    /// Units from this batch.
    pub quantity: i64,
}

/// Where an order goes: a copy of the customer's address at checkout (later
/// edits of the address do not change it).
#[derive(SimpleObject)]
pub struct DeliveryAddress {
    /// Optional label such as "Home".
    pub label: Option<String>,
    /// First line (house, street).
    pub line1: String,
    /// Second line (area, landmark).
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// ISO 3166-2:IN state code, e.g. "KA".
    pub state: String,
    /// Six-digit PIN code.
    pub pincode: String,
}

/// One transition of an order.
#[derive(SimpleObject)]
pub struct OrderStatusChange {
    /// The status entered.
    pub status: Status,
    /// When.
    pub at: DateTime,
    /// Who: a user ID, `service:<name>…` or `system` (expiry).
    pub actor: String,
    /// Why, if said (cancellation reason, payment reference, …).
    pub note: Option<String>,
}

/// What checkout produced: one order per vendor in the cart.
#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    /// The orders, each `PENDING_PAYMENT` (or `CONFIRMED` for cash on delivery).
    pub orders: Vec<Order>,
}

/// What payments needs to charge for an order (service principals only).
#[derive(SimpleObject)]
pub struct OrderForPayment {
    /// Order ID.
    pub id: ID,
    /// The customer who must pay.
    pub buyer_id: ID,
    /// The vendor paid.
    pub vendor_id: ID,
    /// Current status; only `PENDING_PAYMENT` orders may be paid.
    pub status: Status,
    /// Amount to charge, in paise (tax included).
    pub total_paise: i64,
    /// ISO 4217 currency; always "INR".
    pub currency: String,
    /// The same amount as money.
    pub total: Money,
    /// How the customer chose to pay at checkout, if they did.
    pub payment_method: Option<PaymentMethod>,
}

impl From<&OrderRow> for OrderForPayment {
    fn from(o: &OrderRow) -> Self {
        OrderForPayment {
            id: ID(o.id.clone()),
            buyer_id: ID(o.customer_id.clone()),
            vendor_id: ID(o.vendor_id.clone()),
            status: Status::from_db(&o.status).unwrap_or(Status::Cancelled),
            total_paise: o.total,
            currency: o.currency.clone(),
            total: Money::inr(o.total),
            payment_method: o.payment_method.as_deref().and_then(PaymentMethod::from_db),
        }
    }
}

/// Checkout input. There is deliberately no price or total here: totals are
/// computed from catalog prices.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// One of your saved addresses (users).
    pub address_id: ID,
    /// Your approved prescriptions covering the scheduled medicines in the cart.
    pub prescription_ids: Option<Vec<ID>>,
    /// A key you choose for this checkout (1–100 printable characters);
    /// retrying with the same key returns the same orders instead of
    /// ordering twice.
    pub idempotency_key: String,
    /// How you will pay; cash on delivery confirms the orders at once.
    /// Omit it to choose when paying (payOrder).
    pub payment_method: Option<PaymentMethod>,
}

// ---------- loaders ----------

/// Loads orders by ID in one statement per batch.
pub struct OrderLoader;

impl BatchLoad<String> for OrderLoader {
    type Value = OrderRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, OrderRow>> {
        let rows = store::orders_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the lines of many orders in one statement per batch.
pub struct LinesLoader;

impl BatchLoad<String> for LinesLoader {
    type Value = Vec<LineRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<LineRow>>> {
        let rows = store::lines_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Loads the status history of many orders in one statement per batch.
pub struct HistoryLoader;

impl BatchLoad<String> for HistoryLoader {
    type Value = Vec<HistoryRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<HistoryRow>>> {
        let rows = store::history_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

async fn load_order(ctx: &Context<'_>, id: &str) -> ApiResult<Option<OrderRow>> {
    load_one::<OrderLoader, _>(ctx, id.to_string()).await
}

/// An order the caller may read, and the mover they act as: `NOT_FOUND`
/// when it does not exist, `FORBIDDEN` when it is someone else's.
async fn readable_order(ctx: &Context<'_>, id: &ID) -> ApiResult<(OrderRow, Mover)> {
    let viewer = principal(ctx)?;
    let id = parse_id(id, "id")?;
    let order = load_order(ctx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    match access(viewer, &order.customer_id, &order.vendor_id).mover {
        Some(mover) => Ok((order, mover)),
        None => Err(ApiError::forbidden(
            "only the buyer, the vendor's staff and admins can see this order",
        )),
    }
}

async fn list(
    ctx: &Context<'_>,
    owner: OrderOwner<'_>,
    status: Option<Status>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Order>> {
    let page = PageRequest::new(first, after)?;
    let (rows, total) =
        store::list_orders(&state(ctx).store, owner, status.map(Status::as_db), &page).await?;
    let nodes = rows.into_iter().map(Order).collect();
    Ok(build_connection(&page, nodes, total, |o| Cursor {
        key: o.0.placed_at.clone(),
        id: o.0.id.clone(),
    }))
}

// ---------- operations ----------

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// Your shopping cart (created empty on first use).
    async fn cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let me = require_customer(ctx)?;
        Ok(load_cart(state(ctx), &me.subject, None).await?)
    }

    /// An order: for its buyer, the vendor's staff and admins.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
    ) -> Result<Order> {
        let (order, _) = readable_order(ctx, &id).await?;
        Ok(Order(order))
    }

    /// Your orders, newest first.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status")] status: Option<Status>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last order of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Order>> {
        let me = principal(ctx)?;
        Ok(list(ctx, OrderOwner::Customer(&me.subject), status, first, after).await?)
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
    ) -> Result<CountedConnection<Order>> {
        let me = principal(ctx)?;
        let vendor = match vendor_id {
            Some(id) => parse_id(&id, "vendorId")?,
            None => me
                .vendor_id
                .clone()
                .filter(|v| me.is_staff_of(v))
                .ok_or_else(|| {
                    if me.is_admin() {
                        ApiError::bad_input("vendorId is required for admins")
                    } else {
                        ApiError::forbidden("only vendor staff can list a vendor's orders")
                    }
                })?,
        };
        if !me.is_staff_of(&vendor) && !me.is_admin() {
            return Err(ApiError::forbidden("only this vendor's staff can see its orders").into());
        }
        Ok(list(ctx, OrderOwner::Vendor(&vendor), status, first, after).await?)
    }

    /// What payments needs to charge for an order (service principals only).
    #[graphql(inaccessible)]
    async fn order_for_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Order ID")] id: ID,
    ) -> Result<OrderForPayment> {
        require_service_of(ctx, &["payments"])?;
        let id = parse_id(&id, "id")?;
        let order = load_order(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        Ok(OrderForPayment::from(&order))
    }

    /// Resolves `Order` references from other subgraphs (batched); null for
    /// callers who may not see the order.
    #[graphql(entity)]
    async fn find_order_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
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
