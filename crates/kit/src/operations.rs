//! Admin tools in the API, written once for all six subgraphs: each
//! subgraph's parked events (list, replay, discard), outbox status and audit
//! trail, read from and written to its own database.
//!
//! Federation: a root field cannot fan out to six databases, so the users
//! subgraph owns the root field `operations: Operations`, a singleton entity
//! (`Operations @key(fields: "id")`, id `"platform"`) that every subgraph
//! extends with a field named after itself (`payments: SubgraphOperations!`)
//! resolved from its own store. [`SubgraphOperations`] and its parts are
//! value types, identical (and `@shareable`) everywhere. Mutations are root
//! fields, each owned by one subgraph, so their names carry the subgraph's
//! (`replayPaymentsParkedEvent`). [`operations_api!`](crate::operations_api)
//! generates the per-subgraph types; everything they do is here.
//!
//! Every field requires the platform ADMIN role (partners and everyone else
//! get `FORBIDDEN`), whether the request came through the router or straight
//! to the subgraph.

use async_graphql::{Context, Object, SimpleObject, ID};
use janta_events::{ParkedEvent as StoredParked, Replayer};
use janta_platform::audit::{self, AuditRecord};
use janta_platform::auth::require_admin;
pub use janta_platform::error::{ApiError, ApiResult};
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use std::sync::{Arc, OnceLock};

/// The ID of the one `Operations` entity.
pub const OPERATIONS_ID: &str = "platform";

/// The most entries one `parkedEvents` or `auditTrail` returns.
const MAX_ROWS: i64 = 200;

/// What the admin resolvers of one subgraph need, put in every request by
/// [`crate::Kit::router`]: the subgraph's name (its consumer's name), its
/// store, and its consumer's replayer once [`crate::Kit::consume`] ran.
#[derive(Clone)]
pub struct SubgraphOps {
    name: &'static str,
    store: Store,
    replayer: Arc<OnceLock<Replayer>>,
}

impl SubgraphOps {
    /// The admin tools of subgraph `name` over `store`; `replayer` is filled
    /// when the subgraph starts its consumer.
    pub fn new(name: &'static str, store: Store, replayer: Arc<OnceLock<Replayer>>) -> Self {
        SubgraphOps {
            name,
            store,
            replayer,
        }
    }
}

fn ops<'a>(ctx: &Context<'a>) -> ApiResult<&'a SubgraphOps> {
    ctx.data::<SubgraphOps>()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("admin tools are not wired")))
}

/// The outbox of one subgraph: what its consumers are waiting for.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct OutboxStatus {
    /// Events committed and not yet handed to the transport.
    pub backlog: i64,
    /// Age in seconds of the oldest unsent event (0 when none).
    pub oldest_unsent_age_seconds: f64,
    /// Events this subgraph's consumer parked and nobody replayed or discarded.
    pub parked: i64,
}

/// An event a subgraph's consumer gave up on.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct ParkedEvent {
    /// The event's ID (what replay and discard take).
    pub id: ID,
    /// The consuming subgraph.
    pub consumer: String,
    /// The publishing subgraph.
    pub source: String,
    /// The event type (`?` when it could not be read).
    pub event_type: String,
    /// The whole envelope as JSON text.
    pub envelope: String,
    /// The last error.
    pub error: String,
    /// Deliveries and replays tried.
    pub attempts: i64,
    /// When it was (last) parked.
    pub parked_at: DateTime,
    /// When it was replayed or discarded; null while it needs attention.
    pub resolved_at: Option<DateTime>,
}

impl TryFrom<StoredParked> for ParkedEvent {
    type Error = anyhow::Error;

    fn try_from(p: StoredParked) -> anyhow::Result<Self> {
        Ok(ParkedEvent {
            id: ID(p.event_id),
            consumer: p.consumer,
            source: p.source,
            event_type: p.event_type,
            envelope: p.envelope,
            error: p.error,
            attempts: p.attempts,
            parked_at: DateTime::from_db(&p.parked_at)?,
            resolved_at: p
                .resolved_at
                .as_deref()
                .map(DateTime::from_db)
                .transpose()?,
        })
    }
}

/// One entry of a subgraph's append-only audit trail.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct AuditEntry {
    /// The entry's ID.
    pub id: ID,
    /// Who did it: a user ID, `service:<name>` or `system`.
    pub actor: String,
    /// The kind of entity changed.
    pub entity: String,
    /// The changed entity's ID.
    pub entity_id: ID,
    /// What happened.
    pub action: String,
    /// State before, as JSON text.
    pub before: Option<String>,
    /// State after, as JSON text.
    pub after: Option<String>,
    /// When.
    pub at: DateTime,
}

impl TryFrom<AuditRecord> for AuditEntry {
    type Error = anyhow::Error;

    fn try_from(r: AuditRecord) -> anyhow::Result<Self> {
        Ok(AuditEntry {
            id: ID(r.id),
            actor: r.actor,
            entity: r.entity_type,
            entity_id: ID(r.entity_id),
            action: r.action,
            before: r.before,
            after: r.after,
            at: DateTime::from_db(&r.at)?,
        })
    }
}

/// One subgraph's operational state, read from its own database.
#[derive(Default, Clone, Copy)]
pub struct SubgraphOperations;

#[Object(shareable)]
impl SubgraphOperations {
    /// The outbox backlog and parked events.
    async fn outbox(&self, ctx: &Context<'_>) -> ApiResult<OutboxStatus> {
        let ops = ops(ctx)?;
        outbox_status(&ops.store, ops.name).await
    }

    /// Unresolved parked events, oldest first (at most `first`, default and
    /// maximum 200).
    async fn parked_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<ParkedEvent>> {
        let ops = ops(ctx)?;
        let limit = page_size(first)?;
        let parked = janta_events::list_parked(&ops.store, ops.name, false, limit).await?;
        converted(parked)
    }

    /// The audit trail of entity `entity` (e.g. `medicine`, `parked_event`)
    /// with ID `id`, oldest first (at most 200 entries).
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        entity: String,
        id: ID,
    ) -> ApiResult<Vec<AuditEntry>> {
        let ops = ops(ctx)?;
        converted(audit::trail(&ops.store, &entity, &id, MAX_ROWS).await?)
    }
}

fn page_size(first: Option<i32>) -> ApiResult<i64> {
    match first {
        None => Ok(MAX_ROWS),
        Some(n) if (1..=MAX_ROWS as i32).contains(&n) => Ok(i64::from(n)),
        Some(_) => Err(ApiError::bad_input(format!(
            "first must be between 1 and {MAX_ROWS}"
        ))),
    }
}

fn converted<T, U: TryFrom<T, Error = anyhow::Error>>(rows: Vec<T>) -> ApiResult<Vec<U>> {
    rows.into_iter()
        .map(|row| U::try_from(row).map_err(ApiError::internal))
        .collect()
}

async fn outbox_status(store: &Store, consumer: &str) -> ApiResult<OutboxStatus> {
    let (backlog, age) = janta_events::outbox_backlog(store).await?;
    let parked = janta_events::parked_counts(store)
        .await?
        .into_iter()
        .find(|(name, _)| name == consumer)
        .map_or(0, |(_, n)| n);
    Ok(OutboxStatus {
        backlog,
        oldest_unsent_age_seconds: age,
        parked,
    })
}

/// The admin check every field of the admin tools makes first (the root
/// `operations` field and the entity included): ADMIN only.
pub fn admin(ctx: &Context<'_>) -> ApiResult<()> {
    require_admin(ctx).map(|_| ())
}

/// The `Operations` entity lookup: ADMIN only, and only ID `"platform"`.
pub fn entity(ctx: &Context<'_>, id: &ID) -> ApiResult<()> {
    admin(ctx)?;
    if id.as_str() == OPERATIONS_ID {
        Ok(())
    } else {
        Err(ApiError::not_found("operations"))
    }
}

/// The operations of the calling subgraph, for the field named after it.
pub fn subgraph_operations(ctx: &Context<'_>) -> ApiResult<SubgraphOperations> {
    admin(ctx)?;
    Ok(SubgraphOperations)
}

/// `replay<Subgraph>ParkedEvent`: runs parked event `id` through the
/// consumer's handler again (its `processed_events` claim still holds, so
/// the effect happens at most once), marking it resolved and auditing it
/// with the admin as actor in the handler's own transaction. `CONFLICT` when
/// it is already replayed or discarded (also by a replay running at the same
/// time) or when the handler fails again (the error is recorded on the entry).
pub async fn replay(ctx: &Context<'_>, id: &ID) -> ApiResult<ParkedEvent> {
    let admin = require_admin(ctx)?;
    let ops = ops(ctx)?;
    let parked = open_entry(ops, id).await?;
    let replayer = ops.replayer.get().ok_or_else(|| {
        ApiError::conflict(format!("{} runs no consumer to replay with", ops.name))
    })?;
    replayer
        .replay_parked_audited(id, &admin.subject, summary(&parked))
        .await
        .map_err(|err| ApiError::conflict(format!("{err:#}")))?;
    current(ops, id).await
}

/// `discard<Subgraph>ParkedEvent`: gives up on parked event `id` (the row
/// stays, resolved, never replayed), audited with the admin as actor in the
/// same transaction. `CONFLICT` when it is already replayed or discarded.
pub async fn discard(ctx: &Context<'_>, id: &ID) -> ApiResult<ParkedEvent> {
    let admin = require_admin(ctx)?;
    let ops = ops(ctx)?;
    let parked = open_entry(ops, id).await?;
    let mut tx = ops.store.begin().await?;
    if !janta_events::discard_parked(&mut tx, ops.name, id).await? {
        return Err(already_settled(id));
    }
    let after = serde_json::json!({ "consumer": ops.name, "discarded": true });
    audit::append(
        &mut tx,
        &admin.subject,
        "parked_event",
        id,
        "discarded",
        Some(summary(&parked)),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    current(ops, id).await
}

/// The unresolved parked entry `id`: `NOT_FOUND` when never parked,
/// `CONFLICT` when already replayed or discarded.
async fn open_entry(ops: &SubgraphOps, id: &str) -> ApiResult<StoredParked> {
    match janta_events::find_parked(&ops.store, ops.name, id).await? {
        None => Err(ApiError::not_found("parked event")),
        Some(p) if p.resolved_at.is_some() => Err(already_settled(id)),
        Some(p) => Ok(p),
    }
}

async fn current(ops: &SubgraphOps, id: &str) -> ApiResult<ParkedEvent> {
    let parked = janta_events::find_parked(&ops.store, ops.name, id)
        .await?
        .ok_or_else(|| ApiError::not_found("parked event"))?;
    ParkedEvent::try_from(parked).map_err(ApiError::internal)
}

fn already_settled(id: &str) -> ApiError {
    ApiError::conflict(format!(
        "parked event {id} was already replayed or discarded"
    ))
}

fn summary(p: &StoredParked) -> serde_json::Value {
    serde_json::json!({
        "eventType": p.event_type,
        "source": p.source,
        "error": p.error,
        "attempts": p.attempts,
    })
}

/// The admin tools' GraphQL types of one subgraph: `OperationsQuery` (the
/// `Operations` entity resolver, plus the root field `operations` with
/// `root`) and `OperationsMutation` (replay and discard of its parked
/// events), to merge into its `Query` and `Mutation`. Names come from the
/// subgraph: `operations_api!(payments, "replayPaymentsParkedEvent",
/// "discardPaymentsParkedEvent");` (add `, root` in the users subgraph,
/// which owns `operations`).
#[macro_export]
macro_rules! operations_api {
    ($field:ident, $replay:literal, $discard:literal, root) => {
        $crate::operations_api!(@common $field, $replay, $discard);

        /// Resolves the `Operations` entity and owns the root field `operations`.
        #[derive(Default)]
        pub struct OperationsQuery;

        #[async_graphql::Object]
        impl OperationsQuery {
            /// Every subgraph's outbox, parked events and audit trail. ADMIN only.
            async fn operations(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::operations::ApiResult<Operations> {
                $crate::operations::admin(ctx)?;
                Ok(Operations)
            }

            #[graphql(entity)]
            async fn find_operations_by_id(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> $crate::operations::ApiResult<Operations> {
                $crate::operations::entity(ctx, &id).map(|()| Operations)
            }
        }
    };
    ($field:ident, $replay:literal, $discard:literal) => {
        $crate::operations_api!(@common $field, $replay, $discard);

        /// Resolves the `Operations` entity.
        #[derive(Default)]
        pub struct OperationsQuery;

        #[async_graphql::Object]
        impl OperationsQuery {
            #[graphql(entity)]
            async fn find_operations_by_id(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> $crate::operations::ApiResult<Operations> {
                $crate::operations::entity(ctx, &id).map(|()| Operations)
            }
        }
    };
    (@common $field:ident, $replay:literal, $discard:literal) => {
        /// The platform's operations entity, extended here with this subgraph's part.
        pub struct Operations;

        #[async_graphql::Object]
        impl Operations {
            /// Always `"platform"`: there is one.
            async fn id(&self) -> async_graphql::ID {
                async_graphql::ID($crate::operations::OPERATIONS_ID.to_string())
            }

            /// This subgraph's outbox, parked events and audit trail.
            async fn $field(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::operations::ApiResult<$crate::operations::SubgraphOperations> {
                $crate::operations::subgraph_operations(ctx)
            }
        }

        /// Replays and discards this subgraph's parked events.
        #[derive(Default)]
        pub struct OperationsMutation;

        #[async_graphql::Object]
        impl OperationsMutation {
            /// Runs a parked event through this subgraph's consumer again
            /// (its effect happens at most once); audited. ADMIN only.
            #[graphql(name = $replay)]
            async fn replay_parked_event(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> $crate::operations::ApiResult<$crate::operations::ParkedEvent> {
                $crate::operations::replay(ctx, &id).await
            }

            /// Gives up on a parked event (kept, never replayed); audited. ADMIN only.
            #[graphql(name = $discard)]
            async fn discard_parked_event(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> $crate::operations::ApiResult<$crate::operations::ParkedEvent> {
                $crate::operations::discard(ctx, &id).await
            }
        }
    };
}
