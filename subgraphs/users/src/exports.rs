//! Downloading a data export: `GET /exports/{id}?expires=…&sig=…`, a link
//! users signs (HMAC-SHA256) when it shows a READY export to its owner, so
//! the download needs no access token (a browser can follow it) yet cannot
//! be forged or extended. The download is audited.
//!
//! The link key is derived from users' token-signing key (HMAC of the key
//! with a fixed label): no extra secret to configure, and production
//! already refuses the public development key.

use crate::service::personal_data as service;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use janta_platform::store::Store;
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

/// What the link of export `id` signs besides its expiry.
const PURPOSE: &str = "users.data-export";

/// Signs and checks export download links.
pub struct ExportLinks {
    key: Vec<u8>,
    public_url: String,
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Missing, malformed or wrongly signed.
    Forged,
    /// Correctly signed but past its expiry.
    Expired,
}

impl ExportLinks {
    /// Links under `public_url` (users' own base URL), keyed from the PEM of
    /// users' signing key.
    pub fn new(signing_key_pem: &str, public_url: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(signing_key_pem.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"janta users: data export download links");
        ExportLinks {
            key: mac.finalize().into_bytes().to_vec(),
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, id: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{PURPOSE}\n{id}\n{expires}").as_bytes());
        mac
    }

    /// The download URL of export `id`, valid until `expires` (Unix seconds).
    pub fn url(&self, id: &str, expires: i64) -> String {
        let sig = URL_SAFE_NO_PAD.encode(self.mac(id, expires).finalize().into_bytes());
        format!(
            "{}/exports/{id}?expires={expires}&sig={sig}",
            self.public_url
        )
    }

    /// Checks a link of export `id` at `now` (Unix seconds).
    pub fn check(&self, id: &str, expires: i64, sig: &str, now: i64) -> Result<(), LinkError> {
        let given = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Forged)?;
        self.mac(id, expires)
            .verify_slice(&given)
            .map_err(|_| LinkError::Forged)?;
        if now >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

/// What the download route needs.
pub struct ExportsHttp {
    /// users' database.
    pub store: Store,
    /// Link checking.
    pub links: Arc<ExportLinks>,
}

/// `GET /exports/{id}`.
pub fn routes(store: Store, links: Arc<ExportLinks>) -> Router {
    Router::new()
        .route("/exports/{id}", get(download))
        .with_state(Arc::new(ExportsHttp { store, links }))
}

/// The query of a download link.
#[derive(Deserialize)]
struct LinkQuery {
    expires: Option<i64>,
    sig: Option<String>,
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

/// The whole export as one JSON document (an attachment), or 403 for a
/// forged link, 410 for an expired one or an export whose parts are gone,
/// 404 for an unknown or unfinished export.
async fn download(
    State(http): State<Arc<ExportsHttp>>,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
) -> Response {
    let now = chrono::Utc::now();
    let (Some(expires), Some(sig)) = (link.expires, link.sig) else {
        return refused(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "not a signed export link",
        );
    };
    match http.links.check(&id, expires, &sig, now.timestamp()) {
        Err(LinkError::Forged) => {
            return refused(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "not a signed export link",
            )
        }
        Err(LinkError::Expired) => {
            return refused(StatusCode::GONE, "EXPIRED", "this export link has expired")
        }
        Ok(()) => {}
    }
    match service::download(&http.store, &id, now).await {
        Ok(service::Download::Document(document)) => {
            let disposition = format!("attachment; filename=\"janta-export-{id}.json\"");
            (
                [
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                Json(document),
            )
                .into_response()
        }
        Ok(service::Download::Expired) => {
            refused(StatusCode::GONE, "EXPIRED", "this export has expired")
        }
        Ok(service::Download::NotReady) => refused(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such export is ready",
        ),
        Err(err) => {
            tracing::error!(error = %format!("{err:?}"), export = %id, "export download failed");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cannot_be_forged_or_extended() {
        let links = ExportLinks::new("key", "http://users/");
        let url = links.url("x-1", 2_000);
        assert!(url.starts_with("http://users/exports/x-1?expires=2000&sig="));
        let sig = url.rsplit_once("sig=").unwrap().1;
        assert_eq!(links.check("x-1", 2_000, sig, 1_000), Ok(()));
        assert_eq!(
            links.check("x-1", 2_000, sig, 2_000),
            Err(LinkError::Expired)
        );
        assert_eq!(
            links.check("x-1", 3_000, sig, 1_000),
            Err(LinkError::Forged)
        );
        assert_eq!(
            links.check("x-2", 2_000, sig, 1_000),
            Err(LinkError::Forged)
        );
        let other = ExportLinks::new("another key", "http://users");
        assert_eq!(
            other.check("x-1", 2_000, sig, 1_000),
            Err(LinkError::Forged)
        );
    }
}
