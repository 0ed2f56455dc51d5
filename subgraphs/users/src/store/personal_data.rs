//! SQL of personal-data requests: exports and their parts, account
//! deletions and their erasure reports, and what users itself holds about a
//! person (its part of an export, and its erasure).

use crate::store::{AddressRow, FamilyMemberRow};
use chrono::{DateTime, Utc};
use janta_platform::columns::{opt_time, time};
use janta_platform::ids::new_id;
use janta_platform::scalars::{now_db, to_db_time};
use janta_platform::store::{fetch_in, Store};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};
use std::collections::HashMap;

/// One export request as stored.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: String,
    pub user_id: String,
    pub requested_at: DateTime<Utc>,
    /// When the last subgraph answered.
    pub ready_at: Option<DateTime<Utc>>,
    /// When the download link and the parts end.
    pub expires_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for ExportRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(ExportRow {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            requested_at: time(row, "requested_at")?,
            ready_at: opt_time(row, "ready_at")?,
            expires_at: opt_time(row, "expires_at")?,
        })
    }
}

const EXPORT_SELECT: &str =
    "SELECT id, user_id, requested_at, ready_at, expires_at FROM data_exports";

/// Records a new export request of `user_id`.
pub async fn insert_export(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<ExportRow> {
    let id = new_id();
    sqlx::query("INSERT INTO data_exports (id, user_id, requested_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now_db())
        .execute(&mut *conn)
        .await?;
    export_by_id(conn, &id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// One export by ID.
pub async fn export_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<ExportRow>> {
    sqlx::query_as(&format!("{EXPORT_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// `user_id`'s newest export not ready yet, if it was asked for after
/// `since` (an older one is taken as stuck, and a new one may be asked for).
pub async fn pending_export(
    conn: &mut AnyConnection,
    user_id: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Option<ExportRow>> {
    sqlx::query_as(&format!(
        "{EXPORT_SELECT} WHERE user_id = $1 AND ready_at IS NULL AND requested_at > $2 \
         ORDER BY requested_at DESC, id DESC LIMIT 1"
    ))
    .bind(user_id)
    .bind(to_db_time(since))
    .fetch_optional(conn)
    .await
}

/// The exports of `user_id`, newest first.
pub async fn exports_of(store: &Store, user_id: &str) -> sqlx::Result<Vec<ExportRow>> {
    sqlx::query_as(&format!(
        "{EXPORT_SELECT} WHERE user_id = $1 ORDER BY requested_at DESC, id DESC LIMIT 50"
    ))
    .bind(user_id)
    .fetch_all(store.pool())
    .await
}

/// Stores a subgraph's part of an export (a second answer is ignored).
pub async fn insert_part(
    conn: &mut AnyConnection,
    export_id: &str,
    subgraph: &str,
    body: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO data_export_parts (export_id, subgraph, body, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (export_id, subgraph) DO NOTHING",
    )
    .bind(export_id)
    .bind(subgraph)
    .bind(body.to_string())
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The subgraphs that answered each of `export_ids`, by name (one
/// statement for a whole list of exports).
pub async fn answered(
    conn: &mut AnyConnection,
    export_ids: &[String],
) -> sqlx::Result<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = fetch_in(
        conn,
        "SELECT export_id, subgraph FROM data_export_parts WHERE export_id IN ({ids}) \
         ORDER BY export_id, subgraph",
        export_ids,
    )
    .await?;
    let mut answered: HashMap<String, Vec<String>> = HashMap::new();
    for (export_id, subgraph) in rows {
        answered.entry(export_id).or_default().push(subgraph);
    }
    Ok(answered)
}

/// The subgraphs that answered export `export_id`, by name.
pub async fn answered_one(conn: &mut AnyConnection, export_id: &str) -> sqlx::Result<Vec<String>> {
    let ids = [export_id.to_string()];
    Ok(answered(conn, &ids)
        .await?
        .remove(export_id)
        .unwrap_or_default())
}

/// Every part of export `export_id`: (subgraph, JSON text).
pub async fn parts(
    conn: &mut AnyConnection,
    export_id: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT subgraph, body FROM data_export_parts WHERE export_id = $1 ORDER BY subgraph",
    )
    .bind(export_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("subgraph")?, r.try_get("body")?)))
        .collect()
}

/// Marks export `export_id` ready until `expires_at` (once).
pub async fn mark_ready(
    conn: &mut AnyConnection,
    export_id: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE data_exports SET ready_at = $2, expires_at = $3 WHERE id = $1 AND ready_at IS NULL",
    )
    .bind(export_id)
    .bind(now_db())
    .bind(to_db_time(expires_at))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deletes the parts of every export that expired by `now`; answers how
/// many parts went.
pub async fn delete_expired_parts(store: &Store, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM data_export_parts WHERE export_id IN \
         (SELECT id FROM data_exports WHERE expires_at IS NOT NULL AND expires_at <= $1)",
    )
    .bind(to_db_time(now))
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}

/// One account deletion as stored.
#[derive(Debug, Clone)]
pub struct DeletionRow {
    pub id: String,
    pub user_id: String,
    pub requested_at: DateTime<Utc>,
    /// When the last subgraph reported.
    pub completed_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for DeletionRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(DeletionRow {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            requested_at: time(row, "requested_at")?,
            completed_at: opt_time(row, "completed_at")?,
        })
    }
}

/// Records a new account deletion of `user_id`.
pub async fn insert_deletion(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<DeletionRow> {
    let id = new_id();
    sqlx::query("INSERT INTO account_deletions (id, user_id, requested_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now_db())
        .execute(&mut *conn)
        .await?;
    deletion_by_id(conn, &id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// One account deletion by ID.
pub async fn deletion_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<DeletionRow>> {
    sqlx::query_as(
        "SELECT id, user_id, requested_at, completed_at FROM account_deletions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Stores a subgraph's erasure report (a second one is ignored).
pub async fn insert_report(
    conn: &mut AnyConnection,
    deletion_id: &str,
    subgraph: &str,
    report: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO erasure_reports (deletion_id, subgraph, report, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (deletion_id, subgraph) DO NOTHING",
    )
    .bind(deletion_id)
    .bind(subgraph)
    .bind(report.to_string())
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The reports of deletion `deletion_id`: (subgraph, JSON text), by subgraph.
pub async fn reports(
    conn: &mut AnyConnection,
    deletion_id: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT subgraph, report FROM erasure_reports WHERE deletion_id = $1 ORDER BY subgraph",
    )
    .bind(deletion_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("subgraph")?, r.try_get("report")?)))
        .collect()
}

/// Marks deletion `deletion_id` completed (once).
pub async fn mark_completed(conn: &mut AnyConnection, deletion_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_deletions SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL",
    )
    .bind(deletion_id)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

// ------------------------------------------------- what users holds itself

/// Every address of `user_id`, oldest first.
pub async fn addresses_in(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<AddressRow>> {
    sqlx::query_as(
        "SELECT id, user_id, label, line1, line2, city, state, pincode, is_default, version \
         FROM addresses WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Every family member of `user_id`, oldest first.
pub async fn family_in(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Vec<FamilyMemberRow>> {
    sqlx::query_as(
        "SELECT id, user_id, full_name, relation, date_of_birth FROM family_members \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// One sign-in as exported: its family, device and times (never a token).
#[derive(Debug, Clone)]
pub struct SignInRow {
    pub family_id: String,
    pub device: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// Whether any token of the family was revoked (signed out).
    pub revoked: bool,
}

/// Every sign-in (refresh-token family) of `user_id`, newest first.
pub async fn sign_ins_in(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<SignInRow>> {
    let rows = sqlx::query(
        "SELECT family_id, MAX(device) AS device, MIN(created_at) AS created_at, \
         MAX(created_at) AS last_used_at, \
         SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END) AS revoked \
         FROM refresh_tokens WHERE user_id = $1 GROUP BY family_id \
         ORDER BY MAX(created_at) DESC, family_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SignInRow {
                family_id: r.try_get("family_id")?,
                device: r.try_get("device")?,
                created_at: time(r, "created_at")?,
                last_used_at: time(r, "last_used_at")?,
                revoked: r.try_get::<i64, _>("revoked")? > 0,
            })
        })
        .collect()
}

/// How many rows an erasure removed from each of users' tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub addresses: u64,
    pub family_members: u64,
    pub sign_ins: u64,
    pub codes: u64,
    pub export_parts: u64,
}

/// Closes `user_id`'s account and erases what users holds about the person:
/// name, e-mail and phone become pseudonyms or NULL (`pseudonym`, unique per
/// account), the password can match nothing, addresses, family members,
/// refresh tokens (every session ends), one-time codes and export parts are
/// deleted, and the name in the `UserRegistered` events of its outbox is
/// replaced. Idempotent. Consent records and the audit trail stay.
pub async fn erase_user(
    conn: &mut AnyConnection,
    user_id: &str,
    pseudonym: &str,
) -> sqlx::Result<Erased> {
    sqlx::query(
        "UPDATE users SET full_name = $2, email = $3, phone = NULL, password_hash = '!erased', \
         email_verified_at = NULL, phone_verified_at = NULL, \
         closed_at = COALESCE(closed_at, $4), updated_at = $4, version = version + 1 \
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(pseudonym)
    .bind(format!("{pseudonym}@erased.invalid"))
    .bind(now_db())
    .execute(&mut *conn)
    .await?;
    let delete = |sql: &'static str| sqlx::query(sql).bind(user_id.to_string());
    let erased = Erased {
        addresses: delete("DELETE FROM addresses WHERE user_id = $1")
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        family_members: delete("DELETE FROM family_members WHERE user_id = $1")
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        sign_ins: delete("DELETE FROM refresh_tokens WHERE user_id = $1")
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        codes: delete("DELETE FROM account_codes WHERE user_id = $1")
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        export_parts: delete(
            "DELETE FROM data_export_parts WHERE export_id IN \
             (SELECT id FROM data_exports WHERE user_id = $1)",
        )
        .execute(&mut *conn)
        .await?
        .rows_affected(),
    };
    let payload = serde_json::json!({ "userId": user_id, "fullName": pseudonym }).to_string();
    sqlx::query(
        "UPDATE outbox SET payload = $2 WHERE event_type = 'UserRegistered' AND aggregate_id = $1",
    )
    .bind(user_id)
    .bind(payload)
    .execute(&mut *conn)
    .await?;
    Ok(erased)
}

/// Whether `user_id`'s account was closed.
pub async fn is_closed(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<bool> {
    let closed: Option<Option<String>> =
        sqlx::query_scalar("SELECT closed_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    Ok(matches!(closed, Some(Some(_))))
}
