//! Catalog's own record of which vendors may sell (`vendor_status`), kept
//! from users' `VendorVerified`, `VendorSuspended` and `VendorReinstated`
//! events. Users owns vendors; catalog reads no other store, so it keeps
//! this projection to hide and refuse the listings of vendors that do not
//! sell (no row: never verified).
//!
//! Events may arrive out of order, so every change is a conditional upsert
//! decided by the time the change happened (the event's `occurred_at`):
//! verification is permanent (a later reinstatement never verifies), and
//! of suspension and reinstatement the later one wins, suspension on a tie.

use super::Flag;
use chrono::Utc;
use janta_platform::scalars::{to_db_time, DateTime};
use sqlx::{AnyConnection, FromRow};

/// Joins listings `l` to their vendor's status `vs` (absent: not sellable).
pub(crate) const JOIN_STATUS: &str = "LEFT JOIN vendor_status vs ON vs.vendor_id = l.vendor_id";

/// True when the vendor of the row joined by [`JOIN_STATUS`] may sell.
pub(crate) const SELLABLE: &str = "(vs.verified = TRUE AND vs.suspended = FALSE)";

/// A vendor's selling status as catalog knows it.
#[derive(Debug, Clone, FromRow)]
pub struct VendorStatusRow {
    pub vendor_id: String,
    /// Once a `VendorVerified` was seen.
    #[sqlx(try_from = "Flag")]
    pub verified: bool,
    /// While the latest suspension is not followed by a reinstatement.
    #[sqlx(try_from = "Flag")]
    pub suspended: bool,
    /// When users verified it.
    pub verified_at: Option<DateTime>,
    /// When the suspension applied last was made or lifted.
    pub suspension_changed_at: Option<DateTime>,
    pub updated_at: DateTime,
}

impl VendorStatusRow {
    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verified": self.verified, "suspended": self.suspended,
            "verifiedAt": self.verified_at.map(|t| to_db_time(t.0)),
            "suspensionChangedAt": self.suspension_changed_at.map(|t| to_db_time(t.0)),
        })
    }
}

/// One vendor's status, if catalog heard of it.
pub async fn vendor_status(
    conn: &mut AnyConnection,
    vendor_id: &str,
) -> sqlx::Result<Option<VendorStatusRow>> {
    sqlx::query_as(
        "SELECT vendor_id, verified, suspended, verified_at, suspension_changed_at, updated_at \
         FROM vendor_status WHERE vendor_id = $1",
    )
    .bind(vendor_id)
    .fetch_optional(conn)
    .await
}

/// Records that users verified the vendor at `at`. Returns whether this
/// changed anything (false for a vendor already verified).
pub async fn record_verified(
    conn: &mut AnyConnection,
    vendor_id: &str,
    at: chrono::DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO vendor_status (vendor_id, verified, suspended, verified_at, suspension_changed_at, updated_at) \
         VALUES ($1, TRUE, FALSE, $2, NULL, $3) \
         ON CONFLICT (vendor_id) DO UPDATE SET verified = TRUE, verified_at = excluded.verified_at, \
         updated_at = excluded.updated_at WHERE vendor_status.verified = FALSE",
    )
    .bind(vendor_id)
    .bind(DateTime(at))
    .bind(DateTime::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the vendor was suspended (`suspended`) or reinstated at
/// `at`, unless a change made later (or, for a reinstatement, at the same
/// moment) is recorded already. Returns whether it applied.
pub async fn record_suspension(
    conn: &mut AnyConnection,
    vendor_id: &str,
    suspended: bool,
    at: chrono::DateTime<Utc>,
) -> sqlx::Result<bool> {
    let newer = if suspended { "<=" } else { "<" };
    let done = sqlx::query(&format!(
        "INSERT INTO vendor_status (vendor_id, verified, suspended, verified_at, suspension_changed_at, updated_at) \
         VALUES ($1, FALSE, $2, NULL, $3, $4) \
         ON CONFLICT (vendor_id) DO UPDATE SET suspended = excluded.suspended, \
         suspension_changed_at = excluded.suspension_changed_at, updated_at = excluded.updated_at \
         WHERE vendor_status.suspension_changed_at IS NULL \
         OR vendor_status.suspension_changed_at {newer} excluded.suspension_changed_at"
    ))
    .bind(vendor_id)
    .bind(suspended)
    .bind(DateTime(at))
    .bind(DateTime::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
