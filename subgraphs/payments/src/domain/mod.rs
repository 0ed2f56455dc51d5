//! Payments' rules, free of I/O: the payment state machine (which gateway
//! report moves a payment where, and from which states), refund arithmetic,
//! who may pay, see and refund, and validated inputs.
//!
//! The store applies every transition with a conditional update
//! `… WHERE status IN (<`[`Transition::from`]`>)`, so the rules here hold
//! under concurrency too: of twenty identical reports exactly one applies.

pub mod payer;
pub mod settlement;

use async_graphql::Enum;
use janta_platform::auth::{Principal, Role};
use janta_platform::money::{format_paise, parse_rupees};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Where a payment is in its life.
///
/// `CREATED → PENDING → SUCCEEDED | FAILED`, then
/// `SUCCEEDED → PARTIALLY_REFUNDED → REFUNDED`. Nothing moves backwards.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Created at the gateway; the customer has not completed checkout yet.
    Created,
    /// The gateway is processing it; for cash on delivery: due on delivery.
    Pending,
    /// Money captured (or cash collected on delivery).
    Succeeded,
    /// Declined, abandoned or cancelled with its order; nothing was captured.
    Failed,
    /// Everything captured was refunded.
    Refunded,
    /// Part of the capture was refunded.
    PartiallyRefunded,
}

impl PaymentStatus {
    /// Storage (and API) spelling.
    pub fn as_db(self) -> &'static str {
        match self {
            PaymentStatus::Created => "CREATED",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Succeeded => "SUCCEEDED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Refunded => "REFUNDED",
            PaymentStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
        }
    }

    /// Reads the storage spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_db(s).ok()
    }

    /// Reads the storage spelling.
    pub fn from_db(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "CREATED" => PaymentStatus::Created,
            "PENDING" => PaymentStatus::Pending,
            "SUCCEEDED" => PaymentStatus::Succeeded,
            "FAILED" => PaymentStatus::Failed,
            "REFUNDED" => PaymentStatus::Refunded,
            "PARTIALLY_REFUNDED" => PaymentStatus::PartiallyRefunded,
            other => anyhow::bail!("unknown payment status {other:?}"),
        })
    }

    /// Open payments are still waiting for an outcome; an order has at most one.
    pub fn is_open(self) -> bool {
        matches!(self, PaymentStatus::Created | PaymentStatus::Pending)
    }

    /// Whether money was captured (and may be refunded, in whole or in part).
    pub fn is_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

/// How the customer pays.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    /// Unified Payments Interface (online, through the gateway).
    Upi,
    /// Debit or credit card (online, through the gateway).
    Card,
    /// Internet banking (online, through the gateway).
    Netbanking,
    /// Cash collected by the vendor on delivery: no online capture.
    CashOnDelivery,
}

impl PaymentMethod {
    /// Storage (and API, and event) spelling.
    pub fn as_db(self) -> &'static str {
        match self {
            PaymentMethod::Upi => "UPI",
            PaymentMethod::Card => "CARD",
            PaymentMethod::Netbanking => "NETBANKING",
            PaymentMethod::CashOnDelivery => "CASH_ON_DELIVERY",
        }
    }

    /// Reads the storage spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_db(s).ok()
    }

    /// Reads the storage spelling.
    pub fn from_db(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "UPI" => PaymentMethod::Upi,
            "CARD" => PaymentMethod::Card,
            "NETBANKING" => PaymentMethod::Netbanking,
            "CASH_ON_DELIVERY" => PaymentMethod::CashOnDelivery,
            other => anyhow::bail!("unknown payment method {other:?}"),
        })
    }

    /// Online methods go through the payment gateway; cash does not.
    pub fn is_online(self) -> bool {
        !matches!(self, PaymentMethod::CashOnDelivery)
    }

    /// The status a new payment starts in: online payments wait for the
    /// customer at the gateway (`CREATED`); cash on delivery is accepted at
    /// once and stays `PENDING` until the order is delivered.
    pub fn initial_status(self) -> PaymentStatus {
        if self.is_online() {
            PaymentStatus::Created
        } else {
            PaymentStatus::Pending
        }
    }
}

/// Where a refund is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Sent to the gateway; its amount is already reserved on the payment.
    Pending,
    /// The gateway returned the money.
    Succeeded,
    /// The gateway refused; the reserved amount was released.
    Failed,
}

impl RefundStatus {
    /// Storage (and API) spelling.
    pub fn as_db(self) -> &'static str {
        match self {
            RefundStatus::Pending => "PENDING",
            RefundStatus::Succeeded => "SUCCEEDED",
            RefundStatus::Failed => "FAILED",
        }
    }

    /// Reads the storage spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_db(s).ok()
    }

    /// Reads the storage spelling.
    pub fn from_db(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "PENDING" => RefundStatus::Pending,
            "SUCCEEDED" => RefundStatus::Succeeded,
            "FAILED" => RefundStatus::Failed,
            other => anyhow::bail!("unknown refund status {other:?}"),
        })
    }
}

/// Something that happened to a payment outside a refund: a gateway report
/// or an order event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The gateway started processing (the customer submitted checkout).
    Processing,
    /// The gateway captured the money.
    Captured,
    /// The gateway declined or the customer abandoned the payment.
    Declined,
    /// The order of a cash-on-delivery payment was delivered: cash collected.
    CashCollected,
    /// The order was cancelled while this payment was still open.
    OrderCancelled,
    /// The customer chose another method before completing this checkout.
    Superseded,
}

/// What a [`PaymentEvent`] does: move from any of `from` to `to`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The states in which the event applies (the conditional update's guard).
    pub from: &'static [PaymentStatus],
    /// The state it leads to.
    pub to: PaymentStatus,
}

impl PaymentEvent {
    /// The transition this event causes when it applies.
    pub fn transition(self) -> Transition {
        use PaymentStatus::*;
        match self {
            PaymentEvent::Processing => Transition {
                from: &[Created],
                to: Pending,
            },
            PaymentEvent::Captured => Transition {
                from: &[Created, Pending],
                to: Succeeded,
            },
            PaymentEvent::Declined => Transition {
                from: &[Created, Pending],
                to: Failed,
            },
            PaymentEvent::CashCollected => Transition {
                from: &[Pending],
                to: Succeeded,
            },
            PaymentEvent::OrderCancelled => Transition {
                from: &[Created, Pending],
                to: Failed,
            },
            PaymentEvent::Superseded => Transition {
                from: &[Created],
                to: Failed,
            },
        }
    }

    /// Whether the event moves a payment currently in `current` (else it is
    /// recorded and ignored: replayed, stale, out of order or too late).
    pub fn applies_to(self, current: PaymentStatus) -> bool {
        self.transition().from.contains(&current)
    }
}

/// Why a gateway report was not applied, for the webhook record and logs.
pub fn ignored_because(event: PaymentEvent, current: PaymentStatus) -> &'static str {
    match (event, current) {
        (PaymentEvent::Declined, s) if s.is_captured() => "ignored: failure after success",
        (PaymentEvent::Captured, PaymentStatus::Failed) => "ignored: success after failure",
        (PaymentEvent::Processing, _) => "ignored: stale or out of order",
        _ => "ignored: already final",
    }
}

/// The status of a captured payment once `refunded` of `captured` paise are
/// refunded (or reserved for pending refunds).
pub fn status_after_refunds(captured: i64, refunded: i64) -> PaymentStatus {
    if refunded <= 0 {
        PaymentStatus::Succeeded
    } else if refunded >= captured {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    }
}

/// A refund amount in paise: positive, given as a decimal rupee string.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RefundAmount(i64);

impl RefundAmount {
    /// Parses "123.50" (rupees) and requires more than zero.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let paise = parse_rupees(raw, "amount")?;
        if paise <= 0 {
            return Err(ApiError::bad_input("amount must be more than zero"));
        }
        Ok(RefundAmount(paise))
    }

    /// A refund of exactly `paise` (must be positive), e.g. "everything left".
    pub fn of_paise(paise: i64) -> Option<Self> {
        (paise > 0).then_some(RefundAmount(paise))
    }

    /// Paise.
    pub fn paise(self) -> i64 {
        self.0
    }
}

/// Refuses a refund of `amount` on a payment with `captured` paise of which
/// `refunded` are already refunded or reserved.
pub fn check_refund(
    status: PaymentStatus,
    captured: i64,
    refunded: i64,
    amount: RefundAmount,
) -> ApiResult<()> {
    if !status.is_captured() {
        return Err(ApiError::conflict(format!(
            "only a captured payment can be refunded; this one is {}",
            status.as_db()
        )));
    }
    let refundable = (captured - refunded).max(0);
    if amount.paise() > refundable {
        return Err(ApiError::bad_input(format!(
            "amount exceeds what can still be refunded ({} INR)",
            format_paise(refundable)
        ))
        .with_details(json!({ "refundable": format_paise(refundable) })));
    }
    Ok(())
}

/// A refund reason: trimmed, 3–500 characters.
pub fn parse_reason(raw: &str) -> ApiResult<String> {
    let reason = raw.trim();
    let length = reason.chars().count();
    if length < 3 {
        return Err(ApiError::bad_input(
            "reason must say why (3 characters or more)",
        ));
    }
    if length > 500 {
        return Err(ApiError::bad_input("reason must be at most 500 characters"));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::bad_input("reason contains control characters"));
    }
    Ok(reason.to_string())
}

/// A client idempotency key: 8–100 visible ASCII characters.
pub fn parse_idempotency_key(raw: &str) -> ApiResult<String> {
    let key = raw.trim();
    let valid = (8..=100).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic());
    if valid {
        Ok(key.to_string())
    } else {
        Err(ApiError::bad_input(
            "idempotencyKey must be 8 to 100 visible ASCII characters",
        ))
    }
}

/// Who may see a payment: the paying customer, staff of the order's vendor
/// and admins. No other subgraph reads payments through the public API.
pub fn can_view(p: &Principal, customer_id: &str, vendor_id: &str) -> bool {
    p.subject == customer_id || p.is_staff_of(vendor_id) || p.is_admin()
}

/// Who may refund: the vendor's admin (not its pharmacists) or a platform admin.
pub fn can_refund(p: &Principal, vendor_id: &str) -> bool {
    p.is_admin() || (p.has_role(Role::VendorAdmin) && p.vendor_id.as_deref() == Some(vendor_id))
}

/// The order's state that allows paying it.
pub const PAYABLE_ORDER_STATUS: &str = "PENDING_PAYMENT";

/// What payments needs to know about an order, read from orders' service
/// interface (never from the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    /// The order.
    pub id: String,
    /// The customer who placed it.
    pub buyer_id: String,
    /// The vendor fulfilling it.
    pub vendor_id: String,
    /// Its status as orders spells it.
    pub status: String,
    /// Total to pay, in paise.
    pub total_paise: i64,
    /// The GST inside the total, in paise.
    pub tax_paise: i64,
    /// ISO currency; always INR.
    pub currency: String,
}

/// Only the order's buyer may pay it, only while it waits for payment.
pub fn check_payable(p: &Principal, order: &OrderFacts) -> ApiResult<()> {
    if p.subject != order.buyer_id {
        return Err(ApiError::forbidden(
            "only the customer who placed the order can pay it",
        ));
    }
    if order.status != PAYABLE_ORDER_STATUS {
        return Err(ApiError::conflict(format!(
            "this order cannot be paid: it is {}",
            order.status
        )));
    }
    if order.currency != janta_platform::money::INR {
        return Err(ApiError::internal(anyhow::anyhow!(
            "order {} is in unsupported currency {}",
            order.id,
            order.currency
        )));
    }
    if order.total_paise <= 0 {
        return Err(ApiError::conflict("this order has nothing to pay"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_platform::ErrorCode;
    use janta_testkit::principal as user;
    use PaymentStatus::*;

    const ALL: [PaymentStatus; 6] = [
        Created,
        Pending,
        Succeeded,
        Failed,
        Refunded,
        PartiallyRefunded,
    ];

    #[test]
    fn statuses_and_methods_round_trip() {
        for s in ALL {
            assert_eq!(PaymentStatus::from_db(s.as_db()).unwrap(), s);
        }
        for m in [
            PaymentMethod::Upi,
            PaymentMethod::Card,
            PaymentMethod::Netbanking,
            PaymentMethod::CashOnDelivery,
        ] {
            assert_eq!(PaymentMethod::from_db(m.as_db()).unwrap(), m);
        }
        assert!(PaymentStatus::from_db("PAID").is_err());
        assert_eq!(PaymentMethod::CashOnDelivery.initial_status(), Pending);
        assert_eq!(PaymentMethod::Upi.initial_status(), Created);
    }

    #[test]
    fn the_state_machine_only_moves_forward() {
        // Which (event, current) pairs apply; everything else is ignored.
        let applies = |e: PaymentEvent| {
            ALL.iter()
                .filter(|s| e.applies_to(**s))
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(applies(PaymentEvent::Processing), vec![Created]);
        assert_eq!(applies(PaymentEvent::Captured), vec![Created, Pending]);
        assert_eq!(applies(PaymentEvent::Declined), vec![Created, Pending]);
        assert_eq!(applies(PaymentEvent::CashCollected), vec![Pending]);
        assert_eq!(
            applies(PaymentEvent::OrderCancelled),
            vec![Created, Pending]
        );
        assert_eq!(applies(PaymentEvent::Superseded), vec![Created]);
        // No event leads from a final or captured state anywhere.
        for e in [
            PaymentEvent::Processing,
            PaymentEvent::Captured,
            PaymentEvent::Declined,
            PaymentEvent::CashCollected,
            PaymentEvent::OrderCancelled,
            PaymentEvent::Superseded,
        ] {
            for s in [Succeeded, Failed, Refunded, PartiallyRefunded] {
                assert!(!e.applies_to(s), "{e:?} must not move {s:?}");
            }
            assert!(!e.transition().to.is_open() || e == PaymentEvent::Processing);
        }
    }

    #[test]
    fn late_reports_say_why_they_were_ignored() {
        assert_eq!(
            ignored_because(PaymentEvent::Declined, Succeeded),
            "ignored: failure after success"
        );
        assert_eq!(
            ignored_because(PaymentEvent::Declined, PartiallyRefunded),
            "ignored: failure after success"
        );
        assert_eq!(
            ignored_because(PaymentEvent::Processing, Succeeded),
            "ignored: stale or out of order"
        );
        assert_eq!(
            ignored_because(PaymentEvent::Captured, Failed),
            "ignored: success after failure"
        );
    }

    #[test]
    fn refunds_never_exceed_the_capture() {
        let amount = |s: &str| RefundAmount::parse(s).unwrap();
        assert!(check_refund(Succeeded, 10_000, 0, amount("100.00")).is_ok());
        assert!(check_refund(PartiallyRefunded, 10_000, 4_000, amount("60")).is_ok());
        let over = check_refund(PartiallyRefunded, 10_000, 4_000, amount("60.01")).unwrap_err();
        assert_eq!(over.code(), ErrorCode::BadUserInput);
        let none_left = check_refund(Refunded, 10_000, 10_000, amount("0.01")).unwrap_err();
        assert_eq!(none_left.code(), ErrorCode::BadUserInput);
        for s in [Created, Pending, Failed] {
            let err = check_refund(s, 0, 0, amount("1")).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Conflict, "{s:?}");
        }
        assert_eq!(status_after_refunds(10_000, 0), Succeeded);
        assert_eq!(status_after_refunds(10_000, 1), PartiallyRefunded);
        assert_eq!(status_after_refunds(10_000, 10_000), Refunded);
    }

    #[test]
    fn refund_inputs_are_validated() {
        assert_eq!(RefundAmount::parse("12.5").unwrap().paise(), 1250);
        for bad in ["0", "0.00", "-1", "1.001", "abc", ""] {
            assert!(RefundAmount::parse(bad).is_err(), "{bad}");
        }
        assert!(RefundAmount::of_paise(0).is_none());
        assert_eq!(parse_reason("  damaged strip ").unwrap(), "damaged strip");
        assert!(parse_reason("x").is_err());
        assert!(parse_reason(&"a".repeat(501)).is_err());
        assert!(parse_idempotency_key("refund-0001").is_ok());
        assert!(parse_idempotency_key("short").is_err());
        assert!(parse_idempotency_key("has space inside").is_err());
    }

    #[test]
    fn who_may_see_and_refund() {
        let buyer = user("c1", &[Role::Customer], None);
        let other = user("c2", &[Role::Customer], None);
        let pharmacist = user("p1", &[Role::Pharmacist], Some("v1"));
        let vendor_admin = user("va", &[Role::VendorAdmin], Some("v1"));
        let other_vendor = user("vb", &[Role::VendorAdmin], Some("v2"));
        let admin = user("a", &[Role::Admin], None);
        assert!(can_view(&buyer, "c1", "v1"));
        assert!(!can_view(&other, "c1", "v1"));
        assert!(can_view(&pharmacist, "c1", "v1"));
        assert!(!can_view(&other_vendor, "c1", "v1"));
        assert!(can_view(&admin, "c1", "v1"));
        assert!(can_refund(&vendor_admin, "v1"));
        assert!(can_refund(&admin, "v1"));
        assert!(!can_refund(&pharmacist, "v1"));
        assert!(!can_refund(&other_vendor, "v1"));
        assert!(!can_refund(&buyer, "v1"));
    }

    #[test]
    fn only_the_buyer_pays_only_a_pending_order() {
        let order = OrderFacts {
            id: "o".into(),
            buyer_id: "c1".into(),
            vendor_id: "v1".into(),
            status: "PENDING_PAYMENT".into(),
            total_paise: 12_345,
            tax_paise: 1_323,
            currency: "INR".into(),
        };
        let buyer = user("c1", &[Role::Customer], None);
        assert!(check_payable(&buyer, &order).is_ok());
        let err = check_payable(&user("c2", &[Role::Customer], None), &order).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Forbidden);
        let cancelled = OrderFacts {
            status: "CANCELLED".into(),
            ..order.clone()
        };
        assert_eq!(
            check_payable(&buyer, &cancelled).unwrap_err().code(),
            ErrorCode::Conflict
        );
    }
}
