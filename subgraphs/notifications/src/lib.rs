//! Notifications subgraph: telling people. It consumes every other
//! subgraph's events and, by one rule per event type, stores in-app
//! notifications for customers, vendor staff and pharmacists, sends e-mail
//! (SMTP) and SMS (a provider trait) as each person's preferences say, and
//! posts signed webhooks to partner subscriptions. Every e-mail, SMS and
//! webhook is a delivery with recorded attempts, retried with back-off
//! when the failure is transient and dead-lettered after the last attempt,
//! for admins to see and replay. Dev mode writes e-mail and SMS to files
//! under `{data_dir}/outbox/` instead of sending them.
//!
//! Webhooks reach only public addresses ([`target`]), carry only events
//! their owner may read ([`domain::WebhookScope`]), and are signed with
//! secrets sealed at rest ([`secrets`]).
//!
//! It owns notifications, read marks, preferences, webhook subscriptions,
//! partners' grants of event types, deliveries and attempts. Contact
//! details stay with users: they are fetched by ID at delivery time and
//! never stored or logged here.

pub mod channels;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod events;
pub mod schema;
pub mod secrets;
pub mod store;
pub mod target;

use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use channels::Channels;
use delivery::{Deliverer, DeliverySettings};
use janta_events::{Backoff, Runtime};
use janta_platform::auth::TokenVerifier;
use janta_platform::config::{Mode, SubgraphConfig};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use schema::{
    AttemptsLoader, DeliveryLoader, Mutation, NotificationLoader, NotificationsSchema, Query,
    ReadLoader,
};
use std::sync::Arc;

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

/// Delivery settings: defaults, with the attempts and back-off `config`
/// holds (`delivery_max_attempts`, `delivery_backoff_ms`,
/// `delivery_backoff_max_ms`).
pub fn delivery_settings(config: &SubgraphConfig) -> DeliverySettings {
    DeliverySettings {
        max_attempts: config.delivery_max_attempts,
        backoff: Backoff::new(config.delivery_backoff, config.delivery_backoff_max),
        ..DeliverySettings::default()
    }
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> NotificationsSchema {
    with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Connects, migrates and builds the HTTP app of the notifications
/// subgraph alone in its process ([`Runtime::standalone`]: without a NATS
/// URL it receives no events).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`] on the event bus of `runtime` (the process's in-process
/// bus, or NATS when configured), with delivery settings from the environment.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let (router, state) = build_with_settings(config, runtime, delivery_settings(config)).await?;
    Ok((router, state.store.clone()))
}

/// Like [`build_with`] with explicit delivery settings (tests use short
/// back-offs); also returns the shared state.
pub async fn build_with_settings(
    config: &SubgraphConfig,
    runtime: &Runtime,
    settings: DeliverySettings,
) -> anyhow::Result<(Router, Arc<NotificationsState>)> {
    config.check_webhook_settings()?;
    let secret_box = Arc::new(secrets::SecretBox::new(
        &config.webhook_encryption_key_bytes()?,
    ));
    let channels = Channels::from_config(config, settings.send_timeout)?;
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    secrets::seal_legacy_secrets(&store, &secret_box).await?;
    let bus = runtime.event_bus(config).await?;
    let verifier = Arc::new(TokenVerifier::remote(
        &config.auth.jwks_url,
        &config.auth.issuer,
        &config.auth.audience,
    ));
    let targets = channels.webhooks.policy();
    let deliverer = Arc::new(Deliverer::new(
        store.clone(),
        channels,
        settings,
        secret_box.clone(),
    ));
    let state = Arc::new(NotificationsState {
        store: store.clone(),
        deliverer: deliverer.clone(),
        production: config.mode == Mode::Production,
        secrets: secret_box,
        targets,
    });
    let consumer = events::start(&bus, &store, deliverer.clone()).await;
    janta_platform::tasks::background().on_shutdown(consumer.stop());
    Deliverer::spawn(&deliverer);
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state.clone())
        .finish();
    let s = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<NotificationLoader>(&s))
            .data(batched::<ReadLoader>(&s))
            .data(batched::<DeliveryLoader>(&s))
            .data(batched::<AttemptsLoader>(&s))
    });
    let router = subgraph_router_with_checks(
        schema,
        verifier,
        store.clone(),
        extend,
        vec![bus.readiness_check()],
        config.trusted_proxies.clone(),
    );
    Ok((router, state))
}
