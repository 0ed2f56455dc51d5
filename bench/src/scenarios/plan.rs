//! Each query's single-client p50 through the router vs the critical path a
//! perfect router would cost: the sum, over the levels of its query plan,
//! of the slowest direct subgraph p50 in that level.
//!
//! How the plan's subgraph requests are found: a second router (the same
//! `janta router`, configuration and supergraph as the platform's, from its
//! data directory) is pointed at recording proxies in front of the real
//! subgraphs. One request of the query through it records every subgraph
//! request the plan sends, byte for byte, with when it started and ended. A
//! request's level is one more than the highest level of the requests that
//! had ended before it started (the first level has none), which is the
//! plan's sequence of parallel steps. Each recorded request is then sent
//! straight to its subgraph, as the router sends it, one at a time.

use crate::customers::register;
use crate::load::{once, sequential, Request, Target};
use crate::platform::{free_port, BENCH_ENV};
use crate::scenarios::{basics::as_router_sends, per_customer};
use crate::stats::{ratio, truncate};
use axum::body::Bytes;
use axum::http::HeaderMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The subgraphs in port order after the router's.
const DOMAINS: [&str; 6] = [
    "users",
    "catalog",
    "prescriptions",
    "orders",
    "payments",
    "notifications",
];

/// One subgraph request the router sent.
#[derive(Debug, Clone)]
struct Fetch {
    subgraph: &'static str,
    body: Bytes,
    token: Option<String>,
    start: Instant,
    end: Instant,
}

/// What the recording proxies saw.
#[derive(Default)]
struct Recorder {
    fetches: Mutex<Vec<Fetch>>,
}

/// What the comparison runs.
pub struct Options {
    /// The platform's router port.
    pub port: u16,
    /// The janta binary (for the recording router).
    pub janta_bin: PathBuf,
    /// The platform's data directory (`router.yaml`, `supergraph.graphql`).
    pub data_dir: PathBuf,
    /// Contract queries to measure.
    pub queries: Vec<String>,
    /// Requests per measured p50.
    pub requests: usize,
    /// `SearchMedicines`' search term.
    pub search: String,
}

/// Runs the comparison.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let router = format!("http://127.0.0.1:{}/graphql", options.port);
    let customer = register(&router, 1, true).await?.remove(0);
    let recorder = Arc::new(Recorder::default());
    let mut proxies = Vec::new();
    for (i, domain) in DOMAINS.iter().enumerate() {
        let upstream = format!("http://127.0.0.1:{}/graphql", options.port + 1 + i as u16);
        proxies.push(proxy(domain, upstream, recorder.clone()).await?);
    }
    let recording = RecordingRouter::start(options, &proxies).await?;
    let floor = sequential(
        "{ __typename } through the router",
        &Target::new(&router),
        &Request::new(
            &serde_json::json!({"query": "{ __typename }"}),
            Some(&customer.token),
        ),
        options.requests,
    )
    .await;
    println!(
        "plan: single-client p50 through the router vs the sum of its plan levels' direct p50s"
    );
    println!(
        "  floor: {{ __typename }} with a token through the router p50 {:.2} ms\n",
        floor.p50_ms()
    );
    let mut rows = Vec::new();
    for query in &options.queries {
        let request =
            per_customer(query, &options.search, std::slice::from_ref(&customer)).remove(0);
        let recording_target = Target::new(recording.url());
        let _ = once(&recording_target, &request).await;
        recorder.fetches.lock().unwrap().clear();
        if let Err(e) = once(&recording_target, &request).await {
            anyhow::bail!("{query} failed through the recording router: {e}");
        }
        let fetches = levels(std::mem::take(&mut *recorder.fetches.lock().unwrap()));
        let routed = sequential(
            "through the router",
            &Target::new(&router),
            &request,
            options.requests,
        )
        .await;
        println!(
            "{query}: through the router p50 {:.2} ms (errors {})",
            routed.p50_ms(),
            routed.errors
        );
        let mut critical = 0.0;
        for (level, in_level) in fetches.iter().enumerate() {
            let mut slowest: f64 = 0.0;
            for fetch in in_level {
                let target = as_router_sends(
                    options.port
                        + 1
                        + DOMAINS
                            .iter()
                            .position(|d| *d == fetch.subgraph)
                            .unwrap_or(0) as u16,
                );
                let direct = Request::raw(fetch.body.to_vec(), fetch.token.as_deref());
                let stats = sequential(fetch.subgraph, &target, &direct, options.requests).await;
                println!(
                    "  level {} {:<14} direct p50 {:>6.2} ms  errors {}  {}",
                    level + 1,
                    fetch.subgraph,
                    stats.p50_ms(),
                    stats.errors,
                    truncate(&operation_of(&fetch.body), 90)
                );
                slowest = slowest.max(stats.p50_ms());
            }
            critical += slowest;
        }
        println!(
            "  sum of levels {:.2} ms; router/critical path {:.2}x\n",
            critical,
            ratio(routed.p50_ms(), critical)
        );
        rows.push((query.clone(), routed.p50_ms(), fetches.len(), critical));
    }
    println!("| query | router p50 ms | plan levels | sum of level p50s ms | ratio |");
    println!("| --- | --- | --- | --- | --- |");
    for (query, routed, levels, critical) in rows {
        println!(
            "| {query} | {routed:.2} | {levels} | {critical:.2} | {:.2}x |",
            ratio(routed, critical)
        );
    }
    Ok(())
}

/// The recorded fetches grouped by plan level, in order.
fn levels(mut fetches: Vec<Fetch>) -> Vec<Vec<Fetch>> {
    fetches.sort_by_key(|f| f.start);
    let mut level_of: Vec<usize> = Vec::new();
    for (i, fetch) in fetches.iter().enumerate() {
        let level = (0..i)
            .filter(|&j| fetches[j].end <= fetch.start)
            .map(|j| level_of[j] + 1)
            .max()
            .unwrap_or(0);
        level_of.push(level);
    }
    let mut grouped: Vec<Vec<Fetch>> = vec![Vec::new(); level_of.iter().max().map_or(0, |m| m + 1)];
    for (fetch, level) in fetches.into_iter().zip(level_of) {
        grouped[level].push(fetch);
    }
    grouped
}

/// The start of a recorded subgraph document, for the printout.
fn operation_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| {
            b["query"]
                .as_str()
                .map(|q| q.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default()
}

/// A proxy in front of one subgraph that records what passes; returns its port.
async fn proxy(
    subgraph: &'static str,
    upstream: String,
    recorder: Arc<Recorder>,
) -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let (http, upstream, recorder) = (http.clone(), upstream.clone(), recorder.clone());
        async move {
            let start = Instant::now();
            let mut request = http.post(&upstream).body(body.clone());
            for (name, value) in headers.iter() {
                if !matches!(
                    name.as_str(),
                    "host" | "content-length" | "accept-encoding" | "connection"
                ) {
                    request = request.header(name.as_str(), value.as_bytes());
                }
            }
            let (status, content_type, answer) = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let content_type = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/json")
                        .to_string();
                    (status, content_type, r.bytes().await.unwrap_or_default())
                }
                Err(e) => (502, "text/plain".to_string(), Bytes::from(e.to_string())),
            };
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string);
            recorder.fetches.lock().unwrap().push(Fetch {
                subgraph,
                body,
                token,
                start,
                end: Instant::now(),
            });
            axum::http::Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(axum::body::Body::from(answer))
                .expect("response")
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// The second router, in front of the recording proxies; stopped when dropped.
struct RecordingRouter {
    child: Child,
    url: String,
}

impl RecordingRouter {
    async fn start(options: &Options, proxies: &[u16]) -> anyhow::Result<RecordingRouter> {
        let port = free_port();
        let config = file_in(&options.data_dir, "router.yaml")?;
        let supergraph = file_in(&options.data_dir, "supergraph.graphql")?;
        let mut command = Command::new(&options.janta_bin);
        command
            .arg("router")
            .arg("--config")
            .arg(config)
            .arg("--supergraph")
            .arg(supergraph)
            .env("PORT", port.to_string())
            .env(
                "JANTA_JWKS_URL",
                format!(
                    "http://127.0.0.1:{}/.well-known/jwks.json",
                    options.port + 1
                ),
            )
            .envs(BENCH_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (domain, proxy) in DOMAINS.iter().zip(proxies) {
            command.env(
                format!("JANTA_{}_URL", domain.to_uppercase()),
                format!("http://127.0.0.1:{proxy}/graphql"),
            );
        }
        let router = RecordingRouter {
            child: command.spawn()?,
            url: format!("http://127.0.0.1:{port}/graphql"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = http
                .get(format!("http://127.0.0.1:{port}/readiness"))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(router);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the recording router did not become ready")
    }

    fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RecordingRouter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn file_in(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} not found: pass the platform's --data-dir",
        path.display()
    );
    Ok(path)
}
