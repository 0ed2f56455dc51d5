//! Orders' part of `janta seed --scale N`: the order history of the named
//! customer (`scale.customer@janta.test`, 5 orders per N): one to three
//! OTC lines from one vendor's listings, at the plan's prices with the
//! GST split the checkout computes, delivered (cash on delivery, with the
//! status history of a real delivery) or, one in ten, cancelled before
//! payment. Customer, vendor, listing and medicine IDs come from the plan,
//! so they are the records users and catalog seed for the same N.
//!
//! A finished seed leaves an audit row; running the same scale again does
//! nothing, another scale is refused.

use crate::domain::{line_tax, AllocatedBatch, GstRate, PaymentMethod, Status, Supply, Totals};
use janta_platform::money::INR;
use janta_platform::scalars::to_db_time;
use janta_platform::scale::{
    fill, mark_seeded, scale_id, should_seed, Bulk, Kind, OrderSpec, ScalePlan, Value,
};
use janta_platform::store::Store;

/// Lines and history rows an order may have at most (their ID ranges).
const PER_ORDER: u64 = 8;

/// Seeds scale `plan` unless it is there; returns whether it wrote anything.
pub async fn seed(store: &Store, plan: ScalePlan) -> anyhow::Result<bool> {
    if !should_seed(store, &plan).await? {
        return Ok(false);
    }
    let now = chrono::Utc::now();
    let orders: Vec<SeededOrder> = (0..plan.orders)
        .map(|o| SeededOrder::new(&plan, o, now))
        .collect::<anyhow::Result<_>>()?;
    let count = orders.len() as u64;
    let written = fill(store, &orders_bulk(), count, |o, rows| {
        rows.push(orders[o as usize].order_row(&plan));
    })
    .await?;
    fill(store, &lines_bulk(), count, |o, rows| {
        rows.extend(orders[o as usize].line_rows(&plan));
    })
    .await?;
    fill(store, &history_bulk(), count, |o, rows| {
        rows.extend(orders[o as usize].history_rows());
    })
    .await?;
    tracing::info!(rows = written, "orders scale seed: orders");
    mark_seeded(store, &plan, "orders").await?;
    Ok(true)
}

/// One generated order with its lines' tax worked out.
struct SeededOrder {
    index: u64,
    spec: OrderSpec,
    supply: Supply,
    lines: Vec<(u64, i64, GstRate, crate::domain::LineTax)>,
    totals: Totals,
    placed: chrono::DateTime<chrono::Utc>,
}

impl SeededOrder {
    fn new(
        plan: &ScalePlan,
        index: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Self> {
        let spec = plan.order(index);
        let (vendor_state, _, _) = plan.vendor_place(spec.vendor);
        let (_, _, customer_state, _) = plan.customer_address(0);
        let supply = Supply::between(vendor_state, customer_state);
        let mut lines = Vec::new();
        for &(listing, quantity) in &spec.lines {
            let l = plan.listing(listing);
            let rate = GstRate::from_basis_points(plan.medicine(l.medicine).gst_rate_bp)?;
            lines.push((
                listing,
                quantity,
                rate,
                line_tax(l.price_paise, quantity, rate, supply),
            ));
        }
        let totals = Totals::of(lines.iter().map(|l| &l.3));
        let placed = now - chrono::Duration::minutes(spec.placed_minutes_ago);
        Ok(SeededOrder {
            index,
            spec,
            supply,
            lines,
            totals,
            placed,
        })
    }

    fn at(&self, minutes: i64) -> String {
        to_db_time(self.placed + chrono::Duration::minutes(minutes))
    }

    /// (status, actor, note, minutes after placing) of its history.
    fn history(&self) -> Vec<(Status, &'static str, &'static str, i64)> {
        let placed = (Status::PendingPayment, "customer", "order placed", 0);
        if !self.spec.delivered {
            return vec![
                placed,
                (Status::Cancelled, "system", "payment window expired", 15),
            ];
        }
        vec![
            placed,
            (Status::Confirmed, "system", "cash on delivery", 1),
            (Status::Packed, "system", "packed", 60),
            (
                Status::OutForDelivery,
                "system",
                "handed to delivery",
                24 * 60,
            ),
            (Status::Delivered, "system", "delivered", 3 * 24 * 60),
        ]
    }

    fn order_row(&self, plan: &ScalePlan) -> Vec<Value> {
        let (line1, city, state, pincode) = plan.customer_address(0);
        let (vendor_state, _, _) = plan.vendor_place(self.spec.vendor);
        let history = self.history();
        let last = history.last().map_or(0, |h| h.3);
        let (status, method, reason) = if self.spec.delivered {
            let cod = PaymentMethod::CashOnDelivery.as_db().to_string();
            (Status::Delivered, Some(cod), None)
        } else {
            let reason = "payment window expired".to_string();
            (Status::Cancelled, None, Some(reason))
        };
        let t = &self.totals;
        vec![
            scale_id(Kind::Order, self.index).into(),
            scale_id(Kind::Checkout, self.index).into(),
            scale_id(Kind::Customer, 0).into(),
            scale_id(Kind::Vendor, self.spec.vendor).into(),
            vendor_state.into(),
            status.as_db().into(),
            method.into(),
            self.supply.as_db().into(),
            INR.into(),
            t.total.into(),
            t.taxable.into(),
            t.cgst.into(),
            t.sgst.into(),
            t.igst.into(),
            scale_id(Kind::Address, 0).into(),
            "Home".into(),
            line1.into(),
            city.into(),
            state.into(),
            pincode.into(),
            "".into(),
            reason.into(),
            self.at(0).into(),
            self.at(15).into(),
            self.at(last).into(),
            (history.len() as i64).into(),
        ]
    }

    fn line_rows(&self, plan: &ScalePlan) -> Vec<Vec<Value>> {
        let expires = (self.placed + chrono::Duration::days(365)).date_naive();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, (listing, quantity, rate, tax))| {
                let l = plan.listing(*listing);
                let m = plan.medicine(l.medicine);
                let (batch_number, _, _) = plan.batch(*listing, 0);
                let batches = vec![AllocatedBatch {
                    batch_number,
                    expires_on: expires.to_string(),
                    quantity: *quantity,
                    mrp: Some(l.mrp_paise),
                }];
                let batches = serde_json::to_string(&batches).unwrap_or_default();
                vec![
                    scale_id(Kind::OrderLine, self.index * PER_ORDER + i as u64).into(),
                    scale_id(Kind::Order, self.index).into(),
                    (i as i64 + 1).into(),
                    scale_id(Kind::Listing, *listing).into(),
                    scale_id(Kind::Medicine, l.medicine).into(),
                    1_i64.into(),
                    m.name.into(),
                    m.schedule.into(),
                    m.hsn_code.into(),
                    rate.basis_points().into(),
                    (*quantity).into(),
                    l.price_paise.into(),
                    l.mrp_paise.into(),
                    tax.gross.into(),
                    tax.taxable.into(),
                    tax.cgst.into(),
                    tax.sgst.into(),
                    tax.igst.into(),
                    batches.into(),
                ]
            })
            .collect()
    }

    fn history_rows(&self) -> Vec<Vec<Value>> {
        let customer = scale_id(Kind::Customer, 0);
        self.history()
            .into_iter()
            .enumerate()
            .map(|(seq, (status, actor, note, minutes))| {
                let actor = if actor == "customer" {
                    customer.as_str()
                } else {
                    actor
                };
                vec![
                    scale_id(Kind::OrderStatus, self.index * PER_ORDER + seq as u64).into(),
                    scale_id(Kind::Order, self.index).into(),
                    (seq as i64 + 1).into(),
                    status.as_db().into(),
                    actor.into(),
                    note.into(),
                    self.at(minutes).into(),
                ]
            })
            .collect()
    }
}

fn orders_bulk() -> Bulk {
    Bulk::new(
        "orders",
        &[
            "id",
            "checkout_id",
            "customer_id",
            "vendor_id",
            "vendor_state",
            "status",
            "payment_method",
            "supply",
            "currency",
            "total",
            "taxable_total",
            "cgst_total",
            "sgst_total",
            "igst_total",
            "address_id",
            "address_label",
            "address_line1",
            "address_city",
            "address_state",
            "address_pincode",
            "prescription_ids",
            "cancellation_reason",
            "placed_at",
            "payment_due_at",
            "updated_at",
            "version",
        ],
    )
}

fn lines_bulk() -> Bulk {
    Bulk::new(
        "order_lines",
        &[
            "id",
            "order_id",
            "position",
            "listing_id",
            "medicine_id",
            "medicine_version",
            "medicine_name",
            "schedule",
            "hsn_code",
            "gst_rate_bp",
            "quantity",
            "unit_price",
            "mrp",
            "line_total",
            "taxable_value",
            "cgst",
            "sgst",
            "igst",
            "batches",
        ],
    )
}

fn history_bulk() -> Bulk {
    Bulk::new(
        "order_status_history",
        &["id", "order_id", "seq", "status", "actor", "note", "at"],
    )
}
