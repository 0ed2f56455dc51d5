//! A customer's data rights (issue 18, DPDP Act 2023 §11–12), on users'
//! side: asking for an export and for the account's deletion, collecting
//! every subgraph's answer (the other five through the service-only
//! `recordPersonalDataAnswer`, users' own straight from its consumer), the
//! download of a ready export, and the sweep that deletes expired parts.
//! users answers for itself like every subgraph ([`UsersData`]).

use crate::events::publish;
use crate::service::passwords::confirm_password;
use crate::service::{audit, Cause};
use crate::store::personal_data::{self as sql, DeletionRow, ExportRow};
use crate::store::{self, UserRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use janta_kit::personal_data::{
    Answer, AnswerKind, AnswerSink, ErasureReport, KeptRecord, PersonalData,
};
use janta_platform::auth::Role;
use janta_platform::client::ServiceClient;
use janta_platform::config::DOMAINS;
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// How long a ready export can be downloaded; then its parts are deleted.
pub const EXPORT_TTL: chrono::Duration = chrono::Duration::hours(24);

/// An export with the subgraphs that answered so far.
#[derive(Debug, Clone)]
pub struct ExportView {
    pub row: ExportRow,
    pub answered: Vec<String>,
}

/// Asks every subgraph for its part of an export of `me`'s data (audited).
/// While one is being put together (for up to [`EXPORT_TTL`]) asking again
/// answers that one: each request makes all six subgraphs compile
/// everything they hold on the person, which a repeated click or a script
/// must not multiply.
pub async fn request_export(db: &Store, me: &str, cause: &Cause) -> ApiResult<ExportView> {
    let mut tx = db.begin().await?;
    refuse_closed(&mut tx, me).await?;
    if let Some(pending) = sql::pending_export(&mut tx, me, Utc::now() - EXPORT_TTL).await? {
        let answered = sql::answered_one(&mut tx, &pending.id).await?;
        tx.commit().await?;
        return Ok(ExportView {
            answered,
            row: pending,
        });
    }
    let row = sql::insert_export(&mut tx, me).await?;
    audit(&mut tx, me, "data_export", &row.id, "requested", None, None).await?;
    publish::data_export_requested(&mut tx, &row.id, me, cause).await?;
    tx.commit().await?;
    Ok(ExportView {
        row,
        answered: vec![],
    })
}

/// `me`'s exports, newest first.
pub async fn my_exports(db: &Store, me: &str) -> ApiResult<Vec<ExportView>> {
    let rows = sql::exports_of(db, me).await?;
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut conn = db.pool().acquire().await?;
    let mut answered = sql::answered(&mut conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| ExportView {
            answered: answered.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

async fn refuse_closed(conn: &mut AnyConnection, me: &str) -> ApiResult<()> {
    if sql::is_closed(conn, me).await? {
        return Err(ApiError::forbidden("this account is closed"));
    }
    Ok(())
}

/// Records one subgraph's answer: an export part (the export becomes
/// READY, for [`EXPORT_TTL`], with the last of the six) or an erasure
/// report (the deletion becomes COMPLETED with the last of the six).
/// Idempotent per request and subgraph.
pub async fn record_answer(db: &Store, answer: &Answer) -> ApiResult<()> {
    if !DOMAINS.contains(&answer.subgraph.as_str()) {
        return Err(ApiError::bad_input("subgraph is not one of the platform's"));
    }
    let mut tx = db.begin().await?;
    match answer.kind {
        AnswerKind::Export => record_part(&mut tx, answer).await?,
        AnswerKind::Erasure => record_report(&mut tx, answer).await?,
    }
    tx.commit().await?;
    Ok(())
}

async fn record_part(conn: &mut AnyConnection, answer: &Answer) -> ApiResult<()> {
    if !answer.body.is_object() {
        return Err(ApiError::bad_input("body must be a JSON object"));
    }
    let export = sql::export_by_id(conn, &answer.request_id)
        .await?
        .ok_or_else(|| ApiError::not_found("data export"))?;
    if export.ready_at.is_some() || sql::is_closed(conn, &export.user_id).await? {
        // Late (or for an erased person): nothing more to keep.
        return Ok(());
    }
    sql::insert_part(conn, &export.id, &answer.subgraph, &answer.body).await?;
    if sql::answered_one(conn, &export.id).await?.len() == DOMAINS.len() {
        sql::mark_ready(conn, &export.id, Utc::now() + EXPORT_TTL).await?;
    }
    Ok(())
}

async fn record_report(conn: &mut AnyConnection, answer: &Answer) -> ApiResult<()> {
    serde_json::from_value::<ErasureReport>(answer.body.clone())
        .map_err(|e| ApiError::bad_input(format!("body is not an erasure report: {e}")))?;
    let deletion = sql::deletion_by_id(conn, &answer.request_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account deletion"))?;
    sql::insert_report(conn, &deletion.id, &answer.subgraph, &answer.body).await?;
    let actor = format!("service:{}", answer.subgraph);
    let after = Some(json!({ "subgraph": answer.subgraph }));
    let action = "erasure_completed";
    audit(
        conn,
        &actor,
        "account_deletion",
        &deletion.id,
        action,
        None,
        after,
    )
    .await?;
    if sql::reports(conn, &deletion.id).await?.len() == DOMAINS.len() {
        sql::mark_completed(conn, &deletion.id).await?;
    }
    Ok(())
}

/// What a download link leads to.
pub enum Download {
    /// The whole export.
    Document(Value),
    /// Past its 24 hours (its parts are or will be deleted).
    Expired,
    /// Unknown, or not every subgraph answered yet.
    NotReady,
}

/// The one JSON document of export `id` at `now`, audited as downloaded by
/// its owner (the link was handed to them).
pub async fn download(db: &Store, id: &str, now: DateTime<Utc>) -> ApiResult<Download> {
    let mut tx = db.begin().await?;
    let Some(export) = sql::export_by_id(&mut tx, id).await? else {
        return Ok(Download::NotReady);
    };
    let (Some(_), Some(expires_at)) = (export.ready_at, export.expires_at) else {
        return Ok(Download::NotReady);
    };
    if expires_at <= now || sql::is_closed(&mut tx, &export.user_id).await? {
        return Ok(Download::Expired);
    }
    let mut document = json!({
        "exportId": export.id,
        "userId": export.user_id,
        "generatedAt": janta_platform::scalars::to_db_time(now),
    });
    for (subgraph, body) in sql::parts(&mut tx, id).await? {
        document[subgraph] = serde_json::from_str(&body).map_err(ApiError::internal)?;
    }
    let user = export.user_id.as_str();
    audit(&mut tx, user, "data_export", id, "downloaded", None, None).await?;
    tx.commit().await?;
    Ok(Download::Document(document))
}

/// Deletes the parts of exports past their 24 hours (the sweeper).
pub async fn sweep_expired_exports(db: Store) -> anyhow::Result<()> {
    let deleted = sql::delete_expired_parts(&db, Utc::now()).await?;
    if deleted > 0 {
        tracing::info!(parts = deleted, "deleted the parts of expired data exports");
    }
    Ok(())
}

/// What `requestAccountDeletion` needs besides the store.
pub struct DeletionRequest<'a> {
    /// The signed-in customer.
    pub me: &'a str,
    /// Their password, to re-authenticate.
    pub password: &'a str,
    /// Where the request came from (for the password throttle).
    pub client: ClientAddress,
    /// Calls orders' `openOrderCount`.
    pub peers: &'a ServiceClient,
    /// The request.
    pub cause: &'a Cause,
}

/// Closes the account of a customer who re-entered their password and has
/// no open order: every session ends, users erases its own data at once,
/// and every subgraph is asked to erase theirs (`UserErasureRequested`).
pub async fn request_deletion(db: &Store, request: DeletionRequest<'_>) -> ApiResult<DeletionRow> {
    let me = request.me;
    let user = store::user_by_id(&mut *db.pool().acquire().await?, me)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
    refuse_staff(&user)?;
    let attempt = confirm_password(db, &user, request.password, "password", request.client).await?;
    let open = open_orders(request.peers, me, request.cause).await?;
    if open > 0 {
        return Err(ApiError::conflict(format!(
            "you have {open} open order(s); the account can be closed once they are delivered or cancelled"
        ))
        .with_details(json!({ "openOrders": open })));
    }
    let mut tx = db.begin().await?;
    attempt.succeeded(&mut tx).await?;
    let deletion = sql::insert_deletion(&mut tx, me).await?;
    erase(&mut tx, me).await?;
    audit(
        &mut tx,
        me,
        "account_deletion",
        &deletion.id,
        "requested",
        None,
        None,
    )
    .await?;
    publish::user_erasure_requested(&mut tx, &deletion.id, me, request.cause).await?;
    tx.commit().await?;
    Ok(deletion)
}

/// Only customers close their accounts themselves: staff and admin
/// accounts carry duties (appointments, licences) an admin must hand over.
fn refuse_staff(user: &UserRow) -> ApiResult<()> {
    if user.roles().iter().any(|r| *r != Role::Customer) {
        return Err(ApiError::forbidden(
            "only customer accounts can be closed this way; ask a platform admin",
        ));
    }
    Ok(())
}

/// How many of `me`'s orders are still open, by orders' service-only query.
async fn open_orders(peers: &ServiceClient, me: &str, cause: &Cause) -> ApiResult<i64> {
    let data = peers
        .call(
            "orders",
            "query($id: ID!) { openOrderCount(customerId: $id) }",
            json!({ "id": me }),
            cause.correlation(),
        )
        .await?;
    data["openOrderCount"]
        .as_i64()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("orders sent no openOrderCount")))
}

/// Account deletion `id` with the reports received, for its requester or
/// an admin (`viewer`); NOT_FOUND for anyone else.
pub async fn deletion(
    db: &Store,
    id: &str,
    viewer: &janta_platform::auth::Principal,
) -> ApiResult<(DeletionRow, Vec<(String, ErasureReport)>)> {
    let mut conn = db.pool().acquire().await?;
    let row = sql::deletion_by_id(&mut conn, id)
        .await?
        .filter(|row| viewer.is_admin() || viewer.subject == row.user_id)
        .ok_or_else(|| ApiError::not_found("account deletion"))?;
    let mut reports = Vec::new();
    for (subgraph, text) in sql::reports(&mut conn, id).await? {
        let report = serde_json::from_str(&text).map_err(ApiError::internal)?;
        reports.push((subgraph, report));
    }
    Ok((row, reports))
}

/// users' erasure of `user_id` (idempotent): what it erased, in words.
async fn erase(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<String>> {
    let short: String = user_id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let erased = sql::erase_user(conn, user_id, &format!("erased-{short}")).await?;
    let mut said = vec![
        "name, e-mail address and phone number (pseudonymised; the account is closed)".to_string(),
        "password".to_string(),
    ];
    let counts = [
        (erased.addresses, "delivery addresses"),
        (erased.family_members, "family members"),
        (erased.sign_ins, "sign-in sessions"),
        (erased.codes, "one-time codes"),
        (erased.export_parts, "parts of data exports"),
    ];
    said.extend(
        counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}")),
    );
    Ok(said)
}

/// What users keeps after an erasure, and why (listed in the README).
fn kept_by_users() -> Vec<KeptRecord> {
    vec![
        KeptRecord {
            record: "consent records (kind, granted or withdrawn, text version, time)".into(),
            rule: "DPDP Act 2023 §6(10): the Data Fiduciary must prove the consent it relied on"
                .into(),
        },
        KeptRecord {
            record: "audit trail (who did what when, by account ID; no contact details)".into(),
            rule: "DPDP Rules 2025 Rule 6(1)(e): logs of processing kept one year; append-only"
                .into(),
        },
    ]
}

/// users' own share of a person's data rights: its part of an export
/// (profile, addresses, family members, consents, sign-ins without their
/// tokens, verification state) and its erasure.
pub struct UsersData;

#[async_trait]
impl PersonalData for UsersData {
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value> {
        let Some(user) = store::user_by_id(conn, user_id).await? else {
            return Ok(json!({}));
        };
        let addresses = sql::addresses_in(conn, user_id).await?;
        let family = sql::family_in(conn, user_id).await?;
        let consents = store::accounts::consents_of(conn, user_id).await?;
        let sign_ins = sql::sign_ins_in(conn, user_id).await?;
        Ok(json!({
            "profile": {
                "id": user.id, "email": user.email, "phone": user.phone,
                "fullName": user.full_name, "roles": user.roles(), "createdAt": user.created_at,
            },
            "verification": {
                "emailVerifiedAt": user.email_verified_at, "phoneVerifiedAt": user.phone_verified_at,
            },
            "addresses": addresses.iter().map(|a| json!({
                "id": a.id, "label": a.label, "line1": a.line1, "line2": a.line2, "city": a.city,
                "state": a.state, "pincode": a.pincode, "isDefault": a.is_default,
            })).collect::<Vec<_>>(),
            "familyMembers": family.iter().map(|m| json!({
                "id": m.id, "fullName": m.full_name, "relation": m.relation.as_db(),
                "dateOfBirth": m.date_of_birth,
            })).collect::<Vec<_>>(),
            "consents": consents.iter().map(|c| json!({
                "kind": c.kind.as_db(), "granted": c.granted, "version": c.text_version,
                "recordedAt": c.recorded_at,
            })).collect::<Vec<_>>(),
            "sessions": sign_ins.iter().map(|s| json!({
                "id": s.family_id, "device": s.device, "createdAt": s.created_at,
                "lastUsedAt": s.last_used_at, "ended": s.revoked,
            })).collect::<Vec<_>>(),
        }))
    }

    async fn erase(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        Ok(ErasureReport {
            erased: erase(conn, user_id).await?,
            kept: kept_by_users(),
        })
    }
}

/// users' [`AnswerSink`]: its own answers go straight into its tables.
pub struct OwnAnswers {
    /// users' database.
    pub store: Store,
}

#[async_trait]
impl AnswerSink for OwnAnswers {
    async fn deliver(&self, answer: &Answer) -> anyhow::Result<()> {
        record_answer(&self.store, answer).await?;
        Ok(())
    }
}

/// users answers `DataExportRequested` and `UserErasureRequested` like
/// every subgraph, delivering to its own tables, and deletes expired
/// exports' parts every minute.
pub async fn answer(kit: &janta_kit::Kit) {
    use janta_kit::personal_data::answer_requests;
    let store = kit.store().clone();
    let sink = std::sync::Arc::new(OwnAnswers {
        store: store.clone(),
    });
    kit.consume(|consumer| answer_requests(consumer, "users", store.clone(), UsersData, sink))
        .await;
    kit.every(
        std::time::Duration::from_secs(60),
        "data export sweep",
        move || sweep_expired_exports(store.clone()),
    );
}
