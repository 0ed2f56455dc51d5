//! Which vendors may sell: users' vendor events applied to catalog's
//! `vendor_status` projection (see [`crate::store::vendors`]).

use crate::store::vendors;
use janta_events::Envelope;
use janta_platform::scalars::from_db_time;
use sqlx::AnyConnection;

/// What a users event says about a vendor's selling status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorChange {
    /// `VendorVerified`.
    Verified,
    /// `VendorSuspended`.
    Suspended,
    /// `VendorReinstated`.
    Reinstated,
}

impl VendorChange {
    fn action(self) -> &'static str {
        match self {
            VendorChange::Verified => "vendor_verified",
            VendorChange::Suspended => "vendor_suspended",
            VendorChange::Reinstated => "vendor_reinstated",
        }
    }
}

/// Applies one vendor event to `vendor_status` in the consumer's
/// transaction, ordered by when it happened (`envelope.occurred_at`), and
/// audits the change under the event's actor; an event older than what is
/// recorded changes nothing.
pub async fn apply(
    conn: &mut AnyConnection,
    vendor_id: String,
    change: VendorChange,
    envelope: &Envelope,
) -> anyhow::Result<()> {
    let at = from_db_time(&envelope.occurred_at)?;
    let before = vendors::vendor_status(conn, &vendor_id).await?;
    let applied = match change {
        VendorChange::Verified => vendors::record_verified(conn, &vendor_id, at).await?,
        VendorChange::Suspended => vendors::record_suspension(conn, &vendor_id, true, at).await?,
        VendorChange::Reinstated => vendors::record_suspension(conn, &vendor_id, false, at).await?,
    };
    if !applied {
        tracing::info!(
            vendor_id,
            ?change,
            "vendor event older than the recorded status; ignored"
        );
        return Ok(());
    }
    let after = vendors::vendor_status(conn, &vendor_id).await?;
    janta_platform::audit::append(
        conn,
        &envelope.actor,
        "vendor_status",
        &vendor_id,
        change.action(),
        before.as_ref().map(vendors::VendorStatusRow::to_json),
        after.as_ref().map(vendors::VendorStatusRow::to_json),
    )
    .await?;
    Ok(())
}
