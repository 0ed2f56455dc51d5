//! A person's inbox: marking notifications read, and choosing e-mail and
//! SMS per kind of notification.

use crate::domain::{audiences_of, Kind, Preference};
use crate::service::audit;
use crate::store;
use janta_platform::auth::Principal;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Marks `ids` read for `me`; returns how many were unread. All of them
/// must be visible to `me`: otherwise nothing changes and the answer is
/// `FORBIDDEN`.
pub async fn mark_read(db: &Store, me: &Principal, ids: &[String]) -> ApiResult<u64> {
    let audiences = audiences_of(me);
    let mut tx = db.begin().await?;
    let found = store::notifications_by_ids(&mut tx, ids).await?;
    let all_visible =
        found.len() == ids.len() && found.iter().all(|n| audiences.contains(&n.audience));
    if !all_visible {
        return Err(ApiError::forbidden(
            "you can only mark your own notifications read",
        ));
    }
    let changed = store::mark_read(&mut tx, &me.subject, ids).await?;
    if changed > 0 {
        let after = json!({ "ids": ids, "newlyRead": changed });
        audit(
            &mut tx,
            &me.subject,
            READS,
            &me.subject,
            "marked_read",
            after,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Marks every notification `me` can see read; returns how many were unread.
pub async fn mark_all_read(db: &Store, me: &Principal) -> ApiResult<u64> {
    let mut tx = db.begin().await?;
    let ids = store::unread_ids(&mut tx, &me.subject, &audiences_of(me)).await?;
    let changed = store::mark_read(&mut tx, &me.subject, &ids).await?;
    if changed > 0 {
        let after = json!({ "newlyRead": changed });
        audit(
            &mut tx,
            &me.subject,
            READS,
            &me.subject,
            "marked_all_read",
            after,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The channel choices of `user_id` for every kind addressed to a person:
/// the stored ones, else each kind's default.
pub async fn preferences(db: &Store, user_id: &str) -> ApiResult<Vec<Preference>> {
    let mut conn = db.pool().acquire().await?;
    let stored = store::preferences_of(&mut conn, user_id).await?;
    Ok(Kind::ALL
        .into_iter()
        .filter(|k| k.is_personal())
        .map(|k| {
            stored
                .iter()
                .copied()
                .find(|p| p.kind == k)
                .unwrap_or_else(|| k.default_preference())
        })
        .collect())
}

/// One kind's requested switches; `None` keeps the current one.
pub struct PreferenceChange {
    /// The kind.
    pub kind: Kind,
    /// E-mail on or off.
    pub email: Option<bool>,
    /// SMS on or off.
    pub sms: Option<bool>,
}

/// Applies `changes` to the preferences of `me`; returns all of them after.
pub async fn update_preferences(
    db: &Store,
    me: &str,
    changes: &[PreferenceChange],
) -> ApiResult<Vec<Preference>> {
    if changes.len() > Kind::ALL.len() {
        return Err(ApiError::bad_input("too many preferences at once"));
    }
    let current = preferences(db, me).await?;
    let mut changed = Vec::new();
    for change in changes {
        let Some(before) = current.iter().find(|p| p.kind == change.kind) else {
            return Err(ApiError::bad_input(format!(
                "{} notifications have no channels you can switch",
                change.kind.as_db()
            )));
        };
        changed.push(Preference {
            kind: change.kind,
            email: change.email.unwrap_or(before.email),
            sms: change.sms.unwrap_or(before.sms),
        });
    }
    let mut tx = db.begin().await?;
    for pref in &changed {
        store::upsert_preference(&mut tx, me, pref).await?;
    }
    if !changed.is_empty() {
        let summary: Vec<_> = changed
            .iter()
            .map(|p| json!({ "kind": p.kind.as_db(), "email": p.email, "sms": p.sms }))
            .collect();
        let entity = "notification_preferences";
        audit(&mut tx, me, entity, me, "updated", json!(summary)).await?;
    }
    tx.commit().await?;
    preferences(db, me).await
}

/// The audit trail's name for read marks.
const READS: &str = "notification_reads";
