//! Notifications subgraph: telling people. It consumes every other
//! subgraph's events and, by one rule per event type, stores in-app
//! notifications and e-mail, SMS and signed partner webhook deliveries
//! ([`service::notify`]), each with recorded attempts, retried, dead-lettered
//! and replayable ([`service::delivery`]). Contact details stay with users:
//! they are fetched by ID at delivery time and never stored or logged here.

pub mod channels;
pub mod demo;
pub mod domain;
pub mod events;
pub mod schema;
pub mod secrets;
pub mod service;
pub mod store;
pub mod target;
pub mod webhook_doc;

use axum::Router;
use janta_events::Runtime;
use janta_kit::Kit;
use janta_platform::config::{Mode, SubgraphConfig};
use janta_platform::store::Store;
use schema::{Mutation, Query};
use service::delivery::{self, Deliverer, DeliverySettings};
use std::sync::Arc;
use std::time::Duration;

/// What resolvers and the event handlers share.
pub struct NotificationsState {
    /// This subgraph's database.
    pub store: Store,
    /// The delivery worker (resolvers wake it after a replay).
    pub deliverer: Arc<Deliverer>,
    /// Production refuses plain-http webhook URLs.
    pub production: bool,
    /// Seals webhook signing secrets before they are stored.
    pub secrets: Arc<secrets::SecretBox>,
    /// Which addresses new webhook subscriptions may target.
    pub targets: target::TargetPolicy,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> schema::NotificationsSchema {
    janta_kit::schema_builder(Query::default(), Mutation::default()).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Builds the subgraph alone in its process (no NATS URL: no events).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Builds the subgraph on the event bus of `runtime`.
pub async fn build_with(config: &SubgraphConfig, rt: &Runtime) -> anyhow::Result<(Router, Store)> {
    let settings = DeliverySettings::from_config(config);
    let (router, state) = build_with_settings(config, rt, settings).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit delivery settings (tests use short
/// back-offs); also returns the shared state.
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: DeliverySettings,
) -> anyhow::Result<(Router, Arc<NotificationsState>)> {
    let setup = delivery::Setup::from_config(config, settings)?;
    let kit = Kit::start("notifications", config, runtime, store::migrations()).await?;
    let store = kit.store().clone();
    let deliverer = Arc::new(setup.deliverer(store.clone()));
    let (secrets, targets) = (deliverer.secrets(), deliverer.target_policy());
    secrets::seal_legacy_secrets(&store, &secrets).await?;
    let (worker, production) = (deliverer.clone(), config.mode == Mode::Production);
    let personal_data = service::personal_data::NotificationsData::new(config.outbox_dir.clone());
    let handlers = |consumer| events::handlers(consumer, deliverer.clone());
    kit.consume(|consumer| kit.answering(handlers(consumer), personal_data))
        .await;
    kit.every(Duration::from_millis(10), "delivery worker", move || {
        worker.clone().round()
    });
    let state = Arc::new(NotificationsState {
        store,
        deliverer,
        production,
        secrets,
        targets,
    });
    let schema = janta_kit::schema_builder(Query::default(), Mutation::default())
        .data(state.clone())
        .finish();
    kit.count_gauges(&store::GAUGES);
    let router = kit.router(schema, kit.remote_verifier(), schema::with_loaders);
    Ok((router, state))
}
