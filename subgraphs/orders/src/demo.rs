//! Demo data for dev mode. Carts start empty, and the demo's orders are
//! placed through the API (so they hold real reservations in catalog) —
//! except one past order of the demo customer, delivered, with its GST tax
//! invoice, so that invoices can be seen at once. It is data, in
//! `subgraphs/orders/demo/orders.toml` (embedded in the binary), written
//! with the same store and invoice code as real orders. Seeded once (it
//! checks for the order first); production never calls it.

pub mod scale;

use crate::domain::invoices::Seller;
use crate::domain::{
    line_tax, AllocatedBatch, GstRate, PaymentMethod, Schedule, Status, Supply, Totals,
};
use crate::service::invoices::issue_invoice_at;
use crate::store::{self, AddressSnapshot, LineRow, OrderParties, OrderRow, Owed};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::{parse_rupees, Paise, INR};
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use serde::Deserialize;

/// The data file, compiled into the binary.
const ORDERS: &str = include_str!("../demo/orders.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    orders: Vec<DemoOrder>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOrder {
    id: String,
    customer: String,
    customer_name: String,
    vendor: String,
    placed_days_ago: i64,
    address: DemoAddress,
    seller: DemoSeller,
    lines: Vec<DemoLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAddress {
    id: String,
    label: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    pincode: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSeller {
    legal_name: String,
    branch_id: String,
    branch_name: String,
    line1: String,
    city: String,
    state: String,
    pincode: String,
    gstin: String,
    invoice_series: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLine {
    listing: String,
    medicine: String,
    name: String,
    hsn_code: String,
    gst_percent: i64,
    quantity: i64,
    unit_price: String,
    mrp: String,
    batch: String,
}

/// Seeds the demo orders unless they exist; returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let data: DemoData = toml::from_str(ORDERS)?;
    let mut seeded = false;
    for order in &data.orders {
        if store::find_order(store, &order.id).await?.is_none() {
            seed_order(store, order).await?;
            seeded = true;
        }
    }
    Ok(seeded)
}

/// Writes one delivered order, its history, its seller and its invoice.
async fn seed_order(store: &Store, demo: &DemoOrder) -> anyhow::Result<()> {
    let placed = DateTime(chrono::Utc::now() - chrono::Duration::days(demo.placed_days_ago));
    let at = |minutes: i64| DateTime(placed.0 + chrono::Duration::minutes(minutes));
    let supply = Supply::between(&demo.seller.state, &demo.address.state);
    let lines = demo
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| line_row(&demo.id, i, l, supply, at(0)))
        .collect::<anyhow::Result<Vec<SeededLine>>>()?;
    let totals = Totals::of(lines.iter().map(|l| &l.tax));
    let order = order_row(demo, supply, &totals, placed, at(3 * 24 * 60));
    let mut tx = store.begin().await?;
    store::insert_order(&mut tx, &order).await?;
    for line in &lines {
        store::insert_line(&mut tx, &line.row).await?;
    }
    store::insert_parties(&mut tx, &demo.vendor, &parties(demo)).await?;
    let history = [
        (
            Status::PendingPayment,
            demo.customer.as_str(),
            "order placed",
            0,
        ),
        (Status::Confirmed, "system", "cash on delivery", 1),
        (Status::Packed, "system", "packed", 60),
        (
            Status::OutForDelivery,
            "system",
            "handed to delivery",
            24 * 60,
        ),
        (Status::Delivered, "system", "delivered", 3 * 24 * 60),
    ];
    for (status, actor, note, minutes) in history {
        store::record_status(&mut tx, &demo.id, status, actor, Some(note), at(minutes)).await?;
    }
    let cause = Cause::system(None);
    issue_invoice_at(&mut tx, &order, &cause, at(1)).await?;
    tx.commit().await?;
    Ok(())
}

/// A demo line with its tax split.
struct SeededLine {
    row: LineRow,
    tax: crate::domain::LineTax,
}

fn line_row(
    order_id: &str,
    index: usize,
    l: &DemoLine,
    supply: Supply,
    placed: DateTime,
) -> anyhow::Result<SeededLine> {
    let money = |raw: &str| parse_rupees(raw, "demo amount").map_err(anyhow::Error::from);
    let unit_price = money(&l.unit_price)?;
    let mrp = money(&l.mrp)?;
    let rate = GstRate::from_basis_points(l.gst_percent * 100)?;
    let tax = line_tax(unit_price, l.quantity, rate, supply);
    let expires = (placed.0 + chrono::Duration::days(365)).date_naive();
    let row = LineRow {
        id: new_id(),
        order_id: order_id.to_string(),
        position: index as i64 + 1,
        listing_id: l.listing.clone(),
        medicine_id: l.medicine.clone(),
        medicine_version: 1,
        medicine_name: l.name.clone(),
        schedule: Schedule::Otc,
        hsn_code: l.hsn_code.clone(),
        gst_rate: rate,
        quantity: l.quantity,
        unit_price: Paise(unit_price),
        mrp: Paise(mrp),
        line_total: Paise(tax.gross),
        taxable_value: Paise(tax.taxable),
        cgst: Paise(tax.cgst),
        sgst: Paise(tax.sgst),
        igst: Paise(tax.igst),
        prescription_id: None,
        batches: vec![AllocatedBatch {
            batch_number: l.batch.clone(),
            expires_on: expires.to_string(),
            quantity: l.quantity,
            mrp: Some(mrp),
        }],
    };
    Ok(SeededLine { row, tax })
}

fn order_row(
    demo: &DemoOrder,
    supply: Supply,
    t: &Totals,
    placed: DateTime,
    delivered: DateTime,
) -> OrderRow {
    let a = &demo.address;
    OrderRow {
        id: demo.id.clone(),
        checkout_id: new_id(),
        customer_id: demo.customer.clone(),
        vendor_id: demo.vendor.clone(),
        vendor_state: demo.seller.state.clone(),
        status: Status::Delivered,
        payment_method: Some(PaymentMethod::CashOnDelivery),
        supply,
        currency: INR.to_string(),
        total: Paise(t.total),
        taxable_total: Paise(t.taxable),
        cgst_total: Paise(t.cgst),
        sgst_total: Paise(t.sgst),
        igst_total: Paise(t.igst),
        address: AddressSnapshot {
            id: a.id.clone(),
            label: a.label.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            pincode: a.pincode.clone(),
        },
        prescription_ids: vec![],
        cancellation_reason: None,
        placed_at: placed,
        payment_due_at: placed,
        updated_at: delivered,
        version: 5,
        owed: Owed::default(),
    }
}

fn parties(demo: &DemoOrder) -> OrderParties {
    let s = &demo.seller;
    OrderParties {
        order_id: demo.id.clone(),
        seller: Seller {
            legal_name: s.legal_name.clone(),
            branch_id: s.branch_id.clone(),
            branch_name: s.branch_name.clone(),
            line1: s.line1.clone(),
            city: s.city.clone(),
            state: s.state.clone(),
            pincode: s.pincode.clone(),
            gstin: s.gstin.clone(),
            invoice_series: s.invoice_series.clone(),
        },
        buyer_name: Some(demo.customer_name.clone()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_data_file_parses_and_refers_to_the_demo_accounts() {
        let data: super::DemoData = toml::from_str(super::ORDERS).unwrap();
        let order = &data.orders[0];
        assert_eq!(order.customer, janta_platform::demo::CUSTOMER_ID);
        assert_eq!(order.vendor, janta_platform::demo::VENDOR_KA_ID);
        assert_eq!(order.address.id, janta_platform::demo::CUSTOMER_ADDRESS_ID);
        assert_eq!(order.lines.len(), 3);
    }
}
