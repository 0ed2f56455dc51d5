//! Payment gateways behind one trait: create a payment the customer
//! completes at the gateway, authenticate and read the gateway's webhooks,
//! refund. Two implementations ship: [`SandboxGateway`], which behaves like a
//! real gateway (hosted checkout page, asynchronous signed webhooks with
//! random delays, duplicates and out-of-order delivery) in dev mode and
//! tests only (its checkout page confirms a payment at the press of a
//! button, so production refuses to start with it), and [`CashGateway`]
//! for cash on delivery (nothing online). A real gateway adapter implements
//! the same trait.
//!
//! Webhook signatures follow the common scheme: header
//! `Janta-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`;
//! several `v1` values are accepted (secret rotation), timestamps more than
//! five minutes away from now are refused (replay window).

use crate::domain::{PaymentMethod, PaymentStatus};
use crate::store::{self, PaymentRow};
use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hmac::{Hmac, Mac};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "Janta-Signature";
/// How far a webhook's timestamp may be from now, in seconds.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
/// Largest webhook body accepted.
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// What payOrder asks a gateway to create.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    /// Our payment ID (the gateway keeps it as its reference).
    pub payment_id: &'a str,
    /// The order being paid.
    pub order_id: &'a str,
    /// Amount in paise, from the order.
    pub amount_paise: i64,
    /// How the customer pays.
    pub method: PaymentMethod,
}

/// What the gateway created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    /// The gateway's ID of the payment (webhooks name it).
    pub gateway_payment_id: String,
    /// Where the customer completes it; `None` when there is nothing to complete online.
    pub checkout_url: Option<String>,
}

/// A refund to ask the gateway for.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// The gateway's ID of the captured money (`PaymentRow::charge_id`).
    pub gateway_payment_id: &'a str,
    /// Our refund ID (idempotency key at the gateway).
    pub refund_id: &'a str,
    /// Amount in paise.
    pub amount_paise: i64,
    /// Why.
    pub reason: &'a str,
}

/// What the gateway did with a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Money returned; the gateway's refund ID.
    Succeeded {
        /// The gateway's refund ID.
        gateway_refund_id: String,
    },
    /// Accepted; a `refund.succeeded` or `refund.failed` webhook follows.
    Pending {
        /// The gateway's refund ID.
        gateway_refund_id: String,
    },
    /// Refused, with a reason safe to show.
    Declined {
        /// Why.
        reason: String,
    },
}

/// What an authenticated webhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    /// The customer submitted checkout; the gateway is processing.
    PaymentProcessing,
    /// The payment was captured.
    PaymentSucceeded,
    /// The customer's bank authorized the payment; it still has to be
    /// captured (gateways whose automatic capture is off).
    PaymentAuthorized,
    /// The payment was declined or abandoned.
    PaymentFailed {
        /// Why, safe to show.
        reason: String,
    },
    /// A pending refund completed.
    RefundSucceeded {
        /// Our refund ID.
        refund_id: String,
    },
    /// A pending refund was refused.
    RefundFailed {
        /// Our refund ID.
        refund_id: String,
        /// Why.
        reason: String,
    },
    /// An event type we do not act on (recorded only).
    Other,
}

/// One authenticated, parsed webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The gateway's unique event ID (replays repeat it).
    pub event_id: String,
    /// The gateway's event type name.
    pub event_type: String,
    /// The gateway's payment ID the event is about (our reference there,
    /// or the charge that captured it).
    pub gateway_payment_id: String,
    /// The gateway's ID of the charge that captured the payment, when it
    /// reports one that differs from the reference (Razorpay's `pay_…`).
    pub charge_id: Option<String>,
    /// Amount the gateway reports, in paise, when it reports one.
    pub amount_paise: Option<i64>,
    /// What it means for us.
    pub kind: WebhookKind,
}

/// Why a webhook was refused before anything in it was acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRejection {
    /// No signature header.
    MissingSignature,
    /// The signature header is not `t=…,v1=…`.
    MalformedSignature,
    /// No `v1` matches the body and timestamp.
    BadSignature,
    /// The timestamp is outside the tolerance window.
    StaleTimestamp,
    /// Authentic, but not an event we can read.
    BadPayload,
    /// This gateway sends no webhooks.
    Unsupported,
}

impl WebhookRejection {
    /// The HTTP answer: 400 for requests that are malformed, 401 for ones
    /// that are not authentic (or no longer fresh), 404 for no such endpoint.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::MissingSignature
            | WebhookRejection::MalformedSignature
            | WebhookRejection::BadPayload => StatusCode::BAD_REQUEST,
            WebhookRejection::BadSignature | WebhookRejection::StaleTimestamp => {
                StatusCode::UNAUTHORIZED
            }
            WebhookRejection::Unsupported => StatusCode::NOT_FOUND,
        }
    }

    /// A short explanation for the gateway's delivery log (no secrets).
    pub fn message(&self) -> &'static str {
        match self {
            WebhookRejection::MissingSignature => "missing Janta-Signature header",
            WebhookRejection::MalformedSignature => "malformed Janta-Signature header",
            WebhookRejection::BadSignature => "signature does not match",
            WebhookRejection::StaleTimestamp => "timestamp outside the tolerance window",
            WebhookRejection::BadPayload => "unreadable event",
            WebhookRejection::Unsupported => "this gateway sends no webhooks",
        }
    }
}

/// What a gateway says about a payment when asked (reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayStatus {
    /// Money was captured, by this charge, of this amount.
    Captured {
        /// The gateway's ID of the charge.
        charge_id: String,
        /// The amount captured, in paise.
        amount_paise: i64,
    },
    /// The customer's bank authorized this charge but nothing is captured
    /// yet: we must capture it (see [`Gateway::capture`]), or the bank
    /// returns the money after a few days while the order is cancelled.
    Authorized {
        /// The gateway's ID of the charge.
        charge_id: String,
        /// The amount authorized, in paise.
        amount_paise: i64,
    },
    /// Every attempt failed (the last one for this reason).
    Failed {
        /// Why, safe to show.
        reason: String,
    },
    /// Nothing final yet: the customer has not paid (or not finished).
    Open,
}

/// A payment gateway.
#[async_trait]
pub trait Gateway: Send + Sync + 'static {
    /// Short stable name, stored with each payment and used in the webhook
    /// path `/webhooks/<name>`.
    fn name(&self) -> &'static str;

    /// Creates a payment the customer completes at the gateway.
    async fn create_payment(&self, payment: &NewPayment<'_>) -> anyhow::Result<CreatedPayment>;

    /// Authenticates a webhook (signature first, before reading anything)
    /// and parses it. `now_unix` is the current time in seconds.
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<WebhookEvent, WebhookRejection>;

    /// Refunds part or all of a captured payment.
    async fn refund(&self, refund: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome>;

    /// Asks the gateway what became of payment `gateway_payment_id` (for
    /// payments whose webhook never came).
    async fn status(&self, gateway_payment_id: &str) -> anyhow::Result<GatewayStatus>;

    /// Captures an authorized charge for exactly `amount_paise` and says
    /// what became of it. Gateways that always capture at once (the
    /// sandbox, cash) never report [`GatewayStatus::Authorized`], so they
    /// keep this default.
    async fn capture(&self, charge_id: &str, amount_paise: i64) -> anyhow::Result<GatewayStatus> {
        anyhow::bail!(
            "{} captures payments itself; cannot capture {charge_id} ({amount_paise} paise)",
            self.name()
        )
    }
}

/// The gateways of this deployment: one for online methods, if any, and
/// one for cash.
#[derive(Clone)]
pub struct Gateways {
    /// Handles UPI, card and netbanking; `None` when no online gateway is
    /// configured (`payment_gateway = "none"`): online methods are refused.
    pub online: Option<Arc<dyn Gateway>>,
    /// Handles cash on delivery.
    pub cash: Arc<dyn Gateway>,
}

impl Gateways {
    /// `online` (if any) for online methods, and cash on delivery.
    pub fn with_online(online: Option<Arc<dyn Gateway>>) -> Self {
        Gateways {
            online,
            cash: Arc::new(CashGateway),
        }
    }

    /// The gateway that handles `method`; `BAD_USER_INPUT` for an online
    /// method when no online gateway is configured.
    pub fn for_method(&self, method: PaymentMethod) -> ApiResult<&Arc<dyn Gateway>> {
        if !method.is_online() {
            return Ok(&self.cash);
        }
        self.online.as_ref().ok_or_else(|| {
            ApiError::bad_input("online payments are not available yet: pay by cash on delivery")
        })
    }

    /// The gateway called `name` (as stored with a payment or in a webhook path).
    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn Gateway>> {
        self.online
            .iter()
            .chain([&self.cash])
            .find(|g| g.name() == name)
    }
}

// ------------------------------------------------------------ signatures

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Janta-Signature` header value for `body` sent at `timestamp`.
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a `Janta-Signature` header against `body`: well-formed, fresh
/// (within [`SIGNATURE_TOLERANCE_SECS`] of `now_unix`, either direction) and
/// matching (constant-time comparison).
pub fn verify_signature(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), WebhookRejection> {
    let header = header.ok_or(WebhookRejection::MissingSignature)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(WebhookRejection::MalformedSignature)?;
        match key {
            "t" => {
                let t: i64 = value
                    .parse()
                    .map_err(|_| WebhookRejection::MalformedSignature)?;
                timestamp = Some(t);
            }
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| WebhookRejection::MalformedSignature)?;
                signatures.push(bytes);
            }
            _ => {} // other schemes: ignored, like real gateways do
        }
    }
    let timestamp = timestamp.ok_or(WebhookRejection::MalformedSignature)?;
    if signatures.is_empty() {
        return Err(WebhookRejection::MalformedSignature);
    }
    if (now_unix - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(WebhookRejection::StaleTimestamp);
    }
    let matches = signatures
        .iter()
        .any(|sig| mac(secret, timestamp, body).verify_slice(sig).is_ok());
    if matches {
        Ok(())
    } else {
        Err(WebhookRejection::BadSignature)
    }
}

mod cash;
mod razorpay;
mod sandbox;

pub use cash::{CashGateway, CASH};
pub use razorpay::{RazorpayGateway, RAZORPAY};
pub use sandbox::{start_sandbox, Chaos, SandboxEvent, SandboxEventData, SandboxGateway, SANDBOX};

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret";

    #[test]
    fn a_fresh_correct_signature_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = signature_header(SECRET, 1_000_000, body);
        assert!(header.starts_with("t=1000000,v1="));
        assert_eq!(
            verify_signature(SECRET, Some(&header), body, 1_000_000),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                SECRET,
                Some(&header),
                body,
                1_000_000 + SIGNATURE_TOLERANCE_SECS
            ),
            Ok(())
        );
    }

    #[test]
    fn tampering_wrong_keys_and_old_timestamps_are_refused() {
        let body = br#"{"id":"evt_1","amount":100}"#;
        let now = 1_000_000;
        let header = signature_header(SECRET, now, body);
        let tampered = br#"{"id":"evt_1","amount":999}"#;
        assert_eq!(
            verify_signature(SECRET, Some(&header), tampered, now),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            verify_signature(b"other", Some(&header), body, now),
            Err(WebhookRejection::BadSignature)
        );
        // Re-using a signature under a new timestamp does not verify.
        let moved = header.replace("t=1000000", "t=1000001");
        assert_eq!(
            verify_signature(SECRET, Some(&moved), body, now),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            verify_signature(
                SECRET,
                Some(&header),
                body,
                now + SIGNATURE_TOLERANCE_SECS + 1
            ),
            Err(WebhookRejection::StaleTimestamp)
        );
        assert_eq!(
            verify_signature(
                SECRET,
                Some(&header),
                body,
                now - SIGNATURE_TOLERANCE_SECS - 1
            ),
            Err(WebhookRejection::StaleTimestamp)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        let body = b"{}";
        assert_eq!(
            verify_signature(SECRET, None, body, 0),
            Err(WebhookRejection::MissingSignature)
        );
        for bad in ["", "v1=abcd", "t=12", "t=abc,v1=00", "t=1,v1=zz", "garbage"] {
            assert_eq!(
                verify_signature(SECRET, Some(bad), body, 1),
                Err(WebhookRejection::MalformedSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn any_of_several_signatures_may_match_during_rotation() {
        let body = b"{}";
        let good = signature_header(SECRET, 5, body);
        let good_v1 = good.split_once("v1=").unwrap().1;
        let header = format!("t=5,v1={},v1={good_v1}", "00".repeat(32));
        assert_eq!(verify_signature(SECRET, Some(&header), body, 5), Ok(()));
    }
}
