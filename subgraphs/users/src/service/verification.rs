//! Proving that an e-mail address or phone number is the account owner's:
//! a 6-digit code goes out through notifications (`AccountCodeIssued`),
//! only its salted hash is stored, it works once, for 10 minutes, and five
//! wrong tries void it (`RATE_LIMITED` until a new code is requested, which
//! has a cooldown of its own). The rules are in [`crate::domain::accounts`].

use crate::domain::accounts::{self, judge, refusal, Verdict};
use crate::events::publish;
use crate::service::{audit, Cause};
use crate::store::{self, accounts as sql, UserRow};
use chrono::{DateTime, Utc};
use janta_events::types::AccountCodePurpose;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;

/// Which contact detail a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// The login e-mail address.
    Email,
    /// The mobile number.
    Phone,
}

impl Contact {
    fn purpose(self) -> AccountCodePurpose {
        match self {
            Contact::Email => AccountCodePurpose::VerifyEmail,
            Contact::Phone => AccountCodePurpose::VerifyPhone,
        }
    }
}

/// Issues a new code proving `contact` of `user` and publishes it for
/// delivery; earlier codes of that contact stop working.
pub async fn issue(
    conn: &mut AnyConnection,
    user: &UserRow,
    contact: Contact,
    cause: &Cause,
) -> ApiResult<DateTime<Utc>> {
    let secret = accounts::new_verification_code();
    let expires_at = Utc::now() + ttl(accounts::VERIFY_CODE_TTL);
    let purpose = contact.purpose();
    sql::insert_code(
        conn,
        &user.id,
        purpose,
        &secret.salt,
        &secret.hash,
        expires_at,
    )
    .await?;
    publish::account_code_issued(conn, &user.id, purpose, &secret.secret, expires_at, cause)
        .await?;
    Ok(expires_at)
}

/// After sign-up: a code to the e-mail address, and one by SMS when a phone
/// number was given.
pub async fn issue_after_registration(
    conn: &mut AnyConnection,
    user: &UserRow,
    cause: &Cause,
) -> ApiResult<()> {
    issue(conn, user, Contact::Email, cause).await?;
    if user.phone.is_some() {
        issue(conn, user, Contact::Phone, cause).await?;
    }
    Ok(())
}

/// Sends a new code for `contact` of `me`, unless the last one went out
/// less than the cooldown ago (`RATE_LIMITED` with `retryAfter`). Answers
/// when the new code expires.
pub async fn resend(
    db: &Store,
    me: &str,
    contact: Contact,
    cause: &Cause,
) -> ApiResult<DateTime<Utc>> {
    let mut tx = db.begin().await?;
    let user = own_account(&mut tx, me).await?;
    check_contact(&user, contact)?;
    let last = sql::latest_code(&mut tx, me, contact.purpose()).await?;
    if let Some(wait) = accounts::cooldown_left(last.map(|c| c.created_at), Utc::now()) {
        return Err(ApiError::rate_limited(
            "a code was sent a moment ago; wait retryAfter seconds before asking again",
            wait,
        ));
    }
    let expires_at = issue(&mut tx, &user, contact, cause).await?;
    tx.commit().await?;
    Ok(expires_at)
}

/// Checks `code` against the newest code for `contact` of `me`. A right
/// code marks the contact verified and is spent; a wrong one is counted
/// (the count is kept even though the answer is an error).
pub async fn verify(db: &Store, me: &str, contact: Contact, code: &str) -> ApiResult<UserRow> {
    let mut tx = db.begin().await?;
    let user = own_account(&mut tx, me).await?;
    check_contact(&user, contact)?;
    let row = sql::latest_code(&mut tx, me, contact.purpose()).await?;
    let matches = row
        .as_ref()
        .is_some_and(|r| accounts::same_hash(&accounts::salted_hash(&r.salt, code), &r.code_hash));
    let verdict = judge(
        row.as_ref().map(|r| r.state()).as_ref(),
        matches,
        Utc::now(),
    );
    match (verdict, row) {
        (Verdict::Accepted, Some(row)) if sql::spend_code(&mut tx, &row.id).await? => {
            sql::mark_verified(&mut tx, me, contact == Contact::Phone).await?;
            let action = match contact {
                Contact::Email => "email_verified",
                Contact::Phone => "phone_verified",
            };
            audit(&mut tx, me, "user", me, action, None, None).await?;
            let user = own_account(&mut tx, me).await?;
            tx.commit().await?;
            Ok(user)
        }
        (Verdict::Wrong { .. }, Some(row)) => {
            sql::count_wrong_attempt(&mut tx, &row.id).await?;
            tx.commit().await?;
            Err(refusal(verdict))
        }
        (Verdict::Accepted, _) => Err(refusal(Verdict::Expired)),
        _ => Err(refusal(verdict)),
    }
}

/// The account of the signed-in person.
async fn own_account(conn: &mut AnyConnection, me: &str) -> ApiResult<UserRow> {
    store::user_by_id(conn, me)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))
}

/// A phone code needs a phone number on the account.
fn check_contact(user: &UserRow, contact: Contact) -> ApiResult<()> {
    if contact == Contact::Phone && user.phone.is_none() {
        return Err(ApiError::bad_input(
            "your account has no phone number: add one with updateProfile first",
        ));
    }
    Ok(())
}

/// A constant duration as a chrono duration.
pub(crate) fn ttl(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).expect("constant")
}
