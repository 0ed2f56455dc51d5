//! A customer's data rights through the API: exports (`requestDataExport`,
//! `myDataExports`), closing the account (`requestAccountDeletion`,
//! `accountDeletion`), and the service-only `recordPersonalDataAnswer` by
//! which the other subgraphs deliver their answers.

use crate::schema::state;
use crate::service::personal_data::{self as service, DeletionRequest, ExportView};
use crate::service::Cause;
use crate::store::personal_data::DeletionRow;
use async_graphql::{Context, Enum, Json, Object, SimpleObject, ID};
use janta_kit::personal_data::{Answer, AnswerKind, ErasureReport};
use janta_platform::auth::{principal, require_service_of, service_scope, Principal};
use janta_platform::config::DOMAINS;
use janta_platform::ids::parse_id;
use janta_platform::scalars::DateTime;
use janta_platform::server::ClientAddress;
use janta_platform::{ApiError, ApiResult};

/// The signed-in person (not a partner app acting for someone).
fn me<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    let me = principal(ctx)?;
    me.refuse_partner()?;
    Ok(me)
}

/// Where a data export stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DataExportStatus {
    /// Waiting for some subgraphs' parts.
    Pending,
    /// Every part is in: download it with `downloadUrl` until `expiresAt`.
    Ready,
    /// Past its 24 hours: its parts are deleted; ask for a new one.
    Expired,
}

/// A data export as users stores it, with the subgraphs that answered.
pub struct DataExport(ExportView);

/// A copy of everything the platform holds about you, gathered from every
/// subgraph (DPDP Act 2023 §11).
#[Object]
impl DataExport {
    /// Export ID.
    async fn id(&self) -> ID {
        ID(self.0.row.id.clone())
    }
    /// Pending, ready or expired.
    async fn status(&self) -> DataExportStatus {
        status(&self.0, chrono::Utc::now())
    }
    /// When you asked for it.
    async fn requested_at(&self) -> DateTime {
        DateTime(self.0.row.requested_at)
    }
    /// When the last part arrived (null while pending).
    async fn ready_at(&self) -> Option<DateTime> {
        self.0.row.ready_at.map(DateTime)
    }
    /// The subgraphs whose part is in, by name.
    async fn subgraphs_answered(&self) -> &[String] {
        &self.0.answered
    }
    /// A signed link to the whole export as one JSON document, valid until
    /// `expiresAt` without a token (keep it to yourself); null unless READY.
    async fn download_url(&self, ctx: &Context<'_>) -> Option<String> {
        let expires = self.0.row.expires_at?;
        (status(&self.0, chrono::Utc::now()) == DataExportStatus::Ready).then(|| {
            state(ctx)
                .export_links
                .url(&self.0.row.id, expires.timestamp())
        })
    }
    /// When the link stops working and the parts are deleted (24 hours
    /// after it became ready; null while pending).
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.row.expires_at.map(DateTime)
    }
}

fn status(view: &ExportView, now: chrono::DateTime<chrono::Utc>) -> DataExportStatus {
    match view.row.expires_at {
        None => DataExportStatus::Pending,
        Some(expires) if expires <= now => DataExportStatus::Expired,
        Some(_) => DataExportStatus::Ready,
    }
}

/// Where an account deletion stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AccountDeletionStatus {
    /// The account is closed; some subgraphs have not reported yet.
    Pending,
    /// Every subgraph reported its erasure.
    Completed,
}

/// A record kept despite an erasure, and the law that keeps it.
#[derive(SimpleObject)]
pub struct KeptRecord {
    /// What is kept.
    pub record: String,
    /// The rule that keeps it.
    pub rule: String,
}

/// One subgraph's `ErasureCompleted` report.
#[derive(SimpleObject)]
pub struct ErasureCompleted {
    /// The reporting subgraph.
    pub subgraph: String,
    /// What it erased or pseudonymised.
    pub erased: Vec<String>,
    /// What it keeps by law.
    pub kept: Vec<KeptRecord>,
}

/// An account deletion as users stores it, with the reports received.
pub struct AccountDeletion {
    row: DeletionRow,
    reports: Vec<(String, ErasureReport)>,
}

/// A closed account's erasure across the platform (DPDP Act 2023 §12).
#[Object]
impl AccountDeletion {
    /// Deletion ID.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// Pending until every subgraph reported.
    async fn status(&self) -> AccountDeletionStatus {
        match self.row.completed_at {
            Some(_) => AccountDeletionStatus::Completed,
            None => AccountDeletionStatus::Pending,
        }
    }
    /// When the account was closed.
    async fn requested_at(&self) -> DateTime {
        DateTime(self.row.requested_at)
    }
    /// When the last subgraph reported (null while pending).
    async fn completed_at(&self) -> Option<DateTime> {
        self.row.completed_at.map(DateTime)
    }
    /// The subgraphs that reported, by name.
    async fn subgraphs_reported(&self) -> Vec<&str> {
        self.reports.iter().map(|(s, _)| s.as_str()).collect()
    }
    /// Each subgraph's report.
    async fn reports(&self) -> Vec<ErasureCompleted> {
        self.reports
            .iter()
            .map(|(subgraph, report)| ErasureCompleted {
                subgraph: subgraph.clone(),
                erased: report.erased.clone(),
                kept: report
                    .kept
                    .iter()
                    .map(|k| KeptRecord {
                        record: k.record.clone(),
                        rule: k.rule.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Which request a subgraph's answer answers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(inaccessible)]
pub enum PersonalDataAnswerKind {
    /// Its part of a data export.
    Export,
    /// Its erasure report.
    Erasure,
}

/// Reads on your data exports and account deletion.
#[derive(Default)]
pub struct PersonalDataQuery;

#[Object]
impl PersonalDataQuery {
    /// Your data exports, newest first (at most 50).
    async fn my_data_exports(&self, ctx: &Context<'_>) -> ApiResult<Vec<DataExport>> {
        let me = me(ctx)?;
        let views = service::my_exports(&state(ctx).store, &me.subject).await?;
        Ok(views.into_iter().map(DataExport).collect())
    }

    /// An account deletion with every subgraph's report: platform admins,
    /// and its requester while still signed in.
    async fn account_deletion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Deletion ID")] id: ID,
    ) -> ApiResult<AccountDeletion> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let id = parse_id(&id, "id")?;
        let (row, reports) = service::deletion(&state(ctx).store, &id, viewer).await?;
        Ok(AccountDeletion { row, reports })
    }
}

/// Writes: asking for an export or the account's deletion, and the
/// subgraphs' answers.
#[derive(Default)]
pub struct PersonalDataMutation;

#[Object]
impl PersonalDataMutation {
    /// Asks for a copy of everything the platform holds about you. Every
    /// subgraph adds its part; once all have (`status` READY), download it
    /// from `downloadUrl` within 24 hours.
    async fn request_data_export(&self, ctx: &Context<'_>) -> ApiResult<DataExport> {
        let me = me(ctx)?;
        let cause = Cause::of_request(ctx);
        let view = service::request_export(&state(ctx).store, &me.subject, &cause).await?;
        Ok(DataExport(view))
    }

    /// Closes your account and erases your personal data across the
    /// platform, except what the law requires to be kept (see the README,
    /// "Personal data"). Re-enter your password. Refused with `CONFLICT`
    /// (`extensions.details.openOrders`) while you have open orders. Every
    /// session ends at once and the account can no longer sign in.
    async fn request_account_deletion(
        &self,
        ctx: &Context<'_>,
        password: String,
    ) -> ApiResult<AccountDeletion> {
        let me = me(ctx)?;
        let st = state(ctx);
        let cause = Cause::of_request(ctx);
        let client = ctx
            .data_opt::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None));
        let request = DeletionRequest {
            me: &me.subject,
            password: &password,
            client,
            peers: &st.peers,
            cause: &cause,
        };
        let row = service::request_deletion(&st.store, request).await?;
        Ok(AccountDeletion {
            row,
            reports: vec![],
        })
    }

    /// A subgraph's answer to `DataExportRequested` (its part) or
    /// `UserErasureRequested` (its report), as that subgraph's service only
    /// (hidden from the router). Idempotent per request and subgraph.
    #[graphql(inaccessible)]
    async fn record_personal_data_answer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The export's or deletion's ID")] request_id: ID,
        kind: PersonalDataAnswerKind,
        #[graphql(desc = "The answering subgraph (the caller)")] subgraph: String,
        #[graphql(desc = "The export part, or the erasure report")] body: Json<serde_json::Value>,
    ) -> ApiResult<bool> {
        let caller = require_service_of(ctx, &DOMAINS)?;
        if !caller.scopes.contains(&service_scope(&subgraph)) {
            return Err(ApiError::forbidden("a subgraph answers only for itself"));
        }
        let answer = Answer {
            request_id: parse_id(&request_id, "requestId")?,
            kind: match kind {
                PersonalDataAnswerKind::Export => AnswerKind::Export,
                PersonalDataAnswerKind::Erasure => AnswerKind::Erasure,
            },
            subgraph,
            body: body.0,
        };
        service::record_answer(&state(ctx).store, &answer).await?;
        Ok(true)
    }
}
