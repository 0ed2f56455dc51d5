//! Who may work for a pharmacy, and whether the pharmacy may sell: the use
//! cases behind pharmacist appointments and vendor suspension. Each runs in
//! one transaction with its audit entry (and event, for suspension).
//!
//! Pharmacist is a licensed role. A vendor's admin proposes a pharmacist
//! with their State Pharmacy Council registration; a platform admin checks
//! the register and verifies (or rejects) it; only a verified appointment
//! puts PHARMACIST and the vendor into the person's access tokens.

use crate::domain::{AppointmentStatus, Email, PharmacistRegistration};
use crate::store::{self, AppointmentRow, NewAppointment, VendorRow};
use crate::{audit, events, UsersState};
use async_graphql::Context;
use janta_platform::auth::Principal;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// What a platform admin decides about a proposed pharmacist.
pub enum Decision {
    /// The registration checks out: the role becomes active.
    Verify,
    /// It does not, for this reason.
    Reject(String),
}

/// Records `actor`'s proposal of the account with `email` as pharmacist of
/// `vendor_id` (the caller has checked that `actor` may speak for it).
pub async fn propose_pharmacist(
    st: &UsersState,
    actor: &Principal,
    vendor_id: &str,
    email: &Email,
    registration: &PharmacistRegistration,
) -> ApiResult<AppointmentRow> {
    let mut tx = st.store.begin().await?;
    vendor_in(&mut tx, vendor_id).await?;
    let user = store::user_by_email_in(&mut tx, email.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("user with this email"))?;
    check_same_vendor(user.vendor_id.as_deref(), vendor_id)?;
    let row = store::insert_appointment(
        &mut tx,
        NewAppointment {
            vendor_id,
            user_id: &user.id,
            council: &registration.council,
            registration_number: &registration.number,
            proposed_by: &actor.subject,
            status: AppointmentStatus::Pending,
            decided_by: None,
        },
    )
    .await?;
    let proposed = json!({
        "status": row.status, "vendorId": vendor_id, "userId": user.id,
        "council": row.council, "registrationNumber": row.registration_number,
    });
    audit(
        &mut tx,
        &actor.subject,
        APPOINTMENT,
        &row.id,
        "proposed",
        None,
        Some(proposed),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Verifies or rejects a pending appointment as `admin`, who is recorded as
/// the one who decided (on the appointment and in the audit trail).
pub async fn decide_pharmacist(
    st: &UsersState,
    admin: &Principal,
    id: &str,
    decision: Decision,
) -> ApiResult<AppointmentRow> {
    let mut tx = st.store.begin().await?;
    let before = appointment_in(&mut tx, id).await?;
    let (to, reason, action) = match &decision {
        Decision::Verify => (AppointmentStatus::Verified, None, "verified"),
        Decision::Reject(reason) => (
            AppointmentStatus::Rejected,
            Some(reason.as_str()),
            "rejected",
        ),
    };
    if matches!(decision, Decision::Verify) {
        let user = store::user_by_id(&mut tx, &before.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        check_same_vendor(user.vendor_id.as_deref(), &before.vendor_id)?;
    }
    let from = AppointmentStatus::Pending;
    if !store::decide_appointment(&mut tx, id, from, to, &admin.subject, reason).await? {
        return Err(ApiError::conflict("this appointment is not pending"));
    }
    let after = appointment_in(&mut tx, id).await?;
    let change = |row: &AppointmentRow| {
        json!({
            "status": row.status,
            "decidedBy": row.decided_by,
            "reason": row.decision_reason,
        })
    };
    audit(
        &mut tx,
        &admin.subject,
        APPOINTMENT,
        id,
        action,
        Some(change(&before)),
        Some(change(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Withdraws the verified appointment of `user_id`, if any (an admin took
/// PHARMACIST away with `setUserRoles`), inside the caller's transaction.
pub async fn revoke_pharmacist(
    conn: &mut AnyConnection,
    admin: &Principal,
    user_id: &str,
) -> ApiResult<()> {
    let Some(live) = store::live_appointment_of(conn, user_id).await? else {
        return Ok(());
    };
    let (from, to) = (AppointmentStatus::Verified, AppointmentStatus::Revoked);
    let reason = Some("PHARMACIST removed by setUserRoles");
    if store::decide_appointment(conn, &live.id, from, to, &admin.subject, reason).await? {
        let after = json!({ "status": to.as_db(), "decidedBy": admin.subject });
        audit(
            conn,
            &admin.subject,
            APPOINTMENT,
            &live.id,
            "revoked",
            None,
            Some(after),
        )
        .await?;
    }
    Ok(())
}

/// Suspends (with a reason) or reinstates a vendor as `admin`; a change is
/// audited and published (`VendorSuspended` / `VendorReinstated`) in the same
/// transaction. Asking for the state it is already in changes nothing.
pub async fn set_suspension(
    ctx: &Context<'_>,
    st: &UsersState,
    admin: &Principal,
    vendor_id: &str,
    suspend_reason: Option<&str>,
) -> ApiResult<VendorRow> {
    let mut tx = st.store.begin().await?;
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
        audit(
            &mut tx,
            &admin.subject,
            "vendor",
            vendor_id,
            action,
            None,
            Some(after),
        )
        .await?;
        match suspend_reason {
            Some(reason) => events::vendor_suspended(&mut tx, vendor_id, reason, ctx).await?,
            None => events::vendor_reinstated(&mut tx, vendor_id, ctx).await?,
        }
    }
    let row = vendor_in(&mut tx, vendor_id).await?;
    tx.commit().await?;
    Ok(row)
}

/// The audit trail's name for appointments.
const APPOINTMENT: &str = "pharmacist_appointment";

/// A person works for one vendor at a time: `current` (their vendor now, if
/// any) must be `vendor_id`.
fn check_same_vendor(current: Option<&str>, vendor_id: &str) -> ApiResult<()> {
    match current {
        Some(other) if other != vendor_id => Err(ApiError::conflict(
            "this user already works for another vendor",
        )),
        _ => Ok(()),
    }
}

async fn vendor_in(conn: &mut AnyConnection, id: &str) -> ApiResult<VendorRow> {
    store::vendor_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("vendor"))
}

async fn appointment_in(conn: &mut AnyConnection, id: &str) -> ApiResult<AppointmentRow> {
    store::appointment_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("pharmacist appointment"))
}
