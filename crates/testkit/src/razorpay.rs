//! A local stand-in for Razorpay's servers, for tests and `bench/` runs on
//! machines without the internet. It speaks the documented API
//! (`https://api.razorpay.com`), so a real Razorpay test account replaces it
//! by changing the base URL:
//!
//! - `POST /v1/orders`, `GET /v1/orders/{id}`, `GET /v1/orders/{id}/payments`,
//!   `GET /v1/payments/{id}`, `POST /v1/payments/{id}/refund`,
//!   `GET /v1/payments/{id}/refunds`, with HTTP basic
//!   authentication (key ID : key secret) and Razorpay's error bodies
//!   (`{"error": {"code": "BAD_REQUEST_ERROR", "description": …}}`);
//! - hosted checkout: `POST /v1/checkout/embedded` (the form a merchant page
//!   posts, with `key_id`, `order_id`, `callback_url`) shows a page whose
//!   buttons pay or fail; paying redirects the browser to `callback_url` with
//!   `razorpay_payment_id`, `razorpay_order_id` and `razorpay_signature`
//!   (`HMAC-SHA256(order_id + "|" + payment_id, key_secret)`);
//! - webhooks to the registered URL, signed in `X-Razorpay-Signature`
//!   (hex `HMAC-SHA256(raw body, webhook secret)`) with the event ID in
//!   `X-Razorpay-Event-Id`: `payment.captured`, `order.paid`,
//!   `payment.failed`, `refund.processed`, `refund.failed`; delivered
//!   asynchronously and retried on failure like Razorpay's.
//!
//! [`Faults`] makes it misbehave as real gateways do: 5xx answers, slow
//! answers (client time-outs), duplicated, reordered or lost webhooks.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Ways the fake gateway misbehaves; change them at any time.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next this-many API calls answer 503.
    pub failing_calls: u32,
    /// Every API call waits this long before answering (client time-outs).
    pub slow_calls: Duration,
    /// Each webhook is sent this many extra times (duplicates).
    pub duplicates: u32,
    /// Webhooks of one payment are sent in reverse order.
    pub reorder: bool,
    /// Webhooks are not sent at all (lost in the network).
    pub drop_webhooks: bool,
    /// Refunds fail at the bank (`refund.failed`) instead of processing.
    pub refunds_fail: bool,
    /// The account's automatic capture is off: payments stop at
    /// `authorized` (`payment.authorized` is sent) until the merchant calls
    /// `POST /v1/payments/{id}/capture`; uncaptured, the bank would return
    /// the money after a few days.
    pub manual_capture: bool,
}

/// One webhook as sent (for assertions).
#[derive(Debug, Clone)]
pub struct SentWebhook {
    /// The `X-Razorpay-Event-Id`.
    pub event_id: String,
    /// The event name, e.g. `payment.captured`.
    pub event: String,
    /// The HTTP status the receiver answered (0 when unreachable).
    pub status: u16,
}

#[derive(Default)]
struct Ledger {
    orders: HashMap<String, Value>,
    payments: HashMap<String, Value>,
    refunds: Vec<Value>,
    faults: Faults,
    webhook_url: Option<String>,
    sent: Vec<SentWebhook>,
}

struct Shared {
    key_id: String,
    key_secret: String,
    webhook_secret: String,
    ledger: Mutex<Ledger>,
    http: reqwest::Client,
}

/// A running fake Razorpay.
#[derive(Clone)]
pub struct FakeRazorpay {
    /// Base URL, the `api.razorpay.com` of this fake.
    pub url: String,
    shared: Arc<Shared>,
}

type HmacSha256 = Hmac<Sha256>;

/// Hex HMAC-SHA256 of `message` under `secret`: Razorpay's signature for
/// webhooks (raw body, webhook secret) and checkout (`order|payment`, key secret).
pub fn razorpay_signature(secret: &str, message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

fn razorpay_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..14)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({"error": {"code": code, "description": description, "source": "business", "reason": "input_validation_failed"}});
    (status, Json(body)).into_response()
}

fn bad_request(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BAD_REQUEST_ERROR", description)
}

impl FakeRazorpay {
    /// Starts a fake with these credentials on a random local port.
    pub async fn start(key_id: &str, key_secret: &str, webhook_secret: &str) -> FakeRazorpay {
        let shared = Arc::new(Shared {
            key_id: key_id.to_string(),
            key_secret: key_secret.to_string(),
            webhook_secret: webhook_secret.to_string(),
            ledger: Mutex::new(Ledger::default()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        });
        let app = Router::new()
            .route("/v1/orders", post(create_order))
            .route("/v1/orders/{id}", get(fetch_order))
            .route("/v1/orders/{id}/payments", get(order_payments))
            .route("/v1/payments/{id}", get(fetch_payment))
            .route("/v1/payments/{id}/capture", post(capture_payment))
            .route("/v1/payments/{id}/refund", post(refund))
            .route("/v1/payments/{id}/refunds", get(payment_refunds))
            .route("/v1/checkout/embedded", post(checkout_page))
            .route("/v1/checkout/embedded/complete", post(checkout_complete))
            .with_state(shared.clone());
        let url = crate::serve(app).await;
        FakeRazorpay { url, shared }
    }

    /// Where webhooks go (the payments subgraph's `/webhooks/razorpay`).
    pub fn set_webhook_url(&self, url: &str) {
        self.ledger().webhook_url = Some(url.to_string());
    }

    /// Replaces the misbehaviour settings.
    pub fn set_faults(&self, faults: Faults) {
        self.ledger().faults = faults;
    }

    /// Webhooks sent so far (duplicates included).
    pub fn sent_webhooks(&self) -> Vec<SentWebhook> {
        self.ledger().sent.clone()
    }

    /// The payment entity `id`, as `GET /v1/payments/{id}` shows it.
    pub fn payment(&self, id: &str) -> Option<Value> {
        self.ledger().payments.get(id).cloned()
    }

    /// The ID of the order created with `receipt` (the merchant's payment ID).
    pub fn order_for_receipt(&self, receipt: &str) -> Option<String> {
        let ledger = self.ledger();
        let order = ledger.orders.values().find(|o| o["receipt"] == receipt)?;
        order["id"].as_str().map(str::to_string)
    }

    /// Every refund made, oldest first.
    pub fn refunds(&self) -> Vec<Value> {
        self.ledger().refunds.clone()
    }

    /// The customer pays order `order_id` at checkout (method `upi`, `card`
    /// or `netbanking`): the payment is captured at once and
    /// `payment.captured` and `order.paid` follow asynchronously. Returns the
    /// payment ID and the checkout signature the browser would carry.
    pub fn pay(&self, order_id: &str, method: &str) -> Result<(String, String), String> {
        let payment = capture(&self.shared, order_id, method)?;
        let id = payment["id"].as_str().unwrap_or_default().to_string();
        let signature = self.checkout_signature(order_id, &id);
        Ok((id, signature))
    }

    /// The customer's payment of `order_id` is declined: `payment.failed` follows.
    pub fn decline(&self, order_id: &str, reason: &str) -> Result<String, String> {
        let payment = decline(&self.shared, order_id, reason)?;
        Ok(payment["id"].as_str().unwrap_or_default().to_string())
    }

    /// `HMAC-SHA256(order_id + "|" + payment_id, key_secret)`, hex.
    pub fn checkout_signature(&self, order_id: &str, payment_id: &str) -> String {
        razorpay_signature(
            &self.shared.key_secret,
            format!("{order_id}|{payment_id}").as_bytes(),
        )
    }

    /// Sends an arbitrary signed webhook body now (replays, forged events).
    pub async fn send_webhook(&self, body: &Value, event_id: &str) -> u16 {
        deliver(&self.shared, body, event_id, 1).await
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.shared.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Basic authentication with the key pair, and the injected faults.
    async fn admit(&self, headers: &HeaderMap) -> Result<(), Response> {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.key_id, self.key_secret));
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "));
        if given != Some(expected.as_str()) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "BAD_REQUEST_ERROR",
                "The api key provided is invalid",
            ));
        }
        let (slow, failing) = {
            let mut ledger = self.ledger();
            let failing = ledger.faults.failing_calls > 0;
            if failing {
                ledger.faults.failing_calls -= 1;
            }
            (ledger.faults.slow_calls, failing)
        };
        if !slow.is_zero() {
            tokio::time::sleep(slow).await;
        }
        if failing {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_ERROR",
                "The server encountered an error. The incident has been reported to admins",
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct NewOrder {
    amount: i64,
    currency: String,
    receipt: Option<String>,
    #[serde(default)]
    notes: Value,
}

async fn create_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<NewOrder>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(refusal) = shared.admit(&headers).await {
        return refusal;
    }
    let Ok(Json(order)) = body else {
        return bad_request("The request body is not valid JSON");
    };
    if order.amount < 100 {
        return bad_request("The amount must be atleast INR 1.00");
    }
    if order.currency != "INR" {
        return bad_request("The currency provided is not supported");
    }
    if order.receipt.as_ref().is_some_and(|r| r.len() > 40) {
        return bad_request("receipt: The receipt may not be greater than 40 characters.");
    }
    let entity = json!({
        "id": razorpay_id("order"), "entity": "order", "amount": order.amount,
        "amount_paid": 0, "amount_due": order.amount, "currency": order.currency,
        "receipt": order.receipt, "status": "created", "attempts": 0,
        "notes": if order.notes.is_null() { json!([]) } else { order.notes },
        "created_at": now_unix(),
    });
    let id = entity["id"].as_str().unwrap_or_default().to_string();
    shared.ledger().orders.insert(id, entity.clone());
    Json(entity).into_response()
}

/// Answers a read: the key pair and faults first, then what `lookup`
/// finds in the ledger, or Razorpay's "does not exist".
async fn answer(
    shared: &Shared,
    headers: &HeaderMap,
    lookup: impl FnOnce(&Ledger) -> Option<Value>,
) -> Response {
    if let Err(refusal) = shared.admit(headers).await {
        return refusal;
    }
    match lookup(&shared.ledger()) {
        Some(found) => Json(found).into_response(),
        None => bad_request("The id provided does not exist"),
    }
}

fn collection(items: Vec<Value>) -> Value {
    json!({"entity": "collection", "count": items.len(), "items": items})
}

async fn fetch_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(&shared, &headers, |ledger| ledger.orders.get(&id).cloned()).await
}

async fn order_payments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(&shared, &headers, |ledger| {
        ledger.orders.contains_key(&id).then(|| {
            let mut items: Vec<Value> = ledger
                .payments
                .values()
                .filter(|p| p["order_id"] == id.as_str())
                .cloned()
                .collect();
            items.sort_by_key(|p| p["created_at"].as_i64());
            collection(items)
        })
    })
    .await
}

async fn fetch_payment(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(&shared, &headers, |ledger| {
        ledger.payments.get(&id).cloned()
    })
    .await
}

async fn payment_refunds(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(&shared, &headers, |ledger| {
        ledger.payments.contains_key(&id).then(|| {
            let refunds = ledger
                .refunds
                .iter()
                .filter(|r| r["payment_id"] == id.as_str());
            collection(refunds.cloned().collect())
        })
    })
    .await
}

#[derive(Deserialize)]
struct NewRefund {
    amount: Option<i64>,
    receipt: Option<String>,
    #[serde(default)]
    notes: Value,
}

async fn refund(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(payment_id): Path<String>,
    body: Result<Json<NewRefund>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(refusal) = shared.admit(&headers).await {
        return refusal;
    }
    let Ok(Json(request)) = body else {
        return bad_request("The request body is not valid JSON");
    };
    let (entity, settled, fails) = {
        let mut ledger = shared.ledger();
        let fails = ledger.faults.refunds_fail;
        let Some(payment) = ledger.payments.get_mut(&payment_id) else {
            return bad_request("The id provided does not exist");
        };
        if payment["status"] != "captured" && payment["status"] != "refunded" {
            return bad_request("The payment has not been captured");
        }
        let captured = payment["amount"].as_i64().unwrap_or(0);
        let refunded = payment["amount_refunded"].as_i64().unwrap_or(0);
        let amount = request.amount.unwrap_or(captured - refunded);
        if amount <= 0 || refunded + amount > captured {
            return bad_request("The refund amount provided is greater than amount captured");
        }
        payment["amount_refunded"] = json!(refunded + amount);
        payment["refund_status"] = json!(if refunded + amount == captured {
            "full"
        } else {
            "partial"
        });
        if refunded + amount == captured {
            payment["status"] = json!("refunded");
        }
        let entity = json!({
            "id": razorpay_id("rfnd"), "entity": "refund", "amount": amount, "currency": "INR",
            "payment_id": payment_id, "receipt": request.receipt,
            "notes": if request.notes.is_null() { json!([]) } else { request.notes },
            "status": "pending", "speed_processed": "normal", "created_at": now_unix(),
        });
        // The bank settles it a moment later: what fetches see from then on.
        let mut settled = entity.clone();
        settled["status"] = json!(if fails { "failed" } else { "processed" });
        ledger.refunds.push(settled.clone());
        (entity, settled, fails)
    };
    let event = if fails {
        "refund.failed"
    } else {
        "refund.processed"
    };
    schedule(&shared, vec![event_body(event, &[("refund", settled)])]);
    Json(entity).into_response()
}

#[derive(Deserialize)]
struct CheckoutForm {
    key_id: String,
    order_id: String,
    callback_url: String,
    #[serde(default)]
    cancel_url: Option<String>,
}

async fn checkout_page(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<CheckoutForm>,
) -> Response {
    if form.key_id != shared.key_id {
        return bad_request("The api key provided is invalid");
    }
    let Some(order) = shared.ledger().orders.get(&form.order_id).cloned() else {
        return bad_request("The id provided does not exist");
    };
    let amount = order["amount"].as_i64().unwrap_or(0);
    let field = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            html_escape(value)
        )
    };
    let hidden = [
        field("order_id", &form.order_id),
        field("callback_url", &form.callback_url),
        field("cancel_url", form.cancel_url.as_deref().unwrap_or("")),
    ]
    .concat();
    Html(format!(
        "<!doctype html><html><head><title>Razorpay (test) checkout</title></head><body>\
         <h1>Pay ₹{}.{:02}</h1><p>Test mode: no money moves.</p>\
         <form method=\"post\" action=\"/v1/checkout/embedded/complete\">{hidden}\
         <button name=\"outcome\" value=\"upi\" id=\"pay\">Pay by UPI</button>\
         <button name=\"outcome\" value=\"failed\" id=\"fail\">Fail payment</button></form></body></html>",
        amount / 100,
        amount % 100
    ))
    .into_response()
}

#[derive(Deserialize)]
struct CheckoutOutcome {
    order_id: String,
    callback_url: String,
    #[serde(default)]
    cancel_url: String,
    outcome: String,
}

async fn checkout_complete(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<CheckoutOutcome>,
) -> Response {
    if form.outcome == "failed" {
        return match decline(&shared, &form.order_id, "Payment was declined by the bank") {
            Ok(_) if !form.cancel_url.is_empty() => redirect_form(&form.cancel_url, &[]),
            Ok(_) => Html("<p>Payment failed.</p>".to_string()).into_response(),
            Err(message) => bad_request(&message),
        };
    }
    match capture(&shared, &form.order_id, &form.outcome) {
        Ok(payment) => {
            let payment_id = payment["id"].as_str().unwrap_or_default();
            let signature = razorpay_signature(
                &shared.key_secret,
                format!("{}|{payment_id}", form.order_id).as_bytes(),
            );
            redirect_form(
                &form.callback_url,
                &[
                    ("razorpay_payment_id", payment_id),
                    ("razorpay_order_id", &form.order_id),
                    ("razorpay_signature", &signature),
                ],
            )
        }
        Err(message) => bad_request(&message),
    }
}

/// A page that posts `fields` to `url` at once, as Razorpay's hosted
/// checkout returns the browser to the merchant.
fn redirect_form(url: &str, fields: &[(&str, &str)]) -> Response {
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                html_escape(value)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html><body onload=\"document.forms[0].submit()\">\
         <form method=\"post\" action=\"{}\">{inputs}<noscript><button>Continue</button></noscript></form>\
         </body></html>",
        html_escape(url)
    ))
    .into_response()
}

fn html_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Deserialize)]
struct CaptureRequest {
    amount: i64,
    currency: String,
}

/// `POST /v1/payments/{id}/capture`: captures an authorized payment, for
/// exactly its amount; `payment.captured` and `order.paid` follow.
async fn capture_payment(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<CaptureRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(refusal) = shared.admit(&headers).await {
        return refusal;
    }
    let Ok(Json(request)) = body else {
        return bad_request("The request body is not valid JSON");
    };
    let (payment, order) = {
        let mut ledger = shared.ledger();
        let Some(payment) = ledger.payments.get_mut(&id) else {
            return bad_request("The id provided does not exist");
        };
        match payment["status"].as_str() {
            Some("authorized") => {}
            Some("captured") | Some("refunded") => {
                return bad_request("This payment has already been captured")
            }
            _ => {
                return bad_request(
                    "Only payments which have been authorized and not yet captured can be captured",
                )
            }
        }
        if request.amount != payment["amount"].as_i64().unwrap_or(-1) || request.currency != "INR" {
            return bad_request("Capture amount must be equal to the amount authorized");
        }
        payment["status"] = json!("captured");
        payment["captured"] = json!(true);
        let payment = payment.clone();
        let order_id = payment["order_id"].as_str().unwrap_or_default().to_string();
        let order = ledger.orders.get_mut(&order_id).map(|order| {
            order["status"] = json!("paid");
            order["amount_paid"] = order["amount"].clone();
            order["amount_due"] = json!(0);
            order.clone()
        });
        (payment, order.unwrap_or(Value::Null))
    };
    schedule(
        &shared,
        vec![
            event_body("payment.captured", &[("payment", payment.clone())]),
            event_body(
                "order.paid",
                &[("payment", payment.clone()), ("order", order)],
            ),
        ],
    );
    Json(payment).into_response()
}

/// The customer pays the whole order: captured at once, with
/// `payment.captured` and `order.paid` following asynchronously; or, with
/// [`Faults::manual_capture`], only authorized (`payment.authorized`).
fn capture(shared: &Arc<Shared>, order_id: &str, method: &str) -> Result<Value, String> {
    if shared.ledger().faults.manual_capture {
        return authorize(shared, order_id, method);
    }
    let (payment, order) = {
        let mut ledger = shared.ledger();
        let Some(order) = ledger.orders.get_mut(order_id) else {
            return Err("The id provided does not exist".into());
        };
        if order["status"] == "paid" {
            return Err("Order has already been paid".into());
        }
        let amount = order["amount"].as_i64().unwrap_or(0);
        order["status"] = json!("paid");
        order["amount_paid"] = json!(amount);
        order["amount_due"] = json!(0);
        order["attempts"] = json!(order["attempts"].as_i64().unwrap_or(0) + 1);
        let order = order.clone();
        let payment = payment_entity(&order, method, "captured", None);
        ledger.payments.insert(
            payment["id"].as_str().unwrap_or_default().to_string(),
            payment.clone(),
        );
        (payment, order)
    };
    schedule(
        shared,
        vec![
            event_body("payment.captured", &[("payment", payment.clone())]),
            event_body(
                "order.paid",
                &[("payment", payment.clone()), ("order", order)],
            ),
        ],
    );
    Ok(payment)
}

/// The customer's bank authorized the whole order, not yet captured;
/// `payment.authorized` follows.
fn authorize(shared: &Arc<Shared>, order_id: &str, method: &str) -> Result<Value, String> {
    let payment = {
        let mut ledger = shared.ledger();
        let Some(order) = ledger.orders.get_mut(order_id) else {
            return Err("The id provided does not exist".into());
        };
        if order["status"] == "paid" {
            return Err("Order has already been paid".into());
        }
        order["status"] = json!("attempted");
        order["attempts"] = json!(order["attempts"].as_i64().unwrap_or(0) + 1);
        let order = order.clone();
        let payment = payment_entity(&order, method, "authorized", None);
        ledger.payments.insert(
            payment["id"].as_str().unwrap_or_default().to_string(),
            payment.clone(),
        );
        payment
    };
    schedule(
        shared,
        vec![event_body(
            "payment.authorized",
            &[("payment", payment.clone())],
        )],
    );
    Ok(payment)
}

/// A declined attempt at the order; `payment.failed` follows.
fn decline(shared: &Arc<Shared>, order_id: &str, reason: &str) -> Result<Value, String> {
    let payment = {
        let mut ledger = shared.ledger();
        let Some(order) = ledger.orders.get_mut(order_id) else {
            return Err("The id provided does not exist".into());
        };
        order["status"] = json!("attempted");
        order["attempts"] = json!(order["attempts"].as_i64().unwrap_or(0) + 1);
        let order = order.clone();
        let payment = payment_entity(&order, "upi", "failed", Some(reason));
        ledger.payments.insert(
            payment["id"].as_str().unwrap_or_default().to_string(),
            payment.clone(),
        );
        payment
    };
    schedule(
        shared,
        vec![event_body(
            "payment.failed",
            &[("payment", payment.clone())],
        )],
    );
    Ok(payment)
}

fn payment_entity(order: &Value, method: &str, status: &str, error: Option<&str>) -> Value {
    json!({
        "id": razorpay_id("pay"), "entity": "payment", "amount": order["amount"],
        "currency": "INR", "status": status, "order_id": order["id"], "method": method,
        "amount_refunded": 0, "refund_status": null, "captured": status == "captured",
        "description": null, "email": "customer@example.com", "contact": "+919000000000",
        "notes": order["notes"], "fee": null, "tax": null,
        "error_code": error.map(|_| "BAD_REQUEST_ERROR"), "error_description": error,
        "created_at": now_unix(),
    })
}

fn event_body(event: &str, entities: &[(&str, Value)]) -> Value {
    let payload: serde_json::Map<String, Value> = entities
        .iter()
        .map(|(name, entity)| (name.to_string(), json!({"entity": entity})))
        .collect();
    let contains: Vec<&str> = entities.iter().map(|(name, _)| *name).collect();
    json!({
        "entity": "event", "account_id": "acc_FakeRazorpay01", "event": event,
        "contains": contains, "payload": payload, "created_at": now_unix(),
    })
}

/// Sends `events` in the background after a short random delay, applying
/// the faults (reorder, duplicates, loss); each delivery is retried on
/// failure a few times, as Razorpay does.
fn schedule(shared: &Arc<Shared>, mut events: Vec<Value>) {
    let faults = shared.ledger().faults.clone();
    if faults.drop_webhooks {
        return;
    }
    if faults.reorder {
        events.reverse();
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let delay = rand::thread_rng().gen_range(5..40);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        for body in events {
            // Duplicates are the same event (same ID) arriving concurrently.
            let event_id = razorpay_id("evt");
            let copies = (0..=faults.duplicates).map(|_| deliver(&shared, &body, &event_id, 4));
            futures::future::join_all(copies).await;
        }
    });
}

/// Posts one signed event to the webhook URL, retrying up to `attempts`
/// times on failure; returns the last status (0 when unreachable).
async fn deliver(shared: &Arc<Shared>, body: &Value, event_id: &str, attempts: u32) -> u16 {
    let Some(url) = shared.ledger().webhook_url.clone() else {
        return 0;
    };
    let raw = body.to_string();
    let signature = razorpay_signature(&shared.webhook_secret, raw.as_bytes());
    let event = body["event"].as_str().unwrap_or_default().to_string();
    let mut status = 0;
    for attempt in 0..attempts.max(1) {
        let sent = shared
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("X-Razorpay-Signature", &signature)
            .header("X-Razorpay-Event-Id", event_id)
            .body(raw.clone())
            .send()
            .await;
        status = sent.map_or(0, |r| r.status().as_u16());
        shared.ledger().sent.push(SentWebhook {
            event_id: event_id.to_string(),
            event: event.clone(),
            status,
        });
        if (200..300).contains(&status) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
    }
    status
}
