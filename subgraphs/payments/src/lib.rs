//! Payments subgraph: money in and out — payments through a gateway trait
//! (sandbox in dev, Razorpay, cash on delivery), signed idempotent webhooks,
//! reconciliation, refunds never above the capture, vendor settlements.

pub mod checkout;
pub mod demo;
pub mod domain;
pub mod events;
pub mod gateway;
pub mod options;
pub mod orders;
pub mod schema;
pub mod service;
pub mod store;
pub mod webhooks;

use axum::Router;
use checkout::OnlineGateway;
use gateway::Gateways;
use janta_events::Runtime;
use janta_kit::{schema_builder, Kit};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
pub use options::PaymentsOptions;
use orders::OrdersClient;
use schema::{Mutation, PaymentsSchema, Query};
use service::personal_data::PaymentsPersonalData;
use std::sync::Arc;

/// What resolvers, the webhook endpoint and event handlers share.
pub struct PaymentsState {
    /// This subgraph's database.
    pub store: Store,
    /// The gateways payments go through.
    pub gateways: Gateways,
    /// Orders' service interface (the amount to charge, the buyer).
    pub orders: OrdersClient,
    /// What settlements withhold.
    pub settlement: options::Withholding,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> PaymentsSchema {
    schema_builder(Query::default(), Mutation::default()).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the payments subgraph alone in its process.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`] on the event bus of `runtime`.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let (router, state) = build_with_options(config, runtime, PaymentsOptions::default()).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit options; also returns the shared state.
pub async fn build_with_options(
    config: &SubgraphConfig,
    runtime: &Runtime,
    options: PaymentsOptions,
) -> anyhow::Result<(Router, Arc<PaymentsState>)> {
    options::check(config)?;
    let kit = Kit::start("payments", config, runtime, store::migrations()).await?;
    let online = OnlineGateway::from_config(config, &options, &kit);
    let state = Arc::new(PaymentsState {
        store: kit.store().clone(),
        gateways: Gateways::with_online(online.gateway()),
        orders: OrdersClient::new(kit.service_client()),
        settlement: options::Withholding::from_config(config),
    });
    let handlers = |consumer| events::consume::register(consumer, &state);
    kit.consume(|consumer| kit.answering(handlers(consumer), PaymentsPersonalData))
        .await;
    if let Some(interval) = options.refund_retry_interval {
        let retrying = state.clone();
        kit.every(interval, "retrying pending refunds", move || {
            service::refunds::retry_pending(retrying.clone(), interval)
        });
    }
    let schema = schema_builder(Query::default(), Mutation::default())
        .data(state.clone())
        .finish();
    kit.count_gauges(&store::GAUGES);
    let router = kit
        .router(schema, kit.remote_verifier(), schema::with_loaders)
        .merge(webhooks::routes(state.clone()))
        .merge(online.start(&kit, &state));
    Ok((router, state))
}
