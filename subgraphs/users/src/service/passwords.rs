//! Changing a password (knowing the current one) and resetting a forgotten
//! one with a single-use token sent by e-mail. A change ends every other
//! session; a reset ends them all. Asking for a reset answers the same,
//! after the same work, whether or not the address has an account.

use crate::domain::accounts::{self, new_reset_token, reset_token_hash};
use crate::domain::throttle::account_key;
use crate::domain::{self, Email, Password};
use crate::events::publish;
use crate::service::sessions::family_of_token;
use crate::service::throttle::Attempt;
use crate::service::verification::ttl;
use crate::service::{audit, Cause};
use crate::store::{self, accounts as sql};
use chrono::Utc;
use janta_events::types::AccountCodePurpose;
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Hashes a new password off the async workers.
async fn hash(password: Password) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Checks that `candidate` (the argument `field`) is `user`'s password,
/// throttled like sign-in (guessing here is guessing a password): for the
/// operations that ask a signed-in person to re-authenticate. The attempt
/// returned is to be marked succeeded in the caller's transaction.
pub async fn confirm_password(
    db: &Store,
    user: &store::UserRow,
    candidate: &str,
    field: &str,
    client: ClientAddress,
) -> ApiResult<Attempt> {
    let attempt = Attempt::begin(db, &account_key(&user.email), client).await?;
    let stored = user.password_hash.clone();
    let candidate = candidate.to_string();
    let right =
        tokio::task::spawn_blocking(move || domain::verify_password(&candidate, Some(&stored)))
            .await
            .map_err(ApiError::internal)?;
    if !right {
        return Err(ApiError::bad_input(format!("{field} is not your password")));
    }
    Ok(attempt)
}

/// Replaces the password of `me` after checking `current` (throttled like
/// sign-in: guessing here is guessing a password). Every session of `me`
/// ends except the one `keep_refresh_token` belongs to, if given.
pub async fn change_password(
    db: &Store,
    me: &str,
    current: &str,
    new: Password,
    keep_refresh_token: Option<&str>,
    client: ClientAddress,
) -> ApiResult<()> {
    let user = store::user_by_id(&mut *db.pool().acquire().await?, me)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
    let attempt = confirm_password(db, &user, current, "currentPassword", client).await?;
    let password_hash = hash(new).await?;
    let mut tx = db.begin().await?;
    attempt.succeeded(&mut tx).await?;
    let keep = match keep_refresh_token {
        Some(token) => Some(family_of_token(&mut tx, me, token).await?),
        None => None,
    };
    sql::set_password_hash(&mut tx, me, &password_hash).await?;
    let ended = sql::revoke_families_except(&mut tx, me, keep.as_deref()).await?;
    let after = json!({ "sessionsEnded": ended.len() });
    audit(
        &mut tx,
        me,
        "user",
        me,
        "password_changed",
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a password-reset token (valid 30 minutes) to `email` if it has an
/// account. The caller learns nothing: the same answer either way, after
/// the same token generation and a transaction of the same shape.
pub async fn request_reset(db: &Store, email: &Email, cause: &Cause) -> ApiResult<()> {
    let secret = new_reset_token();
    let expires_at = Utc::now() + ttl(accounts::RESET_TOKEN_TTL);
    let mut tx = db.begin().await?;
    let owner = store::user_by_email_in(&mut tx, email.as_str()).await?;
    let purpose = AccountCodePurpose::PasswordReset;
    if owner.is_none() {
        sql::void_live_codes(&mut tx, "", purpose).await?;
    }
    if let Some(owner) = &owner {
        sql::insert_code(&mut tx, &owner.id, purpose, "", &secret.hash, expires_at).await?;
        publish::account_code_issued(
            &mut tx,
            &owner.id,
            purpose,
            &secret.secret,
            expires_at,
            cause,
        )
        .await?;
        let action = "password_reset_requested";
        audit(&mut tx, &owner.id, "user", &owner.id, action, None, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token: the token is spent, the e-mail
/// address counts as verified (the token came through it), and every
/// session of the account ends.
pub async fn reset_password(db: &Store, token: &str, new: Password) -> ApiResult<()> {
    let password_hash = hash(new).await?;
    let mut tx = db.begin().await?;
    let row = sql::reset_token_by_hash(&mut tx, &reset_token_hash(token)).await?;
    let live =
        row.filter(|r| r.used_at.is_none() && r.voided_at.is_none() && r.expires_at > Utc::now());
    let Some(row) = live else {
        return Err(invalid_token());
    };
    if !sql::spend_code(&mut tx, &row.id).await? {
        return Err(invalid_token());
    }
    let me = row.user_id.as_str();
    sql::set_password_hash(&mut tx, me, &password_hash).await?;
    sql::mark_verified(&mut tx, me, false).await?;
    let ended = end_all_sessions(&mut tx, me).await?;
    let after = json!({ "sessionsEnded": ended });
    audit(&mut tx, me, "user", me, "password_reset", None, Some(after)).await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes every refresh-token family of `user_id`; how many there were.
async fn end_all_sessions(conn: &mut AnyConnection, user_id: &str) -> ApiResult<usize> {
    Ok(sql::revoke_families_except(conn, user_id, None)
        .await?
        .len())
}

fn invalid_token() -> ApiError {
    ApiError::bad_input("this reset link is not valid or has expired: request a new one")
}
