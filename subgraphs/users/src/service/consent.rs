//! What a person agreed to (terms, prescription processing, marketing),
//! with the version of the text and the time; every choice is appended,
//! never rewritten, so the history shows who agreed to what and when.

use crate::domain::accounts::ConsentKind;
use crate::service::audit;
use crate::store::accounts::{self as sql, ConsentRow};
use janta_platform::store::Store;
use janta_platform::ApiResult;
use serde_json::json;

/// Records that `me` grants or withdraws `kind` (of the text in force now).
pub async fn update_consent(
    db: &Store,
    me: &str,
    kind: ConsentKind,
    granted: bool,
) -> ApiResult<ConsentRow> {
    let mut tx = db.begin().await?;
    let row = sql::insert_consent(&mut tx, me, kind, granted).await?;
    let after = json!({ "kind": kind.as_db(), "granted": granted, "version": row.text_version });
    audit(
        &mut tx,
        me,
        "consent",
        &row.id,
        "consent_recorded",
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Every choice of `me`, oldest first.
pub async fn history(db: &Store, me: &str) -> ApiResult<Vec<ConsentRow>> {
    let mut conn = db.pool().acquire().await?;
    Ok(sql::consents_of(&mut conn, me).await?)
}
