//! Events across processes. Distributed mode, with real processes: subgraphs run as `janta serve
//! <domain>` with their own PostgreSQL database (or SQLite file), events go
//! over NATS JetStream, the router runs from `router-config/production.yaml`
//! and the committed `supergraph.graphql` (the layout `bench/distributed.sh`
//! starts by hand).
//!
//! - A users process killed with SIGKILL after committing, before it could
//!   deliver (NATS unreachable), delivers every event once restarted.
//! - In `janta dev` (one process, in-process bus) events leave the outbox.
//! - Two replicas of users (one outbox, one relays) and two replicas of the
//!   notifications subgraph (one durable NATS consumer): users registered
//!   through the router are each welcomed exactly once, by both replicas
//!   between them, with the request's `x-request-id` as correlation ID in the
//!   event and in the handler's log lines.
//!
//! Needs PostgreSQL at `JANTA_TEST_POSTGRES_URL` and NATS with JetStream at
//! `JANTA_NATS_URL` (default `nats://127.0.0.1:4222`).

mod support;

use janta_events::types::UserRegistered;
use janta_events::{pending_events, processed_count, EventBus, NatsTransport};
use janta_platform::store::{Migrations, Store};
use janta_testkit::{Backend, Gql, TestDb};
use serde_json::{json, Value};
use sqlx::migrate::Migrator;
use std::collections::HashSet;
use support::distributed::{
    free_port, nats_url, require_nats, router, scratch_dir, serve, status, wait_status, wait_until,
    Proc, Streams,
};

const CONSUMER: &str = "welcome-probe";

/// A store with only the platform tables (outbox, processed and parked
/// events): what a consumer needs.
fn platform_only() -> Migrations {
    fn none() -> Migrator {
        Migrator {
            migrations: std::borrow::Cow::Borrowed(&[]),
            ..Migrator::DEFAULT
        }
    }
    Migrations {
        sqlite: none(),
        postgres: none(),
    }
}

async fn register(gql: &Gql, request_id: Option<&str>) -> String {
    let email = format!("dist-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({
        "query": support::operation("Register"),
        "variables": {"input": {"email": email, "password": "a long password", "fullName": "Asha Rao"}},
    });
    let mut request = reqwest::Client::new().post(&gql.url).json(&body);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response: Value = request
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    response["data"]["register"]["user"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("register failed: {response}"))
        .to_string()
}

// ------------------------------------------------------------------ tests

janta_testkit::both_backends! {
    async fn a_subgraph_killed_after_commit_delivers_on_restart(db) {
        require_nats().await;
        let namespace = format!("k{}", uuid::Uuid::new_v4().simple());
        let _streams = Streams::of(&namespace, &["users"]);
        let logs = scratch_dir("crash-logs");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        // NATS "down": nothing listens on this port.
        let dead_nats = format!("nats://127.0.0.1:{}", free_port());

        let mut users = Proc::spawn(
            "users-before-crash",
            serve("users", &db.url, port, &dead_nats, &namespace, &db.dir),
            &logs,
        );
        wait_status(&mut users, &format!("{base}/health"), 200).await;
        // Up, but not ready: its event bus is unreachable.
        assert_eq!(status(&format!("{base}/ready")).await, Some(503));
        let gql = Gql::new(format!("{base}/graphql"));
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(register(&gql, None).await);
        }
        let store = Store::connect(&db.url).await.unwrap();
        // Each sign-up also sends an e-mail code (`AccountCodeIssued`).
        let pending: Vec<_> = pending_events(&store)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == "UserRegistered")
            .collect();
        assert_eq!(pending.len(), 3, "the events are committed, not delivered");
        let event_ids: Vec<String> = pending.iter().map(|e| e.id.clone()).collect();

        users.kill9();

        // A consumer elsewhere, on the real NATS.
        let consumer_db = TestDb::new(Backend::Sqlite).await;
        let consumer_store = Store::connect(&consumer_db.url).await.unwrap();
        consumer_store.migrate(&platform_only()).await.unwrap();
        let bus = EventBus::nats(
            NatsTransport::connect(&nats_url(), &namespace, "crash-probe").await.unwrap(),
        );
        let consumer = bus
            .consumer(CONSUMER, &consumer_store)
            .on_fn(|_conn, _event: UserRegistered, _envelope| Box::pin(async { Ok(()) }))
            .start()
            .await;

        let mut users = Proc::spawn(
            "users-restarted",
            serve("users", &db.url, port, &nats_url(), &namespace, &db.dir),
            &logs,
        );
        wait_status(&mut users, &format!("{base}/ready"), 200).await;
        wait_until("every committed event is handled", 60, || async {
            processed_count(&consumer_store, CONSUMER).await.unwrap() == 3
        })
        .await;
        for id in &event_ids {
            assert!(janta_events::is_processed(&consumer_store, CONSUMER, id).await.unwrap());
        }
        wait_until("the outbox is drained", 30, || async {
            pending_events(&store).await.unwrap().is_empty()
        })
        .await;
        consumer.stop().await;
        drop(users);
        let _ = std::fs::remove_dir_all(&logs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_handle_each_event_once_across_processes() {
    require_nats().await;
    let namespace = format!("d{}", uuid::Uuid::new_v4().simple());
    let _streams = Streams::of(&namespace, &["users"]);
    let logs = scratch_dir("distributed-logs");
    let users_db = TestDb::new(Backend::Postgres).await;
    let consumer_db = TestDb::new(Backend::Postgres).await;

    // Two users replicas sharing one database (one outbox).
    let (port_a, port_b) = (free_port(), free_port());
    let mut users_a = Proc::spawn(
        "users-a",
        serve(
            "users",
            &users_db.url,
            port_a,
            &nats_url(),
            &namespace,
            &users_db.dir,
        ),
        &logs,
    );
    let mut users_b = Proc::spawn(
        "users-b",
        serve(
            "users",
            &users_db.url,
            port_b,
            &nats_url(),
            &namespace,
            &users_db.dir,
        ),
        &logs,
    );
    wait_status(
        &mut users_a,
        &format!("http://127.0.0.1:{port_a}/ready"),
        200,
    )
    .await;
    wait_status(
        &mut users_b,
        &format!("http://127.0.0.1:{port_b}/ready"),
        200,
    )
    .await;

    // The router, as in production.
    let router_port = free_port();
    let peers = [
        (
            "JANTA_USERS_URL".to_string(),
            format!("http://127.0.0.1:{port_a}/graphql"),
        ),
        (
            "JANTA_JWKS_URL".to_string(),
            format!("http://127.0.0.1:{port_a}/.well-known/jwks.json"),
        ),
    ];
    let mut router = Proc::spawn("router", router(router_port, &peers), &logs);
    wait_status(
        &mut router,
        &format!("http://127.0.0.1:{router_port}/readiness"),
        200,
    )
    .await;

    // Two replicas of a consuming subgraph, notifications (one database,
    // one durable consumer); `janta_events=debug` makes each log the
    // events it settles, inside a span carrying the correlation ID.
    let mut replicas = Vec::new();
    for name in ["notifications-1", "notifications-2"] {
        let port = free_port();
        let mut command = serve(
            "notifications",
            &consumer_db.url,
            port,
            &nats_url(),
            &namespace,
            &consumer_db.dir,
        );
        command
            .env("RUST_LOG", "info,sqlx=warn,janta_events=debug")
            .env(
                "JANTA_USERS_URL",
                format!("http://127.0.0.1:{port_a}/graphql"),
            );
        let mut replica = Proc::spawn(name, command, &logs);
        wait_status(&mut replica, &format!("http://127.0.0.1:{port}/ready"), 200).await;
        replicas.push(replica);
    }
    let consumer_store = Store::connect(&consumer_db.url).await.unwrap();

    // Register users through the router, each request with its own ID.
    let gql = Gql::new(format!("http://127.0.0.1:{router_port}/graphql"));
    let total = 24;
    let mut users = HashSet::new();
    let mut request_ids = Vec::new();
    for i in 0..total {
        let request_id = format!("dist-{i}-{}", uuid::Uuid::new_v4().simple());
        users.insert(register(&gql, Some(&request_id)).await);
        request_ids.push(request_id);
    }

    let welcomes = "SELECT event_id, audience FROM notifications WHERE kind = 'WELCOME'";
    wait_until("every registration is welcomed", 90, || async {
        sqlx::query(welcomes)
            .fetch_all(consumer_store.pool())
            .await
            .unwrap()
            .len()
            >= total
    })
    .await;
    let rows: Vec<(String, String)> = sqlx::query_as(welcomes)
        .fetch_all(consumer_store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), total, "an event was handled twice");
    let events: HashSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(events.len(), total);
    let welcomed: HashSet<String> = rows
        .iter()
        .map(|r| r.1.trim_start_matches("user:").to_string())
        .collect();
    assert_eq!(welcomed, users);
    let handled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE consumer = $1 AND event_type = 'UserRegistered'",
    )
    .bind(janta_notifications::events::CONSUMER)
    .fetch_one(consumer_store.pool())
    .await
    .unwrap();
    assert_eq!(handled, total as i64);

    // Both replicas took a share, and each handled event's log line carries
    // the request ID that travelled router → users → event → handler.
    let settled = |replica: &Proc| -> Vec<String> {
        replica
            .log_text()
            .lines()
            .filter(|l| l.contains("UserRegistered") && l.contains("event settled"))
            .map(str::to_string)
            .collect()
    };
    let (by_1, by_2) = (settled(&replicas[0]), settled(&replicas[1]));
    // The share counts every event settled (each sign-up also sends an
    // `AccountCodeIssued`): a replica that fetched the sign-ups as one
    // batch still leaves the other the codes, or the reverse.
    let settled_any = |replica: &Proc| {
        let log = replica.log_text();
        log.lines().filter(|l| l.contains("event settled")).count()
    };
    assert!(
        settled_any(&replicas[0]) > 0 && settled_any(&replicas[1]) > 0,
        "the replicas did not share the work: {}/{}",
        by_1.len(),
        by_2.len()
    );
    assert_eq!(by_1.len() + by_2.len(), total, "an event was settled twice");
    for id in &request_ids {
        assert!(
            by_1.iter()
                .chain(&by_2)
                .any(|l| l.contains("correlation_id") && l.contains(id.as_str())),
            "no handler log line carries correlation ID {id}"
        );
    }

    // The users outbox is drained, and the two users replicas did not
    // both send: the stream holds each event once.
    let users_store = Store::connect(&users_db.url).await.unwrap();
    wait_until("the users outbox is drained", 30, || async {
        pending_events(&users_store).await.unwrap().is_empty()
    })
    .await;
    let nats = NatsTransport::connect(&nats_url(), &namespace, "janta-test")
        .await
        .unwrap();
    let mut stream = nats
        .jetstream()
        .get_stream(nats.stream_name("users"))
        .await
        .unwrap();
    // Each sign-up publishes `UserRegistered` and `AccountCodeIssued`.
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        2 * total as u64
    );

    drop(replicas);
    drop(router);
    drop(users_a);
    drop(users_b);
    let _ = std::fs::remove_dir_all(&logs);
}

/// `janta dev` (one process, in-process bus): the users relay runs and the
/// bus is released once every subgraph is built, so a registration's event
/// leaves the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_dev_mode_events_leave_the_outbox() {
    let platform = support::Platform::start().await;
    register(&platform.gql, Some("dev-mode-request")).await;
    let published = "SELECT COUNT(*) FROM outbox WHERE event_type = 'UserRegistered' \
                     AND correlation_id = 'dev-mode-request' AND published_at IS NOT NULL";
    wait_until("the event is relayed", 30, || async {
        platform.count("users", published).await == 1
    })
    .await;
}
