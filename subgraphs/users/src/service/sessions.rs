//! Sessions: signing in, rotating refresh tokens and signing out. Access
//! tokens are short-lived JWTs; refresh tokens are random, stored hashed,
//! single-use, and grouped in families so that reuse of a spent token
//! (a sign of theft) revokes the whole family.

use crate::domain::throttle::account_key;
use crate::domain::{self, Email};
use crate::service::audit;
use crate::service::throttle::Attempt;
use crate::store::{self, accounts, RefreshTokenRow, UserRow};
use chrono::{DateTime, Utc};
use janta_platform::auth::{Principal, TokenSigner};
use janta_platform::ids::new_id;
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;
use std::sync::Arc;
use std::time::Duration;

/// Access tokens live this long.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// Refresh tokens live this long (unless used or revoked first).
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A signed-in session: the tokens and the account they are for.
pub struct Session {
    /// Short-lived access token (JWT).
    pub access_token: String,
    /// Single-use refresh token (only its hash is stored).
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The signed-in account.
    pub user: UserRow,
}

/// Issues and rotates tokens.
pub struct Sessions {
    signer: Arc<TokenSigner>,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated("invalid email or password")
}

impl Sessions {
    /// Sessions signed by `signer` (shared with the OAuth token endpoint).
    pub fn new(signer: Arc<TokenSigner>) -> Self {
        Sessions { signer }
    }

    /// The public keys for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        self.signer.jwks()
    }

    /// The signer (for the local verifier).
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// Issues an access token and a refresh token in `family_id` for `user`.
    pub async fn issue(
        &self,
        conn: &mut AnyConnection,
        user: UserRow,
        family_id: &str,
    ) -> ApiResult<Session> {
        let (access_token, expires_at) = self.access_token(&user)?;
        let (refresh_token, refresh_hash) = domain::new_refresh_token();
        let refresh_expiry =
            Utc::now() + chrono::Duration::from_std(REFRESH_TTL).expect("constant");
        store::insert_refresh_token(conn, family_id, &user.id, &refresh_hash, refresh_expiry)
            .await?;
        Ok(Session {
            access_token,
            refresh_token,
            expires_at,
            user,
        })
    }

    /// What [`Sessions::issue`] answers, for an account that was not created
    /// (registration with a taken e-mail): a signed access token of the
    /// same shape and lifetime for `user`, and a refresh token stored nowhere.
    pub fn unclaimed(&self, user: UserRow) -> ApiResult<Session> {
        let (access_token, expires_at) = self.access_token(&user)?;
        let (refresh_token, _) = domain::new_refresh_token();
        Ok(Session {
            access_token,
            refresh_token,
            expires_at,
            user,
        })
    }

    /// An access token for `user` and its expiry. Roles and vendor are those
    /// the account has now: PHARMACIST only with a verified appointment
    /// (see [`UserRow::roles`]).
    fn access_token(&self, user: &UserRow) -> ApiResult<(String, DateTime<Utc>)> {
        let principal = Principal {
            subject: user.id.clone(),
            roles: user.roles(),
            vendor_id: user.vendor_id.clone(),
            scopes: vec![],
        };
        let (access_token, exp) = self.signer.sign(&principal, ACCESS_TTL)?;
        let expires_at = DateTime::from_timestamp(exp, 0).expect("valid expiry");
        Ok((access_token, expires_at))
    }

    /// Password login, throttled per account and per client address: the
    /// attempt is counted before the password is checked ([`Attempt`]).
    pub async fn login(
        &self,
        db: &Store,
        email: &str,
        password: &str,
        device: Option<&str>,
        client: ClientAddress,
    ) -> ApiResult<Session> {
        let email = Email::parse(email).map_err(|_| invalid_credentials())?;
        let attempt = Attempt::begin(db, &account_key(email.as_str()), client).await?;
        let user = store::user_by_email(db, email.as_str()).await?;
        let verified = {
            let stored = user.as_ref().map(|u| u.password_hash.clone());
            let candidate = password.to_string();
            tokio::task::spawn_blocking(move || {
                domain::verify_password(&candidate, stored.as_deref())
            })
            .await
            .map_err(ApiError::internal)?
        };
        let Some(user) = user.filter(|_| verified) else {
            return Err(invalid_credentials());
        };
        let mut tx = db.begin().await?;
        attempt.succeeded(&mut tx).await?;
        audit(&mut tx, &user.id, "user", &user.id, "signed_in", None, None).await?;
        let family = new_id();
        let payload = self.issue(&mut tx, user, &family).await?;
        if let Some(device) = device {
            accounts::set_family_device(&mut tx, &family, device).await?;
        }
        tx.commit().await?;
        Ok(payload)
    }

    /// Rotates a refresh token. A token seen twice revokes its family.
    pub async fn refresh(&self, db: &Store, token: &str) -> ApiResult<Session> {
        let hash = domain::hash_secret(token);
        let mut tx = db.begin().await?;
        let Some(row) = store::refresh_token_by_hash(&mut tx, &hash).await? else {
            return Err(ApiError::unauthenticated("invalid refresh token"));
        };
        let spent = row.used_at.is_some() || row.revoked_at.is_some();
        if spent || !store::mark_refresh_token_used(&mut tx, &row.id).await? {
            revoke_family(&mut tx, &row, "revoked_on_reuse").await?;
            tx.commit().await?;
            return Err(ApiError::unauthenticated(
                "refresh token was already used; sign in again",
            ));
        }
        if row.expires_at <= Utc::now() {
            return Err(ApiError::unauthenticated(
                "refresh token expired; sign in again",
            ));
        }
        let user = store::user_by_id(&mut tx, &row.user_id)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
        let payload = self.issue(&mut tx, user, &row.family_id).await?;
        tx.commit().await?;
        Ok(payload)
    }

    /// Revokes the family of `token`. Unknown tokens are a no-op (idempotent).
    pub async fn logout(&self, db: &Store, token: &str) -> ApiResult<bool> {
        let hash = domain::hash_secret(token);
        let mut tx = db.begin().await?;
        if let Some(row) = store::refresh_token_by_hash(&mut tx, &hash).await? {
            revoke_family(&mut tx, &row, "signed_out").await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Revokes every token of `row`'s family, audited as `action`.
async fn revoke_family(
    conn: &mut AnyConnection,
    row: &RefreshTokenRow,
    action: &str,
) -> ApiResult<()> {
    store::revoke_family(conn, &row.family_id).await?;
    let family = "refresh_token_family";
    audit(
        conn,
        &row.user_id,
        family,
        &row.family_id,
        action,
        None,
        None,
    )
    .await
}

/// The session (refresh-token family) `token` belongs to, if it is a live
/// one of `me`; `BAD_USER_INPUT` otherwise (the caller named it as theirs).
pub async fn family_of_token(conn: &mut AnyConnection, me: &str, token: &str) -> ApiResult<String> {
    let row = store::refresh_token_by_hash(conn, &domain::hash_secret(token)).await?;
    match row {
        Some(row) if row.user_id == me && row.revoked_at.is_none() => Ok(row.family_id),
        _ => Err(ApiError::bad_input(
            "currentRefreshToken is not a live session of yours",
        )),
    }
}

/// The live sessions of `me`, most recently used first, with the family
/// of `current_token` (when given) marked as the current one.
pub async fn my_sessions(
    db: &Store,
    me: &str,
    current_token: Option<&str>,
) -> ApiResult<(Vec<accounts::SessionRow>, Option<String>)> {
    let mut conn = db.pool().acquire().await?;
    let current = match current_token {
        Some(token) => Some(family_of_token(&mut conn, me, token).await?),
        None => None,
    };
    Ok((accounts::live_sessions(&mut conn, me).await?, current))
}

/// Ends session `family_id` of `me`; `NOT_FOUND` when it is not a live
/// session of theirs (another person's session is not revealed to exist).
pub async fn revoke_session(db: &Store, me: &str, family_id: &str) -> ApiResult<()> {
    let mut tx = db.begin().await?;
    if !accounts::owns_live_family(&mut tx, me, family_id).await? {
        return Err(ApiError::not_found("session"));
    }
    store::revoke_family(&mut tx, family_id).await?;
    let family = "refresh_token_family";
    audit(
        &mut tx,
        me,
        family,
        family_id,
        "revoked_by_owner",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of `me` but the one `current_token` belongs to;
/// answers how many ended.
pub async fn revoke_other_sessions(db: &Store, me: &str, current_token: &str) -> ApiResult<usize> {
    let mut tx = db.begin().await?;
    let keep = family_of_token(&mut tx, me, current_token).await?;
    let ended = accounts::revoke_families_except(&mut tx, me, Some(&keep)).await?;
    for family_id in &ended {
        let family = "refresh_token_family";
        audit(
            &mut tx,
            me,
            family,
            family_id,
            "revoked_by_owner",
            None,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ended.len())
}
