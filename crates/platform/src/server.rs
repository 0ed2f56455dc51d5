//! The HTTP side of a subgraph, built the same way for all six:
//! `POST`/`GET /graphql` (GraphQL over HTTP as strict as the router: see
//! [`crate::graphql_http`] and [`crate::query_limits`]; token verified,
//! caller put into the request), `/health` (alive), `/ready` (database and
//! any extra dependency, such as the event bus, reachable; also answered at
//! `/readiness`, the router's name for it), `/metrics` (Prometheus text, see
//! [`crate::metrics`]; access per [`MetricsAccess`]),
//! request tracing with a correlation ID, and graceful shutdown.

use crate::auth::{Caller, TokenVerifier};
use crate::graphql_http::{self, Refusal, ResponseFormat};
use crate::metrics::{GaugeSource, Metrics, MetricsAccess};
use crate::parsed_documents::ParsedDocuments;
use crate::query_limits::{EnforceLimits, MaxQueryCost, ROUTER_LIMITS};
use crate::rate_limit::{ClientKey, ClientLimits, RateLimiter};
use crate::store::Store;
use crate::ApiError;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ObjectType, Schema, SchemaBuilder, ServerError, SubscriptionType};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Largest GraphQL request body a subgraph accepts: the router's
/// `limits.max_request_body_size` (2 MB).
pub const MAX_GRAPHQL_BODY: usize = 2 * 1000 * 1000;

/// The correlation ID of the request being served (from `x-request-id` or the
/// trace ID of `traceparent`, else fresh); events carry it onwards.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// The proxies whose `X-Forwarded-For` is believed: loopback always (the
/// router beside a subgraph, a sidecar) plus configured addresses and
/// networks (a router or load balancer on other hosts,
/// `JANTA_TRUSTED_PROXIES`). Anyone else's header is ignored, so a client
/// cannot choose the address that throttling and the audit trail see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses addresses (`10.1.2.3`) and networks (`10.0.0.0/8`); blank
    /// entries are skipped, anything else is an error naming the entry.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Self> {
        let networks = entries
            .into_iter()
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("trusted proxy `{entry}` is not an address or a network")
                    })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(TrustedProxies(networks))
    }

    /// Whether requests from `ip` may speak for a client.
    pub fn trusts(&self, ip: &std::net::IpAddr) -> bool {
        ip.is_loopback() || self.0.iter().any(|net| net.contains(ip))
    }
}

/// The network address of the client a request came from, for throttling
/// and audit. The TCP peer, unless the peer is a trusted proxy: then the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
/// `None` when neither is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    /// Derives the client address from the TCP peer and the request headers.
    pub fn from_parts(
        peer: Option<std::net::IpAddr>,
        headers: &HeaderMap,
        trusted: &TrustedProxies,
    ) -> Self {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Self::from_forwarded(peer, forwarded, |ip| trusted.trusts(ip))
    }

    /// The rule itself: the peer, unless it is `trusted`; then the
    /// right-most entry of the `X-Forwarded-For` header values `forwarded`
    /// that is not `trusted`.
    pub fn from_forwarded<'a>(
        peer: Option<std::net::IpAddr>,
        forwarded: impl IntoIterator<Item = &'a str>,
        trusted: impl Fn(&std::net::IpAddr) -> bool,
    ) -> Self {
        let Some(peer) = peer else {
            return ClientAddress(None);
        };
        if !trusted(&peer) {
            return ClientAddress(Some(peer));
        }
        let forwarded = forwarded
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded.into_iter().rev().find(|ip| !trusted(ip));
        ClientAddress(Some(client.unwrap_or(peer)))
    }
}

/// The name of the subgraph serving a request, for its trace spans: add it
/// to the app as an `axum::Extension` (`janta_kit` does).
#[derive(Debug, Clone, Copy)]
pub struct SubgraphName(pub &'static str);

/// Adds per-request data (DataLoaders, …) to each GraphQL request.
pub type RequestExtender =
    Arc<dyn Fn(async_graphql::Request) -> async_graphql::Request + Send + Sync>;

/// An extra readiness probe (e.g. "is the event bus reachable?"): `/ready`
/// answers 503 while any check fails. Build one with [`readiness_check`].
#[derive(Clone)]
pub struct ReadinessCheck {
    name: &'static str,
    check: Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>,
}

/// A readiness check named `name` (shown in the 503 body and the log).
pub fn readiness_check<F, Fut>(name: &'static str, check: F) -> ReadinessCheck
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    ReadinessCheck {
        name,
        check: Arc::new(move || Box::pin(check())),
    }
}

/// Query limits every subgraph applies, so a subgraph reached directly is
/// as protected as through the router: the router's own limits
/// ([`ROUTER_LIMITS`]: depth, aliases, directives, tokens), and a bound on
/// the total work of a document (complexity) that the router cannot see.
pub fn with_limits<Q, M, S>(builder: SchemaBuilder<Q, M, S>) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    builder
        .enable_federation()
        .extension(EnforceLimits(ROUTER_LIMITS))
        .limit_complexity(20_000)
        .limit_recursive_depth(32)
}

/// The per-client limits a subgraph applies itself (the router's, from the
/// same settings): request rates for requests that did not come through
/// the router or another trusted proxy (which applied them already), and
/// the most a document may cost.
#[derive(Debug, Clone, Copy)]
pub struct SubgraphLimits {
    /// Request rates per client.
    pub clients: ClientLimits,
    /// The most a document may cost ([`crate::query_cost`]).
    pub max_query_cost: u64,
}

impl Default for SubgraphLimits {
    fn default() -> Self {
        SubgraphLimits {
            clients: ClientLimits::default(),
            max_query_cost: crate::query_cost::DEFAULT_MAX_QUERY_COST,
        }
    }
}

/// What `/metrics` serves and to whom.
#[derive(Clone, Default)]
pub struct MetricsSettings {
    /// Gauges read at each scrape besides the request figures and the pool
    /// (the outbox from `janta_events`, the subgraph's domain figures).
    pub sources: Vec<GaugeSource>,
    /// Who may read it ([`crate::config::SubgraphConfig::metrics_access`]).
    pub access: MetricsAccess,
}

struct Endpoint<Q, M, S> {
    schema: Schema<Q, M, S>,
    metrics: Metrics,
    metrics_access: MetricsAccess,
    verifier: Arc<TokenVerifier>,
    extend: RequestExtender,
    store: Store,
    checks: Vec<ReadinessCheck>,
    trusted: TrustedProxies,
    limiter: RateLimiter,
    max_query_cost: u64,
    /// The documents this subgraph was sent, parsed once each.
    documents: ParsedDocuments,
}

/// Documents a subgraph keeps parsed per generation: the router's plans for
/// the contract need a few dozen.
const KEPT_DOCUMENTS: usize = 256;

/// The routes every subgraph serves; merge domain routes (webhooks, uploads) onto it.
pub fn subgraph_router<Q, M, S>(
    schema: Schema<Q, M, S>,
    verifier: Arc<TokenVerifier>,
    store: Store,
    extend: RequestExtender,
) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    subgraph_router_with_checks(
        schema,
        verifier,
        store,
        extend,
        Vec::new(),
        TrustedProxies::default(),
        SubgraphLimits::default(),
        MetricsSettings::default(),
    )
}

/// [`subgraph_router`] whose `/ready` also runs `checks` (e.g. the event bus
/// from `janta_events::EventBus::readiness_check`) and which believes the
/// client addresses forwarded by `trusted` proxies (the router), applying
/// `limits` per client, and whose `/metrics` also reads `metrics.sources`.
#[allow(clippy::too_many_arguments)]
pub fn subgraph_router_with_checks<Q, M, S>(
    schema: Schema<Q, M, S>,
    verifier: Arc<TokenVerifier>,
    store: Store,
    extend: RequestExtender,
    checks: Vec<ReadinessCheck>,
    trusted: TrustedProxies,
    limits: SubgraphLimits,
    metrics: MetricsSettings,
) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let endpoint = Arc::new(Endpoint {
        schema,
        metrics: Metrics::new(metrics.sources),
        metrics_access: metrics.access,
        verifier,
        extend,
        store,
        checks,
        trusted,
        limiter: RateLimiter::new(limits.clients),
        max_query_cost: limits.max_query_cost,
        documents: ParsedDocuments::new(ROUTER_LIMITS, KEPT_DOCUMENTS),
    });
    let graphql_routes = get(graphql::<Q, M, S>)
        .post(graphql::<Q, M, S>)
        .fallback(|| async { Refusal::method_not_allowed() });
    Router::new()
        .route("/graphql", graphql_routes)
        .route("/ready", get(ready::<Q, M, S>))
        .route("/readiness", get(ready::<Q, M, S>))
        .route("/metrics", get(serve_metrics::<Q, M, S>))
        .with_state(endpoint)
        .route("/health", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(echo_request_id))
}

/// The header naming a request end to end (client, router, subgraphs, logs).
pub const REQUEST_ID: &str = "x-request-id";

/// Gives every request an `x-request-id` and echoes it on the response, so
/// a client or operator can quote it and find the request in the logs:
/// the incoming one when sane ([`sane_request_id`]), else the correlation
/// ID (the `traceparent` trace ID, shared by every subgraph of one routed
/// request, else a fresh UUID). The request carries it on, so the
/// correlation ID of logs and events is the echoed one.
async fn echo_request_id(mut request: Request, next: axum::middleware::Next) -> Response {
    let id = correlation_id(request.headers()).0;
    let Ok(value) = axum::http::HeaderValue::from_str(&id) else {
        return next.run(request).await;
    };
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// An incoming request ID worth keeping: 1 to 128 visible ASCII characters
/// (no spaces or control characters that could forge log lines).
pub fn sane_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// What a GraphQL request was answered with, before it becomes HTTP.
enum Answer {
    /// Refused by the HTTP layer (status and code of the router's).
    Refused(Refusal),
    /// A GraphQL response (executed, or refused with an [`ApiError`]).
    Graphql(async_graphql::Response),
}

impl Answer {
    /// The `extensions.code` of each error answered.
    fn codes(&self) -> Vec<Option<&str>> {
        match self {
            Answer::Refused(refusal) => vec![Some(refusal.code())],
            Answer::Graphql(response) => response
                .errors
                .iter()
                .map(|error| match error.extensions.as_ref()?.get("code")? {
                    async_graphql::Value::String(code) => Some(code.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }

    fn respond(self, format: ResponseFormat) -> Response {
        match self {
            Answer::Refused(refusal) => refusal.respond(format),
            Answer::Graphql(response) => graphql_http::respond(response, format),
        }
    }
}

/// Serves one GraphQL request and counts it in the subgraph's metrics
/// (operation, error codes, time taken).
async fn graphql<Q, M, S>(
    State(endpoint): State<Arc<Endpoint<Q, M, S>>>,
    request: Request,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let started = std::time::Instant::now();
    let mut operation = crate::metrics::UNREADABLE.to_string();
    let (answer, format) = answer(&endpoint, request, &mut operation).await;
    endpoint
        .metrics
        .observe(&operation, &answer.codes(), started.elapsed());
    answer.respond(format)
}

/// The answer to a GraphQL request and the format to send it in; sets
/// `operation` to the request's operation label once it is read.
async fn answer<Q, M, S>(
    endpoint: &Endpoint<Q, M, S>,
    request: Request,
    operation: &mut String,
) -> (Answer, ResponseFormat)
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let (parts, body) = request.into_parts();
    let format = match graphql_http::negotiate(&parts.headers) {
        Ok(format) => format,
        Err(refusal) => return (Answer::Refused(refusal), ResponseFormat::Json),
    };
    let request = match graphql_http::read_request(&parts, body, MAX_GRAPHQL_BODY).await {
        Ok(request) => request,
        Err(refusal) => return (Answer::Refused(refusal), format),
    };
    let document = endpoint.documents.document(&request.query);
    let name = crate::metrics::operation_name(&request, document.as_deref());
    *operation = endpoint.metrics.operation_label(name.as_deref());
    let headers = &parts.headers;
    let correlation = correlation_id(headers);
    let client = ClientAddress::from_parts(peer, headers, &endpoint.trusted);
    let caller = match caller(&endpoint.verifier, headers).await {
        Ok(caller) => caller,
        Err(err) => return (Answer::Graphql(error_response(err)), format),
    };
    if let Err(err) = admit(endpoint, peer, headers, &caller, client) {
        return (Answer::Graphql(error_response(err)), format);
    }
    let span = crate::telemetry::operation_span(
        parts.extensions.get::<SubgraphName>().map(|n| n.0),
        name.as_deref(),
        &request.query,
        &correlation.0,
        headers,
    );
    let request = request
        .data(caller)
        .data(correlation)
        .data(client)
        .data(MaxQueryCost(endpoint.max_query_cost));
    let mut request = (endpoint.extend)(request);
    if let Some(document) = document {
        request.set_parsed_query(ExecutableDocument::clone(&document));
    }
    let response = tracing::Instrument::instrument(endpoint.schema.execute(request), span).await;
    (Answer::Graphql(response), format)
}

/// Spends one request of the caller's rate (`RATE_LIMITED` with
/// `retryAfter` when none is left). Requests a trusted proxy forwarded
/// (`X-Forwarded-For` from the router) were counted there and pass.
fn admit<Q, M, S>(
    endpoint: &Endpoint<Q, M, S>,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    caller: &Caller,
    client: ClientAddress,
) -> Result<(), ApiError> {
    let forwarded = headers.contains_key("x-forwarded-for")
        && peer.is_some_and(|ip| endpoint.trusted.trusts(&ip));
    if forwarded {
        return Ok(());
    }
    let Some(key) = ClientKey::of(caller.0.as_ref(), client.0) else {
        return Ok(());
    };
    endpoint.limiter.admit(&key).map_err(|wait| {
        ApiError::rate_limited(
            "Too many requests from this client; wait before sending more.",
            wait,
        )
    })
}

/// The caller of a request: anonymous without `Authorization`, else the
/// principal of its verified bearer token.
async fn caller(verifier: &TokenVerifier, headers: &HeaderMap) -> Result<Caller, ApiError> {
    match bearer_token(headers)? {
        None => Ok(Caller(None)),
        Some(token) => Ok(Caller(Some(verifier.verify(token).await?))),
    }
}

/// A GraphQL response holding only `err`, refused before execution.
fn error_response(err: ApiError) -> async_graphql::Response {
    let err: async_graphql::Error = err.into();
    let mut error = ServerError::new(err.message, None);
    error.extensions = err.extensions;
    async_graphql::Response::from_errors(vec![error])
}

/// `GET /metrics`: the Prometheus text exposition of this subgraph; 401
/// without the configured bearer token, 404 when switched off.
async fn serve_metrics<Q, M, S>(
    State(endpoint): State<Arc<Endpoint<Q, M, S>>>,
    headers: HeaderMap,
) -> Response {
    match &endpoint.metrics_access {
        MetricsAccess::Open => {}
        MetricsAccess::Off => return StatusCode::NOT_FOUND.into_response(),
        MetricsAccess::Token(token) => {
            let offered = bearer_token(&headers).ok().flatten().unwrap_or_default();
            if !same_secret(offered, token.expose()) {
                let challenge = [(axum::http::header::WWW_AUTHENTICATE, "Bearer")];
                let body = "metrics need the bearer token\n";
                return (StatusCode::UNAUTHORIZED, challenge, body).into_response();
            }
        }
    }
    let body = endpoint.metrics.render(&endpoint.store).await;
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        crate::metrics::CONTENT_TYPE,
    )];
    (StatusCode::OK, content_type, body).into_response()
}

/// Compares two secrets in time independent of where they differ (their
/// SHA-256 digests, byte by byte).
fn same_secret(offered: &str, expected: &str) -> bool {
    use sha2::Digest as _;
    let (a, b) = (
        sha2::Sha256::digest(offered),
        sha2::Sha256::digest(expected),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthenticated(
            "Authorization must be \"Bearer <token>\"",
        )),
    }
}

fn correlation_id(headers: &HeaderMap) -> CorrelationId {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let from_traceparent = header("traceparent")
        .and_then(|tp| tp.split('-').nth(1))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    let id = header("x-request-id")
        .filter(|id| sane_request_id(id))
        .or(from_traceparent)
        .map(str::to_string)
        .unwrap_or_else(crate::ids::new_id);
    CorrelationId(id)
}

async fn ready<Q, M, S>(State(endpoint): State<Arc<Endpoint<Q, M, S>>>) -> impl IntoResponse {
    if let Err(err) = endpoint.store.ping().await {
        tracing::warn!(error = %err, "readiness check failed");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable".to_string(),
        );
    }
    for check in &endpoint.checks {
        let outcome =
            tokio::time::timeout(std::time::Duration::from_secs(5), (check.check)()).await;
        let failure = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(err)) => format!("{err:#}"),
            Err(_) => "timed out".to_string(),
        };
        tracing::warn!(check = check.name, error = %failure, "readiness check failed");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} unreachable", check.name),
        );
    }
    (StatusCode::OK, "ready".to_string())
}

/// Serves `router` until `shutdown` resolves, then finishes in-flight
/// requests and stops the background tasks (relays, consumers, sweepers;
/// see [`crate::tasks`]), waiting for them.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    crate::tasks::background().shutdown().await;
    crate::telemetry::flush().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Entry point of a subgraph's own binary: `--config <file.toml>` (or env
/// `JANTA_CONFIG`), environment overrides, logs, then serve until stopped.
pub async fn run_standalone<F, Fut>(domain: &str, build: F) -> anyhow::Result<()>
where
    F: FnOnce(crate::config::SubgraphConfig) -> Fut,
    Fut: Future<Output = anyhow::Result<Router>>,
{
    let usage = format!(
        "janta-{domain}: runs the {domain} subgraph alone\n\n\
         Usage: janta-{domain} [--config <file.toml>]\n\n\
         Settings come from the file, then from DATABASE_URL, JANTA_LISTEN, JANTA_MODE,\n\
         JANTA_JWKS_URL, JANTA_JWT_ISSUER, JANTA_JWT_AUDIENCE, JANTA_PUBLIC_URL,\n\
         JANTA_DATA_DIR, JANTA_SIGNING_KEY_FILE, JANTA_NATS_URL, JANTA_EVENTS_NAMESPACE,\n\
         JANTA_SERVICE_CLIENT_SECRET (users: JANTA_SERVICE_CLIENT_SECRET_<DOMAIN>), JANTA_TOKEN_URL,\n\
         JANTA_URL_SIGNING_SECRET, JANTA_PRESCRIPTION_VALIDITY_DAYS, JANTA_WEBHOOK_SECRET\n\
         and JANTA_PAYMENT_GATEWAY (see SubgraphConfig::load for the full list)."
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config_path = match args.as_slice() {
        [] => std::env::var("JANTA_CONFIG")
            .ok()
            .map(std::path::PathBuf::from),
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{usage}");
            return Ok(());
        }
        [flag, path] if flag == "--config" => Some(path.into()),
        _ => anyhow::bail!("{usage}"),
    };
    crate::telemetry::init_traced("info", &format!("janta-{domain}"))?;
    let config = crate::config::SubgraphConfig::load(domain, config_path.as_deref())?;
    let listen = config.listen;
    let router = build(config).await?;
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(domain, %listen, "subgraph listening");
    serve(router, listener, shutdown_signal()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn request_ids_are_kept_when_sane_else_minted() {
        let with = |id: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, id.parse().unwrap());
            correlation_id(&headers).0
        };
        assert_eq!(with("abc-123_XYZ"), "abc-123_XYZ");
        let long = "a".repeat(128);
        assert_eq!(with(&long), long);
        for bad in ["a".repeat(129), "two words".to_string(), String::new()] {
            let minted = with(&bad);
            assert_ne!(minted, bad);
            assert!(uuid::Uuid::parse_str(&minted).is_ok(), "{minted}");
        }
        let mut traced = HeaderMap::new();
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        traced.insert(
            "traceparent",
            format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap(),
        );
        assert_eq!(correlation_id(&traced).0, trace);
    }

    #[test]
    fn a_client_address_from_a_stranger_is_its_tcp_peer() {
        // A client that reaches the port directly cannot pick its address.
        let loopback = TrustedProxies::default();
        let spoofed = forwarded(&["203.0.113.9"]);
        assert_eq!(
            ClientAddress::from_parts(Some(ip("198.51.100.7")), &spoofed, &loopback),
            ClientAddress(Some(ip("198.51.100.7")))
        );
        assert_eq!(
            ClientAddress::from_parts(None, &spoofed, &loopback),
            ClientAddress(None)
        );
    }

    #[test]
    fn behind_a_loopback_proxy_the_right_most_outside_entry_wins() {
        // The router appends the address it saw; whatever the client wrote
        // is further left and loses.
        let loopback = TrustedProxies::default();
        let chain = forwarded(&["203.0.113.9, 198.51.100.7", "127.0.0.1"]);
        assert_eq!(
            ClientAddress::from_parts(Some(ip("127.0.0.1")), &chain, &loopback),
            ClientAddress(Some(ip("198.51.100.7")))
        );
        assert_eq!(
            ClientAddress::from_parts(
                Some(ip("::1")),
                &forwarded(&["2001:db8::5, ::1"]),
                &loopback
            ),
            ClientAddress(Some(ip("2001:db8::5")))
        );
        // Nothing usable forwarded: the proxy itself.
        assert_eq!(
            ClientAddress::from_parts(
                Some(ip("127.0.0.1")),
                &forwarded(&["junk", "127.0.0.1"]),
                &loopback
            ),
            ClientAddress(Some(ip("127.0.0.1")))
        );
    }

    #[test]
    fn a_router_on_another_host_is_believed_only_when_configured() {
        let router = ip("10.0.3.7");
        let via_router = forwarded(&["203.0.113.9"]);
        let loopback_only = TrustedProxies::default();
        assert_eq!(
            ClientAddress::from_parts(Some(router), &via_router, &loopback_only),
            ClientAddress(Some(router)),
            "an unlisted host's header is ignored"
        );
        let cluster = TrustedProxies::parse(["10.0.0.0/16", " ", "192.0.2.1"]).unwrap();
        assert_eq!(
            ClientAddress::from_parts(Some(router), &via_router, &cluster),
            ClientAddress(Some(ip("203.0.113.9")))
        );
        assert!(cluster.trusts(&ip("192.0.2.1")) && !cluster.trusts(&ip("192.0.2.2")));
        assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(["router.internal"]).is_err());
    }
}
