//! Publishing events through the transactional outbox: a subgraph records
//! each event in its own `outbox` table inside the same transaction as the
//! state change, so an event exists exactly when its change committed.
//! Delivery (relay, transports, consumers) lives in the `janta-events` crate
//! and builds on these rows; typed payloads are in `janta_events::types`.

use crate::ids::new_id;
use crate::scalars::now_db;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::sync::OnceLock;
use tokio::sync::watch;

/// The envelope every event travels in, whatever the transport.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Unique event ID (UUIDv7); consumers de-duplicate on it.
    pub id: String,
    /// Event type, e.g. `UserRegistered`.
    pub event_type: String,
    /// Payload schema version of that type.
    pub version: i64,
    /// Kind of aggregate the event is about, e.g. `user`.
    pub aggregate_type: String,
    /// ID of that aggregate; delivery is ordered per aggregate.
    pub aggregate_id: String,
    /// When the change happened (RFC 3339 UTC).
    pub occurred_at: String,
    /// Who caused it (user ID, `service:<name>` or `system`).
    pub actor: String,
    /// The correlation ID of the request that caused it.
    pub correlation_id: Option<String>,
    /// Type-specific data.
    pub payload: serde_json::Value,
    /// The W3C `traceparent` of the request that caused it, when traced:
    /// the relay's and consumers' spans continue that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Envelope {
    /// A new envelope stamped now with a fresh ID.
    pub fn new(
        event_type: &str,
        aggregate_type: &str,
        aggregate_id: &str,
        actor: &str,
        correlation_id: Option<&str>,
        payload: serde_json::Value,
    ) -> Self {
        Envelope {
            id: new_id(),
            event_type: event_type.to_string(),
            version: 1,
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: aggregate_id.to_string(),
            occurred_at: now_db(),
            actor: actor.to_string(),
            correlation_id: correlation_id.map(str::to_string),
            payload,
            traceparent: crate::telemetry::current_traceparent(),
        }
    }
}

/// Records `event` in the outbox within the caller's transaction; the
/// relays of this process are woken when that transaction commits
/// ([`crate::store::Tx::commit`]), the first moment they can see the row.
pub async fn publish(conn: &mut AnyConnection, event: &Envelope) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (id, event_type, event_version, aggregate_type, aggregate_id, \
         occurred_at, actor, correlation_id, payload, trace_context) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&event.id)
    .bind(&event.event_type)
    .bind(event.version)
    .bind(&event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(&event.occurred_at)
    .bind(&event.actor)
    .bind(&event.correlation_id)
    .bind(event.payload.to_string())
    .bind(&event.traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

fn outbox_generation() -> &'static watch::Sender<u64> {
    static GENERATION: OnceLock<watch::Sender<u64>> = OnceLock::new();
    GENERATION.get_or_init(|| watch::channel(0).0)
}

/// Tells the relays of this process that outbox rows may have been
/// committed: [`crate::store::Tx::commit`] calls it (and so does anything
/// that makes a row pending again outside a transaction, like a replay).
pub fn outbox_written() {
    outbox_generation().send_modify(|g| *g = g.wrapping_add(1));
}

/// A receiver that changes whenever an outbox row was written in this
/// process: relays wait on it (next to their poll interval) to wake promptly.
pub fn outbox_signal() -> watch::Receiver<u64> {
    outbox_generation().subscribe()
}
