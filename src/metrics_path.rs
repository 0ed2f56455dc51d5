//! `janta_metrics_path`: `GET /metrics` on the router's public port is a
//! 404, never Hive Router's landing page (a 200 HTML page for any unknown
//! GET, which a scraper would take for a working endpoint).
//!
//! Router metrics are Hive Router's own Prometheus exporter
//! (`telemetry.metrics.exporters` in `router-config/*.yaml`): in dev on the
//! router's port (loopback only) at `/metrics`, where Hive Router answers
//! before any plugin runs, so this plugin never sees those requests; in
//! production on a separate internal port (9464), so the public port
//! answers 404 here.

use hive_router::ntex::http::header::CONTENT_TYPE;
use hive_router::ntex::http::{Response, StatusCode};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};

/// The path scrapers ask for.
pub const METRICS_PATH: &str = "/metrics";

/// The plugin (no state).
pub struct MetricsPath;

#[hive_router::async_trait]
impl RouterPlugin for MetricsPath {
    type Config = ();

    fn plugin_name() -> &'static str {
        "janta_metrics_path"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        payload.initialize_plugin(MetricsPath)
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        let hidden = payload.router_http_request.path() == METRICS_PATH;
        Box::pin(async move {
            if !hidden {
                return payload.proceed();
            }
            let response = Response::build(StatusCode::NOT_FOUND)
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body("router metrics are served on the internal metrics port\n");
            payload.end_with_response(response)
        })
    }
}
