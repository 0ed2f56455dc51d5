//! The sandbox gateway exists only in dev: its checkout page confirms an
//! order at the press of a button. Production refuses to start with it,
//! answers 404 on `/sandbox/*` even for a checkout that exists, and with no
//! real gateway configured refuses online payment methods.

use janta_events::Runtime;
use janta_payments::domain::PaymentMethod;
use janta_payments::store::{self, NewPaymentRow};
use janta_payments::{PaymentsOptions, PaymentsState};
use janta_platform::auth::Role;
use janta_platform::config::{Mode, PaymentGateway, Secret, SubgraphConfig};
use janta_platform::demo::{CUSTOMER_ID, VENDOR_KA_ID};
use janta_testkit::{error_code, serve, Backend, Gql, TestDb, TestIssuer};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// A sandbox checkout stored before the switch to production.
const CHECKOUT: &str = "sbx_left_over_checkout";

fn production(config: &mut SubgraphConfig, gateway: PaymentGateway) {
    config.mode = Mode::Production;
    config.webhook_secret = Secret::new("a-production-webhook-secret-of-40-chars!");
    config.payment_gateway = gateway;
}

async fn build(config: &SubgraphConfig) -> anyhow::Result<(axum::Router, Arc<PaymentsState>)> {
    let options = PaymentsOptions {
        refund_retry_interval: None,
        ..PaymentsOptions::default()
    };
    janta_payments::build_with_options(config, &Runtime::standalone(), options).await
}

/// Stores an open sandbox card payment whose checkout is [`CHECKOUT`].
async fn store_sandbox_checkout(state: &PaymentsState) {
    let mut tx = state.store.begin().await.unwrap();
    let inserted = store::insert_payment(
        &mut tx,
        &NewPaymentRow {
            id: &janta_platform::ids::new_id(),
            order_id: &janta_platform::ids::new_id(),
            customer_id: CUSTOMER_ID,
            vendor_id: VENDOR_KA_ID,
            method: PaymentMethod::Card,
            gateway: "sandbox",
            gateway_payment_id: CHECKOUT,
            checkout_url: None,
            amount: janta_platform::money::Paise(10_000),
            tax: janta_platform::money::Paise(1_071),
            currency: "INR",
        },
    )
    .await
    .unwrap();
    assert!(inserted);
    tx.commit().await.unwrap();
}

/// What `GET` and `POST /sandbox/checkout/<CHECKOUT>` answer on a payments
/// subgraph built from `config`.
async fn checkout_statuses(config: &SubgraphConfig) -> (StatusCode, StatusCode) {
    let (router, state) = build(config).await.expect("payments builds");
    store_sandbox_checkout(&state).await;
    let url = format!("{}/sandbox/checkout/{CHECKOUT}", serve(router).await);
    let http = reqwest::Client::new();
    let page = http.get(&url).send().await.unwrap().status();
    let paid = http
        .post(&url)
        .form(&[("outcome", "success")])
        .send()
        .await
        .unwrap()
        .status();
    (page, paid)
}

#[tokio::test]
async fn production_refuses_to_start_with_the_sandbox_gateway() {
    let db = TestDb::new(Backend::Sqlite).await;
    let issuer = TestIssuer::start().await;
    let mut config = janta_testkit::config("payments", &db, &issuer.jwks_url);
    production(&mut config, PaymentGateway::Sandbox);
    let err = build(&config)
        .await
        .err()
        .expect("production refuses the sandbox");
    assert!(format!("{err:#}").contains("sandbox"), "{err:#}");
}

#[tokio::test]
async fn outside_dev_the_sandbox_checkout_answers_404() {
    let db = TestDb::new(Backend::Sqlite).await;
    let issuer = TestIssuer::start().await;
    let dev = janta_testkit::config("payments", &db, &issuer.jwks_url);
    let (page, _) = checkout_statuses(&dev).await;
    assert_eq!(page, StatusCode::OK, "dev serves the sandbox checkout");

    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = janta_testkit::config("payments", &db, &issuer.jwks_url);
    production(&mut config, PaymentGateway::None);
    let (page, paid) = checkout_statuses(&config).await;
    assert_eq!(page, StatusCode::NOT_FOUND);
    assert_eq!(paid, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_an_online_gateway_online_methods_are_refused() {
    let db = TestDb::new(Backend::Sqlite).await;
    let issuer = TestIssuer::start().await;
    let mut config = janta_testkit::config("payments", &db, &issuer.jwks_url);
    production(&mut config, PaymentGateway::None);
    let (router, _) = build(&config).await.expect("payments builds");
    let gql = Gql::new(format!("{}/graphql", serve(router).await));
    let customer = issuer.token_for(CUSTOMER_ID, &[Role::Customer], None);
    let body = gql
        .send(
            Some(&customer),
            "mutation($order: ID!) { payOrder(orderId: $order, method: UPI) { checkoutUrl } }",
            json!({ "order": janta_platform::ids::new_id() }),
        )
        .await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("BAD_USER_INPUT"),
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("cash on delivery"), "{message}");
}
