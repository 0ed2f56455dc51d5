//! The admin tools of a subgraph through its own GraphQL endpoint, on SQLite
//! and PostgreSQL: a consumer handler that fails until fixed parks an event;
//! an admin lists it, replays it (its effect happens once, a second replay is
//! refused), discards another, reads the audit trail and the outbox status;
//! customers and partners are refused.

use async_graphql::{EmptySubscription, MergedObject, Schema};
use janta_events::types::UserRegistered;
use janta_events::{ConsumerSettings, InProcessBus, Runtime};
use janta_kit::{schema_builder, Kit};
use janta_platform::auth::Role;
use janta_platform::cause::Cause;
use janta_platform::store::{Migrations, Store};
use janta_testkit::{config, error_code, serve, Backend, Gql, TestDb, TestIssuer};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

janta_kit::operations_api!(
    payments,
    "replayPaymentsParkedEvent",
    "discardPaymentsParkedEvent",
    root
);

#[derive(MergedObject, Default)]
struct Query(OperationsQuery);

#[derive(MergedObject, Default)]
struct Mutation(OperationsMutation);

fn migrations() -> Migrations {
    // The platform tables are all this test subgraph needs.
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/platform/sqlite"),
        postgres: sqlx::migrate!("../../migrations/platform/postgres"),
    }
}

struct Subgraph {
    gql: Gql,
    store: Store,
    issuer: TestIssuer,
    bus: InProcessBus,
    broken: Arc<AtomicBool>,
    _db: TestDb,
}

/// A subgraph named `payments` whose consumer records one `effects` row per
/// `UserRegistered` it handles, failing while `broken` is set.
async fn start(backend: Backend, runtime: Runtime, bus: InProcessBus) -> Subgraph {
    let db = TestDb::new(backend).await;
    let issuer = TestIssuer::start().await;
    let config = config("payments", &db, &issuer.jwks_url);
    let kit = Kit::start("payments", &config, &runtime, migrations())
        .await
        .expect("kit");
    sqlx::query("CREATE TABLE effects (event_id TEXT NOT NULL)")
        .execute(kit.store().pool())
        .await
        .expect("effects table");
    let broken = Arc::new(AtomicBool::new(true));
    let flag = broken.clone();
    kit.consume(move |consumer| {
        consumer
            .with_settings(ConsumerSettings {
                max_attempts: 2,
                retry_backoff: janta_events::Backoff::new(
                    Duration::from_millis(10),
                    Duration::from_millis(20),
                ),
                prefetch: 4,
            })
            .on_fn(move |conn, _event: UserRegistered, envelope| {
                let broken = flag.load(Ordering::SeqCst);
                let id = envelope.id.clone();
                Box::pin(async move {
                    anyhow::ensure!(!broken, "the handler is broken");
                    sqlx::query("INSERT INTO effects (event_id) VALUES ($1)")
                        .bind(id)
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
    })
    .await;
    let schema: Schema<Query, Mutation, EmptySubscription> =
        schema_builder(Query::default(), Mutation::default()).finish();
    let app = kit.router(schema, kit.remote_verifier(), |request, _| request);
    let base = serve(app).await;
    Subgraph {
        gql: Gql::new(format!("{base}/graphql")),
        store: kit.store().clone(),
        issuer,
        bus,
        broken,
        _db: db,
    }
}

impl Subgraph {
    fn admin(&self) -> String {
        self.issuer.token_for("admin-1", &[Role::Admin], None)
    }

    async fn publish(&self, user_id: &str) -> String {
        let event = UserRegistered {
            user_id: user_id.into(),
            full_name: "Asha".into(),
        };
        let envelope = janta_events::envelope(&event, &Cause::system(None));
        let transport = janta_events::EventBus::in_process(&self.bus).transport();
        transport
            .publish("users", std::slice::from_ref(&envelope))
            .await
            .expect("publish");
        envelope.id
    }

    async fn effects(&self, event_id: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM effects WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(self.store.pool())
            .await
            .expect("count effects")
    }

    async fn parked_ids(&self, token: &str) -> Vec<String> {
        let data = self.gql.data(Some(token), PARKED, json!({})).await;
        data["operations"]["payments"]["parkedEvents"]
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_string())
            .collect()
    }

    async fn wait_parked(&self, n: usize) {
        let admin = self.admin();
        for _ in 0..300 {
            if self.parked_ids(&admin).await.len() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{n} events were never parked");
    }
}

const PARKED: &str = "{ operations { id payments { parkedEvents(first: 10) \
    { id consumer source eventType error attempts resolvedAt } outbox { parked } } } }";
const REPLAY: &str = "mutation($id: ID!) { replayPaymentsParkedEvent(id: $id) { id resolvedAt } }";
const DISCARD: &str =
    "mutation($id: ID!) { discardPaymentsParkedEvent(id: $id) { id resolvedAt } }";
const TRAIL: &str = "query($id: ID!) { operations { payments { \
    auditTrail(entity: \"parked_event\", id: $id) { actor action entity entityId } } } }";
const OUTBOX: &str = "{ operations { payments { outbox \
    { backlog oldestUnsentAgeSeconds parked } } } }";

async fn replay_and_discard(backend: Backend) {
    let bus = InProcessBus::new();
    let sg = start(backend, Runtime::new(bus.clone()), bus).await;
    let admin = sg.admin();
    let first = sg.publish("u-1").await;
    let second = sg.publish("u-2").await;
    sg.wait_parked(2).await;
    let listed = sg.gql.data(Some(&admin), PARKED, json!({})).await;
    let payments = &listed["operations"]["payments"];
    assert_eq!(listed["operations"]["id"], "platform");
    assert_eq!(payments["outbox"]["parked"], 2);
    let entry = &payments["parkedEvents"][0];
    assert_eq!(entry["consumer"], "payments");
    assert_eq!(entry["source"], "users");
    assert_eq!(entry["eventType"], "UserRegistered");
    assert!(entry["error"].as_str().unwrap().contains("broken"));
    assert_eq!(sg.effects(&first).await, 0);

    // Still broken: the replay fails, the entry stays parked.
    let failed = sg
        .gql
        .send(Some(&admin), REPLAY, json!({ "id": first }))
        .await;
    assert_eq!(error_code(&failed).as_deref(), Some("CONFLICT"), "{failed}");
    assert_eq!(sg.parked_ids(&admin).await.len(), 2);

    // Fixed: the replay applies the effect once; a second is refused.
    sg.broken.store(false, Ordering::SeqCst);
    let replayed = sg
        .gql
        .data(Some(&admin), REPLAY, json!({ "id": first }))
        .await;
    assert!(replayed["replayPaymentsParkedEvent"]["resolvedAt"].is_string());
    assert_eq!(sg.effects(&first).await, 1);
    let again = sg
        .gql
        .send(Some(&admin), REPLAY, json!({ "id": first }))
        .await;
    assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"), "{again}");
    assert_eq!(
        sg.effects(&first).await,
        1,
        "a second replay applies nothing"
    );

    // Discarded: kept, never applied, never replayable.
    let discarded = sg
        .gql
        .data(Some(&admin), DISCARD, json!({ "id": second }))
        .await;
    assert!(discarded["discardPaymentsParkedEvent"]["resolvedAt"].is_string());
    let replay_discarded = sg
        .gql
        .send(Some(&admin), REPLAY, json!({ "id": second }))
        .await;
    assert_eq!(error_code(&replay_discarded).as_deref(), Some("CONFLICT"));
    assert_eq!(sg.effects(&second).await, 0);
    assert!(sg.parked_ids(&admin).await.is_empty());
    let unknown = sg
        .gql
        .send(Some(&admin), DISCARD, json!({ "id": "nope" }))
        .await;
    assert_eq!(error_code(&unknown).as_deref(), Some("NOT_FOUND"));

    // Both audited with the admin as actor.
    for (id, action) in [(&first, "replayed"), (&second, "discarded")] {
        let trail = sg.gql.data(Some(&admin), TRAIL, json!({ "id": id })).await;
        let entries = trail["operations"]["payments"]["auditTrail"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(entries.len(), 1, "{trail}");
        assert_eq!(entries[0]["actor"], "admin-1");
        assert_eq!(entries[0]["action"], action);
        assert_eq!(entries[0]["entityId"], *id);
    }
    refuses_everyone_else(&sg, &first).await;
}

async fn refuses_everyone_else(sg: &Subgraph, id: &str) {
    let customer = sg.issuer.token_for("c-1", &[Role::Customer], None);
    let partner = sg.issuer.token_for("p-1", &[Role::Partner], None);
    for token in [&customer, &partner] {
        for (query, vars) in [
            (PARKED, json!({})),
            (OUTBOX, json!({})),
            (REPLAY, json!({ "id": id })),
            (DISCARD, json!({ "id": id })),
        ] {
            let body = sg.gql.send(Some(token), query, vars).await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
        }
    }
    let anonymous = sg.gql.send(None, OUTBOX, json!({})).await;
    assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
    let entity = sg
        .gql
        .send(
            Some(&customer),
            "{ _entities(representations: [{__typename: \"Operations\", id: \"platform\"}]) \
             { ... on Operations { payments { outbox { parked } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&entity).as_deref(),
        Some("FORBIDDEN"),
        "{entity}"
    );
}

/// Events wait in the outbox while nothing sends them (a held bus): the
/// status shows exactly the unsent rows.
async fn outbox_status(backend: Backend) {
    let bus = InProcessBus::held();
    let sg = start(backend, Runtime::standalone(), bus).await;
    let admin = sg.admin();
    let empty: Value = sg.gql.data(Some(&admin), OUTBOX, json!({})).await;
    let status = &empty["operations"]["payments"]["outbox"];
    assert_eq!(status["backlog"], 0);
    assert_eq!(status["oldestUnsentAgeSeconds"], 0.0);
    let mut tx = sg.store.begin().await.expect("begin");
    for user in ["u-1", "u-2", "u-3"] {
        let event = UserRegistered {
            user_id: user.into(),
            full_name: "Asha".into(),
        };
        janta_events::publish(&mut tx, &event, &Cause::system(None))
            .await
            .expect("outbox");
    }
    tx.commit().await.expect("commit");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(sg.store.pool())
        .await
        .expect("count");
    let data = sg.gql.data(Some(&admin), OUTBOX, json!({})).await;
    let status = &data["operations"]["payments"]["outbox"];
    assert_eq!(rows, 3);
    assert_eq!(status["backlog"], rows);
    assert!(status["oldestUnsentAgeSeconds"].as_f64().unwrap() > 0.0);
    assert_eq!(status["parked"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_replay_and_discard() {
    replay_and_discard(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replay_and_discard() {
    replay_and_discard(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_outbox_status() {
    outbox_status(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outbox_status() {
    outbox_status(Backend::Postgres).await
}

/// The federation shape composition relies on: `Operations` is an entity
/// keyed by `id` that this subgraph extends with its own field, the value
/// types are shareable, and the mutations carry the subgraph's name.
#[test]
fn sdl_has_the_operations_entity_and_shareable_values() {
    let schema: Schema<Query, Mutation, EmptySubscription> =
        schema_builder(Query::default(), Mutation::default()).finish();
    let sdl = janta_platform::sdl::federation_sdl(&schema);
    for expected in [
        "type Operations @key(fields: \"id\")",
        "payments: SubgraphOperations!",
        "type SubgraphOperations @shareable",
        "type OutboxStatus @shareable",
        "type ParkedEvent @shareable",
        "type AuditEntry @shareable",
        "operations: Operations!",
        "replayPaymentsParkedEvent(id: ID!): ParkedEvent!",
        "discardPaymentsParkedEvent(id: ID!): ParkedEvent!",
    ] {
        assert!(sdl.contains(expected), "missing {expected:?} in\n{sdl}");
    }
}
