//! Catalog subgraph: the versioned medicine master, categories, generic
//! alternatives, GST slabs, full-text search, vendor listings with batches
//! and a stock ledger, and stock reservations for the checkout saga
//! (idempotent per order, first expiry first out, never oversold; a sweeper
//! expires those not committed in time). Only vendors that users verified
//! and did not suspend sell (catalog follows users' vendor events); Schedule
//! X is never sold online; a pack never sells above its batch's MRP nor
//! with too little shelf life left; expired batches go to quarantine.

pub mod demo;
pub mod domain;
pub mod events;
pub mod schema;
pub mod service;
mod settings;
pub mod store;

pub use settings::CatalogSettings;

use axum::Router;
use janta_events::Runtime;
use janta_kit::{schema_builder, Kit};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use schema::{CatalogSchema, Mutation, Query};

/// What resolvers share: the store and the settings.
pub struct CatalogState {
    /// This subgraph's database.
    pub store: Store,
    /// Reservation TTL, stock-low threshold, shelf life at sale, sweeps.
    pub settings: CatalogSettings,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> CatalogSchema {
    schema_builder(Query::default(), Mutation::default()).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// The catalog subgraph alone in its process ([`Runtime::standalone`]).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// The catalog subgraph on the event bus of `runtime`, settings from `config`.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    build_with_settings(config, runtime, CatalogSettings::from_config(config)).await
}

/// Connects, migrates, relays the outbox, consumes users' vendor events
/// and personal-data requests ([`service::personal_data`]),
/// sweeps expired reservations every `settings.sweep_interval` and expired
/// batches into quarantine every `settings.expiry_sweep_interval`, and
/// builds the HTTP app (tests pass a short reservation TTL).
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: CatalogSettings,
) -> anyhow::Result<(Router, Store)> {
    let kit = Kit::start("catalog", config, runtime, store::migrations()).await?;
    let store = kit.store().clone();
    kit.consume(|consumer| {
        let consumer = events::consume::handlers(consumer);
        kit.answering(consumer, service::personal_data::CatalogData)
    })
    .await;
    let swept = store.clone();
    kit.every(settings.sweep_interval, "reservation sweep", move || {
        service::reservations::sweep(swept.clone())
    });
    let expired = store.clone();
    kit.every(settings.expiry_sweep_interval, "expiry sweep", move || {
        service::quarantine::sweep(expired.clone())
    });
    let state = CatalogState {
        store: store.clone(),
        settings,
    };
    let schema = schema_builder(Query::default(), Mutation::default())
        .data(state)
        .finish();
    kit.count_gauges(&store::stock::GAUGES);
    let router = kit.router(schema, kit.remote_verifier(), schema::with_loaders);
    Ok((router, store))
}
