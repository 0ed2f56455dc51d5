//! Metrics of a subgraph in the Prometheus text exposition format (0.0.4),
//! served at `GET /metrics` by [`crate::server`]: GraphQL requests, errors
//! and latency by operation, the database pool, and gauges read at scrape
//! time from [`GaugeSource`]s (the outbox and parked events from
//! `janta-events`, each subgraph's domain gauges).
//!
//! A tiny hand-written registry (atomics would buy nothing over one mutex
//! held for a few map updates per request), owned by the subgraph's server
//! state: no global, so tests and the six subgraphs of `janta dev` never
//! see each other's figures. Label values that come from clients are
//! bounded ([`Metrics::operation_label`], [`code_label`]), so a client
//! cannot grow the series without end.

use crate::store::Store;
use crate::ErrorCode;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the request latency histogram's buckets: from
/// a cached lookup to a slow checkout against the router's 10 s subgraph
/// timeout.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most distinct operation names tracked; later names count as [`OTHER`].
pub const MAX_OPERATIONS: usize = 200;

/// Longest operation name tracked as itself.
const MAX_OPERATION_NAME: usize = 100;

/// Operation label of requests without a name.
pub const ANONYMOUS: &str = "anonymous";
/// Operation label of names past [`MAX_OPERATIONS`] or not GraphQL names.
pub const OTHER: &str = "other";
/// Operation label of requests refused before a GraphQL request could be
/// read (wrong method, media type, body).
pub const UNREADABLE: &str = "unreadable";

/// Codes refused by the HTTP layer and the query limits before execution
/// (the router's codes for the same refusals).
const PROTOCOL_CODES: [&str; 13] = [
    "BAD_REQUEST",
    "METHOD_NOT_ALLOWED",
    "NOT_ACCEPTABLE",
    "MISSING_CONTENT_TYPE_HEADER",
    "UNSUPPORTED_CONTENT_TYPE",
    "PAYLOAD_TOO_LARGE",
    "MUTATION_NOT_ALLOWED_OVER_HTTP_GET",
    "GRAPHQL_PARSE_FAILED",
    "MAX_DEPTH_EXCEEDED",
    "MAX_ALIASES_EXCEEDED",
    "MAX_DIRECTIVES_EXCEEDED",
    "TOKEN_LIMIT_EXCEEDED",
    "QUERY_TOO_COSTLY",
];

/// The `code` label of an error's `extensions.code`: one of the documented
/// codes ([`ErrorCode`] and the protocol refusals), `NONE` when it has no
/// code (GraphQL validation), `OTHER` for anything else.
pub fn code_label(code: Option<&str>) -> &'static str {
    let Some(code) = code else {
        return "NONE";
    };
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(PROTOCOL_CODES)
        .find(|known| *known == code)
        .unwrap_or("OTHER")
}

/// Who may read a subgraph's `/metrics`.
#[derive(Debug, Clone, Default)]
pub enum MetricsAccess {
    /// Whoever reaches the port (dev: loopback only).
    #[default]
    Open,
    /// Only requests with `Authorization: Bearer <token>`.
    Token(crate::config::Secret),
    /// Nobody: `/metrics` answers 404 (production without a token, since
    /// the prescriptions and payments ports take client traffic too).
    Off,
}

/// One figure of a gauge, read when `/metrics` is scraped.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// Metric name (`janta_…`).
    pub name: &'static str,
    /// The `# HELP` text of the metric.
    pub help: &'static str,
    /// Label names and values (values from the domain's fixed vocabulary).
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Gauge {
    /// A gauge without labels.
    pub fn new(name: &'static str, help: &'static str, value: f64) -> Self {
        Gauge {
            name,
            help,
            labels: Vec::new(),
            value,
        }
    }

    /// Adds the label `name="value"`.
    pub fn label(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.labels.push((name, value.into()));
        self
    }
}

/// Reads a group of gauges at scrape time (the outbox, a subgraph's domain
/// figures): the hook a subgraph registers, like a readiness check. Build
/// one with [`gauge_source`].
#[derive(Clone)]
pub struct GaugeSource {
    name: &'static str,
    read: Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<Vec<Gauge>>> + Send + Sync>,
}

impl GaugeSource {
    /// Reads the gauges now, as a scrape does.
    pub async fn read(&self) -> anyhow::Result<Vec<Gauge>> {
        (self.read)().await
    }
}

/// A gauge source named `name` (the `source` label of
/// `janta_metrics_source_up`, and the log line when it fails).
pub fn gauge_source<F, Fut>(name: &'static str, read: F) -> GaugeSource
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Vec<Gauge>>> + Send + 'static,
{
    GaugeSource {
        name,
        read: Arc::new(move || Box::pin(read())),
    }
}

/// A gauge counted by SQL: `sql` returns one row per group, its leading
/// columns the values of `labels` (text) and its last column the count
/// (`SELECT status, COUNT(*) FROM payments GROUP BY status`).
#[derive(Debug, Clone, Copy)]
pub struct CountQuery {
    /// Metric name (`janta_<subgraph>_…`).
    pub metric: &'static str,
    /// Its `# HELP` text.
    pub help: &'static str,
    /// Names of the labels, in the order of the leading columns.
    pub labels: &'static [&'static str],
    /// The query (portable between SQLite and PostgreSQL).
    pub sql: &'static str,
}

/// A gauge source named `name` running `queries` against `store` at each
/// scrape: the few lines with which a subgraph reports its domain figures.
pub fn counting(name: &'static str, store: &Store, queries: Vec<CountQuery>) -> GaugeSource {
    let store = store.clone();
    gauge_source(name, move || {
        let (store, queries) = (store.clone(), queries.clone());
        async move {
            let mut gauges = Vec::new();
            for query in queries {
                gauges.extend(count(&store, query).await?);
            }
            Ok(gauges)
        }
    })
}

async fn count(store: &Store, query: CountQuery) -> anyhow::Result<Vec<Gauge>> {
    use sqlx::Row as _;
    let rows = sqlx::query(query.sql).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|row| {
            let mut gauge = Gauge::new(query.metric, query.help, 0.0);
            for (i, name) in query.labels.iter().enumerate() {
                gauge = gauge.label(name, row.try_get::<String, _>(i)?);
            }
            gauge.value = row.try_get::<i64, _>(query.labels.len())? as f64;
            Ok(gauge)
        })
        .collect()
}

/// Requests of one operation label.
#[derive(Debug, Default)]
struct OperationStats {
    requests: u64,
    errors: BTreeMap<&'static str, u64>,
    buckets: [u64; LATENCY_BUCKETS.len()],
    seconds: f64,
}

/// The figures kept between scrapes.
#[derive(Debug, Default)]
struct Counters {
    operations: BTreeMap<String, OperationStats>,
}

/// A subgraph's metrics: counters and the latency histogram updated per
/// request, plus the gauge sources read at scrape time. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<Counters>>,
    sources: Vec<GaugeSource>,
}

impl Metrics {
    /// Metrics with `sources` read at each scrape.
    pub fn new(sources: Vec<GaugeSource>) -> Self {
        Metrics {
            counters: Arc::default(),
            sources,
        }
    }

    /// The `operation` label of a request named `name`: the name itself when
    /// it is a GraphQL name of at most 100 characters and already tracked or
    /// among the first [`MAX_OPERATIONS`]; [`ANONYMOUS`] without a name;
    /// [`OTHER`] otherwise.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return ANONYMOUS.to_string();
        };
        if !is_graphql_name(name) || name.len() > MAX_OPERATION_NAME {
            return OTHER.to_string();
        }
        let counters = self.lock();
        let tracked =
            counters.operations.contains_key(name) || counters.operations.len() < MAX_OPERATIONS;
        if tracked {
            name.to_string()
        } else {
            OTHER.to_string()
        }
    }

    /// Counts one request of `operation` (a label from
    /// [`Metrics::operation_label`]) that took `elapsed` and answered with
    /// errors coded `codes` (raw `extensions.code` values).
    pub fn observe(&self, operation: &str, codes: &[Option<&str>], elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut counters = self.lock();
        let stats = counters
            .operations
            .entry(operation.to_string())
            .or_default();
        stats.requests += 1;
        stats.seconds += seconds;
        for (bucket, bound) in stats.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        for code in codes {
            *stats.errors.entry(code_label(*code)).or_default() += 1;
        }
    }

    /// The whole exposition: request figures, the pool of `store`, then
    /// every gauge source (one that fails or takes over five seconds is
    /// reported as `janta_metrics_source_up 0` and logged).
    pub async fn render(&self, store: &Store) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        let mut gauges = pool_gauges(store);
        for source in &self.sources {
            let read = tokio::time::timeout(Duration::from_secs(5), source.read()).await;
            let up = match read {
                Ok(Ok(read)) => {
                    gauges.extend(read);
                    1.0
                }
                Ok(Err(err)) => {
                    tracing::warn!(source = source.name, error = %format!("{err:#}"), "metrics source failed");
                    0.0
                }
                Err(_) => {
                    tracing::warn!(source = source.name, "metrics source timed out");
                    0.0
                }
            };
            gauges.push(
                Gauge::new(
                    "janta_metrics_source_up",
                    "Whether the gauge source could be read at this scrape (1) or not (0).",
                    up,
                )
                .label("source", source.name),
            );
        }
        render_gauges(&mut out, &gauges);
        out
    }

    fn render_requests(&self, out: &mut String) {
        let counters = self.lock();
        let ops = &counters.operations;
        family(
            out,
            "janta_graphql_requests_total",
            "counter",
            "GraphQL requests answered, by operation name.",
        );
        for (op, stats) in ops {
            sample(
                out,
                "janta_graphql_requests_total",
                &[("operation", op)],
                stats.requests as f64,
            );
        }
        family(
            out,
            "janta_graphql_errors_total",
            "counter",
            "GraphQL errors answered, by operation name and extensions.code.",
        );
        for (op, stats) in ops {
            for (code, n) in &stats.errors {
                sample(
                    out,
                    "janta_graphql_errors_total",
                    &[("operation", op), ("code", code)],
                    *n as f64,
                );
            }
        }
        let name = "janta_graphql_request_duration_seconds";
        family(
            out,
            name,
            "histogram",
            "Time to answer a GraphQL request, by operation name.",
        );
        for (op, stats) in ops {
            for (bound, n) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
                let le = bound.to_string();
                sample(
                    out,
                    &format!("{name}_bucket"),
                    &[("operation", op), ("le", &le)],
                    n as f64,
                );
            }
            let count = stats.requests as f64;
            sample(
                out,
                &format!("{name}_bucket"),
                &[("operation", op), ("le", "+Inf")],
                count,
            );
            sample(
                out,
                &format!("{name}_sum"),
                &[("operation", op)],
                stats.seconds,
            );
            sample(out, &format!("{name}_count"), &[("operation", op)], count);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // The counters stay consistent even if a holder panicked.
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Connections of the store's pool: in use, idle, and the most it opens.
fn pool_gauges(store: &Store) -> Vec<Gauge> {
    let pool = store.pool();
    let idle = pool.num_idle() as f64;
    let open = f64::from(pool.size());
    let help = "Database connections of the subgraph's pool, by state.";
    vec![
        Gauge::new("janta_db_pool_connections", help, (open - idle).max(0.0))
            .label("state", "in_use"),
        Gauge::new("janta_db_pool_connections", help, idle).label("state", "idle"),
        Gauge::new(
            "janta_db_pool_max_connections",
            "Most connections the subgraph's pool opens.",
            f64::from(pool.options().get_max_connections()),
        ),
    ]
}

/// Writes `gauges` grouped by name, each family with its HELP and TYPE once.
fn render_gauges(out: &mut String, gauges: &[Gauge]) {
    let names: BTreeSet<&str> = gauges.iter().map(|g| g.name).collect();
    for name in names {
        let family_of = || gauges.iter().filter(move |g| g.name == name);
        let help = family_of().next().map_or("", |g| g.help);
        family(out, name, "gauge", help);
        for gauge in family_of() {
            let labels: Vec<(&str, &str)> =
                gauge.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sample(out, name, &labels, gauge.value);
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP {name} {}",
        help.replace('\\', "\\\\").replace('\n', "\\n")
    );
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        let _ = write!(out, "{{{}}}", labels.join(","));
    }
    let _ = writeln!(out, " {}", format_value(value));
}

/// A label value escaped as the format demands (`\\`, `\"`, `\n`).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        value.to_string()
    }
}

/// `[_A-Za-z][_0-9A-Za-z]*`, the shape of a GraphQL name.
fn is_graphql_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The name of the operation `request` runs: its `operationName`, else the
/// name of the only operation of its parsed `document` (`None` when
/// anonymous, or when there is no parsed document because it does not
/// parse or breaks the limits; execution reports that).
pub fn operation_name(
    request: &async_graphql::Request,
    document: Option<&ExecutableDocument>,
) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    match &document?.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|name| name.to_string())
        }
        DocumentOperations::Multiple(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        let metrics = Metrics::default();
        assert_eq!(metrics.operation_label(None), ANONYMOUS);
        assert_eq!(metrics.operation_label(Some("")), ANONYMOUS);
        assert_eq!(metrics.operation_label(Some("Cart")), "Cart");
        assert_eq!(metrics.operation_label(Some("drop table")), OTHER);
        assert_eq!(metrics.operation_label(Some(&"a".repeat(101))), OTHER);
        for i in 0..MAX_OPERATIONS {
            metrics.observe(&format!("Op{i}"), &[], Duration::ZERO);
        }
        assert_eq!(metrics.operation_label(Some("Op7")), "Op7");
        assert_eq!(metrics.operation_label(Some("Newcomer")), OTHER);
    }

    #[test]
    fn codes_come_from_the_documented_set() {
        assert_eq!(code_label(Some("NOT_FOUND")), "NOT_FOUND");
        assert_eq!(code_label(Some("QUERY_TOO_COSTLY")), "QUERY_TOO_COSTLY");
        assert_eq!(code_label(Some("made up")), "OTHER");
        assert_eq!(code_label(None), "NONE");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("l", "a\"b\\c\nd")], 1.5);
        assert_eq!(out, "m{l=\"a\\\"b\\\\c\\nd\"} 1.5\n");
    }

    #[test]
    fn the_name_of_a_lone_named_operation_is_found() {
        let parsed = |query: &str| async_graphql::parser::parse_query(query).unwrap();
        let named = async_graphql::Request::new("query Cart { a }");
        let document = parsed(&named.query);
        assert_eq!(
            operation_name(&named, Some(&document)).as_deref(),
            Some("Cart")
        );
        let anonymous = async_graphql::Request::new("{ a }");
        let document = parsed(&anonymous.query);
        assert_eq!(operation_name(&anonymous, Some(&document)), None);
        let chosen = async_graphql::Request::new("query A { a } query B { a }").operation_name("B");
        let document = parsed(&chosen.query);
        assert_eq!(
            operation_name(&chosen, Some(&document)).as_deref(),
            Some("B")
        );
        let unparsed = async_graphql::Request::new("query Cart { a");
        assert_eq!(operation_name(&unparsed, None), None);
    }
}
