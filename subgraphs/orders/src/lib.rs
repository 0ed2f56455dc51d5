//! Orders subgraph: carts, checkout (the saga that turns a cart into one
//! order per vendor), GST on every line, the order state machine with its
//! history, and what happens when payments succeed or fail. It owns carts and
//! orders; prices, stock, prescriptions, addresses and vendors belong to
//! other subgraphs and are fetched through their service interfaces and
//! snapshotted onto the order.

pub mod demo;
pub mod domain;
pub mod events;
pub mod peers;
pub mod schema;
pub mod service;
pub mod settings;
pub mod store;

use axum::Router;
use janta_events::Runtime;
use janta_kit::{schema_builder, Kit};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use peers::Peers;
use schema::{Mutation, OrdersSchema, Query};
use service::personal_data::OrdersPersonalData;
pub use settings::OrdersSettings;
use std::sync::Arc;

/// What resolvers, event handlers and the sweeper share.
pub struct OrdersState {
    /// This subgraph's database.
    pub store: Store,
    /// The other subgraphs' service interfaces.
    pub peers: Peers,
    /// Saga timing.
    pub settings: OrdersSettings,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> OrdersSchema {
    schema_builder(Query::default(), Mutation::default()).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the orders subgraph alone in its process.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Connects, migrates and builds the HTTP app of the orders subgraph on the
/// event bus of `runtime`, with the settings `config` holds.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let settings = OrdersSettings::from_config(config);
    let (router, state) = build_with_settings(config, runtime, settings).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit settings; also returns the shared state
/// (tests call the sweeper and the event handlers on it).
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: OrdersSettings,
) -> anyhow::Result<(Router, Arc<OrdersState>)> {
    let kit = Kit::start("orders", config, runtime, store::migrations()).await?;
    let state = Arc::new(OrdersState {
        store: kit.store().clone(),
        peers: Peers::new(kit.service_client()),
        settings,
    });
    kit.consume(|consumer| {
        let consumer = events::consume::register(consumer, &state);
        kit.answering(consumer, OrdersPersonalData)
    })
    .await;
    if state.settings.run_sweeper {
        let swept = state.clone();
        kit.every(state.settings.sweep_interval, "orders sweep", move || {
            service::sweeper::sweep_and_log(swept.clone())
        });
    }
    let schema = schema_builder(Query::default(), Mutation::default())
        .data(state.clone())
        .finish();
    let router = kit.router(schema, kit.remote_verifier(), schema::with_loaders);
    Ok((router, state))
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;
