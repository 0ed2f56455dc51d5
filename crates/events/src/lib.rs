//! Events between Janta subgraphs, written once for all six.
//!
//! - **Publishing**: a subgraph records each event in its own `outbox` table
//!   in the same transaction as the change ([`publish`] with a typed payload
//!   from [`types`]); an event exists exactly when its change committed.
//! - **Relay** ([`Relay`], started by [`EventBus::start_relay`] in the
//!   subgraph's `build`): hands committed outbox rows to the transport in
//!   order and marks them published; survives crashes (at-least-once) and
//!   backs off while the transport is down.
//! - **Transports** ([`Transport`]): [`InProcessBus`] when every subgraph
//!   runs in one process (`janta dev`), [`NatsTransport`] (JetStream) when
//!   they run as separate processes or replicas. Same code above either.
//! - **Consumers** ([`Consumer`], from [`EventBus::consumer`]): handlers per
//!   event type, run in the consumer's transaction together with a
//!   `processed_events` row, so a redelivered event has its effect once;
//!   failures are retried with back-off and finally parked
//!   ([`list_parked`], [`ConsumerHandle::replay_parked`]).
//!
//! ```ignore
//! // In a subgraph's build():
//! let events = runtime.event_bus(config).await?;
//! events.start_relay(&store, "orders");
//! let consumer = events
//!     .consumer("orders", &store)
//!     .on(PaymentSucceededHandler { .. })
//!     .on_fn(|conn, event: PaymentFailed, envelope| Box::pin(async move { … }))
//!     .start()
//!     .await;
//! // In a resolver, inside the transaction of the change:
//! janta_events::publish(&mut tx, &OrderPlaced { .. }, &actor, correlation).await?;
//! ```

mod backoff;
mod consumer;
pub mod doc;
mod in_process;
mod nats;
mod relay;
mod store;
mod transport;
pub mod types;

pub use backoff::Backoff;
pub use consumer::{Consumer, ConsumerHandle, ConsumerSettings, EventHandler, Outcome, Replayer};
pub use in_process::{InProcessBus, DEFAULT_SETTLE_TIMEOUT};
pub use janta_platform::events::{outbox_written, Envelope};
pub use nats::NatsTransport;
pub use relay::{pending_events, Relay, RelayHandle, RelaySettings};
pub use store::{
    discard_parked, find_parked, is_processed, list_parked, outbox_backlog, parked_counts,
    processed_count, ParkedEvent,
};
pub use transport::{
    Acker, Deliveries, Delivery, PublishError, Receipt, Subscription, Transport, Undecodable,
};
pub use types::Event;

use janta_platform::cause::Cause;
use janta_platform::config::{Secret, SubgraphConfig};
use janta_platform::metrics::{gauge_source, Gauge, GaugeSource};
use janta_platform::server::{readiness_check, ReadinessCheck};
use janta_platform::store::Store;
use sqlx::AnyConnection;
use std::sync::Arc;

/// The envelope of a typed event: fresh ID, now, `E`'s type, version and
/// aggregate, caused by `cause`.
pub fn envelope<E: Event>(event: &E, cause: &Cause) -> Envelope {
    let mut envelope = Envelope::new(
        E::TYPE,
        E::AGGREGATE_TYPE,
        event.aggregate_id(),
        cause.actor(),
        cause.correlation(),
        serde_json::Value::Null,
    );
    envelope.version = E::VERSION;
    // Serialising a plain derived struct cannot fail; Null would be visible
    // to consumers as a mismatching payload (parked), never silently lost.
    envelope.payload = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    envelope
}

/// Records the typed `event` in the outbox inside the caller's transaction,
/// stamped with who caused it and the request it belongs to. Returns the
/// envelope written.
pub async fn publish<E: Event>(
    conn: &mut AnyConnection,
    event: &E,
    cause: &Cause,
) -> sqlx::Result<Envelope> {
    let envelope = envelope(event, cause);
    janta_platform::events::publish(conn, &envelope).await?;
    Ok(envelope)
}

/// The `/metrics` gauges of events in `store`, the database of subgraph
/// `name` (publisher and consumer): its outbox backlog and the age of the
/// oldest unsent event (what its consumers wait for), and the events its
/// consumer parked (0 when none). Pass it to `janta_platform::server`'s
/// metrics settings (`janta_kit` does).
pub fn gauges(store: &Store, name: &'static str) -> GaugeSource {
    let store = store.clone();
    gauge_source("events", move || {
        let store = store.clone();
        async move {
            let (pending, age) = outbox_backlog(&store).await?;
            let mut parked = parked_counts(&store).await?;
            if !parked.iter().any(|(consumer, _)| consumer == name) {
                parked.push((name.to_string(), 0));
            }
            let mut gauges = vec![
                Gauge::new(
                    "janta_outbox_pending_events",
                    "Events committed to the outbox and not yet handed to the transport.",
                    pending as f64,
                ),
                Gauge::new(
                    "janta_outbox_oldest_pending_age_seconds",
                    "Age of the oldest event not yet handed to the transport (0 when none).",
                    age,
                ),
            ];
            gauges.extend(parked.into_iter().map(|(consumer, n)| {
                Gauge::new(
                    "janta_events_parked",
                    "Events a consumer gave up on and parked, awaiting replay.",
                    n as f64,
                )
                .label("consumer", consumer)
            }));
            Ok(gauges)
        }
    })
}

/// Resolves once a stop was asked for through the handle's sender; never
/// when the handle was dropped instead (a dropped handle leaves the
/// background task running).
pub(crate) async fn stop_requested(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A subgraph's handle on the event transport: starts its relay, builds its
/// consumers, reports readiness. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    transport: Arc<dyn Transport>,
}

impl EventBus {
    /// Events over any transport.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        EventBus { transport }
    }

    /// Events over the process's in-process bus.
    pub fn in_process(bus: &InProcessBus) -> Self {
        Self::new(Arc::new(bus.clone()))
    }

    /// Events over NATS JetStream.
    pub fn nats(transport: NatsTransport) -> Self {
        Self::new(Arc::new(transport))
    }

    /// The transport underneath.
    pub fn transport(&self) -> Arc<dyn Transport> {
        self.transport.clone()
    }

    /// The relay of `store`'s outbox for publishing subgraph `source`, not
    /// started (to change its settings first).
    pub fn relay(&self, store: &Store, source: &str) -> Relay {
        Relay::new(store.clone(), source, self.transport.clone())
    }

    /// Starts the relay of `store`'s outbox for publishing subgraph `source`
    /// with default settings.
    pub fn start_relay(&self, store: &Store, source: &str) -> RelayHandle {
        self.relay(store, source).spawn()
    }

    /// A consumer named `name` (the consuming subgraph) writing to `store`;
    /// add handlers with [`Consumer::on`] and call [`Consumer::start`].
    pub fn consumer(&self, name: &str, store: &Store) -> Consumer {
        Consumer::new(name, store.clone(), self.transport.clone())
    }

    /// A `/ready` check that fails while the transport is unusable; pass it
    /// to `janta_platform::server::subgraph_router_with_checks`.
    pub fn readiness_check(&self) -> ReadinessCheck {
        let transport = self.transport.clone();
        readiness_check("event bus", move || {
            let transport = transport.clone();
            async move { transport.check().await }
        })
    }
}

/// What the subgraphs running in one process share for events: the
/// in-process bus. `janta dev` makes one, passes it to every subgraph's
/// `build`, then releases the bus; a subgraph run alone uses
/// [`Runtime::standalone`].
#[derive(Clone)]
pub struct Runtime {
    bus: InProcessBus,
    standalone: bool,
}

impl Runtime {
    /// Subgraphs of one process sharing `bus`.
    pub fn new(bus: InProcessBus) -> Self {
        Runtime {
            bus,
            standalone: false,
        }
    }

    /// One subgraph alone in its process. Without a NATS URL there is no one
    /// to deliver to: its events wait in its outbox (they are sent once it
    /// runs with NATS, or inside `janta dev`).
    pub fn standalone() -> Self {
        Runtime {
            bus: InProcessBus::held(),
            standalone: true,
        }
    }

    /// The shared in-process bus.
    pub fn in_process_bus(&self) -> &InProcessBus {
        &self.bus
    }

    /// The event bus for the subgraph configured by `config`: NATS when
    /// `config.nats_url` is set (namespace `config.events_namespace`),
    /// otherwise the shared in-process bus.
    pub async fn event_bus(&self, config: &SubgraphConfig) -> anyhow::Result<EventBus> {
        match config.nats_url.as_ref().map(Secret::expose) {
            Some(url) => {
                let transport = NatsTransport::connect(
                    url,
                    &config.events_namespace,
                    &format!("janta-{}", config.domain),
                )
                .await?;
                tracing::info!(
                    domain = %config.domain,
                    url = %nats::redact_url(url),
                    namespace = %config.events_namespace,
                    "events over NATS JetStream"
                );
                Ok(EventBus::nats(transport))
            }
            None => {
                if self.standalone {
                    tracing::warn!(
                        domain = %config.domain,
                        "no JANTA_NATS_URL: events published here wait in the outbox until \
                         this subgraph runs with NATS (or inside `janta dev`)"
                    );
                }
                Ok(EventBus::in_process(&self.bus))
            }
        }
    }
}
