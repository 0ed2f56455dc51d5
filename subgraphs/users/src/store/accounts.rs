//! SQL of a person's own account: one-time codes, sessions (refresh-token
//! families), password changes, verified contacts and consent history.
//! Every function runs inside the caller's transaction.

use crate::domain::accounts::{purpose_as_db, CodeState, ConsentKind};
use chrono::{DateTime, Utc};
use janta_events::types::AccountCodePurpose;
use janta_platform::columns::{flag, opt_time, parsed, time};
use janta_platform::ids::new_id;
use janta_platform::scalars::{now_db, to_db_time};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

/// A one-time code or token as stored (its hash only).
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: String,
    pub user_id: String,
    pub salt: String,
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl CodeRow {
    /// What the rules judge a presented code against.
    pub fn state(&self) -> CodeState {
        CodeState {
            attempts: self.attempts,
            expires_at: self.expires_at,
            spent: self.used_at.is_some() || self.voided_at.is_some(),
        }
    }
}

impl FromRow<'_, AnyRow> for CodeRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(CodeRow {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            salt: row.try_get("salt")?,
            code_hash: row.try_get("code_hash")?,
            attempts: row.try_get("attempts")?,
            expires_at: time(row, "expires_at")?,
            used_at: opt_time(row, "used_at")?,
            voided_at: opt_time(row, "voided_at")?,
            created_at: time(row, "created_at")?,
        })
    }
}

const CODE_COLUMNS: &str =
    "id, user_id, salt, code_hash, attempts, expires_at, used_at, voided_at, created_at";

/// Stores a new code of `purpose` for `user_id`, voiding the live ones of
/// the same purpose (only the newest code works).
pub async fn insert_code(
    conn: &mut AnyConnection,
    user_id: &str,
    purpose: AccountCodePurpose,
    salt: &str,
    code_hash: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    void_live_codes(conn, user_id, purpose).await?;
    sqlx::query(
        "INSERT INTO account_codes (id, user_id, purpose, salt, code_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(purpose_as_db(purpose))
    .bind(salt)
    .bind(code_hash)
    .bind(to_db_time(expires_at))
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Voids the live codes of `purpose` for `user_id` (none for an ID that
/// is no account's: the same statement, so the same work either way).
pub async fn void_live_codes(
    conn: &mut AnyConnection,
    user_id: &str,
    purpose: AccountCodePurpose,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_codes SET voided_at = $3 WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose_as_db(purpose))
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The newest code of `purpose` for `user_id`, locked for the caller's
/// transaction on PostgreSQL (concurrent guesses are counted one by one).
pub async fn latest_code(
    conn: &mut AnyConnection,
    user_id: &str,
    purpose: AccountCodePurpose,
) -> sqlx::Result<Option<CodeRow>> {
    let newest: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM account_codes WHERE user_id = $1 AND purpose = $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(purpose_as_db(purpose))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id,)) = newest else {
        return Ok(None);
    };
    // A no-op write takes the row lock on both backends before it is read.
    sqlx::query("UPDATE account_codes SET attempts = attempts WHERE id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(&format!(
        "SELECT {CODE_COLUMNS} FROM account_codes WHERE id = $1"
    ))
    .bind(&id)
    .fetch_optional(conn)
    .await
}

/// The live reset token with hash `code_hash`, locked like [`latest_code`].
pub async fn reset_token_by_hash(
    conn: &mut AnyConnection,
    code_hash: &str,
) -> sqlx::Result<Option<CodeRow>> {
    sqlx::query(
        "UPDATE account_codes SET attempts = attempts WHERE code_hash = $1 AND purpose = $2",
    )
    .bind(code_hash)
    .bind(purpose_as_db(AccountCodePurpose::PasswordReset))
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {CODE_COLUMNS} FROM account_codes WHERE code_hash = $1 AND purpose = $2"
    ))
    .bind(code_hash)
    .bind(purpose_as_db(AccountCodePurpose::PasswordReset))
    .fetch_optional(conn)
    .await
}

/// Counts one wrong attempt on code `id`.
pub async fn count_wrong_attempt(conn: &mut AnyConnection, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE account_codes SET attempts = attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Spends code `id`; false when it was spent concurrently.
pub async fn spend_code(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE account_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND voided_at IS NULL",
    )
    .bind(id)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the owner of `user_id` proved their e-mail (or, with
/// `phone`, their phone number).
pub async fn mark_verified(
    conn: &mut AnyConnection,
    user_id: &str,
    phone: bool,
) -> sqlx::Result<()> {
    let column = if phone {
        "phone_verified_at"
    } else {
        "email_verified_at"
    };
    sqlx::query(&format!(
        "UPDATE users SET {column} = COALESCE({column}, $2), version = version + 1, updated_at = $2 \
         WHERE id = $1"
    ))
    .bind(user_id)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Replaces the password hash of `user_id`.
pub async fn set_password_hash(
    conn: &mut AnyConnection,
    user_id: &str,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .bind(now_db())
        .execute(conn)
        .await
        .map(|_| ())
}

/// One session: a refresh-token family with its first and latest tokens.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The family ID (what `revokeSession` takes).
    pub family_id: String,
    /// The device the client named at sign-in.
    pub device: Option<String>,
    /// When it was opened (its first token).
    pub created_at: DateTime<Utc>,
    /// When it was last refreshed (its newest token).
    pub last_used_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for SessionRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(SessionRow {
            family_id: row.try_get("family_id")?,
            device: row.try_get("device")?,
            created_at: time(row, "created_at")?,
            last_used_at: time(row, "last_used_at")?,
        })
    }
}

/// The live sessions of `user_id` (a family with an unexpired, unrevoked,
/// unused token), most recently used first.
pub async fn live_sessions(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as(
        "SELECT t.family_id, MAX(t.device) AS device, MIN(t.created_at) AS created_at, \
         MAX(t.created_at) AS last_used_at FROM refresh_tokens t WHERE t.user_id = $1 \
         AND t.family_id IN (SELECT family_id FROM refresh_tokens WHERE user_id = $1 \
         AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2) \
         GROUP BY t.family_id ORDER BY MAX(t.created_at) DESC, t.family_id",
    )
    .bind(user_id)
    .bind(now_db())
    .fetch_all(conn)
    .await
}

/// The device of refresh-token family `family_id` (copied to its rotations).
pub async fn family_device(
    conn: &mut AnyConnection,
    family_id: &str,
) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT device FROM refresh_tokens WHERE family_id = $1 AND device IS NOT NULL LIMIT 1",
    )
    .bind(family_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(d,)| d))
}

/// Names the device of every token of `family_id`.
pub async fn set_family_device(
    conn: &mut AnyConnection,
    family_id: &str,
    device: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_tokens SET device = $2 WHERE family_id = $1")
        .bind(family_id)
        .bind(device)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The live families of `user_id` other than `keep`; revokes them and
/// returns their IDs (for the audit trail).
pub async fn revoke_families_except(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    let keep = keep.unwrap_or("");
    let families: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND family_id <> $2 \
         AND revoked_at IS NULL ORDER BY family_id",
    )
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND family_id <> $2 \
         AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(families.into_iter().map(|(f,)| f).collect())
}

/// Whether `family_id` is a family of `user_id` that is not yet revoked.
pub async fn owns_live_family(
    conn: &mut AnyConnection,
    user_id: &str,
    family_id: &str,
) -> sqlx::Result<bool> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM refresh_tokens WHERE user_id = $1 AND family_id = $2 \
         AND revoked_at IS NULL LIMIT 1",
    )
    .bind(user_id)
    .bind(family_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// One recorded consent choice.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    pub id: String,
    pub kind: ConsentKind,
    pub granted: bool,
    pub text_version: String,
    pub recorded_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for ConsentRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(ConsentRow {
            id: row.try_get("id")?,
            kind: parsed(row, "kind", ConsentKind::from_db)?,
            granted: flag(row, "granted")?,
            text_version: row.try_get("text_version")?,
            recorded_at: time(row, "recorded_at")?,
        })
    }
}

/// Appends a consent choice of `user_id` (history is never rewritten).
pub async fn insert_consent(
    conn: &mut AnyConnection,
    user_id: &str,
    kind: ConsentKind,
    granted: bool,
) -> sqlx::Result<ConsentRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO consents (id, user_id, kind, granted, text_version, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(kind.as_db())
    .bind(granted)
    .bind(kind.current_version())
    .bind(now_db())
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(
        "SELECT id, kind, granted, text_version, recorded_at FROM consents WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(conn)
    .await
}

/// Every consent choice of `user_id`, oldest first.
pub async fn consents_of(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<ConsentRow>> {
    sqlx::query_as(
        "SELECT id, kind, granted, text_version, recorded_at FROM consents WHERE user_id = $1 \
         ORDER BY recorded_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}
