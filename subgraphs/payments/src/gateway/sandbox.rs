//! The built-in sandbox gateway (dev mode and tests only).

use super::*;
use crate::store::sandbox::OwedWebhook;
use janta_kit::Kit;
use janta_platform::scalars::DateTime;

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
/// succeed immediately. Like a real gateway it keeps its own state durably
/// (in the payments database: submitted checkouts, owed webhooks), so a
/// crash a moment after the customer paid loses no webhook; it reads the
/// payment it serves from the payments store.
pub struct SandboxGateway {
    secret: Vec<u8>,
    public_url: String,
    http: reqwest::Client,
    chaos: Chaos,
    /// Where it keeps submitted checkouts and owed webhooks.
    store: Store,
}

/// Name of the sandbox gateway (webhook path `/webhooks/sandbox`).
pub const SANDBOX: &str = "sandbox";

impl SandboxGateway {
    /// A sandbox signing with `secret`, reachable at `public_url`, keeping
    /// its state in `store`.
    pub fn new(secret: &str, public_url: &str, chaos: Chaos, store: Store) -> Self {
        SandboxGateway {
            secret: secret.as_bytes().to_vec(),
            public_url: public_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("static HTTP client configuration"),
            chaos,
            store,
        }
    }

    fn checkout_url(&self, gateway_payment_id: &str) -> String {
        format!("{}/sandbox/checkout/{gateway_payment_id}", self.public_url)
    }

    fn webhook_url(&self) -> String {
        format!("{}/webhooks/{SANDBOX}", self.public_url)
    }

    /// The events of a completed checkout, in the order the sandbox will
    /// send them: `processing` and the outcome, sometimes the outcome first,
    /// sometimes the outcome twice (per [`Chaos`]).
    fn plan_outcome(&self, payment: &PaymentRow, success: bool) -> Vec<SandboxEvent> {
        let data = SandboxEventData {
            payment_id: payment.gateway_payment_id.clone(),
            reference: Some(payment.id.clone()),
            amount: Some(payment.amount.get()),
            currency: Some(payment.currency.clone()),
            failure_reason: (!success).then(|| DECLINED.to_string()),
            refund_id: None,
        };
        let processing = SandboxEvent::new("payment.processing", data.clone());
        let kind = if success {
            "payment.succeeded"
        } else {
            "payment.failed"
        };
        let outcome = SandboxEvent::new(kind, data);
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
    }

    /// Records checkout `payment` as submitted with its outcome and queues
    /// the webhooks it owes, each after a random delay, in one transaction:
    /// once this returns, the webhooks go out even if the process dies.
    /// False when the checkout was submitted before.
    async fn submit(&self, payment: &PaymentRow, success: bool) -> anyhow::Result<bool> {
        let now = DateTime::now();
        let mut tx = self.store.begin().await?;
        if !store::sandbox::submit_checkout(&mut tx, &payment.gateway_payment_id, success, now)
            .await?
        {
            return Ok(false);
        }
        let mut due = now.0;
        for event in self.plan_outcome(payment, success) {
            due += chrono::Duration::from_std(self.random_delay())?;
            let body = serde_json::to_string(&event)?;
            store::sandbox::queue_webhook(&mut tx, &event.id, &body, DateTime(due), now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    fn random_delay(&self) -> Duration {
        let max = self.chaos.max_delay.as_millis() as u64;
        Duration::from_millis(if max == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=max)
        })
    }

    /// Sends every webhook due now, like a real gateway's delivery queue: an
    /// acknowledged one is done, a refused or unanswered one is retried
    /// later with exponential back-off (from 200 ms up to a minute), for as
    /// long as it takes.
    pub async fn deliver_owed(&self) -> anyhow::Result<()> {
        let store = &self.store;
        for owed in store::sandbox::owed_webhooks(store, DateTime::now(), 50).await? {
            if self.deliver(&owed).await {
                store::sandbox::webhook_delivered(store, &owed.id, DateTime::now()).await?;
            } else {
                let backoff =
                    Duration::from_millis(200u64 << owed.attempts.clamp(0, 9)).min(MAX_RETRY);
                let retry_at = chrono::Utc::now() + chrono::Duration::from_std(backoff)?;
                store::sandbox::webhook_failed(store, &owed.id, DateTime(retry_at)).await?;
            }
        }
        Ok(())
    }

    /// Posts one queued event; true when the merchant acknowledged it.
    async fn deliver(&self, owed: &OwedWebhook) -> bool {
        let timestamp = chrono::Utc::now().timestamp();
        let body = owed.body.as_bytes();
        let result = self
            .http
            .post(self.webhook_url())
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature_header(&self.secret, timestamp, body),
            )
            .body(owed.body.clone())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(event_id = %owed.event_id, status = %response.status(), attempts = owed.attempts + 1, "sandbox webhook refused");
                false
            }
            Err(err) => {
                tracing::warn!(event_id = %owed.event_id, error = %err, attempts = owed.attempts + 1, "sandbox webhook undeliverable");
                false
            }
        }
    }
}

/// The longest wait between two attempts of one sandbox webhook.
const MAX_RETRY: Duration = Duration::from_secs(60);

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
            charge_id: None,
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

    /// What the sandbox recorded when the checkout was submitted.
    async fn status(&self, gateway_payment_id: &str) -> anyhow::Result<GatewayStatus> {
        let status = match store::sandbox::checkout_outcome(&self.store, gateway_payment_id).await?
        {
            None => GatewayStatus::Open,
            Some(false) => GatewayStatus::Failed {
                reason: DECLINED.to_string(),
            },
            Some(true) => {
                let payment =
                    store::payment_by_gateway_ref(self.store.pool(), SANDBOX, gateway_payment_id)
                        .await?
                        .ok_or_else(|| {
                            anyhow::anyhow!("sandbox checkout {gateway_payment_id} has no payment")
                        })?;
                GatewayStatus::Captured {
                    charge_id: gateway_payment_id.to_string(),
                    amount_paise: payment.amount.get(),
                }
            }
        };
        Ok(status)
    }
}

/// Why the sandbox declines a payment.
const DECLINED: &str = "declined by the issuing bank (sandbox)";

/// How often the sandbox looks for webhooks it owes (dev mode only).
const DELIVERY_TICK: Duration = Duration::from_millis(100);

/// Starts the sandbox on `kit`: its webhook deliverer, and its hosted
/// checkout routes, which it returns.
pub fn start_sandbox(kit: &Kit, sandbox: Arc<SandboxGateway>) -> Router {
    let gateway = sandbox.clone();
    kit.every(DELIVERY_TICK, "delivering sandbox webhooks", move || {
        let gateway = gateway.clone();
        async move { gateway.deliver_owed().await }
    });
    sandbox_routes(sandbox, kit.store().clone())
}

/// The sandbox's hosted checkout: `GET /sandbox/checkout/{id}` shows a page
/// with two buttons, `POST` with form field `outcome=success|failure`
/// completes the payment (webhooks follow asynchronously).
fn sandbox_routes(sandbox: Arc<SandboxGateway>, store: Store) -> Router {
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
        Some(p) if p.status == PaymentStatus::Created => Ok(p),
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
    let amount = janta_platform::money::format_paise(payment.amount.get());
    let id = html_escape(&id);
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Janta sandbox checkout</title></head>\
         <body><h1>Sandbox checkout</h1><p>Pay ₹{amount} ({method}) for order {order}.</p>\
         <form method=\"post\" action=\"/sandbox/checkout/{id}\">\
         <button name=\"outcome\" value=\"success\">Pay (succeeds)</button> \
         <button name=\"outcome\" value=\"failure\">Pay (fails)</button></form></body></html>",
        method = html_escape(payment.method.as_db()),
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
    match sandbox.submit(&payment, success).await {
        Ok(true) => {}
        Ok(false) => {
            return (StatusCode::CONFLICT, "this checkout was already submitted").into_response()
        }
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "sandbox checkout not recorded");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; try again",
            )
                .into_response();
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_forms_are_read() {
        assert_eq!(form_outcome("outcome=success"), Some(true));
        assert_eq!(form_outcome("x=1&outcome=failure"), Some(false));
        assert_eq!(form_outcome("outcome=maybe"), None);
        assert_eq!(form_outcome(""), None);
    }

    #[tokio::test]
    async fn sandbox_webhooks_parse_after_the_signature_check() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let sandbox = SandboxGateway::new("s3cret", "http://127.0.0.1:1", Chaos::default(), store);
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
