//! Bootstrap of a deployment's first platform admin (`janta admin create`).
//!
//! A fresh deployment has no account that may appoint anyone, and
//! registration only ever creates customers, so the first ADMIN is created
//! from the command line by whoever runs the deployment. The password is
//! checked by the same policy as registration; the account is audited with
//! the actor [`BOOTSTRAP_ACTOR`].

use crate::domain::{Email, Password};
use crate::service::audit;
use crate::store::{self, bootstrap, UserRow};
use janta_platform::auth::Role;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};

/// The audit trail's actor for accounts created from the command line.
pub const BOOTSTRAP_ACTOR: &str = "bootstrap";

/// A validated request for a platform admin account.
pub struct NewAdmin {
    /// Login e-mail.
    pub email: Email,
    /// Full name shown in the back office.
    pub full_name: String,
    /// The chosen password (hashed here, off the async workers).
    pub password: Password,
    /// Create it even when a platform admin exists already.
    pub force: bool,
}

/// Creates a platform admin account. Refused with CONFLICT when a platform
/// admin exists already (unless `force`) or when the e-mail has an account.
pub async fn create_admin(db: &Store, admin: NewAdmin) -> ApiResult<UserRow> {
    let NewAdmin {
        email,
        full_name,
        password,
        force,
    } = admin;
    let password_hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut tx = db.begin().await?;
    if !force && bootstrap::has_platform_admin(&mut tx).await? {
        return Err(ApiError::conflict(
            "a platform admin exists already; pass --force to add another",
        ));
    }
    let fields = store::NewUser {
        email: email.as_str(),
        phone: None,
        full_name: &full_name,
        password_hash: &password_hash,
        roles: &[Role::Admin],
        vendor_id: None,
    };
    let user = store::insert_user(&mut tx, fields)
        .await?
        .ok_or_else(|| ApiError::conflict("this e-mail already has an account"))?;
    let created = serde_json::json!({ "roles": user.roles(), "email": user.email });
    audit(
        &mut tx,
        BOOTSTRAP_ACTOR,
        "user",
        &user.id,
        "admin_bootstrapped",
        None,
        Some(created),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}
