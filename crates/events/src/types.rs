//! Every event of the platform, in one place: the typed payload each
//! publishing subgraph puts into [`Envelope::payload`](crate::Envelope) and
//! each consumer reads back. The payload JSON is camelCase (`userId`,
//! `totalPaise`); unknown fields are ignored when reading, so a publisher may
//! add fields without breaking consumers. Renaming or removing a field, or
//! changing its meaning, needs a new [`Event::VERSION`].
//!
//! Conventions:
//! - IDs are UUIDv7 strings owned by the publishing subgraph (or, for
//!   `customerId`/`vendorId`, by users).
//! - Money is `i64` paise (₹1 = 100 paise), named `…Paise`; always INR.
//! - Dates are `YYYY-MM-DD`, timestamps are RFC 3339 UTC (the envelope's
//!   `occurredAt` says when the change happened).
//! - Events carry no personal contact data (e-mail, phone, address):
//!   consumers that need it ask the owner by ID.
//!
//! | Publisher     | Event                   | Aggregate      |
//! |---------------|-------------------------|----------------|
//! | users         | [`UserRegistered`]      | `user`         |
//! | users         | [`VendorVerified`]      | `vendor`       |
//! | users         | [`VendorSuspended`]     | `vendor`       |
//! | users         | [`VendorReinstated`]    | `vendor`       |
//! | users         | [`RegistrationAttempted`] | `user`       |
//! | users         | [`AccountCodeIssued`]   | `user`         |
//! | users         | [`DataExportRequested`] | `user`         |
//! | users         | [`UserErasureRequested`] | `user`        |
//! | catalog       | [`StockLow`]            | `listing`      |
//! | catalog       | [`ListingPriceChanged`] | `listing`      |
//! | catalog       | [`StockQuarantined`]    | `listing`      |
//! | prescriptions | [`PrescriptionSubmitted`] | `prescription` |
//! | prescriptions | [`PrescriptionApproved`]  | `prescription` |
//! | prescriptions | [`PrescriptionRejected`]  | `prescription` |
//! | orders        | [`OrderPlaced`]         | `order`        |
//! | orders        | [`OrderConfirmed`]      | `order`        |
//! | orders        | [`OrderStatusChanged`]  | `order`        |
//! | orders        | [`OrderCancelled`]      | `order`        |
//! | orders        | [`ReturnRequested`]     | `order`        |
//! | orders        | [`ReturnApproved`]      | `order`        |
//! | orders        | [`ReturnRejected`]      | `order`        |
//! | payments      | [`PaymentSucceeded`]    | `payment`      |
//! | payments      | [`PaymentFailed`]       | `payment`      |
//! | payments      | [`PaymentRefunded`]     | `payment`      |

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A typed event payload: which subgraph publishes it, under which type name
/// and version, and which aggregate it is about (delivery is ordered per
/// aggregate). Publish one with [`crate::publish`]; consume it with
/// [`crate::Consumer::on`].
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The publishing subgraph (`users`, `catalog`, …): names the stream.
    const SOURCE: &'static str;
    /// The event type name, e.g. `UserRegistered`.
    const TYPE: &'static str;
    /// Payload schema version of this type.
    const VERSION: i64 = 1;
    /// Kind of aggregate, e.g. `user`.
    const AGGREGATE_TYPE: &'static str;
    /// ID of the aggregate this event is about.
    fn aggregate_id(&self) -> &str;
}

macro_rules! event {
    ($ty:ident, $source:literal, $aggregate:literal, $id:ident) => {
        impl Event for $ty {
            const SOURCE: &'static str = $source;
            const TYPE: &'static str = stringify!($ty);
            const AGGREGATE_TYPE: &'static str = $aggregate;
            fn aggregate_id(&self) -> &str {
                &self.$id
            }
        }
    };
}

/// `(publishing subgraph, event type)` of every event above, for tooling
/// and tests that must cover them all.
pub const ALL_EVENTS: [(&str, &str); 22] = [
    ("users", "UserRegistered"),
    ("users", "VendorVerified"),
    ("users", "VendorSuspended"),
    ("users", "VendorReinstated"),
    ("users", "RegistrationAttempted"),
    ("catalog", "StockLow"),
    ("catalog", "ListingPriceChanged"),
    ("catalog", "StockQuarantined"),
    ("prescriptions", "PrescriptionSubmitted"),
    ("prescriptions", "PrescriptionApproved"),
    ("prescriptions", "PrescriptionRejected"),
    ("orders", "OrderPlaced"),
    ("orders", "OrderConfirmed"),
    ("orders", "OrderStatusChanged"),
    ("orders", "OrderCancelled"),
    ("orders", "ReturnRequested"),
    ("orders", "ReturnApproved"),
    ("orders", "ReturnRejected"),
    ("payments", "PaymentSucceeded"),
    ("payments", "PaymentFailed"),
    ("payments", "PaymentRefunded"),
    ("payments", "SettlementIssued"),
];

// ---------------------------------------------------------------- users

/// A customer account was created (notifications welcomes the user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    /// The new user.
    pub user_id: String,
    /// Their name as entered, for greetings.
    pub full_name: String,
}
event!(UserRegistered, "users", "user", user_id);

/// An admin checked a vendor's GSTIN and drug licence; it may now sell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorVerified {
    /// The vendor.
    pub vendor_id: String,
}
event!(VendorVerified, "users", "vendor", vendor_id);

/// An admin suspended a vendor (licence lapsed, complaint under review), or
/// the users licence sweeper did because its drug licence in force expired:
/// its listings leave the storefront and checkout refuses them until
/// reinstated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorSuspended {
    /// The vendor.
    pub vendor_id: String,
    /// Why, as the admin recorded it (or naming the expired licence).
    pub reason: String,
}
event!(VendorSuspended, "users", "vendor", vendor_id);

/// An admin lifted a vendor's suspension (or the licence sweeper lifted its
/// own, on renewal); a verified vendor sells again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorReinstated {
    /// The vendor.
    pub vendor_id: String,
}
event!(VendorReinstated, "users", "vendor", vendor_id);

/// Someone tried to register with the e-mail address of an existing account.
/// Registration answers as if it had succeeded (so it does not reveal which
/// addresses have accounts); notifications tells the owner instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationAttempted {
    /// The existing account whose address was used.
    pub user_id: String,
}
event!(RegistrationAttempted, "users", "user", user_id);

/// What a one-time secret sent by [`AccountCodeIssued`] is for; it also
/// decides the channel (`VerifyPhone` by SMS, the others by e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountCodePurpose {
    /// A 6-digit code proving the account's e-mail address is its owner's.
    VerifyEmail,
    /// A 6-digit code proving the account's phone number is its owner's.
    VerifyPhone,
    /// A single-use token to set a new password without the old one.
    PasswordReset,
}

/// users issued a one-time secret for an account (e-mail or phone
/// verification code, password-reset token); notifications sends it to the
/// account's own e-mail address or phone. The one event that carries a
/// secret: it is short-lived (minutes) and single-use, users stores only its
/// hash, notifications keeps it apart from the notification text and never
/// logs it. It is deliberately not in [`ALL_EVENTS`]: no partner webhook
/// can subscribe to it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountCodeIssued {
    /// The account.
    pub user_id: String,
    /// What the secret is for (and so where it goes).
    pub purpose: AccountCodePurpose,
    /// The secret itself, as the person must type or follow it.
    pub code: String,
    /// When it stops working (RFC 3339 UTC).
    pub expires_at: String,
}
event!(AccountCodeIssued, "users", "user", user_id);

impl std::fmt::Debug for AccountCodeIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log through a Debug print.
        f.debug_struct("AccountCodeIssued")
            .field("user_id", &self.user_id)
            .field("purpose", &self.purpose)
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A customer asked for a copy of everything the platform holds about them
/// (DPDP Act 2023 §11): every subgraph answers with its part (see
/// `janta_kit::personal_data`). Not in [`ALL_EVENTS`]: no partner webhook
/// may subscribe to a person's data-rights requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataExportRequested {
    /// The export (users' `data_exports` row) the answers belong to.
    pub export_id: String,
    /// The customer whose data is asked for.
    pub user_id: String,
}
event!(DataExportRequested, "users", "user", user_id);

/// A customer closed their account and asked for erasure (DPDP Act 2023
/// §12): every subgraph erases or pseudonymises what it holds about them
/// except the records the law requires it to keep, and reports. Not in
/// [`ALL_EVENTS`], like [`DataExportRequested`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserErasureRequested {
    /// The account deletion (users' `account_deletions` row) the reports belong to.
    pub request_id: String,
    /// The customer whose data is erased.
    pub user_id: String,
}
event!(UserErasureRequested, "users", "user", user_id);

// ---------------------------------------------------------------- catalog

/// A listing's sellable stock fell to or below its low-stock threshold
/// (notifications tells the vendor's staff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLow {
    /// The listing (a vendor branch's offer of a medicine).
    pub listing_id: String,
    /// The vendor owning the listing.
    pub vendor_id: String,
    /// The vendor branch holding the stock, when the catalog tracks it.
    pub branch_id: Option<String>,
    /// The medicine (version) offered.
    pub medicine_id: String,
    /// Units still sellable (unexpired, unreserved).
    pub available_quantity: i64,
    /// The threshold that was crossed.
    pub threshold: i64,
}
event!(StockLow, "catalog", "listing", listing_id);

/// A listing's sale price (or MRP) changed. Orders already placed keep the
/// price they snapshotted; carts may re-price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingPriceChanged {
    /// The listing.
    pub listing_id: String,
    /// The vendor owning the listing.
    pub vendor_id: String,
    /// The medicine (version) offered.
    pub medicine_id: String,
    /// Sale price before the change; `None` for a new listing.
    pub old_price_paise: Option<i64>,
    /// Sale price now (tax-inclusive, ≤ MRP).
    pub new_price_paise: i64,
    /// Maximum retail price now.
    pub mrp_paise: i64,
}
event!(ListingPriceChanged, "catalog", "listing", listing_id);

/// Packs of a listing's batch were taken off sale into quarantine (today:
/// the batch expired); they are never sold. Notifications may tell the
/// vendor's staff, who dispose of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockQuarantined {
    /// The listing.
    pub listing_id: String,
    /// The vendor owning the listing.
    pub vendor_id: String,
    /// The batch number as printed on the packs.
    pub batch_number: String,
    /// Packs quarantined.
    pub quantity: i64,
    /// Why: `EXPIRED` (the batch reached its expiry date).
    pub reason: String,
}
event!(StockQuarantined, "catalog", "listing", listing_id);

// ---------------------------------------------------------------- prescriptions

/// A customer submitted a prescription for review (pharmacists are told).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrescriptionSubmitted {
    /// The prescription.
    pub prescription_id: String,
    /// The customer who uploaded it.
    pub customer_id: String,
    /// The family member it is for; `None` when it is for the customer.
    pub family_member_id: Option<String>,
    /// The vendor asked to review it, if the customer chose one.
    pub vendor_id: Option<String>,
}
event!(
    PrescriptionSubmitted,
    "prescriptions",
    "prescription",
    prescription_id
);

/// One medicine a prescription allows, and how much of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedLine {
    /// The medicine (catalog ID).
    pub medicine_id: String,
    /// Units that may be dispensed in total under this prescription.
    pub max_quantity: i64,
}

/// A pharmacist approved a prescription with the lines it allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrescriptionApproved {
    /// The prescription.
    pub prescription_id: String,
    /// The customer who owns it.
    pub customer_id: String,
    /// The pharmacist who reviewed it.
    pub reviewer_id: String,
    /// The reviewing pharmacist's vendor.
    pub vendor_id: Option<String>,
    /// Last day it may be used (`YYYY-MM-DD`).
    pub valid_until: String,
    /// What it allows.
    pub lines: Vec<ApprovedLine>,
}
event!(
    PrescriptionApproved,
    "prescriptions",
    "prescription",
    prescription_id
);

/// A pharmacist rejected a prescription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrescriptionRejected {
    /// The prescription.
    pub prescription_id: String,
    /// The customer who owns it.
    pub customer_id: String,
    /// The pharmacist who reviewed it.
    pub reviewer_id: String,
    /// The reviewing pharmacist's vendor.
    pub vendor_id: Option<String>,
    /// Why, in words the customer is shown.
    pub reason: String,
}
event!(
    PrescriptionRejected,
    "prescriptions",
    "prescription",
    prescription_id
);

// ---------------------------------------------------------------- orders

/// The order state machine's states, as the API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed, waiting for payment (or cash on delivery confirmation).
    PendingPayment,
    /// Paid (or COD accepted); stock committed.
    Confirmed,
    /// Packed by the vendor.
    Packed,
    /// Handed to delivery.
    OutForDelivery,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled before dispatch.
    Cancelled,
    /// Returned after delivery.
    Returned,
    /// Some delivered units returned, not all.
    PartiallyReturned,
}

/// One line of a placed order, as snapshotted by orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The catalog listing bought from.
    pub listing_id: String,
    /// The medicine version bought.
    pub medicine_id: String,
    /// Units.
    pub quantity: i64,
    /// Price per unit at checkout (tax-inclusive).
    pub unit_price_paise: i64,
}

/// An order was created in `PENDING_PAYMENT` by checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    /// The order.
    pub order_id: String,
    /// The customer who placed it.
    pub customer_id: String,
    /// The vendor fulfilling it (one order per vendor).
    pub vendor_id: String,
    /// Total to pay, tax included.
    pub total_paise: i64,
    /// The GST inside the total (settlements withhold TCS on the value
    /// before tax); absent in events published before it existed.
    #[serde(default)]
    pub tax_paise: i64,
    /// How the customer chose to pay (`CARD`, `UPI`, `NETBANKING`, `COD`, …).
    pub payment_method: String,
    /// What was bought.
    pub lines: Vec<OrderLine>,
}
event!(OrderPlaced, "orders", "order", order_id);

/// Payment succeeded (or COD was accepted): the order is `CONFIRMED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderConfirmed {
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor fulfilling it.
    pub vendor_id: String,
    /// Total paid or due on delivery.
    pub total_paise: i64,
    /// The payment that confirmed it; `None` for cash on delivery.
    pub payment_id: Option<String>,
}
event!(OrderConfirmed, "orders", "order", order_id);

/// An order moved along its state machine (packed, out for delivery,
/// delivered, returned). Placement, confirmation and cancellation have their
/// own events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusChanged {
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor fulfilling it.
    pub vendor_id: String,
    /// State before.
    pub from: OrderStatus,
    /// State now.
    pub to: OrderStatus,
}
event!(OrderStatusChanged, "orders", "order", order_id);

/// An order was cancelled (customer, vendor, admin, payment failure or
/// expiry); catalog releases its stock, payments refunds what was captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor.
    pub vendor_id: String,
    /// State it was cancelled from.
    pub from: OrderStatus,
    /// Why (shown to the customer).
    pub reason: String,
    /// Who cancelled: a user ID, `service:<name>` or `system` (expiry).
    pub cancelled_by: String,
}
event!(OrderCancelled, "orders", "order", order_id);

/// One line of a return: units of an order line and what they refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLine {
    /// The order line.
    pub order_line_id: String,
    /// The catalog listing the units were bought from.
    pub listing_id: String,
    /// Units returned.
    pub quantity: i64,
    /// What these units refund (their paid amount, tax included).
    pub refund_paise: i64,
}

/// A customer asked to return delivered lines of an order; the vendor's
/// staff review it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnRequested {
    /// The return.
    pub return_id: String,
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor.
    pub vendor_id: String,
    /// `DAMAGED`, `EXPIRED`, `WRONG_ITEM`, `ADVERSE_REACTION` or `OTHER`.
    pub reason: String,
    /// The lines asked back.
    pub lines: Vec<ReturnLine>,
    /// What approval would refund.
    pub refund_paise: i64,
}
event!(ReturnRequested, "orders", "order", order_id);

/// A return was approved: payments refunds `refundPaise` to the order's
/// payment (idempotency key: the return ID), catalog quarantines the units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnApproved {
    /// The return.
    pub return_id: String,
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor.
    pub vendor_id: String,
    /// The lines taken back.
    pub lines: Vec<ReturnLine>,
    /// The refund, tax included.
    pub refund_paise: i64,
    /// The GST inside the refund (the returned units' share of their
    /// lines' tax); absent in events published before it existed.
    #[serde(default)]
    pub refund_tax_paise: i64,
    /// The reviewer's note.
    pub note: String,
}
event!(ReturnApproved, "orders", "order", order_id);

/// A return was rejected; nothing moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnRejected {
    /// The return.
    pub return_id: String,
    /// The order.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor.
    pub vendor_id: String,
    /// The reviewer's note (shown to the customer).
    pub note: String,
}
event!(ReturnRejected, "orders", "order", order_id);

// ---------------------------------------------------------------- payments

/// A payment was captured; orders confirms the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSucceeded {
    /// The payment.
    pub payment_id: String,
    /// The order it pays.
    pub order_id: String,
    /// The paying customer.
    pub customer_id: String,
    /// The vendor paid.
    pub vendor_id: String,
    /// Amount captured, or due on delivery when not `captured`.
    pub amount_paise: i64,
    /// ISO 4217 currency of the amounts (`INR`).
    pub currency: String,
    /// Method (`CARD`, `UPI`, `NETBANKING`, `COD`, …).
    pub method: String,
    /// `true` when the gateway captured the money; `false` for cash on
    /// delivery, collected later.
    pub captured: bool,
    /// The gateway's reference for the capture; `None` when not captured.
    pub gateway_reference: Option<String>,
}
event!(PaymentSucceeded, "payments", "payment", payment_id);

/// A payment attempt failed or expired; orders cancels the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailed {
    /// The payment.
    pub payment_id: String,
    /// The order it was for.
    pub order_id: String,
    /// The customer.
    pub customer_id: String,
    /// The vendor that was to be paid.
    pub vendor_id: String,
    /// Amount that was due.
    pub amount_paise: i64,
    /// ISO 4217 currency of the amount (`INR`).
    pub currency: String,
    /// Method tried.
    pub method: String,
    /// Why, as the gateway reported it (safe to show).
    pub reason: String,
}
event!(PaymentFailed, "payments", "payment", payment_id);

/// Money was refunded on a captured payment (in full or in part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRefunded {
    /// The payment refunded (the aggregate).
    pub payment_id: String,
    /// The refund.
    pub refund_id: String,
    /// The order paid by the payment.
    pub order_id: String,
    /// The customer receiving the money.
    pub customer_id: String,
    /// The vendor whose sale is refunded.
    pub vendor_id: String,
    /// Amount of this refund.
    pub amount_paise: i64,
    /// Total refunded on the payment so far, this refund included.
    pub refunded_total_paise: i64,
    /// `true` once everything captured has been refunded.
    pub fully_refunded: bool,
    /// ISO 4217 currency of the amounts (`INR`).
    pub currency: String,
    /// Method of the refunded payment.
    pub method: String,
    /// Why.
    pub reason: String,
}
event!(PaymentRefunded, "payments", "payment", payment_id);

/// An admin issued a vendor's settlement statement for a period (the
/// vendor is told what will be paid out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementIssued {
    /// The statement (the aggregate).
    pub settlement_id: String,
    /// The vendor it settles.
    pub vendor_id: String,
    /// First day of the period (`YYYY-MM-DD`, India time).
    pub period_start: String,
    /// Last day of the period, inclusive.
    pub period_end: String,
    /// What the vendor is paid, in paise.
    pub payout_paise: i64,
}
event!(SettlementIssued, "payments", "settlement", settlement_id);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check<E: Event>() {
        assert!(ALL_EVENTS.contains(&(E::SOURCE, E::TYPE)), "{}", E::TYPE);
    }

    #[test]
    fn every_type_is_listed() {
        check::<UserRegistered>();
        check::<VendorVerified>();
        check::<VendorSuspended>();
        check::<VendorReinstated>();
        check::<RegistrationAttempted>();
        check::<StockLow>();
        check::<ListingPriceChanged>();
        check::<StockQuarantined>();
        check::<PrescriptionSubmitted>();
        check::<PrescriptionApproved>();
        check::<PrescriptionRejected>();
        check::<OrderPlaced>();
        check::<OrderConfirmed>();
        check::<OrderStatusChanged>();
        check::<OrderCancelled>();
        check::<ReturnRequested>();
        check::<ReturnApproved>();
        check::<ReturnRejected>();
        check::<PaymentSucceeded>();
        check::<PaymentFailed>();
        check::<PaymentRefunded>();
        check::<SettlementIssued>();
    }

    #[test]
    fn payloads_are_camel_case_and_tolerant() {
        let json = serde_json::to_value(OrderStatusChanged {
            order_id: "o".into(),
            customer_id: "c".into(),
            vendor_id: "v".into(),
            from: OrderStatus::Confirmed,
            to: OrderStatus::OutForDelivery,
        })
        .unwrap();
        assert_eq!(
            json,
            json!({"orderId": "o", "customerId": "c", "vendorId": "v",
                   "from": "CONFIRMED", "to": "OUT_FOR_DELIVERY"})
        );
        // What users publishes today, plus a field a newer publisher added.
        let read: UserRegistered =
            serde_json::from_value(json!({"userId": "u", "fullName": "Asha", "addedLater": true}))
                .unwrap();
        assert_eq!(read.user_id, "u");
        // Optional fields may be absent.
        let read: PrescriptionSubmitted =
            serde_json::from_value(json!({"prescriptionId": "p", "customerId": "c"})).unwrap();
        assert_eq!(read.family_member_id, None);
    }
}
