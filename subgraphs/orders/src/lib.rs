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
pub mod saga;
pub mod schema;
pub mod store;

use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use janta_events::Runtime;
use janta_platform::auth::TokenVerifier;
use janta_platform::client::ServiceClient;
use janta_platform::config::{self, SubgraphConfig};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use janta_platform::tasks::background;
use peers::Peers;
use schema::{HistoryLoader, LinesLoader, Mutation, OrderLoader, OrdersSchema, Query};
use std::sync::Arc;
use std::time::Duration;

/// Timing of the saga's background work, configurable per deployment.
#[derive(Debug, Clone)]
pub struct OrdersSettings {
    /// How long an order waits for its online payment before it is
    /// cancelled and its stock released (default 14 minutes).
    pub payment_window: Duration,
    /// How often the sweeper looks for expired orders, owed calls and
    /// abandoned checkouts (default 15 seconds).
    pub sweep_interval: Duration,
    /// How long a duplicate `placeOrder` (same idempotency key) waits for the
    /// first one to finish before answering `CONFLICT` (default 20 seconds).
    pub duplicate_wait: Duration,
    /// When an unfinished checkout counts as abandoned (its process died):
    /// its reservations are released and its key freed (default 5 minutes).
    pub abandoned_checkout_after: Duration,
    /// Whether `build` starts the sweeper (tests drive it by hand).
    pub run_sweeper: bool,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        OrdersSettings {
            payment_window: config::DEFAULT_ORDER_PAYMENT_WINDOW,
            sweep_interval: config::DEFAULT_ORDER_SWEEP_INTERVAL,
            duplicate_wait: Duration::from_secs(20),
            abandoned_checkout_after: Duration::from_secs(5 * 60),
            run_sweeper: true,
        }
    }
}

impl OrdersSettings {
    /// Defaults, with the payment window and sweep interval `config` holds
    /// (`order_payment_window_minutes`, `order_sweep_seconds`).
    pub fn from_config(config: &SubgraphConfig) -> Self {
        OrdersSettings {
            payment_window: config.order_payment_window,
            sweep_interval: config.order_sweep_interval,
            ..OrdersSettings::default()
        }
    }
}

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
    with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the HTTP app of the orders subgraph alone
/// in its process ([`Runtime::standalone`]), with settings from the
/// environment; starts the sweeper.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`] on the event bus of `runtime` (the process's in-process
/// bus, or NATS when configured).
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let (router, state) =
        build_with_settings(config, runtime, OrdersSettings::from_config(config)).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit settings; also returns the shared state
/// (tests call the sweeper and the event handlers on it).
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: OrdersSettings,
) -> anyhow::Result<(Router, Arc<OrdersState>)> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    let bus = runtime.event_bus(config).await?;
    let verifier = Arc::new(TokenVerifier::remote(
        &config.auth.jwks_url,
        &config.auth.issuer,
        &config.auth.audience,
    ));
    let run_sweeper = settings.run_sweeper;
    let state = Arc::new(OrdersState {
        store: store.clone(),
        peers: Peers::new(ServiceClient::new(config)),
        settings,
    });
    let tasks = events::start(&bus, &store, state.clone()).await;
    background().on_shutdown(tasks.stop());
    if run_sweeper {
        background().spawn(saga::run_sweeper(state.clone()));
    }
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state.clone())
        .finish();
    let loader_store = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<OrderLoader>(&loader_store))
            .data(batched::<LinesLoader>(&loader_store))
            .data(batched::<HistoryLoader>(&loader_store))
    });
    let router = subgraph_router_with_checks(
        schema,
        verifier,
        store,
        extend,
        vec![bus.readiness_check()],
        config.trusted_proxies.clone(),
    );
    Ok((router, state))
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;

#[cfg(test)]
mod tests {
    #[test]
    fn sdl_declares_the_entities_it_owns_and_references() {
        let sdl = super::sdl();
        for expected in [
            "type Order @key(fields: \"id\")",
            "type User @key(fields: \"id\")",
            "type Vendor @key(fields: \"id\")",
            "type Medicine @key(fields: \"id\", resolvable: false)",
            "type Listing @key(fields: \"id\", resolvable: false)",
            "type Money @shareable",
        ] {
            assert!(sdl.contains(expected), "missing {expected:?} in\n{sdl}");
        }
        assert!(
            !sdl.contains("price:"),
            "orders must not take prices from clients"
        );
        if std::env::var("PRINT_SDL").is_ok() {
            println!("{sdl}");
        }
    }
}
