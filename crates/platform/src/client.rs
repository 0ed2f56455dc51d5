//! Calls from one subgraph to another's service-only operations (the
//! owner's interface, architecture rule 3). The caller authenticates as a
//! service principal with a short-lived token it obtains from the users
//! token endpoint with the OAuth 2.0 client-credentials grant (client ID =
//! its domain, its own secret), cached until shortly before it expires; the
//! request's correlation ID and trace context (`traceparent`) travel along;
//! the callee's client errors come
//! back with their codes.

use crate::config::{Secret, SubgraphConfig};
use crate::{ApiError, ApiResult, ErrorCode};
use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A GraphQL client for service-to-service calls.
pub struct ServiceClient {
    client_id: String,
    secret: Secret,
    token_url: Option<String>,
    peers: std::collections::BTreeMap<String, String>,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

impl ServiceClient {
    /// A client acting as the subgraph described by `config`.
    pub fn new(config: &SubgraphConfig) -> Self {
        ServiceClient {
            client_id: config.domain.clone(),
            secret: config.service_client_secret.clone(),
            token_url: config.service_token_url().ok(),
            peers: config.peers.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("static HTTP client configuration"),
            token: Mutex::new(None),
        }
    }

    fn peer(&self, domain: &str) -> ApiResult<&str> {
        self.peers
            .get(domain)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no URL for subgraph {domain}")))
    }

    async fn token(&self) -> ApiResult<String> {
        let mut cached = self.token.lock().await;
        if let Some((token, valid_until)) = cached.as_ref() {
            if Instant::now() < *valid_until {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.request_token().await?;
        let valid_until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(30));
        *cached = Some((token.clone(), valid_until));
        Ok(token)
    }

    /// The client-credentials grant (RFC 6749 §4.4): a token and its
    /// lifetime in seconds.
    async fn request_token(&self) -> ApiResult<(String, u64)> {
        let url = self
            .token_url
            .as_deref()
            .context("no token endpoint: configure the users URL or JANTA_TOKEN_URL")?;
        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                basic_credentials(&self.client_id, &self.secret),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|err| unreachable("users", &err))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .context("token endpoint sent no JSON")?;
        if !status.is_success() {
            return Err(ApiError::internal(anyhow::anyhow!(
                "token endpoint refused service client {} ({status}: {})",
                self.client_id,
                body["error"]
            )));
        }
        let token = body["access_token"]
            .as_str()
            .context("token endpoint returned no access_token")?;
        Ok((token.to_string(), body["expires_in"].as_u64().unwrap_or(60)))
    }

    /// Runs `query` on subgraph `domain` as this service; returns `data`.
    pub async fn call(
        &self,
        domain: &str,
        query: &str,
        variables: Value,
        correlation_id: Option<&str>,
    ) -> ApiResult<Value> {
        let token = self.token().await?;
        let mut request = self
            .http
            .post(self.peer(domain)?)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(id) = correlation_id {
            request = request.header("x-request-id", id);
        }
        if let Some(traceparent) = crate::telemetry::current_traceparent() {
            request = request.header(crate::telemetry::TRACEPARENT, traceparent);
        }
        let body: Value = request
            .send()
            .await
            .map_err(|err| unreachable(domain, &err))?
            .json()
            .await
            .with_context(|| format!("{domain} subgraph sent no JSON"))?;
        if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(remote_error(domain, error));
        }
        Ok(body["data"].clone())
    }
}

/// HTTP Basic credentials of an OAuth client: ID and secret are
/// form-urlencoded before encoding (RFC 6749 §2.3.1).
fn basic_credentials(client_id: &str, secret: &Secret) -> String {
    let encode = |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A peer that could not be reached (refused, reset, timed out: restarting,
/// overloaded, partitioned): `UNAVAILABLE`, worth retrying in a moment, not
/// a fault to report. The cause goes to the log only.
fn unreachable(domain: &str, err: &reqwest::Error) -> ApiError {
    tracing::warn!(peer = domain, error = %err, "peer subgraph unreachable");
    ApiError::unavailable(
        format!("the {domain} service is briefly unavailable; try again in a moment"),
        1,
    )
}

/// Maps a callee's error to ours: client errors keep their code and
/// message (the caller can act on them), anything else is internal.
fn remote_error(domain: &str, error: &Value) -> ApiError {
    let message = error["message"].as_str().unwrap_or("error").to_string();
    let code = match error["extensions"]["code"].as_str() {
        Some("BAD_USER_INPUT") => ErrorCode::BadUserInput,
        Some("NOT_FOUND") => ErrorCode::NotFound,
        Some("CONFLICT") => ErrorCode::Conflict,
        Some("OUT_OF_STOCK") => ErrorCode::OutOfStock,
        Some("PRESCRIPTION_REQUIRED") => ErrorCode::PrescriptionRequired,
        Some("PAYMENT_FAILED") => ErrorCode::PaymentFailed,
        Some("FORBIDDEN") => ErrorCode::Forbidden,
        Some("UNAVAILABLE") => ErrorCode::Unavailable,
        _ => return ApiError::internal(anyhow::anyhow!("{domain} subgraph failed: {message}")),
    };
    let err = ApiError::client(code, message);
    match error["extensions"].get("details") {
        Some(details) => err.with_details(details.clone()),
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on: bound, then released.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    #[tokio::test]
    async fn an_unreachable_peer_is_unavailable_for_a_moment_not_an_internal_fault() {
        let dir = std::env::temp_dir();
        let mut config = SubgraphConfig::dev("orders", 4000, &dir);
        let down = format!("http://127.0.0.1:{}/graphql", closed_port());
        config.peers.insert("users".into(), down);
        let client = ServiceClient::new(&config);
        let err = client
            .call("users", "{ __typename }", json!({}), None)
            .await
            .expect_err("nobody answers");
        assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
        assert_eq!(err.retry_after(), Some(1));
        assert!(err.is_transient());
        assert!(
            !err.to_string().contains("127.0.0.1"),
            "no internals: {err}"
        );
    }
}
