//! The in-process transport, for `janta dev`: every subgraph runs in one
//! process, so an event goes from the publisher's relay straight to the
//! consumers' queues in memory.
//!
//! Memory is not durable, so the bus leans on the outbox: the receipt of a
//! publish resolves only once every subscribed group has *settled* the
//! event (handled it, found it already handled, or parked it). Until then
//! the outbox row stays pending, and a crash at any point re-sends it on
//! restart; consumers de-duplicate by event ID. A failing event is retried
//! later from the consumer's queue while the events behind it keep flowing
//! (the relay keeps sending while earlier receipts are outstanding).

use crate::transport::{
    Acker, Deliveries, Delivery, PublishError, Receipt, Subscription, Transport,
};
use crate::Envelope;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long `publish` waits for consumers to settle a batch by default.
pub const DEFAULT_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The bus every subgraph of one process shares. Cheap to clone (one bus,
/// many handles); create it once per process and hand it to every subgraph.
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

struct Inner {
    groups: Mutex<HashMap<(String, String), Group>>,
    released: watch::Sender<bool>,
    settle_timeout_ms: AtomicU64,
}

struct Group {
    tx: mpsc::UnboundedSender<Queued>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>>,
    subscribers: usize,
}

struct Queued {
    envelope: Envelope,
    attempt: u32,
    settled: oneshot::Sender<()>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus that delivers immediately.
    pub fn new() -> Self {
        let bus = Self::held();
        bus.release();
        bus
    }

    /// A bus that holds every publish until [`InProcessBus::release`]: the
    /// launcher builds all subgraphs (whose consumers subscribe while being
    /// built) and only then releases, so no relay delivers before every
    /// consumer of the process is listening. Never released = events stay
    /// pending in the outboxes (a subgraph run alone without NATS).
    pub fn held() -> Self {
        InProcessBus {
            inner: Arc::new(Inner {
                groups: Mutex::new(HashMap::new()),
                released: watch::channel(false).0,
                settle_timeout_ms: AtomicU64::new(DEFAULT_SETTLE_TIMEOUT.as_millis() as u64),
            }),
        }
    }

    /// Lets held publishes through (idempotent).
    pub fn release(&self) {
        self.inner.released.send_replace(true);
    }

    /// Changes how long `publish` waits for the consumers to settle a batch
    /// before reporting failure (the relay then sends it again later).
    pub fn set_settle_timeout(&self, timeout: Duration) {
        self.inner
            .settle_timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Group>> {
        // A poisoned lock only means a panic elsewhere; the map is still consistent.
        self.inner.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Transport for InProcessBus {
    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn accepting(&self) {
        let mut released = self.inner.released.subscribe();
        let _ = released.wait_for(|r| *r).await;
    }

    async fn publish(&self, source: &str, events: &[Envelope]) -> Result<Receipt, PublishError> {
        self.accepting().await;
        let targets: Vec<mpsc::UnboundedSender<Queued>> = self
            .groups()
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|(_, g)| g.tx.clone())
            .collect();
        let mut waits = Vec::with_capacity(events.len());
        for envelope in events {
            let mut for_event = Vec::with_capacity(targets.len());
            for tx in &targets {
                let (settled, wait) = oneshot::channel();
                // A closed queue drops the sender, which the wait below reports.
                let _ = tx.send(Queued {
                    envelope: envelope.clone(),
                    attempt: 1,
                    settled,
                });
                for_event.push(wait);
            }
            waits.push(for_event);
        }
        let timeout = Duration::from_millis(self.inner.settle_timeout_ms.load(Ordering::Relaxed));
        Ok(Receipt::new(settled(waits, timeout)))
    }

    async fn subscribe(&self, subscription: &Subscription) -> anyhow::Result<Box<dyn Deliveries>> {
        let key = (subscription.source.clone(), subscription.group.clone());
        let mut groups = self.groups();
        let group = groups.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            Group {
                tx,
                rx: Arc::new(tokio::sync::Mutex::new(rx)),
                subscribers: 0,
            }
        });
        group.subscribers += 1;
        Ok(Box::new(InProcessDeliveries {
            bus: self.clone(),
            key,
            tx: group.tx.clone(),
            rx: group.rx.clone(),
        }))
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Waits until every group settled every event, in order; reports how many
/// leading events were settled when one was not.
async fn settled(
    waits: Vec<Vec<oneshot::Receiver<()>>>,
    timeout: Duration,
) -> Result<(), PublishError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for (index, for_event) in waits.into_iter().enumerate() {
        for wait in for_event {
            let error = match tokio::time::timeout_at(deadline, wait).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => anyhow::anyhow!("a consumer stopped before settling the event"),
                Err(_) => anyhow::anyhow!("consumers did not settle the event within {timeout:?}"),
            };
            return Err(PublishError {
                delivered: index,
                error,
            });
        }
    }
    Ok(())
}

struct InProcessDeliveries {
    bus: InProcessBus,
    key: (String, String),
    tx: mpsc::UnboundedSender<Queued>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>>,
}

#[async_trait]
impl Deliveries for InProcessDeliveries {
    async fn next(&mut self) -> Option<anyhow::Result<Delivery>> {
        let queued = self.rx.lock().await.recv().await?;
        let attempt = queued.attempt;
        let envelope = queued.envelope.clone();
        Some(Ok(Delivery {
            event: Ok(envelope),
            attempt,
            acker: Box::new(InProcessAck {
                queued,
                tx: self.tx.clone(),
            }),
        }))
    }
}

impl Drop for InProcessDeliveries {
    fn drop(&mut self) {
        // The last subscriber of a group leaves: forget the group, which
        // closes its queue and drops what was waiting in it, so publishers
        // waiting for those events learn at once that they were not settled.
        let mut groups = self.bus.groups();
        if let Some(group) = groups.get_mut(&self.key) {
            group.subscribers = group.subscribers.saturating_sub(1);
            if group.subscribers == 0 {
                groups.remove(&self.key);
            }
        }
    }
}

struct InProcessAck {
    queued: Queued,
    tx: mpsc::UnboundedSender<Queued>,
}

#[async_trait]
impl Acker for InProcessAck {
    async fn ack(self: Box<Self>) -> anyhow::Result<()> {
        let _ = self.queued.settled.send(());
        Ok(())
    }

    async fn retry(self: Box<Self>, delay: Duration) -> anyhow::Result<()> {
        let InProcessAck { queued, tx } = *self;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Queued {
                attempt: queued.attempt + 1,
                ..queued
            });
        });
        Ok(())
    }
}
