//! Consuming events: a subgraph registers one handler per event type it
//! cares about and starts the consumer; the rest is written once here.
//!
//! For each delivery, in ONE transaction of the consumer's own store:
//! 1. `INSERT INTO processed_events (consumer, event_id, …) ON CONFLICT DO NOTHING`
//!    — no row inserted means the event was handled before: skip it;
//! 2. run the handler, which writes its effect through the same connection;
//! 3. commit, then acknowledge the delivery.
//!
//! So an event delivered twice has its effect once. A handler error rolls
//! everything back; the delivery is retried after an exponential back-off
//! while other events keep flowing, and after
//! [`ConsumerSettings::max_attempts`] attempts the event is parked in
//! `parked_events` (see [`crate::list_parked`], [`ConsumerHandle::replay_parked`]).
//! A payload that does not match its type is parked at once.
//!
//! Handlers run inside a tracing span carrying the event's correlation ID,
//! so their logs join up with the request that caused the event. Events may
//! arrive out of order after a retry: handlers check the state they act on.

use crate::backoff::Backoff;
use crate::store::{self as event_store, ParkedEvent};
use crate::transport::{Deliveries, Delivery, Subscription, Transport};
use crate::types::Event;
use crate::Envelope;
use async_trait::async_trait;
use futures::future::BoxFuture;
use janta_platform::audit::AuditEntry;
use janta_platform::metrics::{gauge_source, Gauge, GaugeSource};
use janta_platform::store::Store;
use janta_platform::tasks::TaskSet;
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

/// How a consumer retries.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Attempts before an event is parked (at least 1).
    pub max_attempts: u32,
    /// Waits between attempts of one event.
    pub retry_backoff: Backoff,
    /// Events a replica may hold unacknowledged at once (NATS pull batch).
    pub prefetch: usize,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            max_attempts: 5,
            retry_backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(60)),
            prefetch: 16,
        }
    }
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler's effect committed.
    Handled,
    /// Handled before (redelivery): nothing done.
    Duplicate,
    /// No handler for this type here: acknowledged, nothing done.
    Ignored,
}

impl Outcome {
    /// The outcome in lower case, as audit entries and logs record it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

/// Handles one event type inside the consumer's transaction: write the
/// effect through `conn` (do not commit it). An error rolls the effect back
/// and retries the event later.
#[async_trait]
pub trait EventHandler<E: Event>: Send + Sync + 'static {
    /// Applies `event`. `envelope` has the metadata (ID, actor, time, correlation).
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: E,
        envelope: &Envelope,
    ) -> anyhow::Result<()>;

    /// Work that must wait until the effect of [`Self::handle`] committed
    /// (a call to another subgraph, a gateway request): the consumer runs it
    /// right after the commit and, on error, again after its back-off, up to
    /// [`ConsumerSettings::max_attempts`] times. It may also run for an
    /// event handled before (after a restart or a replay), so it re-reads
    /// the state it acts on and does only what is still owed; a sweeper
    /// stays the safety net for work still owed when every attempt failed.
    async fn after_commit(&self, _event: &E, _envelope: &Envelope) -> anyhow::Result<()> {
        Ok(())
    }
}

enum Failure {
    /// Worth trying again (handler or database error).
    Retryable(anyhow::Error),
    /// Will never work (payload does not match the type): park at once.
    Permanent(anyhow::Error),
}

impl Failure {
    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Retryable(e) | Failure::Permanent(e) => e,
        }
    }
}

#[async_trait]
trait ErasedHandler: Send + Sync {
    fn source(&self) -> &'static str;
    async fn handle(&self, conn: &mut AnyConnection, envelope: &Envelope) -> Result<(), Failure>;
    async fn after_commit(&self, envelope: &Envelope) -> anyhow::Result<()>;
}

struct Typed<E, H> {
    handler: H,
    _event: PhantomData<fn() -> E>,
}

#[async_trait]
impl<E: Event, H: EventHandler<E>> ErasedHandler for Typed<E, H> {
    fn source(&self) -> &'static str {
        E::SOURCE
    }

    async fn handle(&self, conn: &mut AnyConnection, envelope: &Envelope) -> Result<(), Failure> {
        let event = decode::<E>(envelope).map_err(Failure::Permanent)?;
        self.handler
            .handle(conn, event, envelope)
            .await
            .map_err(Failure::Retryable)
    }

    async fn after_commit(&self, envelope: &Envelope) -> anyhow::Result<()> {
        let event = decode::<E>(envelope)?;
        self.handler.after_commit(&event, envelope).await
    }
}

fn decode<E: Event>(envelope: &Envelope) -> anyhow::Result<E> {
    serde_json::from_value(envelope.payload.clone()).map_err(|err| {
        anyhow::anyhow!(
            "payload of {} (version {}) does not match the type: {err}",
            envelope.event_type,
            envelope.version
        )
    })
}

/// A handler written as a closure: `|conn, event, envelope| Box::pin(async move { … })`.
struct FnHandler<F>(F);

#[async_trait]
impl<E, F> EventHandler<E> for FnHandler<F>
where
    E: Event,
    F: for<'a> Fn(&'a mut AnyConnection, E, &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>>
        + Send
        + Sync
        + 'static,
{
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: E,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        (self.0)(conn, event, envelope).await
    }
}

struct Core {
    name: String,
    store: Store,
    handlers: HashMap<&'static str, Arc<dyn ErasedHandler>>,
    settings: ConsumerSettings,
    /// Running `after_commit` work, stopped with the consumer.
    followups: TaskSet,
}

/// A consuming subgraph's event handlers, before they start.
pub struct Consumer {
    core: Core,
    transport: Arc<dyn Transport>,
}

impl Consumer {
    /// A consumer named `name` (the consuming subgraph: the NATS durable
    /// consumer and the `processed_events.consumer` value) writing to `store`.
    pub fn new(name: &str, store: Store, transport: Arc<dyn Transport>) -> Self {
        Consumer {
            core: Core {
                name: name.to_string(),
                store,
                handlers: HashMap::new(),
                settings: ConsumerSettings::default(),
                followups: TaskSet::default(),
            },
            transport,
        }
    }

    /// Replaces the default retry settings.
    pub fn with_settings(mut self, settings: ConsumerSettings) -> Self {
        self.core.settings = settings;
        self
    }

    /// Handles events of type `E` with `handler` (one handler per type).
    pub fn on<E: Event>(mut self, handler: impl EventHandler<E>) -> Self {
        self.core.handlers.insert(
            E::TYPE,
            Arc::new(Typed {
                handler,
                _event: PhantomData,
            }),
        );
        self
    }

    /// Handles events of type `E` with a closure:
    /// `.on_fn(|conn, event: UserRegistered, envelope| Box::pin(async move { … }))`.
    pub fn on_fn<E, F>(self, handler: F) -> Self
    where
        E: Event,
        F: for<'a> Fn(&'a mut AnyConnection, E, &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.on::<E>(FnHandler(handler))
    }

    /// Subscribes to every publishing subgraph it has handlers for and
    /// processes deliveries in the background. The first subscription is
    /// made before returning (so in-process, nothing published afterwards
    /// is missed); if the transport is down it is retried in the background.
    pub async fn start(self) -> ConsumerHandle {
        let Consumer { core, transport } = self;
        let core = Arc::new(core);
        let sources: BTreeSet<&'static str> = core.handlers.values().map(|h| h.source()).collect();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut subscriptions = Vec::new();
        for source in sources {
            let subscription = Subscription {
                source: source.to_string(),
                group: core.name.clone(),
                max_attempts: core.settings.max_attempts.max(1),
                prefetch: core.settings.prefetch,
            };
            subscriptions.push(subscription.clone());
            let first = match transport.subscribe(&subscription).await {
                Ok(deliveries) => Some(deliveries),
                Err(err) => {
                    tracing::warn!(
                        consumer = %core.name,
                        source,
                        error = %format!("{err:#}"),
                        "cannot subscribe yet; retrying in the background"
                    );
                    None
                }
            };
            tasks.push(tokio::spawn(run_subscription(
                core.clone(),
                transport.clone(),
                subscription,
                first,
                stopped.clone(),
            )));
        }
        ConsumerHandle {
            core,
            stop,
            tasks,
            transport,
            subscriptions,
        }
    }
}

/// A running consumer: stop it, or look at and replay what it parked.
/// Dropping it leaves the consumer running.
pub struct ConsumerHandle {
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    transport: Arc<dyn Transport>,
    subscriptions: Vec<Subscription>,
}

impl ConsumerHandle {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Stops taking new deliveries, lets the one in hand finish, cancels
    /// pending `after_commit` work (sweepers own what it leaves), and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.core.followups.shutdown().await;
    }

    /// Kills the consumer wherever it is (a crash, for tests): deliveries
    /// in hand are neither acknowledged nor retried.
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Parked events of this consumer not yet resolved, oldest first.
    pub async fn parked(&self) -> sqlx::Result<Vec<ParkedEvent>> {
        event_store::list_parked(&self.core.store, &self.core.name, false, 1000).await
    }

    /// Runs a parked event through its handler again (after the cause was
    /// fixed). On success the parked entry is marked resolved; on failure it
    /// stays parked with the new error and one more attempt counted.
    pub async fn replay_parked(&self, event_id: &str) -> anyhow::Result<Outcome> {
        self.replayer().replay_parked(event_id).await
    }

    /// The consumer's lag on `/metrics`: per publishing subgraph, the events
    /// the transport holds for it unacknowledged
    /// (`janta_consumer_lag_events`; nothing where the transport cannot
    /// tell, see [`Transport::lag`]).
    pub fn lag_gauges(&self) -> GaugeSource {
        let transport = self.transport.clone();
        let subscriptions = self.subscriptions.clone();
        gauge_source("consumer lag", move || {
            let transport = transport.clone();
            let subscriptions = subscriptions.clone();
            async move {
                let mut gauges = Vec::new();
                for subscription in &subscriptions {
                    if let Some(lag) = transport.lag(subscription).await? {
                        gauges.push(
                            Gauge::new(
                                "janta_consumer_lag_events",
                                "Events the transport holds for a consumer not yet acknowledged.",
                                lag as f64,
                            )
                            .label("consumer", subscription.group.clone())
                            .label("source", subscription.source.clone()),
                        );
                    }
                }
                Ok(gauges)
            }
        })
    }

    /// A cheap handle that can replay this consumer's parked events after
    /// the consumer handle itself went to the shutdown hooks (the admin API
    /// keeps one).
    pub fn replayer(&self) -> Replayer {
        Replayer {
            core: self.core.clone(),
        }
    }
}

/// Replays a consumer's parked events through its handlers, in the
/// consumer's transaction with its `processed_events` claim, so a replayed
/// event still has its effect at most once. Cheap to clone.
#[derive(Clone)]
pub struct Replayer {
    core: Arc<Core>,
}

impl Replayer {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// See [`ConsumerHandle::replay_parked`]: `Err` when there is no
    /// unresolved parked event `event_id` (never parked, already replayed or
    /// discarded) or when the handler fails again.
    ///
    /// The entry is marked resolved in the same transaction as the handler's
    /// effect, as its first write: of two replays of one event at once, the
    /// second waits for the first's transaction and then finds the entry
    /// resolved (refused), or, if the first failed, replays it itself.
    pub async fn replay_parked(&self, event_id: &str) -> anyhow::Result<Outcome> {
        self.replay(event_id, None).await
    }

    /// [`Replayer::replay_parked`] on behalf of `actor` (an admin), with the
    /// audit entry (`parked_event` `event_id`, action `replayed`, `before`
    /// as given, after: the consumer and the outcome) written in the
    /// replay's own transaction: a replay that committed is always audited,
    /// and a failed one never is.
    pub async fn replay_parked_audited(
        &self,
        event_id: &str,
        actor: &str,
        before: serde_json::Value,
    ) -> anyhow::Result<Outcome> {
        self.replay(event_id, Some((actor, before))).await
    }

    async fn replay(
        &self,
        event_id: &str,
        audit: Option<(&str, serde_json::Value)>,
    ) -> anyhow::Result<Outcome> {
        let core = &self.core;
        let Some(parked) = event_store::open_parked(&core.store, &core.name, event_id).await?
        else {
            return Err(not_open(event_id, &core.name));
        };
        let envelope: Envelope = serde_json::from_str(&parked.envelope).map_err(|err| {
            anyhow::anyhow!("parked event {event_id} is not a readable envelope: {err}")
        })?;
        let span = event_span(&core.name, &envelope, parked.attempts as u32 + 1);
        let mut tx = core.store.begin().await?;
        if !event_store::discard_parked(&mut tx, &core.name, event_id).await? {
            // Another replay or a discard settled it since it was read.
            return Err(not_open(event_id, &core.name));
        }
        let retryable = |e: sqlx::Error| Failure::Retryable(e.into());
        let applied = async {
            let outcome = core.apply(&mut tx, &envelope).await?;
            if let Some((actor, before)) = audit {
                let entry = AuditEntry {
                    actor,
                    entity_type: "parked_event",
                    entity_id: event_id,
                    action: "replayed",
                    before: Some(before),
                    after: Some(serde_json::json!({
                        "consumer": core.name,
                        "outcome": outcome.name(),
                    })),
                };
                janta_platform::audit::record(&mut tx, entry)
                    .await
                    .map_err(retryable)?;
            }
            tx.commit().await.map_err(retryable)?;
            Ok::<_, Failure>(outcome)
        }
        .instrument(span)
        .await;
        match applied {
            Ok(outcome) => {
                core.follow_up(outcome, &envelope);
                tracing::info!(consumer = %core.name, event_id, ?outcome, "parked event replayed");
                Ok(outcome)
            }
            Err(failure) => {
                let message = format!("{:#}", failure.error());
                event_store::record_replay_failure(&core.store, &core.name, event_id, &message)
                    .await?;
                Err(anyhow::anyhow!("replay failed: {message}"))
            }
        }
    }
}

fn not_open(event_id: &str, consumer: &str) -> anyhow::Error {
    anyhow::anyhow!("no unresolved parked event {event_id} for consumer {consumer}")
}

/// The span a handler runs in; with traces on, a consumer span in the
/// trace of the request that caused the event (through its publication).
fn event_span(consumer: &str, envelope: &Envelope, attempt: u32) -> tracing::Span {
    if !janta_platform::telemetry::enabled() {
        return tracing::info_span!(
            "event",
            consumer = %consumer,
            event_type = %envelope.event_type,
            event_id = %envelope.id,
            correlation_id = %envelope.correlation_id.as_deref().unwrap_or("-"),
            attempt,
        );
    }
    let span = tracing::info_span!(
        "event",
        otel.name = %format!("consume {}", envelope.event_type),
        otel.kind = "consumer",
        janta.subgraph = %consumer,
        consumer = %consumer,
        event_type = %envelope.event_type,
        event_id = %envelope.id,
        correlation_id = %envelope.correlation_id.as_deref().unwrap_or("-"),
        attempt,
    );
    janta_platform::telemetry::continue_from(&span, envelope.traceparent.as_deref());
    span
}

async fn run_subscription(
    core: Arc<Core>,
    transport: Arc<dyn Transport>,
    subscription: Subscription,
    mut deliveries: Option<Box<dyn Deliveries>>,
    mut stop: watch::Receiver<bool>,
) {
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut current = match deliveries.take() {
            Some(d) => d,
            None => match transport.subscribe(&subscription).await {
                Ok(d) => d,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(
                        consumer = %core.name,
                        source = %subscription.source,
                        error = %format!("{err:#}"),
                        "cannot subscribe; retrying"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(backoff.delay(failures)) => continue,
                        _ = crate::stop_requested(&mut stop) => return,
                    }
                }
            },
        };
        loop {
            let next = tokio::select! {
                next = current.next() => next,
                _ = crate::stop_requested(&mut stop) => return,
            };
            match next {
                None => break,
                Some(Ok(delivery)) => {
                    failures = 0;
                    core.settle(&subscription.source, delivery).await;
                }
                Some(Err(err)) => {
                    failures += 1;
                    tracing::warn!(
                        consumer = %core.name,
                        source = %subscription.source,
                        error = %format!("{err:#}"),
                        "event transport error"
                    );
                    if failures >= 3 {
                        break;
                    }
                }
            }
        }
        // The subscription ended or keeps failing: subscribe again after a pause.
        drop(current);
        tokio::select! {
            _ = tokio::time::sleep(backoff.delay(failures.max(1))) => {}
            _ = crate::stop_requested(&mut stop) => return,
        }
    }
}

impl Core {
    async fn settle(&self, source: &str, delivery: Delivery) {
        let Delivery {
            event,
            attempt,
            acker,
        } = delivery;
        let envelope = match event {
            Ok(envelope) => envelope,
            Err(raw) => {
                tracing::error!(consumer = %self.name, source, error = %raw.error, "unreadable event; parking it");
                let parked = event_store::park_raw(&self.store, &self.name, source, &raw).await;
                let settled = match parked {
                    Ok(()) => acker.ack().await,
                    Err(err) => {
                        tracing::error!(error = %err, "cannot park; will retry");
                        acker
                            .retry(self.settings.retry_backoff.delay(attempt))
                            .await
                    }
                };
                if let Err(err) = settled {
                    tracing::warn!(error = %format!("{err:#}"), "could not settle delivery");
                }
                return;
            }
        };
        let span = event_span(&self.name, &envelope, attempt);
        async {
            let settled = match self.process(&envelope).await {
                Ok(outcome) => {
                    tracing::debug!(?outcome, "event settled");
                    self.follow_up(outcome, &envelope);
                    acker.ack().await
                }
                Err(Failure::Retryable(err)) if attempt < self.settings.max_attempts => {
                    let delay = self.settings.retry_backoff.delay(attempt);
                    tracing::warn!(
                        error = %format!("{err:#}"),
                        retry_in_ms = delay.as_millis() as u64,
                        "event handler failed; will retry"
                    );
                    acker.retry(delay).await
                }
                Err(failure) => {
                    let message = format!("{:#}", failure.error());
                    tracing::error!(error = %message, "event handler gave up; parking the event");
                    match event_store::park(
                        &self.store,
                        &self.name,
                        source,
                        &envelope,
                        &message,
                        attempt,
                    )
                    .await
                    {
                        Ok(()) => acker.ack().await,
                        Err(err) => {
                            tracing::error!(error = %err, "cannot park; will retry");
                            acker
                                .retry(self.settings.retry_backoff.delay(attempt))
                                .await
                        }
                    }
                }
            };
            if let Err(err) = settled {
                // The transport redelivers; processed_events makes that harmless.
                tracing::warn!(error = %format!("{err:#}"), "could not settle delivery");
            }
        }
        .instrument(span)
        .await
    }

    /// Starts the handler's `after_commit` work for an event whose effect
    /// just committed, retried with the consumer's back-off.
    fn follow_up(&self, outcome: Outcome, envelope: &Envelope) {
        if outcome != Outcome::Handled {
            return;
        }
        let Some(handler) = self.handlers.get(envelope.event_type.as_str()).cloned() else {
            return;
        };
        let envelope = envelope.clone();
        let settings = self.settings.clone();
        let work = async move {
            let attempts = settings.max_attempts.max(1);
            for attempt in 1..=attempts {
                let Err(err) = handler.after_commit(&envelope).await else {
                    return;
                };
                if attempt == attempts {
                    tracing::error!(error = %format!("{err:#}"), "after-commit work gave up; a sweeper owns it now");
                    return;
                }
                let delay = settings.retry_backoff.delay(attempt);
                tracing::warn!(error = %format!("{err:#}"), retry_in_ms = delay.as_millis() as u64, "after-commit work failed; will retry");
                tokio::time::sleep(delay).await;
            }
        };
        self.followups
            .spawn(work.instrument(tracing::Span::current()));
    }

    /// Handles one delivery in a transaction of its own.
    async fn process(&self, envelope: &Envelope) -> Result<Outcome, Failure> {
        if !self.handlers.contains_key(envelope.event_type.as_str()) {
            return Ok(Outcome::Ignored);
        }
        let retryable = |e: sqlx::Error| Failure::Retryable(e.into());
        let mut tx = self.store.begin().await.map_err(retryable)?;
        let outcome = self.apply(&mut tx, envelope).await?;
        if outcome == Outcome::Handled {
            tx.commit().await.map_err(retryable)?;
        }
        Ok(outcome)
    }

    /// Claims `envelope` for this consumer and runs its handler, inside the
    /// caller's transaction (which the caller commits).
    async fn apply(
        &self,
        conn: &mut AnyConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, Failure> {
        let Some(handler) = self.handlers.get(envelope.event_type.as_str()) else {
            return Ok(Outcome::Ignored);
        };
        if !event_store::claim(conn, &self.name, envelope)
            .await
            .map_err(|e| Failure::Retryable(e.into()))?
        {
            return Ok(Outcome::Duplicate);
        }
        handler.handle(conn, envelope).await?;
        Ok(Outcome::Handled)
    }
}
