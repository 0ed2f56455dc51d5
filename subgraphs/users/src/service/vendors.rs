//! Pharmacies: registering one with its first branch, verifying its
//! licences, adding branches, and suspending or reinstating it. Each use
//! case is one transaction with its audit entry (and event, where other
//! subgraphs must know).

use crate::events::publish;
use crate::service::{audit, Cause};
use crate::store::{self, AddressFields, BranchRow, NewVendor, VendorRow};
use janta_platform::auth::Principal;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Registers a vendor with its first branch as `admin`.
pub async fn create_vendor(
    db: &Store,
    admin: &Principal,
    vendor: NewVendor<'_>,
    branch_name: &str,
    branch: &AddressFields<'_>,
) -> ApiResult<VendorRow> {
    let created = json!({ "name": vendor.name, "gstin": vendor.gstin, "state": vendor.state });
    let mut tx = db.begin().await?;
    let row = store::insert_vendor(&mut tx, vendor).await?;
    store::insert_branch(&mut tx, &row.id, branch_name, branch).await?;
    audit(
        &mut tx,
        &admin.subject,
        "vendor",
        &row.id,
        "created",
        None,
        Some(created),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Marks a vendor's licences checked (publishes `VendorVerified` the first
/// time); verifying a verified vendor changes nothing.
pub async fn verify_vendor(db: &Store, id: &str, cause: &Cause) -> ApiResult<VendorRow> {
    let mut tx = db.begin().await?;
    vendor_in(&mut tx, id).await?;
    if store::verify_vendor(&mut tx, id).await? {
        audit(&mut tx, cause.actor(), "vendor", id, "verified", None, None).await?;
        publish::vendor_verified(&mut tx, id, cause).await?;
    }
    let row = vendor_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Adds a branch to a vendor as `actor` (who may speak for it).
pub async fn add_branch(
    db: &Store,
    actor: &Principal,
    vendor_id: &str,
    name: &str,
    address: &AddressFields<'_>,
) -> ApiResult<BranchRow> {
    let mut tx = db.begin().await?;
    let row = store::insert_branch(&mut tx, vendor_id, name, address).await?;
    audit(
        &mut tx,
        &actor.subject,
        "vendor_branch",
        &row.id,
        "added",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Suspends (with a reason) or reinstates a vendor as the admin of `cause`;
/// a change is audited and published (`VendorSuspended` /
/// `VendorReinstated`) in the same transaction. Asking for the state it is
/// already in changes nothing.
pub async fn set_suspension(
    db: &Store,
    vendor_id: &str,
    suspend_reason: Option<&str>,
    cause: &Cause,
) -> ApiResult<VendorRow> {
    let mut tx = db.begin().await?;
    vendor_in(&mut tx, vendor_id).await?;
    let changed = match suspend_reason {
        Some(reason) => store::suspend_vendor(&mut tx, vendor_id, reason).await?,
        None => store::reinstate_vendor(&mut tx, vendor_id).await?,
    };
    if changed {
        let (action, after) = match suspend_reason {
            Some(reason) => ("suspended", json!({ "suspended": true, "reason": reason })),
            None => ("reinstated", json!({ "suspended": false })),
        };
        let actor = cause.actor();
        audit(
            &mut tx,
            actor,
            "vendor",
            vendor_id,
            action,
            None,
            Some(after),
        )
        .await?;
        match suspend_reason {
            Some(reason) => publish::vendor_suspended(&mut tx, vendor_id, reason, cause).await?,
            None => publish::vendor_reinstated(&mut tx, vendor_id, cause).await?,
        }
    }
    let row = vendor_in(&mut tx, vendor_id).await?;
    tx.commit().await?;
    Ok(row)
}

/// The vendor `id` inside the caller's transaction, or `NOT_FOUND`.
pub(crate) async fn vendor_in(conn: &mut AnyConnection, id: &str) -> ApiResult<VendorRow> {
    store::vendor_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("vendor"))
}
