//! `janta_error_codes`: every error the router itself answers carries a
//! documented `extensions.code` and a message without Rust internals.
//!
//! Hive Router 0.2.19 names a failed validation rule as the code
//! (`FieldsOnCorrectType`, `KnownArgumentNames`, …) where clients expect
//! `GRAPHQL_VALIDATION_FAILED`, and its variable coercion errors print Rust
//! debug text (`ID cannot represent value: Object(Object(...))`). This hook
//! rewrites both, keeping the rule's name as `extensions.rule` so nothing
//! useful is lost. Subgraph errors already follow `docs/errors.md` and pass
//! unchanged. The codes are listed in `docs/errors.md`.

use hive_router::plugins::hooks::on_graphql_error::{
    OnGraphQLErrorHookPayload, OnGraphQLErrorHookResult,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::RouterPlugin;
use hive_router::GraphQLError;

/// The code of a document that does not validate against the schema.
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The plugin (no state).
pub struct ErrorCodes;

#[hive_router::async_trait]
impl RouterPlugin for ErrorCodes {
    type Config = ();

    fn plugin_name() -> &'static str {
        "janta_error_codes"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        payload.initialize_plugin(ErrorCodes)
    }

    fn on_graphql_error<'req>(
        &'req self,
        mut payload: OnGraphQLErrorHookPayload<'req>,
    ) -> OnGraphQLErrorHookResult<'req> {
        normalize(&mut payload.error);
        payload.proceed()
    }
}

/// Rewrites a validation rule's name as the code into
/// `GRAPHQL_VALIDATION_FAILED` (the rule kept as `extensions.rule`), and
/// Rust debug text out of the message.
pub fn normalize(error: &mut GraphQLError) {
    if let Some(rule) = error.extensions.code.clone().filter(|c| is_rule_name(c)) {
        error.extensions.code = Some(GRAPHQL_VALIDATION_FAILED.to_string());
        error.extensions.extensions.insert(
            "rule".to_string(),
            hive_router::sonic_rs::Value::from(rule.as_str()),
        );
    }
    if let Some(readable) = without_debug_text(&error.message) {
        error.message = readable;
    }
}

/// Whether `code` is a validation rule's name (`FieldsOnCorrectType`)
/// rather than an error code (`UPPER_SNAKE_CASE`).
fn is_rule_name(code: &str) -> bool {
    code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.chars().any(|c| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `message` cut before Rust's debug rendering of a value, if it has one:
/// "ID cannot represent value: Object(...)" becomes "ID cannot represent
/// the value given".
fn without_debug_text(message: &str) -> Option<String> {
    const DEBUG_MARKERS: [&str; 6] = ["Object(", "Str(", "Number(", "Array(", "Bool(", "Null"];
    let (head, value) = message.split_once(": ")?;
    if !DEBUG_MARKERS
        .iter()
        .any(|m| value.trim_start().starts_with(m))
    {
        return None;
    }
    let head = head.strip_suffix(" value").unwrap_or(head);
    Some(format!("{head} the value given"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hive_router::sonic_rs::JsonValueTrait as _;

    fn error(message: &str, code: &str) -> GraphQLError {
        let mut e = GraphQLError::from(message.to_string());
        e.extensions.code = Some(code.to_string());
        e
    }

    #[test]
    fn a_rule_name_becomes_the_validation_code_and_is_kept() {
        let mut e = error(
            "Cannot query field \"nope\" on type \"Query\".",
            "FieldsOnCorrectType",
        );
        normalize(&mut e);
        assert_eq!(
            e.extensions.code.as_deref(),
            Some(GRAPHQL_VALIDATION_FAILED)
        );
        assert_eq!(
            e.extensions.extensions.get("rule").and_then(|v| v.as_str()),
            Some("FieldsOnCorrectType")
        );
        assert_eq!(e.message, "Cannot query field \"nope\" on type \"Query\".");
    }

    #[test]
    fn documented_codes_pass_unchanged() {
        for code in [
            "NOT_FOUND",
            "GRAPHQL_PARSE_FAILED",
            "BAD_REQUEST",
            "UNAUTHENTICATED",
        ] {
            let mut e = error("medicine not found", code);
            normalize(&mut e);
            assert_eq!(e.extensions.code.as_deref(), Some(code));
            assert!(e.extensions.extensions.is_empty());
        }
    }

    #[test]
    fn rust_debug_text_leaves_the_message() {
        let mut e = error(
            "ID cannot represent value: Object(Object(Object([(Str(\"a\"), Number(Number(1)))]))).",
            "BAD_USER_INPUT",
        );
        normalize(&mut e);
        assert_eq!(e.message, "ID cannot represent the value given");
        assert_eq!(e.extensions.code.as_deref(), Some("BAD_USER_INPUT"));
        let mut plain = error(
            "Variable \"$id\" of required type \"ID!\" was not provided.",
            "BAD_USER_INPUT",
        );
        normalize(&mut plain);
        assert_eq!(
            plain.message,
            "Variable \"$id\" of required type \"ID!\" was not provided."
        );
    }
}
