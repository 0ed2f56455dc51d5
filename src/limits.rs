//! `janta_limits`: limits per client in the router, before any subgraph is
//! called (the analysis stage, after the router's JWT check):
//! - a request rate per client (token buckets of
//!   `janta_platform::rate_limit`): partner apps by their token's subject,
//!   people by theirs, anonymous callers by address; `RATE_LIMITED` (HTTP
//!   429) with `extensions.retryAfter` in seconds;
//! - the document's cost (`janta_platform::query_cost`, the function every
//!   subgraph applies too): `QUERY_TOO_COSTLY` (HTTP 400) with
//!   `extensions.cost` and `extensions.maxCost`.
//!
//! Hive Router 0.2.19 has no rate limiting; its demand control sizes lists
//! from `@listSize` directives our subgraphs do not declare, so the cost is
//! ours, shared with the subgraphs. Buckets are per router process (see
//! `docs/partners.md`, "Limits").

use std::net::IpAddr;

use hive_router::http::StatusCode;
use hive_router::plugins::hooks::on_graphql_analysis::{
    OnGraphqlAnalysisHookPayload, OnGraphqlAnalysisHookResult,
};
use hive_router::plugins::hooks::on_graphql_params::{
    OnGraphQLParamsStartHookPayload, OnGraphQLParamsStartHookResult,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{
    EndHookPayload, FromGraphQLErrorToResponse, RouterPlugin, StartHookPayload,
};
use hive_router::sonic_rs::{self, JsonContainerTrait as _, JsonValueTrait as _};
use hive_router::{GraphQLError, PlanExecutionOutput};
use janta_platform::query_cost::{self, QUERY_TOO_COSTLY};
use janta_platform::rate_limit::{ClientKey, ClientLimits, Rate, RateLimiter};
use serde::Deserialize;

use crate::router::ClientIp;

/// The plugin: the buckets of this router process and the cost limit.
pub struct Limits {
    limiter: RateLimiter,
    max_query_cost: u64,
}

/// `plugins.janta_limits.config`: each value a number (or its text, as
/// `from_env` gives it); a burst of 0 means a fifth of the rate, the
/// subgraphs' rule for a rate given without a burst.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    max_query_cost: Number,
    rate_limit_per_minute: Number,
    rate_limit_burst: Number,
    partner_rate_limit_per_minute: Number,
    partner_rate_limit_burst: Number,
}

/// A number written as such or as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Number(u64),
    Text(String),
}

impl Number {
    fn value(&self, name: &str) -> Result<u64, String> {
        match self {
            Number::Number(n) => Ok(*n),
            Number::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| format!("janta_limits: {name} must be a whole number, not `{text}`")),
        }
    }
}

impl Limits {
    /// Checks and applies the configuration.
    pub fn from_config(config: &LimitsConfig) -> Result<Self, String> {
        let rate = |per_minute: &Number, burst: &Number, names: (&str, &str)| {
            let per_minute = positive(per_minute.value(names.0)?, names.0)?;
            let burst = match burst.value(names.1)? {
                0 => (per_minute / 5).max(1),
                burst => positive(burst, names.1)?,
            };
            Ok::<Rate, String>(Rate { per_minute, burst })
        };
        let limits = ClientLimits {
            user: rate(
                &config.rate_limit_per_minute,
                &config.rate_limit_burst,
                ("rate_limit_per_minute", "rate_limit_burst"),
            )?,
            partner: rate(
                &config.partner_rate_limit_per_minute,
                &config.partner_rate_limit_burst,
                ("partner_rate_limit_per_minute", "partner_rate_limit_burst"),
            )?,
        };
        let max_query_cost = config.max_query_cost.value("max_query_cost")?;
        Ok(Limits {
            limiter: RateLimiter::new(limits),
            max_query_cost: u64::from(positive(max_query_cost, "max_query_cost")?),
        })
    }

    /// The limits applied (for tests).
    #[cfg(test)]
    pub fn client_limits(&self) -> ClientLimits {
        self.limiter.limits()
    }

    /// The cost limit applied (for tests).
    #[cfg(test)]
    pub fn max_query_cost(&self) -> u64 {
        self.max_query_cost
    }

    /// `RATE_LIMITED` when the client's bucket is empty.
    fn admit(&self, key: Option<ClientKey>) -> Result<(), PlanExecutionOutput> {
        let Some(key) = key else { return Ok(()) };
        let Err(wait) = self.limiter.admit(&key) else {
            return Ok(());
        };
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut error = GraphQLError::from_message_and_code(
            "Too many requests from this client; wait before sending more.",
            "RATE_LIMITED",
        );
        error
            .extensions
            .extensions
            .insert("retryAfter".to_string(), sonic_rs::Value::from(seconds));
        Err(PlanExecutionOutput::from_graphql_error_to_response(
            error,
            StatusCode::TOO_MANY_REQUESTS,
        ))
    }

    /// `QUERY_TOO_COSTLY` when the document costs more than the limit.
    fn price(&self, cost: Option<u64>) -> Result<(), PlanExecutionOutput> {
        let Some(cost) = cost.filter(|cost| *cost > self.max_query_cost) else {
            return Ok(());
        };
        let mut error = GraphQLError::from_message_and_code(
            query_cost::too_costly_message(cost, self.max_query_cost),
            QUERY_TOO_COSTLY,
        );
        let extensions = &mut error.extensions.extensions;
        extensions.insert("cost".to_string(), sonic_rs::Value::from(cost));
        extensions.insert(
            "maxCost".to_string(),
            sonic_rs::Value::from(self.max_query_cost),
        );
        Err(PlanExecutionOutput::from_graphql_error_to_response(
            error,
            StatusCode::BAD_REQUEST,
        ))
    }
}

fn positive(value: u64, name: &str) -> Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("janta_limits: {name} must be a positive number"))
}

/// The request's variables as the client sent them, kept from the params
/// stage: the router moves them into its coerced form before analysis.
struct RequestVariables(serde_json::Value);

/// The client key of a request from its verified claims (`sub`, `roles`)
/// and the address `janta_client_address` found.
fn client_key(claims: Option<&sonic_rs::Value>, address: Option<IpAddr>) -> Option<ClientKey> {
    let subject = claims.and_then(|c| c.get("sub")).and_then(|s| s.as_str());
    let roles = claims
        .and_then(|c| c.get("roles"))
        .and_then(|r| r.as_array())
        .map(|roles| roles.iter().filter_map(|r| r.as_str()).collect::<Vec<_>>())
        .unwrap_or_default();
    ClientKey::from_claims(subject, roles, address)
}

#[hive_router::async_trait]
impl RouterPlugin for Limits {
    type Config = LimitsConfig;

    fn plugin_name() -> &'static str {
        "janta_limits"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config: LimitsConfig = payload.config()?;
        let plugin = Limits::from_config(&config)?;
        payload.initialize_plugin(plugin)
    }

    async fn on_graphql_params<'exec>(
        &'exec self,
        payload: OnGraphQLParamsStartHookPayload<'exec>,
    ) -> OnGraphQLParamsStartHookResult<'exec> {
        payload.on_end(|end| {
            let variables = sonic_rs::to_string(&end.graphql_params.variables)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            if let Some(variables) = variables {
                end.context.insert(RequestVariables(variables));
            }
            end.proceed()
        })
    }

    async fn on_graphql_analysis<'exec>(
        &'exec self,
        payload: &mut OnGraphqlAnalysisHookPayload<'exec>,
    ) -> OnGraphqlAnalysisHookResult {
        use hive_router::executor::execution::client_request_details::JwtRequestDetails;
        let claims = match payload.client_request_details.jwt.as_ref() {
            JwtRequestDetails::Authenticated { claims, .. } => Some(claims),
            JwtRequestDetails::Unauthenticated => None,
        };
        let address = payload.context.get_ref::<ClientIp>().map(|ip| ip.0);
        if let Err(refusal) = self.admit(client_key(claims, address)) {
            return OnGraphqlAnalysisHookResult::EndWithResponse(refusal);
        }
        let params = payload.graphql_params;
        let variables = payload
            .context
            .get_ref::<RequestVariables>()
            .map_or(serde_json::Value::Null, |v| v.0.clone());
        let cost = params.query.as_deref().and_then(|query| {
            query_cost::source_cost(query, params.operation_name.as_deref(), variables)
        });
        match self.price(cost) {
            Ok(()) => OnGraphqlAnalysisHookResult::Proceed,
            Err(refusal) => OnGraphqlAnalysisHookResult::EndWithResponse(refusal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both shipped configurations enable the plugin with the subgraphs'
    /// defaults, so the router and a subgraph reached directly agree.
    #[test]
    fn the_router_configs_apply_the_subgraphs_default_limits() {
        for file in ["dev.yaml", "production.yaml"] {
            let path = format!("{}/router-config/{file}", env!("CARGO_MANIFEST_DIR"));
            let config = hive_router::config::load_config(Some(path)).unwrap();
            let plugin = &config.plugins["janta_limits"];
            assert!(plugin.enabled, "{file}");
            let config: LimitsConfig = serde_json::from_value(plugin.config.clone()).unwrap();
            let limits = Limits::from_config(&config).unwrap();
            assert_eq!(limits.client_limits(), ClientLimits::default(), "{file}");
            assert_eq!(
                limits.max_query_cost(),
                query_cost::DEFAULT_MAX_QUERY_COST,
                "{file}"
            );
        }
    }

    #[test]
    fn numbers_may_be_text_and_a_zero_burst_is_a_fifth_of_the_rate() {
        let config: LimitsConfig = serde_json::from_value(serde_json::json!({
            "max_query_cost": "900",
            "rate_limit_per_minute": "3",
            "rate_limit_burst": 0,
            "partner_rate_limit_per_minute": 50,
            "partner_rate_limit_burst": "7",
        }))
        .unwrap();
        let limits = Limits::from_config(&config).unwrap();
        assert_eq!(limits.max_query_cost(), 900);
        assert_eq!(
            limits.client_limits().user,
            Rate {
                per_minute: 3,
                burst: 1
            }
        );
        assert_eq!(limits.client_limits().partner.burst, 7);
        let bad: LimitsConfig = serde_json::from_value(serde_json::json!({
            "max_query_cost": "lots",
            "rate_limit_per_minute": 1,
            "rate_limit_burst": 0,
            "partner_rate_limit_per_minute": 1,
            "partner_rate_limit_burst": 0,
        }))
        .unwrap();
        assert!(Limits::from_config(&bad).is_err());
    }

    #[test]
    fn claims_key_the_bucket_and_services_are_free() {
        let claims = |json: &str| sonic_rs::from_str::<sonic_rs::Value>(json).unwrap();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            client_key(
                Some(&claims(r#"{"sub":"u1","roles":["CUSTOMER"]}"#)),
                Some(ip)
            ),
            Some(ClientKey::User("u1".into()))
        );
        assert_eq!(
            client_key(
                Some(&claims(r#"{"sub":"partner:a","roles":["PARTNER"]}"#)),
                None
            ),
            Some(ClientKey::Partner("partner:a".into()))
        );
        assert_eq!(
            client_key(
                Some(&claims(r#"{"sub":"service:orders","roles":["SERVICE"]}"#)),
                Some(ip)
            ),
            None
        );
        assert_eq!(client_key(None, Some(ip)), Some(ClientKey::Address(ip)));
    }
}
