//! Test support shared by every subgraph's tests and the end-to-end tests:
//! a fresh database on SQLite or PostgreSQL per test, a token issuer with a
//! real JWKS endpoint, subgraphs served on random ports, a GraphQL client,
//! a counter of executed SQL statements (for N+1 tests) and log capture.

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::config::SubgraphConfig;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use janta_platform::store::Backend;

mod audit;
pub mod contract;
pub mod fuzz;
mod logs;
pub mod prometheus;
pub mod razorpay;
pub mod tables;
pub use audit::graphql_http_audit;
pub use logs::CapturedLogs;

/// A signed-in user (not a service or partner): subject, roles and, for
/// pharmacy staff, their vendor; no scopes.
pub fn principal(subject: &str, roles: &[Role], vendor_id: Option<&str>) -> Principal {
    Principal {
        subject: subject.to_string(),
        roles: roles.to_vec(),
        vendor_id: vendor_id.map(str::to_string),
        scopes: vec![],
    }
}

/// Where tests create their PostgreSQL databases (`.ci/run` starts a server here).
pub fn postgres_admin_url() -> String {
    std::env::var("JANTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh, empty database for one test; dropped with it.
pub struct TestDb {
    /// Connection URL of the database.
    pub url: String,
    /// A private scratch directory (SQLite file, documents, outboxes).
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDb {
    /// A new database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        let dir =
            std::env::temp_dir().join(format!("janta-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("janta_t_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = connect_pg(&admin).await;
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

async fn connect_pg(url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        let mut conn = connect_pg(&admin).await;
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                    });
                }
            })
            .join();
        }
    }
}

/// Runs each listed async test body once on SQLite and once on PostgreSQL:
/// `both_backends! { async fn name(db) { … } }` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let $db = $crate::TestDb::new($crate::Backend::Sqlite).await;
                    $body
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let $db = $crate::TestDb::new($crate::Backend::Postgres).await;
                    $body
                }
            }
        )*
    };
}

/// Signs tokens like the users subgraph does and serves its JWKS over HTTP,
/// so subgraphs under test verify tokens exactly as in production.
pub struct TestIssuer {
    signer: Arc<TokenSigner>,
    /// URL of the served JWKS.
    pub jwks_url: String,
}

impl TestIssuer {
    /// A new key pair with its JWKS served on a random port.
    pub async fn start() -> Self {
        let signer = Arc::new(TokenSigner::generate("janta", "janta-api").expect("key"));
        let jwks = signer.jwks();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let base = serve(app).await;
        TestIssuer {
            signer,
            jwks_url: format!("{base}/.well-known/jwks.json"),
        }
    }

    /// The signer, to forge unusual tokens.
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// A valid token for `principal`.
    pub fn token(&self, principal: &Principal) -> String {
        self.signer
            .sign(principal, Duration::from_secs(600))
            .expect("sign")
            .0
    }

    /// A valid token for a user with `roles` (and vendor for staff).
    pub fn token_for(&self, subject: &str, roles: &[Role], vendor_id: Option<&str>) -> String {
        self.token(&principal(subject, roles, vendor_id))
    }

    /// A service principal's token (subgraph-to-subgraph calls), shaped
    /// like the users token endpoint issues them: subject, role and scope.
    pub fn service_token(&self, service: &str) -> String {
        self.token(&Principal {
            subject: format!("service:{service}"),
            roles: vec![Role::Service],
            vendor_id: None,
            scopes: vec![janta_platform::auth::service_scope(service)],
        })
    }
}

/// Serves `app` on a random local port; returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    serve_on(listener, app)
}

/// Serves `app` on `listener` (bound before the app was built, when the
/// app needs its own URL); returns its base URL.
pub fn serve_on(listener: tokio::net::TcpListener, app: axum::Router) -> String {
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Configuration of `domain` under test: its database, the issuer's JWKS and a scratch dir.
pub fn config(domain: &str, db: &TestDb, jwks_url: &str) -> SubgraphConfig {
    let mut config = SubgraphConfig::dev(domain, 4000, &db.dir);
    config.database_url = db.url.clone();
    config.auth.jwks_url = jwks_url.to_string();
    config.listen = "127.0.0.1:0".parse().expect("static address");
    // Tests send many requests at once from one address; the request rate
    // limits have tests of their own.
    let unlimited = janta_platform::rate_limit::Rate {
        per_minute: 1_000_000,
        burst: 1_000_000,
    };
    config.client_limits = janta_platform::rate_limit::ClientLimits {
        user: unlimited,
        partner: unlimited,
    };
    config
}

/// A GraphQL-over-HTTP client for tests.
#[derive(Clone)]
pub struct Gql {
    http: reqwest::Client,
    /// The `/graphql` URL it posts to.
    pub url: String,
}

impl Gql {
    /// A client for the GraphQL endpoint at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Gql {
            http: reqwest::Client::new(),
            url: url.into(),
        }
    }

    /// Posts `query` with `variables`, optionally as `token`; returns the JSON body.
    pub async fn send(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GraphQL request");
        response.json().await.expect("GraphQL response is JSON")
    }

    /// Like [`Gql::send`] but panics on errors and returns `data`.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.send(token, query, variables).await;
        assert!(
            body.get("errors").is_none_or(Value::is_null),
            "unexpected errors: {body}"
        );
        body["data"].clone()
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_string)
}

/// Records the SQL statements executed in this process (sqlx logs each one
/// under the `sqlx::query` target), and whether each ran inside a GraphQL
/// request (the server's `graphql` span). Install once per test process.
/// Background work (outbox relays, sweepers, pollers) runs statements too:
/// [`StatementCounter::request_statements`] leaves it out, and tests can
/// count the statements that touch a table with [`StatementCounter::matching`].
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<Mutex<Vec<Statement>>>);

/// One recorded statement.
struct Statement {
    sql: String,
    /// Run inside a GraphQL request's span.
    in_request: bool,
}

impl StatementCounter {
    /// Installs the counter as the global tracing subscriber.
    pub fn install() -> Self {
        use tracing_subscriber::layer::SubscriberExt;
        let counter = StatementCounter::default();
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("sqlx::query", tracing::Level::TRACE)
            .with_target("janta_platform::telemetry", tracing::Level::INFO);
        let subscriber =
            tracing_subscriber::registry().with(CountLayer(counter.0.clone()).with_filter(filter));
        tracing::subscriber::set_global_default(subscriber).expect("one counter per test process");
        counter
    }

    /// All statements so far.
    pub fn get(&self) -> usize {
        self.0.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Statements run inside GraphQL requests so far: what requests cost,
    /// leaving out background work (outbox relays, consumers, sweepers) and
    /// connection set-up (PRAGMAs when the pool grows).
    pub fn request_statements(&self) -> usize {
        self.0
            .lock()
            .map(|s| s.iter().filter(|s| s.counts_for_request()).count())
            .unwrap_or(0)
    }

    /// The request statements recorded after the first `skip` statements
    /// (to explain a failure).
    pub fn statements_after(&self, skip: usize) -> Vec<String> {
        self.0
            .lock()
            .map(|s| {
                s.iter()
                    .skip(skip)
                    .filter(|s| s.counts_for_request())
                    .map(|s| s.sql.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The request statements one run of `request` costs, with those
    /// statements (to print when an assertion fails) and its result. The
    /// batch loader has no timing window to miss, so one run is exact.
    pub async fn cost_of<T, F, Fut>(&self, request: F) -> (usize, Vec<String>, T)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let mark = self.get();
        let before = self.request_statements();
        let result = request().await;
        let statements = self.request_statements() - before;
        (statements, self.statements_after(mark), result)
    }

    /// Statements so far whose SQL contains `needle` (case-insensitive),
    /// e.g. `"from users"`.
    pub fn matching(&self, needle: &str) -> usize {
        let needle = needle.to_lowercase();
        self.0
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|s| s.sql.to_lowercase().contains(&needle))
                    .count()
            })
            .unwrap_or(0)
    }
}

use tracing_subscriber::Layer as _;

impl Statement {
    /// Work of a request: run in its span, and not in the set-up of a
    /// pooled connection the request happened to open.
    fn counts_for_request(&self) -> bool {
        self.in_request
    }
}

struct CountLayer(Arc<Mutex<Vec<Statement>>>);

#[derive(Default)]
struct SqlText(String);

impl tracing::field::Visit for SqlText {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if matches!(field.name(), "summary" | "db.statement") {
            self.0.push_str(value);
            self.0.push(' ');
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "summary" | "db.statement") {
            self.0.push_str(&format!("{value:?} "));
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for CountLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut sql = SqlText::default();
        event.record(&mut sql);
        let in_request = ctx.event_scope(event).is_some_and(|scope| {
            let spans: Vec<&str> = scope.map(|span| span.name()).collect();
            spans.contains(&"graphql")
                && !spans.contains(&janta_platform::store::CONNECTION_SETUP_SPAN)
        });
        if let Ok(mut statements) = self.0.lock() {
            statements.push(Statement {
                sql: sql.0,
                in_request,
            });
        }
    }
}
