//! Supergraph composition for Janta.
//!
//! The six subgraphs export their schemas with async-graphql; this module turns those SDLs
//! into one supergraph SDL using Apollo's composition (ported to Rust in `apollo-federation`),
//! and can load the result the same way Apollo Router does, so we know the file we hand to
//! Hive Router also works in Apollo Router.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context as _};
use apollo_federation::composition::{compose as federation_compose, CompositionOptions};
use apollo_federation::query_plan::query_planner::{QueryPlanner, QueryPlannerConfig};
use apollo_federation::subgraph::typestate::Subgraph;
use apollo_federation::{ApiSchemaOptions, Supergraph};

/// One subgraph's schema as fed to composition.
///
/// Composition needs more than the SDL: the name becomes the `join__Graph` enum value that
/// every `@join__*` directive refers to, and the URL is written into `@join__graph(url: ...)`,
/// which is where the router sends that subgraph's fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphSdl {
    /// Subgraph name, e.g. `users` (becomes `USERS` in `join__Graph`).
    pub name: String,
    /// URL of the subgraph's GraphQL endpoint, as the router should reach it.
    pub url: String,
    /// The subgraph's federation SDL (e.g. async-graphql's federation export).
    pub sdl: String,
}

/// Directives every GraphQL schema has built in. async-graphql re-declares some of them in its
/// SDL export; such re-declarations must not leak into the supergraph (Apollo Router crashes on
/// a supergraph carrying `directive @include`/`@skip`).
const BUILT_IN_DIRECTIVES: &[&str] = &["include", "skip", "deprecated", "specifiedBy"];

/// Removes re-declarations of the built-in directives (`@include`, `@skip`, `@deprecated`,
/// `@specifiedBy`) from a subgraph SDL, including their description strings.
///
/// Exists because async-graphql's federation export re-declares `@include` and `@skip` (and
/// `@deprecated`/`@specifiedBy` when used), and a supergraph carrying those crashes Apollo
/// Router. `apollo_compiler` is not re-exported by `apollo-federation`, so this is a small
/// token-aware scan (it understands strings, block strings, comments and nesting) rather than
/// a line-based filter: definitions spanning several lines are removed whole, while uses of the
/// directives and everything else are left byte-for-byte intact.
pub fn clean_subgraph_sdl(sdl: &str) -> String {
    let bytes = sdl.as_bytes();
    let mut out = String::with_capacity(sdl.len());
    let mut copied_up_to = 0;
    let mut depth = 0usize; // nesting of (), [] and {}
    let mut pending_description: Option<usize> = None; // start of a top-level string
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = skip_comment(bytes, i),
            b'"' => {
                if depth == 0 {
                    pending_description = Some(i);
                }
                i = skip_string(bytes, i);
            }
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'(' | b'[' | b'{' => {
                depth += 1;
                pending_description = None;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                pending_description = None;
                i += 1;
            }
            c if is_name_start(c) => {
                let start = i;
                i = skip_name(bytes, i);
                if depth == 0 && &sdl[start..i] == "directive" {
                    if let Some(end) = built_in_definition_end(sdl, i) {
                        let from = pending_description.unwrap_or(start);
                        out.push_str(&sdl[copied_up_to..from]);
                        copied_up_to = skip_rest_of_blank_line(bytes, end);
                        i = copied_up_to;
                    }
                }
                pending_description = None;
            }
            _ => {
                pending_description = None;
                i += 1;
            }
        }
    }
    out.push_str(&sdl[copied_up_to..]);
    out
}

/// If the text after a top-level `directive` keyword (at `i`) defines a built-in directive,
/// returns the offset just past its last location name.
fn built_in_definition_end(sdl: &str, i: usize) -> Option<usize> {
    let bytes = sdl.as_bytes();
    let mut i = skip_ignored(bytes, i);
    if bytes.get(i) != Some(&b'@') {
        return None;
    }
    i = skip_ignored(bytes, i + 1);
    let name_start = i;
    i = skip_name(bytes, i);
    if !BUILT_IN_DIRECTIVES.contains(&&sdl[name_start..i]) {
        return None;
    }
    i = skip_ignored(bytes, i);
    if bytes.get(i) == Some(&b'(') {
        i = skip_balanced_parens(bytes, i)?;
        i = skip_ignored(bytes, i);
    }
    let mut word_start = i;
    i = skip_name(bytes, i);
    if &sdl[word_start..i] == "repeatable" {
        i = skip_ignored(bytes, i);
        word_start = i;
        i = skip_name(bytes, i);
    }
    if &sdl[word_start..i] != "on" {
        return None;
    }
    i = skip_ignored(bytes, i);
    if bytes.get(i) == Some(&b'|') {
        i = skip_ignored(bytes, i + 1);
    }
    // Location list: Name ( "|" Name )*
    loop {
        let location_start = i;
        i = skip_name(bytes, i);
        if i == location_start {
            return None;
        }
        let after = skip_ignored(bytes, i);
        if bytes.get(after) != Some(&b'|') {
            return Some(i);
        }
        i = skip_ignored(bytes, after + 1);
    }
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn skip_name(bytes: &[u8], mut i: usize) -> usize {
    if i < bytes.len() && is_name_start(bytes[i]) {
        while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
            i += 1;
        }
    }
    i
}

fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

/// Skips a `"string"` or `"""block string"""` starting at `i`; returns the offset after it.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    if bytes[i..].starts_with(b"\"\"\"") {
        let mut j = i + 3;
        while j < bytes.len() {
            if bytes[j..].starts_with(b"\\\"\"\"") {
                j += 4;
            } else if bytes[j..].starts_with(b"\"\"\"") {
                return j + 3;
            } else {
                j += 1;
            }
        }
        bytes.len()
    } else {
        let mut j = i + 1;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                b'\n' | b'\r' => return j, // unterminated; let the real parser complain
                _ => j += 1,
            }
        }
        bytes.len()
    }
}

/// Skips whitespace, commas and comments.
fn skip_ignored(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => i = skip_comment(bytes, i),
            _ => break,
        }
    }
    i
}

/// Skips a parenthesised argument list starting at `i` (which is `(`), honouring strings and
/// comments; `None` if it never closes.
fn skip_balanced_parens(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'#' => {
                i = skip_comment(bytes, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// After a removed definition, also drops trailing blanks and the line break, so no empty
/// line is left behind when the definition occupied whole lines.
fn skip_rest_of_blank_line(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    if bytes[i..].starts_with(b"\r\n") {
        i + 2
    } else if i < bytes.len() && bytes[i] == b'\n' {
        i + 1
    } else {
        i
    }
}

/// Composes the subgraphs into a supergraph and returns its SDL.
///
/// This is the single place Janta produces the supergraph both Hive Router and Apollo Router
/// load. It runs `apollo_federation::composition::compose`, Apollo's full pipeline (link
/// expansion, fed1->fed2 upgrade, merge, and the satisfiability check that every field is
/// reachable). Each SDL goes through [`clean_subgraph_sdl`] first. On failure the error lists
/// every composition error (and hint) with its code, so the cause is visible in one message.
pub fn compose(subgraphs: &[SubgraphSdl]) -> anyhow::Result<String> {
    let mut parsed = Vec::with_capacity(subgraphs.len());
    let mut parse_errors = String::new();
    for subgraph in subgraphs {
        let sdl = clean_subgraph_sdl(&subgraph.sdl);
        match Subgraph::parse(&subgraph.name, &subgraph.url, &sdl) {
            Ok(s) => parsed.push(s),
            Err(e) => write!(parse_errors, "{e}").expect("writing to a String"),
        }
    }
    if !parse_errors.is_empty() {
        bail!(
            "could not parse subgraph schema(s):\n{}",
            parse_errors.trim_end()
        );
    }

    match federation_compose(parsed, CompositionOptions::default()) {
        Ok(supergraph) => {
            for hint in supergraph.hints() {
                tracing::info!(code = hint.code(), "composition hint: {}", hint.message());
            }
            Ok(supergraph.schema().schema().to_string())
        }
        Err(failure) => {
            let mut message = format!(
                "supergraph composition failed with {} error(s):",
                failure.errors.len()
            );
            for error in &failure.errors {
                write!(
                    message,
                    "\n  - {}: {error}",
                    error.code().definition().code()
                )
                .expect("writing to a String");
            }
            if !failure.hints.is_empty() {
                message.push_str("\nhints:");
                for hint in &failure.hints {
                    write!(message, "\n  - {}: {}", hint.code(), hint.message())
                        .expect("writing to a String");
                }
            }
            Err(anyhow!(message))
        }
    }
}

/// The client-facing API schema of a supergraph: what clients and partners
/// may query, without federation directives, join/link machinery or
/// `@inaccessible` fields. Published as `schema/janta.graphql` so clients
/// generate code from it and CI diffs it for breaking changes.
pub fn api_schema(supergraph_sdl: &str) -> anyhow::Result<String> {
    let supergraph = Supergraph::new_with_router_specs(supergraph_sdl)
        .map_err(|e| anyhow!("{e}"))
        .context("supergraph is not loadable")?;
    let api = supergraph
        .to_api_schema(ApiSchemaOptions::default())
        .map_err(|e| anyhow!("{e}"))
        .context("cannot derive the API schema from the supergraph")?;
    Ok(api.schema().to_string())
}

/// The operations of a contract file, each as its own document, from its
/// `query`/`mutation`/`subscription` line to its closing brace at the start
/// of a line (the contract's layout), keyed by operation name.
pub fn contract_operations(contract: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in contract.lines() {
        if let Some((_, body)) = current.as_mut() {
            body.push(line);
            if line == "}" {
                let (name, body) = current.take().expect("an open operation");
                if found.insert(name.clone(), body.join("\n")).is_some() {
                    bail!("the contract has two operations named {name}");
                }
            }
            continue;
        }
        let mut words = line.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
        if let (Some("query" | "mutation" | "subscription"), Some(name)) =
            (words.next(), words.next())
        {
            if name.is_empty() {
                bail!("every contract operation needs a name: {line}");
            }
            current = Some((name.to_string(), vec![line]));
        }
    }
    if let Some((name, _)) = current {
        bail!("operation {name} has no closing brace at the start of a line");
    }
    Ok(found)
}

/// The trusted-documents manifest of the contract for Hive Router's
/// `persisted_documents` (a JSON object of document ID → document). The ID
/// is the hex SHA-256 of the document text, which is also what Apollo's
/// `extensions.persistedQuery.sha256Hash` carries, so either way of sending
/// an ID finds it.
pub fn persisted_documents(contract: &str) -> anyhow::Result<String> {
    let manifest: BTreeMap<String, String> = contract_operations(contract)?
        .into_values()
        .map(|document| (hex::encode(Sha256::digest(document.as_bytes())), document))
        .collect();
    Ok(serde_json::to_string_pretty(&manifest)? + "\n")
}

/// Loads a supergraph SDL the way Apollo Router does and fails if Router would reject it.
///
/// Exists so tests and `janta` can prove the supergraph is Apollo-Router-compatible without
/// building Apollo Router: it calls `Supergraph::new_with_router_specs` (Router's loader,
/// which validates the schema, the join/link specs and the supported `for: EXECUTION`
/// features), derives the API schema, and builds a `QueryPlanner` with the default config
/// (which builds the federated query graph Router plans over).
pub fn validate_supergraph(supergraph_sdl: &str) -> anyhow::Result<()> {
    let supergraph = Supergraph::new_with_router_specs(supergraph_sdl)
        .map_err(|e| anyhow!("{e}"))
        .context("supergraph is not loadable by Apollo Router")?;
    supergraph
        .to_api_schema(ApiSchemaOptions::default())
        .map_err(|e| anyhow!("{e}"))
        .context("cannot derive the API schema from the supergraph")?;
    QueryPlanner::new(&supergraph, QueryPlannerConfig::default())
        .map_err(|e| anyhow!("{e}"))
        .context("cannot build a query planner for the supergraph")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What async-graphql's `federation().compose_directive()` export puts in front of types.
    const ASYNC_GRAPHQL_BUILT_INS: &str = r#"
"""
Directs the executor to include this field or fragment only when the `if` argument is true.
"""
directive @include(
	"""
	Included when true.
	"""
	if: Boolean!
) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
"""
Directs the executor to skip this field or fragment when the `if` argument is true.
"""
directive @skip(
	"""
	Skipped when true.
	"""
	if: Boolean!
) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
"#;

    const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])"#;

    fn subgraph(name: &str, types: &str) -> SubgraphSdl {
        SubgraphSdl {
            name: name.to_string(),
            url: format!("http://127.0.0.1:4000/{name}/graphql"),
            sdl: format!("{types}\n{ASYNC_GRAPHQL_BUILT_INS}\n{LINK}\n"),
        }
    }

    fn users() -> SubgraphSdl {
        subgraph(
            "users",
            r#"
type User @key(fields: "id") {
	id: ID!
	name: String!
}
type Query {
	me: User
}"#,
        )
    }

    fn orders() -> SubgraphSdl {
        subgraph(
            "orders",
            r#"
type User @key(fields: "id") {
	id: ID!
	orders: [Order!]!
}
type Order @key(fields: "id") {
	id: ID!
	total: Int!
}
type Query {
	order(id: ID!): Order
}"#,
        )
    }

    #[test]
    fn clean_removes_only_built_in_definitions() {
        let sdl = format!(
            "{ASYNC_GRAPHQL_BUILT_INS}\n\
             \"Custom\" directive @includeMore(x: String = \"on FIELD) |\") on FIELD_DEFINITION\n\
             directive @deprecated(reason: String = \"No longer supported\") on\n  | FIELD_DEFINITION\n  | ENUM_VALUE\n\
             # directive @skip(if: Boolean!) on FIELD\n\
             type T {{ a: Int @deprecated(reason: \"directive @skip\") }}\n"
        );
        let cleaned = clean_subgraph_sdl(&sdl);
        // The built-in definitions (and their descriptions) are gone ...
        assert!(
            !cleaned.lines().any(|l| l.starts_with("directive @")),
            "{cleaned}"
        );
        assert!(!cleaned.contains("Directs the executor"), "{cleaned}");
        assert!(!cleaned.contains("ENUM_VALUE"), "{cleaned}");
        assert!(
            cleaned.contains(
                "\"Custom\" directive @includeMore(x: String = \"on FIELD) |\") on FIELD_DEFINITION"
            ),
            "{cleaned}"
        );
        // ... while comments and directive uses mentioning them are untouched.
        assert!(
            cleaned.contains("# directive @skip(if: Boolean!) on FIELD"),
            "{cleaned}"
        );
        assert!(
            cleaned.contains("type T { a: Int @deprecated(reason: \"directive @skip\") }"),
            "{cleaned}"
        );
    }

    #[test]
    fn composes_and_loads_like_apollo_router() {
        let supergraph = compose(&[users(), orders()]).expect("composition succeeds");
        assert!(
            supergraph.contains(r#"@join__graph(name: "users""#),
            "{supergraph}"
        );
        assert!(
            supergraph.contains(r#"@join__graph(name: "orders""#),
            "{supergraph}"
        );
        assert!(
            supergraph.contains("@link(url: \"https://specs.apollo.dev/join/v0."),
            "{supergraph}"
        );
        assert!(!supergraph.contains("directive @include"), "{supergraph}");
        assert!(!supergraph.contains("directive @skip"), "{supergraph}");
        let query_type = supergraph
            .lines()
            .find(|line| line.starts_with("type Query"))
            .expect("supergraph has a Query type");
        assert!(
            query_type.contains("@join__type(graph: USERS"),
            "{query_type}"
        );
        assert!(
            query_type.contains("@join__type(graph: ORDERS"),
            "{query_type}"
        );

        validate_supergraph(&supergraph).expect("Apollo Router's loader accepts the supergraph");
    }

    #[test]
    fn conflicting_non_shareable_field_fails_with_its_name() {
        let a = subgraph("a", "type Query { me: String }");
        let b = subgraph("b", "type Query { me: String }");
        let error = compose(&[a, b])
            .expect_err("Query.me is not shareable")
            .to_string();
        assert!(error.contains("Query.me"), "{error}");
        assert!(error.contains("INVALID_FIELD_SHARING"), "{error}");
    }

    #[test]
    fn validate_rejects_a_non_supergraph() {
        assert!(validate_supergraph("type Query { a: Int }").is_err());
    }
}
