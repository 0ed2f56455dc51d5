//! Dispensing and the H1 register in the API: `dispenseOrder` (a verified
//! pharmacist of the order's vendor, while it is packed), `Order.dispensing`,
//! and `h1Register` / `h1RegisterCsv` for that vendor's pharmacists and
//! admins and for platform admins.

use super::loaders::load_order;
use super::{state, Order};
use crate::domain::dispensing::{self as rules, H1Entry, Prescriber};
use crate::service::dispensing::{self, DispenseRequest};
use crate::store::{self, DispensingRow};
use async_graphql::{Context, Object, SimpleObject, ID};
use janta_platform::auth::principal;
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::loader::{keyed, load_one, BatchLoad};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Loads the dispensings of many orders in one statement per batch.
pub struct DispensingLoader;

impl BatchLoad<String> for DispensingLoader {
    type Value = DispensingRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, DispensingRow>> {
        let rows = store::dispensings_of_orders(store, keys).await?;
        Ok(keyed(rows, |r| r.order_id.clone()))
    }
}

/// Loads the patient and prescriber snapshots of many order lines in one
/// statement per batch.
pub struct LinePrescriberLoader;

impl BatchLoad<String> for LinePrescriberLoader {
    type Value = Prescriber;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Prescriber>> {
        Ok(store::prescribers_of_lines(store, keys)
            .await?
            .into_iter()
            .collect())
    }
}

/// Who a prescription line was sold for and who prescribed it, as
/// snapshotted at checkout from the covering prescription.
#[derive(SimpleObject)]
pub struct OrderLinePrescription {
    /// The covering prescription.
    pub prescription_id: Option<ID>,
    /// The patient named on it.
    pub patient_name: Option<String>,
    /// The prescriber.
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration number.
    pub prescriber_registration: Option<String>,
}

/// The snapshot of order line `line_id` (batched), for `OrderLine.prescription`.
pub(super) async fn line_prescription(
    ctx: &Context<'_>,
    line_id: &str,
) -> ApiResult<Option<OrderLinePrescription>> {
    principal(ctx)?.refuse_partner()?;
    let found = load_one::<LinePrescriberLoader, _>(ctx, line_id.to_string()).await?;
    Ok(found.map(|p| OrderLinePrescription {
        prescription_id: p.prescription_id.map(ID),
        patient_name: p.patient_name,
        prescriber_name: p.prescriber_name,
        prescriber_registration: p.prescriber_registration,
    }))
}

/// The dispensing of the order `order_id` (batched), for `Order.dispensing`.
pub(super) async fn order_dispensing(
    ctx: &Context<'_>,
    order_id: &str,
) -> ApiResult<Option<OrderDispensing>> {
    Ok(load_one::<DispensingLoader, _>(ctx, order_id.to_string())
        .await?
        .map(OrderDispensing::from))
}

/// The pharmacist who dispensed an order, as users confirmed them then.
#[derive(SimpleObject)]
pub struct DispensingPharmacist {
    /// Their user ID.
    pub id: ID,
    /// Full name.
    pub full_name: String,
    /// Pharmacy council registration number.
    pub registration_number: String,
}

/// A pharmacist's dispensing of an order with prescription medicines:
/// required before it is dispatched.
#[derive(SimpleObject)]
pub struct OrderDispensing {
    /// Who dispensed (a verified pharmacist of the order's pharmacy).
    pub pharmacist: DispensingPharmacist,
    /// When.
    pub dispensed_at: DateTime,
    /// The batch numbers checked: exactly those allocated to the
    /// prescription lines.
    pub batches_checked: Vec<String>,
    /// The pharmacist's note.
    pub note: Option<String>,
}

impl From<DispensingRow> for OrderDispensing {
    fn from(row: DispensingRow) -> Self {
        OrderDispensing {
            pharmacist: DispensingPharmacist {
                id: ID(row.pharmacist.id),
                full_name: row.pharmacist.name,
                registration_number: row.pharmacist.registration,
            },
            dispensed_at: row.dispensed_at,
            batches_checked: row.batches_checked,
            note: row.note,
        }
    }
}

/// One entry of a pharmacy's schedule H1 register: one batch of one H1
/// medicine sold, recorded when the order was dispatched. Never changed.
#[derive(SimpleObject)]
pub struct H1RegisterEntry {
    /// Entry ID.
    pub id: ID,
    /// Date of the sale (Indian date of dispatch).
    pub date: Date,
    /// When the order was dispatched.
    pub dispatched_at: String,
    /// The order.
    pub order_id: ID,
    /// The patient named on the prescription.
    pub patient_name: Option<String>,
    /// The prescriber.
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration number.
    pub prescriber_registration: Option<String>,
    /// The medicine (catalog ID).
    pub medicine_id: ID,
    /// The medicine's name as sold.
    pub medicine_name: String,
    /// Units sold from this batch.
    pub quantity: i32,
    /// The batch number.
    pub batch_number: String,
    /// The batch's expiry, "YYYY-MM-DD".
    pub batch_expires_on: String,
    /// The dispensing pharmacist.
    pub pharmacist: DispensingPharmacist,
}

impl From<H1Entry> for H1RegisterEntry {
    fn from(e: H1Entry) -> Self {
        H1RegisterEntry {
            id: ID(e.id),
            date: Date(e.sold_on),
            dispatched_at: e.dispatched_at,
            order_id: ID(e.order_id),
            patient_name: e.prescriber.patient_name,
            prescriber_name: e.prescriber.prescriber_name,
            prescriber_registration: e.prescriber.prescriber_registration,
            medicine_id: ID(e.medicine_id),
            medicine_name: e.medicine_name,
            quantity: i32::try_from(e.quantity).unwrap_or(i32::MAX),
            batch_number: e.batch_number,
            batch_expires_on: e.batch_expires_on,
            pharmacist: DispensingPharmacist {
                id: ID(e.pharmacist.id),
                full_name: e.pharmacist.name,
                registration_number: e.pharmacist.registration,
            },
        }
    }
}

/// The register of `vendor_id` over a period, for a reader it admits.
async fn register_for(
    ctx: &Context<'_>,
    vendor_id: &ID,
    from: Date,
    to: Date,
) -> ApiResult<Vec<H1Entry>> {
    let viewer = principal(ctx)?;
    let vendor_id = parse_id(vendor_id, "vendorId")?;
    rules::check_register_reader(viewer, &vendor_id)?;
    rules::check_period(from.0, to.0)?;
    dispensing::register(state(ctx), &vendor_id, from.0, to.0).await
}

/// The H1 register's queries.
#[derive(Default)]
pub struct DispensingQuery;

#[Object]
impl DispensingQuery {
    /// A pharmacy's schedule H1 register: every H1 sale (one entry per
    /// batch) dispatched from `from` to `to` (Indian dates, inclusive, at
    /// most 366 days), oldest first. For its pharmacists and vendor admins
    /// and platform admins.
    async fn h1_register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pharmacy (vendor)")] vendor_id: ID,
        #[graphql(desc = "First day, inclusive")] from: Date,
        #[graphql(desc = "Last day, inclusive")] to: Date,
    ) -> ApiResult<Vec<H1RegisterEntry>> {
        let entries = register_for(ctx, &vendor_id, from, to).await?;
        Ok(entries.into_iter().map(H1RegisterEntry::from).collect())
    }

    /// The same register as CSV (RFC 4180: a header row, fields quoted when
    /// needed, CRLF line ends), for inspectors and spreadsheets.
    async fn h1_register_csv(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pharmacy (vendor)")] vendor_id: ID,
        #[graphql(desc = "First day, inclusive")] from: Date,
        #[graphql(desc = "Last day, inclusive")] to: Date,
    ) -> ApiResult<String> {
        let entries = register_for(ctx, &vendor_id, from, to).await?;
        Ok(rules::register_csv(&entries))
    }
}

/// Dispensing's mutation.
#[derive(Default)]
pub struct DispensingMutation;

#[Object]
impl DispensingMutation {
    /// Records that you, a verified pharmacist of the order's pharmacy,
    /// dispensed its prescription medicines, having checked exactly the
    /// batches allocated to its prescription lines. Only while the order is
    /// `PACKED`; an order with prescription medicines cannot be dispatched
    /// before. Once per order (`CONFLICT` after).
    async fn dispense_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The packed order")] order_id: ID,
        #[graphql(desc = "Batch numbers you checked against the prescription lines")]
        batches_checked: Vec<String>,
        #[graphql(desc = "Your note (at most 500 characters)")] note: Option<String>,
    ) -> ApiResult<Order> {
        let me = principal(ctx)?;
        let order_id = parse_id(&order_id, "orderId")?;
        let order = load_order(ctx, &order_id)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        rules::check_dispenser(me, &order.vendor_id)?;
        let request = DispenseRequest {
            order_id: &order_id,
            pharmacist_id: &me.subject,
            batches_checked: &batches_checked,
            note: rules::parse_note(note.as_deref())?,
        };
        let cause = Cause::of_request(ctx);
        dispensing::dispense(state(ctx), &order, &request, &cause).await?;
        let after = store::find_order(&state(ctx).store, &order_id)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        Ok(Order(after))
    }
}
