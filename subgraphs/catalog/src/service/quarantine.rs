//! Approved returns: the returned packs go into quarantine (never back on
//! sale), recorded in the ledger and the audit trail.

use crate::store::quarantine::{self, Quarantined};
use janta_events::types::ReturnApproved;
use janta_events::Envelope;
use janta_platform::audit::append as audit;
use serde_json::json;
use sqlx::AnyConnection;

/// Quarantines the packs of an approved return in the consumer's
/// transaction. Idempotent: a redelivered event changes nothing.
pub async fn return_approved(
    conn: &mut AnyConnection,
    event: ReturnApproved,
    envelope: &Envelope,
) -> anyhow::Result<()> {
    for line in &event.lines {
        let q = Quarantined {
            listing_id: &line.listing_id,
            return_id: &event.return_id,
            order_id: &event.order_id,
            quantity: line.quantity,
            actor: &envelope.actor,
        };
        if !quarantine::quarantine(conn, &q).await? {
            continue;
        }
        audit(
            conn,
            &envelope.actor,
            "listing",
            &line.listing_id,
            "quarantined",
            None,
            Some(json!({
                "returnId": event.return_id,
                "orderId": event.order_id,
                "quantity": line.quantity,
            })),
        )
        .await?;
    }
    Ok(())
}
