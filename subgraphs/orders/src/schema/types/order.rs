//! Orders, their lines and snapshots, and checkout's input and payload.

use super::foreign::{Listing, Medicine, User, Vendor};
use super::returns::OrderReturn;
use crate::domain::{PaymentMethod, Schedule, Status, Supply};
use crate::schema::invoices::{self, FulfilFromInput, Invoice, OrderSeller};
use crate::schema::loaders::{HistoryLoader, LinesLoader, ReturnsLoader};
use crate::schema::state;
use crate::store::{self, LineRow, OrderOwner, OrderRow};
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use janta_platform::loader::load_or_empty;
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{to_db_time, Date, DateTime};
use janta_platform::ApiResult;

/// An order to one vendor, as placed by checkout, with its snapshots.
pub struct Order(pub(in crate::schema) OrderRow);

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
    async fn status(&self) -> Status {
        self.0.status
    }

    /// When it was placed.
    async fn placed_at(&self) -> DateTime {
        self.0.placed_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at
    }

    /// Until when an online payment is awaited; after it the order is
    /// cancelled and its stock released. Null once it is no longer awaited.
    async fn payment_due_at(&self) -> Option<DateTime> {
        let pending = self.0.status == Status::PendingPayment
            && self.0.payment_method != Some(PaymentMethod::CashOnDelivery);
        pending.then_some(self.0.payment_due_at)
    }

    /// How the customer pays, when known.
    async fn payment_method(&self) -> Option<PaymentMethod> {
        self.0.payment_method
    }

    /// Within one state (CGST + SGST) or across states (IGST).
    async fn supply(&self) -> Supply {
        self.0.supply
    }

    /// What the customer pays, tax included (sum of the lines).
    async fn total(&self) -> Money {
        Money::from(self.0.total)
    }

    /// Value before tax (sum of the lines' taxable values).
    async fn taxable_value(&self) -> Money {
        Money::from(self.0.taxable_total)
    }

    /// All GST in the total (CGST + SGST + IGST).
    async fn tax_total(&self) -> Money {
        Money::from(self.0.tax_total())
    }

    /// Central GST (intra-state orders).
    async fn cgst_total(&self) -> Money {
        Money::from(self.0.cgst_total)
    }

    /// State GST (intra-state orders).
    async fn sgst_total(&self) -> Money {
        Money::from(self.0.sgst_total)
    }

    /// Integrated GST (inter-state orders).
    async fn igst_total(&self) -> Money {
        Money::from(self.0.igst_total)
    }

    /// What was bought.
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<OrderLine>> {
        let rows = load_or_empty::<LinesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(OrderLine).collect())
    }

    /// Returns asked for on this order, oldest first.
    async fn returns(&self, ctx: &Context<'_>) -> ApiResult<Vec<OrderReturn>> {
        let rows = load_or_empty::<ReturnsLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(OrderReturn).collect())
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
        let a = &self.0.address;
        DeliveryAddress {
            label: a.label.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            pincode: a.pincode.clone(),
        }
    }

    /// Every status it has been in, oldest first, with who moved it and why.
    async fn status_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<OrderStatusChange>> {
        let rows = load_or_empty::<HistoryLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows
            .into_iter()
            .map(|row| OrderStatusChange {
                status: row.status,
                at: row.at,
                actor: row.actor,
                note: row.note,
            })
            .collect())
    }

    /// Why it was cancelled, if it was.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation_reason.as_deref()
    }

    /// The pharmacist's dispensing of its prescription medicines (null
    /// until recorded with `dispenseOrder`; required before dispatch).
    async fn dispensing(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::schema::dispensing::OrderDispensing>> {
        crate::schema::dispensing::order_dispensing(ctx, &self.0.id).await
    }

    /// Who sells it: the vendor's legal name and the branch fulfilling it
    /// (null for orders placed before branches were recorded).
    async fn seller(&self, ctx: &Context<'_>) -> ApiResult<Option<OrderSeller>> {
        invoices::seller_of(ctx, &self.0.id).await
    }

    /// Its GST tax invoice, issued when it was confirmed (null before).
    async fn invoice(&self, ctx: &Context<'_>) -> ApiResult<Option<Invoice>> {
        invoices::invoice_of(ctx, &self.0.id).await
    }

    /// Credit notes against its invoice (cancellation, approved returns), oldest first.
    async fn credit_notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Invoice>> {
        invoices::credit_notes_of(ctx, &self.0.id).await
    }
}

/// One line of an order, with the snapshot that makes the invoice.
pub struct OrderLine(pub(in crate::schema) LineRow);

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
    async fn schedule(&self) -> Schedule {
        self.0.schedule
    }

    /// HSN code the GST rate came from.
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }

    /// GST rate applied, in percent ("5", "12", "0.25").
    async fn gst_rate(&self) -> String {
        self.0.gst_rate.percent_string()
    }

    /// Price per unit paid, tax included.
    async fn unit_price(&self) -> Money {
        Money::from(self.0.unit_price)
    }

    /// Maximum retail price per unit at checkout.
    async fn mrp(&self) -> Money {
        Money::from(self.0.mrp)
    }

    /// Unit price × quantity, tax included.
    async fn line_total(&self) -> Money {
        Money::from(self.0.line_total)
    }

    /// The line's value before tax.
    async fn taxable_value(&self) -> Money {
        Money::from(self.0.taxable_value)
    }

    /// Central GST in the line (zero for inter-state orders).
    async fn cgst(&self) -> Money {
        Money::from(self.0.cgst)
    }

    /// State GST in the line (zero for inter-state orders).
    async fn sgst(&self) -> Money {
        Money::from(self.0.sgst)
    }

    /// Integrated GST in the line (zero for intra-state orders).
    async fn igst(&self) -> Money {
        Money::from(self.0.igst)
    }

    /// All GST in the line.
    async fn tax_total(&self) -> Money {
        Money::from(self.0.cgst + self.0.sgst + self.0.igst)
    }

    /// For a prescription medicine: the patient and prescriber it was
    /// sold against (snapshotted at checkout); null otherwise.
    async fn prescription(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::schema::dispensing::OrderLinePrescription>> {
        crate::schema::dispensing::line_prescription(ctx, &self.0.id).await
    }

    /// The batches the units come from (first expiry first out).
    async fn batches(&self) -> ApiResult<Vec<OrderLineBatch>> {
        self.0
            .batches
            .iter()
            .map(|b| {
                Ok(OrderLineBatch {
                    batch_number: b.batch_number.clone(),
                    expires_on: Date::from_db(&b.expires_on)?,
                    quantity: b.quantity,
                    mrp: b.mrp.map(|p| Money::from(janta_platform::money::Paise(p))),
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
    /// The batch's MRP per unit as printed on it (null for orders placed
    /// before catalog reported it).
    pub mrp: Option<Money>,
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
    /// The GST inside the total, in paise (settlements withhold TCS on the
    /// value before tax).
    pub tax_paise: i64,
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
            status: o.status,
            total_paise: o.total.get(),
            tax_paise: o.tax_total().get(),
            currency: o.currency.clone(),
            total: Money::from(o.total),
            payment_method: o.payment_method,
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
    /// Branches to fulfil vendors' orders from (at most one per vendor);
    /// each vendor's default shipping branch otherwise. The branch's state
    /// decides CGST + SGST or IGST.
    pub fulfil_from: Option<Vec<FulfilFromInput>>,
}

pub(in crate::schema) async fn list(
    ctx: &Context<'_>,
    owner: OrderOwner<'_>,
    status: Option<Status>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Order>> {
    let page = PageRequest::from_ctx(ctx, first, after)?;
    let (rows, total) = store::list_orders(&state(ctx).store, owner, status, &page).await?;
    let nodes = rows.into_iter().map(Order).collect();
    Ok(build_connection(&page, nodes, total, |o| Cursor {
        key: to_db_time(o.0.placed_at.0),
        id: o.0.id.clone(),
    }))
}
