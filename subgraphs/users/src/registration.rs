//! Registration that does not reveal which e-mail addresses have accounts.
//!
//! `register` answers a taken address exactly as it answers a new one: the
//! same fields, an access token of the same shape and lifetime (for an ID
//! that belongs to no account), a refresh token of the same form, and the
//! details the caller typed — nothing of the existing account. Both paths
//! hash the password and write one transaction, so timing does not tell
//! them apart either. Instead of an error to the caller, the account's owner
//! is told by e-mail (`RegistrationAttempted`, delivered by notifications).

use crate::domain::{Email, Phone};
use crate::schema::AuthPayload;
use crate::store::{self, UserRow};
use crate::{audit, events, UsersState};
use async_graphql::Context;
use janta_platform::auth::Role;
use janta_platform::ids::new_id;
use janta_platform::scalars::now_db;
use janta_platform::{ApiError, ApiResult};

/// A validated sign-up with its password already hashed.
pub struct Registration {
    /// Login e-mail.
    pub email: Email,
    /// Mobile number, if given.
    pub phone: Option<Phone>,
    /// Full name.
    pub full_name: String,
    /// Argon2id hash of the chosen password.
    pub password_hash: String,
}

/// Creates a customer account and signs it in, or, when the e-mail is
/// taken, tells the owner and gives the same answer without an account.
pub async fn register(
    ctx: &Context<'_>,
    st: &UsersState,
    reg: Registration,
) -> ApiResult<AuthPayload> {
    let mut tx = st.store.begin().await?;
    let inserted = store::insert_user(
        &mut tx,
        store::NewUser {
            email: reg.email.as_str(),
            phone: reg.phone.as_ref().map(Phone::as_str),
            full_name: &reg.full_name,
            password_hash: &reg.password_hash,
            roles: &[Role::Customer],
            vendor_id: None,
        },
    )
    .await?;
    let payload = match inserted {
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
            events::user_registered(&mut tx, &user, ctx).await?;
            st.sessions.issue(&mut tx, user, &new_id()).await?
        }
        None => {
            let owner = store::user_by_email_in(&mut tx, reg.email.as_str())
                .await?
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("taken e-mail has no account"))
                })?;
            events::registration_attempted(&mut tx, &owner.id, ctx).await?;
            st.sessions.unclaimed(unclaimed_account(&reg))?
        }
    };
    tx.commit().await?;
    Ok(payload)
}

/// The account a new registration would have created, built from what the
/// caller typed and never stored.
fn unclaimed_account(reg: &Registration) -> UserRow {
    UserRow {
        id: new_id(),
        email: reg.email.as_str().to_string(),
        phone: reg.phone.as_ref().map(|p| p.as_str().to_string()),
        full_name: reg.full_name.clone(),
        password_hash: String::new(),
        roles: store::roles_to_db(&[Role::Customer]),
        vendor_id: None,
        pharmacy_id: None,
        created_at: now_db(),
    }
}
