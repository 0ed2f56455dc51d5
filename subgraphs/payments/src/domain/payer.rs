//! The payer's details a gateway puts in its webhooks, and their erasure.
//!
//! Payments stores every authenticated webhook as received
//! (`webhook_events.payload`), and a Razorpay payment entity carries the
//! payer's e-mail, phone, UPI VPA and card holder's name. When the customer
//! asks for erasure (issue 18) those values are replaced; the rest of the
//! record (event type, amounts, gateway references, what it did) stays, as
//! the evidence behind the payment it moved.

use serde_json::Value;

/// Keys whose values describe the payer, at any depth of a payload:
/// contact details (`email`, `contact`, `phone`), the UPI VPA (`vpa`), a
/// card's holder and last digits (`name`, `last4`) and any address.
pub const PAYER_KEYS: [&str; 9] = [
    "email",
    "contact",
    "phone",
    "vpa",
    "name",
    "last4",
    "address",
    "billing_address",
    "shipping_address",
];

/// What replaces an erased value.
pub const ERASED: &str = "erased";

/// Replaces every payer detail in `payload` (a webhook body as stored) and
/// says whether anything changed. A body that is not JSON cannot be sorted
/// into details and the rest, so it is replaced whole by `{}`. Erasing
/// again changes nothing.
pub fn erase_payer_details(payload: &str) -> Option<String> {
    let Ok(mut body) = serde_json::from_str::<Value>(payload) else {
        return (payload != "{}").then(|| "{}".to_string());
    };
    erase_in(&mut body).then(|| body.to_string())
}

/// Erases the payer's values under `value`; true when any changed.
fn erase_in(value: &mut Value) -> bool {
    match value {
        Value::Object(fields) => {
            let mut changed = false;
            for (key, field) in fields.iter_mut() {
                if PAYER_KEYS.contains(&key.as_str()) {
                    if !field.is_null() && field.as_str() != Some(ERASED) {
                        *field = Value::String(ERASED.to_string());
                        changed = true;
                    }
                } else {
                    changed |= erase_in(field);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| erase_in(item) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn razorpay_captured() -> Value {
        json!({
            "entity": "event", "event": "payment.captured", "contains": ["payment"],
            "payload": {"payment": {"entity": {
                "id": "pay_29QQoUBi66xm2f", "amount": 50000, "currency": "INR",
                "status": "captured", "order_id": "order_9A33XWu170gUtm", "method": "upi",
                "email": "chitra@example.com", "contact": "+919876543210",
                "vpa": "chitra@okhdfc", "upi": {"vpa": "chitra@okhdfc"},
                "card": {"name": "Chitra K", "last4": "1111", "network": "Visa"},
                "notes": {"payment_id": "0193", "order_id": "0194"},
                "fee": null, "error_description": null
            }}}
        })
    }

    #[test]
    fn payer_details_go_and_the_rest_of_the_record_stays() {
        let stored = razorpay_captured().to_string();
        let erased = erase_payer_details(&stored).expect("details were there");
        for detail in [
            "chitra@example.com",
            "+919876543210",
            "chitra@okhdfc",
            "Chitra K",
            "1111",
        ] {
            assert!(!erased.contains(detail), "{detail} is still in {erased}");
        }
        let body: Value = serde_json::from_str(&erased).unwrap();
        let entity = &body["payload"]["payment"]["entity"];
        assert_eq!(entity["email"], ERASED);
        assert_eq!(entity["upi"]["vpa"], ERASED);
        assert_eq!(entity["card"]["network"], "Visa");
        assert_eq!(entity["amount"], 50000);
        assert_eq!(entity["notes"]["order_id"], "0194");
        assert_eq!(body["event"], "payment.captured");
        assert_eq!(entity["fee"], Value::Null, "nulls stay null");
        assert_eq!(
            erase_payer_details(&erased),
            None,
            "erasing again changes nothing"
        );
    }

    #[test]
    fn a_body_without_details_is_left_alone_and_garbage_is_replaced() {
        let sandbox = json!({"id": "evt_1", "type": "payment.succeeded", "created": 1,
            "data": {"paymentId": "sbx_pay_1", "amount": 100}})
        .to_string();
        assert_eq!(erase_payer_details(&sandbox), None);
        assert_eq!(
            erase_payer_details("not json chitra@example.com").as_deref(),
            Some("{}")
        );
        assert_eq!(erase_payer_details("{}"), None);
    }
}
