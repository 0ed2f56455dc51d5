//! `janta admin create` against a fresh deployment's users database, on
//! SQLite and on PostgreSQL (`JANTA_TEST_POSTGRES_URL`): the real binary
//! reads the password from standard input, the new admin signs in through
//! the users subgraph (`janta serve users` on the same database), a second
//! admin needs `--force`, a short password is refused, and the command has
//! no password argument at all. The served subgraph also shows the
//! `x-request-id` echo: a given ID comes back, a missing or unsafe one is
//! replaced by a fresh UUID.

use janta_testkit::{Backend, TestDb};
use serde_json::{json, Value};
use std::io::Write as _;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const JANTA: &str = env!("CARGO_BIN_EXE_janta");
const PASSWORD: &str = "bootstrap-pass-4821";

/// Runs `janta <args>` on `db`'s database with `stdin` as standard input.
fn janta(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(JANTA)
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("JANTA_DATA_DIR", &db.dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start janta");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn create_admin(db: &TestDb, email: &str, password: &str, force: bool) -> Output {
    let mut args = vec!["admin", "create", "--email", email, "--name", "Asha Rao"];
    if force {
        args.push("--force");
    }
    janta(db, &args, &format!("{password}\n"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `janta serve users`, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve_users(db: &TestDb) -> Served {
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(JANTA)
        .args(["serve", "users"])
        .env("DATABASE_URL", &db.url)
        .env("JANTA_DATA_DIR", &db.dir)
        .env("JANTA_LISTEN", &listen)
        .env_remove("JANTA_NATS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start janta serve users");
    let served = Served {
        child,
        url: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = reqwest::get(format!("{}/health", served.url)).await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return served;
        }
        assert!(Instant::now() < deadline, "janta serve users did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn post(served: &Served, request_id: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", served.url))
        .header("content-type", "application/json")
        .json(&body);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    request.send().await.unwrap()
}

async fn login(served: &Served, email: &str, password: &str) -> Value {
    let body = json!({
        "query": "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { email roles } } }",
        "variables": { "email": email, "password": password },
    });
    post(served, None, body).await.json().await.unwrap()
}

async fn bootstrap_then_sign_in(db: TestDb) {
    let short = create_admin(&db, "root@janta.example", "short", false);
    assert!(!short.status.success());
    assert!(
        stderr(&short).contains("password must be at least 10 characters"),
        "{}",
        stderr(&short)
    );

    let first = create_admin(&db, "Root@Janta.example", PASSWORD, false);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("root@janta.example"));

    let second = create_admin(&db, "ops@janta.example", PASSWORD, false);
    assert!(!second.status.success());
    assert!(stderr(&second).contains("--force"), "{}", stderr(&second));
    let forced = create_admin(&db, "ops@janta.example", PASSWORD, true);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let taken = create_admin(&db, "ops@janta.example", PASSWORD, true);
    assert!(stderr(&taken).contains("already has an account"));

    let served = serve_users(&db).await;
    let session = login(&served, "root@janta.example", PASSWORD).await;
    assert_eq!(
        session["data"]["login"]["user"],
        json!({ "email": "root@janta.example", "roles": ["ADMIN"] }),
        "{session}"
    );
    assert!(session["data"]["login"]["accessToken"].is_string());
    let wrong = login(&served, "root@janta.example", "not-the-password").await;
    assert!(wrong["data"]["login"].is_null(), "{wrong}");
    drop(served);

    let audit = audit_of(&db).await;
    assert_eq!(
        audit,
        vec![("bootstrap".to_string(), "admin_bootstrapped".to_string()); 2]
    );
}

/// The bootstrap rows of the users database's audit trail: (actor, action).
async fn audit_of(db: &TestDb) -> Vec<(String, String)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, action FROM audit_log WHERE action = 'admin_bootstrapped' ORDER BY at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_on_sqlite() {
    bootstrap_then_sign_in(TestDb::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_on_postgres() {
    bootstrap_then_sign_in(TestDb::new(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_read_from_a_file_never_from_the_command_line() {
    let help = Command::new(JANTA)
        .args(["admin", "create", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--password-file"), "{help}");
    assert!(!help.contains("--password "), "{help}");
    assert!(!help.contains("--password <"), "{help}");

    let db = TestDb::new(Backend::Sqlite).await;
    let inline = janta(
        &db,
        &[
            "admin",
            "create",
            "--email",
            "a@janta.example",
            "--password",
            PASSWORD,
        ],
        "",
    );
    assert!(!inline.status.success());
    let file = db.dir.join("password.txt");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let from_file = janta(
        &db,
        &[
            "admin",
            "create",
            "--email",
            "a@janta.example",
            "--password-file",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let served = serve_users(&db).await;
    let session = login(&served, "a@janta.example", PASSWORD).await;
    assert!(
        session["data"]["login"]["accessToken"].is_string(),
        "{session}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subgraphs_echo_or_mint_the_request_id() {
    let db = TestDb::new(Backend::Sqlite).await;
    let served = serve_users(&db).await;
    let query = json!({ "query": "{ __typename }" });
    let echoed = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let given = post(&served, Some("req-7f3a.42"), query.clone()).await;
    assert_eq!(echoed(&given).as_deref(), Some("req-7f3a.42"));
    let long = "x".repeat(129);
    for sent in [None, Some("two words"), Some(long.as_str())] {
        let response = post(&served, sent, query.clone()).await;
        let minted = echoed(&response).expect("an x-request-id");
        assert!(uuid::Uuid::parse_str(&minted).is_ok(), "{sent:?}: {minted}");
    }
    let health = reqwest::get(format!("{}/health", served.url))
        .await
        .unwrap();
    assert!(echoed(&health).is_some());
}

#[test]
fn seed_demo_loads_the_demo_accounts_into_a_configured_database() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Sqlite));
    let seeded = janta(&db, &["seed", "demo", "users"], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("users: seeded"));
    let again = janta(&db, &["seed", "demo", "users"], "");
    assert!(String::from_utf8_lossy(&again.stdout).contains("users: already seeded"));
    // A demo admin exists now: bootstrapping another needs --force.
    let refused = create_admin(&db, "root@janta.example", PASSWORD, false);
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    let all = janta(&db, &["seed", "demo"], "");
    assert!(!all.status.success(), "DATABASE_URL names one database");
}
