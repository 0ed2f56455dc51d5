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

use janta_platform::scalars::now_db;
use sqlx::{AnyConnection, FromRow};

/// Joins listings `l` to their vendor's status `vs` (absent: not sellable).
pub(crate) const JOIN_STATUS: &str = "LEFT JOIN vendor_status vs ON vs.vendor_id = l.vendor_id";

/// True when the vendor of the row joined by [`JOIN_STATUS`] may sell.
pub(crate) const SELLABLE: &str = "(vs.verified = 1 AND vs.suspended = 0)";

/// [`SELLABLE`] as a 0/1 column for [`super::ListingRow::sellable`].
pub(crate) const SELLABLE_COLUMN: &str =
    "CAST(CASE WHEN vs.verified = 1 AND vs.suspended = 0 THEN 1 ELSE 0 END AS BIGINT) AS sellable";

/// A vendor's selling status as catalog knows it.
#[derive(Debug, Clone, FromRow)]
pub struct VendorStatusRow {
    pub vendor_id: String,
    /// 1 once a `VendorVerified` was seen.
    pub verified: i64,
    /// 1 while the latest suspension is not followed by a reinstatement.
    pub suspended: i64,
    /// When users verified it.
    pub verified_at: Option<String>,
    /// When the suspension applied last was made or lifted.
    pub suspension_changed_at: Option<String>,
    pub updated_at: String,
}

impl VendorStatusRow {
    /// Audit form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verified": self.verified == 1, "suspended": self.suspended == 1,
            "verifiedAt": self.verified_at, "suspensionChangedAt": self.suspension_changed_at,
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
    at: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO vendor_status (vendor_id, verified, suspended, verified_at, suspension_changed_at, updated_at) \
         VALUES ($1, 1, 0, $2, NULL, $3) \
         ON CONFLICT (vendor_id) DO UPDATE SET verified = 1, verified_at = excluded.verified_at, \
         updated_at = excluded.updated_at WHERE vendor_status.verified = 0",
    )
    .bind(vendor_id)
    .bind(at)
    .bind(now_db())
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
    at: &str,
) -> sqlx::Result<bool> {
    let newer = if suspended { "<=" } else { "<" };
    let done = sqlx::query(&format!(
        "INSERT INTO vendor_status (vendor_id, verified, suspended, verified_at, suspension_changed_at, updated_at) \
         VALUES ($1, 0, $2, NULL, $3, $4) \
         ON CONFLICT (vendor_id) DO UPDATE SET suspended = excluded.suspended, \
         suspension_changed_at = excluded.suspension_changed_at, updated_at = excluded.updated_at \
         WHERE vendor_status.suspension_changed_at IS NULL \
         OR vendor_status.suspension_changed_at {newer} excluded.suspension_changed_at"
    ))
    .bind(vendor_id)
    .bind(i64::from(suspended))
    .bind(at)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
