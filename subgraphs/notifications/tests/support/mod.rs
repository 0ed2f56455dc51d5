//! The notifications subgraph under test, wired as in `janta dev`: the real
//! users subgraph (sign-ups publish `UserRegistered`; it answers
//! `contactForService` and signs tokens) and notifications on one
//! in-process event bus. Other publishers' events travel through a real
//! outbox and relay (or straight through the bus, to deliver one twice).
//! Edge-of-the-world doubles: a tiny SMTP server and partner endpoints.
#![allow(dead_code)]

use janta_events::types::Event;
use janta_events::{Envelope, EventBus, InProcessBus, RelayHandle, Runtime};
use janta_notifications::service::delivery::DeliverySettings;
use janta_notifications::NotificationsState;
use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use janta_testkit::{config, Backend, Gql, TestDb};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Waits until `check` yields a value, polling; panics after [`DEADLINE`]
/// with `what` and the last value seen.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("timed out waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// The nodes of a GraphQL connection (`{ edges { node } }`).
pub fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// The first of `all` that `matches`, or (for [`eventually`] to report)
/// everything seen.
pub fn first_match(all: &[Value], matches: impl Fn(&Value) -> bool) -> Result<Value, String> {
    all.iter()
        .find(|v| matches(v))
        .cloned()
        .ok_or_else(|| format!("{all:?}"))
}

/// Knobs of one test environment.
pub struct Options {
    /// SMTP server for e-mail; `None` = the dev file outbox.
    pub smtp_url: Option<String>,
    /// Attempts per delivery round.
    pub max_attempts: u32,
    /// Let webhooks reach receivers on this machine (the dev/test
    /// allow-list); off, loopback targets are refused like in production.
    pub private_webhook_targets: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            smtp_url: None,
            max_attempts: 3,
            private_webhook_targets: false,
        }
    }
}

/// A running environment.
pub struct Env {
    /// Notifications' GraphQL endpoint.
    pub gql: Gql,
    /// Users' GraphQL endpoint.
    pub users: Gql,
    /// Notifications' store (for assertions only).
    pub store: Store,
    /// Notifications' shared state.
    pub state: Arc<NotificationsState>,
    /// The bus both subgraphs share.
    pub events: EventBus,
    /// Where dev e-mails and SMS are written.
    pub outbox_dir: PathBuf,
    /// Notifications' configuration (to start it again on the same database).
    pub config: SubgraphConfig,
    signer: TokenSigner,
    publishers: Mutex<HashMap<&'static str, (Store, RelayHandle)>>,
    scratch: PathBuf,
    _users_db: TestDb,
}

/// Starts users and notifications on `db`'s backend.
pub async fn start(db: &TestDb, options: Options) -> Env {
    let backend = if db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    let users_db = TestDb::new(backend).await;
    let bus = InProcessBus::new();
    let runtime = Runtime::new(bus.clone());
    let users_config = config("users", &users_db, "http://127.0.0.1:9/unused");
    let (users_router, _users_store) = janta_users::build_with(&users_config, &runtime)
        .await
        .expect("users builds");
    let users_base = janta_testkit::serve(users_router).await;

    let mut cfg = config(
        "notifications",
        db,
        &format!("{users_base}/.well-known/jwks.json"),
    );
    cfg.peers
        .insert("users".into(), format!("{users_base}/graphql"));
    cfg.smtp_url = options.smtp_url.map(janta_platform::config::Secret::new);
    cfg.webhook_allow_private_nets = options.private_webhook_targets;
    let settings = DeliverySettings {
        max_attempts: options.max_attempts,
        backoff: janta_events::Backoff::new(Duration::from_millis(30), Duration::from_millis(120)),
        poll_interval: Duration::from_millis(50),
        send_timeout: Duration::from_secs(3),
        ..DeliverySettings::default()
    };
    let (router, state) = janta_notifications::build_with_settings(&cfg, &runtime, settings)
        .await
        .expect("notifications builds");
    let base = janta_testkit::serve(router).await;
    let signer =
        TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").expect("dev key");
    Env {
        gql: Gql::new(format!("{base}/graphql")),
        users: Gql::new(format!("{users_base}/graphql")),
        store: state.store.clone(),
        state,
        events: EventBus::in_process(&bus),
        outbox_dir: cfg.outbox_dir.clone(),
        config: cfg,
        signer,
        publishers: Mutex::new(HashMap::new()),
        scratch: db.dir.join("publishers"),
        _users_db: users_db,
    }
}

/// A signed-up customer.
pub struct Customer {
    pub id: String,
    pub token: String,
}

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }";

impl Env {
    /// Signs up a customer through the users subgraph (which publishes
    /// `UserRegistered`).
    pub async fn register(&self, email: &str, name: &str) -> Customer {
        let data = self
            .users
            .data(
                None,
                REGISTER,
                json!({ "input": { "email": email, "password": "long enough pw", "fullName": name } }),
            )
            .await;
        Customer {
            id: data["register"]["user"]["id"].as_str().unwrap().to_string(),
            token: data["register"]["accessToken"]
                .as_str()
                .unwrap()
                .to_string(),
        }
    }

    /// A token signed like users signs them.
    pub fn token(&self, subject: &str, roles: &[Role], vendor_id: Option<&str>) -> String {
        self.signer
            .sign(
                &Principal {
                    subject: subject.to_string(),
                    roles: roles.to_vec(),
                    vendor_id: vendor_id.map(str::to_string),
                    scopes: vec![],
                },
                Duration::from_secs(600),
            )
            .expect("sign")
            .0
    }

    /// A partner app's token as the users token endpoint issues it:
    /// subject `partner:<client_id>`, role `PARTNER`, the owning vendor
    /// (none for a platform app) and OAuth `scopes`.
    pub fn partner_app(&self, client_id: &str, vendor_id: Option<&str>, scopes: &[&str]) -> String {
        self.signer
            .sign(
                &Principal {
                    subject: format!("partner:{client_id}"),
                    roles: vec![Role::Partner],
                    vendor_id: vendor_id.map(str::to_string),
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                },
                Duration::from_secs(600),
            )
            .expect("sign")
            .0
    }

    /// A platform admin's token.
    pub fn admin(&self) -> String {
        self.token(janta_platform::demo::ADMIN_ID, &[Role::Admin], None)
    }

    /// Publishes `event` the way its subgraph does: into an outbox (one per
    /// publishing subgraph) in a committed transaction, from which a relay
    /// hands it to the bus. Returns the envelope.
    pub async fn publish<E: Event>(&self, event: &E) -> Envelope {
        let store = self.publisher(E::SOURCE).await;
        let mut tx = store.begin().await.expect("begin");
        let cause = janta_platform::cause::Cause::system(Some("test"));
        let envelope = janta_events::publish(&mut tx, event, &cause)
            .await
            .expect("publish");
        tx.commit().await.expect("commit");
        envelope
    }

    async fn publisher(&self, source: &'static str) -> Store {
        if let Some((store, _)) = self.publishers.lock().unwrap().get(source) {
            return store.clone();
        }
        std::fs::create_dir_all(&self.scratch).unwrap();
        let url = format!(
            "sqlite://{}",
            self.scratch.join(format!("{source}.db")).display()
        );
        let store = Store::connect(&url).await.expect("publisher store");
        // Any subgraph's migrations bring the shared outbox table along.
        store
            .migrate(&janta_notifications::store::migrations())
            .await
            .expect("publisher migrates");
        let relay = self.events.start_relay(&store, source);
        let mut publishers = self.publishers.lock().unwrap();
        let entry = publishers.entry(source).or_insert((store, relay));
        entry.0.clone()
    }

    /// Hands an already published envelope to the bus again, as a
    /// transport does after a lost acknowledgement; waits until the
    /// consumer settled it.
    pub async fn redeliver(&self, source: &str, envelope: &Envelope) {
        let receipt = self
            .events
            .transport()
            .publish(source, std::slice::from_ref(envelope))
            .await
            .expect("bus accepts");
        receipt.wait().await.expect("consumer settles the event");
    }

    /// `myNotifications` as `token` (edges' nodes).
    pub async fn inbox(&self, token: &str) -> Vec<Value> {
        let data = self
            .gql
            .data(
                Some(token),
                "{ myNotifications(first: 50) { totalCount edges { node { id kind title body read createdAt subjectId } } } }",
                json!({}),
            )
            .await;
        nodes(&data["myNotifications"])
    }

    /// Waits until `token`'s inbox holds a notification of `kind`; returns it.
    pub async fn wait_for_kind(&self, token: &str, kind: &str) -> Value {
        eventually(&format!("a {kind} notification"), || async {
            first_match(&self.inbox(token).await, |n| n["kind"] == kind)
        })
        .await
    }

    /// The deliveries of a notification with their attempts (as admin).
    pub async fn deliveries_of(&self, notification_id: &str) -> Vec<Value> {
        let data = self
            .gql
            .data(
                Some(&self.admin()),
                "query($id: ID!) { notificationDeliveries(notificationId: $id) { id channel status attempts totalAttempts lastError lastResponseCode attemptLog { attemptNumber outcome responseCode error durationMs } } }",
                json!({ "id": notification_id }),
            )
            .await;
        data["notificationDeliveries"].as_array().unwrap().clone()
    }

    /// Waits until the one delivery of `notification_id` on `channel` is in
    /// `status`; returns it.
    pub async fn wait_for_delivery(
        &self,
        notification_id: &str,
        channel: &str,
        status: &str,
    ) -> Value {
        eventually(&format!("{channel} delivery {status}"), || async {
            first_match(&self.deliveries_of(notification_id).await, |d| {
                d["channel"] == channel && d["status"] == status
            })
        })
        .await
    }

    /// Webhook deliveries (as admin), newest first.
    pub async fn webhook_deliveries(&self) -> Vec<Value> {
        let data = self
            .gql
            .data(
                Some(&self.admin()),
                "{ deliveries(channel: WEBHOOK, first: 50) { totalCount edges { node { id status eventId eventType subscriptionId attempts totalAttempts lastError lastResponseCode attemptLog { attemptNumber outcome responseCode error } } } } }",
                json!({}),
            )
            .await;
        nodes(&data["deliveries"])
    }

    /// The files the dev outbox holds under `channel` (`email`, `sms`).
    pub fn outbox_files(&self, channel: &str) -> Vec<String> {
        let dir = self.outbox_dir.join(channel);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return vec![];
        };
        let mut files: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect();
        files.sort();
        files
    }
}

/// A minimal SMTP server on a local port: greets, accepts EHLO, answers
/// `MAIL FROM` with a reply the test chooses (`250 OK`, `451 …`, `554 …`),
/// accepts the rest, and keeps the messages it received. It runs on plain
/// threads with blocking sockets (one per connection), outside the test's
/// runtime, until the test process ends.
pub struct SmtpServer {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    /// Connections accepted.
    pub sessions: Arc<AtomicUsize>,
    /// Messages received (DATA contents).
    pub messages: Arc<Mutex<Vec<String>>>,
    reply: Arc<Mutex<String>>,
}

impl SmtpServer {
    /// Starts a server answering `MAIL FROM` with `reply`.
    pub async fn start(reply: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let sessions = Arc::new(AtomicUsize::new(0));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(Mutex::new(reply.to_string()));
        let (s, m, r) = (sessions.clone(), messages.clone(), reply.clone());
        std::thread::spawn(move || {
            for socket in listener.incoming().map_while(Result::ok) {
                s.fetch_add(1, Ordering::SeqCst);
                let (m, r) = (m.clone(), r.clone());
                std::thread::spawn(move || session(socket, &m, &r));
            }
        });
        SmtpServer {
            url,
            sessions,
            messages,
            reply,
        }
    }

    /// Changes the answer to `MAIL FROM` from now on.
    pub fn set_reply(&self, reply: &str) {
        *self.reply.lock().unwrap() = reply.to_string();
    }

    /// Connections so far.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }
}

/// One SMTP conversation, until QUIT or the client hangs up.
fn session(socket: std::net::TcpStream, messages: &Mutex<Vec<String>>, reply: &Mutex<String>) {
    let Ok(mut write) = socket.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(socket).lines();
    if write.write_all(b"220 test.local ESMTP ready\r\n").is_err() {
        return;
    }
    while let Some(Ok(line)) = lines.next() {
        let upper = line.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250 test.local\r\n".to_string()
        } else if upper.starts_with("MAIL FROM") {
            format!("{}\r\n", reply.lock().unwrap())
        } else if ["RCPT TO", "RSET", "NOOP"]
            .iter()
            .any(|c| upper.starts_with(c))
        {
            "250 OK\r\n".to_string()
        } else if upper.starts_with("DATA") {
            if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").is_err() {
                return;
            }
            let mut message = String::new();
            while let Some(Ok(data)) = lines.next() {
                if data == "." {
                    break;
                }
                message.push_str(&data);
                message.push('\n');
            }
            messages.lock().unwrap().push(message);
            "250 2.0.0 queued\r\n".to_string()
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n");
            return;
        } else {
            "500 unknown command\r\n".to_string()
        };
        if write.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// What a partner endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// Raw body.
    pub body: String,
}

impl Received {
    /// Whether the `janta-signature` header is the HMAC-SHA256 of
    /// `<janta-timestamp>.<body>` under `secret` (what a partner checks).
    pub fn signed_with(&self, secret: &str) -> bool {
        use hmac::{Hmac, Mac};
        let Some(hex_sig) = self.headers["janta-signature"].strip_prefix("v1=") else {
            return false;
        };
        let Ok(expected) = hex::decode(hex_sig) else {
            return false;
        };
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{}.{}", self.headers["janta-timestamp"], self.body).as_bytes());
        mac.verify_slice(&expected).is_ok()
    }
}

/// A partner's webhook endpoint (axum) answering with the given statuses in
/// turn (the last one repeats), recording every request. A 3xx answer points
/// `Location` at `/stolen`, which counts the requests that followed it.
pub struct Partner {
    /// The URL to subscribe.
    pub url: String,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Requests received.
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Requests that followed a redirect to `/stolen`.
    pub redirected: Arc<AtomicUsize>,
}

impl Partner {
    /// Starts an endpoint answering `statuses` in order.
    pub async fn start(statuses: &[u16]) -> Self {
        let received = Arc::new(Mutex::new(Vec::<Received>::new()));
        let redirected = Arc::new(AtomicUsize::new(0));
        let statuses = Arc::new(statuses.to_vec());
        let (r, s) = (received.clone(), statuses.clone());
        let stolen = redirected.clone();
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                    let (r, s) = (r.clone(), s.clone());
                    async move {
                        let mut all = r.lock().unwrap();
                        let status = s[all.len().min(s.len() - 1)];
                        all.push(Received {
                            headers: headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                                })
                                .collect(),
                            body,
                        });
                        let status = axum::http::StatusCode::from_u16(status).unwrap();
                        (status, [(axum::http::header::LOCATION, "/stolen")])
                    }
                }),
            )
            .route(
                "/stolen",
                axum::routing::any(move || {
                    let stolen = stolen.clone();
                    async move {
                        stolen.fetch_add(1, Ordering::SeqCst);
                        axum::http::StatusCode::OK
                    }
                }),
            );
        let base = janta_testkit::serve(app).await;
        let port = reqwest::Url::parse(&base)
            .unwrap()
            .port_or_known_default()
            .unwrap();
        Partner {
            url: format!("{base}/hook"),
            port,
            received,
            redirected,
        }
    }

    /// Requests so far.
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
