//! Quarantine: the packs of approved returns, and the remaining packs of
//! expired batches (moved by the sweeper), go into quarantine — never back
//! on sale — recorded in the ledger and the audit trail.

use crate::events::publish;
use crate::store::quarantine::{self, Quarantined};
use chrono::NaiveDate;
use janta_events::types::ReturnApproved;
use janta_events::Envelope;
use janta_platform::audit::append as audit;
use janta_platform::cause::{Cause, SYSTEM};
use janta_platform::store::Store;
use janta_platform::ApiResult;
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

/// Moves the unreserved packs of batches expired by `today` (at most
/// `limit` batches) into quarantine in one transaction, audited by the
/// system, each publishing `StockQuarantined` (reason `EXPIRED`). Run by the
/// expiry sweeper. Returns how many batches were swept.
pub async fn sweep_expired(store: &Store, today: NaiveDate, limit: i64) -> ApiResult<usize> {
    if !quarantine::any_expired(store, today).await? {
        return Ok(0);
    }
    let cause = Cause::system(None);
    let mut tx = store.begin().await?;
    let moved =
        quarantine::quarantine_expired(&mut tx, store.backend(), today, SYSTEM, limit).await?;
    for batch in &moved {
        audit(
            &mut tx,
            SYSTEM,
            "listing",
            &batch.listing_id,
            "quarantined",
            Some(json!({ "batchId": batch.batch_id, "onHand": batch.quantity })),
            Some(json!({
                "batchId": batch.batch_id, "batchNumber": batch.batch_number,
                "expiresOn": batch.expires_on.to_db(), "quantity": batch.quantity,
                "reason": "EXPIRED",
            })),
        )
        .await?;
        publish::stock_quarantined(&mut tx, batch, &cause).await?;
    }
    tx.commit().await?;
    Ok(moved.len())
}

/// One run of the expiry sweeper: quarantines what expired by today in India.
pub async fn sweep(store: Store) -> anyhow::Result<()> {
    let swept = sweep_expired(&store, crate::domain::today(), 500).await?;
    if swept > 0 {
        tracing::info!(batches = swept, "quarantined expired stock");
    }
    Ok(())
}
