//! GST tax invoices and credit notes in the API: `invoice(number,
//! sellerGstin)`, the `Invoice` type (also used for credit notes) with its
//! lines, HSN summary and a downloadable rendering, the seller of an order
//! (`Order.seller`), `Order.invoice` and `Order.creditNotes`, and the
//! checkout input that names a fulfilling branch. Who may read a document is
//! who may read its order: the buyer, the vendor's staff and admins.

use super::loaders::load_order;
use super::state;
use super::types::Order;
use crate::domain::access;
use crate::domain::invoices::{
    self, hsn_summary, parse_gstin, parse_number, DocumentKind, DocumentLine, HsnSummaryLine,
    Seller, TaxDocument,
};
use crate::domain::Supply;
use crate::store::{self, OrderParties};
use async_graphql::{Context, Enum, InputObject, Object, ID};
use janta_platform::auth::principal;
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::money::Money;
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Loads the tax documents of many orders in two statements per batch.
pub struct DocumentsLoader;

impl BatchLoad<String> for DocumentsLoader {
    type Value = Vec<TaxDocument>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<TaxDocument>>> {
        let docs = store::documents_of_orders(store, keys).await?;
        Ok(grouped(docs, |d| d.order_id.clone()))
    }
}

/// Loads the parties (seller branch, buyer name) of many orders in one
/// statement per batch.
pub struct PartiesLoader;

impl BatchLoad<String> for PartiesLoader {
    type Value = OrderParties;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, OrderParties>> {
        let rows = store::parties_of_orders(store, keys).await?;
        Ok(keyed(rows, |p| p.order_id.clone()))
    }
}

/// The order's tax invoice, once confirmed.
pub(super) async fn invoice_of(ctx: &Context<'_>, order_id: &str) -> ApiResult<Option<Invoice>> {
    let docs = load_or_empty::<DocumentsLoader, _, _>(ctx, order_id.to_string()).await?;
    Ok(docs
        .into_iter()
        .find(|d| d.kind == DocumentKind::TaxInvoice)
        .map(Invoice))
}

/// The order's credit notes, oldest first.
pub(super) async fn credit_notes_of(ctx: &Context<'_>, order_id: &str) -> ApiResult<Vec<Invoice>> {
    let docs = load_or_empty::<DocumentsLoader, _, _>(ctx, order_id.to_string()).await?;
    Ok(docs
        .into_iter()
        .filter(|d| d.kind == DocumentKind::CreditNote)
        .map(Invoice)
        .collect())
}

/// The order's seller (fulfilling branch), when recorded.
pub(super) async fn seller_of(ctx: &Context<'_>, order_id: &str) -> ApiResult<Option<OrderSeller>> {
    let parties = load_one::<PartiesLoader, _>(ctx, order_id.to_string()).await?;
    Ok(parties.map(|p| OrderSeller(p.seller)))
}

/// Invoice look-ups.
#[derive(Default)]
pub struct InvoiceQuery;

#[Object]
impl InvoiceQuery {
    /// A tax invoice or credit note by its number: for the buyer, the
    /// vendor's staff and admins. Numbers are unique per seller GSTIN; name
    /// `sellerGstin` when the number alone is ambiguous among the documents
    /// you may see.
    async fn invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Document number, e.g. \"KA01/26-27/00042\"")] number: String,
        #[graphql(desc = "The seller's GSTIN (needed only when the number is ambiguous)")]
        seller_gstin: Option<String>,
    ) -> ApiResult<Option<Invoice>> {
        let viewer = principal(ctx)?;
        let number = parse_number(&number)?;
        let gstin = seller_gstin.as_deref().map(parse_gstin).transpose()?;
        let docs = store::documents_by_number(&state(ctx).store, &number, gstin.as_deref()).await?;
        if docs.is_empty() {
            return Err(ApiError::not_found("invoice"));
        }
        let mut visible: Vec<TaxDocument> = docs
            .into_iter()
            .filter(|d| access(viewer, &d.customer_id, &d.vendor_id).read)
            .collect();
        match visible.len() {
            0 => Err(ApiError::forbidden(
                "only the buyer, the vendor's staff and admins can see this invoice",
            )),
            1 => Ok(Some(Invoice(visible.remove(0)))),
            _ => Err(ApiError::bad_input(
                "several sellers issued a document with this number; name sellerGstin",
            )),
        }
    }
}

/// The format of a rendered document.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceFormat {
    /// Plain text (UTF-8).
    Text,
    /// A complete HTML page, every value escaped.
    Html,
}

/// A GST tax invoice or credit note.
pub struct Invoice(pub(super) TaxDocument);

/// A GST tax invoice (issued when an order is confirmed) or credit note
/// (issued when a confirmed order is cancelled or a return approved). Never
/// changes once issued.
#[Object]
impl Invoice {
    /// Document ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Tax invoice or credit note.
    async fn kind(&self) -> DocumentKind {
        self.0.kind
    }

    /// Its number, sequential without gaps per seller GSTIN and financial
    /// year: `KA01/26-27/00042` (invoices), `KA01/26-27/C0001` (credit notes).
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// Financial year (April–March, India time), e.g. "26-27".
    async fn financial_year(&self) -> &str {
        &self.0.financial_year
    }

    /// When it was issued.
    async fn issued_at(&self) -> DateTime {
        self.0.issued_at
    }

    /// The order it is for.
    async fn order(&self, ctx: &Context<'_>) -> ApiResult<Order> {
        load_order(ctx, &self.0.order_id)
            .await?
            .map(Order)
            .ok_or_else(|| ApiError::not_found("order"))
    }

    /// Credit notes: the number of the invoice they reduce.
    async fn invoice_number(&self) -> Option<&str> {
        self.0.invoice_number.as_deref()
    }

    /// Credit notes for returns: the return (see `Order.returns`).
    async fn return_id(&self) -> Option<ID> {
        self.0.return_id.clone().map(ID)
    }

    /// Credit notes: why they were issued.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The seller: the vendor's legal name and the branch that supplied.
    async fn seller(&self) -> OrderSeller {
        OrderSeller(self.0.seller.clone())
    }

    /// The recipient: the buyer's name (when known) and delivery address.
    async fn buyer(&self) -> InvoiceBuyer {
        let b = &self.0.buyer;
        InvoiceBuyer {
            name: b.name.clone(),
            line1: b.line1.clone(),
            line2: b.line2.clone(),
            city: b.city.clone(),
            state: b.state.clone(),
            pincode: b.pincode.clone(),
        }
    }

    /// Place of supply: the delivery address's state (ISO 3166-2:IN code).
    async fn place_of_supply(&self) -> &str {
        &self.0.place_of_supply
    }

    /// Within one state (CGST + SGST) or across states (IGST).
    async fn supply(&self) -> Supply {
        self.0.supply
    }

    /// The lines.
    async fn lines(&self) -> Vec<InvoiceLine> {
        self.0.lines.iter().cloned().map(InvoiceLine).collect()
    }

    /// Totals per HSN code and GST rate.
    async fn hsn_summary(&self) -> Vec<InvoiceHsnSummary> {
        hsn_summary(&self.0.lines)
            .into_iter()
            .map(InvoiceHsnSummary)
            .collect()
    }

    /// Sum of the lines' taxable values.
    async fn taxable_value(&self) -> Money {
        Money::inr(self.0.totals.taxable)
    }

    /// Sum of CGST.
    async fn cgst_total(&self) -> Money {
        Money::inr(self.0.totals.cgst)
    }

    /// Sum of SGST (always equal to CGST).
    async fn sgst_total(&self) -> Money {
        Money::inr(self.0.totals.sgst)
    }

    /// Sum of IGST.
    async fn igst_total(&self) -> Money {
        Money::inr(self.0.totals.igst)
    }

    /// All GST.
    async fn tax_total(&self) -> Money {
        Money::inr(self.0.totals.tax())
    }

    /// Grand total, tax included.
    async fn total(&self) -> Money {
        Money::inr(self.0.totals.total)
    }

    /// The complete document, ready to save or print.
    async fn rendered(
        &self,
        #[graphql(desc = "TEXT or HTML", default_with = "InvoiceFormat::Html")]
        format: InvoiceFormat,
    ) -> String {
        match format {
            InvoiceFormat::Text => invoices::render_text(&self.0),
            InvoiceFormat::Html => invoices::render_html(&self.0),
        }
    }
}

/// One line of a tax document.
pub struct InvoiceLine(DocumentLine);

/// A line of a tax invoice or credit note.
#[Object]
impl InvoiceLine {
    /// The order line it is for.
    async fn order_line_id(&self) -> ID {
        ID(self.0.order_line_id.clone())
    }

    /// Description of the goods (medicine name as sold).
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// HSN code.
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }

    /// Units.
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    /// Price per unit, tax included.
    async fn unit_price(&self) -> Money {
        Money::inr(self.0.unit_price)
    }

    /// GST rate in percent ("5", "12").
    async fn gst_rate(&self) -> String {
        self.0.rate.percent_string()
    }

    /// Value before tax.
    async fn taxable_value(&self) -> Money {
        Money::inr(self.0.tax.taxable)
    }

    /// Central GST (half the rate, intra-state).
    async fn cgst(&self) -> Money {
        Money::inr(self.0.tax.cgst)
    }

    /// State GST (half the rate, intra-state; equal to CGST).
    async fn sgst(&self) -> Money {
        Money::inr(self.0.tax.sgst)
    }

    /// Integrated GST (inter-state).
    async fn igst(&self) -> Money {
        Money::inr(self.0.tax.igst)
    }

    /// Line total, tax included.
    async fn total(&self) -> Money {
        Money::inr(self.0.tax.gross)
    }
}

/// One row of a document's HSN summary.
pub struct InvoiceHsnSummary(HsnSummaryLine);

/// Totals of a document's lines with one HSN code and GST rate.
#[Object]
impl InvoiceHsnSummary {
    /// HSN code.
    async fn hsn_code(&self) -> &str {
        &self.0.hsn_code
    }

    /// GST rate in percent.
    async fn gst_rate(&self) -> String {
        self.0.rate.percent_string()
    }

    /// Units.
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    /// Taxable value.
    async fn taxable_value(&self) -> Money {
        Money::inr(self.0.totals.taxable)
    }

    /// CGST.
    async fn cgst(&self) -> Money {
        Money::inr(self.0.totals.cgst)
    }

    /// SGST.
    async fn sgst(&self) -> Money {
        Money::inr(self.0.totals.sgst)
    }

    /// IGST.
    async fn igst(&self) -> Money {
        Money::inr(self.0.totals.igst)
    }

    /// Total, tax included.
    async fn total(&self) -> Money {
        Money::inr(self.0.totals.total)
    }
}

/// The seller of an order.
pub struct OrderSeller(Seller);

/// Who sells an order: the vendor's registered legal name and the branch
/// that fulfils it, as at checkout. Its state decides the GST split.
#[Object]
impl OrderSeller {
    /// The vendor's registered legal name.
    async fn legal_name(&self) -> &str {
        &self.0.legal_name
    }

    /// The fulfilling branch (users' branch ID).
    async fn branch_id(&self) -> ID {
        ID(self.0.branch_id.clone())
    }

    /// The branch's name.
    async fn branch_name(&self) -> &str {
        &self.0.branch_name
    }

    /// Its street address.
    async fn line1(&self) -> &str {
        &self.0.line1
    }

    /// Its city.
    async fn city(&self) -> &str {
        &self.0.city
    }

    /// Its state (ISO 3166-2:IN code).
    async fn state(&self) -> &str {
        &self.0.state
    }

    /// Its PIN code.
    async fn pincode(&self) -> &str {
        &self.0.pincode
    }

    /// The branch's GSTIN.
    async fn gstin(&self) -> &str {
        &self.0.gstin
    }

    /// The prefix of its invoice numbers, e.g. "KA01".
    async fn invoice_series(&self) -> &str {
        &self.0.invoice_series
    }
}

/// The recipient on a tax document.
#[derive(async_graphql::SimpleObject)]
pub struct InvoiceBuyer {
    /// The buyer's full name, when known.
    pub name: Option<String>,
    /// Delivery address, first line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State code (the place of supply).
    pub state: String,
    /// PIN code.
    pub pincode: String,
}

/// A branch to fulfil one vendor's order from (checkout).
#[derive(InputObject)]
pub struct FulfilFromInput {
    /// The vendor (one of the cart's).
    pub vendor_id: ID,
    /// One of its branches that ships orders.
    pub branch_id: ID,
}
