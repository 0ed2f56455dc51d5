//! Catalog subgraph: the versioned medicine master, categories, generic
//! alternatives, GST slabs by HSN code, full-text search, vendor listings
//! with batches and an append-only stock ledger, and stock reservations for
//! the checkout saga (service principals only, idempotent per order,
//! first-expiry-first-out, never oversold). Reservations that are not
//! committed in time expire: a sweeper started by [`build`] releases them,
//! and reads and new reservations treat them as released already. Only
//! vendors that users verified and did not suspend sell: catalog follows
//! users' vendor events, hides other vendors' listings from customers and
//! refuses to reserve them.

pub mod demo;
pub mod domain;
pub mod events;
pub mod schema;
pub mod store;

use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use janta_events::Runtime;
use janta_platform::auth::TokenVerifier;
use janta_platform::config::{self, SubgraphConfig};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use janta_platform::tasks::background;
use schema::{
    AlternativesLoader, CatalogSchema, CategoryLoader, ListingLoader, MedicineLoader, Mutation,
    Query, TopListingsLoader, VersionsLoader,
};
use std::sync::Arc;
use std::time::Duration;

/// Tunable catalog behaviour, from the configuration
/// (`reservation_ttl_secs`, `reservation_sweep_secs`, `stock_low_threshold`).
#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// How long a reservation holds stock before it expires (default 15 min).
    pub reservation_ttl: Duration,
    /// How often the sweeper looks for expired reservations (default 30 s).
    pub sweep_interval: Duration,
    /// `StockLow` fires when a listing's sellable stock falls below this (default 10).
    pub stock_low_threshold: i64,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        CatalogSettings {
            reservation_ttl: config::DEFAULT_RESERVATION_TTL,
            sweep_interval: config::DEFAULT_RESERVATION_SWEEP_INTERVAL,
            stock_low_threshold: config::DEFAULT_STOCK_LOW_THRESHOLD,
        }
    }
}

impl CatalogSettings {
    /// The settings `config` holds (checked when it was loaded).
    pub fn from_config(config: &SubgraphConfig) -> Self {
        CatalogSettings {
            reservation_ttl: config.reservation_ttl,
            sweep_interval: config.reservation_sweep_interval,
            stock_low_threshold: config.stock_low_threshold,
        }
    }
}

/// What resolvers share: the store and the settings.
pub struct CatalogState {
    /// This subgraph's database.
    pub store: Store,
    /// Reservation TTL, stock-low threshold.
    pub settings: CatalogSettings,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> CatalogSchema {
    with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the HTTP app of the catalog subgraph, alone
/// in its process ([`Runtime::standalone`]: without a NATS URL its events
/// wait in the outbox), with settings from the environment.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Connects, migrates and builds the HTTP app of the catalog subgraph,
/// starts the relay of its outbox and the consumer of users' vendor events
/// on the event bus of `runtime`, and the reservation sweeper. Settings
/// come from the environment.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    build_with_settings(config, runtime, CatalogSettings::from_config(config)).await
}

/// [`build_with`] with explicit settings (tests use a short reservation TTL).
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: CatalogSettings,
) -> anyhow::Result<(Router, Store)> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    let bus = runtime.event_bus(config).await?;
    let relay = bus.start_relay(&store, "catalog");
    let consumer = events::start_consumer(&bus, &store).await;
    background().on_shutdown(async move {
        consumer.stop().await;
        relay.stop().await;
    });
    let verifier = Arc::new(TokenVerifier::remote(
        &config.auth.jwks_url,
        &config.auth.issuer,
        &config.auth.audience,
    ));
    spawn_sweeper(store.clone(), settings.sweep_interval);
    let state = CatalogState {
        store: store.clone(),
        settings,
    };
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state)
        .finish();
    let s = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<MedicineLoader>(&s))
            .data(batched::<VersionsLoader>(&s))
            .data(batched::<ListingLoader>(&s))
            .data(batched::<CategoryLoader>(&s))
            .data(batched::<AlternativesLoader>(&s))
            .data(batched::<TopListingsLoader>(&s))
    });
    let router = subgraph_router_with_checks(
        schema,
        verifier,
        store.clone(),
        extend,
        vec![bus.readiness_check()],
        config.trusted_proxies.clone(),
    );
    Ok((router, store))
}

/// Expires overdue reservations every `interval` until the pool is closed.
fn spawn_sweeper(store: Store, interval: Duration) {
    background().spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if store.pool().is_closed() {
                break;
            }
            match store::stock::expire_due(&store, chrono::Utc::now(), 500).await {
                Ok(expired) if !expired.is_empty() => {
                    tracing::info!(count = expired.len(), "expired stock reservations")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "reservation sweep failed"),
            }
        }
    });
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;
