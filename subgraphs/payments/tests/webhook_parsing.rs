//! Razorpay webhook verification and parsing on thousands of seeded random
//! requests: unsigned, wrongly signed or malformed ones never panic and are
//! refused before the body is read; authentic but unreadable bodies are
//! refused as such (400, the gateway stops nothing); a real event parses to
//! what it says.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use janta_payments::gateway::{Gateway, RazorpayGateway, WebhookKind, WebhookRejection};
use janta_platform::config::{RazorpaySettings, Secret};
use janta_testkit::fuzz::{mutate, random_bytes, random_text, rng, CASES};
use janta_testkit::razorpay::razorpay_signature;
use rand::Rng;
use serde_json::json;

const WEBHOOK_SECRET: &str = "janta-fuzz-webhook-secret";

fn gateway() -> RazorpayGateway {
    let keys = RazorpaySettings {
        key_id: "rzp_test_fuzz".into(),
        key_secret: Secret::new("fuzz-key-secret"),
        base_url: "http://127.0.0.1:9".into(),
    };
    RazorpayGateway::new(&keys, &Secret::new(WEBHOOK_SECRET), "http://127.0.0.1:9")
}

fn headers(signature: Option<&[u8]>, event_id: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(value) = signature.and_then(|s| HeaderValue::from_bytes(s).ok()) {
        headers.insert("x-razorpay-signature", value);
    }
    if let Some(value) = event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert("x-razorpay-event-id", value);
    }
    headers
}

fn captured_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": "pay_fuzz1", "order_id": "order_fuzz1", "amount": 43210, "status": "captured",
        }}},
    }))
    .unwrap()
}

#[test]
fn a_signed_captured_payment_parses_to_what_it_says() {
    let body = captured_body();
    let signature = razorpay_signature(WEBHOOK_SECRET, &body);
    let event = gateway()
        .parse_webhook(
            &headers(Some(signature.as_bytes()), Some("evt_1")),
            &body,
            0,
        )
        .unwrap();
    assert_eq!(event.event_id, "evt_1");
    assert_eq!(event.gateway_payment_id, "order_fuzz1");
    assert_eq!(event.charge_id.as_deref(), Some("pay_fuzz1"));
    assert_eq!(event.amount_paise, Some(43210));
    assert_eq!(event.kind, WebhookKind::PaymentSucceeded);
}

#[test]
fn random_unauthentic_webhooks_are_refused_before_their_body_is_read() {
    let gateway = gateway();
    let mut rng = rng(23);
    let real = captured_body();
    let real_signature = razorpay_signature(WEBHOOK_SECRET, &real);
    for case in 0..CASES {
        let body = match case % 2 {
            0 => random_bytes(&mut rng, 200),
            _ => mutate(&mut rng, &real),
        };
        let signature = match case % 3 {
            0 => None,
            1 => Some(random_text(&mut rng, "0123456789abcdefABCDEFxyz =", 70).into_bytes()),
            _ => Some(mutate(&mut rng, real_signature.as_bytes())),
        };
        let headers = headers(signature.as_deref(), Some("evt_fuzz"));
        let forged_by_chance = signature.as_deref().is_some_and(|s| {
            std::str::from_utf8(s)
                .is_ok_and(|s| s.trim() == razorpay_signature(WEBHOOK_SECRET, &body))
        });
        match gateway.parse_webhook(&headers, &body, 0) {
            Err(WebhookRejection::BadPayload) | Ok(_) => {
                assert!(
                    forged_by_chance,
                    "case {case}: an unauthentic webhook got past the signature"
                )
            }
            Err(rejection) => assert!(
                matches!(
                    rejection.status(),
                    StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED
                ),
                "case {case}: {rejection:?}"
            ),
        }
    }
}

#[test]
fn random_authentic_bodies_parse_or_are_refused_as_unreadable() {
    let gateway = gateway();
    let mut rng = rng(24);
    let real = captured_body();
    for case in 0..CASES {
        let body = match case % 2 {
            0 => random_bytes(&mut rng, 200),
            _ => mutate(&mut rng, &real),
        };
        let event_id = match rng.gen_range(0..4) {
            0 => String::new(),
            1 => "e".repeat(201),
            _ => random_text(&mut rng, "evt_0123456789", 30),
        };
        let signature = razorpay_signature(WEBHOOK_SECRET, &body);
        let headers = headers(Some(signature.as_bytes()), Some(&event_id));
        match gateway.parse_webhook(&headers, &body, 0) {
            Ok(event) => {
                assert!(
                    !event.event_id.is_empty() && event.event_id.len() <= 200,
                    "case {case}"
                );
                assert!(
                    event.kind == WebhookKind::Other
                        || !event.gateway_payment_id.is_empty()
                        || body != real,
                    "case {case}"
                );
            }
            Err(rejection) => assert_eq!(rejection, WebhookRejection::BadPayload, "case {case}"),
        }
    }
}
