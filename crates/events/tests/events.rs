//! The events machinery end to end inside one test process: outbox → relay →
//! transport → consumer, on both transports (in-process bus and NATS
//! JetStream) and both stores (SQLite and PostgreSQL). NATS must run with
//! JetStream at `JANTA_NATS_URL` (default `nats://127.0.0.1:4222`); every test
//! uses its own namespace (streams) and deletes it at the end.

use async_trait::async_trait;
use janta_events::types::{UserRegistered, VendorVerified};
use janta_events::{
    list_parked, pending_events, processed_count, Backoff, ConsumerHandle, ConsumerSettings,
    Envelope, EventBus, EventHandler, InProcessBus, NatsTransport, Outcome, PublishError, Receipt,
    RelayHandle, RelaySettings, Subscription, Transport,
};
use janta_platform::cause::Cause;
use janta_platform::store::{Migrations, Store};
use janta_testkit::{Backend, TestDb};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

// ------------------------------------------------------------------ harness

/// Generates `name::{sqlite,postgres}_{in_process,nats}` from one body that
/// gets a fresh database `$db` and a fresh bus `$bus`.
macro_rules! matrix {
    ($(async fn $name:ident($db:ident, $bus:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn body($db: TestDb, $bus: TestBus) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_in_process() {
                    run(Backend::Sqlite, Kind::InProcess, body).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_nats() {
                    run(Backend::Sqlite, Kind::Nats, body).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_in_process() {
                    run(Backend::Postgres, Kind::InProcess, body).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_nats() {
                    run(Backend::Postgres, Kind::Nats, body).await
                }
            }
        )*
    };
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    InProcess,
    Nats,
}

struct TestBus {
    kind: Kind,
    events: EventBus,
    nats: Option<NatsTransport>,
    namespace: String,
}

fn nats_url() -> String {
    std::env::var("JANTA_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

async fn nats_transport(namespace: &str) -> NatsTransport {
    let url = nats_url();
    let address = url.trim_start_matches("nats://").to_string();
    tokio::net::TcpStream::connect(&address)
        .await
        .unwrap_or_else(|e| panic!("NATS with JetStream is needed at {url} for this test: {e}"));
    NatsTransport::connect(&url, namespace, "janta-events-test")
        .await
        .expect("nats connect")
}

impl TestBus {
    async fn new(kind: Kind) -> Self {
        let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
        match kind {
            Kind::InProcess => TestBus {
                kind,
                events: EventBus::in_process(&InProcessBus::new()),
                nats: None,
                namespace,
            },
            Kind::Nats => {
                let nats = nats_transport(&namespace).await;
                TestBus {
                    kind,
                    events: EventBus::nats(nats.clone()),
                    nats: Some(nats),
                    namespace,
                }
            }
        }
    }

    /// Another connection to the same bus (a second replica's).
    async fn replica(&self) -> EventBus {
        match self.kind {
            Kind::InProcess => self.events.clone(),
            Kind::Nats => EventBus::nats(nats_transport(&self.namespace).await),
        }
    }
}

async fn run<F, Fut>(backend: Backend, kind: Kind, body: F)
where
    F: FnOnce(TestDb, TestBus) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt as _;
    let db = TestDb::new(backend).await;
    let bus = TestBus::new(kind).await;
    let nats = bus.nats.clone();
    let outcome = std::panic::AssertUnwindSafe(body(db, bus))
        .catch_unwind()
        .await;
    // The test's streams go, whether it passed or not.
    if let Some(nats) = nats {
        nats.delete_streams(&["users"])
            .await
            .expect("delete streams");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("tests/migrations/sqlite"),
        postgres: sqlx::migrate!("tests/migrations/postgres"),
    }
}

async fn store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate(&migrations()).await.expect("migrate");
    store
}

fn relay_settings() -> RelaySettings {
    RelaySettings {
        poll_interval: Duration::from_millis(50),
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(300)),
        ..RelaySettings::default()
    }
}

fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings {
        max_attempts: 3,
        retry_backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1)),
        prefetch: 16,
    }
}

fn start_relay(events: &EventBus, store: &Store) -> RelayHandle {
    events
        .relay(store, "users")
        .with_settings(relay_settings())
        .spawn()
}

/// Polls `check` until it holds, failing the test after 20 s.
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Publishes one `UserRegistered` per label, each in its own committed
/// transaction; returns the envelopes.
async fn publish_users(store: &Store, labels: &[&str]) -> Vec<Envelope> {
    let mut out = Vec::new();
    for label in labels {
        let mut tx = store.begin().await.expect("begin");
        let event = UserRegistered {
            user_id: janta_platform::ids::new_id(),
            full_name: label.to_string(),
        };
        let envelope = janta_events::publish(&mut tx, &event, &Cause::system(Some("corr-test")))
            .await
            .expect("publish");
        tx.commit().await.expect("commit");
        out.push(envelope);
    }
    out
}

/// The test effect: one `effects` row per handling, failing on demand.
#[derive(Clone, Default)]
struct Recorder {
    consumer: String,
    replica: String,
    /// Labels that fail while `fixed` is false.
    poison: Arc<Mutex<HashSet<String>>>,
    fixed: Arc<AtomicBool>,
    /// When set, handlers wait here before writing (a stuck handler).
    gate: Option<Arc<Notify>>,
    delay: Duration,
    attempts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Recorder {
    fn new(consumer: &str, replica: &str) -> Self {
        Recorder {
            consumer: consumer.into(),
            replica: replica.into(),
            ..Default::default()
        }
    }

    fn poisoned(self, label: &str) -> Self {
        self.poison.lock().unwrap().insert(label.to_string());
        self
    }

    fn attempts_of(&self, label: &str) -> usize {
        self.attempts
            .lock()
            .unwrap()
            .get(label)
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait]
impl EventHandler<UserRegistered> for Recorder {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: UserRegistered,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        *self
            .attempts
            .lock()
            .unwrap()
            .entry(event.full_name.clone())
            .or_default() += 1;
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let poisoned = self.poison.lock().unwrap().contains(&event.full_name);
        if poisoned && !self.fixed.load(Ordering::SeqCst) {
            anyhow::bail!("{} is poison", event.full_name);
        }
        sqlx::query(
            "INSERT INTO effects (event_id, consumer, replica, aggregate_id, label, correlation_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&envelope.id)
        .bind(&self.consumer)
        .bind(&self.replica)
        .bind(&envelope.aggregate_id)
        .bind(&event.full_name)
        .bind(&envelope.correlation_id)
        .execute(conn)
        .await?;
        Ok(())
    }
}

async fn start_consumer(
    events: &EventBus,
    store: &Store,
    recorder: Recorder,
    settings: ConsumerSettings,
) -> ConsumerHandle {
    events
        .consumer(&recorder.consumer.clone(), store)
        .with_settings(settings)
        .on::<UserRegistered>(recorder)
        .start()
        .await
}

#[derive(Debug, Clone, PartialEq)]
struct Effect {
    event_id: String,
    replica: String,
    label: String,
    correlation_id: Option<String>,
}

async fn effects(store: &Store) -> Vec<Effect> {
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT event_id, replica, label, correlation_id FROM effects ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .expect("effects");
    rows.into_iter()
        .map(|(event_id, replica, label, correlation_id)| Effect {
            event_id,
            replica,
            label,
            correlation_id,
        })
        .collect()
}

async fn effect_count(store: &Store) -> usize {
    effects(store).await.len()
}

fn labels(effects: &[Effect]) -> Vec<String> {
    effects.iter().map(|e| e.label.clone()).collect()
}

/// A handler with after-commit work: it records what the work saw and
/// fails its first `failures` attempts.
struct FollowUp {
    recorder: Recorder,
    store: Store,
    failures: usize,
    /// For each attempt: did the work see the handler's committed effect?
    attempts: Arc<Mutex<Vec<bool>>>,
}

#[async_trait]
impl EventHandler<UserRegistered> for FollowUp {
    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: UserRegistered,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        self.recorder.handle(conn, event, envelope).await
    }

    async fn after_commit(
        &self,
        _event: &UserRegistered,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let committed = effects(&self.store)
            .await
            .iter()
            .any(|e| e.event_id == envelope.id);
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(committed);
            attempts.len()
        };
        anyhow::ensure!(
            attempt > self.failures,
            "the peer is down (attempt {attempt})"
        );
        Ok(())
    }
}

// ------------------------------------------------------------------ tests

matrix! {
    async fn after_commit_work_sees_the_commit_and_is_retried_until_it_succeeds(db, bus) {
        let store = store(&db).await;
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let handler = FollowUp {
            recorder: Recorder::new("welcome", "a"),
            store: store.clone(),
            failures: 1,
            attempts: attempts.clone(),
        };
        let consumer = bus
            .events
            .consumer("welcome", &store)
            .with_settings(consumer_settings())
            .on::<UserRegistered>(handler)
            .start()
            .await;
        let relay = start_relay(&bus.events, &store);
        publish_users(&store, &["followed"]).await;
        wait_until("the after-commit work succeeded", || {
            let attempts = attempts.clone();
            async move { attempts.lock().unwrap().len() == 2 }
        })
        .await;
        consumer.stop().await;
        relay.stop().await;
        assert_eq!(*attempts.lock().unwrap(), vec![true, true], "every attempt ran after the commit");
        assert_eq!(labels(&effects(&store).await), vec!["followed"], "the effect itself ran once");
    }

    async fn rolled_back_events_are_never_delivered(db, bus) {
        let store = store(&db).await;
        let consumer = start_consumer(&bus.events, &store, Recorder::new("welcome", "a"), consumer_settings()).await;
        let relay = start_relay(&bus.events, &store);

        let mut tx = store.begin().await.unwrap();
        let ghost = janta_events::publish(
            &mut tx,
            &UserRegistered { user_id: "ghost".into(), full_name: "ghost".into() },
            &Cause::system(None),
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        // An event nobody here handles travels too and is simply acknowledged.
        let mut tx = store.begin().await.unwrap();
        janta_events::publish(&mut tx, &VendorVerified { vendor_id: "v1".into() }, &Cause::system(None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let real = publish_users(&store, &["first", "second", "third"]).await;

        wait_until("the committed events are handled", || async { effect_count(&store).await == 3 }).await;
        wait_until("the outbox is drained", || async { pending_events(&store).await.unwrap().is_empty() }).await;
        let seen = effects(&store).await;
        // Delivered in outbox order, each once, with the request's correlation ID.
        assert_eq!(labels(&seen), ["first", "second", "third"]);
        assert!(seen.iter().all(|e| e.correlation_id.as_deref() == Some("corr-test")));
        assert_eq!(
            seen.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>(),
            real.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
        );
        assert!(!seen.iter().any(|e| e.event_id == ghost.id));
        let outbox_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM outbox")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(!outbox_ids.contains(&ghost.id), "a rolled-back event reached the outbox");
        assert_eq!(processed_count(&store, "welcome").await.unwrap(), 3);
        relay.stop().await;
        consumer.stop().await;
    }

    async fn events_committed_before_a_crash_are_delivered_on_restart(db, bus) {
        let store = store(&db).await;
        // The "crashed" process committed its changes but never relayed them.
        let committed = publish_users(&store, &["a", "b", "c", "d", "e"]).await;
        assert_eq!(pending_events(&store).await.unwrap().len(), 5);

        // A relay that dies in the middle of a hand-over: on the in-process
        // bus the consumer is stuck, so nothing is settled when both die.
        if bus.kind == Kind::InProcess {
            let mut stuck = Recorder::new("welcome", "stuck");
            stuck.gate = Some(Arc::new(Notify::new()));
            let stuck_attempts = stuck.attempts.clone();
            let consumer = start_consumer(&bus.events, &store, stuck, consumer_settings()).await;
            let relay = start_relay(&bus.events, &store);
            wait_until("the stuck consumer received an event", || async {
                !stuck_attempts.lock().unwrap().is_empty()
            })
            .await;
            relay.abort();
            consumer.abort();
            assert_eq!(pending_events(&store).await.unwrap().len(), 5, "nothing may be marked sent");
        }

        // The restarted process.
        let consumer = start_consumer(&bus.events, &store, Recorder::new("welcome", "restarted"), consumer_settings()).await;
        let relay = start_relay(&bus.events, &store);
        wait_until("every committed event is handled", || async { effect_count(&store).await == 5 }).await;
        wait_until("the outbox is drained", || async { pending_events(&store).await.unwrap().is_empty() }).await;
        let seen = effects(&store).await;
        // Each exactly once (in any order: on the in-process bus, deliveries
        // queued before the crash may still reach the new subscriber first).
        let mut seen_ids: Vec<String> = seen.iter().map(|e| e.event_id.clone()).collect();
        let mut committed_ids: Vec<String> = committed.iter().map(|e| e.id.clone()).collect();
        seen_ids.sort();
        committed_ids.sort();
        assert_eq!(seen_ids, committed_ids);
        assert!(seen.iter().all(|e| e.replica == "restarted"));
        relay.stop().await;
        consumer.stop().await;
    }

    async fn an_event_delivered_twice_has_one_effect(db, bus) {
        let store = store(&db).await;
        let consumer = start_consumer(&bus.events, &store, Recorder::new("welcome", "a"), consumer_settings()).await;
        let relay = start_relay(&bus.events, &store);
        let first = publish_users(&store, &["once"]).await.remove(0);
        wait_until("the event is handled", || async { effect_count(&store).await == 1 }).await;
        wait_until("the outbox is drained", || async { pending_events(&store).await.unwrap().is_empty() }).await;
        relay.stop().await;

        // The relay crashed after the hand-over but before marking the row
        // published: the restarted relay sends it again.
        sqlx::query("UPDATE outbox SET published_at = NULL WHERE id = $1")
            .bind(&first.id)
            .execute(store.pool())
            .await
            .unwrap();
        if let Some(nats) = &bus.nats {
            // JetStream drops that re-send (same Nats-Msg-Id); a copy that
            // slips past the de-duplication reaches the consumer.
            let subject = nats.subject("users", "UserRegistered");
            nats.client()
                .publish(subject, serde_json::to_vec(&first).unwrap().into())
                .await
                .unwrap();
            nats.client().flush().await.unwrap();
        }
        let relay = start_relay(&bus.events, &store);
        // A later event: once it is handled, the duplicates before it were settled.
        publish_users(&store, &["after"]).await;
        wait_until("the later event is handled", || async { effect_count(&store).await >= 2 }).await;
        wait_until("the outbox is drained", || async { pending_events(&store).await.unwrap().is_empty() }).await;
        assert_eq!(labels(&effects(&store).await), ["once", "after"]);
        assert_eq!(processed_count(&store, "welcome").await.unwrap(), 2);
        if let Some(nats) = &bus.nats {
            // The stream holds the event twice: once from the relay (its
            // re-send was de-duplicated) and once from the raw copy.
            let mut stream = nats
                .jetstream()
                .get_stream(nats.stream_name("users"))
                .await
                .unwrap();
            assert_eq!(stream.info().await.unwrap().state.messages, 3);
        }
        relay.stop().await;
        consumer.stop().await;
    }

    async fn a_poisoned_event_is_parked_after_n_attempts_without_blocking_others(db, bus) {
        let store = store(&db).await;
        let recorder = Recorder::new("welcome", "a").poisoned("poison");
        let probe = recorder.clone();
        let settings = ConsumerSettings {
            max_attempts: 3,
            retry_backoff: Backoff::new(Duration::from_millis(400), Duration::from_secs(2)),
            prefetch: 16,
        };
        let consumer = start_consumer(&bus.events, &store, recorder, settings).await;
        let relay = start_relay(&bus.events, &store);
        let published = publish_users(&store, &["poison", "g1", "g2", "g3", "g4", "g5"]).await;
        let poison_id = published[0].id.clone();

        wait_until("the good events are handled", || async { effect_count(&store).await == 5 }).await;
        // The good events went through while the poisoned one was still being retried.
        assert!(list_parked(&store, "welcome", true, 10).await.unwrap().is_empty());
        assert!(probe.attempts_of("poison") < 3);

        wait_until("the poisoned event is parked", || async {
            !consumer.parked().await.unwrap().is_empty()
        })
        .await;
        let parked = consumer.parked().await.unwrap();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].event_id, poison_id);
        assert_eq!(parked[0].event_type, "UserRegistered");
        assert_eq!(parked[0].source, "users");
        assert_eq!(parked[0].attempts, 3);
        assert!(parked[0].error.contains("poison"), "{}", parked[0].error);
        assert_eq!(probe.attempts_of("poison"), 3);
        assert_eq!(labels(&effects(&store).await), ["g1", "g2", "g3", "g4", "g5"]);
        assert!(!janta_events::is_processed(&store, "welcome", &poison_id).await.unwrap());
        wait_until("the outbox is drained", || async { pending_events(&store).await.unwrap().is_empty() }).await;

        // Still broken: a replay fails and keeps it parked.
        assert!(consumer.replay_parked(&poison_id).await.is_err());
        assert_eq!(consumer.parked().await.unwrap()[0].attempts, 4);
        // Fixed: the replay applies it once and resolves the entry.
        probe.fixed.store(true, Ordering::SeqCst);
        assert_eq!(consumer.replay_parked(&poison_id).await.unwrap(), Outcome::Handled);
        assert!(consumer.parked().await.unwrap().is_empty());
        let all = list_parked(&store, "welcome", true, 10).await.unwrap();
        assert!(all[0].resolved_at.is_some());
        assert!(consumer.replay_parked(&poison_id).await.is_err(), "resolved entries are not replayed");
        assert_eq!(labels(&effects(&store).await), ["g1", "g2", "g3", "g4", "g5", "poison"]);
        relay.stop().await;
        consumer.stop().await;
    }

    async fn replicas_of_one_consumer_share_the_events(db, bus) {
        let store = store(&db).await;
        let settings = ConsumerSettings { prefetch: 1, ..consumer_settings() };
        let mut one = Recorder::new("welcome", "one");
        one.delay = Duration::from_millis(20);
        let mut two = Recorder::new("welcome", "two");
        two.delay = Duration::from_millis(20);
        let first = start_consumer(&bus.events, &store, one, settings.clone()).await;
        let second_bus = bus.replica().await;
        let second = start_consumer(&second_bus, &store, two, settings).await;
        // Another consuming subgraph gets every event too.
        let other = start_consumer(&bus.events, &store, Recorder::new("audit", "x"), consumer_settings()).await;
        let relay = start_relay(&bus.events, &store);
        let names: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        publish_users(&store, &refs).await;

        wait_until("every event is handled by both groups", || async { effect_count(&store).await == 60 }).await;
        let seen = effects(&store).await;
        let welcome: Vec<&Effect> = seen.iter().filter(|e| e.replica != "x").collect();
        let distinct: HashSet<&str> = welcome.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(welcome.len(), 30);
        assert_eq!(distinct.len(), 30, "an event was handled twice");
        let by_one = welcome.iter().filter(|e| e.replica == "one").count();
        let by_two = welcome.iter().filter(|e| e.replica == "two").count();
        assert!(by_one > 0 && by_two > 0, "one replica did all the work: {by_one}/{by_two}");
        assert_eq!(processed_count(&store, "welcome").await.unwrap(), 30);
        assert_eq!(processed_count(&store, "audit").await.unwrap(), 30);
        relay.stop().await;
        first.stop().await;
        second.stop().await;
        other.stop().await;
    }
}

// ---------------------------------------------------------- relay specifics

/// A transport that fails its first `failures` publishes, then forwards.
struct Flaky {
    inner: Arc<dyn Transport>,
    failures: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait]
impl Transport for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn publish(&self, source: &str, events: &[Envelope]) -> Result<Receipt, PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(PublishError::none(anyhow::anyhow!("transport down")));
        }
        self.inner.publish(source, events).await
    }

    async fn subscribe(
        &self,
        subscription: &Subscription,
    ) -> anyhow::Result<Box<dyn janta_events::Deliveries>> {
        self.inner.subscribe(subscription).await
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.inner.check().await
    }
}

janta_testkit::both_backends! {
    async fn the_relay_backs_off_while_the_transport_is_down(db) {
        let store = store(&db).await;
        let bus = InProcessBus::new();
        let flaky = Arc::new(Flaky {
            inner: Arc::new(bus.clone()),
            failures: AtomicUsize::new(4),
            calls: AtomicUsize::new(0),
        });
        let events = EventBus::new(flaky.clone());
        let consumer = start_consumer(&events, &store, Recorder::new("welcome", "a"), consumer_settings()).await;
        publish_users(&store, &["late"]).await;
        let started = std::time::Instant::now();
        let relay = start_relay(&events, &store);
        wait_until("the event is handled once the transport is back", || async {
            effect_count(&store).await == 1
        })
        .await;
        // Four failures with back-off from 20 ms doubling (±20 %): ≥ 240 ms.
        assert!(started.elapsed() >= Duration::from_millis(240), "{:?}", started.elapsed());
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 5);
        let (attempts, error): (i64, Option<String>) =
            sqlx::query_as("SELECT attempts, last_error FROM outbox")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(attempts, 4);
        assert!(error.unwrap_or_default().contains("transport down"));
        relay.stop().await;
        consumer.stop().await;
    }

    async fn a_held_bus_delivers_only_once_released(db) {
        let store = store(&db).await;
        let bus = InProcessBus::held();
        let events = EventBus::in_process(&bus);
        let relay = start_relay(&events, &store);
        publish_users(&store, &["early"]).await;
        // The consumer subscribes after the event was committed and the
        // relay woke: nothing is lost because the bus is still held.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let consumer = start_consumer(&events, &store, Recorder::new("welcome", "a"), consumer_settings()).await;
        assert_eq!(pending_events(&store).await.unwrap().len(), 1);
        bus.release();
        wait_until("the event is handled", || async { effect_count(&store).await == 1 }).await;
        relay.stop().await;
        consumer.stop().await;
    }
}

/// Records what it is asked to publish, in order.
#[derive(Default)]
struct Recording {
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Transport for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }

    async fn publish(&self, _source: &str, events: &[Envelope]) -> Result<Receipt, PublishError> {
        self.sent
            .lock()
            .unwrap()
            .extend(events.iter().map(|e| e.id.clone()));
        // Slow confirmations: two relays would overlap if nothing stopped them.
        Ok(Receipt::new(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        }))
    }

    async fn subscribe(
        &self,
        _subscription: &Subscription,
    ) -> anyhow::Result<Box<dyn janta_events::Deliveries>> {
        anyhow::bail!("not a consumer transport")
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Two replicas of a publishing subgraph share one PostgreSQL outbox: each
/// event is sent once, in outbox order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_postgres_outbox_send_each_event_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let store_a = store(&db).await;
    let store_b = Store::connect(&db.url).await.unwrap();
    let recording = Arc::new(Recording::default());
    let events = EventBus::new(recording.clone());
    let settings = RelaySettings {
        batch_size: 7,
        ..relay_settings()
    };
    let relay_a = events
        .relay(&store_a, "users")
        .with_settings(settings.clone())
        .spawn();
    let relay_b = events
        .relay(&store_b, "users")
        .with_settings(settings)
        .spawn();
    let mut published = Vec::new();
    for chunk in 0..10 {
        let names: Vec<String> = (0..10).map(|i| format!("c{chunk}-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        published.extend(publish_users(&store_a, &refs).await);
    }
    wait_until("the outbox is drained", || async {
        pending_events(&store_a).await.unwrap().is_empty()
    })
    .await;
    let sent = recording.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        published.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        "each event once, in order"
    );
    relay_a.stop().await;
    relay_b.stop().await;
}

// Two admins replay one parked event at the same moment (a double click,
// two operators): its effect happens once, exactly one replay succeeds and
// is audited, the other is refused.
janta_testkit::both_backends! {
    async fn two_replays_of_one_parked_event_at_once_apply_it_once(db) {
        let store = store(&db).await;
        let events = EventBus::in_process(&InProcessBus::new());
        let mut recorder = Recorder::new("welcome", "a").poisoned("race");
        // A slow handler keeps the first replay's transaction open while
        // the second one starts.
        recorder.delay = Duration::from_millis(300);
        let probe = recorder.clone();
        let settings = ConsumerSettings { max_attempts: 2, ..consumer_settings() };
        let consumer = start_consumer(&events, &store, recorder, settings).await;
        let relay = start_relay(&events, &store);
        let id = publish_users(&store, &["race"]).await.remove(0).id;
        wait_until("the event is parked", || async {
            !consumer.parked().await.unwrap().is_empty()
        })
        .await;
        probe.fixed.store(true, Ordering::SeqCst);

        let replayer = consumer.replayer();
        let before = serde_json::json!({ "eventType": "UserRegistered" });
        let (one, two) = tokio::join!(
            replayer.replay_parked_audited(&id, "admin-1", before.clone()),
            replayer.replay_parked_audited(&id, "admin-2", before.clone()),
        );
        let results = [one, two];
        let handled = results.iter().filter(|r| matches!(r, Ok(Outcome::Handled))).count();
        let refused: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| format!("{e:#}")))
            .collect();
        assert_eq!(handled, 1, "{results:?}");
        assert_eq!(refused.len(), 1, "{results:?}");
        assert!(refused[0].contains("no unresolved parked event"), "{}", refused[0]);
        assert_eq!(labels(&effects(&store).await), ["race"], "the effect happened once");
        assert!(consumer.parked().await.unwrap().is_empty());
        let audited: Vec<(String, String)> = sqlx::query_as(
            "SELECT actor, action FROM audit_log WHERE entity_type = 'parked_event' AND entity_id = $1",
        )
        .bind(&id)
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(audited.len(), 1, "one replay audited: {audited:?}");
        assert_eq!(audited[0].1, "replayed");
        // The refused replay recorded no failure on the entry.
        let entry = &list_parked(&store, "welcome", true, 10).await.unwrap()[0];
        assert_eq!(entry.attempts, 2);
        assert!(entry.resolved_at.is_some());
        relay.stop().await;
        consumer.stop().await;
    }
}

/// The consumer's lag on NATS as `/metrics` shows it: the events of a
/// source the durable consumer has not acknowledged, counted while the
/// consumer is down, and back to none once it caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_lag_counts_what_a_stopped_consumer_has_not_taken() {
    run(Backend::Sqlite, Kind::Nats, |db, bus| async move {
        let store = store(&db).await;
        let lag_of = |gauges: Vec<janta_platform::metrics::Gauge>| {
            let lag: Vec<_> = gauges
                .iter()
                .filter(|g| g.name == "janta_consumer_lag_events")
                .collect();
            assert_eq!(lag.len(), 1, "one source: users");
            assert!(lag[0].labels.contains(&("consumer", "lagging".to_string())));
            lag[0].value as u64
        };
        let first = start_consumer(
            &bus.events,
            &store,
            Recorder::new("lagging", "a"),
            consumer_settings(),
        )
        .await;
        let gauges = first.lag_gauges();
        first.stop().await;
        let relay = start_relay(&bus.events, &store);
        publish_users(&store, &["l1", "l2", "l3", "l4", "l5"]).await;
        wait_until("the outbox is drained", || async {
            pending_events(&store).await.unwrap().is_empty()
        })
        .await;
        assert_eq!(
            lag_of(gauges.read().await.unwrap()),
            5,
            "five waiting for the stopped consumer"
        );
        let second = start_consumer(
            &bus.events,
            &store,
            Recorder::new("lagging", "b"),
            consumer_settings(),
        )
        .await;
        wait_until("the consumer caught up", || async {
            lag_of(gauges.read().await.unwrap()) == 0
        })
        .await;
        assert_eq!(effect_count(&store).await, 5);
        second.stop().await;
        relay.stop().await;
    })
    .await;
}
