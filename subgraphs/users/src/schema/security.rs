//! A person's own account security and consent: verifying contact details,
//! changing and resetting the password, seeing and ending sessions, and
//! consent choices. Each resolver validates, then calls one use case.
//!
//! Access tokens carry no session ID (that would be a new claim in the
//! shared token format), so a client names its own session by presenting
//! its current refresh token (`currentRefreshToken`) where it matters.

use crate::domain::accounts::ConsentKind as Kind;
use crate::domain::{Email, Password};
use crate::schema::{
    state, Consent, ConsentKind, ConsentRecord, Session, User, VerificationChannel,
};
use crate::service::verification::{self, Contact};
use crate::service::{consent, passwords, sessions, Cause};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, Principal};
use janta_platform::ids::parse_id;
use janta_platform::scalars::DateTime;
use janta_platform::server::ClientAddress;
use janta_platform::ApiResult;

/// The signed-in person (not a partner app acting for someone).
fn me<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    let me = principal(ctx)?;
    me.refuse_partner()?;
    Ok(me)
}

/// Reads on your own sessions and consents.
#[derive(Default)]
pub struct SecurityQuery;

#[Object]
impl SecurityQuery {
    /// Your signed-in sessions (devices), most recently used first. Name
    /// your own with `currentRefreshToken` to have it marked `current`.
    async fn my_sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your current refresh token, to mark this session")]
        current_refresh_token: Option<String>,
    ) -> ApiResult<Vec<Session>> {
        let me = me(ctx)?;
        let db = &state(ctx).store;
        let token = current_refresh_token.as_deref();
        let (rows, current) = sessions::my_sessions(db, &me.subject, token).await?;
        Ok(rows
            .into_iter()
            .map(|row| Session {
                current: current.as_deref() == Some(row.family_id.as_str()),
                row,
            })
            .collect())
    }

    /// Your consent choices: one entry per kind, with its history.
    async fn my_consents(&self, ctx: &Context<'_>) -> ApiResult<Vec<Consent>> {
        let me = me(ctx)?;
        let rows = consent::history(&state(ctx).store, &me.subject).await?;
        Ok(Kind::ALL
            .into_iter()
            .map(|kind| {
                let history: Vec<ConsentRecord> = rows
                    .iter()
                    .filter(|r| r.kind == kind)
                    .cloned()
                    .map(ConsentRecord::from)
                    .collect();
                let latest = history.last();
                Consent {
                    kind: kind.into(),
                    granted: latest.is_some_and(|r| r.granted),
                    version: latest.map(|r| r.version.clone()),
                    recorded_at: latest.map(|r| r.recorded_at),
                    current_version: kind.current_version().to_string(),
                    history,
                }
            })
            .collect())
    }
}

/// Writes on your own account security and consents.
#[derive(Default)]
pub struct SecurityMutation;

#[Object]
impl SecurityMutation {
    /// Proves your e-mail address with the 6-digit code sent to it. A wrong
    /// code is `BAD_USER_INPUT`; after 5 wrong codes the code is void and
    /// further tries are `RATE_LIMITED` until you request a new one.
    async fn verify_email(&self, ctx: &Context<'_>, code: String) -> ApiResult<User> {
        verify(ctx, Contact::Email, &code).await
    }

    /// Proves your phone number with the 6-digit code sent by SMS (same
    /// rules as `verifyEmail`).
    async fn verify_phone(&self, ctx: &Context<'_>, code: String) -> ApiResult<User> {
        verify(ctx, Contact::Phone, &code).await
    }

    /// Sends a new verification code (valid 10 minutes; earlier codes stop
    /// working). At most one a minute: sooner is `RATE_LIMITED` with
    /// `extensions.retryAfter`. Answers when the new code expires.
    async fn resend_verification_code(
        &self,
        ctx: &Context<'_>,
        channel: VerificationChannel,
    ) -> ApiResult<DateTime> {
        let me = me(ctx)?;
        let cause = Cause::of_request(ctx);
        let db = &state(ctx).store;
        let expires = verification::resend(db, &me.subject, channel.into(), &cause).await?;
        Ok(DateTime(expires))
    }

    /// Changes your password (the current one must be right; tries are
    /// throttled like sign-in). Every other session ends: name yours with
    /// `currentRefreshToken` to keep it, or all end.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
        #[graphql(desc = "Your current refresh token: this session stays signed in")]
        current_refresh_token: Option<String>,
    ) -> ApiResult<bool> {
        let me = me(ctx)?;
        let new = Password::parse(&new_password)?;
        let client = ctx
            .data_opt::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None));
        let db = &state(ctx).store;
        let keep = current_refresh_token.as_deref();
        passwords::change_password(db, &me.subject, &current_password, new, keep, client).await?;
        Ok(true)
    }

    /// Sends a password-reset token (valid 30 minutes, single use) to the
    /// e-mail address, if it has an account. Always answers `true`, the same
    /// way and after the same work, so it does not tell who has an account.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> ApiResult<bool> {
        let email = Email::parse(&email)?;
        let cause = Cause::of_request(ctx);
        passwords::request_reset(&state(ctx).store, &email, &cause).await?;
        Ok(true)
    }

    /// Sets a new password with the token from the reset e-mail. Every
    /// session of the account ends; sign in again with the new password.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> ApiResult<bool> {
        let new = Password::parse(&new_password)?;
        passwords::reset_password(&state(ctx).store, &token, new).await?;
        Ok(true)
    }

    /// Ends one of your sessions (its refresh token stops working).
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let me = me(ctx)?;
        let id = parse_id(&id, "id")?;
        sessions::revoke_session(&state(ctx).store, &me.subject, &id).await?;
        Ok(true)
    }

    /// Ends every session but the one `currentRefreshToken` belongs to;
    /// answers how many ended.
    async fn revoke_other_sessions(
        &self,
        ctx: &Context<'_>,
        current_refresh_token: String,
    ) -> ApiResult<i64> {
        let me = me(ctx)?;
        let db = &state(ctx).store;
        let ended =
            sessions::revoke_other_sessions(db, &me.subject, &current_refresh_token).await?;
        Ok(ended as i64)
    }

    /// Grants or withdraws a consent, on the version of the text in force
    /// now; earlier choices stay in the history.
    async fn update_consent(
        &self,
        ctx: &Context<'_>,
        kind: ConsentKind,
        granted: bool,
    ) -> ApiResult<ConsentRecord> {
        let me = me(ctx)?;
        let db = &state(ctx).store;
        let row = consent::update_consent(db, &me.subject, kind.into(), granted).await?;
        Ok(row.into())
    }
}

/// `verifyEmail` / `verifyPhone`.
async fn verify(ctx: &Context<'_>, contact: Contact, code: &str) -> ApiResult<User> {
    let me = me(ctx)?;
    let code = crate::domain::accounts::parse_code(code)?;
    let row = verification::verify(&state(ctx).store, &me.subject, contact, &code).await?;
    Ok(User::own_account(row))
}
