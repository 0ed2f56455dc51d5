//! Storage: one connection pool per subgraph on SQLite (embedded default) or
//! PostgreSQL (production), chosen by the URL, with that subgraph's own
//! migrations applied at start-up. All SQL goes through sqlx's `Any` driver so
//! a store is written once; the few dialect differences branch on [`Backend`].

use anyhow::Context as _;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Executor, Transaction};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::Instrument as _;

/// How long a SQLite writer waits for the write lock, in this process's
/// queue ([`Store::write_turn`]) and in SQLite's own busy handler (for
/// writers of other processes or outside the queue).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file per subgraph under the data directory.
    Sqlite,
    /// One database (or schema + role) per subgraph.
    Postgres,
}

impl Backend {
    /// Detects the backend from a database URL.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)")
        }
    }
}

/// A subgraph's migrations for both backends (embedded with `sqlx::migrate!`).
pub struct Migrations {
    /// Migrations for SQLite.
    pub sqlite: Migrator,
    /// Migrations for PostgreSQL.
    pub postgres: Migrator,
}

/// A subgraph's database handle: the pool plus the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the queue of this process's writers (one at a time).
    writers: Option<Arc<Mutex<()>>>,
}

/// A SQLite writer's turn ([`Store::write_turn`]): the other writers of this
/// process wait until it is dropped.
#[derive(Debug)]
pub struct WriteTurn {
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Store {
    /// Connects to `url`, creating a SQLite file if it does not exist yet.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let pool = pool_options(backend)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        configure_sqlite(conn)
                            .instrument(tracing::info_span!(
                                target: "janta_platform::telemetry",
                                CONNECTION_SETUP_SPAN
                            ))
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .context("could not connect to the database")?;
        let writers = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            pool,
            backend,
            writers,
        })
    }

    /// Applies the platform's shared tables (audit trail, outbox) and then
    /// the subgraph's own migrations.
    pub async fn migrate(&self, own: &Migrations) -> anyhow::Result<()> {
        let shared = platform_migrations();
        for migrator in [pick(&shared, self.backend), pick(own, self.backend)] {
            let mut migrator = clone_migrator(migrator);
            migrator.set_ignore_missing(true);
            migrator
                .run(&self.pool)
                .await
                .context("database migration failed")?;
        }
        Ok(())
    }

    /// The pool, for queries that need no transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it first waits for this
    /// process's write turn ([`Store::write_turn`]), then takes the write
    /// lock up front (`BEGIN IMMEDIATE`), so concurrent writers queue instead
    /// of failing when a reader upgrades.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        let turn = self.write_turn().await?;
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { inner, _turn: turn })
    }

    /// Waits for this process's turn to write, for a write outside
    /// [`Store::begin`] (one autocommit statement); hold it until the write
    /// is done. On SQLite, writers queue here, first come first served,
    /// instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10… ms
    /// between tries while the lock may long be free: under contention that
    /// sleeping, not the writing, bounded throughput. PostgreSQL locks rows,
    /// not the database: no wait.
    pub async fn write_turn(&self) -> sqlx::Result<WriteTurn> {
        let Some(writers) = &self.writers else {
            return Ok(WriteTurn { _turn: None });
        };
        tokio::time::timeout(SQLITE_BUSY_TIMEOUT, writers.clone().lock_owned())
            .await
            .map(|turn| WriteTurn { _turn: Some(turn) })
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// Readiness probe: can we run a query?
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction of a [`Store`]. It reads and writes as the
/// connection it derefs to; [`Tx::commit`] also wakes this process's outbox
/// relays, so that events written in the transaction leave at once instead
/// of at the relay's next poll. Dropped without commit, it rolls back.
pub struct Tx {
    inner: Transaction<'static, sqlx::Any>,
    /// Dropped after `inner` (field order), so the next writer starts
    /// after this transaction ends.
    _turn: WriteTurn,
}

impl Tx {
    /// Commits, then tells the relays to look at the outbox.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.inner.commit().await?;
        crate::events::outbox_written();
        Ok(())
    }

    /// Rolls back everything written in the transaction.
    pub async fn rollback(self) -> sqlx::Result<()> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// `$first, $first+1, …` for `count` bind parameters (IN lists; the same
/// placeholder syntax works on SQLite and PostgreSQL).
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` once for all `ids`, with `{ids}` in it standing for the IN
/// list: the one-statement batch behind entity resolution and DataLoaders.
pub async fn fetch_in<'e, T, E>(executor: E, sql: &str, ids: &[String]) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql.replace("{ids}", &placeholders(1, ids.len()));
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(executor).await
}

/// How many connections a store keeps and for how long. SQLite's are all
/// opened before the store is handed out and kept for its lifetime: a
/// connection to a local file never goes stale, so none is ever opened
/// inside a request (no set-up statements, no file open, on a request's
/// time), which also keeps a request's statement count exact. PostgreSQL's
/// grow on demand and are recycled, as a server may close idle ones.
fn pool_options(backend: Backend) -> AnyPoolOptions {
    match backend {
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS)
            .min_connections(SQLITE_CONNECTIONS)
            .idle_timeout(None)
            .max_lifetime(None),
        Backend::Postgres => AnyPoolOptions::new().max_connections(16),
    }
}

/// Connections per SQLite store: readers run side by side under WAL and
/// writers take turns ([`Store::write_turn`]).
const SQLITE_CONNECTIONS: u32 = 8;

/// The span a new pooled connection's set-up statements (SQLite PRAGMAs)
/// run in: the set-up is the pool's work, which a request only happens to
/// trigger, so statement counts leave it out by this name.
pub const CONNECTION_SETUP_SPAN: &str = "store.connection_setup";

async fn configure_sqlite(conn: &mut AnyConnection) -> sqlx::Result<()> {
    conn.execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000;",
    )
    .await
    .map(|_| ())
}

fn pick(m: &Migrations, backend: Backend) -> &Migrator {
    match backend {
        Backend::Sqlite => &m.sqlite,
        Backend::Postgres => &m.postgres,
    }
}

fn clone_migrator(m: &Migrator) -> Migrator {
    Migrator {
        migrations: m.migrations.clone(),
        ..Migrator::DEFAULT
    }
}

/// Tables every subgraph has (audit trail; outbox and inbox for events).
fn platform_migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/platform/sqlite"),
        postgres: sqlx::migrate!("../../migrations/platform/postgres"),
    }
}
