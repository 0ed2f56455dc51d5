//! `janta_trusted_documents`: partner apps may run only the contract's
//! trusted documents, when the deployment asks for it.
//!
//! Hive Router resolves persisted-document IDs itself (`persisted_documents`
//! in `router-config/`), and its `require_id` switch would refuse ad-hoc
//! documents from everyone — the playground and first-party apps included.
//! This plugin narrows the rule to partner apps: a request whose verified
//! token carries partner scopes (client-credentials tokens of partner apps;
//! see `docs/partners.md`) must run a document of the manifest, sent by ID or
//! as its exact text. Everyone else stays free.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hive_router::http::StatusCode;
use hive_router::plugins::hooks::on_graphql_analysis::{
    OnGraphqlAnalysisHookPayload, OnGraphqlAnalysisHookResult,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{FromGraphQLErrorToResponse, RouterPlugin};
use hive_router::{GraphQLError, PlanExecutionOutput};
use serde::Deserialize;

/// The error code of an ad-hoc document from a partner app.
pub const TRUSTED_DOCUMENT_REQUIRED: &str = "TRUSTED_DOCUMENT_REQUIRED";

/// `plugins.janta_trusted_documents.config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedDocumentsConfig {
    /// The manifest (`janta compose` writes it), relative to the router
    /// configuration file.
    manifest: String,
    /// Whether partner apps may run only the manifest's documents
    /// (`true`/`false`, also as the text a `from_env` value gives).
    #[serde(default, deserialize_with = "flag")]
    partners_only_trusted: bool,
}

/// A boolean written as `true` or as the text `"true"` (what the router's
/// `from_env` substitution yields inside plugin configuration).
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Flag::deserialize(deserializer)? {
        Flag::Bool(value) => Ok(value),
        Flag::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "partners_only_trusted must be true or false, not {other:?}"
            ))),
        },
    }
}

/// The plugin: the manifest's documents, by text.
pub struct TrustedDocuments {
    documents: HashSet<String>,
}

impl TrustedDocuments {
    /// Reads the manifest (a JSON object of ID → document).
    fn load(path: &Path) -> anyhow::Result<Self> {
        let raw = std::fs::read_to_string(path)
            .with_context(|| format!("reading trusted documents {}", path.display()))?;
        let manifest: std::collections::BTreeMap<String, String> = serde_json::from_str(&raw)
            .with_context(|| format!("{} is not a manifest of documents", path.display()))?;
        Ok(TrustedDocuments {
            documents: manifest
                .into_values()
                .map(|d| d.trim().to_string())
                .collect(),
        })
    }

    /// Whether `document` is one of the trusted documents (surrounding
    /// whitespace aside).
    fn trusts(&self, document: &str) -> bool {
        self.documents.contains(document.trim())
    }
}

/// Whether a token scope is a partner app's: every scope but the
/// `service:<name>` scopes the subgraphs' own clients carry.
pub fn is_partner_scope(scope: &str) -> bool {
    !scope.is_empty() && !scope.starts_with("service:")
}

/// `manifest` resolved against the directory of the router configuration
/// file (`ROUTER_CONFIG_FILE_PATH`, set by `janta router`), as Hive Router
/// resolves its own relative paths.
fn resolve(manifest: &str) -> PathBuf {
    let path = PathBuf::from(manifest);
    if path.is_absolute() {
        return path;
    }
    std::env::var_os(crate::router::CONFIG_PATH_ENV)
        .map(PathBuf::from)
        .and_then(|config| config.parent().map(|dir| dir.join(&path)))
        .unwrap_or(path)
}

#[hive_router::async_trait]
impl RouterPlugin for TrustedDocuments {
    type Config = TrustedDocumentsConfig;

    fn plugin_name() -> &'static str {
        "janta_trusted_documents"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        if !config.partners_only_trusted {
            return payload.disable_plugin();
        }
        let plugin =
            TrustedDocuments::load(&resolve(&config.manifest)).map_err(|err| format!("{err:#}"))?;
        payload.initialize_plugin(plugin)
    }

    async fn on_graphql_analysis<'exec>(
        &'exec self,
        payload: &mut OnGraphqlAnalysisHookPayload<'exec>,
    ) -> OnGraphqlAnalysisHookResult {
        let partner = payload.request_context.read().is_ok_and(|ctx| {
            ctx.authentication().jwt_status() == Some(&true)
                && ctx
                    .authentication()
                    .jwt_scopes()
                    .is_some_and(|scopes| scopes.iter().any(|s| is_partner_scope(s)))
        });
        if !partner || self.trusts(payload.client_request_details.operation.query) {
            return OnGraphqlAnalysisHookResult::Proceed;
        }
        let error = GraphQLError::from_message_and_code(
            "Partner apps run trusted documents only: send the contract operation's \
             documentId (see docs/partners.md), not a document of your own.",
            TRUSTED_DOCUMENT_REQUIRED,
        );
        OnGraphqlAnalysisHookResult::EndWithResponse(
            PlanExecutionOutput::from_graphql_error_to_response(error, StatusCode::BAD_REQUEST),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_partner_scopes_make_a_partner() {
        assert!(is_partner_scope("orders:read"));
        assert!(is_partner_scope("catalog:read"));
        assert!(!is_partner_scope("service:orders"));
        assert!(!is_partner_scope(""));
    }

    #[test]
    fn the_switch_reads_booleans_and_their_text() {
        let read = |json: &str| serde_json::from_str::<TrustedDocumentsConfig>(json);
        assert!(
            read(r#"{"manifest": "m", "partners_only_trusted": "true"}"#)
                .unwrap()
                .partners_only_trusted
        );
        assert!(
            read(r#"{"manifest": "m", "partners_only_trusted": true}"#)
                .unwrap()
                .partners_only_trusted
        );
        assert!(
            !read(r#"{"manifest": "m", "partners_only_trusted": "false"}"#)
                .unwrap()
                .partners_only_trusted
        );
        assert!(!read(r#"{"manifest": "m"}"#).unwrap().partners_only_trusted);
        assert!(read(r#"{"manifest": "m", "partners_only_trusted": "maybe"}"#).is_err());
    }

    #[test]
    fn the_manifest_is_trusted_by_exact_text() {
        let dir = std::env::temp_dir().join(format!("janta-trusted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("documents.json");
        std::fs::write(&manifest, r#"{"abc": "query Me { me { id } }"}"#).unwrap();
        let plugin = TrustedDocuments::load(&manifest).unwrap();
        assert!(plugin.trusts("query Me { me { id } }"));
        assert!(plugin.trusts("query Me { me { id } }\n"));
        assert!(!plugin.trusts("query Me { me { id email } }"));
        std::fs::write(&manifest, "[1, 2]").unwrap();
        assert!(TrustedDocuments::load(&manifest).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
