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

use anyhow::Context as _;
use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use channels::Channels;
use delivery::{Deliverer, DeliverySettings};
use janta_events::{Backoff, Runtime};
use janta_platform::auth::TokenVerifier;
use janta_platform::config::{Mode, SubgraphConfig};
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use schema::{
    AttemptsLoader, DeliveryLoader, Mutation, NotificationLoader, NotificationsSchema, Query,
    ReadLoader,
};
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
    /// The running consumer (kept alive with the state).
    _events: std::sync::Mutex<Option<events::EventTasks>>,
}

/// Delivery settings from the environment (`JANTA_DELIVERY_MAX_ATTEMPTS`,
/// default 5; `JANTA_DELIVERY_BACKOFF_MS`, first retry delay, default 5000;
/// `JANTA_DELIVERY_BACKOFF_MAX_MS`, default 900000); nonsense is a start-up error.
pub fn settings_from_env() -> anyhow::Result<DeliverySettings> {
    let mut settings = DeliverySettings::default();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(v) = var("JANTA_DELIVERY_MAX_ATTEMPTS") {
        let n: u32 = v
            .parse()
            .context("JANTA_DELIVERY_MAX_ATTEMPTS must be a whole number")?;
        anyhow::ensure!(
            (1..=50).contains(&n),
            "JANTA_DELIVERY_MAX_ATTEMPTS must be between 1 and 50"
        );
        settings.max_attempts = n;
    }
    let millis = |name: &str| -> anyhow::Result<Option<Duration>> {
        match var(name) {
            None => Ok(None),
            Some(v) => {
                let ms: u64 = v
                    .parse()
                    .with_context(|| format!("{name} must be a number of milliseconds"))?;
                anyhow::ensure!(
                    (1..=86_400_000).contains(&ms),
                    "{name} must be between 1 and 86400000"
                );
                Ok(Some(Duration::from_millis(ms)))
            }
        }
    };
    let initial = millis("JANTA_DELIVERY_BACKOFF_MS")?.unwrap_or(settings.backoff.initial);
    let max = millis("JANTA_DELIVERY_BACKOFF_MAX_MS")?.unwrap_or(settings.backoff.max);
    settings.backoff = Backoff::new(initial, max.max(initial));
    Ok(settings)
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
    let (router, state) = build_with_settings(config, runtime, settings_from_env()?).await?;
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
        _events: std::sync::Mutex::new(None),
    });
    let tasks = events::start(&bus, &store, deliverer.clone()).await;
    if let Ok(mut slot) = state._events.lock() {
        *slot = Some(tasks);
    }
    Deliverer::spawn(&deliverer);
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state.clone())
        .finish();
    let s = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(DataLoader::new(NotificationLoader(s.clone()), tokio::spawn))
            .data(DataLoader::new(ReadLoader(s.clone()), tokio::spawn))
            .data(DataLoader::new(DeliveryLoader(s.clone()), tokio::spawn))
            .data(DataLoader::new(AttemptsLoader(s.clone()), tokio::spawn))
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
