//! Distributed mode for end-to-end tests, with real processes: subgraphs
//! run as `janta serve <domain>` each with its own database, events go over
//! NATS JetStream, the router runs from `router-config/production.yaml` and
//! the committed `supergraph.graphql` (the layout `bench/distributed.sh`
//! starts by hand). [`Deployment`] starts the whole platform that way on
//! PostgreSQL, empty (no demo data); the pieces it is built from
//! ([`Proc`], [`serve`], [`router`], …) start parts of it for tests that
//! need only some.
//!
//! Needs PostgreSQL at `JANTA_TEST_POSTGRES_URL` and NATS with JetStream at
//! `JANTA_NATS_URL` (default `nats://127.0.0.1:4222`).

use janta_events::NatsTransport;
use janta_testkit::{Backend, Gql, TestDb};
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Rate limits high enough for a test's many requests from one address.
const UNLIMITED: &str = "100000000";

/// The NATS server the tests use.
pub fn nats_url() -> String {
    std::env::var("JANTA_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Fails the test, saying why, when NATS is not reachable.
pub async fn require_nats() {
    let url = nats_url();
    let address = url.trim_start_matches("nats://").to_string();
    tokio::net::TcpStream::connect(&address)
        .await
        .unwrap_or_else(|e| panic!("NATS with JetStream is needed at {url} for this test: {e}"));
}

/// A port free at the time of asking (for processes started one at a time).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A fresh scratch directory for logs and data.
pub fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("janta-{what}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A child process whose output goes to a log file; stopped (SIGTERM, then
/// SIGKILL) when dropped, its log printed if the test is failing.
pub struct Proc {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `command` as `name`, logging to `<logs>/<name>.log`.
    pub fn spawn(name: &str, mut command: Command, logs: &Path) -> Proc {
        let log = logs.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// A crash: SIGKILL, no chance to finish anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process has ended.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.exited() {
            // SAFETY: signalling our own child process.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && !self.exited() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("---- last lines of {} ({}):", self.name, self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// `janta serve <domain>` configured like a separate deployment.
pub fn serve(
    domain: &str,
    db_url: &str,
    port: u16,
    nats: &str,
    namespace: &str,
    data: &Path,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_janta"));
    command
        .args(["serve", domain])
        .env("DATABASE_URL", db_url)
        .env("JANTA_LISTEN", format!("127.0.0.1:{port}"))
        .env("JANTA_NATS_URL", nats)
        .env("JANTA_EVENTS_NAMESPACE", namespace)
        .env("JANTA_MODE", "dev")
        .env("JANTA_DATA_DIR", data)
        .env("RUST_LOG", "info,sqlx=warn");
    command
}

/// `janta router` as in production: `router-config/production.yaml` and
/// the committed supergraph, on `port`, with `peers` (`JANTA_<DOMAIN>_URL`,
/// `JANTA_JWKS_URL`) saying where the subgraphs are.
pub fn router(port: u16, peers: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_janta"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    command
        .arg("router")
        .arg("--config")
        .arg(production_config(&scratch_dir("router-config")))
        .arg("--supergraph")
        .arg(root.join("supergraph.graphql"))
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "warn")
        .envs(peers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

/// `router-config/production.yaml` as a test's router runs it: a copy in
/// `dir`, beside the trusted documents it names, whose Prometheus exporter
/// listens on a free port instead of 9464, so the routers of tests running
/// at once do not fight over one port (the port is a literal in the file).
fn production_config(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("router-config");
    let config = std::fs::read_to_string(source.join("production.yaml")).expect("production.yaml");
    assert!(
        config.contains("port: 9464"),
        "production.yaml no longer exports metrics on 9464"
    );
    let config = config.replace("port: 9464", &format!("port: {}", free_port()));
    let documents = "persisted-documents.json";
    std::fs::copy(source.join(documents), dir.join(documents)).expect("trusted documents");
    let path = dir.join("production.yaml");
    std::fs::write(&path, config).expect("router config");
    path
}

/// Polls `check` until it holds, failing the test after `seconds`.
pub async fn wait_until<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The HTTP status of a GET of `url` (None: no answer).
pub async fn status(url: &str) -> Option<u16> {
    reqwest::get(url).await.ok().map(|r| r.status().as_u16())
}

/// Waits until `url` answers `expected`, failing the test if `proc` exits
/// or 90 s pass.
pub async fn wait_status(proc: &mut Proc, url: &str, expected: u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(!proc.exited(), "{} exited; see its log", proc.name);
        if status(url).await == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer {expected} in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes the NATS streams of a test's namespace when dropped, whether
/// the test passed or not.
pub struct Streams {
    namespace: String,
    domains: Vec<&'static str>,
}

impl Streams {
    /// The streams of `domains` under `namespace`.
    pub fn of(namespace: &str, domains: &[&'static str]) -> Streams {
        Streams {
            namespace: namespace.to_string(),
            domains: domains.to_vec(),
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        let domains = self.domains.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let connected =
                        NatsTransport::connect(&nats_url(), &namespace, "janta-test-cleanup").await;
                    if let Ok(nats) = connected {
                        let _ = nats.delete_streams(&domains).await;
                    }
                });
            }
        })
        .join();
    }
}

/// The whole platform distributed, as a fresh deployment: each subgraph a
/// `janta serve` process with its own new PostgreSQL database, events over
/// NATS JetStream (a namespace of its own), the production router in
/// front. Nothing is seeded: no admin, no medicines, no vendors.
pub struct Deployment {
    /// Client for the router's GraphQL endpoint.
    pub gql: Gql,
    /// Subgraph processes, then the router (stopped before the databases go).
    procs: Vec<Proc>,
    databases: Vec<(&'static str, TestDb)>,
    logs: PathBuf,
    _streams: Streams,
    /// This deployment's claim on its ports (see `pick_base_port`).
    _ports: std::fs::File,
}

impl Deployment {
    /// Starts every subgraph and the router and waits until all are ready.
    pub async fn start() -> Deployment {
        require_nats().await;
        let namespace = format!("e{}", uuid::Uuid::new_v4().simple());
        let domains = janta_platform::config::DOMAINS;
        let streams = Streams::of(&namespace, &domains);
        let (base, claim) = super::pick_base_port();
        let logs = scratch_dir("deployment-logs");
        let port = |i: usize| base + 1 + i as u16;
        let mut peers = vec![(
            "JANTA_JWKS_URL".to_string(),
            format!("http://127.0.0.1:{}/.well-known/jwks.json", port(0)),
        )];
        for (i, domain) in domains.iter().enumerate() {
            let url = format!("http://127.0.0.1:{}/graphql", port(i));
            peers.push((format!("JANTA_{}_URL", domain.to_uppercase()), url));
        }
        peers.push(("JANTA_RATE_LIMIT_PER_MINUTE".into(), UNLIMITED.into()));
        peers.push((
            "JANTA_PARTNER_RATE_LIMIT_PER_MINUTE".into(),
            UNLIMITED.into(),
        ));
        let mut databases = Vec::new();
        let mut procs = Vec::new();
        for (i, domain) in domains.iter().enumerate() {
            let db = TestDb::new(Backend::Postgres).await;
            let mut command = serve(domain, &db.url, port(i), &nats_url(), &namespace, &db.dir);
            command
                .env("JANTA_PUBLIC_URL", format!("http://127.0.0.1:{}", port(i)))
                .env("RUST_LOG", "warn")
                .envs(peers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            procs.push(Proc::spawn(domain, command, &logs));
            databases.push((*domain, db));
        }
        for (i, proc) in procs.iter_mut().enumerate() {
            wait_status(proc, &format!("http://127.0.0.1:{}/ready", port(i)), 200).await;
        }
        let mut router = Proc::spawn("router", router(base, &peers), &logs);
        let ready = format!("http://127.0.0.1:{base}/readiness");
        wait_status(&mut router, &ready, 200).await;
        procs.push(router);
        Deployment {
            gql: Gql::new(format!("http://127.0.0.1:{base}/graphql")),
            procs,
            databases,
            logs,
            _streams: streams,
            _ports: claim,
        }
    }

    /// The database of subgraph `domain`.
    pub fn database(&self, domain: &str) -> &TestDb {
        self.databases
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, db)| db)
            .unwrap_or_else(|| panic!("no subgraph {domain}"))
    }

    /// Runs `janta <args>` as an operator would on subgraph `domain`'s
    /// host (its `DATABASE_URL`), with `stdin` as standard input.
    pub fn janta(&self, domain: &str, args: &[&str], stdin: &str) -> Output {
        let db = self.database(domain);
        let mut child = Command::new(env!("CARGO_BIN_EXE_janta"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("JANTA_DATA_DIR", &db.dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start janta");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("janta ran")
    }

    /// A count (or any one integer) read from subgraph `domain`'s database.
    pub async fn scalar(&self, domain: &str, sql: &str) -> i64 {
        let store = janta_platform::store::Store::connect(&self.database(domain).url)
            .await
            .expect("connect");
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        store.close().await;
        n
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // The router first, then the subgraphs, before their databases go.
        while let Some(proc) = self.procs.pop() {
            drop(proc);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }
}
