//! Prescriptions' use cases, one function each: open the transaction,
//! apply the domain rules, write through the store, audit, publish,
//! commit. Resolvers and the document routes call these; these call
//! `domain`, `store`, `peers` and `events::publish`, never `schema`.
//!
//! [`prescriptions`]: uploads, submission, pharmacy assignment, review.
//! [`documents`]: who reads a prescription and its document (audited).
//! [`dispensing`]: the orders subgraph's authorisation, consumption and
//! restoration of approved quantities.
//! [`personal_data`]: a customer's export and erasure (issue 18).

pub mod dispensing;
pub mod documents;
pub mod personal_data;
pub mod prescriptions;

/// Appends to this subgraph's audit trail inside the caller's transaction.
use janta_platform::audit::append as audit;
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use serde_json::Value;
use sqlx::AnyConnection;

/// Appends to the audit trail what `cause` did to prescription `id`.
async fn audit_prescription(
    conn: &mut AnyConnection,
    cause: &Cause,
    id: &str,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> ApiResult<()> {
    audit(
        conn,
        cause.actor(),
        "prescription",
        id,
        action,
        before,
        after,
    )
    .await
}
