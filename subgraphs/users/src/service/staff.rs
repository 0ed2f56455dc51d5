//! Who may work for a pharmacy, and whether the pharmacy may sell: the use
//! cases behind pharmacist appointments and vendor suspension. Each runs in
//! one transaction with its audit entry (and event, for suspension).
//!
//! Pharmacist is a licensed role. A vendor's admin proposes a pharmacist
//! with their State Pharmacy Council registration; a platform admin checks
//! the register and verifies (or rejects) it; only a verified appointment
//! puts PHARMACIST and the vendor into the person's access tokens.

use crate::domain::{self, AppointmentStatus, Email, PharmacistRegistration};
use crate::service::audit;
use crate::service::vendors::vendor_in;
use crate::store::{self, AppointmentRow, NewAppointment, UserRow};
use janta_platform::auth::{Principal, Role};
use janta_platform::store::Store;
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
    db: &Store,
    actor: &Principal,
    vendor_id: &str,
    email: &Email,
    registration: &PharmacistRegistration,
) -> ApiResult<AppointmentRow> {
    let mut tx = db.begin().await?;
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
        "status": row.status.as_db(), "vendorId": vendor_id, "userId": user.id,
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
    db: &Store,
    admin: &Principal,
    id: &str,
    decision: Decision,
) -> ApiResult<AppointmentRow> {
    let mut tx = db.begin().await?;
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
        let user = user_in(&mut tx, &before.user_id).await?;
        check_same_vendor(user.vendor_id.as_deref(), &before.vendor_id)?;
    }
    let from = AppointmentStatus::Pending;
    if !store::decide_appointment(&mut tx, id, from, to, &admin.subject, reason).await? {
        return Err(ApiError::conflict("this appointment is not pending"));
    }
    let after = appointment_in(&mut tx, id).await?;
    let change = |row: &AppointmentRow| {
        json!({
            "status": row.status.as_db(),
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
async fn revoke_pharmacist(
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

/// Makes the account with `email` an admin of `vendor_id` with `role` (a
/// staff role; the caller has checked that `actor` may speak for it).
pub async fn add_vendor_staff(
    db: &Store,
    actor: &Principal,
    vendor_id: &str,
    email: &Email,
    role: Role,
) -> ApiResult<UserRow> {
    let user = store::user_by_email(db, email.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("user with this email"))?;
    check_same_vendor(user.vendor_id.as_deref(), vendor_id)?;
    let mut roles = user.roles();
    if !roles.contains(&role) {
        roles.push(role);
    }
    let mut tx = db.begin().await?;
    vendor_in(&mut tx, vendor_id).await?;
    store::set_roles(&mut tx, &user.id, &roles, Some(vendor_id)).await?;
    let after = user_in(&mut tx, &user.id).await?;
    audit(
        &mut tx,
        &actor.subject,
        "user",
        &user.id,
        "staff_added",
        Some(json_of_user(&user)),
        Some(json_of_user(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Replaces the roles of `user_id` as `admin`. PHARMACIST can be kept or
/// removed (which revokes the appointment) but not added.
pub async fn set_user_roles(
    db: &Store,
    admin: &Principal,
    user_id: &str,
    roles: &[Role],
) -> ApiResult<UserRow> {
    domain::check_assignable(roles)?;
    let mut tx = db.begin().await?;
    let before = user_in(&mut tx, user_id).await?;
    let pharmacist = before.pharmacy_id.is_some();
    domain::check_pharmacist_kept(roles, pharmacist)?;
    let vendor_admin = roles.contains(&Role::VendorAdmin);
    let vendor_id = before.vendor_id.clone().filter(|_| vendor_admin);
    if vendor_admin && vendor_id.is_none() {
        return Err(ApiError::bad_input(
            "attach the user to a vendor with addVendorStaff first",
        ));
    }
    if pharmacist && !roles.contains(&Role::Pharmacist) {
        revoke_pharmacist(&mut tx, admin, user_id).await?;
    }
    store::set_roles(&mut tx, user_id, roles, vendor_id.as_deref()).await?;
    let after = user_in(&mut tx, user_id).await?;
    audit(
        &mut tx,
        &admin.subject,
        "user",
        user_id,
        "roles_set",
        Some(json_of_user(&before)),
        Some(json_of_user(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

fn json_of_user(row: &UserRow) -> serde_json::Value {
    json!({ "roles": row.roles(), "vendorId": row.vendor_id })
}

async fn user_in(conn: &mut AnyConnection, id: &str) -> ApiResult<UserRow> {
    store::user_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
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

async fn appointment_in(conn: &mut AnyConnection, id: &str) -> ApiResult<AppointmentRow> {
    store::appointment_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("pharmacist appointment"))
}
