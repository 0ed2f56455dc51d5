//! Every subgraph's SQLite and PostgreSQL migrations (with the platform's
//! shared tables) produce the same tables and columns, so a store written
//! once against the `Any` driver finds the same schema on either backend.

use janta_platform::store::{Migrations, Store};
use janta_testkit::{Backend, TestDb};
use std::collections::BTreeSet;

/// A `(table, column)` pair of a migrated schema.
type Column = (String, String);

/// Columns that legitimately exist on one backend only, with the reason.
struct Exception {
    backend: Backend,
    table: &'static str,
    column: &'static str,
    reason: &'static str,
}

const FTS: &str = "search index: SQLite indexes the text columns in an FTS5 \
                   virtual table, PostgreSQL keeps one weighted tsvector";

const EXCEPTIONS: [Exception; 4] = [
    Exception {
        backend: Backend::Sqlite,
        table: "medicine_search",
        column: "name",
        reason: FTS,
    },
    Exception {
        backend: Backend::Sqlite,
        table: "medicine_search",
        column: "generic_name",
        reason: FTS,
    },
    Exception {
        backend: Backend::Sqlite,
        table: "medicine_search",
        column: "manufacturer",
        reason: FTS,
    },
    Exception {
        backend: Backend::Postgres,
        table: "medicine_search",
        column: "document",
        reason: FTS,
    },
];

/// Tables SQLite's FTS5 creates behind a virtual table `<name>`.
const FTS5_SHADOWS: [&str; 5] = ["data", "idx", "content", "docsize", "config"];

const SQLITE_COLUMNS: &str = "SELECT m.name, p.name FROM sqlite_master m \
     JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'";

const SQLITE_VIRTUAL_TABLES: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'";

const POSTGRES_COLUMNS: &str = "SELECT table_name::text, column_name::text \
     FROM information_schema.columns \
     WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'";

/// The `(table, column)` pairs of a fresh `backend` database migrated with
/// the platform's and `own` migrations, minus the listed exceptions.
async fn columns(backend: Backend, own: &Migrations) -> BTreeSet<Column> {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate(own).await.expect("migrate");
    let pool = store.pool();
    let sql = match backend {
        Backend::Sqlite => SQLITE_COLUMNS,
        Backend::Postgres => POSTGRES_COLUMNS,
    };
    let mut found: BTreeSet<Column> = sqlx::query_as(sql)
        .fetch_all(pool)
        .await
        .expect("list columns")
        .into_iter()
        .collect();
    if backend == Backend::Sqlite {
        let virtual_tables: Vec<(String,)> = sqlx::query_as(SQLITE_VIRTUAL_TABLES)
            .fetch_all(pool)
            .await
            .expect("list virtual tables");
        let shadows: BTreeSet<String> = virtual_tables
            .iter()
            .flat_map(|(vt,)| FTS5_SHADOWS.iter().map(move |s| format!("{vt}_{s}")))
            .collect();
        found.retain(|(table, _)| !shadows.contains(table));
    }
    store.close().await;
    found.retain(|(table, column)| {
        !EXCEPTIONS
            .iter()
            .any(|e| e.backend == backend && e.table == table && e.column == column)
    });
    found
}

/// Asserts both backends' schemas for `own` agree.
async fn assert_parity(own: Migrations) {
    let sqlite = columns(Backend::Sqlite, &own).await;
    let postgres = columns(Backend::Postgres, &own).await;
    assert!(!sqlite.is_empty(), "no tables found");
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only on SQLite: {only_sqlite:?}\nonly on PostgreSQL: {only_postgres:?}"
    );
}

macro_rules! parity {
    ($($name:ident => $migrations:expr),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                assert_parity($migrations).await;
            }
        )*
    };
}

parity! {
    users => janta_users::store::migrations(),
    catalog => janta_catalog::store::migrations(),
    prescriptions => janta_prescriptions::store::migrations(),
    orders => janta_orders::store::migrations(),
    payments => janta_payments::store::migrations(),
    notifications => janta_notifications::store::migrations(),
}

/// Every exception names a column that really exists on its backend (a
/// stale entry would hide a future difference).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_are_real() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = Store::connect(&db.url).await.expect("connect");
        store
            .migrate(&janta_catalog::store::migrations())
            .await
            .expect("migrate");
        for e in EXCEPTIONS.iter().filter(|e| e.backend == backend) {
            let sql = format!("SELECT {} FROM {} LIMIT 1", e.column, e.table);
            let probe = sqlx::query(&sql).fetch_optional(store.pool()).await;
            assert!(probe.is_ok(), "{}.{}: {}", e.table, e.column, e.reason);
        }
        store.close().await;
    }
}
