//! `janta_request_id`: the router's half of `x-request-id`. Every response
//! of the router carries one, and every subgraph request of it carries the
//! same: the client's own when sane (1 to 128 visible ASCII characters,
//! [`janta_platform::server::sane_request_id`]), else a fresh UUID. The
//! subgraphs echo it too (`janta_platform::server`), so one ID names a
//! request in the client's hands, the router's log and every subgraph's
//! log and events.
//!
//! Gap: a response a plugin answers itself in its HTTP request hook (the
//! playground's page and files) skips the response hooks of Hive Router
//! 0.2.19, so it carries no `x-request-id`; GraphQL responses, refusals
//! included, always do.

use hive_router::http::HeaderValue;
use hive_router::ntex::http::header::{HeaderName as NtexHeaderName, HeaderValue as NtexValue};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::hooks::on_subgraph_http_request::{
    OnSubgraphHttpRequestHookPayload, OnSubgraphHttpRequestHookResult,
};
use hive_router::plugins::plugin_trait::{EndHookPayload, RouterPlugin, StartHookPayload};
use janta_platform::server::{sane_request_id, REQUEST_ID};

/// The plugin (no state).
pub struct RequestId;

/// The request's ID, kept in its plugin context for the subgraph requests.
struct Id(String);

/// The client's request ID when sane, else a fresh one.
pub fn request_id(incoming: Option<&str>) -> String {
    incoming
        .filter(|id| sane_request_id(id))
        .map(str::to_string)
        .unwrap_or_else(janta_platform::ids::new_id)
}

#[hive_router::async_trait]
impl RouterPlugin for RequestId {
    type Config = ();

    fn plugin_name() -> &'static str {
        "janta_request_id"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        payload.initialize_plugin(RequestId)
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        let incoming = payload.router_http_request.headers().get(REQUEST_ID);
        let id = request_id(incoming.and_then(|v| v.to_str().ok()));
        payload.context.insert(Id(id.clone()));
        Box::pin(async move {
            payload.on_end(move |end| {
                end.map_response(|mut response| {
                    if let Ok(value) = NtexValue::from_str(&id) {
                        response
                            .response_mut()
                            .headers_mut()
                            .insert(NtexHeaderName::from_static(REQUEST_ID), value);
                    }
                    response
                })
                .proceed()
            })
        })
    }

    async fn on_subgraph_http_request<'exec>(
        &'exec self,
        mut payload: OnSubgraphHttpRequestHookPayload<'exec>,
    ) -> OnSubgraphHttpRequestHookResult<'exec> {
        let id = payload.context.get_ref::<Id>().map(|id| id.0.clone());
        if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            payload.execution_request.headers.insert(REQUEST_ID, value);
        }
        payload.proceed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_id_is_kept_and_anything_else_replaced() {
        assert_eq!(request_id(Some("req-42")), "req-42");
        for bad in [None, Some(""), Some("a b"), Some(&"x".repeat(129)[..])] {
            let minted = request_id(bad);
            assert!(uuid::Uuid::parse_str(&minted).is_ok(), "{bad:?}");
        }
    }
}
