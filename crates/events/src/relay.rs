//! The outbox relay: a background task per publishing subgraph that hands
//! committed outbox rows to the transport in `seq` order and marks them
//! published. Crash-safe by construction: a row is marked only after the
//! transport took responsibility for it, so a crash in between re-sends it
//! on restart (at-least-once; consumers de-duplicate by event ID).
//!
//! - Wakes promptly: `janta_platform::events::publish` pokes the relays of
//!   the process; the relay then polls eagerly for a moment (it may have
//!   been poked before the publisher's commit). Otherwise it polls every
//!   [`RelaySettings::poll_interval`] (rows written by other processes).
//! - Backs off exponentially (capped) while the transport fails.
//! - Several batches may await the transport's confirmation at once
//!   ([`RelaySettings::max_in_flight`]); they are *sent* in order.
//! - PostgreSQL with several replicas: one replica relays at a time (it
//!   holds a session advisory lock, so the order holds across replicas),
//!   and each batch is claimed with `FOR UPDATE SKIP LOCKED` in a
//!   transaction that lives until the batch is marked, so no two relays
//!   (nor two batches) ever send the same rows. SQLite: one process owns
//!   the file and runs the only relay.
//! - Order: global `seq` order per subgraph, hence per aggregate. Writers
//!   of one aggregate serialise on its row, so their `seq`s follow commit
//!   order. After a failure, the rows sent again may arrive after later
//!   ones (and consumers retry failed events later): handlers check the
//!   state they act on rather than rely on order.
//! - Published rows are deleted after [`RelaySettings::keep_published`].

use crate::backoff::Backoff;
use crate::transport::{PublishError, Receipt, Transport};
use crate::Envelope;
use chrono::Utc;
use futures::future::BoxFuture;
use janta_platform::scalars::{now_db, to_db_time};
use janta_platform::store::{placeholders, Backend, Store};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Key of the PostgreSQL advisory lock that elects the relaying replica
/// (advisory locks are per database, and each subgraph has its own).
const RELAY_LOCK_KEY: i64 = 0x6a61_6e74_615f_7278; // "janta_rx"

/// How a relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// How often to look at the outbox when not poked.
    pub poll_interval: Duration,
    /// Rows handed to the transport at once.
    pub batch_size: usize,
    /// Batches sent but not yet confirmed by the transport at once. Sending
    /// stays in order; only the waiting overlaps, so an event that a
    /// consumer keeps retrying (in-process) does not hold back later ones.
    pub max_in_flight: usize,
    /// Waits between attempts while the transport fails.
    pub backoff: Backoff,
    /// How long published rows stay in the outbox (for inspection) before
    /// they are deleted.
    pub keep_published: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            poll_interval: Duration::from_millis(500),
            batch_size: 100,
            max_in_flight: 8,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
            keep_published: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The relay of one publishing subgraph.
pub struct Relay {
    store: Store,
    source: String,
    transport: Arc<dyn Transport>,
    settings: RelaySettings,
}

/// Controls a running relay. Dropping it leaves the relay running (the
/// subgraph's `build` starts it and forgets it).
pub struct RelayHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RelayHandle {
    /// Stops the relay and waits for it. Batches still awaiting the
    /// transport's confirmation stay pending and are sent again later.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Kills the relay wherever it is (a crash, for tests).
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// A batch on its way: its rows, and the future that waits for the
/// transport and then marks them.
type Dispatch = (Vec<i64>, BoxFuture<'static, anyhow::Result<usize>>);

impl Relay {
    /// A relay of `store`'s outbox, publishing as subgraph `source`.
    pub fn new(store: Store, source: &str, transport: Arc<dyn Transport>) -> Self {
        Relay {
            store,
            source: source.to_string(),
            transport,
            settings: RelaySettings::default(),
        }
    }

    /// Replaces the default pacing.
    pub fn with_settings(mut self, settings: RelaySettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs the relay in the background until stopped.
    pub fn spawn(self) -> RelayHandle {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        RelayHandle { stop, task }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut poked = janta_platform::events::outbox_signal();
        let mut leader: Option<AnyConnection> = None;
        let mut in_flight: JoinSet<anyhow::Result<usize>> = JoinSet::new();
        let mut rows_of: HashMap<tokio::task::Id, Vec<i64>> = HashMap::new();
        let mut claimed: HashSet<i64> = HashSet::new();
        let mut failures = 0u32;
        let mut paused_until: Option<Instant> = None;
        let mut eager_until = Instant::now();
        let mut next_prune = Instant::now();
        tracing::info!(source = %self.source, transport = self.transport.name(), "event relay started");
        tokio::select! {
            _ = self.transport.accepting() => {}
            _ = crate::stop_requested(&mut stop) => return,
        }
        loop {
            let paused = paused_until.is_some_and(|t| Instant::now() < t);
            if !paused && in_flight.len() < self.settings.max_in_flight.max(1) {
                let dispatched = tokio::select! {
                    d = self.dispatch(&mut leader, &claimed) => d,
                    _ = crate::stop_requested(&mut stop) => break,
                };
                match dispatched {
                    Ok(Some((rows, wait))) => {
                        let full = rows.len() >= self.settings.batch_size;
                        claimed.extend(rows.iter().copied());
                        rows_of.insert(in_flight.spawn(wait).id(), rows);
                        if full {
                            continue;
                        }
                    }
                    Ok(None) => {}
                    Err(err) => {
                        failures += 1;
                        paused_until = Some(self.backing_off(failures, &err));
                    }
                }
            }
            if Instant::now() >= next_prune {
                next_prune = Instant::now() + Duration::from_secs(600);
                if let Err(err) = self.prune().await {
                    tracing::warn!(source = %self.source, error = %err, "outbox pruning failed");
                }
            }
            let now = Instant::now();
            let wait = match paused_until {
                Some(until) if until > now => until - now,
                _ if now < eager_until => Duration::from_millis(20),
                _ => self.settings.poll_interval,
            };
            tokio::select! {
                Some(joined) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    let (id, result) = match joined {
                        Ok((id, result)) => (id, result),
                        Err(err) => (err.id(), Err(anyhow::anyhow!("relay task failed: {err}"))),
                    };
                    for seq in rows_of.remove(&id).unwrap_or_default() {
                        claimed.remove(&seq);
                    }
                    match result {
                        Ok(_) => {
                            if failures > 0 {
                                tracing::info!(source = %self.source, "event transport is back");
                            }
                            failures = 0;
                            paused_until = None;
                        }
                        Err(err) => {
                            failures += 1;
                            paused_until = Some(self.backing_off(failures, &err));
                        }
                    }
                }
                changed = poked.changed() => {
                    if changed.is_ok() {
                        eager_until = Instant::now() + Duration::from_millis(300);
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = crate::stop_requested(&mut stop) => break,
            }
        }
        // Unconfirmed batches stay pending (PostgreSQL: their claims roll back).
        in_flight.abort_all();
        tracing::info!(source = %self.source, "event relay stopped");
    }

    fn backing_off(&self, failures: u32, err: &anyhow::Error) -> Instant {
        let delay = self.settings.backoff.delay(failures);
        tracing::warn!(
            source = %self.source,
            failures,
            retry_in_ms = delay.as_millis() as u64,
            error = %format!("{err:#}"),
            "event relay failed; backing off"
        );
        Instant::now() + delay
    }

    /// Claims the next batch of pending rows (skipping `claimed` ones, still
    /// in flight) and sends it; `None` when there is nothing to send (or,
    /// on PostgreSQL, another replica is the relaying one).
    async fn dispatch(
        &self,
        leader: &mut Option<AnyConnection>,
        claimed: &HashSet<i64>,
    ) -> anyhow::Result<Option<Dispatch>> {
        let batch = self.settings.batch_size.max(1);
        match self.store.backend() {
            Backend::Sqlite => {
                let mut conn = self.store.pool().acquire().await?;
                let rows: Vec<(i64, Envelope)> =
                    pending_rows(&mut conn, batch + claimed.len(), false)
                        .await?
                        .into_iter()
                        .filter(|(seq, _)| !claimed.contains(seq))
                        .take(batch)
                        .collect();
                drop(conn);
                if rows.is_empty() {
                    return Ok(None);
                }
                let sending = self.send(&rows).await;
                let store = self.store.clone();
                let seqs = rows.iter().map(|(seq, _)| *seq).collect();
                Ok(Some((
                    seqs,
                    Box::pin(async move {
                        let (sent, error) = confirmed(sending, rows.len()).await;
                        let _turn = store.write_turn().await?;
                        let mut conn = store.pool().acquire().await?;
                        settle_rows(&mut conn, &rows, sent, error.as_ref()).await?;
                        error.map_or(Ok(sent), Err)
                    }),
                )))
            }
            Backend::Postgres => {
                if !self.lead(leader).await? {
                    return Ok(None);
                }
                let mut tx = self.store.pool().begin().await?;
                // Rows of batches still in flight are locked by their
                // transactions and skipped here.
                let rows = pending_rows(&mut tx, batch, true).await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let sending = self.send(&rows).await;
                let seqs = rows.iter().map(|(seq, _)| *seq).collect();
                Ok(Some((
                    seqs,
                    Box::pin(async move {
                        let (sent, error) = confirmed(sending, rows.len()).await;
                        settle_rows(&mut tx, &rows, sent, error.as_ref()).await?;
                        tx.commit().await?;
                        error.map_or(Ok(sent), Err)
                    }),
                )))
            }
        }
    }

    async fn send(&self, rows: &[(i64, Envelope)]) -> Result<Receipt, PublishError> {
        let events: Vec<Envelope> = rows.iter().map(|(_, e)| e.clone()).collect();
        let events = traced(&self.source, events);
        self.transport.publish(&self.source, &events).await
    }

    /// PostgreSQL: whether this relay holds the session advisory lock that
    /// makes it the one relaying replica (so that order holds across
    /// replicas). The lock lives as long as the connection holding it, which
    /// is taken out of the pool: a crashed replica's lock goes with its
    /// connection.
    async fn lead(&self, leader: &mut Option<AnyConnection>) -> anyhow::Result<bool> {
        if let Some(conn) = leader.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok() {
                return Ok(true);
            }
            *leader = None;
        }
        let mut conn = self.store.pool().acquire().await?;
        let won: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END::BIGINT",
        )
        .bind(RELAY_LOCK_KEY)
        .fetch_one(&mut *conn)
        .await?;
        if won == 1 {
            tracing::info!(source = %self.source, "this replica relays the outbox");
            *leader = Some(conn.detach());
        }
        Ok(won == 1)
    }

    async fn prune(&self) -> sqlx::Result<()> {
        let keep = chrono::Duration::from_std(self.settings.keep_published)
            .unwrap_or_else(|_| chrono::Duration::days(7));
        sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(to_db_time(Utc::now() - keep))
            .execute(self.store.pool())
            .await
            .map(|_| ())
    }
}

/// How many leading events of a batch of `count` the transport took, and
/// why it stopped if it did not take them all.
async fn confirmed(
    sending: Result<Receipt, PublishError>,
    count: usize,
) -> (usize, Option<anyhow::Error>) {
    let outcome = match sending {
        Ok(receipt) => receipt.wait().await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => (count, None),
        Err(err) => (err.delivered.min(count), Some(err.error)),
    }
}

/// Marks each traced event's hand-off to the transport with a producer span
/// in the trace of the request that wrote it (published by `source`); the
/// event then carries that span's context, so its consumers' spans follow
/// it. Events travel untouched when traces are off.
fn traced(source: &str, mut events: Vec<Envelope>) -> Vec<Envelope> {
    use janta_platform::telemetry::{continue_from, current_traceparent, enabled};
    if !enabled() {
        return events;
    }
    for event in events.iter_mut().filter(|e| e.traceparent.is_some()) {
        let span = tracing::info_span!(
            "event.publish",
            otel.name = %format!("publish {}", event.event_type),
            otel.kind = "producer",
            janta.subgraph = %source,
            event_type = %event.event_type,
            event_id = %event.id,
        );
        continue_from(&span, event.traceparent.as_deref());
        if let Some(traceparent) = span.in_scope(current_traceparent) {
            event.traceparent = Some(traceparent);
        }
    }
    events
}

const ROW_COLUMNS: &str = "seq, id, event_type, event_version, aggregate_type, aggregate_id, \
                           occurred_at, actor, correlation_id, payload, trace_context";

async fn pending_rows(
    conn: &mut AnyConnection,
    limit: usize,
    claim: bool,
) -> sqlx::Result<Vec<(i64, Envelope)>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1{}",
        if claim { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let rows = sqlx::query(&sql)
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(envelope_from_row).collect()
}

fn envelope_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<(i64, Envelope)> {
    let payload: String = row.try_get("payload")?;
    Ok((
        row.try_get("seq")?,
        Envelope {
            id: row.try_get("id")?,
            event_type: row.try_get("event_type")?,
            version: row.try_get("event_version")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            occurred_at: row.try_get("occurred_at")?,
            actor: row.try_get("actor")?,
            correlation_id: row.try_get("correlation_id")?,
            // Always JSON when written by `publish`; anything else travels as a string.
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
            traceparent: row.try_get("trace_context")?,
        },
    ))
}

async fn settle_rows(
    conn: &mut AnyConnection,
    rows: &[(i64, Envelope)],
    sent: usize,
    error: Option<&anyhow::Error>,
) -> sqlx::Result<()> {
    let published: Vec<i64> = rows[..sent].iter().map(|(seq, _)| *seq).collect();
    if !published.is_empty() {
        let sql = format!(
            "UPDATE outbox SET published_at = $1 WHERE seq IN ({})",
            placeholders(2, published.len())
        );
        let mut query = sqlx::query(&sql).bind(now_db());
        for seq in &published {
            query = query.bind(*seq);
        }
        query.execute(&mut *conn).await?;
    }
    if let (Some(error), Some((seq, _))) = (error, rows.get(sent)) {
        let message: String = format!("{error:#}").chars().take(1000).collect();
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE seq = $2")
            .bind(message)
            .bind(*seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The events still waiting in `store`'s outbox, oldest first (inspection and tests).
pub async fn pending_events(store: &Store) -> sqlx::Result<Vec<Envelope>> {
    let mut conn = store.pool().acquire().await?;
    let rows = pending_rows(&mut conn, i64::MAX as usize, false).await?;
    Ok(rows.into_iter().map(|(_, e)| e).collect())
}
