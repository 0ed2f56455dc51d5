//! `janta router`: Hive Router, in this process.
//!
//! The router is Hive Router (the `hive-router` crate), not code of ours: this
//! module only points it at a configuration file (`router-config/*.yaml`) and a
//! supergraph, then hands control to `hive_router::router_entrypoint`, exactly
//! as the stock `hive_router` binary does. Shipping it inside `janta` means one
//! binary runs the whole platform, with no separate router download.
//!
//! Two plugins are added (below): `janta_reject_invalid_jwt` makes the
//! router refuse a request whose `Authorization` header does not carry a
//! valid token, which hive-router alone does not do when authentication is
//! optional; `janta_client_address` tells subgraphs the client's network
//! address (for throttling and audit), which hive-router's header rules
//! cannot, since they never see the TCP peer. A third, `janta_playground`
//! (`src/playground.rs`), serves GraphiQL with all its files from this
//! binary instead of hive-router's CDN-loaded one. A fourth,
//! `janta_trusted_documents` (`src/trusted_documents.rs`), limits partner
//! apps to the contract's trusted documents when the deployment asks, and
//! `janta_error_codes` (`src/error_codes.rs`) gives the router's own errors
//! documented codes and readable messages. `janta_limits`
//! (`src/limits.rs`) applies the request rate and query cost limits per
//! client.

use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Context};
use hive_router::error::RouterInitError;
use hive_router::http::header::{HeaderName, HeaderValue};
use hive_router::http::StatusCode;
// `#[hive_router::main]` expands to `ntex::rt::System::build()...`, so the
// name `ntex` has to resolve here.
use hive_router::ntex;
use hive_router::plugins::hooks::on_graphql_analysis::{
    OnGraphqlAnalysisHookPayload, OnGraphqlAnalysisHookResult,
};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::hooks::on_subgraph_http_request::{
    OnSubgraphHttpRequestHookPayload, OnSubgraphHttpRequestHookResult,
};
use hive_router::plugins::plugin_trait::{
    FromGraphQLErrorToResponse, RouterPlugin, StartHookPayload,
};
use hive_router::{GraphQLError, PlanExecutionOutput, PluginRegistry};
use janta_platform::server::{ClientAddress, TrustedProxies};

use crate::error_codes::ErrorCodes;
use crate::limits::Limits;
use crate::metrics_path::MetricsPath;
use crate::playground::Playground;
use crate::request_id::RequestId;
use crate::trusted_documents::TrustedDocuments;
use serde::Deserialize;

/// Env var from which Hive Router reads the path of its configuration file.
pub const CONFIG_PATH_ENV: &str = "ROUTER_CONFIG_FILE_PATH";
/// Env var that Hive Router applies as `supergraph: { source: file, path }`,
/// over whatever the configuration file says.
const SUPERGRAPH_PATH_ENV: &str = "SUPERGRAPH_FILE_PATH";

/// Runs Hive Router until it is shut down (SIGINT/SIGTERM drain in-flight
/// requests first), serving the supergraph at `supergraph_path` with the
/// configuration at `config_path` (`router-config/dev.yaml` or
/// `router-config/production.yaml`).
///
/// It exists so the launcher can start the router as `janta router` instead
/// of depending on a separately installed Hive Router binary.
///
/// Both paths are made absolute first: Hive Router resolves relative paths
/// against the configuration file's directory, not the working directory.
/// Everything else (port, subgraph URLs, JWKS URL, CORS origins, log level)
/// comes from the configuration file and the environment; see the comments
/// in `router-config/`.
///
/// Call it from the main thread of a process that has started neither a
/// tokio runtime nor a `tracing` subscriber: the router runs its own ntex
/// runtime (nesting it inside a tokio runtime panics), installs the global
/// `tracing` subscriber from the `log` section of its configuration, and the
/// paths are handed over through process environment variables.
///
/// # Errors
///
/// Fails when either file cannot be read, when a `tracing` subscriber is
/// already installed, or when the router cannot start (invalid
/// configuration, unusable supergraph, port in use, JWKS unreachable at
/// startup) or stops with an I/O error.
pub fn run(config_path: &Path, supergraph_path: &Path) -> anyhow::Result<()> {
    if tracing::dispatcher::has_been_set() {
        bail!(
            "a tracing subscriber is already installed; the router installs its own, \
             so `janta router` must not set one up first"
        );
    }

    let config_path = std::fs::canonicalize(config_path).with_context(|| {
        format!(
            "router configuration file {} is not readable",
            config_path.display()
        )
    })?;
    let supergraph_path = std::fs::canonicalize(supergraph_path).with_context(|| {
        format!(
            "supergraph file {} is not readable (compose it first)",
            supergraph_path.display()
        )
    })?;

    std::env::set_var(CONFIG_PATH_ENV, &config_path);
    std::env::set_var(SUPERGRAPH_PATH_ENV, &supergraph_path);
    for (name, value) in trace_settings()? {
        std::env::set_var(name, value);
    }

    // `RouterInitError` can hold a non-`Send` boxed error, so it cannot become
    // an `anyhow::Error` directly; its message carries the cause.
    serve().map_err(|err| {
        anyhow::anyhow!(
            "router failed (config {}, supergraph {}): {err}",
            config_path.display(),
            supergraph_path.display()
        )
    })
}

/// The variables the `telemetry` section of `router-config/*.yaml` reads
/// (`{ from_env: JANTA_ROUTER_… }`), derived from the subgraphs' trace
/// settings ([`janta_platform::telemetry::TraceExport`]): the router's OTLP
/// exporter samples every request exactly when `JANTA_OTLP_ENDPOINT` is set
/// (sampling 0 otherwise, which turns its tracing off), and sends to
/// the same receiver as `janta-router` (unless `JANTA_SERVICE_NAME` names it).
fn trace_settings() -> anyhow::Result<Vec<(&'static str, String)>> {
    let Some(export) = janta_platform::telemetry::TraceExport::from_env("janta-router")? else {
        return Ok(vec![("JANTA_ROUTER_TRACES_SAMPLING", "0.0".to_string())]);
    };
    Ok(vec![
        ("JANTA_ROUTER_TRACES_SAMPLING", "1.0".to_string()),
        ("JANTA_ROUTER_TRACES_URL", export.traces_url),
        ("JANTA_ROUTER_SERVICE_NAME", export.service_name),
        (
            "JANTA_ROUTER_TRACES_DELAY",
            format!("{}ms", export.export_delay.as_millis()),
        ),
    ])
}

/// The body of the stock `hive_router` binary's `main`, run on an ntex
/// runtime built by the attribute (it makes this a blocking function).
#[hive_router::main]
async fn serve() -> Result<(), RouterInitError> {
    hive_router::init_rustls_crypto_provider();
    // First, so that its response hook wraps every later plugin's work.
    let plugins = PluginRegistry::new()
        .register::<RequestId>()
        .register::<Playground>()
        .register::<MetricsPath>()
        .register::<RejectInvalidJwt>()
        .register::<TrustedDocuments>()
        .register::<ErrorCodes>()
        .register::<ForwardClientAddress>()
        .register::<Limits>();
    hive_router::router_entrypoint(plugins).await
}

/// Refuses a request that carries an `Authorization` header but did not
/// authenticate, answering HTTP 401 with
/// `{"errors":[{"message":…,"extensions":{"code":"UNAUTHENTICATED"}}]}`.
///
/// With `jwt.require_authentication: false` (needed so that `register`,
/// `login` and catalog browsing work anonymously), hive-router treats an
/// invalid, expired or forged token exactly like no token and carries on
/// anonymously. A client with a stale token would then get confusing
/// per-field errors, or anonymous results, instead of being told to sign in
/// again. This hook runs after the router's JWT check (at the analysis
/// stage, before planning and before any subgraph is called), for queries,
/// mutations and subscriptions alike.
///
/// Enabled from the router configuration (`plugins.janta_reject_invalid_jwt`);
/// it switches itself off when `jwt.enabled` is false, since every token
/// would then look invalid.
struct RejectInvalidJwt;

#[hive_router::async_trait]
impl RouterPlugin for RejectInvalidJwt {
    type Config = ();

    fn plugin_name() -> &'static str {
        "janta_reject_invalid_jwt"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        if !payload.router_config().jwt.is_jwt_auth_enabled() {
            return payload.disable_plugin();
        }
        payload.initialize_plugin(RejectInvalidJwt)
    }

    async fn on_graphql_analysis<'exec>(
        &'exec self,
        payload: &mut OnGraphqlAnalysisHookPayload<'exec>,
    ) -> OnGraphqlAnalysisHookResult {
        if !payload
            .router_http_request
            .headers
            .contains_key("authorization")
        {
            return OnGraphqlAnalysisHookResult::Proceed;
        }

        // `jwt_status` is `Some(true)` only when the router verified the
        // token (signature, EdDSA, `exp`, `iss`, `aud`). An unreadable
        // context fails closed.
        let authenticated = payload
            .request_context
            .read()
            .is_ok_and(|ctx| ctx.authentication().jwt_status() == Some(&true));
        if authenticated {
            return OnGraphqlAnalysisHookResult::Proceed;
        }

        let error = GraphQLError::from_message_and_code(
            "The access token is invalid or has expired. Sign in again, \
             or send the request without an Authorization header.",
            "UNAUTHENTICATED",
        );
        OnGraphqlAnalysisHookResult::EndWithResponse(
            PlanExecutionOutput::from_graphql_error_to_response(error, StatusCode::UNAUTHORIZED),
        )
    }
}

/// The header carrying the client's address to subgraphs.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Sets `X-Forwarded-For` on every subgraph request to the one address the
/// router takes for the client's, replacing whatever the client sent:
/// the TCP peer, or, when the peer is loopback or one of the configured
/// `trusted_proxies` (a load balancer in front of the router), the
/// right-most `X-Forwarded-For` entry that is not — the same rule as
/// `janta_platform::server::ClientAddress`, which subgraphs apply to the
/// router's requests. A client therefore cannot choose the address that
/// throttling and the audit trail see by sending the header itself.
///
/// Enabled from the router configuration (`plugins.janta_client_address`,
/// `config.trusted_proxies`: addresses or CIDR networks).
struct ForwardClientAddress {
    trusted_proxies: TrustedProxies,
}

/// `plugins.janta_client_address.config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardClientAddressConfig {
    /// Proxies whose `X-Forwarded-For` the router believes (besides
    /// loopback), e.g. `10.0.0.0/8`.
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

/// The client's address, kept in the request's plugin context from the
/// HTTP request hook to the subgraph request hooks (and read by
/// `janta_limits` to key anonymous callers' buckets).
pub(crate) struct ClientIp(pub(crate) IpAddr);

impl ForwardClientAddress {
    /// Parses the configured proxies: a network (`10.0.0.0/8`) or a single
    /// address.
    fn from_config(config: ForwardClientAddressConfig) -> anyhow::Result<Self> {
        let trusted_proxies =
            TrustedProxies::parse(config.trusted_proxies.iter().map(String::as_str))
                .context("janta_client_address")?;
        Ok(ForwardClientAddress { trusted_proxies })
    }

    fn trusts(&self, ip: &IpAddr) -> bool {
        self.trusted_proxies.trusts(ip)
    }
}

#[hive_router::async_trait]
impl RouterPlugin for ForwardClientAddress {
    type Config = ForwardClientAddressConfig;

    fn plugin_name() -> &'static str {
        "janta_client_address"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let plugin = ForwardClientAddress::from_config(payload.config()?)
            .map_err(|err| format!("{err:#}"))?;
        payload.initialize_plugin(plugin)
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        let request = &payload.router_http_request;
        let forwarded = request
            .headers()
            .get_all(X_FORWARDED_FOR.as_str())
            .filter_map(|value| value.to_str().ok());
        let peer = request.peer_addr().map(|addr| addr.ip());
        if let ClientAddress(Some(ip)) =
            ClientAddress::from_forwarded(peer, forwarded, |ip| self.trusts(ip))
        {
            payload.context.insert(ClientIp(ip));
        }
        Box::pin(async move { payload.proceed() })
    }

    async fn on_subgraph_http_request<'exec>(
        &'exec self,
        mut payload: OnSubgraphHttpRequestHookPayload<'exec>,
    ) -> OnSubgraphHttpRequestHookResult<'exec> {
        let client = payload.context.get_ref::<ClientIp>().map(|ip| ip.0);
        let headers = &mut payload.execution_request.headers;
        headers.remove(X_FORWARDED_FOR);
        if let Some(value) = client.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
            headers.insert(X_FORWARDED_FOR, value);
        }
        payload.proceed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(trusted: &[&str]) -> ForwardClientAddress {
        ForwardClientAddress::from_config(ForwardClientAddressConfig {
            trusted_proxies: trusted.iter().map(|t| t.to_string()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses() {
        let plugin = plugin(&["10.0.0.0/8", " 192.0.2.7 "]);
        for (ip, trusted) in [
            ("10.1.2.3", true),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("127.0.0.1", true),
            ("::1", true),
            ("203.0.113.9", false),
        ] {
            assert_eq!(plugin.trusts(&ip.parse().unwrap()), trusted, "{ip}");
        }
        let err = ForwardClientAddress::from_config(ForwardClientAddressConfig {
            trusted_proxies: vec!["10.0.0.0/33".into()],
        })
        .err()
        .unwrap();
        assert!(format!("{err:#}").contains("10.0.0.0/33"), "{err:#}");
    }

    /// Both shipped configurations enable the plugin with a valid
    /// configuration and apply the limits every subgraph applies too.
    #[test]
    fn the_router_configs_forward_client_addresses_and_match_subgraph_limits() {
        for file in ["dev.yaml", "production.yaml"] {
            let path = format!("{}/router-config/{file}", env!("CARGO_MANIFEST_DIR"));
            let config = hive_router::config::load_config(Some(path)).unwrap();
            let plugin = &config.plugins["janta_client_address"];
            assert!(plugin.enabled);
            let plugin_config = serde_json::from_value(plugin.config.clone()).unwrap();
            ForwardClientAddress::from_config(plugin_config).unwrap();

            let limits = &config.limits;
            let subgraphs = janta_platform::query_limits::ROUTER_LIMITS;
            assert_eq!(limits.max_depth.as_ref().unwrap().n, subgraphs.max_depth);
            assert_eq!(
                limits.max_aliases.as_ref().unwrap().n,
                subgraphs.max_aliases
            );
            assert_eq!(
                limits.max_directives.as_ref().unwrap().n,
                subgraphs.max_directives
            );
            assert_eq!(limits.max_tokens.as_ref().unwrap().n, subgraphs.max_tokens);
            assert_eq!(
                limits.max_request_body_size.to_bytes() as usize,
                janta_platform::server::MAX_GRAPHQL_BODY
            );
        }
    }

    /// The shipped configurations export the router's spans exactly when
    /// `janta router` says so, to the URL, name and pace it derives.
    #[test]
    fn the_router_configs_export_traces_only_when_asked() {
        use hive_router::config::telemetry::tracing::TracingExporterConfig;
        for file in ["dev.yaml", "production.yaml"] {
            let path = format!("{}/router-config/{file}", env!("CARGO_MANIFEST_DIR"));
            let config = hive_router::config::load_config(Some(path.clone())).unwrap();
            assert!(!config.telemetry.is_tracing_enabled(), "{file}");
            assert!(config.telemetry.tracing.propagation.trace_context, "{file}");

            for (name, value) in [
                ("JANTA_ROUTER_TRACES_SAMPLING", "1.0"),
                ("JANTA_ROUTER_TRACES_URL", "http://collector:4318/v1/traces"),
                ("JANTA_ROUTER_SERVICE_NAME", "janta-router"),
                ("JANTA_ROUTER_TRACES_DELAY", "250ms"),
            ] {
                std::env::set_var(name, value);
            }
            let config = hive_router::config::load_config(Some(path)).unwrap();
            for name in [
                "JANTA_ROUTER_TRACES_SAMPLING",
                "JANTA_ROUTER_TRACES_URL",
                "JANTA_ROUTER_SERVICE_NAME",
                "JANTA_ROUTER_TRACES_DELAY",
            ] {
                std::env::remove_var(name);
            }
            assert!(config.telemetry.is_tracing_enabled(), "{file}");
            let Some(TracingExporterConfig::Otlp(otlp)) =
                config.telemetry.tracing.exporters.first()
            else {
                panic!("{file}: no OTLP exporter");
            };
            let endpoint = serde_json::to_value(&otlp.endpoint).unwrap();
            assert_eq!(endpoint, "http://collector:4318/v1/traces", "{file}");
            assert_eq!(
                otlp.batch_processor.scheduled_delay,
                std::time::Duration::from_millis(250)
            );
            let resource = serde_json::to_value(&config.telemetry.resource.attributes).unwrap();
            assert_eq!(
                resource["service.name"], "janta-router",
                "{file}: {resource}"
            );
        }
    }

    #[test]
    fn behind_a_trusted_balancer_the_client_is_the_entry_it_appended() {
        let plugin = plugin(&["10.0.0.0/8"]);
        let client = |peer: &str, forwarded: &[&str]| {
            ClientAddress::from_forwarded(
                Some(peer.parse().unwrap()),
                forwarded.iter().copied(),
                |ip| plugin.trusts(ip),
            )
            .0
            .map(|ip| ip.to_string())
        };
        // The balancer appended the real client after the client's own lie.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.9"]).as_deref(),
            Some("203.0.113.9")
        );
        // A client on the internet talking to the router directly.
        assert_eq!(
            client("203.0.113.9", &["1.1.1.1"]).as_deref(),
            Some("203.0.113.9")
        );
    }
}
