//! Registration that does not reveal which e-mail addresses have accounts.
//!
//! `register` answers a taken address exactly as it answers a new one: the
//! same fields, an access token of the same shape and lifetime (for an ID
//! that belongs to no account), a refresh token of the same form, and the
//! details the caller typed — nothing of the existing account. Both paths
//! hash the password and write one transaction, so timing does not tell
//! them apart either. Instead of an error to the caller, the account's owner
//! is told by e-mail (`RegistrationAttempted`, delivered by notifications).
//! A new account gets verification codes for its e-mail and phone
//! ([`crate::service::verification`]) and has accepted the terms in force
//! (recorded as its first consent; marketing is never pre-ticked).

use crate::domain::accounts::ConsentKind;
use crate::domain::{Email, Password, Phone};
use crate::events::publish;
use crate::service::sessions::{Session, Sessions};
use crate::service::{audit, verification, Cause};
use crate::store::{self, UserRow};
use janta_platform::auth::Role;
use janta_platform::ids::new_id;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};

/// A validated sign-up.
pub struct Registration {
    /// Login e-mail.
    pub email: Email,
    /// Mobile number, if given.
    pub phone: Option<Phone>,
    /// Full name.
    pub full_name: String,
    /// The chosen password (hashed here, off the async workers).
    pub password: Password,
}

/// Creates a customer account and signs it in, or, when the e-mail is
/// taken, tells the owner and gives the same answer without an account.
pub async fn register(
    db: &Store,
    sessions: &Sessions,
    reg: Registration,
    cause: &Cause,
) -> ApiResult<Session> {
    let Registration {
        email,
        phone,
        full_name,
        password,
    } = reg;
    // Hashing is deliberately slow: keep it off the async workers.
    let password_hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut tx = db.begin().await?;
    let inserted = store::insert_user(
        &mut tx,
        store::NewUser {
            email: email.as_str(),
            phone: phone.as_ref().map(Phone::as_str),
            full_name: &full_name,
            password_hash: &password_hash,
            roles: &[Role::Customer],
            vendor_id: None,
        },
    )
    .await?;
    let session = match inserted {
        Some(user) => {
            let created = serde_json::json!({ "roles": user.roles(), "vendorId": user.vendor_id });
            audit(
                &mut tx,
                &user.id,
                "user",
                &user.id,
                "registered",
                None,
                Some(created),
            )
            .await?;
            // Registering is the affirmative act of accepting the terms
            // shown with the form: the acceptance is recorded with the
            // version in force. Other consents start withdrawn.
            store::accounts::insert_consent(&mut tx, &user.id, ConsentKind::Terms, true).await?;
            publish::user_registered(&mut tx, &user.id, &user.full_name, cause).await?;
            verification::issue_after_registration(&mut tx, &user, cause).await?;
            sessions.issue(&mut tx, user, &new_id()).await?
        }
        None => {
            let owner = store::user_by_email_in(&mut tx, email.as_str())
                .await?
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("taken e-mail has no account"))
                })?;
            publish::registration_attempted(&mut tx, &owner.id, cause).await?;
            sessions.unclaimed(unclaimed_account(email, phone, full_name))?
        }
    };
    tx.commit().await?;
    Ok(session)
}

/// The account a new registration would have created, built from what the
/// caller typed and never stored.
fn unclaimed_account(email: Email, phone: Option<Phone>, full_name: String) -> UserRow {
    UserRow {
        id: new_id(),
        email: email.as_str().to_string(),
        phone: phone.as_ref().map(|p| p.as_str().to_string()),
        full_name,
        password_hash: String::new(),
        granted_roles: vec![Role::Customer],
        vendor_id: None,
        pharmacy_id: None,
        version: 1,
        created_at: chrono::Utc::now(),
        email_verified_at: None,
        phone_verified_at: None,
    }
}
