//! Payments subgraph: money in and out. Payments for orders through a
//! gateway trait (the built-in sandbox gateway behaves like a real one, in
//! dev mode only; cash on delivery needs no gateway), signed and idempotent webhooks, a
//! forward-only payment state machine, partial and full refunds that never
//! exceed the capture, and the events orders and notifications react to.
//! It owns payments, refunds and the webhook events it received; orders,
//! customers and vendors are other subgraphs' IDs.

pub mod demo;
pub mod domain;
pub mod events;
pub mod gateway;
pub mod orders;
pub mod schema;
pub mod service;
pub mod store;
pub mod webhooks;

use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use gateway::{CashGateway, Chaos, Gateways, SandboxGateway};
use janta_events::Runtime;
use janta_platform::auth::TokenVerifier;
use janta_platform::client::ServiceClient;
use janta_platform::config::{Mode, PaymentGateway, SubgraphConfig, DEV_WEBHOOK_SECRET};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use janta_platform::tasks::background;
use orders::OrdersClient;
use schema::{Mutation, OrderPaymentsLoader, PaymentLoader, PaymentsSchema, Query, RefundsLoader};
use std::sync::Arc;
use std::time::Duration;

/// What resolvers, the webhook endpoint and event handlers share.
pub struct PaymentsState {
    /// This subgraph's database.
    pub store: Store,
    /// The gateways payments go through.
    pub gateways: Gateways,
    /// Orders' service interface (the amount to charge, the buyer).
    pub orders: OrdersClient,
}

/// Knobs of the payments subgraph beyond its configuration (tests tune them).
#[derive(Debug, Clone)]
pub struct PaymentsOptions {
    /// How unreliable the sandbox gateway's webhook delivery is.
    pub chaos: Chaos,
    /// How often refunds left pending (gateway error, crash) are retried;
    /// `None` runs no retry loop.
    pub refund_retry_interval: Option<Duration>,
}

impl Default for PaymentsOptions {
    fn default() -> Self {
        PaymentsOptions {
            chaos: Chaos::default(),
            refund_retry_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> PaymentsSchema {
    with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the HTTP app of the payments subgraph
/// alone in its process ([`Runtime::standalone`]).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`] on the event bus of `runtime` (the process's in-process
/// bus, or NATS when configured).
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let (router, state) = build_with_options(config, runtime, PaymentsOptions::default()).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit options; also returns the shared state
/// (tests call the services and event handlers on it).
pub async fn build_with_options(
    config: &SubgraphConfig,
    runtime: &Runtime,
    options: PaymentsOptions,
) -> anyhow::Result<(Router, Arc<PaymentsState>)> {
    if config.mode == Mode::Production && config.webhook_secret.expose() == DEV_WEBHOOK_SECRET {
        anyhow::bail!("production mode needs JANTA_WEBHOOK_SECRET (not the development one)");
    }
    config.check_payment_gateway()?;
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    let bus = runtime.event_bus(config).await?;
    let verifier = Arc::new(TokenVerifier::remote(
        &config.auth.jwks_url,
        &config.auth.issuer,
        &config.auth.audience,
    ));
    let sandbox = (config.payment_gateway == PaymentGateway::Sandbox).then(|| {
        Arc::new(SandboxGateway::new(
            config.webhook_secret.expose(),
            &config.public_url,
            options.chaos,
        ))
    });
    let state = Arc::new(PaymentsState {
        store: store.clone(),
        gateways: Gateways {
            online: sandbox.clone().map(|s| s as Arc<dyn gateway::Gateway>),
            cash: Arc::new(CashGateway),
        },
        orders: OrdersClient::new(ServiceClient::new(config)),
    });
    let tasks = events::start(&bus, &store, state.clone()).await;
    background().on_shutdown(tasks.stop());
    if let Some(interval) = options.refund_retry_interval {
        background().spawn(retry_pending_refunds(Arc::downgrade(&state), interval));
    }
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state.clone())
        .finish();
    let loader_store = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<PaymentLoader>(&loader_store))
            .data(batched::<OrderPaymentsLoader>(&loader_store))
            .data(batched::<RefundsLoader>(&loader_store))
    });
    let mut router = subgraph_router_with_checks(
        schema,
        verifier,
        store.clone(),
        extend,
        vec![bus.readiness_check()],
        config.trusted_proxies.clone(),
    )
    .merge(webhooks::routes(state.clone()));
    // The sandbox's checkout page exists only with the sandbox (dev mode):
    // elsewhere `/sandbox/*` is 404.
    if let Some(sandbox) = sandbox {
        router = router.merge(gateway::sandbox_routes(sandbox, store));
    }
    Ok((router, state))
}

/// Retries refunds left pending every `interval` while the state lives.
async fn retry_pending_refunds(state: std::sync::Weak<PaymentsState>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(err) = service::drive_pending_refunds(&state, interval).await {
            tracing::warn!(error = %err, "retrying pending refunds failed");
        }
    }
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;
