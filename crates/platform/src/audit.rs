//! The append-only audit trail every subgraph keeps (actor, entity, action,
//! before, after, time), written in the same transaction as the change it
//! records. The table rejects updates and deletes at the database level.

use crate::ids::new_id;
use crate::scalars::now_db;
use serde_json::Value;
use sqlx::AnyConnection;

/// One state change to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who did it: a user ID, `service:<name>`, or `system`.
    pub actor: &'a str,
    /// The kind of entity changed, e.g. `user`, `listing`.
    pub entity_type: &'a str,
    /// The changed entity's ID.
    pub entity_id: &'a str,
    /// What happened, e.g. `registered`, `price_changed`.
    pub action: &'a str,
    /// State before (None on creation).
    pub before: Option<Value>,
    /// State after (None on deletion).
    pub after: Option<Value>,
}

/// Appends an entry inside the caller's transaction.
pub async fn record(conn: &mut AnyConnection, entry: AuditEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, actor, entity_type, entity_id, action, before_json, after_json, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(entry.actor)
    .bind(entry.entity_type)
    .bind(entry.entity_id)
    .bind(entry.action)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Entries per `INSERT` of [`record_all`] (8 bind values each, well under
/// both backends' limit on bind values per statement).
const ENTRIES_PER_STATEMENT: usize = 1_000;

/// Appends many entries inside the caller's transaction, a thousand per
/// statement: what a bulk import writes for its rows, each entry exactly
/// the one [`record`] would have written for it alone.
pub async fn record_all(conn: &mut AnyConnection, entries: &[AuditEntry<'_>]) -> sqlx::Result<()> {
    let at = now_db();
    for chunk in entries.chunks(ENTRIES_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", crate::store::placeholders(i * 8 + 1, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (id, actor, entity_type, entity_id, action, before_json, after_json, at) \
             VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            query = query
                .bind(new_id())
                .bind(entry.actor)
                .bind(entry.entity_type)
                .bind(entry.entity_id)
                .bind(entry.action)
                .bind(entry.before.as_ref().map(Value::to_string))
                .bind(entry.after.as_ref().map(Value::to_string))
                .bind(at.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`record`] with the entry's fields as arguments and a client-facing error
/// type: the form every subgraph's resolvers call (as their `audit`).
pub async fn append(
    conn: &mut AnyConnection,
    actor: &str,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> crate::ApiResult<()> {
    let entry = AuditEntry {
        actor,
        entity_type,
        entity_id,
        action,
        before,
        after,
    };
    record(conn, entry).await?;
    Ok(())
}

/// One recorded entry of the audit trail as read back (for the admin API's
/// `auditTrail`): the written [`AuditEntry`] plus its ID and time.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The entry's ID.
    pub id: String,
    /// Who did it.
    pub actor: String,
    /// The kind of entity changed.
    pub entity_type: String,
    /// The changed entity's ID.
    pub entity_id: String,
    /// What happened.
    pub action: String,
    /// State before, as JSON text.
    pub before: Option<String>,
    /// State after, as JSON text.
    pub after: Option<String>,
    /// When (database time text).
    pub at: String,
}

/// The audit trail of one entity in `store`, oldest first, at most `limit`
/// entries: what an admin reads instead of querying SQL.
pub async fn trail(
    store: &crate::store::Store,
    entity_type: &str,
    entity_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<AuditRecord>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, actor, entity_type, entity_id, action, before_json, after_json, at \
         FROM audit_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY at, id LIMIT $3",
    )
    .bind(entity_type)
    .bind(entity_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(into_record).collect())
}

type AuditRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

fn into_record(row: AuditRow) -> AuditRecord {
    let (id, actor, entity_type, entity_id, action, before, after, at) = row;
    AuditRecord {
        id,
        actor,
        entity_type,
        entity_id,
        action,
        before,
        after,
        at,
    }
}
