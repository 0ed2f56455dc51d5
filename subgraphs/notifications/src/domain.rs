//! The rules of telling people, without I/O: which event tells whom what
//! (one rule per event type), the templates that render a title and body
//! from the event payload alone, who may see a notification (audiences),
//! default channel preferences, how a failed delivery is classified and
//! retried, the webhook signature, and redaction of personal data from
//! error texts before they are stored or logged.

use hmac::{Hmac, Mac};
use janta_events::types::{
    AccountCodeIssued, AccountCodePurpose, OrderCancelled, OrderConfirmed, OrderPlaced,
    OrderStatus, OrderStatusChanged, PaymentFailed, PaymentRefunded, PrescriptionApproved,
    PrescriptionRejected, PrescriptionSubmitted, RegistrationAttempted, ReturnApproved,
    ReturnRejected, ReturnRequested, SettlementIssued, StockLow, UserRegistered, VendorVerified,
};
use janta_platform::auth::{Principal, Role};
use janta_platform::money::format_paise;
use janta_platform::{ApiError, ApiResult};
use sha2::Sha256;
use std::time::Duration;

/// What a notification is about; decides its template and the channels a
/// user can switch on or off for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A new account was created.
    Welcome,
    /// The customer's order was placed (waiting for payment).
    OrderPlaced,
    /// The customer's order was paid (or COD accepted) and confirmed.
    OrderConfirmed,
    /// The customer's order is out for delivery.
    OrderShipped,
    /// The customer's order was delivered.
    OrderDelivered,
    /// The customer's order was cancelled.
    OrderCancelled,
    /// A payment of the customer failed.
    PaymentFailed,
    /// Money was refunded to the customer.
    PaymentRefunded,
    /// The customer's prescription was approved.
    PrescriptionApproved,
    /// The customer's prescription was rejected.
    PrescriptionRejected,
    /// Vendor staff: a confirmed order to fulfil.
    NewOrder,
    /// Vendor staff: a listing runs low on stock.
    StockLow,
    /// Pharmacy staff: a prescription submitted to their pharmacy waits for review.
    PrescriptionSubmitted,
    /// Vendor staff: the pharmacy's licences were verified.
    VendorVerified,
    /// Someone tried to register with the person's e-mail address.
    RegistrationAttempted,
    /// Vendor staff: a customer asked to return delivered units.
    ReturnRequested,
    /// The customer's return was approved (and refunded).
    ReturnApproved,
    /// The customer's return was rejected.
    ReturnRejected,
    /// Vendor staff: a settlement statement was issued for their pharmacy.
    SettlementIssued,
    /// A one-time code or reset token for the person's account (always
    /// sent, on the channel it proves; the in-app copy never shows it).
    AccountCode,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 20] = [
        Kind::Welcome,
        Kind::OrderPlaced,
        Kind::OrderConfirmed,
        Kind::OrderShipped,
        Kind::OrderDelivered,
        Kind::OrderCancelled,
        Kind::PaymentFailed,
        Kind::PaymentRefunded,
        Kind::PrescriptionApproved,
        Kind::PrescriptionRejected,
        Kind::NewOrder,
        Kind::StockLow,
        Kind::PrescriptionSubmitted,
        Kind::VendorVerified,
        Kind::RegistrationAttempted,
        Kind::ReturnRequested,
        Kind::ReturnApproved,
        Kind::ReturnRejected,
        Kind::SettlementIssued,
        Kind::AccountCode,
    ];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Kind::Welcome => "WELCOME",
            Kind::OrderPlaced => "ORDER_PLACED",
            Kind::OrderConfirmed => "ORDER_CONFIRMED",
            Kind::OrderShipped => "ORDER_SHIPPED",
            Kind::OrderDelivered => "ORDER_DELIVERED",
            Kind::OrderCancelled => "ORDER_CANCELLED",
            Kind::PaymentFailed => "PAYMENT_FAILED",
            Kind::PaymentRefunded => "PAYMENT_REFUNDED",
            Kind::PrescriptionApproved => "PRESCRIPTION_APPROVED",
            Kind::PrescriptionRejected => "PRESCRIPTION_REJECTED",
            Kind::NewOrder => "NEW_ORDER",
            Kind::StockLow => "STOCK_LOW",
            Kind::PrescriptionSubmitted => "PRESCRIPTION_SUBMITTED",
            Kind::VendorVerified => "VENDOR_VERIFIED",
            Kind::RegistrationAttempted => "REGISTRATION_ATTEMPTED",
            Kind::ReturnRequested => "RETURN_REQUESTED",
            Kind::ReturnApproved => "RETURN_APPROVED",
            Kind::ReturnRejected => "RETURN_REJECTED",
            Kind::SettlementIssued => "SETTLEMENT_ISSUED",
            Kind::AccountCode => "ACCOUNT_CODE",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| k.as_db() == s)
    }

    /// Kinds addressed to one person, whose e-mail and SMS they may switch
    /// (staff kinds go to a shared in-app inbox only; account codes always
    /// go out on the channel they prove).
    pub fn is_personal(self) -> bool {
        !matches!(
            self,
            Kind::AccountCode
                | Kind::NewOrder
                | Kind::StockLow
                | Kind::PrescriptionSubmitted
                | Kind::VendorVerified
                | Kind::ReturnRequested
                | Kind::SettlementIssued
        )
    }

    /// Channels a person gets for this kind until they say otherwise.
    pub fn default_preference(self) -> Preference {
        Preference {
            kind: self,
            email: self.is_personal(),
            sms: matches!(self, Kind::OrderShipped | Kind::PaymentFailed),
        }
    }
}

/// Whether a person wants e-mail and SMS for one kind (in-app is always on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    /// The kind.
    pub kind: Kind,
    /// E-mail on.
    pub email: bool,
    /// SMS on.
    pub sms: bool,
}

/// The channels a notification travels on (in-app is the stored
/// notification itself; the others are deliveries with attempts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Stored and listed in the app.
    InApp,
    /// E-mail over SMTP.
    Email,
    /// Text message through the SMS provider.
    Sms,
    /// HTTP POST to a partner's subscription URL.
    Webhook,
}

impl Channel {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Channel::InApp => "IN_APP",
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
            Channel::Webhook => "WEBHOOK",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        [
            Channel::InApp,
            Channel::Email,
            Channel::Sms,
            Channel::Webhook,
        ]
        .into_iter()
        .find(|c| c.as_db() == s)
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Delivered,
    /// Failed in a way worth retrying.
    RetryableFailure,
    /// Failed in a way retrying cannot fix.
    PermanentFailure,
}

impl Outcome {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Outcome::Delivered => "DELIVERED",
            Outcome::RetryableFailure => "RETRYABLE_FAILURE",
            Outcome::PermanentFailure => "PERMANENT_FAILURE",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        [
            Outcome::Delivered,
            Outcome::RetryableFailure,
            Outcome::PermanentFailure,
        ]
        .into_iter()
        .find(|o| o.as_db() == s)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt at `next_attempt_at`.
    Pending,
    /// Claimed by a worker, attempt in flight.
    Sending,
    /// Accepted by the other side.
    Delivered,
    /// Refused for good (HTTP 4xx, SMTP 5xx, no address): not retried.
    Failed,
    /// Retryable failures until the attempts ran out: dead-lettered.
    Dead,
    /// Not sent: its webhook subscription was deactivated first.
    Cancelled,
}

impl DeliveryStatus {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Sending => "SENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Failed => "FAILED",
            DeliveryStatus::Dead => "DEAD",
            DeliveryStatus::Cancelled => "CANCELLED",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Sending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Dead,
            DeliveryStatus::Cancelled,
        ]
        .into_iter()
        .find(|c| c.as_db() == s)
    }

    /// Whether an admin may replay a delivery in this state.
    pub fn replayable(self) -> bool {
        matches!(self, DeliveryStatus::Failed | DeliveryStatus::Dead)
    }
}

/// Who a notification is for. Stored as one text key (`audience`), and a
/// viewer sees exactly the notifications whose key is among theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// One person (customer, or any user for the welcome).
    User(String),
    /// Every staff member (pharmacist or vendor admin) of one vendor.
    Vendor(String),
}

impl Audience {
    /// Storage key: `user:<id>` or `vendor:<id>`. (Rows addressed to a
    /// whole role, `role:<ROLE>`, from before prescriptions went to one
    /// pharmacy, match no viewer any more.)
    pub fn key(&self) -> String {
        match self {
            Audience::User(id) => format!("user:{id}"),
            Audience::Vendor(id) => format!("vendor:{id}"),
        }
    }

    /// The person, when the audience is one person.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Audience::User(id) => Some(id),
            _ => None,
        }
    }

    /// The user ID inside a stored key, when it is a person's.
    pub fn user_of_key(key: &str) -> Option<&str> {
        key.strip_prefix("user:")
    }
}

/// The audience keys whose notifications `viewer` sees: their own, and
/// their vendor's when they are its staff (pharmacist or vendor admin, as
/// the token says).
pub fn audiences_of(viewer: &Principal) -> Vec<String> {
    let mut keys = vec![Audience::User(viewer.subject.clone()).key()];
    let staff = viewer.has_role(Role::Pharmacist) || viewer.has_role(Role::VendorAdmin);
    if let (true, Some(vendor)) = (staff, &viewer.vendor_id) {
        keys.push(Audience::Vendor(vendor.clone()).key());
    }
    keys
}

/// One notification an event asks for, fully rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Who it is for.
    pub audience: Audience,
    /// What it is about.
    pub kind: Kind,
    /// Short headline.
    pub title: String,
    /// One or two sentences.
    pub body: String,
    /// A one-time secret that goes only into the e-mail or SMS (never the
    /// stored notification text).
    pub secret: Option<Secret>,
}

fn plan(audience: Audience, kind: Kind, title: &str, body: String) -> Planned {
    Planned {
        audience,
        kind,
        title: title.to_string(),
        body,
        secret: None,
    }
}

/// A one-time secret to deliver: kept apart from the notification text,
/// sent on exactly one channel, forgotten once it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The line the e-mail or SMS ends with, e.g. "Your code: 123456".
    pub text: String,
    /// The only channel it goes out on (the one it proves).
    pub channel: Channel,
    /// When it stops working (RFC 3339); not sent after that.
    pub expires_at: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log through a Debug print.
        f.debug_struct("Secret")
            .field("text", &"<redacted>")
            .field("channel", &self.channel)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The text an e-mail or SMS carries: the notification's body, then the
/// secret line when it has one.
pub fn message_body(body: &str, secret: Option<&str>) -> String {
    match secret {
        Some(line) => format!("{body}\n\n{line}"),
        None => body.to_string(),
    }
}

/// A short, human reference for an ID (its last 8 characters, upper case):
/// UUIDv7s start with the time, so the tail is the distinguishing part.
pub fn short_ref(id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    tail.chars().rev().collect::<String>().to_uppercase()
}

/// ₹ and two decimals from paise.
pub fn rupees(paise: i64) -> String {
    format!("₹{}", format_paise(paise))
}

/// A text from an event that will be shown to people, bounded.
fn shown(text: &str, max: usize) -> String {
    let clean: String = text.trim().chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// `UserRegistered` → the new user is welcomed.
pub fn on_user_registered(e: &UserRegistered) -> Vec<Planned> {
    let name = shown(&e.full_name, 60);
    let greeting = if name.is_empty() {
        "Welcome to Janta".to_string()
    } else {
        format!("Welcome to Janta, {name}")
    };
    vec![plan(
        Audience::User(e.user_id.clone()),
        Kind::Welcome,
        &greeting,
        "Your account is ready. Order medicines from licensed pharmacies near you, \
         upload prescriptions for review, and track every order here."
            .to_string(),
    )]
}

/// `RegistrationAttempted` → the account's owner learns that someone tried
/// to sign up with their address (registration itself answered as if it had
/// worked, so only the owner finds out the address has an account).
pub fn on_registration_attempted(e: &RegistrationAttempted) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.user_id.clone()),
        Kind::RegistrationAttempted,
        "Someone tried to sign up with your e-mail address",
        "A new Janta account was requested with your e-mail address, which already has an \
         account. No new account was created. If it was you, sign in instead; if not, you \
         can ignore this message, and your account is unchanged."
            .to_string(),
    )]
}

/// `AccountCodeIssued` → the code goes to the owner, by e-mail (or SMS
/// for a phone code); the in-app copy says a code was sent, not which.
pub fn on_account_code_issued(e: &AccountCodeIssued) -> Vec<Planned> {
    let (title, body, line, channel) = match e.purpose {
        AccountCodePurpose::VerifyEmail => (
            "Confirm your e-mail address",
            "We sent a code to your e-mail address to confirm it is yours. It works once, \
             for 10 minutes. If you did not ask for it, ignore it.",
            format!("Your code: {}", e.code),
            Channel::Email,
        ),
        AccountCodePurpose::VerifyPhone => (
            "Confirm your phone number",
            "We sent a code by SMS to confirm your phone number is yours. It works once, \
             for 10 minutes.",
            format!("Your code: {}", e.code),
            Channel::Sms,
        ),
        AccountCodePurpose::PasswordReset => (
            "Reset your password",
            "Someone (hopefully you) asked to reset your Janta password; we sent a reset \
             token to your e-mail address. It works once, for 30 minutes. If it was not you, \
             ignore it: your password is unchanged.",
            format!("Your reset token: {}", e.code),
            Channel::Email,
        ),
    };
    let mut planned = plan(
        Audience::User(e.user_id.clone()),
        Kind::AccountCode,
        title,
        body.to_string(),
    );
    planned.secret = Some(Secret {
        text: line,
        channel,
        expires_at: e.expires_at.clone(),
    });
    vec![planned]
}

/// `VendorVerified` → the vendor's staff learn they may sell.
pub fn on_vendor_verified(e: &VendorVerified) -> Vec<Planned> {
    vec![plan(
        Audience::Vendor(e.vendor_id.clone()),
        Kind::VendorVerified,
        "Your pharmacy is verified",
        "Your GSTIN and drug licence were checked. Your listings can now be sold on Janta."
            .to_string(),
    )]
}

/// `StockLow` → the vendor's staff are told to restock.
pub fn on_stock_low(e: &StockLow) -> Vec<Planned> {
    vec![plan(
        Audience::Vendor(e.vendor_id.clone()),
        Kind::StockLow,
        "Stock running low",
        format!(
            "Listing {} has {} unit(s) left to sell (threshold {}). Restock it to keep it available.",
            short_ref(&e.listing_id),
            e.available_quantity.max(0),
            e.threshold
        ),
    )]
}

/// `PrescriptionSubmitted` → the staff of the pharmacy it was submitted to
/// are asked to review it. Nobody else may see it, so a prescription not yet
/// submitted to a pharmacy tells no one (choosing one publishes the event
/// again, with the pharmacy).
pub fn on_prescription_submitted(e: &PrescriptionSubmitted) -> Vec<Planned> {
    let Some(vendor_id) = &e.vendor_id else {
        return Vec::new();
    };
    vec![plan(
        Audience::Vendor(vendor_id.clone()),
        Kind::PrescriptionSubmitted,
        "Prescription waiting for review",
        format!(
            "Prescription {} was submitted and waits for a pharmacist's review.",
            short_ref(&e.prescription_id)
        ),
    )]
}

/// `PrescriptionApproved` → the customer may now order what it allows.
pub fn on_prescription_approved(e: &PrescriptionApproved) -> Vec<Planned> {
    let lines = e.lines.len();
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::PrescriptionApproved,
        "Prescription approved",
        format!(
            "Your prescription {} was approved for {lines} medicine(s). It can be used until {}.",
            short_ref(&e.prescription_id),
            shown(&e.valid_until, 10)
        ),
    )]
}

/// `PrescriptionRejected` → the customer learns why.
pub fn on_prescription_rejected(e: &PrescriptionRejected) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::PrescriptionRejected,
        "Prescription not approved",
        format!(
            "Your prescription {} was not approved: {}",
            short_ref(&e.prescription_id),
            shown(&e.reason, 300)
        ),
    )]
}

/// `OrderPlaced` → the customer's receipt of the order.
pub fn on_order_placed(e: &OrderPlaced) -> Vec<Planned> {
    let items: i64 = e.lines.iter().map(|l| l.quantity.max(0)).sum();
    let next = if e.payment_method.eq_ignore_ascii_case("COD") {
        "You pay on delivery; we will tell you when it is confirmed."
    } else {
        "We will tell you when the payment is confirmed."
    };
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::OrderPlaced,
        "Order placed",
        format!(
            "Your order {} for {} ({items} item(s)) was placed. {next}",
            short_ref(&e.order_id),
            rupees(e.total_paise)
        ),
    )]
}

/// `OrderConfirmed` → the customer hears it is confirmed; the vendor's
/// staff get a new order to fulfil (only now: before payment there is
/// nothing to pack).
pub fn on_order_confirmed(e: &OrderConfirmed) -> Vec<Planned> {
    let reference = short_ref(&e.order_id);
    let how = if e.payment_id.is_some() {
        "paid"
    } else {
        "to be paid on delivery"
    };
    vec![
        plan(
            Audience::User(e.customer_id.clone()),
            Kind::OrderConfirmed,
            "Order confirmed",
            format!(
                "Your order {reference} ({}, {how}) is confirmed and being prepared.",
                rupees(e.total_paise)
            ),
        ),
        plan(
            Audience::Vendor(e.vendor_id.clone()),
            Kind::NewOrder,
            "New order",
            format!(
                "Order {reference} ({}, {how}) is confirmed. Pack it for dispatch.",
                rupees(e.total_paise)
            ),
        ),
    ]
}

/// `OrderStatusChanged` → the customer hears when the order is out for
/// delivery and when it was delivered (packing and returns tell no one).
pub fn on_order_status_changed(e: &OrderStatusChanged) -> Vec<Planned> {
    let reference = short_ref(&e.order_id);
    let (kind, title, body) = match e.to {
        OrderStatus::OutForDelivery => (
            Kind::OrderShipped,
            "Order out for delivery",
            format!("Your order {reference} is on its way and will reach you soon."),
        ),
        OrderStatus::Delivered => (
            Kind::OrderDelivered,
            "Order delivered",
            format!("Your order {reference} was delivered. Thank you for ordering with Janta."),
        ),
        _ => return vec![],
    };
    vec![plan(
        Audience::User(e.customer_id.clone()),
        kind,
        title,
        body,
    )]
}

/// `OrderCancelled` → the customer learns why.
pub fn on_order_cancelled(e: &OrderCancelled) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::OrderCancelled,
        "Order cancelled",
        format!(
            "Your order {} was cancelled: {}. Anything you paid is refunded.",
            short_ref(&e.order_id),
            shown(&e.reason, 300).trim_end_matches('.')
        ),
    )]
}

/// `ReturnRequested` → the vendor's staff have a return to review.
pub fn on_return_requested(e: &ReturnRequested) -> Vec<Planned> {
    let units: i64 = e.lines.iter().map(|l| l.quantity).sum();
    vec![plan(
        Audience::Vendor(e.vendor_id.clone()),
        Kind::ReturnRequested,
        "Return to review",
        format!(
            "The customer asked to return {units} unit(s) of order {} ({}). Review it.",
            short_ref(&e.order_id),
            e.reason.to_lowercase().replace('_', " ")
        ),
    )]
}

/// `ReturnApproved` → the customer hears what is refunded; the vendor's
/// staff that the units go to quarantine.
pub fn on_return_approved(e: &ReturnApproved) -> Vec<Planned> {
    let reference = short_ref(&e.order_id);
    vec![
        plan(
            Audience::User(e.customer_id.clone()),
            Kind::ReturnApproved,
            "Return approved",
            format!(
                "Your return for order {reference} was approved: {} is refunded.",
                rupees(e.refund_paise)
            ),
        ),
        plan(
            Audience::Vendor(e.vendor_id.clone()),
            Kind::ReturnApproved,
            "Return approved",
            format!(
                "The return for order {reference} was approved: {} refunded, the units are quarantined.",
                rupees(e.refund_paise)
            ),
        ),
    ]
}

/// `ReturnRejected` → the customer hears why.
pub fn on_return_rejected(e: &ReturnRejected) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::ReturnRejected,
        "Return rejected",
        format!(
            "Your return for order {} was not accepted: {}.",
            short_ref(&e.order_id),
            shown(&e.note, 300).trim_end_matches('.')
        ),
    )]
}

/// `SettlementIssued` → the vendor's staff hear what will be paid out.
pub fn on_settlement_issued(e: &SettlementIssued) -> Vec<Planned> {
    vec![plan(
        Audience::Vendor(e.vendor_id.clone()),
        Kind::SettlementIssued,
        "Settlement issued",
        format!(
            "Your settlement for {} to {} was issued: {} will be paid out.",
            e.period_start,
            e.period_end,
            rupees(e.payout_paise)
        ),
    )]
}

/// `PaymentFailed` → the customer is told to try again.
pub fn on_payment_failed(e: &PaymentFailed) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::PaymentFailed,
        "Payment failed",
        format!(
            "The payment of {} for order {} did not go through: {}. No money was taken.",
            rupees(e.amount_paise),
            short_ref(&e.order_id),
            shown(&e.reason, 300).trim_end_matches('.')
        ),
    )]
}

/// `PaymentRefunded` → the customer hears how much comes back.
pub fn on_payment_refunded(e: &PaymentRefunded) -> Vec<Planned> {
    vec![plan(
        Audience::User(e.customer_id.clone()),
        Kind::PaymentRefunded,
        "Refund issued",
        format!(
            "{} was refunded for order {}. It reaches your account in 5–7 working days.",
            rupees(e.amount_paise),
            short_ref(&e.order_id)
        ),
    )]
}

/// Which channels a planned notification goes out on besides in-app:
/// staff and role inboxes are in-app only; a person gets e-mail and SMS
/// as their preference says, where the channel is available.
pub fn channels_for(
    planned: &Planned,
    preference: Option<Preference>,
    email_available: bool,
    sms_available: bool,
) -> Vec<Channel> {
    if planned.audience.user_id().is_none() {
        return vec![];
    }
    if let Some(secret) = &planned.secret {
        let available = match secret.channel {
            Channel::Email => email_available,
            Channel::Sms => sms_available,
            _ => false,
        };
        return if available {
            vec![secret.channel]
        } else {
            vec![]
        };
    }
    let pref = preference.unwrap_or_else(|| planned.kind.default_preference());
    let mut channels = Vec::new();
    if pref.email && email_available {
        channels.push(Channel::Email);
    }
    if pref.sms && sms_available {
        channels.push(Channel::Sms);
    }
    channels
}

/// Why one delivery attempt failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Worth retrying (5xx, timeouts, refused connections, SMTP 4xx).
    pub retryable: bool,
    /// What went wrong (redacted before storage).
    pub error: String,
    /// HTTP status or SMTP reply code, when the other side answered.
    pub response_code: Option<i64>,
}

impl Failure {
    /// A failure worth another attempt.
    pub fn retryable(error: impl Into<String>, response_code: Option<i64>) -> Self {
        Failure {
            retryable: true,
            error: error.into(),
            response_code,
        }
    }

    /// A failure that will not go away by retrying.
    pub fn permanent(error: impl Into<String>, response_code: Option<i64>) -> Self {
        Failure {
            retryable: false,
            error: error.into(),
            response_code,
        }
    }
}

/// HTTP answers of partner endpoints and SMS providers: 2xx delivered;
/// 5xx, 408 (timeout) and 429 (slow down) worth retrying; any other answer
/// (4xx, and 3xx: redirects are not followed) will not change by retrying.
pub fn classify_http_status(status: u16) -> Result<(), Failure> {
    let code = Some(i64::from(status));
    match status {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(Failure::retryable(
            format!("endpoint answered HTTP {status}"),
            code,
        )),
        _ => Err(Failure::permanent(
            format!("endpoint answered HTTP {status}"),
            code,
        )),
    }
}

/// SMTP reply codes: 4xx transient (retry), 5xx permanent.
pub fn classify_smtp_code(code: u16, text: &str) -> Failure {
    let message = format!("SMTP server answered {code}: {text}");
    if (400..500).contains(&code) {
        Failure::retryable(message, Some(i64::from(code)))
    } else {
        Failure::permanent(message, Some(i64::from(code)))
    }
}

/// What to do after a failed attempt number `attempts` (1-based, within
/// the current round) of at most `max_attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this delay.
    RetryIn(Duration),
    /// Give up: retryable failures ran out of attempts.
    Dead,
    /// Give up: the failure is permanent.
    Failed,
}

/// Retry policy: exponential back-off with jitter for retryable failures
/// until `max_attempts`; permanent failures end at once.
pub fn after_failure(
    failure: &Failure,
    attempts: u32,
    max_attempts: u32,
    backoff: &janta_events::Backoff,
) -> AfterFailure {
    if !failure.retryable {
        AfterFailure::Failed
    } else if attempts >= max_attempts.max(1) {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryIn(backoff.delay(attempts))
    }
}

/// Replaces anything that looks like an e-mail address or a phone number
/// with `<redacted>`, so that error texts from mail servers and providers
/// (which often echo the recipient) can be stored and logged.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let digits = word.chars().filter(char::is_ascii_digit).count();
        if word.contains('@') || digits >= 7 {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
    }
    out.chars().take(1000).collect()
}

type HmacSha256 = Hmac<Sha256>;

/// The webhook signature: hex HMAC-SHA256 with the subscription secret
/// over `"{timestamp}.{body}"` (the timestamp lets receivers refuse old
/// replays). Sent as `Janta-Signature: v1=<hex>` with `Janta-Timestamp`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whose data a webhook subscription may carry, fixed when it is created
/// from its creator's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookScope {
    /// A platform admin's: every event of its types.
    Platform,
    /// A platform partner's: only the event types an admin granted the
    /// partner (checked again at every event, so a revoked grant stops it).
    Partner,
    /// A vendor admin's integration: only events about this vendor's
    /// orders, stock, listings and standing (the payload's `vendorId`).
    Vendor(String),
}

impl WebhookScope {
    /// The scope a caller's subscriptions get: admins the platform's, vendor
    /// admins their vendor's, partners a partner's; anyone else `FORBIDDEN`.
    pub fn of(caller: &Principal) -> ApiResult<Self> {
        if caller.is_admin() {
            return Ok(WebhookScope::Platform);
        }
        if caller.has_role(Role::VendorAdmin) {
            return caller
                .vendor_id
                .clone()
                .map(WebhookScope::Vendor)
                .ok_or_else(|| ApiError::forbidden("your account is not attached to a vendor"));
        }
        if caller.has_role(Role::Partner) {
            return Ok(WebhookScope::Partner);
        }
        Err(ApiError::forbidden(
            "only partners, vendor admins and admins subscribe to webhooks",
        ))
    }

    /// Storage form of the owner's role (`owner_role`).
    pub fn role_db(&self) -> &'static str {
        match self {
            WebhookScope::Platform => "PLATFORM",
            WebhookScope::Partner => "PARTNER",
            WebhookScope::Vendor(_) => "VENDOR",
        }
    }

    /// The vendor of a vendor integration (`vendor_id`).
    pub fn vendor_id(&self) -> Option<&str> {
        match self {
            WebhookScope::Vendor(v) => Some(v),
            _ => None,
        }
    }

    /// Reads the stored form; anything unknown is the narrowest scope that
    /// can still be checked (a partner's, which needs grants).
    pub fn from_db(role: &str, vendor_id: Option<&str>) -> Self {
        match (role, vendor_id) {
            ("PLATFORM", _) => WebhookScope::Platform,
            ("VENDOR", Some(v)) => WebhookScope::Vendor(v.to_string()),
            _ => WebhookScope::Partner,
        }
    }
}

/// Event types a vendor integration may receive: each names the vendor in
/// its payload and is about the vendor's own orders, stock, listings or
/// standing. Events about customers without a vendor (sign-ups, payments,
/// prescriptions) never go to vendor integrations.
pub const VENDOR_WEBHOOK_EVENTS: [&str; 9] = [
    "OrderPlaced",
    "OrderConfirmed",
    "OrderStatusChanged",
    "OrderCancelled",
    "StockLow",
    "ListingPriceChanged",
    "VendorVerified",
    "VendorSuspended",
    "VendorReinstated",
];

/// Event types no partner is ever granted: `UserRegistered` carries a
/// person's name and nothing a partner acts on.
pub const NEVER_GRANTED: [&str; 1] = ["UserRegistered"];

/// A list of event type names: at least one, each a platform event, without
/// repeats (in the order given).
pub fn known_event_types(events: &[String]) -> ApiResult<Vec<String>> {
    if events.is_empty() {
        return Err(ApiError::bad_input(
            "events must name at least one event type",
        ));
    }
    if events.len() > janta_events::types::ALL_EVENTS.len() {
        return Err(ApiError::bad_input("too many event types"));
    }
    let mut out: Vec<String> = Vec::new();
    for event in events {
        let name = event.trim();
        let known = janta_events::types::ALL_EVENTS
            .iter()
            .any(|(_, t)| *t == name);
        if !known {
            return Err(ApiError::bad_input(format!(
                "unknown event type {:?}",
                shown(name, 40)
            )));
        }
        if !out.iter().any(|e| e == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// Event types an admin may grant a partner.
pub fn check_grantable(events: &[String]) -> ApiResult<Vec<String>> {
    let events = known_event_types(events)?;
    if let Some(never) = events.iter().find(|e| NEVER_GRANTED.contains(&e.as_str())) {
        return Err(ApiError::bad_input(format!(
            "{never} is never delivered to partners"
        )));
    }
    Ok(events)
}

/// Event types a subscription in `scope` may ask for: admins any; vendor
/// integrations those of [`VENDOR_WEBHOOK_EVENTS`]; partners those in
/// `granted`. Anything else is `FORBIDDEN`.
pub fn check_webhook_events(
    events: &[String],
    scope: &WebhookScope,
    granted: &[String],
) -> ApiResult<Vec<String>> {
    let events = known_event_types(events)?;
    for event in &events {
        let allowed = match scope {
            WebhookScope::Platform => true,
            WebhookScope::Vendor(_) => VENDOR_WEBHOOK_EVENTS.contains(&event.as_str()),
            WebhookScope::Partner => granted.contains(event),
        };
        if !allowed {
            return Err(ApiError::forbidden(match scope {
                WebhookScope::Partner => {
                    format!("{event} was not granted to you; a platform admin grants event types")
                }
                _ => format!("vendor integrations cannot receive {event}"),
            }));
        }
    }
    Ok(events)
}

/// Whether a subscription in `scope` receives one event: platform ones
/// always; a partner's only while the type is granted; a vendor
/// integration's only for its vendor's events of the vendor types.
pub fn webhook_receives(
    scope: &WebhookScope,
    granted: bool,
    event_type: &str,
    payload_vendor: Option<&str>,
) -> bool {
    match scope {
        WebhookScope::Platform => true,
        WebhookScope::Partner => granted && !NEVER_GRANTED.contains(&event_type),
        WebhookScope::Vendor(vendor) => {
            VENDOR_WEBHOOK_EVENTS.contains(&event_type) && payload_vendor == Some(vendor.as_str())
        }
    }
}

/// Who may see and deactivate a subscription: admins, its creator, and the
/// admins of the vendor whose integration it is.
pub fn may_manage_webhook(caller: &Principal, owner_id: &str, vendor_id: Option<&str>) -> bool {
    caller.is_admin()
        || caller.subject == owner_id
        || (caller.has_role(Role::VendorAdmin)
            && vendor_id.is_some()
            && caller.vendor_id.as_deref() == vendor_id)
}

/// A webhook URL: absolute http(s) with a host, no credentials, at most
/// 500 characters; production accepts only https.
pub fn check_webhook_url(raw: &str, production: bool) -> ApiResult<String> {
    let url = raw.trim();
    let bad = |why: &str| ApiError::bad_input(format!("url {why}"));
    if url.len() > 500 {
        return Err(bad("is too long"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("is not a valid URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !production => {}
        "http" => return Err(bad("must use https")),
        _ => return Err(bad("must be http(s)")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("needs a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_events::types::{ApprovedLine, OrderLine};

    fn customer() -> String {
        "019a0000-0000-7000-8000-000000000002".to_string()
    }

    #[test]
    fn returns_tell_the_vendor_and_the_customer() {
        use janta_events::types::ReturnLine;
        let lines = vec![ReturnLine {
            order_line_id: "l".into(),
            listing_id: "li".into(),
            quantity: 2,
            refund_paise: 3600,
        }];
        let requested = on_return_requested(&ReturnRequested {
            return_id: "r".into(),
            order_id: "order-1".into(),
            customer_id: customer(),
            vendor_id: "vendor-1".into(),
            reason: "WRONG_ITEM".into(),
            lines: lines.clone(),
            refund_paise: 3600,
        });
        assert_eq!(requested.len(), 1);
        assert_eq!(requested[0].kind, Kind::ReturnRequested);
        assert_eq!(requested[0].audience, Audience::Vendor("vendor-1".into()));
        assert!(
            requested[0].body.contains("2 unit(s)") && requested[0].body.contains("wrong item")
        );
        let approved = on_return_approved(&ReturnApproved {
            return_id: "r".into(),
            order_id: "order-1".into(),
            customer_id: customer(),
            vendor_id: "vendor-1".into(),
            lines,
            refund_paise: 3600,
            refund_tax_paise: 0,
            note: "ok".into(),
        });
        assert_eq!(approved.len(), 2);
        assert_eq!(approved[0].audience, Audience::User(customer()));
        assert!(
            approved[0].body.contains(&rupees(3600)),
            "{}",
            approved[0].body
        );
        let rejected = on_return_rejected(&ReturnRejected {
            return_id: "r".into(),
            order_id: "order-1".into(),
            customer_id: customer(),
            vendor_id: "vendor-1".into(),
            note: "seal was broken.".into(),
        });
        assert_eq!(rejected[0].kind, Kind::ReturnRejected);
        assert!(rejected[0].body.ends_with("seal was broken."));
        assert!(Kind::ReturnApproved.is_personal() && !Kind::ReturnRequested.is_personal());
    }

    #[test]
    fn an_issued_settlement_tells_the_vendors_staff_the_payout() {
        let told = on_settlement_issued(&SettlementIssued {
            settlement_id: "s".into(),
            vendor_id: "vendor-1".into(),
            period_start: "2026-11-01".into(),
            period_end: "2026-11-15".into(),
            payout_paise: 165_745,
        });
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].audience, Audience::Vendor("vendor-1".into()));
        assert_eq!(told[0].kind, Kind::SettlementIssued);
        assert!(
            told[0].body.contains("2026-11-01 to 2026-11-15"),
            "{}",
            told[0].body
        );
        assert!(told[0].body.contains(&rupees(165_745)), "{}", told[0].body);
        assert!(!Kind::SettlementIssued.is_personal());
    }

    #[test]
    fn each_customer_event_tells_the_customer_from_the_payload() {
        let placed = on_order_placed(&OrderPlaced {
            order_id: "019a0000-0000-7000-8000-00000000abcd".into(),
            customer_id: customer(),
            vendor_id: "v".into(),
            total_paise: 12_350,
            tax_paise: 0,
            payment_method: "UPI".into(),
            lines: vec![OrderLine {
                listing_id: "l".into(),
                medicine_id: "m".into(),
                quantity: 3,
                unit_price_paise: 4_000,
            }],
        });
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].audience, Audience::User(customer()));
        assert_eq!(placed[0].kind, Kind::OrderPlaced);
        assert!(placed[0].body.contains("0000ABCD"), "{}", placed[0].body);
        assert!(placed[0].body.contains("₹123.50"), "{}", placed[0].body);
        assert!(placed[0].body.contains("3 item"), "{}", placed[0].body);

        let rejected = on_prescription_rejected(&PrescriptionRejected {
            prescription_id: "p".into(),
            customer_id: customer(),
            reviewer_id: "r".into(),
            vendor_id: None,
            reason: "Illegible dosage".into(),
        });
        assert!(rejected[0].body.contains("Illegible dosage"));

        let approved = on_prescription_approved(&PrescriptionApproved {
            prescription_id: "p".into(),
            customer_id: customer(),
            reviewer_id: "r".into(),
            vendor_id: None,
            valid_until: "2026-12-31".into(),
            lines: vec![ApprovedLine {
                medicine_id: "m".into(),
                max_quantity: 10,
            }],
        });
        assert!(approved[0].body.contains("2026-12-31"));
    }

    #[test]
    fn confirmation_also_gives_the_vendor_a_new_order() {
        let planned = on_order_confirmed(&OrderConfirmed {
            order_id: "o".into(),
            customer_id: customer(),
            vendor_id: "vendor-1".into(),
            total_paise: 500,
            payment_id: None,
        });
        let kinds: Vec<_> = planned.iter().map(|p| (p.kind, p.audience.key())).collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::OrderConfirmed, format!("user:{}", customer())),
                (Kind::NewOrder, "vendor:vendor-1".to_string()),
            ]
        );
        assert!(planned[1].body.contains("on delivery"));
    }

    #[test]
    fn only_dispatch_and_delivery_status_changes_tell_the_customer() {
        let change = |to| OrderStatusChanged {
            order_id: "o".into(),
            customer_id: customer(),
            vendor_id: "v".into(),
            from: OrderStatus::Confirmed,
            to,
        };
        assert_eq!(
            on_order_status_changed(&change(OrderStatus::OutForDelivery))[0].kind,
            Kind::OrderShipped
        );
        assert_eq!(
            on_order_status_changed(&change(OrderStatus::Delivered))[0].kind,
            Kind::OrderDelivered
        );
        assert!(on_order_status_changed(&change(OrderStatus::Packed)).is_empty());
    }

    #[test]
    fn prescriptions_submitted_go_only_to_the_chosen_pharmacy() {
        let submitted = |vendor_id: Option<&str>| PrescriptionSubmitted {
            prescription_id: "p".into(),
            customer_id: customer(),
            family_member_id: None,
            vendor_id: vendor_id.map(str::to_string),
        };
        let planned = on_prescription_submitted(&submitted(Some("v-ka")));
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].audience.key(), "vendor:v-ka");
        assert!(channels_for(&planned[0], None, true, true).is_empty());
        assert!(on_prescription_submitted(&submitted(None)).is_empty());
    }

    #[test]
    fn a_registration_attempt_is_e_mailed_to_the_existing_owner() {
        let planned = on_registration_attempted(&RegistrationAttempted {
            user_id: customer(),
        });
        assert_eq!(planned[0].audience.key(), format!("user:{}", customer()));
        assert_eq!(planned[0].kind, Kind::RegistrationAttempted);
        assert_eq!(
            channels_for(&planned[0], None, true, false),
            vec![Channel::Email]
        );
    }

    #[test]
    fn viewers_see_their_own_their_vendors_and_their_roles_inboxes() {
        let pharmacist = Principal {
            subject: "u1".into(),
            roles: vec![Role::Pharmacist],
            vendor_id: Some("v1".into()),
            scopes: vec![],
        };
        assert_eq!(audiences_of(&pharmacist), vec!["user:u1", "vendor:v1"]);
        let customer = Principal {
            subject: "u2".into(),
            roles: vec![Role::Customer],
            vendor_id: Some("v1".into()),
            scopes: vec![],
        };
        assert_eq!(audiences_of(&customer), vec!["user:u2"]);
    }

    #[test]
    fn preferences_choose_channels_for_people_only() {
        let planned = on_user_registered(&UserRegistered {
            user_id: "u".into(),
            full_name: "Asha".into(),
        });
        assert_eq!(planned[0].title, "Welcome to Janta, Asha");
        assert_eq!(
            channels_for(&planned[0], None, true, true),
            vec![Channel::Email]
        );
        let off = Preference {
            kind: Kind::Welcome,
            email: false,
            sms: true,
        };
        assert_eq!(
            channels_for(&planned[0], Some(off), true, true),
            vec![Channel::Sms]
        );
        assert!(channels_for(&planned[0], Some(off), true, false).is_empty());
    }

    #[test]
    fn only_transient_failures_are_retried_and_attempts_are_bounded() {
        assert!(classify_http_status(204).is_ok());
        assert!(classify_http_status(503).unwrap_err().retryable);
        assert!(classify_http_status(429).unwrap_err().retryable);
        assert!(!classify_http_status(404).unwrap_err().retryable);
        assert!(!classify_http_status(301).unwrap_err().retryable);
        assert!(classify_smtp_code(451, "later").retryable);
        assert!(!classify_smtp_code(554, "no").retryable);
        let backoff =
            janta_events::Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let transient = Failure::retryable("boom", Some(500));
        assert!(matches!(
            after_failure(&transient, 1, 3, &backoff),
            AfterFailure::RetryIn(d) if d >= Duration::from_millis(80) && d <= Duration::from_millis(120)
        ));
        assert_eq!(
            after_failure(&transient, 3, 3, &backoff),
            AfterFailure::Dead
        );
        let permanent = Failure::permanent("gone", Some(410));
        assert_eq!(
            after_failure(&permanent, 1, 3, &backoff),
            AfterFailure::Failed
        );
    }

    #[test]
    fn personal_data_is_redacted_from_errors() {
        let text = "550 5.1.1 <ravi@example.com>: unknown; sms to +919876543210 failed";
        let clean = redact(text);
        assert!(!clean.contains("ravi"), "{clean}");
        assert!(!clean.contains("9876543210"), "{clean}");
        assert!(clean.starts_with("550 5.1.1 <redacted>"), "{clean}");
    }

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231-style check against an independently computed value.
        let sig = webhook_signature("key", 1, "{}");
        assert_eq!(sig.len(), 64);
        assert_ne!(sig, webhook_signature("other", 1, "{}"));
        assert_ne!(sig, webhook_signature("key", 2, "{}"));
    }

    #[test]
    fn webhook_inputs_are_checked() {
        assert!(check_webhook_url("http://partner.example:9000/hook", false).is_ok());
        assert!(check_webhook_url("http://partner.example/hook", true).is_err());
        assert!(check_webhook_url("https://u:p@partner.example/hook", true).is_err());
        assert!(check_webhook_url("ftp://partner.example/", false).is_err());
        let platform = WebhookScope::Platform;
        let events = check_webhook_events(
            &["OrderPlaced".into(), "OrderPlaced".into()],
            &platform,
            &[],
        );
        assert_eq!(events.unwrap(), vec!["OrderPlaced"]);
        assert!(check_webhook_events(&["Nope".into()], &platform, &[]).is_err());
        assert!(check_webhook_events(&["UserRegistered".into()], &platform, &[]).is_ok());
        assert!(check_webhook_events(&[], &platform, &[]).is_err());
        assert!(check_grantable(&["UserRegistered".into()]).is_err());
        assert!(check_grantable(&["OrderPlaced".into()]).is_ok());
    }

    #[test]
    fn each_scope_receives_only_what_its_owner_may_read() {
        let forbidden = |r: ApiResult<Vec<String>>| matches!(r, Err(e) if e.code() == janta_platform::error::ErrorCode::Forbidden);
        let granted = vec!["OrderPlaced".to_string()];
        let partner = WebhookScope::Partner;
        assert!(check_webhook_events(&["OrderPlaced".into()], &partner, &granted).is_ok());
        assert!(forbidden(check_webhook_events(
            &["OrderConfirmed".into()],
            &partner,
            &granted
        )));
        assert!(forbidden(check_webhook_events(
            &["UserRegistered".into()],
            &partner,
            &[]
        )));
        assert!(webhook_receives(&partner, true, "OrderPlaced", Some("v1")));
        assert!(!webhook_receives(
            &partner,
            false,
            "OrderPlaced",
            Some("v1")
        ));

        let ka = WebhookScope::Vendor("ka".into());
        assert!(check_webhook_events(&["OrderPlaced".into(), "StockLow".into()], &ka, &[]).is_ok());
        for private in [
            "UserRegistered",
            "PaymentSucceeded",
            "PrescriptionSubmitted",
        ] {
            assert!(
                forbidden(check_webhook_events(&[private.into()], &ka, &[])),
                "{private}"
            );
            assert!(
                !webhook_receives(&ka, true, private, Some("ka")),
                "{private}"
            );
        }
        assert!(webhook_receives(&ka, false, "OrderPlaced", Some("ka")));
        assert!(!webhook_receives(&ka, false, "OrderPlaced", Some("mh")));
        assert!(!webhook_receives(&ka, false, "OrderPlaced", None));
        assert!(webhook_receives(
            &WebhookScope::Platform,
            false,
            "UserRegistered",
            None
        ));

        let staff = |roles: Vec<Role>, vendor: Option<&str>| Principal {
            subject: "s".into(),
            roles,
            vendor_id: vendor.map(str::to_string),
            scopes: vec![],
        };
        assert_eq!(
            WebhookScope::of(&staff(vec![Role::VendorAdmin], Some("ka"))).unwrap(),
            ka
        );
        assert!(WebhookScope::of(&staff(vec![Role::VendorAdmin], None)).is_err());
        assert!(WebhookScope::of(&staff(vec![Role::Pharmacist], Some("ka"))).is_err());
        assert!(may_manage_webhook(
            &staff(vec![Role::VendorAdmin], Some("ka")),
            "other",
            Some("ka")
        ));
        assert!(!may_manage_webhook(
            &staff(vec![Role::VendorAdmin], Some("mh")),
            "other",
            Some("ka")
        ));
        assert!(!may_manage_webhook(
            &staff(vec![Role::Partner], None),
            "other",
            None
        ));
        assert_eq!(WebhookScope::from_db("VENDOR", Some("ka")), ka);
        assert_eq!(WebhookScope::from_db("VENDOR", None), WebhookScope::Partner);
    }

    #[test]
    fn short_refs_use_the_random_tail() {
        assert_eq!(
            short_ref("019a0000-0000-7000-8000-0000000000a1"),
            "000000A1"
        );
        assert_eq!(rupees(5), "₹0.05");
    }
}
