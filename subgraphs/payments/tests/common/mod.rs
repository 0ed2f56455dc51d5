//! Shared set-up of the payments tests: the subgraph served on a random
//! port whose `public_url` is that port (so the sandbox's webhooks reach
//! it), a token issuer, payments created directly through the store (for
//! tests that need no order), signed webhooks, and counters.

#![allow(dead_code)]

use janta_payments::domain::PaymentMethod;
use janta_payments::gateway::{
    signature_header, Chaos, NewPayment, SandboxEvent, SandboxEventData, SIGNATURE_HEADER,
};
use janta_payments::store::{self, NewPaymentRow, PaymentRow};
use janta_payments::{PaymentsOptions, PaymentsState};
use janta_platform::auth::Role;
use janta_platform::config::SubgraphConfig;
use janta_platform::demo::*;
use janta_testkit::{Gql, TestDb, TestIssuer};
use std::sync::Arc;
use std::time::Duration;

pub struct Harness {
    pub base: String,
    pub gql: Gql,
    pub state: Arc<PaymentsState>,
    pub issuer: TestIssuer,
    pub secret: String,
    pub http: reqwest::Client,
}

/// Binds a port, points `config.public_url` at it, builds with `build`, serves.
pub async fn serve_at_own_url<F, Fut, T>(mut config: SubgraphConfig, build: F) -> (String, T)
where
    F: FnOnce(SubgraphConfig) -> Fut,
    Fut: std::future::Future<Output = (axum::Router, T)>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    config.public_url = base.clone();
    let (router, extra) = build(config).await;
    janta_testkit::serve_on(listener, router);
    (base, extra)
}

/// The payments subgraph alone (no orders): payments are made through the store.
pub async fn start(db: &TestDb) -> Harness {
    start_with(db, Chaos::default()).await
}

pub async fn start_with(db: &TestDb, chaos: Chaos) -> Harness {
    start_on(db, chaos, janta_events::Runtime::standalone()).await
}

/// The fake Razorpay's key pair.
pub const RAZORPAY_KEY_ID: &str = "rzp_test_JantaFake01";
/// The fake Razorpay's key secret.
pub const RAZORPAY_KEY_SECRET: &str = "fake-razorpay-key-secret";

/// The subgraph with Razorpay (the fake at `fake`) as its online gateway;
/// the fake sends its webhooks to the subgraph.
pub async fn start_razorpay(db: &TestDb, fake: &janta_testkit::razorpay::FakeRazorpay) -> Harness {
    let issuer = TestIssuer::start().await;
    let mut config = janta_testkit::config("payments", db, &issuer.jwks_url);
    config.payment_gateway = janta_platform::config::PaymentGateway::Razorpay;
    config.razorpay = janta_platform::config::RazorpaySettings {
        key_id: RAZORPAY_KEY_ID.into(),
        key_secret: janta_platform::config::Secret::new(RAZORPAY_KEY_SECRET),
        base_url: fake.url.clone(),
    };
    let h = start_configured(
        config,
        issuer,
        Chaos::default(),
        janta_events::Runtime::standalone(),
    )
    .await;
    fake.set_webhook_url(&format!("{}/webhooks/razorpay", h.base));
    h
}

/// The subgraph on the event bus of `runtime`.
pub async fn start_on(db: &TestDb, chaos: Chaos, runtime: janta_events::Runtime) -> Harness {
    let issuer = TestIssuer::start().await;
    let config = janta_testkit::config("payments", db, &issuer.jwks_url);
    start_configured(config, issuer, chaos, runtime).await
}

async fn start_configured(
    config: SubgraphConfig,
    issuer: TestIssuer,
    chaos: Chaos,
    runtime: janta_events::Runtime,
) -> Harness {
    let secret = config.webhook_secret.expose().to_string();
    let (base, state) = serve_at_own_url(config, |config| async move {
        let options = PaymentsOptions {
            chaos,
            refund_retry_interval: None,
        };
        let (router, state) = janta_payments::build_with_options(&config, &runtime, options)
            .await
            .expect("payments builds");
        (router, state)
    })
    .await;
    Harness {
        gql: Gql::new(format!("{base}/graphql")),
        base,
        state,
        issuer,
        secret,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    pub fn customer(&self) -> String {
        self.issuer.token_for(CUSTOMER_ID, &[Role::Customer], None)
    }
    pub fn other_customer(&self) -> String {
        self.issuer.token_for(
            "019a0000-0000-7000-8000-0000000000ff",
            &[Role::Customer],
            None,
        )
    }
    pub fn vendor_admin(&self) -> String {
        self.issuer
            .token_for(VENDOR_KA_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_KA_ID))
    }
    pub fn pharmacist(&self) -> String {
        self.issuer
            .token_for(PHARMACIST_KA_ID, &[Role::Pharmacist], Some(VENDOR_KA_ID))
    }
    pub fn other_vendor_admin(&self) -> String {
        self.issuer
            .token_for(VENDOR_MH_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_MH_ID))
    }
    pub fn admin(&self) -> String {
        self.issuer.token_for(ADMIN_ID, &[Role::Admin], None)
    }

    /// A payment for a fresh order of the demo customer at the KA vendor,
    /// created at the method's gateway and stored as payOrder would.
    pub async fn payment(&self, method: PaymentMethod, amount: i64) -> PaymentRow {
        self.payment_for_order(&janta_platform::ids::new_id(), method, amount)
            .await
    }

    pub async fn payment_for_order(
        &self,
        order_id: &str,
        method: PaymentMethod,
        amount: i64,
    ) -> PaymentRow {
        let id = janta_platform::ids::new_id();
        let gateway = self.state.gateways.for_method(method).unwrap();
        let created = gateway
            .create_payment(&NewPayment {
                payment_id: &id,
                order_id,
                amount_paise: amount,
                method,
            })
            .await
            .unwrap();
        let mut tx = self.state.store.begin().await.unwrap();
        let inserted = store::insert_payment(
            &mut tx,
            &NewPaymentRow {
                id: &id,
                order_id,
                customer_id: CUSTOMER_ID,
                vendor_id: VENDOR_KA_ID,
                method,
                gateway: gateway.name(),
                gateway_payment_id: &created.gateway_payment_id,
                checkout_url: created.checkout_url.as_deref(),
                amount: janta_platform::money::Paise(amount),
                tax: janta_platform::money::Paise::ZERO,
                currency: "INR",
            },
        )
        .await
        .unwrap();
        assert!(inserted);
        tx.commit().await.unwrap();
        self.reload(&id).await
    }

    pub async fn reload(&self, id: &str) -> PaymentRow {
        store::payment(self.state.store.pool(), id)
            .await
            .unwrap()
            .expect("payment exists")
    }

    /// A payment captured through a signed success webhook.
    pub async fn captured_payment(&self, amount: i64) -> PaymentRow {
        let payment = self.payment(PaymentMethod::Card, amount).await;
        let event = self.event(&payment, "payment.succeeded");
        assert_eq!(self.webhook(&event).await, 200);
        let payment = self.reload(&payment.id).await;
        assert_eq!(payment.status.as_db(), "SUCCEEDED");
        payment
    }

    /// A sandbox event about `payment`.
    pub fn event(&self, payment: &PaymentRow, event_type: &str) -> SandboxEvent {
        SandboxEvent::new(
            event_type,
            SandboxEventData {
                payment_id: payment.gateway_payment_id.clone(),
                reference: Some(payment.id.clone()),
                amount: Some(payment.amount.get()),
                currency: Some("INR".into()),
                failure_reason: event_type
                    .ends_with("failed")
                    .then(|| "card declined".to_string()),
                refund_id: None,
            },
        )
    }

    /// Posts `event` signed now with the right secret; returns the HTTP status.
    pub async fn webhook(&self, event: &SandboxEvent) -> u16 {
        let body = serde_json::to_vec(event).unwrap();
        let header = signature_header(
            self.secret.as_bytes(),
            chrono::Utc::now().timestamp(),
            &body,
        );
        self.raw_webhook(body, Some(header)).await
    }

    /// Posts `body` with the given signature header (or none).
    pub async fn raw_webhook(&self, body: Vec<u8>, signature: Option<String>) -> u16 {
        let mut request = self
            .http
            .post(format!("{}/webhooks/sandbox", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap();
        n
    }

    pub async fn outbox(&self, event_type: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap();
        n
    }

    /// Waits until the payment's status is `status` (webhooks are asynchronous).
    pub async fn wait_for_status(&self, id: &str, status: &str) -> PaymentRow {
        for _ in 0..200 {
            let payment = self.reload(id).await;
            if payment.status.as_db() == status {
                return payment;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "payment {id} never became {status}: {:?}",
            self.reload(id).await
        );
    }
}
