//! The load tool every scenario shares: closed-loop connections, each
//! signed in as its own customer (never one shared token: identical
//! requests would let the router's dedupe merge them and measure nothing
//! but that), or one client sending requests one after another.

use crate::stats::{truncate, Stats};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where requests go and with which extra headers (besides the token).
#[derive(Debug, Clone)]
pub struct Target {
    /// The GraphQL endpoint.
    pub url: String,
    /// Headers sent on every request (e.g. `x-forwarded-for` when a
    /// subgraph is called as the router calls it).
    pub headers: Vec<(String, String)>,
}

impl Target {
    /// A target without extra headers.
    pub fn new(url: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            headers: Vec::new(),
        }
    }
}

/// One request's body, serialised once, and the token it is sent with.
#[derive(Clone)]
pub struct Request {
    body: Arc<Vec<u8>>,
    token: Option<String>,
}

impl Request {
    /// `body` sent with `token`.
    pub fn new(body: &Value, token: Option<&str>) -> Request {
        Request {
            body: Arc::new(serde_json::to_vec(body).expect("JSON body")),
            token: token.map(str::to_string),
        }
    }

    /// An already serialised `body` sent with `token`.
    pub fn raw(body: Vec<u8>, token: Option<&str>) -> Request {
        Request {
            body: Arc::new(body),
            token: token.map(str::to_string),
        }
    }
}

/// One HTTP client per connection: its own keep-alive connection.
fn connection() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("HTTP client")
}

/// Sends one request; `Err` carries why it failed.
async fn send(http: &reqwest::Client, target: &Target, request: &Request) -> Result<(), String> {
    let mut builder = http
        .post(&target.url)
        .header("content-type", "application/json")
        .body(request.body.as_ref().clone());
    if let Some(token) = &request.token {
        builder = builder.bearer_auth(token);
    }
    for (name, value) in &target.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() || memchr_errors(&bytes) || !bytes.starts_with(b"{") {
        return Err(format!(
            "{status}: {}",
            truncate(&String::from_utf8_lossy(&bytes), 400)
        ));
    }
    Ok(())
}

/// Sends `request` once on a fresh connection; `Err` carries why it failed.
pub async fn once(target: &Target, request: &Request) -> Result<(), String> {
    send(&connection(), target, request).await
}

/// Whether a JSON answer carries an `errors` member (cheap: no parsing, so
/// the load tool spends its CPU on sending, not on reading).
fn memchr_errors(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"\"errors\"")
}

/// `connections` closed loops for `duration` (after `warmup`), connection
/// `i` sending `requests[i % len]` (one customer's request each).
pub async fn closed_loop(
    label: &str,
    target: &Target,
    requests: &[Request],
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Stats {
    assert!(!requests.is_empty(), "at least one request");
    let start = Instant::now() + warmup;
    let end = start + duration;
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let target = target.clone();
            let request = requests[i % requests.len()].clone();
            tokio::spawn(async move {
                let http = connection();
                let mut samples = Vec::new();
                let mut errors = 0usize;
                let mut first_error = None;
                loop {
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    let result = send(&http, &target, &request).await;
                    if t >= start {
                        samples.push(t.elapsed());
                        if let Err(e) = result {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (samples, errors, first_error)
            })
        })
        .collect();
    let mut stats = Stats {
        label: label.to_string(),
        ..Stats::default()
    };
    for worker in workers {
        let (samples, errors, first_error) = worker.await.expect("load worker");
        stats.latencies.extend(samples);
        stats.errors += errors;
        if stats.first_error.is_none() {
            stats.first_error = first_error;
        }
    }
    stats.total = duration;
    stats
}

/// One client sending `request` `count` times one after another (after a
/// few unmeasured ones): the latency a lone user sees.
pub async fn sequential(label: &str, target: &Target, request: &Request, count: usize) -> Stats {
    let http = connection();
    for _ in 0..count.min(20) {
        let _ = send(&http, target, request).await;
    }
    let mut stats = Stats {
        label: label.to_string(),
        ..Stats::default()
    };
    let started = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        let result = send(&http, target, request).await;
        stats.latencies.push(t.elapsed());
        if let Err(e) = result {
            stats.errors += 1;
            stats.first_error.get_or_insert(e);
        }
    }
    stats.total = started.elapsed();
    stats
}
