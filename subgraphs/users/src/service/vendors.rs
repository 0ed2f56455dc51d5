//! Pharmacies: registering one with its first branch, verifying its
//! licences, adding branches, and suspending or reinstating it. Each use
//! case is one transaction with its audit entry (and event, where other
//! subgraphs must know).

use crate::domain::gst;
use crate::domain::licences::SuspendedBy;
use crate::events::publish;
use crate::service::{audit, Cause};
use crate::store::{self, compliance, AddressFields, BranchRow, NewBranch, NewVendor, VendorRow};
use janta_platform::auth::Principal;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// A branch as asked for: its name and address, and optionally its GSTIN
/// and whether it ships (decided by [`gst::branch_registration`]).
pub struct BranchRequest<'a> {
    pub name: &'a str,
    pub address: &'a AddressFields<'a>,
    pub gstin: Option<&'a str>,
    pub ships: Option<bool>,
}

/// Registers a vendor with its first branch as `admin` (the vendor's GSTIN
/// already checked against its state). A first branch that ships becomes
/// the default shipping branch.
pub async fn create_vendor(
    db: &Store,
    admin: &Principal,
    vendor: NewVendor<'_>,
    branch: &BranchRequest<'_>,
) -> ApiResult<VendorRow> {
    let created = json!({ "name": vendor.name, "gstin": vendor.gstin, "state": vendor.state });
    let mut tx = db.begin().await?;
    let row = store::insert_vendor(&mut tx, vendor).await?;
    insert_branch(&mut tx, &row, branch).await?;
    let row = vendor_in(&mut tx, &row.id).await?;
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

/// Adds a branch to a vendor as `actor` (who may speak for it), with the
/// next invoice series of its state; the vendor's first shipping branch
/// becomes its default shipping branch.
pub async fn add_branch(
    db: &Store,
    actor: &Principal,
    vendor_id: &str,
    branch: &BranchRequest<'_>,
) -> ApiResult<BranchRow> {
    let mut tx = db.begin().await?;
    let vendor = vendor_in(&mut tx, vendor_id).await?;
    let row = insert_branch(&mut tx, &vendor, branch).await?;
    let added = json!({
        "state": row.state, "gstin": row.gstin, "ships": row.ships,
        "invoiceSeries": row.invoice_series,
    });
    audit(
        &mut tx,
        &actor.subject,
        "vendor_branch",
        &row.id,
        "added",
        None,
        Some(added),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Inserts a branch of `vendor` with its GSTIN and shipping decided, and
/// makes it the default shipping branch if it ships and there is none.
async fn insert_branch(
    conn: &mut AnyConnection,
    vendor: &VendorRow,
    branch: &BranchRequest<'_>,
) -> ApiResult<BranchRow> {
    let (gstin, ships) = gst::branch_registration(
        branch.gstin,
        branch.ships,
        branch.address.state,
        (&vendor.gstin, &vendor.state),
    )?;
    let new = NewBranch {
        id: None,
        name: branch.name,
        address: branch.address,
        gstin: gstin.as_deref(),
        ships,
    };
    let row = store::insert_branch(conn, &vendor.id, &new).await?;
    if row.ships {
        compliance::claim_shipping_branch(conn, &vendor.id, &row.id).await?;
    }
    Ok(row)
}

/// Makes `branch_id` the branch `vendor_id` ships from by default, as
/// `actor` (who may speak for the vendor). The branch must be the vendor's
/// and ship; the change is audited.
pub async fn set_shipping_branch(
    db: &Store,
    actor: &Principal,
    vendor_id: &str,
    branch_id: &str,
) -> ApiResult<VendorRow> {
    let mut tx = db.begin().await?;
    let before = vendor_in(&mut tx, vendor_id).await?;
    let branch = compliance::branch_by_id(&mut tx, branch_id)
        .await?
        .filter(|b| b.vendor_id == vendor_id)
        .ok_or_else(|| ApiError::not_found("branch of this vendor"))?;
    if !branch.ships {
        return Err(ApiError::bad_input(
            "this branch does not ship: only a shipping branch can be the default",
        ));
    }
    compliance::set_shipping_branch(&mut tx, vendor_id, branch_id).await?;
    audit(
        &mut tx,
        &actor.subject,
        "vendor",
        vendor_id,
        "shipping_branch_set",
        Some(json!({ "shippingBranchId": before.shipping_branch_id })),
        Some(json!({ "shippingBranchId": branch_id })),
    )
    .await?;
    let row = vendor_in(&mut tx, vendor_id).await?;
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
        Some(reason) => {
            store::suspend_vendor(&mut tx, vendor_id, reason, SuspendedBy::Admin).await?
        }
        None => store::reinstate_vendor(&mut tx, vendor_id, None).await?,
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
