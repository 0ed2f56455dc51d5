//! The HTTP side of a subgraph, built the same way for all six:
//! `POST`/`GET /graphql` (token verified, caller put into the request),
//! `/health` (alive), `/ready` (database and any extra dependency, such as
//! the event bus, reachable), request tracing with a correlation ID, a body
//! size limit, and graceful shutdown.

use crate::auth::{Caller, TokenVerifier};
use crate::store::Store;
use crate::ApiError;
use async_graphql::{ObjectType, Pos, Schema, SchemaBuilder, SubscriptionType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Largest GraphQL request body a subgraph accepts.
pub const MAX_GRAPHQL_BODY: usize = 1024 * 1024;

/// The correlation ID of the request being served (from `x-request-id` or the
/// trace ID of `traceparent`, else fresh); events carry it onwards.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

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
/// as protected as through the router.
pub fn with_limits<Q, M, S>(builder: SchemaBuilder<Q, M, S>) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    builder
        .enable_federation()
        .limit_depth(16)
        .limit_complexity(20_000)
        .limit_recursive_depth(32)
}

struct Endpoint<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: Arc<TokenVerifier>,
    extend: RequestExtender,
    store: Store,
    checks: Vec<ReadinessCheck>,
}

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
    subgraph_router_with_checks(schema, verifier, store, extend, Vec::new())
}

/// [`subgraph_router`] whose `/ready` also runs `checks` (e.g. the event bus
/// from `janta_events::EventBus::readiness_check`).
pub fn subgraph_router_with_checks<Q, M, S>(
    schema: Schema<Q, M, S>,
    verifier: Arc<TokenVerifier>,
    store: Store,
    extend: RequestExtender,
    checks: Vec<ReadinessCheck>,
) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let endpoint = Arc::new(Endpoint {
        schema,
        verifier,
        extend,
        store,
        checks,
    });
    Router::new()
        .route("/graphql", get(graphql::<Q, M, S>).post(graphql::<Q, M, S>))
        .route("/ready", get(ready::<Q, M, S>))
        .layer(DefaultBodyLimit::max(MAX_GRAPHQL_BODY))
        .with_state(endpoint)
        .route("/health", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http())
}

async fn graphql<Q, M, S>(
    State(endpoint): State<Arc<Endpoint<Q, M, S>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let correlation = correlation_id(&headers);
    let caller = match bearer_token(&headers) {
        Ok(None) => Caller(None),
        Ok(Some(token)) => match endpoint.verifier.verify(token).await {
            Ok(principal) => Caller(Some(principal)),
            Err(err) => return error_response(err),
        },
        Err(err) => return error_response(err),
    };
    let span = tracing::info_span!("graphql", correlation_id = %correlation.0);
    let request = request.into_inner().data(caller).data(correlation);
    let request = (endpoint.extend)(request);
    let response = tracing::Instrument::instrument(endpoint.schema.execute(request), span).await;
    response.into()
}

fn error_response(err: ApiError) -> GraphQLResponse {
    let err: async_graphql::Error = err.into();
    async_graphql::Response::from_errors(vec![err.into_server_error(Pos::default())]).into()
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
        .filter(|id| id.len() == 32);
    let id = header("x-request-id")
        .filter(|id| id.len() <= 128)
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

/// Serves `router` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
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
         JANTA_URL_SIGNING_SECRET, JANTA_PRESCRIPTION_VALIDITY_DAYS and JANTA_WEBHOOK_SECRET."
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
    crate::telemetry::init("info");
    let config = crate::config::SubgraphConfig::load(domain, config_path.as_deref())?;
    let listen = config.listen;
    let router = build(config).await?;
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(domain, %listen, "subgraph listening");
    serve(router, listener, shutdown_signal()).await
}
