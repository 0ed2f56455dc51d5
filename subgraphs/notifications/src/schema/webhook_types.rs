//! The webhook event types as a GraphQL enum, so partners get the closed
//! list from the schema (and a typo is a validation error, not a
//! subscription that never fires). Each value stands for one platform
//! event type of `janta_events::types`: `ORDER_PLACED` is `OrderPlaced`,
//! the name a delivery carries in its `type` field and its
//! `Janta-Event-Type` header (`docs/webhooks.md`).

use async_graphql::Enum;

/// A platform event a webhook subscription can receive. The wire name
/// (the body's `type`, the `Janta-Event-Type` header) is the value in
/// PascalCase: `ORDER_PLACED` arrives as `OrderPlaced`. Payloads are
/// described in `docs/webhooks.md`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookEventType {
    /// A customer account was created (never delivered to partners).
    UserRegistered,
    /// A pharmacy's licences were verified; it may sell.
    VendorVerified,
    /// A pharmacy was suspended; its listings left the storefront.
    VendorSuspended,
    /// A pharmacy's suspension was lifted.
    VendorReinstated,
    /// Someone tried to register with an existing account's e-mail address.
    RegistrationAttempted,
    /// A listing's sellable stock fell to its low-stock threshold.
    StockLow,
    /// A listing's sale price or MRP changed.
    ListingPriceChanged,
    /// Packs of a listing's batch were quarantined (expired).
    StockQuarantined,
    /// A prescription was submitted for review.
    PrescriptionSubmitted,
    /// A pharmacist approved a prescription.
    PrescriptionApproved,
    /// A pharmacist rejected a prescription.
    PrescriptionRejected,
    /// An order was placed and waits for payment.
    OrderPlaced,
    /// An order was paid (or cash on delivery accepted).
    OrderConfirmed,
    /// An order was packed, sent out, delivered or returned.
    OrderStatusChanged,
    /// An order was cancelled.
    OrderCancelled,
    /// A customer asked to return delivered lines.
    ReturnRequested,
    /// A return was approved and refunded.
    ReturnApproved,
    /// A return was rejected.
    ReturnRejected,
    /// A payment was captured (or cash on delivery accepted).
    PaymentSucceeded,
    /// A payment failed or expired.
    PaymentFailed,
    /// Money was refunded on a payment.
    PaymentRefunded,
    /// A pharmacy's settlement statement was issued.
    SettlementIssued,
}

impl WebhookEventType {
    /// Every value, in the order of `janta_events::types::ALL_EVENTS`.
    pub const ALL: [WebhookEventType; 22] = [
        Self::UserRegistered,
        Self::VendorVerified,
        Self::VendorSuspended,
        Self::VendorReinstated,
        Self::RegistrationAttempted,
        Self::StockLow,
        Self::ListingPriceChanged,
        Self::StockQuarantined,
        Self::PrescriptionSubmitted,
        Self::PrescriptionApproved,
        Self::PrescriptionRejected,
        Self::OrderPlaced,
        Self::OrderConfirmed,
        Self::OrderStatusChanged,
        Self::OrderCancelled,
        Self::ReturnRequested,
        Self::ReturnApproved,
        Self::ReturnRejected,
        Self::PaymentSucceeded,
        Self::PaymentFailed,
        Self::PaymentRefunded,
        Self::SettlementIssued,
    ];

    /// The event type name on the wire and in storage, e.g. `OrderPlaced`.
    pub fn wire_name(self) -> &'static str {
        let at = Self::ALL.iter().position(|v| *v == self).unwrap_or(0);
        janta_events::types::ALL_EVENTS[at].1
    }

    /// The value of a stored event type name; `None` for a name no longer
    /// (or never) a platform event.
    pub fn from_wire_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.wire_name() == name)
    }
}

/// The wire names of `types`, for the string-based store and rules.
pub fn wire_names(types: &[WebhookEventType]) -> Vec<String> {
    types.iter().map(|t| t.wire_name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::resolver_utils::EnumType;

    #[test]
    fn every_platform_event_is_a_value_spelt_in_screaming_case() {
        assert_eq!(
            WebhookEventType::ALL.len(),
            janta_events::types::ALL_EVENTS.len()
        );
        for (value, (_, name)) in WebhookEventType::ALL
            .iter()
            .zip(janta_events::types::ALL_EVENTS)
        {
            assert_eq!(value.wire_name(), name);
            assert_eq!(WebhookEventType::from_wire_name(name), Some(*value));
            let item = WebhookEventType::items()
                .iter()
                .find(|i| i.value == *value)
                .expect("an item per value");
            assert_eq!(item.name, janta_events::doc::enum_value(name), "{name}");
        }
        assert_eq!(WebhookEventType::from_wire_name("Nope"), None);
    }
}
