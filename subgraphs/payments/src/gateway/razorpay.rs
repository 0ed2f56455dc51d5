//! Razorpay behind the [`Gateway`] trait, following its documented API
//! (`https://razorpay.com/docs/api`):
//!
//! - a payment is a Razorpay **Order** (`POST /v1/orders`, amount in paise,
//!   `receipt` = our payment ID); its ID is our `gateway_payment_id`, and the
//!   ID of the Razorpay payment that captured it (`pay_…`) is the charge a
//!   refund names;
//! - the customer pays on Razorpay's **hosted checkout**: our page
//!   `/checkout/razorpay/{payment_id}` posts the order to
//!   `{base}/v1/checkout/embedded`; Razorpay returns the browser to
//!   `/checkout/razorpay/callback` with `razorpay_signature` =
//!   hex `HMAC-SHA256(order_id + "|" + payment_id, key_secret)`;
//! - **webhooks** carry `X-Razorpay-Signature` = hex `HMAC-SHA256(raw body,
//!   webhook secret)` and `X-Razorpay-Event-Id`; we act on
//!   `payment.captured`, `order.paid`, `payment.failed`, `refund.processed`
//!   and `refund.failed`;
//! - **refunds** are `POST /v1/payments/{pay_id}/refund` (partial allowed)
//!   with `receipt` = our refund ID; before asking again after a failure we
//!   look for a refund with that receipt, so a refund whose answer was lost
//!   is never made twice;
//! - **reconciliation** reads `GET /v1/orders/{id}/payments`;
//! - a payment only **authorized** (an account whose automatic capture is
//!   off; webhook `payment.authorized`) is captured by us with
//!   `POST /v1/payments/{pay_id}/capture` for exactly the order's amount —
//!   at the customer's return, on that webhook, or by the sweeper — since
//!   an uncaptured authorization is returned to the customer by the bank.
//!
//! API calls authenticate with HTTP basic auth (key ID : key secret) and time
//! out after [`CALL_TIMEOUT`]; 5xx answers and time-outs are errors the caller
//! retries, 4xx answers carry Razorpay's description.

use super::{
    CreatedPayment, Gateway, GatewayStatus, NewPayment, RefundOutcome, RefundRequest, WebhookEvent,
    WebhookKind, WebhookRejection,
};
use async_trait::async_trait;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use janta_platform::config::{RazorpaySettings, Secret};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

/// The gateway's name: stored with payments, and the webhook path
/// `/webhooks/razorpay`.
pub const RAZORPAY: &str = "razorpay";
/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "X-Razorpay-Signature";
/// The header carrying a webhook's unique event ID.
pub const EVENT_ID_HEADER: &str = "X-Razorpay-Event-Id";
/// How long one API call may take before we give up on it (and retry later).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

type HmacSha256 = Hmac<Sha256>;

/// Razorpay, with this deployment's keys.
pub struct RazorpayGateway {
    keys: RazorpaySettings,
    webhook_secret: Secret,
    public_url: String,
    http: reqwest::Client,
}

/// A Razorpay payment entity (the fields we read).
#[derive(Debug, Clone, Deserialize)]
struct PaymentEntity {
    id: String,
    #[serde(default)]
    order_id: Option<String>,
    amount: i64,
    status: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// A Razorpay refund entity (the fields we read).
#[derive(Debug, Clone, Deserialize)]
struct RefundEntity {
    id: String,
    payment_id: String,
    amount: i64,
    status: String,
    #[serde(default)]
    receipt: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Collection<T> {
    items: Vec<T>,
}

/// Why an API call did not give us an answer to act on.
#[derive(Debug, thiserror::Error)]
enum CallError {
    /// Razorpay refused the request (4xx) with this description.
    #[error("Razorpay refused: {0}")]
    Refused(String),
    /// No usable answer (5xx, time-out, unreachable, unreadable): retry later.
    #[error("Razorpay unavailable: {0}")]
    Unavailable(String),
}

impl RazorpayGateway {
    /// Razorpay with `keys`, verifying webhooks with `webhook_secret`;
    /// checkout pages and callbacks live under `public_url` (this subgraph).
    pub fn new(keys: &RazorpaySettings, webhook_secret: &Secret, public_url: &str) -> Self {
        RazorpayGateway {
            keys: keys.clone(),
            webhook_secret: webhook_secret.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Whether `signature` is Razorpay's checkout signature of
    /// `order_id|payment_id` (constant-time comparison).
    pub fn checkout_signature_is_valid(
        &self,
        order_id: &str,
        payment_id: &str,
        signature: &str,
    ) -> bool {
        let Ok(given) = hex::decode(signature) else {
            return false;
        };
        let mut mac = mac(self.keys.key_secret.expose());
        mac.update(format!("{order_id}|{payment_id}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// The page that hands the customer to Razorpay's hosted checkout for
    /// Razorpay order `order_id` of `amount_paise` (our payment `payment_id`).
    pub fn checkout_page(&self, payment_id: &str, order_id: &str, amount_paise: i64) -> String {
        let field = |name: &str, value: &str| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        };
        let fields = [
            field("key_id", &self.keys.key_id),
            field("order_id", order_id),
            field("amount", &amount_paise.to_string()),
            field("currency", "INR"),
            field("name", "Janta"),
            field("description", &format!("Janta payment {payment_id}")),
            field(
                "callback_url",
                &format!("{}/checkout/razorpay/callback", self.public_url),
            ),
            field(
                "cancel_url",
                &format!("{}/checkout/razorpay/cancelled", self.public_url),
            ),
        ]
        .concat();
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Pay with Razorpay</title></head>\
             <body onload=\"document.forms[0].submit()\">\
             <form method=\"post\" action=\"{}/v1/checkout/embedded\">{fields}\
             <noscript><button>Continue to Razorpay</button></noscript></form></body></html>",
            escape(&self.keys.base_url)
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.keys.base_url)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CallError> {
        let response = request
            .basic_auth(&self.keys.key_id, Some(self.keys.key_secret.expose()))
            .send()
            .await
            .map_err(|err| CallError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|err| {
            CallError::Unavailable(format!("unreadable answer ({status}): {err}"))
        })?;
        if status.is_client_error() {
            let description = body["error"]["description"]
                .as_str()
                .unwrap_or("the request was refused")
                .to_string();
            return Err(CallError::Refused(description));
        }
        if !status.is_success() {
            return Err(CallError::Unavailable(format!("HTTP {status}")));
        }
        serde_json::from_value(body)
            .map_err(|err| CallError::Unavailable(format!("unexpected answer: {err}")))
    }

    /// The refund with our `receipt` on Razorpay payment `charge_id`, if one was made.
    async fn refund_with_receipt(
        &self,
        charge_id: &str,
        receipt: &str,
    ) -> Result<Option<RefundEntity>, CallError> {
        let path = format!("/v1/payments/{charge_id}/refunds");
        let refunds: Collection<RefundEntity> = self.call(self.http.get(self.url(&path))).await?;
        Ok(refunds
            .items
            .into_iter()
            .find(|r| r.receipt.as_deref() == Some(receipt)))
    }
}

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length")
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn refund_outcome(refund: RefundEntity) -> RefundOutcome {
    match refund.status.as_str() {
        "processed" => RefundOutcome::Succeeded {
            gateway_refund_id: refund.id,
        },
        "failed" => RefundOutcome::Declined {
            reason: "the bank refused the refund".to_string(),
        },
        _ => RefundOutcome::Pending {
            gateway_refund_id: refund.id,
        },
    }
}

/// The entity `name` of a webhook payload (`payload.<name>.entity`).
fn entity<T: DeserializeOwned>(body: &Value, name: &str) -> Result<T, WebhookRejection> {
    serde_json::from_value(body["payload"][name]["entity"].clone())
        .map_err(|_| WebhookRejection::BadPayload)
}

#[async_trait]
impl Gateway for RazorpayGateway {
    fn name(&self) -> &'static str {
        RAZORPAY
    }

    async fn create_payment(&self, payment: &NewPayment<'_>) -> anyhow::Result<CreatedPayment> {
        anyhow::ensure!(
            payment.method.is_online(),
            "Razorpay takes online payments only"
        );
        let body = json!({
            "amount": payment.amount_paise,
            "currency": "INR",
            "receipt": payment.payment_id,
            "notes": { "payment_id": payment.payment_id, "order_id": payment.order_id },
        });
        #[derive(Deserialize)]
        struct Order {
            id: String,
        }
        let order: Order = self
            .call(self.http.post(self.url("/v1/orders")).json(&body))
            .await?;
        Ok(CreatedPayment {
            checkout_url: Some(format!(
                "{}/checkout/razorpay/{}",
                self.public_url, payment.payment_id
            )),
            gateway_payment_id: order.id,
        })
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now_unix: i64,
    ) -> Result<WebhookEvent, WebhookRejection> {
        let signature = headers
            .get(SIGNATURE_HEADER)
            .ok_or(WebhookRejection::MissingSignature)?
            .to_str()
            .ok()
            .and_then(|value| hex::decode(value.trim()).ok())
            .ok_or(WebhookRejection::MalformedSignature)?;
        let mut mac = mac(self.webhook_secret.expose());
        mac.update(body);
        mac.verify_slice(&signature)
            .map_err(|_| WebhookRejection::BadSignature)?;
        let event_id = headers
            .get(EVENT_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .ok_or(WebhookRejection::BadPayload)?
            .to_string();
        let parsed: Value =
            serde_json::from_slice(body).map_err(|_| WebhookRejection::BadPayload)?;
        let event_type = parsed["event"]
            .as_str()
            .ok_or(WebhookRejection::BadPayload)?
            .to_string();
        let (gateway_payment_id, charge_id, amount, kind) = match event_type.as_str() {
            "payment.captured" | "order.paid" | "payment.failed" | "payment.authorized" => {
                let payment: PaymentEntity = entity(&parsed, "payment")?;
                let order_id = payment
                    .order_id
                    .clone()
                    .ok_or(WebhookRejection::BadPayload)?;
                let kind = match event_type.as_str() {
                    "payment.failed" => WebhookKind::PaymentFailed {
                        reason: payment
                            .error_description
                            .clone()
                            .unwrap_or_else(|| "declined".to_string()),
                    },
                    "payment.authorized" => WebhookKind::PaymentAuthorized,
                    _ => WebhookKind::PaymentSucceeded,
                };
                (order_id, Some(payment.id), Some(payment.amount), kind)
            }
            "refund.processed" | "refund.failed" => {
                let refund: RefundEntity = entity(&parsed, "refund")?;
                let refund_id = refund.receipt.clone().ok_or(WebhookRejection::BadPayload)?;
                let kind = if event_type == "refund.processed" {
                    WebhookKind::RefundSucceeded { refund_id }
                } else {
                    WebhookKind::RefundFailed {
                        refund_id,
                        reason: "the bank refused the refund".to_string(),
                    }
                };
                (refund.payment_id, None, Some(refund.amount), kind)
            }
            _ => (String::new(), None, None, WebhookKind::Other),
        };
        Ok(WebhookEvent {
            event_id,
            event_type,
            gateway_payment_id,
            charge_id,
            amount_paise: amount,
            kind,
        })
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        anyhow::ensure!(refund.amount_paise > 0, "refund amount must be positive");
        let charge_id = refund.gateway_payment_id;
        if let Some(made) = self
            .refund_with_receipt(charge_id, refund.refund_id)
            .await?
        {
            return Ok(refund_outcome(made));
        }
        let body = json!({
            "amount": refund.amount_paise,
            "receipt": refund.refund_id,
            "notes": { "refund_id": refund.refund_id, "reason": refund.reason },
        });
        let path = format!("/v1/payments/{charge_id}/refund");
        match self.call(self.http.post(self.url(&path)).json(&body)).await {
            Ok(made) => Ok(refund_outcome(made)),
            Err(CallError::Refused(reason)) => Ok(RefundOutcome::Declined { reason }),
            Err(err) => Err(err.into()),
        }
    }

    async fn status(&self, gateway_payment_id: &str) -> anyhow::Result<GatewayStatus> {
        let path = format!("/v1/orders/{gateway_payment_id}/payments");
        let payments: Collection<PaymentEntity> = self.call(self.http.get(self.url(&path))).await?;
        if let Some(captured) = payments
            .items
            .iter()
            .find(|p| p.status == "captured" || p.status == "refunded")
        {
            return Ok(GatewayStatus::Captured {
                charge_id: captured.id.clone(),
                amount_paise: captured.amount,
            });
        }
        if let Some(authorized) = payments.items.iter().find(|p| p.status == "authorized") {
            return Ok(GatewayStatus::Authorized {
                charge_id: authorized.id.clone(),
                amount_paise: authorized.amount,
            });
        }
        let last_failure = payments.items.iter().rev().find(|p| p.status == "failed");
        Ok(match last_failure {
            Some(failed) => GatewayStatus::Failed {
                reason: failed
                    .error_description
                    .clone()
                    .unwrap_or_else(|| "declined".to_string()),
            },
            None => GatewayStatus::Open,
        })
    }

    async fn capture(&self, charge_id: &str, amount_paise: i64) -> anyhow::Result<GatewayStatus> {
        let path = format!("/v1/payments/{charge_id}/capture");
        let body = json!({ "amount": amount_paise, "currency": "INR" });
        match self
            .call::<PaymentEntity>(self.http.post(self.url(&path)).json(&body))
            .await
        {
            Ok(payment) if payment.status == "captured" => Ok(GatewayStatus::Captured {
                charge_id: payment.id,
                amount_paise: payment.amount,
            }),
            Ok(payment) => anyhow::bail!("capture of {charge_id} left it {}", payment.status),
            // Captured meanwhile (a concurrent capture, a second sweep):
            // Razorpay refuses; read what is true now.
            Err(CallError::Refused(_)) => {
                let payment: PaymentEntity = self
                    .call(
                        self.http
                            .get(self.url(&format!("/v1/payments/{charge_id}"))),
                    )
                    .await?;
                anyhow::ensure!(
                    payment.status == "captured" || payment.status == "refunded",
                    "Razorpay refused to capture {charge_id}, which is {}",
                    payment.status
                );
                Ok(GatewayStatus::Captured {
                    charge_id: payment.id,
                    amount_paise: payment.amount,
                })
            }
            Err(err) => Err(err.into()),
        }
    }
}
