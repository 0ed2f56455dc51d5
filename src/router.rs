//! `janta router`: Hive Router, in this process.
//!
//! The router is Hive Router (the `hive-router` crate), not code of ours: this
//! module only points it at a configuration file (`router-config/*.yaml`) and a
//! supergraph, then hands control to `hive_router::router_entrypoint`, exactly
//! as the stock `hive_router` binary does. Shipping it inside `janta` means one
//! binary runs the whole platform, with no separate router download.
//!
//! The one addition is the `janta_reject_invalid_jwt` plugin (below): it makes
//! the router refuse a request whose `Authorization` header does not carry a
//! valid token, which hive-router alone does not do when authentication is
//! optional.

use std::path::Path;

use anyhow::{bail, Context};
use hive_router::error::RouterInitError;
use hive_router::http::StatusCode;
// `#[hive_router::main]` expands to `ntex::rt::System::build()...`, so the
// name `ntex` has to resolve here.
use hive_router::ntex;
use hive_router::plugins::hooks::on_graphql_analysis::{
    OnGraphqlAnalysisHookPayload, OnGraphqlAnalysisHookResult,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{FromGraphQLErrorToResponse, RouterPlugin};
use hive_router::{GraphQLError, PlanExecutionOutput, PluginRegistry};

/// Env var from which Hive Router reads the path of its configuration file.
const CONFIG_PATH_ENV: &str = "ROUTER_CONFIG_FILE_PATH";
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

/// The body of the stock `hive_router` binary's `main`, run on an ntex
/// runtime built by the attribute (it makes this a blocking function).
#[hive_router::main]
async fn serve() -> Result<(), RouterInitError> {
    hive_router::init_rustls_crypto_provider();
    hive_router::router_entrypoint(PluginRegistry::new().register::<RejectInvalidJwt>()).await
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
