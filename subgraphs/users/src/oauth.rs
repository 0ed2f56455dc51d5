//! The OAuth 2.0 token endpoint, `POST /oauth/token` (plain HTTP, not
//! GraphQL): the client-credentials grant (RFC 6749 §4.4) by which machines
//! obtain access tokens: each Janta service as its own client, and partner
//! apps (registered through GraphQL, [`crate::service::partners`]). A client authenticates with HTTP Basic or with
//! `client_id`/`client_secret` form fields (§2.3.1); errors follow §5.2.
//! This module is the HTTP side only: the grant itself is
//! [`crate::service::clients::grant`].

use crate::service::clients::{self, Refusal, TokenRequest};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use base64::Engine as _;
use janta_platform::auth::TokenSigner;
use janta_platform::server::{ClientAddress, TrustedProxies};
use janta_platform::store::Store;
use janta_platform::{ApiError, ErrorCode};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest token request body accepted (a few short form fields).
const MAX_TOKEN_REQUEST: usize = 8 * 1024;

/// What the token endpoint needs: the store (clients, throttle) and the
/// signer of access tokens.
pub struct TokenEndpoint {
    store: Store,
    signer: Arc<TokenSigner>,
    trusted: TrustedProxies,
}

impl TokenEndpoint {
    /// An endpoint issuing tokens signed by `signer`, throttling failures by
    /// the client address that `trusted` proxies forward.
    pub fn new(store: Store, signer: Arc<TokenSigner>, trusted: TrustedProxies) -> Self {
        TokenEndpoint {
            store,
            signer,
            trusted,
        }
    }
}

/// The `POST /oauth/token` route, to merge into the subgraph's router.
pub fn router(endpoint: TokenEndpoint, jwks: serde_json::Value) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .layer(DefaultBodyLimit::max(MAX_TOKEN_REQUEST))
        .with_state(Arc::new(endpoint))
        .route(
            "/.well-known/jwks.json",
            axum::routing::get(move || async move { axum::Json(jwks) }),
        )
}

async fn token(
    State(endpoint): State<Arc<TokenEndpoint>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = ClientAddress::from_parts(peer.map(|c| c.0 .0.ip()), &headers, &endpoint.trusted);
    match endpoint.grant(&headers, &body, address).await {
        Ok(granted) => no_store((StatusCode::OK, Json(granted)).into_response()),
        Err(err) => err.into_response(),
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
struct Granted {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

impl TokenEndpoint {
    async fn grant(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        address: ClientAddress,
    ) -> Result<Granted, OAuthError> {
        let request = parse_request(headers, body)?;
        let granted = clients::grant(&self.store, &self.signer, &request, address).await?;
        Ok(Granted {
            access_token: granted.access_token,
            token_type: "Bearer",
            expires_in: granted.expires_in.as_secs(),
            scope: granted.scopes.join(" "),
        })
    }
}

/// A well-formed client-credentials request.
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let mut params = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(invalid_request(format!("parameter {name} is repeated")));
        }
    }
    match params.get("grant_type").map(String::as_str) {
        None => return Err(invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let (client_id, client_secret) = credentials(headers, &params)?;
    Ok(TokenRequest {
        client_id,
        client_secret,
        scope: params.remove("scope"),
    })
}

/// The client's ID and secret, from HTTP Basic or from the form, never both.
fn credentials(
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
) -> Result<(String, String), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .map(basic_credentials)
        .transpose()?;
    let in_form = params.contains_key("client_id") || params.contains_key("client_secret");
    match (basic, in_form) {
        (Some(_), true) => Err(invalid_request(
            "authenticate the client one way: HTTP Basic or client_id/client_secret, not both",
        )),
        (Some(pair), false) => Ok(pair),
        (None, _) => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            _ => Err(OAuthError::InvalidClient),
        },
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Result<(String, String), OAuthError> {
    let text = value.to_str().map_err(|_| OAuthError::InvalidClient)?;
    let (scheme, encoded) = text.split_once(' ').ok_or(OAuthError::InvalidClient)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidClient);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(OAuthError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    Ok((form_decode(id), form_decode(secret)))
}

/// Undoes the form-urlencoding of a Basic credential part. A literal `=` or
/// `&` (which an encoding client would have escaped) is kept as it is.
fn form_decode(part: &str) -> String {
    let escaped = part.replace('&', "%26").replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

/// The token endpoint's refusals (RFC 6749 §5.2), plus throttling (429)
/// and our own faults (500).
enum OAuthError {
    InvalidRequest(String),
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope(String),
    RateLimited(u64),
    Internal(ApiError),
}

fn invalid_request(message: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequest(message.into())
}

impl From<Refusal> for OAuthError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::InvalidClient => OAuthError::InvalidClient,
            Refusal::InvalidScope(message) => OAuthError::InvalidScope(message),
            Refusal::Failed(err) => err.into(),
        }
    }
}

impl From<ApiError> for OAuthError {
    fn from(err: ApiError) -> Self {
        match (err.code(), err.retry_after()) {
            (ErrorCode::RateLimited, Some(seconds)) => OAuthError::RateLimited(seconds),
            _ => OAuthError::Internal(err),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, description) = match &self {
            OAuthError::InvalidRequest(message) => {
                (StatusCode::BAD_REQUEST, "invalid_request", message.clone())
            }
            OAuthError::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed".to_string(),
            ),
            OAuthError::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported".to_string(),
            ),
            OAuthError::InvalidScope(message) => {
                (StatusCode::BAD_REQUEST, "invalid_scope", message.clone())
            }
            OAuthError::RateLimited(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                format!("too many failed attempts; retry after {seconds} seconds"),
            ),
            OAuthError::Internal(err) => {
                tracing::error!(error = %err, "token endpoint failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error".to_string(),
                )
            }
        };
        let body = json!({ "error": error, "error_description": description });
        let mut response = no_store((status, Json(body)).into_response());
        let headers = response.headers_mut();
        match self {
            OAuthError::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"janta\""),
                );
            }
            OAuthError::RateLimited(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }
}

/// Token responses and errors must not be cached (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
