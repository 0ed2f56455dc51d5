//! End-to-end harness: starts the real platform (`janta dev`: every subgraph
//! plus Hive Router as a child process) on free ports with a fresh data
//! directory, and offers the contract's operations by name.

#![allow(dead_code)]

pub mod distributed;

use janta_testkit::Gql;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password of the accounts tests register.
pub const TEST_PASSWORD: &str = "a-long-test-password-7";

/// A running platform for one test.
pub struct Platform {
    child: Child,
    /// Router port; subgraphs listen on port+1…port+6.
    pub port: u16,
    /// Client for the router's GraphQL endpoint.
    pub gql: Gql,
    /// The data directory (SQLite files, documents, logs).
    pub data_dir: PathBuf,
    /// Extra environment of the `janta dev` process.
    env: Vec<(String, String)>,
    /// This platform's claim on its ports (see `pick_base_port`).
    _port_claim: std::fs::File,
}

/// Starts `janta dev` on `port` with `data_dir`.
fn launch(port: u16, data_dir: &std::path::Path, env: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_janta"))
        .args(["dev", "--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        // Tests send many requests from one address and account at once;
        // `tests/limits_e2e.rs` sets small rates of its own.
        .env("JANTA_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("JANTA_PARTNER_RATE_LIMIT_PER_MINUTE", "1000000")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("janta starts")
}

fn ports_free(base: u16) -> bool {
    (base..base + 7).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// A free range of seven ports, claimed for as long as the returned file
/// lives. Test binaries run in parallel processes: without a claim two of
/// them can pick the same range between checking it and binding it, and
/// one test's requests then reach the other's platform. The claim is an
/// exclusive `flock` on a file named after the range, released by the OS
/// when the process ends, however it ends.
fn pick_base_port() -> (u16, std::fs::File) {
    use std::os::fd::AsRawFd;
    let dir = std::env::temp_dir().join("janta-e2e-ports");
    std::fs::create_dir_all(&dir).expect("port claims directory");
    loop {
        // Below Linux's ephemeral range (32768-60999), where a port can be
        // the local end of an outgoing connection and fail to bind.
        let base = 20_000 + (rand_u16() % 1200) * 10;
        let claim = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{base}.lock")))
            .expect("port claim file");
        // SAFETY: flock on a file descriptor this function owns.
        let claimed = unsafe { libc::flock(claim.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if claimed && ports_free(base) {
            return (base, claim);
        }
    }
}

fn rand_u16() -> u16 {
    (uuid::Uuid::new_v4().as_u128() % 65_536) as u16
}

impl Platform {
    /// Starts the platform and waits until the router serves queries.
    pub async fn start() -> Platform {
        Platform::start_with(&[]).await
    }

    /// [`Platform::start`] with extra environment settings (a payment
    /// gateway and its keys, say).
    pub async fn start_with(env: &[(&str, &str)]) -> Platform {
        let (port, port_claim) = pick_base_port();
        let data_dir =
            std::env::temp_dir().join(format!("janta-e2e-{}", uuid::Uuid::new_v4().simple()));
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut platform = Platform {
            child: launch(port, &data_dir, &env),
            port,
            gql: Gql::new(format!("http://127.0.0.1:{port}/graphql")),
            data_dir,
            env,
            _port_claim: port_claim,
        };
        platform.wait_ready().await;
        platform
    }

    /// Kills the platform with SIGKILL (no shutdown at all: a power cut),
    /// then starts it again on the same ports and data, and waits until it
    /// serves queries.
    pub async fn crash_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        // The router follows its parent (PR_SET_PDEATHSIG); wait for its port.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !ports_free(self.port) {
            assert!(
                Instant::now() < deadline,
                "ports still taken after the crash"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = launch(self.port, &self.data_dir, &self.env);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/readiness", self.port);
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("janta dev exited during start-up: {status}");
            }
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("platform did not become ready in 90 s");
    }

    /// URL of a subgraph's own endpoint (bypassing the router).
    pub fn subgraph_url(&self, domain: &str) -> String {
        format!(
            "http://127.0.0.1:{}/graphql",
            self.port + 1 + domain_index(domain)
        )
    }

    /// Signs in as a demo account; returns the access token.
    pub async fn login(&self, email: &str) -> String {
        self.login_with(email, janta_platform::demo::DEMO_PASSWORD)
            .await
    }

    /// Signs in with `password`; returns the access token.
    pub async fn login_with(&self, email: &str, password: &str) -> String {
        let data = self
            .gql
            .data(
                None,
                &operation("Login"),
                json!({"email": email, "password": password}),
            )
            .await;
        data["login"]["accessToken"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// Signs in through the router as if from the client `address` (the
    /// `x-forwarded-for` the router passes on); returns the whole response.
    pub async fn login_from(&self, address: &str, email: &str, password: &str) -> Value {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/graphql", self.port))
            .header("x-forwarded-for", address)
            .json(&json!({"query": operation("Login"), "variables": {"email": email, "password": password}}))
            .send()
            .await
            .expect("router answers")
            .json()
            .await
            .expect("GraphQL JSON")
    }

    /// Registers an account with [`TEST_PASSWORD`]; returns its user ID.
    pub async fn register(&self, email: &str, full_name: &str) -> String {
        let data = self
            .gql
            .data(None, &operation("Register"), registration(email, full_name))
            .await;
        data["register"]["user"]["id"]
            .as_str()
            .expect("user id")
            .to_string()
    }

    /// Asks the users token endpoint for a service token with the client
    /// credentials `client`:`secret`; returns the raw response.
    pub async fn request_service_token(&self, client: &str, secret: &str) -> reqwest::Response {
        let users = self.port + 1 + domain_index("users");
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{users}/oauth/token"))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token endpoint")
    }

    /// A service token for the service `client`, with its development secret.
    pub async fn service_token(&self, client: &str) -> String {
        let secret = format!("janta-dev-service-client-{client}");
        let response: Value = self
            .request_service_token(client, &secret)
            .await
            .json()
            .await
            .expect("token JSON");
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no service token: {response}"))
            .to_string()
    }

    /// Creates a prescription upload as `token` and PUTs [`prescription_pdf`]
    /// to its one-time URL.
    pub async fn upload_prescription(&self, token: &str) -> Upload {
        let data = self
            .gql
            .data(
                Some(token),
                &operation("CreatePrescriptionUpload"),
                json!({}),
            )
            .await;
        let created = &data["createPrescriptionUpload"];
        let upload = Upload {
            id: created["uploadId"].as_str().expect("upload ID").to_string(),
            url: created["uploadUrl"]
                .as_str()
                .expect("upload URL")
                .to_string(),
        };
        let put = put_pdf(&upload.url).await;
        assert!(
            put.status().is_success(),
            "upload refused: {}",
            put.text().await.unwrap()
        );
        upload
    }

    /// A prescription for amoxicillin that `customer` (signed in as
    /// `token`) uploads and submits to the KA pharmacy (`SubmitPrescription`);
    /// returns its ID and the upload it used.
    pub async fn submit_prescription(&self, token: &str) -> (String, Upload) {
        let upload = self.upload_prescription(token).await;
        let submitted = self
            .gql
            .data(
                Some(token),
                &operation("SubmitPrescription"),
                json!({"input": {
                    "uploadId": upload.id,
                    "patientName": "Chitra Customer", "doctorName": "Dr. Arvind Menon",
                    "doctorRegistrationNumber": "KMC-48213",
                    "issuedOn": janta_platform::india::today().to_string(),
                    "vendorId": janta_platform::demo::VENDOR_KA_ID
                }}),
            )
            .await;
        assert_eq!(submitted["submitPrescription"]["status"], "SUBMITTED");
        let id = submitted["submitPrescription"]["id"]
            .as_str()
            .expect("prescription ID")
            .to_string();
        (id, upload)
    }

    /// A prescription submitted by `token` (see
    /// [`Platform::submit_prescription`]) and approved by the KA pharmacist
    /// for up to 2 amoxicillin capsules, valid 20 days; returns its ID.
    pub async fn approved_prescription(&self, token: &str) -> String {
        let (id, _) = self.submit_prescription(token).await;
        let pharmacist = self.login("pharmacist.ka@janta.test").await;
        let reviewed = self
            .gql
            .data(
                Some(&pharmacist),
                &operation("ReviewPrescription"),
                json!({"input": {
                    "prescriptionId": id, "decision": "APPROVE",
                    "lines": [{"medicineId": janta_catalog::demo::AMOXICILLIN_500_ID, "maxQuantity": 2}],
                    "validUntil": (janta_platform::india::today() + chrono::Duration::days(20)).to_string()
                }}),
            )
            .await;
        assert_eq!(reviewed["reviewPrescription"]["status"], "APPROVED");
        id
    }

    /// The order `order_id` as `token` sees it (`OrderDetail`), once `done`
    /// holds; fails the test after 60 s.
    pub async fn order_when(
        &self,
        token: &str,
        order_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body = self
                .gql
                .send(
                    Some(token),
                    &operation("OrderDetail"),
                    json!({"id": order_id}),
                )
                .await;
            if done(&body["data"]["order"]) {
                return body["data"]["order"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "the order never reached the expected state: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts paying `order_id` online by `method` as `token` (`PayOrder`);
    /// returns the checkout URL.
    pub async fn checkout_url(&self, token: &str, order_id: &str, method: &str) -> String {
        let paid = self
            .gql
            .data(
                Some(token),
                &operation("PayOrder"),
                json!({"orderId": order_id, "method": method}),
            )
            .await;
        paid["payOrder"]["checkoutUrl"]
            .as_str()
            .expect("online payments have a checkout URL")
            .to_string()
    }

    /// Opens a subgraph's SQLite store read-only, to check what was written.
    pub async fn count(&self, domain: &str, sql: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let url = format!(
            "sqlite://{}?mode=ro",
            self.data_dir.join(format!("{domain}.db")).display()
        );
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("open store");
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&mut conn)
            .await
            .expect("count");
        n
    }
}

impl Platform {
    /// The newest one-time secret of `purpose` (`VERIFY_EMAIL`,
    /// `VERIFY_PHONE`, `PASSWORD_RESET`) users issued to `user_id`, read from the
    /// `AccountCodeIssued` events of its outbox: what the e-mail or SMS
    /// carries to the person.
    pub async fn account_code(&self, user_id: &str, purpose: &str) -> String {
        sqlx::any::install_default_drivers();
        let url = format!(
            "sqlite://{}?mode=ro",
            self.data_dir.join("users.db").display()
        );
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("open store");
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT payload FROM outbox WHERE event_type = 'AccountCodeIssued' \
             AND aggregate_id = $1 ORDER BY occurred_at, id",
        )
        .bind(user_id)
        .fetch_all(&mut conn)
        .await
        .expect("outbox");
        rows.iter()
            .rev()
            .map(|(payload,)| {
                serde_json::from_str::<Value>(payload).unwrap_or_else(|e| panic!("{e}: {payload}"))
            })
            .find(|payload| payload["purpose"] == purpose)
            .and_then(|payload| payload["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no {purpose} code for {user_id}"))
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.data_dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use janta_testkit::contract::operation;

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> Option<String> {
    janta_testkit::error_code(body)
}

/// Where a subgraph's port lies after the router's.
fn domain_index(domain: &str) -> u16 {
    janta_platform::config::DOMAINS
        .iter()
        .position(|d| *d == domain)
        .expect("domain") as u16
}

/// The `Register` variables for `email` with [`TEST_PASSWORD`].
pub fn registration(email: &str, full_name: &str) -> Value {
    json!({"input": {"email": email, "password": TEST_PASSWORD, "fullName": full_name}})
}

/// A small but well-formed PDF (header, one page, trailer, `%%EOF`).
pub fn prescription_pdf() -> Vec<u8> {
    let body = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
                2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
                3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n\
                trailer << /Root 1 0 R >>\n%%EOF\n";
    body.as_bytes().to_vec()
}

/// PUTs [`prescription_pdf`] to an upload URL.
pub async fn put_pdf(url: &str) -> reqwest::Response {
    reqwest::Client::new()
        .put(url)
        .header("content-type", "application/pdf")
        .body(prescription_pdf())
        .send()
        .await
        .expect("document store answers")
}

/// A prescription document uploaded to the platform.
pub struct Upload {
    /// The `uploadId` to submit the prescription with.
    pub id: String,
    /// The one-time URL it was PUT to.
    pub url: String,
}
