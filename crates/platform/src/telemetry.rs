//! Structured logs for every process: `RUST_LOG` filters, `JANTA_LOG_FORMAT=json`
//! switches to JSON lines for log shippers.
//!
//! Traces, off by default: with `JANTA_OTLP_ENDPOINT` set (the base URL of an
//! OpenTelemetry collector or Jaeger, e.g. `http://127.0.0.1:4318`), the
//! process also exports its spans over OTLP/HTTP (protobuf) to
//! `<endpoint>/v1/traces`, named by `JANTA_SERVICE_NAME` (else the caller's
//! default, e.g. `janta-orders`), in batches every `JANTA_OTLP_EXPORT_DELAY`
//! (`5s` by default; `200ms` in tests). What is traced:
//!
//! - one span per GraphQL request a subgraph serves ([`operation_span`]),
//!   continuing the caller's W3C `traceparent` (the router's, or another
//!   subgraph's through [`crate::client::ServiceClient`]);
//! - one child span per SQL statement (sqlx reports each statement as an
//!   event; [`SqlSpans`] turns those into spans with the statement's timing);
//! - event publication and consumption: the outbox row carries the
//!   `traceparent` of the request that wrote it ([`current_traceparent`]),
//!   and the relay's and consumers' spans continue that trace
//!   ([`continue_from`]), so router → subgraphs → events form one trace.
//!
//! When the endpoint is unset no OpenTelemetry layer is installed at all:
//! the subscriber is the same plain log subscriber as before, and the helpers
//! here return at once ([`enabled`] is one atomic load).

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    Span as _, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use tracing::dispatcher::WeakDispatch;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Base URL of the OTLP/HTTP receiver; traces are off while it is unset.
pub const OTLP_ENDPOINT_ENV: &str = "JANTA_OTLP_ENDPOINT";
/// The `service.name` this process reports (overrides the default).
pub const SERVICE_NAME_ENV: &str = "JANTA_SERVICE_NAME";
/// How long spans wait in the batch before export (`200ms`, `5s`).
pub const EXPORT_DELAY_ENV: &str = "JANTA_OTLP_EXPORT_DELAY";
/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// Where and as whom this process exports its spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// Full URL spans are POSTed to (`…/v1/traces`).
    pub traces_url: String,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// The batch processor's scheduled delay.
    pub export_delay: Duration,
}

impl TraceExport {
    /// The export settings from the environment ([`OTLP_ENDPOINT_ENV`],
    /// [`SERVICE_NAME_ENV`], [`EXPORT_DELAY_ENV`]); `None` (traces off)
    /// when no endpoint is set.
    pub fn from_env(default_service: &str) -> anyhow::Result<Option<Self>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(endpoint) = var(OTLP_ENDPOINT_ENV) else {
            return Ok(None);
        };
        let export_delay = match var(EXPORT_DELAY_ENV) {
            Some(text) => parse_delay(&text)?,
            None => Duration::from_secs(5),
        };
        Ok(Some(TraceExport {
            traces_url: traces_url(&endpoint),
            service_name: var(SERVICE_NAME_ENV).unwrap_or_else(|| default_service.to_string()),
            export_delay,
        }))
    }
}

/// The OTLP/HTTP traces URL of a receiver's base URL (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is read): `/v1/traces` appended unless the
/// URL already names it.
pub fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

/// `250ms`, `2s` or a bare number of milliseconds.
fn parse_delay(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse().map(Duration::from_millis)
    } else if let Some(s) = text.strip_suffix('s') {
        s.trim().parse().map(Duration::from_secs)
    } else {
        text.parse().map(Duration::from_millis)
    };
    parsed.map_err(|_| anyhow::anyhow!("{EXPORT_DELAY_ENV}=`{text}` is not like `200ms` or `5s`"))
}

/// Installs the global subscriber once; later calls are no-ops (tests).
pub fn init(default_filter: &str) {
    let _ = try_init(default_filter, None);
}

/// [`init`], plus span export when [`OTLP_ENDPOINT_ENV`] is set, as
/// `default_service` unless [`SERVICE_NAME_ENV`] says otherwise. Fails on
/// unusable settings (a malformed delay, an exporter that cannot be built).
pub fn init_traced(default_filter: &str, default_service: &str) -> anyhow::Result<()> {
    try_init(default_filter, TraceExport::from_env(default_service)?)
}

fn try_init(default_filter: &str, export: Option<TraceExport>) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("JANTA_LOG_FORMAT").is_ok_and(|v| v == "json");
    let Some(export) = export else {
        // Exactly the subscriber of a process without traces.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false);
        let _ = if json {
            builder.json().try_init()
        } else {
            builder.try_init()
        };
        return Ok(());
    };
    if tracing::dispatcher::has_been_set() {
        return Ok(());
    }
    let provider = provider(&export)?;
    let logs = tracing_subscriber::fmt::layer().with_target(false);
    let logs = if json {
        logs.json().with_filter(filter).boxed()
    } else {
        logs.with_filter(filter).boxed()
    };
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("janta"))
        .with_filter(span_filter());
    let sql = SqlSpans::new(provider.tracer("janta-sql"))
        .with_filter(span_filter().with_target("sqlx::query", LevelFilter::DEBUG));
    if Registry::default()
        .with(logs)
        .with(spans)
        .with(sql)
        .try_init()
        .is_ok()
    {
        let _ = PROVIDER.set(provider);
        ENABLED.store(true, Ordering::Release);
    }
    Ok(())
}

/// Which spans are exported: ours and the libraries' at `info` and above
/// (not the HTTP stacks' own debug spans, nor the exporter's).
fn span_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("sqlx", LevelFilter::OFF)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("reqwest", LevelFilter::OFF)
}

fn provider(export: &TraceExport) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use opentelemetry_sdk::trace::{span_processor_with_async_runtime, BatchConfigBuilder};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(export.traces_url.clone())
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(Duration::from_secs(5))
        .build()?;
    // The async-runtime processor on a thread of its own: the exporter's
    // client is async reqwest (the router's), which needs a Tokio runtime.
    let processor = span_processor_with_async_runtime::BatchSpanProcessor::builder(
        exporter,
        opentelemetry_sdk::runtime::TokioCurrentThread,
    )
    .with_batch_config(
        BatchConfigBuilder::default()
            .with_scheduled_delay(export.export_delay)
            .build(),
    )
    .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(export.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(processor)
        .build())
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether this process exports spans (an OpenTelemetry layer is installed).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Exports the spans still waiting in the batch (before a process exits,
/// or in tests); waits at most a few seconds. A no-op when traces are off.
pub async fn flush() {
    let Some(provider) = PROVIDER.get() else {
        return;
    };
    let provider = provider.clone();
    let flushed = tokio::task::spawn_blocking(move || provider.force_flush());
    if let Ok(Ok(Err(err))) = tokio::time::timeout(Duration::from_secs(5), flushed).await {
        tracing::warn!(error = %err, "exporting the last spans failed");
    }
}

/// The span of one GraphQL request served by a subgraph: named after the
/// operation (`query Cart`; just `mutation` for the router's anonymous
/// subgraph operations), with its name and type as attributes, the
/// subgraph serving it, and the request's correlation ID; it continues the
/// trace of the caller's `traceparent` when there is one.
pub fn operation_span(
    subgraph: Option<&str>,
    operation: Option<&str>,
    document: &str,
    correlation_id: &str,
    headers: &axum::http::HeaderMap,
) -> tracing::Span {
    if !enabled() {
        return tracing::info_span!("graphql", correlation_id = %correlation_id);
    }
    let kind = operation_type(document, operation);
    let span = tracing::info_span!(
        "graphql",
        otel.name = %operation.map_or(kind.to_string(), |name| format!("{kind} {name}")),
        otel.kind = "server",
        graphql.operation.name = operation.unwrap_or(""),
        graphql.operation.type = kind,
        janta.subgraph = subgraph.unwrap_or(""),
        correlation_id = %correlation_id,
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span
}

/// `query`, `mutation` or `subscription`: the type of the operation
/// `name` of `document` (the first operation when unnamed).
pub fn operation_type(document: &str, name: Option<&str>) -> &'static str {
    const TYPES: [&str; 3] = ["query", "mutation", "subscription"];
    let words: Vec<&str> = document
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let named = name.and_then(|name| {
        words
            .windows(2)
            .find(|pair| pair[1] == name && TYPES.contains(&pair[0]))
            .map(|pair| pair[0])
    });
    let first = document
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next();
    match named.or(first) {
        Some("mutation") => "mutation",
        Some("subscription") => "subscription",
        _ => "query",
    }
}

/// The W3C `traceparent` of the current span, to carry the trace across a
/// hop that is not an HTTP request made now (an outbox row, an event);
/// `None` when traces are off or nothing is being traced.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut MapInjector(&mut carrier));
    carrier.remove(TRACEPARENT)
}

/// Makes `span` a child of the trace `traceparent` names (a request that
/// published an event, say); nothing when traces are off or it is absent
/// or malformed.
pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| enabled()) else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Reads trace context from HTTP request headers.
struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes trace context into a map.
struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

/// Turns each statement sqlx reports (its `sqlx::query` event, emitted when
/// the statement finishes, with its duration) into a client span that is a
/// child of the span the statement ran in: the resolver's I/O, statement by
/// statement, under its GraphQL operation or event handler.
pub struct SqlSpans {
    tracer: opentelemetry_sdk::trace::SdkTracer,
    dispatch: OnceLock<WeakDispatch>,
}

impl SqlSpans {
    /// Statement spans created with `tracer`.
    pub fn new(tracer: opentelemetry_sdk::trace::SdkTracer) -> Self {
        SqlSpans {
            tracer,
            dispatch: OnceLock::new(),
        }
    }
}

/// The fields of a `sqlx::query` event.
#[derive(Default)]
struct Statement {
    summary: String,
    text: String,
    rows_affected: u64,
    rows_returned: u64,
    elapsed_secs: f64,
}

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.text = value.trim().to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "rows_affected" => self.rows_affected = value,
            "rows_returned" => self.rows_returned = value,
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, _value: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for SqlSpans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(parent) = ctx.event_span(event) else {
            return;
        };
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let Some(parent) = tracing_opentelemetry::get_otel_context(&parent.id(), &dispatch) else {
            return;
        };
        let mut statement = Statement::default();
        event.record(&mut statement);
        let end = SystemTime::now();
        let start = end - Duration::from_secs_f64(statement.elapsed_secs.max(0.0));
        let text = if statement.text.is_empty() {
            statement.summary.clone()
        } else {
            statement.text
        };
        let mut span = self
            .tracer
            .span_builder(statement.summary)
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new("db.query.text", text),
                KeyValue::new("db.response.returned_rows", statement.rows_returned as i64),
                KeyValue::new("db.response.affected_rows", statement.rows_affected as i64),
            ])
            .start_with_context(&self.tracer, &parent);
        span.end_with_timestamp(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_url_is_derived_from_a_base_url() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }

    #[test]
    fn export_delays_read_like_the_routers() {
        assert_eq!(parse_delay("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_delay("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_delay("150").unwrap(), Duration::from_millis(150));
        assert!(parse_delay("soon").is_err());
    }

    #[test]
    fn operation_types_come_from_the_document() {
        assert_eq!(
            operation_type("mutation PlaceOrder($i: X) { a }", Some("PlaceOrder")),
            "mutation"
        );
        assert_eq!(
            operation_type("query A { a } mutation B { b }", Some("B")),
            "mutation"
        );
        assert_eq!(operation_type("{ me { id } }", None), "query");
        assert_eq!(
            operation_type(
                "query($r:[_Any!]!){_entities(representations:$r){__typename}}",
                None
            ),
            "query"
        );
    }

    #[test]
    fn without_an_endpoint_nothing_is_traced() {
        assert!(!enabled());
        assert_eq!(current_traceparent(), None);
        let span = tracing::info_span!("x");
        continue_from(
            &span,
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
    }
}
