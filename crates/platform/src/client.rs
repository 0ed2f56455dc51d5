//! Calls from one subgraph to another's service-only operations (the
//! owner's interface, architecture rule 3). The caller authenticates as a
//! service principal with a short-lived token from the users subgraph,
//! cached until shortly before it expires; the request's correlation ID
//! travels along; the callee's client errors come back with their codes.

use crate::config::SubgraphConfig;
use crate::{ApiError, ApiResult, ErrorCode};
use anyhow::Context as _;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A GraphQL client for service-to-service calls.
pub struct ServiceClient {
    service: String,
    secret: String,
    peers: std::collections::BTreeMap<String, String>,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

const SERVICE_TOKEN: &str =
    "mutation($s: String!, $k: String!) { serviceToken(service: $s, secret: $k) { accessToken expiresIn } }";

impl ServiceClient {
    /// A client acting as the subgraph described by `config`.
    pub fn new(config: &SubgraphConfig) -> Self {
        ServiceClient {
            service: config.domain.clone(),
            secret: config.service_secret.clone(),
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
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no URL for subgraph {domain}")))
    }

    async fn token(&self) -> ApiResult<String> {
        let mut cached = self.token.lock().await;
        if let Some((token, valid_until)) = cached.as_ref() {
            if Instant::now() < *valid_until {
                return Ok(token.clone());
            }
        }
        let vars = json!({ "s": self.service, "k": self.secret });
        let data = self.post("users", None, SERVICE_TOKEN, vars, None).await?;
        let token = data["serviceToken"]["accessToken"]
            .as_str()
            .context("users returned no service token")?
            .to_string();
        let lifetime = data["serviceToken"]["expiresIn"].as_u64().unwrap_or(60);
        let valid_until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(30));
        *cached = Some((token.clone(), valid_until));
        Ok(token)
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
        self.post(domain, Some(&token), query, variables, correlation_id)
            .await
    }

    async fn post(
        &self,
        domain: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
        correlation_id: Option<&str>,
    ) -> ApiResult<Value> {
        let mut request = self
            .http
            .post(self.peer(domain)?)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = correlation_id {
            request = request.header("x-request-id", id);
        }
        let body: Value = request
            .send()
            .await
            .with_context(|| format!("{domain} subgraph unreachable"))?
            .json()
            .await
            .with_context(|| format!("{domain} subgraph sent no JSON"))?;
        if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(remote_error(domain, error));
        }
        Ok(body["data"].clone())
    }
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
        _ => return ApiError::Internal(anyhow::anyhow!("{domain} subgraph failed: {message}")),
    };
    let err = ApiError::client(code, message);
    match error["extensions"].get("details") {
        Some(details) => err.with_details(details.clone()),
        None => err,
    }
}
