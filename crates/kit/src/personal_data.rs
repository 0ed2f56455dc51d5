//! A person's data rights (issue 18, DPDP Act 2023 §11–12), written once for
//! every subgraph: each one implements [`PersonalData`] for what it holds
//! and registers [`answer_requests`] on its consumer; users gathers the
//! answers.
//!
//! users publishes [`DataExportRequested`] (a copy of everything held about
//! a customer) and [`UserErasureRequested`] (the customer closed their
//! account). The handlers added here run [`PersonalData::export`] or
//! [`PersonalData::erase`] inside the consumer's transaction and write the
//! answer into the platform table `personal_data_answers` in that same
//! transaction, so an answer exists exactly when the work committed. After
//! the commit, every answer not yet delivered goes to the [`AnswerSink`]
//! (for every subgraph but users: [`UsersSink`], users' service-only
//! mutation `recordPersonalDataAnswer`, idempotent per request and
//! subgraph). A delivered EXPORT answer is deleted at once (no copy of
//! personal data lingers in the answering subgraph); an ERASURE answer stays
//! as the subgraph's own record of what it erased and what it keeps.
//!
//! A subgraph that holds nothing about the person still answers (an empty
//! part, an empty report): users counts answers to know when it is done.

use async_trait::async_trait;
use janta_events::types::{DataExportRequested, UserErasureRequested};
use janta_events::{Consumer, Envelope, EventHandler};
use janta_platform::cause::SYSTEM;
use janta_platform::client::ServiceClient;
use janta_platform::scalars::now_db;
use janta_platform::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};
use std::sync::Arc;

/// One subgraph's share of a person's data rights.
#[async_trait]
pub trait PersonalData: Send + Sync + 'static {
    /// Everything this subgraph holds about `user_id` (as customer), one JSON object:
    /// its part of the export. Runs in the consumer's transaction.
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value>;

    /// Erases or pseudonymises what this subgraph holds about `user_id`, in the consumer's
    /// transaction; idempotent; returns what it erased and what it keeps by law.
    async fn erase(&self, conn: &mut AnyConnection, user_id: &str)
        -> anyhow::Result<ErasureReport>;
}

/// What one subgraph did for an erasure request: the body of its ERASURE
/// answer (camelCase JSON), which users records as that subgraph's
/// `ErasureCompleted` report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureReport {
    /// What was erased or pseudonymised, in words (`"delivery addresses of 3 orders"`).
    pub erased: Vec<String>,
    /// What is kept despite the erasure, each with the rule that keeps it.
    pub kept: Vec<KeptRecord>,
}

/// A record kept despite erasure, and the rule that keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptRecord {
    /// What is kept (`"tax invoices"`), as the README lists it.
    pub record: String,
    /// The law that keeps it (`"CGST Act 2017 §36 and CGST Rules Rule 56: 72 months"`).
    pub rule: String,
}

/// Which request an answer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    /// A part of a data export ([`DataExportRequested`]).
    Export,
    /// An erasure report ([`UserErasureRequested`]).
    Erasure,
}

impl AnswerKind {
    /// Storage and GraphQL form (`EXPORT`, `ERASURE`).
    pub fn as_db(self) -> &'static str {
        match self {
            AnswerKind::Export => "EXPORT",
            AnswerKind::Erasure => "ERASURE",
        }
    }

    /// Reads [`AnswerKind::as_db`]'s form back.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "EXPORT" => Some(AnswerKind::Export),
            "ERASURE" => Some(AnswerKind::Erasure),
            _ => None,
        }
    }
}

/// One subgraph's answer to one request, as delivered to users.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The export's or the account deletion's ID (from the event).
    pub request_id: String,
    /// Export part or erasure report.
    pub kind: AnswerKind,
    /// The answering subgraph.
    pub subgraph: String,
    /// The export part, or the [`ErasureReport`] as JSON.
    pub body: Value,
}

/// Where answers go once their transaction committed. Delivery must be
/// idempotent per (request, kind, subgraph): an answer may be delivered
/// again after a crash between delivery and bookkeeping.
#[async_trait]
pub trait AnswerSink: Send + Sync + 'static {
    /// Hands `answer` to users; an error leaves it undelivered, to be
    /// delivered again later.
    async fn deliver(&self, answer: &Answer) -> anyhow::Result<()>;
}

/// Delivers answers to users' service-only mutation
/// `recordPersonalDataAnswer` as the calling subgraph's service: how every
/// subgraph but users answers.
pub struct UsersSink {
    client: ServiceClient,
}

impl UsersSink {
    /// A sink calling users through `client` (the subgraph's own service client).
    pub fn new(client: ServiceClient) -> Self {
        UsersSink { client }
    }
}

/// The mutation [`UsersSink`] sends.
const RECORD_ANSWER: &str = "mutation RecordPersonalDataAnswer($requestId: ID!, \
    $kind: PersonalDataAnswerKind!, $subgraph: String!, $body: JSON!) { \
    recordPersonalDataAnswer(requestId: $requestId, kind: $kind, subgraph: $subgraph, body: $body) }";

#[async_trait]
impl AnswerSink for UsersSink {
    async fn deliver(&self, answer: &Answer) -> anyhow::Result<()> {
        let variables = json!({
            "requestId": answer.request_id,
            "kind": answer.kind.as_db(),
            "subgraph": answer.subgraph,
            "body": answer.body,
        });
        self.client
            .call("users", RECORD_ANSWER, variables, None)
            .await?;
        Ok(())
    }
}

/// Adds handlers of DataExportRequested and UserErasureRequested to `consumer`.
pub fn answer_requests(
    consumer: Consumer,
    subgraph: &'static str,
    store: Store,
    data: impl PersonalData,
    sink: Arc<dyn AnswerSink>,
) -> Consumer {
    let answering = Answering {
        subgraph,
        store,
        data: Arc::new(data),
        sink,
    };
    consumer
        .on::<DataExportRequested>(answering.clone())
        .on::<UserErasureRequested>(answering)
}

/// Both handlers, sharing the subgraph's data and sink.
struct Answering<D> {
    subgraph: &'static str,
    store: Store,
    data: Arc<D>,
    sink: Arc<dyn AnswerSink>,
}

impl<D> Clone for Answering<D> {
    fn clone(&self) -> Self {
        Answering {
            subgraph: self.subgraph,
            store: self.store.clone(),
            data: self.data.clone(),
            sink: self.sink.clone(),
        }
    }
}

#[async_trait]
impl<D: PersonalData> EventHandler<DataExportRequested> for Answering<D> {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: DataExportRequested,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let part = self.data.export(conn, &event.user_id).await?;
        let answer = Answer {
            request_id: event.export_id,
            kind: AnswerKind::Export,
            subgraph: self.subgraph.to_string(),
            body: part,
        };
        insert_answer(conn, &answer, &event.user_id).await
    }

    async fn after_commit(
        &self,
        _event: &DataExportRequested,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        deliver_pending(&self.store, self.sink.as_ref()).await?;
        Ok(())
    }
}

#[async_trait]
impl<D: PersonalData> EventHandler<UserErasureRequested> for Answering<D> {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: UserErasureRequested,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        // The same request again (a new envelope for it): answered once.
        if answered(conn, &event.request_id, AnswerKind::Erasure, self.subgraph).await? {
            return Ok(());
        }
        // An export part not yet delivered is personal data too.
        sqlx::query("DELETE FROM personal_data_answers WHERE user_id = $1 AND kind = 'EXPORT'")
            .bind(&event.user_id)
            .execute(&mut *conn)
            .await?;
        let report = self.data.erase(conn, &event.user_id).await?;
        // Every subgraph's audit trail says what its erasure did.
        let after = Some(serde_json::to_value(&report)?);
        let action = "personal_data_erased";
        janta_platform::audit::append(conn, SYSTEM, "user", &event.user_id, action, None, after)
            .await?;
        let answer = Answer {
            request_id: event.request_id,
            kind: AnswerKind::Erasure,
            subgraph: self.subgraph.to_string(),
            body: serde_json::to_value(&report)?,
        };
        insert_answer(conn, &answer, &event.user_id).await
    }

    async fn after_commit(
        &self,
        _event: &UserErasureRequested,
        _envelope: &Envelope,
    ) -> anyhow::Result<()> {
        deliver_pending(&self.store, self.sink.as_ref()).await?;
        Ok(())
    }
}

/// Records `answer` for later delivery (a second answer to the same
/// request is ignored: the first one committed is the answer).
/// Whether this subgraph already answered request `request_id` of `kind`.
async fn answered(
    conn: &mut AnyConnection,
    request_id: &str,
    kind: AnswerKind,
    subgraph: &str,
) -> anyhow::Result<bool> {
    let row = sqlx::query(
        "SELECT 1 FROM personal_data_answers WHERE request_id = $1 AND kind = $2 AND subgraph = $3",
    )
    .bind(request_id)
    .bind(kind.as_db())
    .bind(subgraph)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

async fn insert_answer(
    conn: &mut AnyConnection,
    answer: &Answer,
    user_id: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO personal_data_answers (request_id, kind, subgraph, user_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, kind, subgraph) DO NOTHING",
    )
    .bind(&answer.request_id)
    .bind(answer.kind.as_db())
    .bind(&answer.subgraph)
    .bind(user_id)
    .bind(answer.body.to_string())
    .bind(now_db())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many answers one delivery round takes at most.
const DELIVERY_BATCH: i64 = 100;

/// Delivers this store's undelivered answers to `sink`, oldest first, and
/// returns how many it delivered; stops at the first failure (returned, so
/// the consumer retries after its back-off). A delivered EXPORT answer is
/// deleted, an ERASURE answer marked delivered. The handlers call it after
/// each commit; a subgraph may also run it from a sweeper.
pub async fn deliver_pending(store: &Store, sink: &dyn AnswerSink) -> anyhow::Result<usize> {
    let rows = sqlx::query(
        "SELECT request_id, kind, subgraph, body FROM personal_data_answers \
         WHERE delivered_at IS NULL ORDER BY created_at, request_id LIMIT $1",
    )
    .bind(DELIVERY_BATCH)
    .fetch_all(store.pool())
    .await?;
    let mut delivered = 0;
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let body: String = row.try_get("body")?;
        let answer = Answer {
            request_id: row.try_get("request_id")?,
            kind: AnswerKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("unknown answer kind {kind:?}"))?,
            subgraph: row.try_get("subgraph")?,
            body: serde_json::from_str(&body)?,
        };
        sink.deliver(&answer).await?;
        mark_delivered(store, &answer).await?;
        delivered += 1;
    }
    Ok(delivered)
}

/// Deletes a delivered export part; marks a delivered erasure report.
async fn mark_delivered(store: &Store, answer: &Answer) -> sqlx::Result<()> {
    let sql = match answer.kind {
        AnswerKind::Export => {
            "DELETE FROM personal_data_answers \
             WHERE request_id = $1 AND kind = $2 AND subgraph = $3"
        }
        AnswerKind::Erasure => {
            "UPDATE personal_data_answers SET delivered_at = $4 \
             WHERE request_id = $1 AND kind = $2 AND subgraph = $3"
        }
    };
    let mut query = sqlx::query(sql)
        .bind(&answer.request_id)
        .bind(answer.kind.as_db())
        .bind(&answer.subgraph);
    if answer.kind == AnswerKind::Erasure {
        query = query.bind(now_db());
    }
    query.execute(store.pool()).await?;
    Ok(())
}
