//! The seam between the code that moves events (outbox relay, consumers) and
//! the thing that carries them: one trait, two implementations
//! ([`InProcessBus`](crate::InProcessBus) for one process,
//! [`NatsTransport`](crate::NatsTransport) for many). Everything above this
//! module is written once.

use crate::Envelope;
use async_trait::async_trait;
use futures::future::BoxFuture;
use std::future::Future;
use std::time::Duration;

/// A transport failed part-way through a batch. The first `delivered` events
/// were accepted and may be marked published; the rest are sent again later.
#[derive(Debug, thiserror::Error)]
#[error("transport accepted {delivered} event(s), then failed: {error:#}")]
pub struct PublishError {
    /// How many leading events of the batch the transport accepted.
    pub delivered: usize,
    /// Why it stopped.
    pub error: anyhow::Error,
}

impl PublishError {
    /// Nothing of the batch was accepted.
    pub fn none(error: impl Into<anyhow::Error>) -> Self {
        PublishError {
            delivered: 0,
            error: error.into(),
        }
    }
}

/// Resolves once the transport has taken responsibility for a batch it was
/// sent (see [`Transport::publish`]). The relay awaits several receipts at
/// once, so a slow batch does not hold back the ones sent after it.
pub struct Receipt(BoxFuture<'static, Result<(), PublishError>>);

impl Receipt {
    /// A receipt that resolves when `settled` does.
    pub fn new(settled: impl Future<Output = Result<(), PublishError>> + Send + 'static) -> Self {
        Receipt(Box::pin(settled))
    }

    /// A receipt for a batch already settled.
    pub fn settled() -> Self {
        Receipt::new(async { Ok(()) })
    }

    /// Waits for the transport's verdict on the batch.
    pub async fn wait(self) -> Result<(), PublishError> {
        self.0.await
    }
}

/// What a consuming subgraph asks a transport for: the events published by
/// `source`, shared among every subscriber of the same `group` (the
/// replicas of one consuming subgraph share the work; different groups each
/// get every event).
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The publishing subgraph (`users`, `orders`, …).
    pub source: String,
    /// The consuming subgraph's name (NATS durable consumer name).
    pub group: String,
    /// The consumer parks an event after this many failed attempts; NATS
    /// bounds redelivery a little above it.
    pub max_attempts: u32,
    /// How many events a subscriber may hold unacknowledged at once (NATS
    /// pull batch size). Small values spread work evenly across replicas.
    pub prefetch: usize,
}

/// An event a transport delivered that could not be read as an
/// [`Envelope`]; the consumer parks it as it is.
#[derive(Debug, Clone)]
pub struct Undecodable {
    /// Event ID if the transport knows it (NATS `Nats-Msg-Id`).
    pub id: Option<String>,
    /// The raw message, lossily as text.
    pub raw: String,
    /// Why it could not be read.
    pub error: String,
}

/// One delivery of one event to one subscriber.
pub struct Delivery {
    /// The event, or what arrived instead.
    pub event: Result<Envelope, Undecodable>,
    /// 1 on first delivery, then 2, 3, … on redeliveries.
    pub attempt: u32,
    /// Settles the delivery.
    pub acker: Box<dyn Acker>,
}

/// Settles a delivery: done, or try again later.
#[async_trait]
pub trait Acker: Send {
    /// The event was handled (or parked): never deliver it to this group again.
    async fn ack(self: Box<Self>) -> anyhow::Result<()>;
    /// Deliver it again to the group after `delay`; other events keep flowing meanwhile.
    async fn retry(self: Box<Self>, delay: Duration) -> anyhow::Result<()>;
}

/// A subscriber's stream of deliveries.
#[async_trait]
pub trait Deliveries: Send {
    /// The next delivery; `None` when the subscription ended (the consumer
    /// subscribes again). An `Err` is a transient transport problem.
    async fn next(&mut self) -> Option<anyhow::Result<Delivery>>;
}

/// Carries events from publishing subgraphs' relays to consuming subgraphs.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Short name for logs and readiness (`in-process`, `nats`).
    fn name(&self) -> &'static str;

    /// Sends `events` (all published by `source`, in outbox order) and
    /// returns once they are on their way, in order, with a [`Receipt`] that
    /// resolves once the transport has taken responsibility for every one
    /// of them: NATS has stored them in the stream; the in-process bus has
    /// seen each subscribed group settle them (handled or parked). Until
    /// then the relay keeps them pending in the outbox, which is what makes
    /// delivery survive a crash. An `Err` here means the sending itself
    /// failed after `delivered` events were accepted.
    async fn publish(&self, source: &str, events: &[Envelope]) -> Result<Receipt, PublishError>;

    /// Resolves once the transport accepts publishes at all (the held
    /// in-process bus: once released). The relay waits for it before it
    /// claims outbox rows, so that nothing is claimed, and no database
    /// transaction held, while nobody can take them.
    async fn accepting(&self) {}

    /// Starts receiving events for `subscription`.
    async fn subscribe(&self, subscription: &Subscription) -> anyhow::Result<Box<dyn Deliveries>>;

    /// Readiness: is the transport usable right now?
    async fn check(&self) -> anyhow::Result<()>;

    /// How far `subscription`'s group is behind: events of its source the
    /// transport holds for the group and has not seen acknowledged (not yet
    /// delivered, or delivered and unsettled). `None` when the publisher's
    /// outbox already tells: the in-process bus keeps an event pending in
    /// the outbox until every group settled it.
    async fn lag(&self, _subscription: &Subscription) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
}
