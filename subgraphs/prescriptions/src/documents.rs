//! Prescription documents over plain HTTP, beside GraphQL: the one-time
//! signed `PUT /uploads/{id}?token=…` that receives a file, and the
//! short-lived, single-use signed `GET /documents/{id}?link=…&expires=…&sig=…`
//! that serves one. Files live behind [`DocumentStore`] (a directory under
//! the data dir by default; an object store can implement the same trait).
//! Links are capabilities: HMAC-signed over purpose, ID(s) and expiry with
//! the configured URL-signing secret, so they cannot be forged or extended.
//! A document link is also a row (`prescription_document_links`, written
//! and audited when `prescriptionDocumentUrl` hands it out): the download
//! claims its one use and is audited under the person it was issued to, so
//! a forwarded link opens nothing once used or expired.

use crate::domain::{self, DocumentKind, DocumentProblem, MAX_DOCUMENT_BYTES};
use crate::service::documents::{self as service, ClaimOutcome, UploadedDocument};
use crate::store::LinkClaim;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use janta_platform::config::{Mode, SubgraphConfig, DEV_URL_SIGNING_SECRET};
use janta_platform::store::Store;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;

pub use crate::store::files::{documents_dir, DocumentStore, FsDocumentStore};

/// Why a signed link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Missing, malformed or wrongly signed.
    Forged,
    /// Correctly signed but past its expiry.
    Expired,
}

/// Signs and checks the links this subgraph hands out.
pub struct UrlSigner {
    key: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

const UPLOAD_PURPOSE: &str = "prescriptions.upload";
const DOCUMENT_PURPOSE: &str = "prescriptions.document";

impl UrlSigner {
    /// The signer of `config`'s URL-signing secret; the development secret
    /// is refused in production mode.
    pub fn from_config(config: &SubgraphConfig) -> anyhow::Result<Self> {
        let secret = config.url_signing_secret.expose();
        if config.mode == Mode::Production && secret == DEV_URL_SIGNING_SECRET {
            anyhow::bail!("refusing to start in production mode with the development URL-signing secret; set JANTA_URL_SIGNING_SECRET");
        }
        Ok(UrlSigner::new(secret))
    }

    /// A signer keyed with the configured URL-signing secret.
    pub fn new(secret: &str) -> Self {
        UrlSigner {
            key: secret.as_bytes().to_vec(),
        }
    }

    fn mac(&self, purpose: &str, id: &str, expires: i64) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(format!("{purpose}\n{id}\n{expires}").as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, id: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, id, expires).finalize().into_bytes())
    }

    fn check(
        &self,
        purpose: &str,
        id: &str,
        expires: i64,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let given = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Forged)?;
        self.mac(purpose, id, expires)
            .verify_slice(&given)
            .map_err(|_| LinkError::Forged)?;
        if now >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// The `token` of an upload URL: `<expiry>.<signature>`.
    pub fn upload_token(&self, upload_id: &str, expires: i64) -> String {
        format!(
            "{expires}.{}",
            self.sign(UPLOAD_PURPOSE, upload_id, expires)
        )
    }

    /// Checks an upload token at time `now` (Unix seconds).
    pub fn check_upload_token(
        &self,
        upload_id: &str,
        token: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let (expires, sig) = token.split_once('.').ok_or(LinkError::Forged)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Forged)?;
        self.check(UPLOAD_PURPOSE, upload_id, expires, sig, now)
    }

    /// The signature of document link `link_id` to prescription `prescription_id`.
    pub fn document_sig(&self, prescription_id: &str, link_id: &str, expires: i64) -> String {
        self.sign(
            DOCUMENT_PURPOSE,
            &format!("{prescription_id}/{link_id}"),
            expires,
        )
    }

    /// Checks a document link at time `now` (Unix seconds).
    pub fn check_document(
        &self,
        prescription_id: &str,
        link_id: &str,
        expires: i64,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        self.check(
            DOCUMENT_PURPOSE,
            &format!("{prescription_id}/{link_id}"),
            expires,
            sig,
            now,
        )
    }
}

/// What the two HTTP routes need.
pub struct DocumentsHttp {
    /// This subgraph's database.
    pub store: Store,
    /// Where files go.
    pub documents: Arc<dyn DocumentStore>,
    /// Link signing.
    pub signer: Arc<UrlSigner>,
}

/// `PUT /uploads/{id}` (body-limited to 10 MB) and `GET /documents/{id}`.
pub fn routes(http: Arc<DocumentsHttp>) -> Router {
    Router::new()
        .route(
            "/uploads/{id}",
            put(put_upload)
                .layer(RequestBodyLimitLayer::new(MAX_DOCUMENT_BYTES))
                .layer(axum::middleware::from_fn(refuse_declared_oversize)),
        )
        .route("/documents/{id}", get(get_document))
        .with_state(http)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// How much of a refused body we still read (and discard) so that the
/// client, still sending, gets to read our 413 instead of a reset
/// connection ("lingering close"); beyond this we just hang up.
const LINGER_BYTES: usize = 2 * MAX_DOCUMENT_BYTES;
/// How long we keep reading a refused body at most.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// Reads and discards what is left of a refused body, within
/// [`LINGER_BYTES`] and [`LINGER_TIME`].
async fn linger(stream: &mut axum::body::BodyDataStream) {
    let mut seen = 0usize;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while let Some(chunk) = stream.next().await {
            if let Ok(chunk) = chunk {
                seen += chunk.len();
                if seen > LINGER_BYTES {
                    break;
                }
            }
        }
    })
    .await;
}

/// Refuses a declared `Content-Length` above the limit with the JSON 413
/// before any work (the body-limit layer inside enforces the same limit on
/// what actually arrives).
async fn refuse_declared_oversize(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > MAX_DOCUMENT_BYTES as u64 => {
            if len <= LINGER_BYTES as u64 {
                linger(&mut request.into_body().into_data_stream()).await;
            }
            too_large()
        }
        _ => next.run(request).await,
    }
}

/// A JSON error body: `{"error": {"code": "...", "message": "..."}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code, "message": message.into() } });
    (status, Json(body)).into_response()
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "FILE_TOO_LARGE",
        DocumentProblem::TooLarge.message(),
    )
}

fn link_refused(e: LinkError, what: &str) -> Response {
    match e {
        LinkError::Forged => error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("this {what} link is not valid"),
        ),
        LinkError::Expired => error(
            StatusCode::GONE,
            "LINK_EXPIRED",
            format!("this {what} link has expired; ask for a new one"),
        ),
    }
}

fn problem_response(problem: &DocumentProblem) -> Response {
    let (status, code) = match problem {
        DocumentProblem::Empty => (StatusCode::BAD_REQUEST, "EMPTY_FILE"),
        DocumentProblem::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE"),
        DocumentProblem::Unsupported => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_FILE_TYPE")
        }
        DocumentProblem::Truncated(_) => (StatusCode::BAD_REQUEST, "DAMAGED_FILE"),
        DocumentProblem::DeclaredTypeNotAccepted(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_FILE_TYPE")
        }
        DocumentProblem::Mismatch { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "TYPE_MISMATCH"),
    };
    error(status, code, problem.message())
}

fn internal(err: anyhow::Error) -> Response {
    tracing::error!(error = format!("{err:#}"), "document route failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error",
    )
}

/// Query of an upload URL.
#[derive(Deserialize)]
struct UploadQuery {
    token: Option<String>,
}

/// Why reading the body stopped.
enum BodyError {
    TooLarge,
    Interrupted,
}

/// Reads the whole body, refusing more than [`MAX_DOCUMENT_BYTES`] as it
/// streams (the route's body limit does the same one layer out).
async fn read_limited(body: Body) -> Result<Vec<u8>, BodyError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) if is_length_limit(&e) => {
                linger(&mut stream).await;
                return Err(BodyError::TooLarge);
            }
            Err(_) => return Err(BodyError::Interrupted),
        };
        if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            linger(&mut stream).await;
            return Err(BodyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// `PUT /uploads/{id}?token=…`: receives the document once.
async fn put_upload(
    State(http): State<Arc<DocumentsHttp>>,
    Path(id): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id).map(|u| u.to_string()) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such upload");
    };
    let now = chrono::Utc::now();
    let token = query.token.unwrap_or_default();
    if let Err(e) = http.signer.check_upload_token(&id, &token, now.timestamp()) {
        return link_refused(e, "upload");
    }
    match service::claim_upload(&http.store, &id, now).await {
        Ok(ClaimOutcome::Claimed) => {}
        Ok(ClaimOutcome::NotFound) => {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such upload")
        }
        Ok(ClaimOutcome::Expired) => return link_refused(LinkError::Expired, "upload"),
        Ok(ClaimOutcome::InProgress) => {
            return error(
                StatusCode::CONFLICT,
                "UPLOAD_IN_PROGRESS",
                "a file is being uploaded to this link right now",
            )
        }
        Ok(ClaimOutcome::AlreadyUsed) => {
            return error(
                StatusCode::GONE,
                "LINK_USED",
                "this upload link was already used; create a new upload",
            )
        }
        Err(e) => return internal(e.into()),
    }
    let outcome = receive(&http, &id, &headers, body).await;
    if outcome.is_err() {
        if let Err(e) = service::release_upload(&http.store, &id).await {
            tracing::error!(error = %e, "could not release an upload claim");
        }
    }
    match outcome {
        Ok(response) | Err(response) => response,
    }
}

/// Reads, checks and stores the file of a claimed upload. `Err` means the
/// claim must be released (nothing was stored).
async fn receive(
    http: &DocumentsHttp,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let bytes = match read_limited(body).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Err(too_large()),
        Err(BodyError::Interrupted) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "UPLOAD_INTERRUPTED",
                "the upload was interrupted; try again",
            ))
        }
    };
    let declared = domain::declared_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let kind: DocumentKind = domain::inspect_document(&bytes, declared.as_deref())
        .map_err(|problem| problem_response(&problem))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let key = format!("{id}.{}", kind.extension());
    http.documents.put(&key, &bytes).await.map_err(internal)?;
    let stored = service::complete_upload(
        &http.store,
        id,
        &UploadedDocument {
            content_type: kind.content_type(),
            size_bytes: bytes.len() as i64,
            sha256: &sha256,
            storage_key: &key,
        },
    )
    .await;
    match stored {
        Ok(true) => Ok(Json(json!({
            "uploadId": id,
            "contentType": kind.content_type(),
            "sizeBytes": bytes.len(),
            "sha256": sha256,
        }))
        .into_response()),
        other => {
            let _ = http.documents.delete(&key).await;
            Err(match other {
                Err(e) => internal(e.into()),
                _ => error(
                    StatusCode::CONFLICT,
                    "UPLOAD_IN_PROGRESS",
                    "this upload changed while the file was received",
                ),
            })
        }
    }
}

/// Query of a document URL.
#[derive(Deserialize)]
struct DocumentQuery {
    link: Option<String>,
    expires: Option<i64>,
    sig: Option<String>,
}

/// `GET /documents/{id}?link=…&expires=…&sig=…`: the prescription's file,
/// only with a valid, unexpired signature (issued by
/// `prescriptionDocumentUrl` after an authorisation check), once per link.
async fn get_document(
    State(http): State<Arc<DocumentsHttp>>,
    Path(id): Path<String>,
    Query(query): Query<DocumentQuery>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id).map(|u| u.to_string()) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such document");
    };
    let (Some(link), Some(expires), Some(sig)) = (query.link, query.expires, query.sig) else {
        return link_refused(LinkError::Forged, "document");
    };
    let now = chrono::Utc::now();
    if let Err(e) = http
        .signer
        .check_document(&id, &link, expires, &sig, now.timestamp())
    {
        return link_refused(e, "document");
    }
    let document = match service::document_of(&http.store, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such document"),
        Err(e) => return internal(e.into()),
    };
    let bytes = match http.documents.get(&document.key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return internal(anyhow::anyhow!(
                "document file of prescription {id} is missing"
            ))
        }
        Err(e) => return internal(e),
    };
    if let Err(refused) = use_link(&http.store, &id, &link, now).await {
        return refused;
    }
    let extension = DocumentKind::from_content_type(&document.content_type)
        .map_or("bin", DocumentKind::extension);
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&document.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"prescription-{id}.{extension}\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Uses document link `link` once (audited under whom it was issued to),
/// or the response that refuses it.
async fn use_link(
    store: &Store,
    prescription_id: &str,
    link: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Response> {
    match service::use_document_link(store, prescription_id, link, now).await {
        Ok(LinkClaim::Claimed(_)) => Ok(()),
        Ok(LinkClaim::NotFound) => Err(link_refused(LinkError::Forged, "document")),
        Ok(LinkClaim::Expired) => Err(link_refused(LinkError::Expired, "document")),
        Ok(LinkClaim::Used) => Err(error(
            StatusCode::GONE,
            "LINK_USED",
            "this document link was already used; ask for a new one",
        )),
        Err(e) => Err(internal(anyhow::anyhow!("{e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cannot_be_forged_or_extended() {
        let signer = UrlSigner::new("secret-one");
        let token = signer.upload_token("u1", 1_000);
        assert_eq!(signer.check_upload_token("u1", &token, 999), Ok(()));
        assert_eq!(
            signer.check_upload_token("u1", &token, 1_000),
            Err(LinkError::Expired)
        );
        assert_eq!(
            signer.check_upload_token("u2", &token, 999),
            Err(LinkError::Forged)
        );
        let (_, sig) = token.split_once('.').unwrap();
        assert_eq!(
            signer.check_upload_token("u1", &format!("5000.{sig}"), 999),
            Err(LinkError::Forged),
            "expiry is signed"
        );
        let other = UrlSigner::new("secret-two");
        assert_eq!(
            other.check_upload_token("u1", &token, 999),
            Err(LinkError::Forged)
        );
        let doc = signer.document_sig("u1", "l1", 1_000);
        assert_eq!(
            signer.check_upload_token("u1", &format!("1000.{doc}"), 999),
            Err(LinkError::Forged),
            "a document link is not an upload link"
        );
        assert_eq!(signer.check_document("u1", "l1", 1_000, &doc, 999), Ok(()));
        assert_eq!(
            signer.check_document("u1", "l2", 1_000, &doc, 999),
            Err(LinkError::Forged),
            "the signature names one link"
        );
        assert_eq!(
            signer.check_upload_token("u1", "garbage", 1),
            Err(LinkError::Forged)
        );
    }

    #[tokio::test]
    async fn filesystem_store_round_trips_and_refuses_odd_keys() {
        let dir = std::env::temp_dir().join(format!("janta-docs-{}", uuid::Uuid::new_v4()));
        let fs = FsDocumentStore::new(dir.clone()).unwrap();
        fs.put("a.pdf", b"%PDF-1.4").await.unwrap();
        assert_eq!(fs.get("a.pdf").await.unwrap().unwrap(), b"%PDF-1.4");
        assert!(fs.put("../escape", b"x").await.is_err());
        assert!(fs.get("b.pdf").await.unwrap().is_none());
        fs.delete("a.pdf").await.unwrap();
        fs.delete("a.pdf").await.unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
