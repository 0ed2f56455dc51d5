//! What partners' documentation says about event payloads, taken from the
//! payload types themselves so that it cannot drift from them: the doc
//! comments and fields of [`crate::types`] (read from its source text, with
//! the serde names the JSON uses) and one example of every event built from
//! the real Rust value with `serde_json`. The notifications subgraph renders
//! `docs/webhooks.md` from this (a test there fails when the committed file
//! differs); a test here fails when the parsed fields and the serialised
//! examples disagree.

use crate::types::*;
use crate::Envelope;

/// The source text the field and type descriptions are read from.
const TYPES_SOURCE: &str = include_str!("types.rs");

/// One field of a payload object, as the JSON spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDoc {
    /// The JSON key (camelCase), or an enum value (SCREAMING_SNAKE_CASE).
    pub name: String,
    /// The JSON type in words, e.g. `string`, `integer or null`.
    pub json_type: String,
    /// The field's doc comment, on one line.
    pub doc: String,
}

/// One struct or enum of [`crate::types`]: its doc comment and its fields
/// (or, for an enum, its values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDoc {
    /// The Rust type name, e.g. `OrderPlaced`.
    pub name: String,
    /// Whether it is an enum (a string with one of `fields` as its value).
    pub is_enum: bool,
    /// The type's doc comment, on one line.
    pub doc: String,
    /// Fields (structs) or values (enums), in declaration order.
    pub fields: Vec<FieldDoc>,
}

/// Every struct and enum declared in [`crate::types`], in source order.
pub fn type_docs() -> Vec<TypeDoc> {
    let mut types = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut open: Option<TypeDoc> = None;
    for line in TYPES_SOURCE.lines().map(str::trim) {
        if line == "#[cfg(test)]" {
            break;
        }
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim().to_string());
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        if let Some(current) = open.as_mut() {
            if line == "}" {
                types.extend(open.take());
            } else if let Some(field) = field_of(line, current.is_enum, &doc.join(" ")) {
                current.fields.push(field);
            }
        } else if let Some((name, is_enum)) = type_start(line) {
            open = Some(TypeDoc {
                name,
                is_enum,
                doc: doc.join(" "),
                fields: vec![],
            });
        }
        doc.clear();
    }
    types
}

/// `pub struct Name {` or `pub enum Name {`: the name and whether it is an enum.
fn type_start(line: &str) -> Option<(String, bool)> {
    let body = line.strip_suffix(" {")?;
    if let Some(name) = body.strip_prefix("pub struct ") {
        return Some((name.to_string(), false));
    }
    body.strip_prefix("pub enum ")
        .map(|name| (name.to_string(), true))
}

/// A field line (`pub total_paise: i64,`) or an enum value line (`Packed,`).
fn field_of(line: &str, is_enum: bool, doc: &str) -> Option<FieldDoc> {
    if is_enum {
        let value = line.strip_suffix(',')?;
        return Some(FieldDoc {
            name: enum_value(value),
            json_type: "value".into(),
            doc: doc.to_string(),
        });
    }
    let (name, ty) = line.strip_prefix("pub ")?.split_once(": ")?;
    Some(FieldDoc {
        name: camel_case(name),
        json_type: json_type(ty.strip_suffix(',').unwrap_or(ty)),
        doc: doc.to_string(),
    })
}

/// `total_paise` → `totalPaise`, as `#[serde(rename_all = "camelCase")]`.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `OrderPlaced` → `ORDER_PLACED`: an event type's GraphQL enum value (and
/// how serde spells the values of the payload enums).
pub fn enum_value(pascal: &str) -> String {
    let mut out = String::with_capacity(pascal.len() + 4);
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// A Rust field type in JSON words.
fn json_type(rust: &str) -> String {
    if let Some(inner) = rust
        .strip_prefix("Option<")
        .and_then(|r| r.strip_suffix('>'))
    {
        return format!("{} or null", json_type(inner));
    }
    if let Some(inner) = rust.strip_prefix("Vec<").and_then(|r| r.strip_suffix('>')) {
        return format!("array of {}", json_type(inner));
    }
    match rust {
        "String" => "string".into(),
        "i64" => "integer".into(),
        "bool" => "boolean".into(),
        other => format!("`{other}`"),
    }
}

/// How the example envelopes are told apart: a fixed ID and time per event
/// so that the generated document is the same on every run.
fn envelope<E: Event>(n: usize, event: E) -> Envelope {
    Envelope {
        id: format!("019a1b2c-3d4e-7f00-8000-{:012x}", 0xe000 + n),
        event_type: E::TYPE.to_string(),
        version: E::VERSION,
        aggregate_type: E::AGGREGATE_TYPE.to_string(),
        aggregate_id: event.aggregate_id().to_string(),
        occurred_at: format!("2026-11-30T09:{:02}:00.000000Z", n % 60),
        actor: "system".into(),
        correlation_id: None,
        payload: serde_json::to_value(&event).unwrap_or_default(),
        traceparent: None,
    }
}

const CUSTOMER: &str = "019a0000-0000-7000-8000-00000000c001";
const VENDOR: &str = "019a0000-0000-7000-8000-0000000000a1";
const ORDER: &str = "019a1b2c-0000-7000-8000-0000000000d1";
const LISTING: &str = "019a0000-0000-7000-8000-0000000001b1";
const MEDICINE: &str = "019a0000-0000-7000-8000-0000000002c1";
const PRESCRIPTION: &str = "019a1b2c-0000-7000-8000-0000000000f1";
const PHARMACIST: &str = "019a0000-0000-7000-8000-00000000c0a1";
const PAYMENT: &str = "019a1b2c-0000-7000-8000-0000000000b1";
const RETURN: &str = "019a1b2c-0000-7000-8000-0000000000e1";
const ORDER_LINE: &str = "019a1b2c-0000-7000-8000-0000000000d2";

fn s(text: &str) -> String {
    text.to_string()
}

fn return_lines() -> Vec<ReturnLine> {
    vec![ReturnLine {
        order_line_id: s(ORDER_LINE),
        listing_id: s(LISTING),
        quantity: 1,
        refund_paise: 4_200,
    }]
}

/// One example of every platform event, in the order of
/// [`ALL_EVENTS`], each built from its Rust type as it is published.
pub fn examples() -> Vec<Envelope> {
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    vec![
        envelope(
            next(),
            UserRegistered {
                user_id: s(CUSTOMER),
                full_name: s("Chitra Customer"),
            },
        ),
        envelope(
            next(),
            VendorVerified {
                vendor_id: s(VENDOR),
            },
        ),
        envelope(
            next(),
            VendorSuspended {
                vendor_id: s(VENDOR),
                reason: s("Drug licence KA-20B-1234 expired on 2026-11-29"),
            },
        ),
        envelope(
            next(),
            VendorReinstated {
                vendor_id: s(VENDOR),
            },
        ),
        envelope(
            next(),
            RegistrationAttempted {
                user_id: s(CUSTOMER),
            },
        ),
        envelope(
            next(),
            StockLow {
                listing_id: s(LISTING),
                vendor_id: s(VENDOR),
                branch_id: None,
                medicine_id: s(MEDICINE),
                available_quantity: 4,
                threshold: 5,
            },
        ),
        envelope(
            next(),
            ListingPriceChanged {
                listing_id: s(LISTING),
                vendor_id: s(VENDOR),
                medicine_id: s(MEDICINE),
                old_price_paise: Some(2_100),
                new_price_paise: 1_950,
                mrp_paise: 2_400,
            },
        ),
        envelope(
            next(),
            StockQuarantined {
                listing_id: s(LISTING),
                vendor_id: s(VENDOR),
                batch_number: s("PCM2411A"),
                quantity: 12,
                reason: s("EXPIRED"),
            },
        ),
        envelope(
            next(),
            PrescriptionSubmitted {
                prescription_id: s(PRESCRIPTION),
                customer_id: s(CUSTOMER),
                family_member_id: None,
                vendor_id: Some(s(VENDOR)),
            },
        ),
        envelope(
            next(),
            PrescriptionApproved {
                prescription_id: s(PRESCRIPTION),
                customer_id: s(CUSTOMER),
                reviewer_id: s(PHARMACIST),
                vendor_id: Some(s(VENDOR)),
                valid_until: s("2027-05-30"),
                lines: vec![ApprovedLine {
                    medicine_id: s(MEDICINE),
                    max_quantity: 30,
                }],
            },
        ),
        envelope(
            next(),
            PrescriptionRejected {
                prescription_id: s(PRESCRIPTION),
                customer_id: s(CUSTOMER),
                reviewer_id: s(PHARMACIST),
                vendor_id: Some(s(VENDOR)),
                reason: s("The doctor's signature is missing"),
            },
        ),
        envelope(
            next(),
            OrderPlaced {
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                total_paise: 8_400,
                tax_paise: 900,
                payment_method: s("UPI"),
                lines: vec![OrderLine {
                    listing_id: s(LISTING),
                    medicine_id: s(MEDICINE),
                    quantity: 2,
                    unit_price_paise: 4_200,
                }],
            },
        ),
        envelope(
            next(),
            OrderConfirmed {
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                total_paise: 8_400,
                payment_id: Some(s(PAYMENT)),
            },
        ),
        envelope(
            next(),
            OrderStatusChanged {
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                from: OrderStatus::Packed,
                to: OrderStatus::OutForDelivery,
            },
        ),
        envelope(
            next(),
            OrderCancelled {
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                from: OrderStatus::PendingPayment,
                reason: s("Payment was not completed in time"),
                cancelled_by: s("system"),
            },
        ),
        envelope(
            next(),
            ReturnRequested {
                return_id: s(RETURN),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                reason: s("DAMAGED"),
                lines: return_lines(),
                refund_paise: 4_200,
            },
        ),
        envelope(
            next(),
            ReturnApproved {
                return_id: s(RETURN),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                lines: return_lines(),
                refund_paise: 4_200,
                refund_tax_paise: 450,
                note: s("Strip was crushed; refunded"),
            },
        ),
        envelope(
            next(),
            ReturnRejected {
                return_id: s(RETURN),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                note: s("The seal was intact and the pack unopened after the return window"),
            },
        ),
        envelope(
            next(),
            PaymentSucceeded {
                payment_id: s(PAYMENT),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                amount_paise: 8_400,
                currency: s("INR"),
                method: s("UPI"),
                captured: true,
                gateway_reference: Some(s("pay_PzX81dQe5mN2bc")),
            },
        ),
        envelope(
            next(),
            PaymentFailed {
                payment_id: s(PAYMENT),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                amount_paise: 8_400,
                currency: s("INR"),
                method: s("CARD"),
                reason: s("The bank declined the card"),
            },
        ),
        envelope(
            next(),
            PaymentRefunded {
                payment_id: s(PAYMENT),
                refund_id: s("019a1b2c-0000-7000-8000-0000000000b2"),
                order_id: s(ORDER),
                customer_id: s(CUSTOMER),
                vendor_id: s(VENDOR),
                amount_paise: 4_200,
                refunded_total_paise: 4_200,
                fully_refunded: false,
                currency: s("INR"),
                method: s("UPI"),
                reason: s("Return approved"),
            },
        ),
        envelope(
            next(),
            SettlementIssued {
                settlement_id: s("019a1b2c-0000-7000-8000-0000000000a9"),
                vendor_id: s(VENDOR),
                period_start: s("2026-11-01"),
                period_end: s("2026-11-15"),
                payout_paise: 1_234_500,
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(value: &serde_json::Value) -> BTreeSet<String> {
        value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn examples_cover_every_event_in_order() {
        let examples = examples();
        let types: Vec<&str> = examples.iter().map(|e| e.event_type.as_str()).collect();
        let all: Vec<&str> = ALL_EVENTS.iter().map(|(_, t)| *t).collect();
        assert_eq!(types, all);
    }

    /// The parsed fields are exactly the keys serde writes, so the
    /// documentation describes what is sent.
    #[test]
    fn parsed_fields_are_the_serialised_keys() {
        let docs = type_docs();
        for example in examples() {
            let doc = docs
                .iter()
                .find(|d| d.name == example.event_type)
                .unwrap_or_else(|| panic!("{} is parsed", example.event_type));
            let parsed: BTreeSet<String> = doc.fields.iter().map(|f| f.name.clone()).collect();
            assert_eq!(parsed, keys(&example.payload), "{}", doc.name);
            assert!(!doc.doc.is_empty(), "{} has a doc comment", doc.name);
            assert!(doc.fields.iter().all(|f| !f.doc.is_empty()), "{}", doc.name);
        }
        let line = docs
            .iter()
            .find(|d| d.name == "OrderLine")
            .expect("OrderLine");
        let sample = serde_json::to_value(OrderLine {
            listing_id: s(LISTING),
            medicine_id: s(MEDICINE),
            quantity: 1,
            unit_price_paise: 1,
        })
        .unwrap();
        let parsed: BTreeSet<String> = line.fields.iter().map(|f| f.name.clone()).collect();
        assert_eq!(parsed, keys(&sample));
        let status = docs
            .iter()
            .find(|d| d.name == "OrderStatus")
            .expect("OrderStatus");
        assert!(status.is_enum);
        assert_eq!(
            serde_json::to_value(OrderStatus::OutForDelivery).unwrap(),
            serde_json::json!("OUT_FOR_DELIVERY")
        );
        assert!(status.fields.iter().any(|f| f.name == "OUT_FOR_DELIVERY"));
    }

    #[test]
    fn names_are_spelt_as_serde_and_graphql_spell_them() {
        assert_eq!(camel_case("refund_tax_paise"), "refundTaxPaise");
        assert_eq!(enum_value("OrderStatusChanged"), "ORDER_STATUS_CHANGED");
        assert_eq!(
            json_type("Option<Vec<OrderLine>>"),
            "array of `OrderLine` or null"
        );
    }
}
