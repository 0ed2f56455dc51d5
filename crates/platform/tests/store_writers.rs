//! Concurrent writers of one store. On SQLite they queue in the process
//! (`Store::write_turn`, taken by `Store::begin`) instead of in SQLite's busy
//! handler: a burst of transactions and autocommit writes all succeed with
//! every increment counted, and a writer waits while another holds its turn.
//! On PostgreSQL nothing queues in the process (row locks decide).

use janta_platform::store::{Backend, Store};
use janta_testkit::{both_backends, TestDb};
use std::time::Duration;

async fn store_with_counter(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.expect("store");
    sqlx::query("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
        .execute(store.pool())
        .await
        .expect("create table");
    sqlx::query("INSERT INTO counter (id, n) VALUES (1, 0)")
        .execute(store.pool())
        .await
        .expect("insert");
    store
}

async fn count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT n FROM counter WHERE id = 1")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// Reads the counter, yields, then writes it back plus one, in one
/// transaction: a lost update shows as a count short of the writers. (On
/// PostgreSQL the row lock of `FOR UPDATE` orders them; on SQLite the
/// write turn and `BEGIN IMMEDIATE` do.)
async fn increment_in_transaction(store: Store) -> sqlx::Result<()> {
    let read = match store.backend() {
        Backend::Sqlite => "SELECT n FROM counter WHERE id = 1",
        Backend::Postgres => "SELECT n FROM counter WHERE id = 1 FOR UPDATE",
    };
    let mut tx = store.begin().await?;
    let n: i64 = sqlx::query_scalar(read).fetch_one(&mut *tx).await?;
    tokio::task::yield_now().await;
    sqlx::query("UPDATE counter SET n = $1 WHERE id = 1")
        .bind(n + 1)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// One autocommit write in the store's write turn.
async fn increment_alone(store: Store) -> sqlx::Result<()> {
    let _turn = store.write_turn().await?;
    sqlx::query("UPDATE counter SET n = n + 1 WHERE id = 1")
        .execute(store.pool())
        .await
        .map(|_| ())
}

both_backends! {
    async fn a_burst_of_writers_all_succeed_and_none_is_lost(db) {
        let store = store_with_counter(&db).await;
        let writers: Vec<_> = (0..48)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    if i % 3 == 0 {
                        increment_alone(store).await
                    } else {
                        increment_in_transaction(store).await
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer task").expect("write");
        }
        // Every read-then-write transaction saw the previous one's write.
        assert_eq!(count(&store).await, 48);
    }

    async fn a_writer_waits_for_the_turn_held_by_another(db) {
        let store = store_with_counter(&db).await;
        let turn = store.write_turn().await.expect("turn");
        let waiting = tokio::spawn(increment_in_transaction(store.clone()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        if store.backend() == Backend::Sqlite {
            assert!(!waiting.is_finished(), "a SQLite writer began while another held the turn");
            assert_eq!(count(&store).await, 0);
        }
        drop(turn);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the writer went on once the turn was free")
            .expect("writer task")
            .expect("write");
        assert_eq!(count(&store).await, 1);
    }
}
