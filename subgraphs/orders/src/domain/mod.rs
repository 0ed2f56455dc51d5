//! Orders' rules, free of I/O: validated values (cart quantities,
//! idempotency keys, cancellation reasons), the order state machine, GST on
//! tax-inclusive prices with exact paise, the vendor split of a cart, and
//! who may see or change an order; [`returns`]: the rules of returns.

pub mod dispensing;
pub mod invoices;
pub mod returns;

use async_graphql::Enum;
use janta_platform::auth::{PartnerScope, Principal};
use janta_platform::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Most units of one listing a cart line (and so an order line) may hold.
pub const MAX_LINE_QUANTITY: i64 = 100;
/// Most distinct lines a cart may hold.
pub const MAX_CART_LINES: usize = 50;
/// Most prescriptions a customer may offer for one checkout.
pub const MAX_PRESCRIPTIONS_PER_CHECKOUT: usize = 20;

/// The refusal of listings whose pharmacy does not sell now (not verified
/// by the platform, or suspended), naming them in `extensions.details`
/// ({listingIds, vendorIds}) as catalog's reservation refusal does.
pub fn not_selling(listing_ids: &[&str], vendor_ids: &[&str]) -> ApiError {
    let mut vendors = vendor_ids.to_vec();
    vendors.sort_unstable();
    vendors.dedup();
    ApiError::forbidden("this pharmacy is not selling right now")
        .with_details(serde_json::json!({ "listingIds": listing_ids, "vendorIds": vendors }))
}

/// A quantity of units on a cart line: 1 to [`MAX_LINE_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    /// Validates a client-supplied quantity.
    pub fn parse(raw: i64) -> ApiResult<Self> {
        if (1..=MAX_LINE_QUANTITY).contains(&raw) {
            Ok(Quantity(raw))
        } else {
            Err(ApiError::bad_input(format!(
                "quantity must be between 1 and {MAX_LINE_QUANTITY}"
            )))
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The client's idempotency key of a checkout: 1–100 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a client-supplied key.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let valid = (1..=100).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_graphic());
        if valid {
            Ok(IdempotencyKey(raw.to_string()))
        } else {
            Err(ApiError::bad_input(
                "idempotencyKey must be 1 to 100 printable ASCII characters without spaces",
            ))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of what a checkout request asked for, so that a key reused
/// for a different request is refused instead of answered with another
/// request's orders. Prescription order does not matter.
pub fn request_fingerprint(
    address_id: &str,
    prescription_ids: &[String],
    payment_method: Option<&str>,
) -> String {
    let mut rx: Vec<&str> = prescription_ids.iter().map(String::as_str).collect();
    rx.sort_unstable();
    rx.dedup();
    let text = format!(
        "v1|{address_id}|{}|{}",
        rx.join(","),
        payment_method.unwrap_or("")
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Validates a cancellation reason: 3–500 characters after trimming.
pub fn parse_reason(raw: &str) -> ApiResult<String> {
    let reason = raw.trim();
    let len = reason.chars().count();
    if !(3..=500).contains(&len) {
        return Err(ApiError::bad_input("reason must be 3 to 500 characters"));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::bad_input(
            "reason must not contain control characters",
        ));
    }
    Ok(reason.to_string())
}

/// Where an order is in its life.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[graphql(name = "OrderStatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Placed, stock reserved, waiting for payment (or expiry).
    PendingPayment,
    /// Paid (or cash on delivery chosen): stock committed, prescriptions consumed.
    Confirmed,
    /// The vendor has packed it.
    Packed,
    /// Handed to delivery (dispatched): it can no longer be cancelled.
    OutForDelivery,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled before dispatch (by the customer, vendor, admin or the system).
    Cancelled,
    /// Returned after delivery.
    Returned,
    /// Some of the delivered units were returned, not all.
    PartiallyReturned,
}

impl Status {
    /// Every status, in life order.
    pub const ALL: [Status; 8] = [
        Status::PendingPayment,
        Status::Confirmed,
        Status::Packed,
        Status::OutForDelivery,
        Status::Delivered,
        Status::Cancelled,
        Status::Returned,
        Status::PartiallyReturned,
    ];

    /// Storage (and API) form.
    pub fn as_db(self) -> &'static str {
        match self {
            Status::PendingPayment => "PENDING_PAYMENT",
            Status::Confirmed => "CONFIRMED",
            Status::Packed => "PACKED",
            Status::OutForDelivery => "OUT_FOR_DELIVERY",
            Status::Delivered => "DELIVERED",
            Status::Cancelled => "CANCELLED",
            Status::Returned => "RETURNED",
            Status::PartiallyReturned => "PARTIALLY_RETURNED",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|st| st.as_db() == s)
    }

    /// Not yet handed to delivery, so it may still be cancelled.
    pub fn before_dispatch(self) -> bool {
        matches!(
            self,
            Status::PendingPayment | Status::Confirmed | Status::Packed
        )
    }

    /// Still under way: not yet delivered, cancelled or returned. Users
    /// keeps an account open while any of its orders is (an erased
    /// delivery address could not be delivered to).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::Delivered | Status::Cancelled | Status::Returned | Status::PartiallyReturned
        )
    }

    /// Whether stock was committed and prescriptions consumed (the order
    /// was confirmed at some point and not undone).
    pub fn was_confirmed(self) -> bool {
        matches!(
            self,
            Status::Confirmed
                | Status::Packed
                | Status::OutForDelivery
                | Status::Delivered
                | Status::Returned
                | Status::PartiallyReturned
        )
    }
}

/// How the customer pays (the same enum as payments').
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    /// Unified Payments Interface.
    Upi,
    /// Debit or credit card.
    Card,
    /// Net banking.
    Netbanking,
    /// Cash collected on delivery: the order is confirmed without prepayment.
    CashOnDelivery,
}

impl PaymentMethod {
    /// Storage (and wire) form.
    pub fn as_db(self) -> &'static str {
        match self {
            PaymentMethod::Upi => "UPI",
            PaymentMethod::Card => "CARD",
            PaymentMethod::Netbanking => "NETBANKING",
            PaymentMethod::CashOnDelivery => CASH_ON_DELIVERY,
        }
    }

    /// Reads the storage (or wire) form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            PaymentMethod::Upi,
            PaymentMethod::Card,
            PaymentMethod::Netbanking,
            PaymentMethod::CashOnDelivery,
        ]
        .into_iter()
        .find(|m| m.as_db() == s)
    }
}

/// Storage form of cash on delivery (orders that never expire unpaid).
pub const CASH_ON_DELIVERY: &str = "CASH_ON_DELIVERY";

/// A call an order owes catalog for its stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockAction {
    /// Make the reservation permanent (the order was confirmed).
    Commit,
    /// Give the units back (the order was cancelled).
    Release,
}

impl StockAction {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            StockAction::Commit => "COMMIT",
            StockAction::Release => "RELEASE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        [StockAction::Commit, StockAction::Release]
            .into_iter()
            .find(|a| a.as_db() == s)
    }
}

/// A call an order owes prescriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAction {
    /// Consume the approved quantities (the order was confirmed).
    Consume,
    /// Give consumed quantities back (the order was cancelled).
    Restore,
}

impl RxAction {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            RxAction::Consume => "CONSUME",
            RxAction::Restore => "RESTORE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        [RxAction::Consume, RxAction::Restore]
            .into_iter()
            .find(|a| a.as_db() == s)
    }
}

/// Where a claimed checkout attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutStatus {
    /// The saga runs (its planned orders may hold reservations).
    InProgress,
    /// Its orders exist.
    Done,
}

impl CheckoutStatus {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            CheckoutStatus::InProgress => "IN_PROGRESS",
            CheckoutStatus::Done => "DONE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        [CheckoutStatus::InProgress, CheckoutStatus::Done]
            .into_iter()
            .find(|c| c.as_db() == s)
    }
}

/// A batch a reservation line was allocated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatedBatch {
    /// The manufacturer's batch number.
    pub batch_number: String,
    /// Expiry date, "YYYY-MM-DD".
    pub expires_on: String,
    /// Units from this batch.
    pub quantity: i64,
    /// The batch's MRP per unit in paise, as printed on it (kept from
    /// catalog's reservation; absent on orders placed before catalog gave it).
    #[serde(default, rename = "mrpPaise", skip_serializing_if = "Option::is_none")]
    pub mrp: Option<i64>,
}

/// Who moves an order, which decides the moves they may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// The platform itself (payment events, expiry).
    System,
    /// The buyer.
    Buyer,
    /// Staff of the order's vendor.
    VendorStaff,
    /// A platform administrator.
    Admin,
}

/// Checks the move `from → to` by `mover`. Illegal moves are `CONFLICT`
/// (the order is not in a state that allows it); moves that are legal but
/// not this mover's to make are `FORBIDDEN`.
pub fn check_transition(from: Status, to: Status, mover: Mover) -> ApiResult<()> {
    use Status::*;
    let legal = matches!(
        (from, to),
        (PendingPayment, Confirmed)
            | (Confirmed, Packed)
            | (Packed, OutForDelivery)
            | (OutForDelivery, Delivered)
            | (Delivered, Returned)
            | (Delivered | PartiallyReturned, PartiallyReturned)
            | (PartiallyReturned, Returned)
            | (PendingPayment | Confirmed | Packed, Cancelled)
    );
    if !legal {
        let why = match to {
            Cancelled => " (orders can be cancelled only before dispatch)",
            Returned => " (only delivered orders can be returned)",
            _ => "",
        };
        return Err(ApiError::conflict(format!(
            "an order that is {} cannot become {}{why}",
            from.as_db(),
            to.as_db()
        )));
    }
    let allowed = match (mover, to) {
        (Mover::System, _) => true,
        // Returns come from approved return requests only, which refund
        // the customer and quarantine the units: by hand the money and the
        // stock would stay where they were.
        (_, PartiallyReturned | Returned) => false,
        // Confirmation comes from payment only.
        (_, Confirmed) => false,
        (Mover::Buyer, Cancelled) => true,
        (Mover::Buyer, _) => false,
        (Mover::VendorStaff | Mover::Admin, _) => true,
    };
    if allowed {
        Ok(())
    } else if to == Confirmed {
        Err(ApiError::forbidden(
            "orders are confirmed by their payment, not by hand",
        ))
    } else if matches!(to, Returned | PartiallyReturned) {
        Err(ApiError::forbidden(
            "orders are returned through return requests (requestReturn, reviewReturn), which refund the customer",
        ))
    } else {
        Err(ApiError::forbidden(
            "only the vendor's staff can move an order forward",
        ))
    }
}

/// What a principal may do with one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Read it.
    pub read: bool,
    /// The mover they act as when changing it, if any.
    pub mover: Option<Mover>,
}

/// The buyer, that vendor's staff and admins may read an order; everyone
/// else may not. A partner app of that vendor reads it with `orders:read`
/// and acts on it as the vendor's staff with `orders:write`; other partner
/// apps (another vendor's, platform apps) do neither. Services have their
/// own service-only fields (`orderForPayment`) and act on orders through
/// events, never through the public fields.
pub fn access(p: &Principal, buyer_id: &str, vendor_id: &str) -> Access {
    let mover = if p.is_admin() {
        Some(Mover::Admin)
    } else if p.acts_for_vendor(vendor_id, PartnerScope::OrdersWrite) {
        Some(Mover::VendorStaff)
    } else if p.subject == buyer_id && !p.is_partner() {
        Some(Mover::Buyer)
    } else {
        None
    };
    Access {
        read: mover.is_some() || p.acts_for_vendor(vendor_id, PartnerScope::OrdersRead),
        mover,
    }
}

/// Drug schedule under the Drugs and Cosmetics Rules, 1945 (the same enum
/// as catalog's). Anything but `OTC` is sold only against a prescription.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Schedule {
    /// Not scheduled: sold over the counter.
    #[graphql(name = "OTC")]
    #[serde(rename = "OTC")]
    Otc,
    /// Schedule H: prescription only.
    #[graphql(name = "H")]
    H,
    /// Schedule H1: prescription only, and the pharmacy keeps a register.
    #[graphql(name = "H1")]
    H1,
    /// Schedule X: narcotic and psychotropic drugs; a prescription per order.
    #[graphql(name = "X")]
    X,
}

impl Schedule {
    /// Storage (and wire) form.
    pub fn as_db(self) -> &'static str {
        match self {
            Schedule::Otc => "OTC",
            Schedule::H => "H",
            Schedule::H1 => "H1",
            Schedule::X => "X",
        }
    }

    /// Reads the storage or wire form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OTC" => Some(Schedule::Otc),
            "H" => Some(Schedule::H),
            "H1" => Some(Schedule::H1),
            "X" => Some(Schedule::X),
            _ => None,
        }
    }

    /// Every scheduled medicine needs a prescription.
    pub fn requires_prescription(self) -> bool {
        self != Schedule::Otc
    }
}

/// A GST rate in basis points (hundredths of a percent): 5% is 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GstRate(i64);

impl GstRate {
    /// A rate from basis points; GST slabs lie between 0% and 40%.
    pub fn from_basis_points(bp: i64) -> anyhow::Result<Self> {
        if (0..=4000).contains(&bp) {
            Ok(GstRate(bp))
        } else {
            anyhow::bail!("GST rate of {bp} basis points is out of range")
        }
    }

    /// Basis points.
    pub fn basis_points(self) -> i64 {
        self.0
    }

    /// The rate as a percentage string: "5", "12", "0.25".
    pub fn percent_string(self) -> String {
        let whole = self.0 / 100;
        match self.0 % 100 {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

/// Whether a supply is within one state (CGST + SGST) or across states (IGST).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "GstSupply")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Supply {
    /// Fulfilling branch and delivery address in the same state: CGST + SGST.
    IntraState,
    /// Different states: IGST.
    InterState,
}

impl Supply {
    /// Decides by the fulfilling branch's state and the delivery address's
    /// state (ISO 3166-2:IN codes, compared case-insensitively).
    pub fn between(vendor_state: &str, delivery_state: &str) -> Self {
        if vendor_state
            .trim()
            .eq_ignore_ascii_case(delivery_state.trim())
        {
            Supply::IntraState
        } else {
            Supply::InterState
        }
    }

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Supply::IntraState => "INTRA_STATE",
            Supply::InterState => "INTER_STATE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        [Supply::IntraState, Supply::InterState]
            .into_iter()
            .find(|x| x.as_db() == s)
    }
}

/// The tax inside one line's tax-inclusive amount, in paise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineTax {
    /// What the customer pays for the line (tax included): unit price × quantity.
    pub gross: i64,
    /// The value before tax.
    pub taxable: i64,
    /// Central GST (intra-state supplies).
    pub cgst: i64,
    /// State GST (intra-state supplies).
    pub sgst: i64,
    /// Integrated GST (inter-state supplies).
    pub igst: i64,
}

impl LineTax {
    /// All tax on the line.
    pub fn tax(&self) -> i64 {
        self.cgst + self.sgst + self.igst
    }
}

/// Splits a tax-inclusive line amount into its taxable value and tax.
///
/// [`split_gross`] of unit price × quantity.
pub fn line_tax(unit_price: i64, quantity: i64, rate: GstRate, supply: Supply) -> LineTax {
    split_gross(unit_price * quantity, rate, supply)
}

/// Splits a tax-inclusive amount (paise) into its taxable value and tax,
/// rounding half away from zero.
///
/// Within a state CGST and SGST are each levied at half the rate on the same
/// taxable value, so they are equal: `half = round(gross × (rate/2) / (100% +
/// rate))`, `cgst = sgst = half`, `taxable = gross − 2·half`. Across states:
/// `igst = round(gross × rate / (100% + rate))`, `taxable = gross − igst`.
/// The taxable value absorbs the rounding, so taxable + tax is exactly the
/// gross and the lines of an order sum exactly to its total.
pub fn split_gross(gross: i64, rate: GstRate, supply: Supply) -> LineTax {
    let bp = i128::from(rate.basis_points());
    let base = 10_000 + bp;
    let round = |numerator: i128, denominator: i128| -> i64 {
        let rounded = (2 * numerator + denominator) / (2 * denominator);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    };
    let g = i128::from(gross.max(0));
    let (cgst, sgst, igst) = match supply {
        Supply::IntraState => {
            let half = round(g * bp, 2 * base);
            (half, half, 0)
        }
        Supply::InterState => (0, 0, round(g * bp, base)),
    };
    LineTax {
        gross,
        taxable: gross - cgst - sgst - igst,
        cgst,
        sgst,
        igst,
    }
}

/// The totals of an order: sums of its lines' amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// What the customer pays (tax included).
    pub total: i64,
    /// Sum of taxable values.
    pub taxable: i64,
    /// Sum of CGST.
    pub cgst: i64,
    /// Sum of SGST.
    pub sgst: i64,
    /// Sum of IGST.
    pub igst: i64,
}

impl Totals {
    /// Adds up line taxes.
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a LineTax>) -> Self {
        lines.into_iter().fold(Totals::default(), |t, l| Totals {
            total: t.total + l.gross,
            taxable: t.taxable + l.taxable,
            cgst: t.cgst + l.cgst,
            sgst: t.sgst + l.sgst,
            igst: t.igst + l.igst,
        })
    }

    /// All tax.
    pub fn tax(&self) -> i64 {
        self.cgst + self.sgst + self.igst
    }
}

/// Groups items by vendor, keeping each vendor's items in cart order and
/// vendors in a stable (sorted) order: one order per vendor.
pub fn split_by_vendor<T>(
    items: Vec<T>,
    vendor_of: impl Fn(&T) -> String,
) -> BTreeMap<String, Vec<T>> {
    let mut groups: BTreeMap<String, Vec<T>> = BTreeMap::new();
    for item in items {
        groups.entry(vendor_of(&item)).or_default().push(item);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(percent: i64) -> GstRate {
        GstRate::from_basis_points(percent * 100).unwrap()
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-3).is_err());
        assert!(Quantity::parse(101).is_err());
        assert_eq!(Quantity::parse(100).unwrap().get(), 100);
    }

    #[test]
    fn idempotency_keys_are_printable_and_short() {
        assert!(IdempotencyKey::parse("checkout-2026-11-22-001").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(101)).is_err());
        assert!(IdempotencyKey::parse("ключ").is_err());
    }

    #[test]
    fn fingerprints_ignore_prescription_order() {
        let a = request_fingerprint("addr", &["p2".into(), "p1".into()], None);
        let b = request_fingerprint("addr", &["p1".into(), "p2".into()], None);
        assert_eq!(a, b);
        assert_ne!(a, request_fingerprint("addr", &["p1".into()], None));
        assert_ne!(
            a,
            request_fingerprint("addr", &["p1".into(), "p2".into()], Some("UPI"))
        );
    }

    #[test]
    fn tax_inclusive_lines_split_exactly() {
        // 2 × ₹30.00 at 5%: taxable round(6000 × 100 / 105) = 5714, tax 286.
        let t = line_tax(3000, 2, rate(5), Supply::IntraState);
        assert_eq!(
            (t.gross, t.taxable, t.cgst, t.sgst, t.igst),
            (6000, 5714, 143, 143, 0)
        );
        let t = line_tax(3000, 2, rate(5), Supply::InterState);
        assert_eq!((t.taxable, t.cgst, t.sgst, t.igst), (5714, 0, 0, 286));
        // ₹112.00 at 12%: exactly 10000 + 1200.
        let t = line_tax(11200, 1, rate(12), Supply::InterState);
        assert_eq!((t.taxable, t.igst), (10000, 1200));
        // ₹1.07 at 5% within a state: half = round(107 × 2.5 / 105 = 2.55)
        // = 3, so CGST = SGST = 3 and the taxable value 101 absorbs the rounding.
        let t = line_tax(107, 1, rate(5), Supply::IntraState);
        assert_eq!((t.taxable, t.cgst, t.sgst), (101, 3, 3));
        // 1 × ₹18.00 at 12 % within a state: half = round(1800 × 6 / 112 =
        // 96.43) = 96; taxable 18.00 − 1.92 = 16.08.
        let t = line_tax(1800, 1, rate(12), Supply::IntraState);
        assert_eq!((t.taxable, t.cgst, t.sgst, t.igst), (1608, 96, 96, 0));
        // The same line across states: IGST round(1800 × 12 / 112 = 192.86) = 193.
        let t = line_tax(1800, 1, rate(12), Supply::InterState);
        assert_eq!((t.taxable, t.cgst, t.sgst, t.igst), (1607, 0, 0, 193));
        // Exempt.
        let t = line_tax(4999, 3, rate(0), Supply::IntraState);
        assert_eq!((t.taxable, t.tax()), (14997, 0));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        // IGST 2 × 5 / 105 = 0.095 → 0; 56 × 12 / 112 = 6 exactly.
        assert_eq!(line_tax(2, 1, rate(5), Supply::InterState).igst, 0);
        assert_eq!(line_tax(56, 1, rate(12), Supply::InterState).taxable, 50);
        // A half: IGST 3 × 20 / 120 = 0.5 → 1, taxable 2; 21 × 5 / 105 = 1
        // exactly.
        let t = line_tax(3, 1, rate(20), Supply::InterState);
        assert_eq!((t.taxable, t.igst), (2, 1));
        assert_eq!(line_tax(21, 1, rate(5), Supply::InterState).igst, 1);
        // A half within a state: 5 × 2 / 104 = 0.096 → 0; 52 × 2 / 104 = 1;
        // 26 × 2 / 104 = 0.5 → 1 each, taxable 24.
        assert_eq!(line_tax(5, 1, rate(4), Supply::IntraState).cgst, 0);
        assert_eq!(line_tax(52, 1, rate(4), Supply::IntraState).cgst, 1);
        let t = line_tax(26, 1, rate(4), Supply::IntraState);
        assert_eq!((t.taxable, t.cgst, t.sgst), (24, 1, 1));
    }

    #[test]
    fn cgst_and_sgst_are_always_equal_and_lines_add_up() {
        for gross in [0, 1, 2, 3, 7, 99, 107, 1800, 4999, 123_457] {
            for percent in [0, 5, 12, 18, 28] {
                let t = split_gross(gross, rate(percent), Supply::IntraState);
                assert_eq!(t.cgst, t.sgst, "{gross} at {percent}%");
                assert_eq!(t.taxable + t.tax(), gross);
                let t = split_gross(gross, rate(percent), Supply::InterState);
                assert_eq!(t.taxable + t.igst, gross);
            }
        }
    }

    #[test]
    fn totals_sum_lines_exactly() {
        let lines = [
            line_tax(3000, 2, rate(5), Supply::IntraState),
            line_tax(107, 1, rate(5), Supply::IntraState),
            line_tax(11999, 3, rate(18), Supply::IntraState),
        ];
        let t = Totals::of(&lines);
        assert_eq!(t.total, 6000 + 107 + 35997);
        assert_eq!(t.taxable + t.tax(), t.total);
        assert_eq!(t.cgst + t.sgst, t.tax());
        assert_eq!(t.cgst, t.sgst);
    }

    #[test]
    fn gst_rates_are_bounded_and_print_as_percentages() {
        assert!(GstRate::from_basis_points(-5).is_err());
        assert!(GstRate::from_basis_points(4001).is_err());
        assert_eq!(rate(5).percent_string(), "5");
        assert_eq!(
            GstRate::from_basis_points(25).unwrap().percent_string(),
            "0.25"
        );
        assert_eq!(
            GstRate::from_basis_points(750).unwrap().percent_string(),
            "7.5"
        );
    }

    #[test]
    fn supply_follows_states() {
        assert_eq!(Supply::between("KA", "ka"), Supply::IntraState);
        assert_eq!(Supply::between("MH", "KA"), Supply::InterState);
    }

    #[test]
    fn the_state_machine_allows_only_its_moves() {
        use Status::*;
        let ok = |f, t, m| check_transition(f, t, m).is_ok();
        let code = |f, t, m| check_transition(f, t, m).unwrap_err().code();
        assert!(ok(PendingPayment, Confirmed, Mover::System));
        assert!(ok(Confirmed, Packed, Mover::VendorStaff));
        assert!(ok(Packed, OutForDelivery, Mover::VendorStaff));
        assert!(ok(OutForDelivery, Delivered, Mover::Admin));
        assert!(ok(Delivered, Returned, Mover::System));
        assert_eq!(code(Delivered, Returned, Mover::VendorStaff), Forbidden);
        assert_eq!(code(Delivered, Returned, Mover::Admin), Forbidden);
        for from in [PendingPayment, Confirmed, Packed] {
            assert!(ok(from, Cancelled, Mover::Buyer));
        }
        use janta_platform::ErrorCode::{Conflict, Forbidden};
        assert_eq!(code(OutForDelivery, Cancelled, Mover::Admin), Conflict);
        assert_eq!(code(Delivered, Cancelled, Mover::Buyer), Conflict);
        assert_eq!(code(PendingPayment, Packed, Mover::VendorStaff), Conflict);
        assert_eq!(code(Confirmed, Delivered, Mover::VendorStaff), Conflict);
        assert_eq!(code(Cancelled, Confirmed, Mover::System), Conflict);
        assert_eq!(code(Packed, Returned, Mover::VendorStaff), Conflict);
        assert_eq!(code(Confirmed, Packed, Mover::Buyer), Forbidden);
        assert_eq!(
            code(PendingPayment, Confirmed, Mover::VendorStaff),
            Forbidden
        );
        // Every status round-trips through storage.
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_db()), Some(s));
        }
    }

    #[test]
    fn access_follows_roles() {
        use janta_platform::auth::Role;
        let p = |sub: &str, roles: Vec<Role>, vendor: Option<&str>| Principal {
            subject: sub.into(),
            roles,
            vendor_id: vendor.map(str::to_string),
            scopes: vec![],
        };
        let buyer = p("u1", vec![Role::Customer], None);
        let other = p("u2", vec![Role::Customer], None);
        let staff = p("s1", vec![Role::Pharmacist], Some("v1"));
        let foreign_staff = p("s2", vec![Role::VendorAdmin], Some("v2"));
        let admin = p("a", vec![Role::Admin], None);
        let service = p("service:payments", vec![Role::Service], None);
        assert_eq!(access(&buyer, "u1", "v1").mover, Some(Mover::Buyer));
        assert!(
            !access(&service, "u1", "v1").read,
            "services use their own fields"
        );
        assert!(!access(&other, "u1", "v1").read);
        assert_eq!(access(&staff, "u1", "v1").mover, Some(Mover::VendorStaff));
        assert!(!access(&foreign_staff, "u1", "v1").read);
        assert_eq!(access(&admin, "u1", "v1").mover, Some(Mover::Admin));
    }

    #[test]
    fn partners_access_their_vendors_orders_by_scope() {
        use janta_platform::auth::Role;
        let p = |vendor: Option<&str>, scopes: &[&str]| Principal {
            subject: "partner:app".into(),
            roles: vec![Role::Partner],
            vendor_id: vendor.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let reader = access(&p(Some("v1"), &["orders:read"]), "u1", "v1");
        assert_eq!((reader.read, reader.mover), (true, None));
        let writer = access(&p(Some("v1"), &["orders:write"]), "u1", "v1");
        assert_eq!(writer.mover, Some(Mover::VendorStaff));
        assert!(!access(&p(Some("v2"), &["orders:read", "orders:write"]), "u1", "v1").read);
        assert!(!access(&p(None, &["orders:read", "orders:write"]), "u1", "v1").read);
        assert!(!access(&p(Some("v1"), &["catalog:read"]), "u1", "v1").read);
        let as_buyer = access(&p(None, &["orders:read"]), "partner:app", "v1");
        assert!(!as_buyer.read, "a partner is never a buyer");
    }

    #[test]
    fn carts_split_by_vendor() {
        let items = vec![("a", "v2"), ("b", "v1"), ("c", "v2")];
        let groups = split_by_vendor(items, |i| i.1.to_string());
        let keys: Vec<_> = groups.keys().cloned().collect();
        assert_eq!(keys, ["v1", "v2"]);
        assert_eq!(
            groups["v2"].iter().map(|i| i.0).collect::<Vec<_>>(),
            ["a", "c"]
        );
    }

    #[test]
    fn reasons_are_validated() {
        assert!(parse_reason("  ok ").is_err());
        assert_eq!(
            parse_reason(" changed my mind ").unwrap(),
            "changed my mind"
        );
        assert!(parse_reason(&"x".repeat(501)).is_err());
    }
}
