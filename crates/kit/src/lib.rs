//! The one way a subgraph is put together, so that each subgraph's `lib.rs`
//! names only what is its own (schema, loaders, consumers, sweepers):
//! [`Kit::start`] connects the store, migrates, opens the event bus and
//! starts the outbox relay; [`Kit::consume`] and [`Kit::every`] start the
//! subgraph's consumer and sweepers; [`Kit::router`] builds the HTTP app.
//! Everything started here belongs to the process's background task set,
//! which `serve` cancels and awaits on shutdown.

pub mod operations;
pub mod personal_data;

use async_graphql::{EmptySubscription, ObjectType, Schema, SchemaBuilder};
use axum::Router;
use janta_events::{Consumer, ConsumerSettings, EventBus, Runtime};
use janta_platform::auth::TokenVerifier;
use janta_platform::client::ServiceClient;
use janta_platform::config::SubgraphConfig;
use janta_platform::metrics::GaugeSource;
use janta_platform::server::{
    subgraph_router_with_checks, with_limits, MetricsSettings, SubgraphLimits, SubgraphName,
};
use janta_platform::store::{Migrations, Store};
use janta_platform::tasks::background;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// mimalloc, not the system allocator, in every process that runs a
/// subgraph (and the router, which is built for it). With glibc's malloc the
/// platform held 1 040 MiB after 64 customers signed up and 907 MiB after a
/// minute of load; with mimalloc, 146 and 187 MiB, and 1.1–1.8× the
/// throughput (bench/README.md): the many short-lived allocations of
/// requests spread over the SQLite workers' threads fragmented glibc's
/// per-thread arenas, which is the slow growth issue 16 saw.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A subgraph being assembled: its store (migrated), its event bus with the
/// outbox relay running, and its configuration.
pub struct Kit {
    name: &'static str,
    config: SubgraphConfig,
    store: Store,
    bus: EventBus,
    gauges: Mutex<Vec<GaugeSource>>,
    /// The consumer's replayer once [`Kit::consume`] ran, for the admin API.
    replayer: Arc<OnceLock<janta_events::Replayer>>,
}

/// The schema builder every subgraph starts from: its query and mutation
/// roots under the platform's depth, complexity and size limits.
pub fn schema_builder<Q, M>(query: Q, mutation: M) -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    with_limits(Schema::build(query, mutation, EmptySubscription))
}

impl Kit {
    /// Connects to the subgraph `name`'s database, applies `migrations`,
    /// opens the event bus of `runtime` and starts the relay of the outbox.
    pub async fn start(
        name: &'static str,
        config: &SubgraphConfig,
        runtime: &Runtime,
        migrations: Migrations,
    ) -> anyhow::Result<Kit> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate(&migrations).await?;
        let bus = runtime.event_bus(config).await?;
        let relay = bus.start_relay(&store, name);
        background().on_shutdown(relay.stop());
        Ok(Kit {
            name,
            config: config.clone(),
            store,
            bus,
            gauges: Mutex::default(),
            replayer: Arc::default(),
        })
    }

    /// The subgraph's migrated store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The subgraph's configuration.
    pub fn config(&self) -> &SubgraphConfig {
        &self.config
    }

    /// The event bus (for tests and special consumers).
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// A verifier of the users subgraph's tokens through its JWKS.
    pub fn remote_verifier(&self) -> Arc<TokenVerifier> {
        let auth = &self.config.auth;
        Arc::new(TokenVerifier::remote(
            &auth.jwks_url,
            &auth.issuer,
            &auth.audience,
        ))
    }

    /// A client for calls to other subgraphs, as this subgraph's service.
    pub fn service_client(&self) -> ServiceClient {
        ServiceClient::new(&self.config)
    }

    /// Starts the subgraph's consumer (named after the subgraph) with the
    /// handlers `register` adds, trying each event as many times as the
    /// configuration says (`consumer_max_attempts`) before parking it; it
    /// stops gracefully on shutdown.
    pub async fn consume(&self, register: impl FnOnce(Consumer) -> Consumer) {
        let settings = ConsumerSettings {
            max_attempts: self.config.consumer_max_attempts,
            ..ConsumerSettings::default()
        };
        let consumer = self
            .bus
            .consumer(self.name, &self.store)
            .with_settings(settings);
        let consumer = register(consumer).start().await;
        let _ = self.replayer.set(consumer.replayer());
        self.gauges(consumer.lag_gauges());
        background().on_shutdown(consumer.stop());
    }

    /// Adds to `consumer` this subgraph's answers to personal-data requests
    /// (its part of a customer's export, its erasure), made by `data` and
    /// delivered to users ([`personal_data::answer_requests`]).
    pub fn answering(
        &self,
        consumer: Consumer,
        data: impl personal_data::PersonalData,
    ) -> Consumer {
        let sink = Arc::new(personal_data::UsersSink::new(self.service_client()));
        personal_data::answer_requests(consumer, self.name, self.store.clone(), data, sink)
    }

    /// Adds the subgraph's domain gauges to its `/metrics` (call before
    /// [`Kit::router`]); the events gauges are always there.
    pub fn gauges(&self, source: GaugeSource) {
        self.gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(source);
    }

    /// Adds gauges that count rows of the subgraph's own tables (`queries`:
    /// its store's `GAUGES`) to its `/metrics`.
    pub fn count_gauges(&self, queries: &[janta_platform::metrics::CountQuery]) {
        let source = janta_platform::metrics::counting(self.name, &self.store, queries.to_vec());
        self.gauges(source);
    }

    /// Runs `work` every `interval` (first after one interval) until
    /// shutdown or until the store closes; a failed round is logged as
    /// `what` and the next one runs as usual.
    pub fn every<F, Fut>(&self, interval: Duration, what: &'static str, work: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let store = self.store.clone();
        background().spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if store.pool().is_closed() {
                    return;
                }
                if let Err(err) = work().await {
                    tracing::warn!(error = %format!("{err:#}"), "{what} failed");
                }
            }
        });
    }

    /// The subgraph's HTTP app: `/graphql` over `schema` (with the loaders
    /// `loaders` adds to each request, fresh per request), `/ready` (store
    /// and event bus), `/health` and `/metrics` (events and the gauges
    /// added with [`Kit::gauges`]), with tokens checked by `verifier`.
    pub fn router<Q, M>(
        &self,
        schema: Schema<Q, M, EmptySubscription>,
        verifier: Arc<TokenVerifier>,
        loaders: impl Fn(async_graphql::Request, &Store) -> async_graphql::Request
            + Send
            + Sync
            + 'static,
    ) -> Router
    where
        Q: ObjectType + 'static,
        M: ObjectType + 'static,
    {
        let store = self.store.clone();
        let ops = operations::SubgraphOps::new(self.name, store.clone(), self.replayer.clone());
        let extend = Arc::new(move |request: async_graphql::Request| {
            loaders(request.data(ops.clone()), &store)
        });
        let mut sources = vec![janta_events::gauges(&self.store, self.name)];
        sources.extend(
            self.gauges
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain(..),
        );
        subgraph_router_with_checks(
            schema,
            verifier,
            self.store.clone(),
            extend,
            vec![self.bus.readiness_check()],
            self.config.trusted_proxies.clone(),
            SubgraphLimits {
                clients: self.config.client_limits,
                max_query_cost: self.config.max_query_cost,
            },
            MetricsSettings {
                sources,
                access: self.config.metrics_access(),
            },
        )
        // Names the subgraph in its trace spans.
        .layer(axum::Extension(SubgraphName(self.name)))
    }
}
