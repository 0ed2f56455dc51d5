//! Every row of every table of a store, as text: for tests that check where
//! a piece of data is held (a person's name after erasure, issue 18) or that
//! an operation changed nothing (an erasure run twice).

use janta_platform::columns::row_json;
use janta_platform::store::{Backend, Store};
use std::collections::BTreeMap;

/// Each table's rows (but sqlx's migration bookkeeping), each row as its
/// JSON text, sorted: two dumps are equal when the data is.
pub type Dump = BTreeMap<String, Vec<String>>;

/// Reads every row of every table of `store`.
pub async fn dump(store: &Store) -> Dump {
    let tables_sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'"
        }
    };
    let tables: Vec<(String,)> = sqlx::query_as(tables_sql)
        .fetch_all(store.pool())
        .await
        .expect("list tables");
    let mut dump = Dump::new();
    for (table,) in tables {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(store.pool())
            .await
            .unwrap_or_else(|e| panic!("read {table}: {e}"));
        let mut rows: Vec<String> = rows
            .iter()
            .map(|row| row_json(row).expect("a readable row").to_string())
            .collect();
        rows.sort();
        dump.insert(table, rows);
    }
    dump
}

/// The tables of `dump` with a row holding `text`.
pub fn tables_with(dump: &Dump, text: &str) -> Vec<String> {
    occurrences(dump, text).into_keys().collect()
}

/// How many rows of each table hold `text` (tables with none left out).
pub fn occurrences(dump: &Dump, text: &str) -> BTreeMap<String, usize> {
    dump.iter()
        .map(|(table, rows)| {
            (
                table.clone(),
                rows.iter().filter(|r| r.contains(text)).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}
