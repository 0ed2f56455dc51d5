//! Shared helpers of the prescriptions tests: the subgraph on a random port
//! with a real JWKS issuer (and, where a test needs it, the real users
//! subgraph as its peer), tokens for each kind of caller, real (tiny) PDF
//! and PNG files generated here, and shortcuts for the upload → submit →
//! review flow.
#![allow(dead_code)]

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use janta_testkit::{config, Backend, Gql, TestDb, TestIssuer};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The subgraph under test and what tests need around it.
pub struct Env {
    pub gql: Gql,
    pub store: Store,
    /// Where the subgraph actually listens.
    pub base: String,
    /// What it believes its public URL is (links start with it).
    pub public_url: String,
    pub issuer: TestIssuer,
    pub documents: PathBuf,
    pub http: reqwest::Client,
}

pub async fn start(db: &TestDb) -> Env {
    start_with(db, |_| {}).await
}

/// The real users subgraph (demo data seeded, on SQLite) beside the
/// prescriptions subgraph, which calls it as its `users` peer.
pub struct Users {
    pub gql: Gql,
    signer: TokenSigner,
    _db: TestDb,
}

impl Users {
    /// A token users accepts for `subject` as a customer.
    pub fn customer(&self, subject: &str) -> String {
        let principal = Principal {
            subject: subject.to_string(),
            roles: vec![Role::Customer],
            vendor_id: None,
            scopes: vec![],
        };
        self.signer
            .sign(&principal, std::time::Duration::from_secs(600))
            .expect("sign")
            .0
    }

    /// Adds a family member to demo user `owner` through users; returns its ID.
    pub async fn add_family_member(&self, owner: &str, name: &str) -> String {
        let added = self
            .gql
            .data(
                Some(&self.customer(owner)),
                "mutation($input: FamilyMemberInput!) { addFamilyMember(input: $input) { id } }",
                json!({"input": {"fullName": name, "relation": "CHILD"}}),
            )
            .await;
        added["addFamilyMember"]["id"].as_str().unwrap().to_string()
    }
}

/// [`start`] with the real users subgraph as the `users` peer.
pub async fn start_with_users(db: &TestDb) -> (Env, Users) {
    let users_db = TestDb::new(Backend::Sqlite).await;
    let (router, users_store) =
        janta_users::build(&config("users", &users_db, "http://127.0.0.1:9/unused"))
            .await
            .expect("users builds");
    janta_users::demo::seed(&users_store)
        .await
        .expect("users demo");
    let users_base = janta_testkit::serve(router).await;
    let users_graphql = format!("{users_base}/graphql");
    let env = start_with(db, |config| {
        config
            .peers
            .insert("users".to_string(), users_graphql.clone());
    })
    .await;
    let users = Users {
        gql: Gql::new(users_graphql),
        signer: TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api")
            .expect("dev key"),
        _db: users_db,
    };
    (env, users)
}

async fn start_with(db: &TestDb, configure: impl FnOnce(&mut SubgraphConfig)) -> Env {
    let issuer = TestIssuer::start().await;
    let mut config = config("prescriptions", db, &issuer.jwks_url);
    configure(&mut config);
    let documents = janta_prescriptions::documents_dir(&config);
    let (router, store) = janta_prescriptions::build(&config)
        .await
        .expect("prescriptions builds");
    let base = janta_testkit::serve(router).await;
    Env {
        gql: Gql::new(format!("{base}/graphql")),
        store,
        base,
        public_url: config.public_url.clone(),
        issuer,
        documents,
        http: reqwest::Client::new(),
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Env {
    pub fn customer(&self, id: &str) -> String {
        self.issuer.token_for(id, &[Role::Customer], None)
    }
    pub fn pharmacist(&self, id: &str, vendor: &str) -> String {
        self.issuer.token_for(id, &[Role::Pharmacist], Some(vendor))
    }
    pub fn vendor_admin(&self, id: &str, vendor: &str) -> String {
        self.issuer
            .token_for(id, &[Role::VendorAdmin], Some(vendor))
    }
    pub fn admin(&self) -> String {
        self.issuer.token_for(&new_id(), &[Role::Admin], None)
    }
    pub fn service(&self) -> String {
        self.issuer.service_token("orders")
    }

    /// A link as the subgraph would hand it out, pointed at where it listens.
    pub fn local(&self, url: &str) -> String {
        url.replacen(&self.public_url, &self.base, 1)
    }

    /// `createPrescriptionUpload` → (uploadId, local uploadUrl).
    pub async fn create_upload(&self, token: &str) -> (String, String) {
        let data = self.gql.data(Some(token), CREATE_UPLOAD, json!({})).await;
        let u = &data["createPrescriptionUpload"];
        assert!(u["expiresAt"].as_str().is_some());
        let url = u["uploadUrl"].as_str().expect("uploadUrl");
        assert!(
            url.starts_with(&format!("{}/uploads/", self.public_url)),
            "{url}"
        );
        (u["uploadId"].as_str().unwrap().to_string(), self.local(url))
    }

    /// `PUT`s `bytes` to `url` → (HTTP status, JSON body).
    pub async fn put(&self, url: &str, bytes: Vec<u8>, content_type: Option<&str>) -> (u16, Value) {
        let mut request = self.http.put(url).body(bytes);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.expect("PUT");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// `PUT`s `bytes` to `url` with chunked transfer encoding (no
    /// `Content-Length`, as a streaming client would) over a raw HTTP/1.1
    /// connection → (HTTP status, JSON body).
    pub async fn put_chunked(&self, url: &str, bytes: &[u8], content_type: &str) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = url.strip_prefix("http://").expect("http URL");
        let (host, path) = rest.split_at(rest.find('/').expect("path"));
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        for chunk in bytes.chunks(256 * 1024) {
            let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
            frame.extend_from_slice(chunk);
            frame.extend_from_slice(b"\r\n");
            if stream.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("response");
        let text = String::from_utf8_lossy(&response);
        let status = text[9..12].parse().expect("status");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        // The JSON error is small: one chunk or a plain body.
        let json = body
            .find('{')
            .and_then(|start| body.rfind('}').map(|end| &body[start..=end]))
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }

    /// Upload + PUT + submit; returns the prescription JSON.
    pub async fn submit_file(&self, token: &str, bytes: Vec<u8>, content_type: &str) -> Value {
        let (upload_id, url) = self.create_upload(token).await;
        let (status, body) = self.put(&url, bytes, Some(content_type)).await;
        assert_eq!(status, 200, "{body}");
        self.gql
            .data(Some(token), SUBMIT, submit_vars(&upload_id, None))
            .await["submitPrescription"]
            .clone()
    }

    /// Upload + PUT + submit of a PDF to pharmacy `vendor` (none: left
    /// for the customer to pick later); returns the prescription's ID.
    pub async fn submit_to(&self, token: &str, vendor: Option<&str>) -> String {
        let (upload_id, url) = self.create_upload(token).await;
        let (status, body) = self.put(&url, pdf(), Some("application/pdf")).await;
        assert_eq!(status, 200, "{body}");
        let mut vars = submit_vars(&upload_id, None);
        vars["input"]["vendorId"] = json!(vendor);
        let data = self.gql.data(Some(token), SUBMIT, vars).await;
        data["submitPrescription"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Asks for a document link as `token` (with `reason`), downloads it
    /// once → (HTTP status of the download, the local URL).
    pub async fn open_document(
        &self,
        token: &str,
        id: &str,
        reason: Option<&str>,
    ) -> (u16, String) {
        let link = self
            .gql
            .data(Some(token), DOC_URL, json!({"id": id, "reason": reason}))
            .await;
        let url = self.local(link["prescriptionDocumentUrl"]["url"].as_str().unwrap());
        let status = self.http.get(&url).send().await.unwrap().status().as_u16();
        (status, url)
    }

    /// Audit rows of prescription `id` with `action` and the given actor.
    pub async fn audited(&self, id: &str, action: &str, actor: &str) -> Vec<Value> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT after_json FROM audit_log WHERE entity_type = 'prescription' \
             AND entity_id = $1 AND action = $2 AND actor = $3 ORDER BY at",
        )
        .bind(id)
        .bind(action)
        .bind(actor)
        .fetch_all(self.store.pool())
        .await
        .unwrap();
        rows.into_iter()
            .map(|(json,)| json.map_or(Value::Null, |j| serde_json::from_str(&j).unwrap()))
            .collect()
    }

    /// A submitted, then approved prescription of `customer` (PDF) with
    /// `lines` (medicine ID, max quantity); returns its ID.
    pub async fn approved(&self, customer: &str, lines: &[(&str, i64)]) -> String {
        let rx = self.submit_file(customer, pdf(), "application/pdf").await;
        let id = rx["id"].as_str().unwrap().to_string();
        let lines: Vec<Value> = lines
            .iter()
            .map(|(m, q)| json!({"medicineId": m, "maxQuantity": q}))
            .collect();
        let reviewed = self
            .gql
            .data(
                Some(&self.pharmacist(&new_id(), VENDOR_KA)),
                REVIEW,
                json!({"input": {"prescriptionId": id, "decision": "APPROVE", "lines": lines}}),
            )
            .await;
        assert_eq!(reviewed["reviewPrescription"]["status"], "APPROVED");
        id
    }

    /// Files in the documents directory.
    pub fn files(&self) -> usize {
        std::fs::read_dir(&self.documents)
            .map(|d| d.count())
            .unwrap_or(0)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        n
    }

    pub async fn upload_status(&self, id: &str) -> String {
        let (s,): (String,) =
            sqlx::query_as("SELECT status FROM prescription_uploads WHERE id = $1")
                .bind(id)
                .fetch_one(self.store.pool())
                .await
                .unwrap();
        s
    }
}

pub const VENDOR_KA: &str = "019a0000-0000-7000-8000-0000000000a1";
pub const VENDOR_MH: &str = "019a0000-0000-7000-8000-0000000000a2";

pub const CREATE_UPLOAD: &str =
    "mutation CreatePrescriptionUpload { createPrescriptionUpload { uploadId uploadUrl expiresAt } }";
pub const SUBMIT: &str = "mutation SubmitPrescription($input: SubmitPrescriptionInput!) { submitPrescription(input: $input) { id status submittedAt } }";
pub const QUEUE: &str = "query PrescriptionsToReview($first: Int) { prescriptionsToReview(first: $first) { edges { node { id status submittedAt patientName owner { id } } } } }";
pub const REVIEW: &str = "mutation ReviewPrescription($input: ReviewPrescriptionInput!) { reviewPrescription(input: $input) { id status validUntil lines { maxQuantity remainingQuantity medicine { id } } } }";
pub const MINE: &str =
    "query MyPrescriptions($first: Int) { myPrescriptions(first: $first) { edges { node { id status validUntil } } } }";
pub const ONE: &str = "query($id: ID!, $reason: String) { prescription(id: $id, reason: $reason) { id status patientName doctorName doctorRegistrationNumber issuedOn familyMemberId reviewNotes pharmacy { id } reviewingVendor { id } document { contentType sizeBytes sha256 } lines { id maxQuantity consumedQuantity remainingQuantity medicine { id } } } }";
pub const DOC_URL: &str =
    "query($id: ID!, $reason: String) { prescriptionDocumentUrl(id: $id, reason: $reason) { url expiresAt contentType } }";
pub const ASSIGN: &str = "mutation($id: ID!, $v: ID!) { assignPrescriptionPharmacy(prescriptionId: $id, vendorId: $v) { id status pharmacy { id } } }";
pub const AUTHORIZE: &str = "query($c: ID!, $p: [ID!]!, $l: [DispenseLineInput!]!) { authorizeDispense(customerId: $c, prescriptionIds: $p, lines: $l) { covered lines { medicineId quantity covered prescriptionId wholePrescription reason message } } }";
pub const CONSUME: &str = "mutation($o: ID!, $c: ID!, $p: [ID!]!, $l: [DispenseLineInput!]!, $v: ID) { consume(orderId: $o, customerId: $c, prescriptionIds: $p, lines: $l, vendorId: $v) { orderId customerId status lines { prescriptionId medicineId quantity wholePrescription } } }";
pub const RESTORE: &str = "mutation($o: ID!) { restore(orderId: $o) { orderId status lines { prescriptionId medicineId quantity } } }";

/// Submission variables for `upload_id` (issued two days ago, for self or a
/// family member), submitted to the KA pharmacy.
pub fn submit_vars(upload_id: &str, family_member: Option<&str>) -> Value {
    let issued = janta_prescriptions::domain::today() - chrono::Duration::days(2);
    json!({"input": {
        "uploadId": upload_id,
        "patientName": "Chitra Customer",
        "familyMemberId": family_member,
        "doctorName": "Dr. Anil Rao",
        "doctorRegistrationNumber": "KMC 45678",
        "issuedOn": issued.format("%Y-%m-%d").to_string(),
        "vendorId": VENDOR_KA,
    }})
}

/// A dispensing line.
pub fn line(medicine: &str, quantity: i64, schedule: &str) -> Value {
    json!({"medicineId": medicine, "quantity": quantity, "schedule": schedule})
}

/// A real, minimal one-page PDF with a correct cross-reference table.
pub fn pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 50 Td (Rx: Amoxicillin) Tj ET\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A real 2×2 RGB PNG (valid CRCs, zlib stream with a stored block).
pub fn png() -> Vec<u8> {
    let mut raw = Vec::new();
    for row in 0..2u8 {
        raw.push(0); // filter: none
        raw.extend_from_slice(&[200, 30 * row, 40, 10, 220, 90]);
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    for (kind, data) in [(&b"IHDR"[..], ihdr), (b"IDAT", zlib), (b"IEND", vec![])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}
