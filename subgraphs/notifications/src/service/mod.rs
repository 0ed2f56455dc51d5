//! The notifications subgraph's use cases: turning a consumed event into
//! notifications and deliveries ([`notify`]), delivering them
//! ([`delivery`]), a person's inbox and channel choices ([`inbox`]), and
//! partner webhooks ([`webhooks`]), a person's export and erasure
//! ([`personal_data`]). Each opens its transaction, applies the
//! rules of [`crate::domain`], writes through [`crate::store`], appends its
//! audit entry and commits. Resolvers and event handlers call exactly one
//! of these.

pub mod delivery;
pub mod inbox;
pub mod notify;
pub mod personal_data;
pub mod webhooks;

pub use janta_platform::cause::Cause;

/// Appends to this subgraph's audit trail inside the caller's transaction
/// (what was there before is not recorded: the changes here are additive).
pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    after: serde_json::Value,
) -> janta_platform::ApiResult<()> {
    janta_platform::audit::append(
        conn,
        actor,
        entity_type,
        entity_id,
        action,
        None,
        Some(after),
    )
    .await
}
