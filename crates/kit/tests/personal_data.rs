//! The personal-data plumbing every subgraph shares, on SQLite and
//! PostgreSQL, through the real in-process bus and consumer: a subgraph
//! answers an export with its part and an erasure with its report; the
//! export part leaves its database once delivered while the report stays;
//! an answer whose delivery failed is delivered later; a redelivered event
//! answers once.

use async_trait::async_trait;
use janta_events::types::{DataExportRequested, UserErasureRequested};
use janta_events::{ConsumerHandle, ConsumerSettings, Event, EventBus, InProcessBus};
use janta_kit::personal_data::{
    answer_requests, Answer, AnswerKind, AnswerSink, ErasureReport, KeptRecord, PersonalData,
};
use janta_platform::cause::Cause;
use janta_platform::store::{Migrations, Store};
use janta_testkit::{both_backends, TestDb};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/platform/sqlite"),
        postgres: sqlx::migrate!("../../migrations/platform/postgres"),
    }
}

/// A subgraph holding people's names in `people` and invoices it must keep.
struct People;

#[async_trait]
impl PersonalData for People {
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value> {
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM people WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
        Ok(json!({ "names": names }))
    }

    async fn erase(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        sqlx::query("UPDATE people SET name = 'erased' WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        Ok(ErasureReport {
            erased: vec!["names".into()],
            kept: vec![KeptRecord {
                record: "tax invoices".into(),
                rule: "CGST Act 2017 §36".into(),
            }],
        })
    }
}

/// Answers as users would receive them; refuses while `down` is set.
#[derive(Default)]
struct Received {
    answers: Mutex<Vec<Answer>>,
    down: AtomicBool,
}

#[async_trait]
impl AnswerSink for Received {
    async fn deliver(&self, answer: &Answer) -> anyhow::Result<()> {
        anyhow::ensure!(!self.down.load(Ordering::SeqCst), "users is down");
        self.answers.lock().unwrap().push(answer.clone());
        Ok(())
    }
}

impl Received {
    fn of(&self, kind: AnswerKind) -> Vec<Answer> {
        let answers = self.answers.lock().unwrap();
        answers.iter().filter(|a| a.kind == kind).cloned().collect()
    }

    async fn wait_for(&self, kind: AnswerKind, n: usize) -> Vec<Answer> {
        for _ in 0..500 {
            let got = self.of(kind);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} {kind:?} answers never arrived: {:?}", self.of(kind));
    }
}

struct Harness {
    store: Store,
    bus: InProcessBus,
    sink: Arc<Received>,
    consumer: Option<ConsumerHandle>,
}

impl Harness {
    async fn start(db: &TestDb) -> Harness {
        let store = Store::connect(&db.url).await.expect("connect");
        store.migrate(&migrations()).await.expect("migrate");
        sqlx::query("CREATE TABLE people (user_id TEXT NOT NULL, name TEXT NOT NULL)")
            .execute(store.pool())
            .await
            .expect("people");
        for (user, name) in [("u-1", "Asha Rao"), ("u-2", "Ravi Iyer")] {
            sqlx::query("INSERT INTO people (user_id, name) VALUES ($1, $2)")
                .bind(user)
                .bind(name)
                .execute(store.pool())
                .await
                .expect("person");
        }
        let bus = InProcessBus::new();
        let sink = Arc::new(Received::default());
        let consumer = EventBus::in_process(&bus).consumer("orders", &store);
        let consumer = answer_requests(consumer, "orders", store.clone(), People, sink.clone())
            .with_settings(ConsumerSettings {
                max_attempts: 50,
                retry_backoff: janta_events::Backoff::new(
                    Duration::from_millis(10),
                    Duration::from_millis(20),
                ),
                prefetch: 4,
            })
            .start()
            .await;
        Harness {
            store,
            bus,
            sink,
            consumer: Some(consumer),
        }
    }

    /// Publishes `event` (twice, as a redelivery would) and returns nothing.
    async fn publish<E: Event>(&self, event: &E) {
        let envelope = janta_events::envelope(event, &Cause::system(None));
        let transport = EventBus::in_process(&self.bus).transport();
        for _ in 0..2 {
            transport
                .publish("users", std::slice::from_ref(&envelope))
                .await
                .expect("publish");
        }
    }

    async fn answers_held(&self) -> Vec<(String, Option<String>)> {
        sqlx::query("SELECT kind, delivered_at FROM personal_data_answers ORDER BY kind")
            .fetch_all(self.store.pool())
            .await
            .expect("answers")
            .iter()
            .map(|r| (r.get("kind"), r.get("delivered_at")))
            .collect()
    }

    async fn stop(mut self) {
        if let Some(consumer) = self.consumer.take() {
            consumer.stop().await;
        }
    }
}

both_backends! {
    async fn export_part_is_delivered_once_and_not_kept(db) {
        let h = Harness::start(&db).await;
        h.publish(&DataExportRequested { export_id: "x-1".into(), user_id: "u-1".into() }).await;
        let answers = h.sink.wait_for(AnswerKind::Export, 1).await;
        assert_eq!(answers[0].request_id, "x-1");
        assert_eq!(answers[0].subgraph, "orders");
        assert_eq!(answers[0].body, json!({ "names": ["Asha Rao"] }), "only u-1's data");
        // Delivered: no copy of the part stays in the subgraph's database.
        for _ in 0..100 {
            if h.answers_held().await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(h.answers_held().await.is_empty());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(h.sink.of(AnswerKind::Export).len(), 1, "the redelivered event answered again");
        h.stop().await;
    }

    async fn erasure_report_is_kept_and_retried_until_delivered(db) {
        let h = Harness::start(&db).await;
        h.sink.down.store(true, Ordering::SeqCst);
        h.publish(&UserErasureRequested { request_id: "d-1".into(), user_id: "u-1".into() }).await;
        // The erasure committed even though users cannot be told yet.
        for _ in 0..200 {
            if !h.answers_held().await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(h.answers_held().await, vec![("ERASURE".to_string(), None)]);
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM people ORDER BY user_id")
            .fetch_all(h.store.pool())
            .await
            .unwrap();
        assert_eq!(names, ["erased", "Ravi Iyer"]);

        h.sink.down.store(false, Ordering::SeqCst);
        let reports = h.sink.wait_for(AnswerKind::Erasure, 1).await;
        let report: ErasureReport = serde_json::from_value(reports[0].body.clone()).unwrap();
        assert_eq!(report.erased, ["names"]);
        assert_eq!(report.kept[0].record, "tax invoices");
        for _ in 0..100 {
            if h.answers_held().await[0].1.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let held = h.answers_held().await;
        assert_eq!(held.len(), 1, "the report stays as the subgraph's record");
        assert!(held[0].1.is_some(), "marked delivered: {held:?}");
        h.stop().await;
    }

    async fn erasure_drops_an_undelivered_export_part(db) {
        let h = Harness::start(&db).await;
        h.sink.down.store(true, Ordering::SeqCst);
        h.publish(&DataExportRequested { export_id: "x-2".into(), user_id: "u-1".into() }).await;
        for _ in 0..200 {
            if !h.answers_held().await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        h.publish(&UserErasureRequested { request_id: "d-2".into(), user_id: "u-1".into() }).await;
        for _ in 0..200 {
            if h.answers_held().await.iter().all(|(kind, _)| kind == "ERASURE") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        h.sink.down.store(false, Ordering::SeqCst);
        h.sink.wait_for(AnswerKind::Erasure, 1).await;
        assert!(h.sink.of(AnswerKind::Export).is_empty(), "the erased person's part left");
        h.stop().await;
    }
}
