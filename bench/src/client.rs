//! GraphQL over HTTP for the scenarios: the contract's operations by name,
//! exactly as clients send them, and one request with the bearer token and
//! the headers a scenario needs.

use anyhow::Context;
use serde_json::{json, Value};

pub use janta_testkit::contract::operation;

/// A GraphQL request body of the contract operation `name`.
pub fn body(name: &str, variables: Value) -> Value {
    json!({"query": operation(name), "operationName": name, "variables": variables})
}

/// Whether a GraphQL response is a success: JSON with data and no errors.
pub fn succeeded(response: &Value) -> bool {
    response.get("errors").is_none() && response.get("data").is_some_and(|d| !d.is_null())
}

/// The `extensions.code` of a response's first error.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Sends `body` to `url` with `token` (when given); returns the JSON answer.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    serde_json::from_str(&text)
        .with_context(|| format!("{url} answered {status} with non-JSON: {text:.200}"))
}

/// [`post`] that fails unless the answer is a success; returns `data`.
pub async fn data(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = post(http, url, token, body).await?;
    anyhow::ensure!(
        succeeded(&response),
        "{} failed: {response}",
        body["operationName"].as_str().unwrap_or("request")
    );
    Ok(response["data"].clone())
}
