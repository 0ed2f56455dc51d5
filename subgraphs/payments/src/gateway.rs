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

use crate::domain::PaymentMethod;
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
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
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
    /// The gateway's ID of the captured payment.
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
    /// The gateway's payment ID the event is about.
    pub gateway_payment_id: String,
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

// ------------------------------------------------------------ sandbox

/// The sandbox gateway's webhook body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SandboxEvent {
    /// Unique event ID, `evt_…`.
    pub id: String,
    /// `payment.processing`, `payment.succeeded`, `payment.failed`,
    /// `refund.succeeded` or `refund.failed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the gateway created the event (unix seconds).
    pub created: i64,
    /// What it is about.
    pub data: SandboxEventData,
}

/// The object a sandbox event is about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SandboxEventData {
    /// The gateway's payment ID (`sbx_pay_…`).
    pub payment_id: String,
    /// Our payment ID, kept by the gateway as the merchant reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// Amount in paise.
    #[serde(default)]
    pub amount: Option<i64>,
    /// ISO currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Why a payment or refund failed.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Our refund ID, for refund events.
    #[serde(default)]
    pub refund_id: Option<String>,
}

impl SandboxEvent {
    /// A new event of `event_type` about `data`, stamped now.
    pub fn new(event_type: &str, data: SandboxEventData) -> Self {
        SandboxEvent {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            event_type: event_type.to_string(),
            created: chrono::Utc::now().timestamp(),
            data,
        }
    }
}

/// How unreliable the sandbox's webhook delivery is, like a real gateway's.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    /// Each delivery waits a random time up to this long.
    pub max_delay: Duration,
    /// Probability that the final event is delivered twice.
    pub duplicate: f64,
    /// Probability that the final event arrives before the `processing` one.
    pub out_of_order: f64,
}

impl Default for Chaos {
    /// Short random delays; one in five deliveries duplicated, one in five out of order.
    fn default() -> Self {
        Chaos {
            max_delay: Duration::from_millis(400),
            duplicate: 0.2,
            out_of_order: 0.2,
        }
    }
}

/// The built-in gateway: hosted checkout at `{public_url}/sandbox/checkout/{id}`
/// (GET shows a page, POST `outcome=success|failure` completes it), then
/// asynchronous signed webhooks to `{public_url}/webhooks/sandbox`. Refunds
/// succeed immediately. It keeps no state of its own beyond "which checkouts
/// were submitted": it reads the payment it serves from the payments store.
pub struct SandboxGateway {
    secret: Vec<u8>,
    public_url: String,
    http: reqwest::Client,
    chaos: Chaos,
    submitted: Mutex<HashSet<String>>,
}

/// Name of the sandbox gateway (webhook path `/webhooks/sandbox`).
pub const SANDBOX: &str = "sandbox";
/// Name of the cash-on-delivery "gateway".
pub const CASH: &str = "cash";

impl SandboxGateway {
    /// A sandbox signing with `secret` and reachable at `public_url`.
    pub fn new(secret: &str, public_url: &str, chaos: Chaos) -> Self {
        SandboxGateway {
            secret: secret.as_bytes().to_vec(),
            public_url: public_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("static HTTP client configuration"),
            chaos,
            submitted: Mutex::new(HashSet::new()),
        }
    }

    fn checkout_url(&self, gateway_payment_id: &str) -> String {
        format!("{}/sandbox/checkout/{gateway_payment_id}", self.public_url)
    }

    fn webhook_url(&self) -> String {
        format!("{}/webhooks/{SANDBOX}", self.public_url)
    }

    /// Marks a checkout as submitted; false if it already was.
    fn submit_once(&self, gateway_payment_id: &str) -> bool {
        self.submitted
            .lock()
            .map(|mut set| set.insert(gateway_payment_id.to_string()))
            .unwrap_or(false)
    }

    /// Sends the events of a completed checkout in the background: a
    /// `processing` event and the outcome, each after a random delay,
    /// sometimes the outcome twice, sometimes the outcome first.
    fn send_outcome(self: &Arc<Self>, payment: &PaymentRow, success: bool) {
        let data = SandboxEventData {
            payment_id: payment.gateway_payment_id.clone(),
            reference: Some(payment.id.clone()),
            amount: Some(payment.amount),
            currency: Some(payment.currency.clone()),
            failure_reason: (!success)
                .then(|| "declined by the issuing bank (sandbox)".to_string()),
            refund_id: None,
        };
        let processing = SandboxEvent::new("payment.processing", data.clone());
        let outcome = SandboxEvent::new(
            if success {
                "payment.succeeded"
            } else {
                "payment.failed"
            },
            data,
        );
        let mut plan = {
            let mut rng = rand::thread_rng();
            let mut plan = if rng.gen_bool(self.chaos.out_of_order.clamp(0.0, 1.0)) {
                vec![outcome.clone(), processing]
            } else {
                vec![processing, outcome.clone()]
            };
            if rng.gen_bool(self.chaos.duplicate.clamp(0.0, 1.0)) {
                plan.push(outcome);
            }
            plan
        };
        let gateway = Arc::clone(self);
        janta_platform::tasks::background().spawn(async move {
            for event in plan.drain(..) {
                let max = gateway.chaos.max_delay.as_millis() as u64;
                let delay = if max == 0 {
                    0
                } else {
                    rand::thread_rng().gen_range(0..=max)
                };
                tokio::time::sleep(Duration::from_millis(delay)).await;
                gateway.deliver(&event).await;
            }
        });
    }

    /// Posts one event, retrying a few times with backoff like a real gateway.
    async fn deliver(&self, event: &SandboxEvent) {
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "sandbox could not encode a webhook");
                return;
            }
        };
        for attempt in 1..=5u32 {
            let timestamp = chrono::Utc::now().timestamp();
            let result = self
                .http
                .post(self.webhook_url())
                .header("content-type", "application/json")
                .header(
                    SIGNATURE_HEADER,
                    signature_header(&self.secret, timestamp, &body),
                )
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => tracing::warn!(
                    event_id = %event.id, status = %response.status(), attempt,
                    "sandbox webhook refused"
                ),
                Err(err) => tracing::warn!(
                    event_id = %event.id, error = %err, attempt,
                    "sandbox webhook undeliverable"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
        tracing::error!(event_id = %event.id, "sandbox gave up delivering a webhook");
    }
}

#[async_trait]
impl Gateway for SandboxGateway {
    fn name(&self) -> &'static str {
        SANDBOX
    }

    async fn create_payment(&self, payment: &NewPayment<'_>) -> anyhow::Result<CreatedPayment> {
        anyhow::ensure!(
            payment.method.is_online(),
            "the sandbox takes online payments only"
        );
        let gateway_payment_id = format!("sbx_pay_{}", uuid::Uuid::new_v4().simple());
        Ok(CreatedPayment {
            checkout_url: Some(self.checkout_url(&gateway_payment_id)),
            gateway_payment_id,
        })
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<WebhookEvent, WebhookRejection> {
        let header = match headers.get(SIGNATURE_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| WebhookRejection::MalformedSignature)?,
            ),
        };
        verify_signature(&self.secret, header, body, now_unix)?;
        let event: SandboxEvent =
            serde_json::from_slice(body).map_err(|_| WebhookRejection::BadPayload)?;
        if event.id.is_empty() || event.id.len() > 200 || event.data.payment_id.is_empty() {
            return Err(WebhookRejection::BadPayload);
        }
        let reason = || {
            event
                .data
                .failure_reason
                .clone()
                .unwrap_or_else(|| "declined".to_string())
        };
        let refund_id = || {
            event
                .data
                .refund_id
                .clone()
                .ok_or(WebhookRejection::BadPayload)
        };
        let kind = match event.event_type.as_str() {
            "payment.processing" => WebhookKind::PaymentProcessing,
            "payment.succeeded" => WebhookKind::PaymentSucceeded,
            "payment.failed" => WebhookKind::PaymentFailed { reason: reason() },
            "refund.succeeded" => WebhookKind::RefundSucceeded {
                refund_id: refund_id()?,
            },
            "refund.failed" => WebhookKind::RefundFailed {
                refund_id: refund_id()?,
                reason: reason(),
            },
            _ => WebhookKind::Other,
        };
        Ok(WebhookEvent {
            event_id: event.id,
            event_type: event.event_type,
            gateway_payment_id: event.data.payment_id,
            amount_paise: event.data.amount,
            kind,
        })
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        anyhow::ensure!(refund.amount_paise > 0, "refund amount must be positive");
        Ok(RefundOutcome::Succeeded {
            gateway_refund_id: format!("sbx_rfnd_{}", uuid::Uuid::new_v4().simple()),
        })
    }
}

/// The sandbox's hosted checkout: `GET /sandbox/checkout/{id}` shows a page
/// with two buttons, `POST` with form field `outcome=success|failure`
/// completes the payment (webhooks follow asynchronously).
pub fn sandbox_routes(sandbox: Arc<SandboxGateway>, store: Store) -> Router {
    Router::new()
        .route(
            "/sandbox/checkout/{id}",
            get(checkout_page).post(checkout_submit),
        )
        .with_state((sandbox, store))
}

type SandboxState = State<(Arc<SandboxGateway>, Store)>;

async fn open_checkout(store: &Store, id: &str) -> Result<PaymentRow, Response> {
    let payment = store::payment_by_gateway_ref(store.pool(), SANDBOX, id)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "sandbox checkout lookup failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        })?;
    match payment {
        None => Err((StatusCode::NOT_FOUND, "no such checkout").into_response()),
        Some(p) if p.status_is("CREATED") => Ok(p),
        Some(_) => Err((
            StatusCode::CONFLICT,
            "this checkout was already completed or cancelled",
        )
            .into_response()),
    }
}

async fn checkout_page(State((_, store)): SandboxState, Path(id): Path<String>) -> Response {
    let payment = match open_checkout(&store, &id).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let amount = janta_platform::money::format_paise(payment.amount);
    let id = html_escape(&id);
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Janta sandbox checkout</title></head>\
         <body><h1>Sandbox checkout</h1><p>Pay ₹{amount} ({method}) for order {order}.</p>\
         <form method=\"post\" action=\"/sandbox/checkout/{id}\">\
         <button name=\"outcome\" value=\"success\">Pay (succeeds)</button> \
         <button name=\"outcome\" value=\"failure\">Pay (fails)</button></form></body></html>",
        method = html_escape(&payment.method),
        order = html_escape(&payment.order_id),
    ))
    .into_response()
}

async fn checkout_submit(
    State((sandbox, store)): SandboxState,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let Some(success) = form_outcome(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "form field outcome must be success or failure",
        )
            .into_response();
    };
    let payment = match open_checkout(&store, &id).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    if !sandbox.submit_once(&id) {
        return (StatusCode::CONFLICT, "this checkout was already submitted").into_response();
    }
    sandbox.send_outcome(&payment, success);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "status": "processing",
            "outcome": if success { "success" } else { "failure" },
            "message": "the gateway will notify the merchant shortly",
        })),
    )
        .into_response()
}

/// Reads `outcome=success|failure` from an `application/x-www-form-urlencoded` body.
fn form_outcome(body: &str) -> Option<bool> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "outcome")
        .and_then(|(_, value)| match value.trim() {
            "success" => Some(true),
            "failure" => Some(false),
            _ => None,
        })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ------------------------------------------------------------ cash

/// Cash on delivery as a "gateway": nothing to complete online, no
/// webhooks; the vendor collects the cash on delivery and pays refunds out
/// themselves, so refunds are recorded as done at once.
pub struct CashGateway;

impl CashGateway {
    /// The "gateway reference" of cash payment `payment_id`.
    pub fn reference(payment_id: &str) -> String {
        format!("cod_{payment_id}")
    }
}

#[async_trait]
impl Gateway for CashGateway {
    fn name(&self) -> &'static str {
        CASH
    }

    async fn create_payment(&self, payment: &NewPayment<'_>) -> anyhow::Result<CreatedPayment> {
        Ok(CreatedPayment {
            gateway_payment_id: CashGateway::reference(payment.payment_id),
            checkout_url: None,
        })
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now_unix: i64,
    ) -> Result<WebhookEvent, WebhookRejection> {
        Err(WebhookRejection::Unsupported)
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        Ok(RefundOutcome::Succeeded {
            gateway_refund_id: format!("cash_{}", refund.refund_id),
        })
    }
}

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

    #[test]
    fn checkout_forms_are_read() {
        assert_eq!(form_outcome("outcome=success"), Some(true));
        assert_eq!(form_outcome("x=1&outcome=failure"), Some(false));
        assert_eq!(form_outcome("outcome=maybe"), None);
        assert_eq!(form_outcome(""), None);
    }

    #[test]
    fn sandbox_webhooks_parse_after_the_signature_check() {
        let sandbox = SandboxGateway::new("s3cret", "http://127.0.0.1:1", Chaos::default());
        let event = SandboxEvent::new(
            "payment.failed",
            SandboxEventData {
                payment_id: "sbx_pay_1".into(),
                reference: None,
                amount: Some(500),
                currency: Some("INR".into()),
                failure_reason: Some("insufficient funds".into()),
                refund_id: None,
            },
        );
        let body = serde_json::to_vec(&event).unwrap();
        let now = event.created;
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            signature_header(b"s3cret", now, &body).parse().unwrap(),
        );
        let parsed = sandbox.parse_webhook(&headers, &body, now).unwrap();
        assert_eq!(parsed.event_id, event.id);
        assert_eq!(
            parsed.kind,
            WebhookKind::PaymentFailed {
                reason: "insufficient funds".into()
            }
        );
        // Garbage that is correctly signed is a bad payload, not a crash.
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            signature_header(b"s3cret", now, b"not json")
                .parse()
                .unwrap(),
        );
        assert_eq!(
            sandbox.parse_webhook(&headers, b"not json", now),
            Err(WebhookRejection::BadPayload)
        );
        // Unsigned garbage is refused for its signature before being read.
        assert_eq!(
            sandbox.parse_webhook(&HeaderMap::new(), b"not json", now),
            Err(WebhookRejection::MissingSignature)
        );
    }
}
