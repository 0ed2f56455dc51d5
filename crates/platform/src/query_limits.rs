//! The router's document limits (`limits` in `router-config/*.yaml`),
//! applied by every subgraph too, so that a subgraph reached directly on its
//! own port refuses what the router refuses, with the router's error codes
//! (`MAX_DEPTH_EXCEEDED`, `MAX_ALIASES_EXCEEDED`, `MAX_DIRECTIVES_EXCEEDED`,
//! `TOKEN_LIMIT_EXCEEDED`, `GRAPHQL_PARSE_FAILED`).
//!
//! The counts follow Hive Router's, with allowances for what its query
//! planner adds to the documents it sends subgraphs, so that no document the
//! router accepted is refused one hop later:
//! - depth counts fields only: the planner wraps an entity's selection in
//!   `_entities(representations: $r) { ... on T { … } }`, which replaces the
//!   entity field (one level) by `_entities` (one level), while the router
//!   counts the inline fragment as a further level;
//! - the aliases the planner writes (`_e<N>` on `_entities` when it batches
//!   entity fetches, `_internal_qp_alias_<N>` when it renames a conflicting
//!   field) do not spend the caller's alias budget but have one of their own;
//! - entity representations travel as variables, which no limit counts.
//!
//! The extension also prices the document ([`crate::query_cost`],
//! `QUERY_TOO_COSTLY`) against the request's [`MaxQueryCost`].

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Variables};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Limits on one GraphQL document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest nesting of fields (a root field is at depth 1; fragments add
    /// nothing; introspection's `__schema` and `__type` are not counted).
    pub max_depth: usize,
    /// Most aliases the caller wrote in one operation (a fragment's aliases
    /// count at each spread); the planner's aliases have the same budget apart.
    pub max_aliases: usize,
    /// Most directives in one operation (a fragment's count at each spread).
    pub max_directives: usize,
    /// Most lexical tokens in the whole document, checked before parsing.
    pub max_tokens: usize,
    /// Deepest nesting of `{`, `(` and `[`, checked before parsing (the
    /// router's parser refuses deeper documents too); keeps the parser's
    /// recursion bounded.
    pub max_nesting: usize,
}

/// The values of `limits` in `router-config/dev.yaml` and `production.yaml`
/// (and the recursion limit of the router's parser). Change them together.
pub const ROUTER_LIMITS: QueryLimits = QueryLimits {
    max_depth: 12,
    max_aliases: 30,
    max_directives: 20,
    max_tokens: 2000,
    max_nesting: 50,
};

/// The async-graphql extension that applies [`QueryLimits`] around parsing:
/// tokens and nesting on the source before the parser runs, depth, aliases
/// and directives on the parsed document. Add it with
/// `SchemaBuilder::extension` (done by `server::with_limits`).
pub struct EnforceLimits(pub QueryLimits);

impl ExtensionFactory for EnforceLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(EnforceLimitsExtension(self.0))
    }
}

struct EnforceLimitsExtension(QueryLimits);

#[async_trait::async_trait]
impl Extension for EnforceLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_source(query, &self.0)?;
        let document = next.run(ctx, query, variables).await?;
        check_document(&document, &self.0)?;
        check_request_cost(ctx, &document, variables)?;
        Ok(document)
    }
}

/// The most a document may cost on this request (put into the request's
/// data by the server, from `JANTA_MAX_QUERY_COST`); without it,
/// [`crate::query_cost::DEFAULT_MAX_QUERY_COST`].
#[derive(Debug, Clone, Copy)]
pub struct MaxQueryCost(pub u64);

/// Refuses a document costing more than the request's [`MaxQueryCost`]
/// (`QUERY_TOO_COSTLY`), before anything resolves; service principals'
/// calls are not priced.
fn check_request_cost(
    ctx: &ExtensionContext<'_>,
    document: &ExecutableDocument,
    variables: &Variables,
) -> ServerResult<()> {
    let service = ctx
        .data_opt::<crate::auth::Caller>()
        .and_then(|caller| caller.0.as_ref())
        .is_some_and(|p| p.has_role(crate::auth::Role::Service));
    if service {
        return Ok(());
    }
    let max = ctx
        .data_opt::<MaxQueryCost>()
        .map_or(crate::query_cost::DEFAULT_MAX_QUERY_COST, |max| max.0);
    crate::query_cost::check_cost(document, None, variables, max)
}

/// Refuses a document with too many tokens or too deep a nesting, without
/// parsing it (so a huge or deeply nested document costs one linear scan).
pub fn check_source(source: &str, limits: &QueryLimits) -> ServerResult<()> {
    let mut scanner = Scanner {
        bytes: source.as_bytes(),
        at: 0,
    };
    let (mut tokens, mut nesting) = (0usize, 0usize);
    while let Some(token) = scanner.next_token() {
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(refusal("TOKEN_LIMIT_EXCEEDED", "Token limit exceeded."));
        }
        match token {
            b'{' | b'(' | b'[' => nesting += 1,
            b'}' | b')' | b']' => nesting = nesting.saturating_sub(1),
            _ => {}
        }
        if nesting > limits.max_nesting {
            return Err(refusal("GRAPHQL_PARSE_FAILED", "Recursion limit exceeded."));
        }
    }
    Ok(())
}

/// Refuses a parsed document any of whose operations is too deep or has
/// too many aliases or directives.
pub fn check_document(document: &ExecutableDocument, limits: &QueryLimits) -> ServerResult<()> {
    let mut walk = Walk {
        document,
        fragments: HashMap::new(),
        visiting: HashSet::new(),
    };
    for (_, operation) in document.operations.iter() {
        let mut counts = walk.selection_set(&operation.node.selection_set.node);
        counts.directives = counts
            .directives
            .saturating_add(operation.node.directives.len());
        counts.check(limits)?;
    }
    Ok(())
}

/// What one selection set (with its fragments) adds up to.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    depth: usize,
    aliases: usize,
    planner_aliases: usize,
    directives: usize,
}

impl Counts {
    /// Sums two sibling selections (depth: the deeper one).
    fn merge(self, other: Counts) -> Counts {
        Counts {
            depth: self.depth.max(other.depth),
            aliases: self.aliases.saturating_add(other.aliases),
            planner_aliases: self.planner_aliases.saturating_add(other.planner_aliases),
            directives: self.directives.saturating_add(other.directives),
        }
    }

    fn check(&self, limits: &QueryLimits) -> ServerResult<()> {
        if self.depth > limits.max_depth {
            return Err(refusal("MAX_DEPTH_EXCEEDED", "Query depth limit exceeded."));
        }
        if self.aliases > limits.max_aliases || self.planner_aliases > limits.max_aliases {
            return Err(refusal("MAX_ALIASES_EXCEEDED", "Aliases limit exceeded."));
        }
        if self.directives > limits.max_directives {
            return Err(refusal(
                "MAX_DIRECTIVES_EXCEEDED",
                "Directives limit exceeded.",
            ));
        }
        Ok(())
    }
}

/// Counts selection sets, each named fragment once (then reused at every
/// spread); a fragment spread inside itself counts nothing (validation
/// refuses such cycles later).
struct Walk<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Counts>,
    visiting: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Counts {
        set.items
            .iter()
            .map(|selection| self.selection(&selection.node))
            .fold(Counts::default(), Counts::merge)
    }

    fn selection(&mut self, selection: &'a Selection) -> Counts {
        match selection {
            Selection::Field(field) => {
                let field = &field.node;
                let inner = self.selection_set(&field.selection_set.node);
                let name = field.name.node.as_str();
                let alias = field.alias.as_ref().map(|a| a.node.as_str());
                let planner = alias.is_some_and(|alias| is_planner_alias(alias, name));
                Counts {
                    depth: if is_introspection(name) {
                        0
                    } else {
                        inner.depth + 1
                    },
                    aliases: inner.aliases + usize::from(alias.is_some() && !planner),
                    planner_aliases: inner.planner_aliases + usize::from(planner),
                    directives: inner.directives.saturating_add(field.directives.len()),
                }
            }
            Selection::InlineFragment(fragment) => {
                let mut inner = self.selection_set(&fragment.node.selection_set.node);
                inner.directives = inner
                    .directives
                    .saturating_add(fragment.node.directives.len());
                inner
            }
            Selection::FragmentSpread(spread) => {
                let mut inner = self.fragment(spread.node.fragment_name.node.as_str());
                inner.directives = inner
                    .directives
                    .saturating_add(spread.node.directives.len());
                inner
            }
        }
    }

    fn fragment(&mut self, name: &'a str) -> Counts {
        if let Some(counts) = self.fragments.get(name) {
            return *counts;
        }
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Counts::default();
        };
        if !self.visiting.insert(key.as_str()) {
            return Counts::default();
        }
        let mut counts = self.selection_set(&definition.node.selection_set.node);
        counts.directives = counts
            .directives
            .saturating_add(definition.node.directives.len());
        self.visiting.remove(key.as_str());
        self.fragments.insert(key.as_str(), counts);
        counts
    }
}

/// `__schema` and `__type` are answered from the schema itself; the router
/// leaves them out of the depth too.
fn is_introspection(field: &str) -> bool {
    field == "__schema" || field == "__type"
}

/// An alias Hive Router's query planner writes: `_e<N>` on a batched
/// `_entities` fetch, or `_internal_qp_alias_<N>` on a renamed field.
fn is_planner_alias(alias: &str, field: &str) -> bool {
    let numbered = |prefix: &str| {
        alias
            .strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    (field == "_entities" && numbered("_e")) || numbered("_internal_qp_alias_")
}

/// A request error carrying the router's `extensions.code`.
fn refusal(code: &str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// A GraphQL lexer just precise enough to count tokens: names, numbers,
/// strings and block strings are one token each, `...` is one, any other
/// character one; whitespace, commas and comments are none.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    /// Skips to the next token and past it; returns its first byte.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_ignored();
        let first = *self.bytes.get(self.at)?;
        match first {
            b'"' if self.bytes[self.at..].starts_with(b"\"\"\"") => self.block_string(),
            b'"' => self.string(),
            b'.' if self.bytes[self.at..].starts_with(b"...") => self.at += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                self.at += 1;
                self.skip_while(|b| b.is_ascii_alphanumeric() || b == b'_');
            }
            b'0'..=b'9' | b'-' => {
                self.at += 1;
                self.skip_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
            }
            _ => self.at += 1,
        }
        Some(first)
    }

    fn skip_ignored(&mut self) {
        loop {
            match self.bytes.get(self.at) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b',') => self.at += 1,
                Some(b'#') => self.skip_while(|b| b != b'\n' && b != b'\r'),
                // The byte order mark (U+FEFF) is ignored like whitespace.
                Some(0xEF) if self.bytes[self.at..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                    self.at += 3
                }
                _ => return,
            }
        }
    }

    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
        while self.bytes.get(self.at).is_some_and(|b| keep(*b)) {
            self.at += 1;
        }
    }

    fn string(&mut self) {
        self.at += 1;
        while let Some(byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'"' | b'\n' | b'\r' => return,
                _ => {}
            }
        }
    }

    fn block_string(&mut self) {
        self.at += 3;
        while self.at < self.bytes.len() {
            let rest = &self.bytes[self.at..];
            if rest.starts_with(b"\\\"\"\"") {
                self.at += 4;
            } else if rest.starts_with(b"\"\"\"") {
                self.at += 3;
                return;
            } else {
                self.at += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn code(result: ServerResult<()>) -> Option<String> {
        let error = result.err()?;
        let value = error.extensions?.get("code")?.clone();
        Some(value.to_string().trim_matches('"').to_string())
    }

    fn document_code(query: &str) -> Option<String> {
        let document = parse_query(query).expect("valid syntax");
        code(check_document(&document, &ROUTER_LIMITS))
    }

    fn nested(depth: usize) -> String {
        let mut query = String::new();
        for _ in 0..depth {
            query.push_str("a { ");
        }
        query.push('b');
        for _ in 0..depth {
            query.push_str(" }");
        }
        format!("{{ {query} }}")
    }

    fn aliased(count: usize, alias: impl Fn(usize) -> String, field: &str) -> String {
        let fields: Vec<String> = (0..count)
            .map(|i| format!("{}: {field} {{ id }}", alias(i)))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    }

    #[test]
    fn depth_counts_fields_up_to_the_routers_twelve() {
        // `nested(n)` puts the leaf at depth n + 1.
        assert_eq!(document_code(&nested(11)), None);
        assert_eq!(
            document_code(&nested(12)).as_deref(),
            Some("MAX_DEPTH_EXCEEDED")
        );
        assert_eq!(
            document_code(&nested(13)).as_deref(),
            Some("MAX_DEPTH_EXCEEDED")
        );
    }

    #[test]
    fn depth_follows_fragments_but_fragments_add_no_level() {
        let inner = nested(10); // 11 levels below the spread
        let query = format!(
            "query {{ x {{ ...F }} }} fragment F on X {{ ... on X {{ {} }} }}",
            inner.trim_start_matches('{').trim_end_matches('}')
        );
        assert_eq!(document_code(&query), None);
        let query = format!(
            "query {{ x {{ y {{ ...F }} }} }} fragment F on X {{ {} }}",
            inner.trim_start_matches('{').trim_end_matches('}')
        );
        assert_eq!(document_code(&query).as_deref(), Some("MAX_DEPTH_EXCEEDED"));
    }

    #[test]
    fn introspection_is_left_out_of_the_depth() {
        let of_types = "ofType { ".repeat(8);
        let query = format!(
            "{{ __schema {{ types {{ fields {{ type {{ {of_types} name {} }} }} }} }} }}",
            "} ".repeat(8)
        );
        assert_eq!(document_code(&query), None);
    }

    #[test]
    fn a_cyclic_fragment_does_not_hang_the_count() {
        let query = "{ ...A } fragment A on Query { ...B } fragment B on Query { x ...A }";
        assert_eq!(document_code(query), None);
    }

    #[test]
    fn aliases_are_capped_at_thirty_counting_fragments_at_each_spread() {
        assert_eq!(document_code(&aliased(30, |i| format!("a{i}"), "x")), None);
        assert_eq!(
            document_code(&aliased(31, |i| format!("a{i}"), "x")).as_deref(),
            Some("MAX_ALIASES_EXCEEDED")
        );
        let spreads = "...F ".repeat(4);
        let fragment_aliases: String = (0..8).map(|i| format!("f{i}: id ")).collect();
        let query = format!("{{ x {{ {spreads} }} }} fragment F on X {{ {fragment_aliases} }}");
        assert_eq!(
            document_code(&query).as_deref(),
            Some("MAX_ALIASES_EXCEEDED")
        );
    }

    #[test]
    fn the_planners_aliases_have_their_own_budget() {
        let batch = aliased(30, |i| format!("_e{i}"), "_entities");
        let own: String = (0..30).map(|i| format!("a{i}: id ")).collect();
        let query = format!("{} {own} }}", batch.trim_end_matches('}'));
        assert_eq!(document_code(&query), None);
        assert_eq!(
            document_code(&aliased(31, |i| format!("_e{i}"), "_entities")).as_deref(),
            Some("MAX_ALIASES_EXCEEDED")
        );
        // `_e<N>` on anything but `_entities` is the caller's own alias.
        assert_eq!(
            document_code(&aliased(31, |i| format!("_e{i}"), "x")).as_deref(),
            Some("MAX_ALIASES_EXCEEDED")
        );
    }

    #[test]
    fn directives_are_capped_at_twenty() {
        let twenty = "x @include(if: true) ".repeat(20);
        assert_eq!(document_code(&format!("{{ {twenty} }}")), None);
        assert_eq!(
            document_code(&format!("query @a {{ {twenty} }}")).as_deref(),
            Some("MAX_DIRECTIVES_EXCEEDED")
        );
    }

    #[test]
    fn tokens_and_nesting_are_checked_before_parsing() {
        let names = "a ".repeat(1998);
        assert_eq!(
            code(check_source(&format!("{{{names}}}"), &ROUTER_LIMITS)),
            None
        );
        assert_eq!(
            code(check_source(&format!("{{{names} b}}"), &ROUTER_LIMITS)).as_deref(),
            Some("TOKEN_LIMIT_EXCEEDED")
        );
        // Strings, comments and commas: a string is one token, the rest none.
        let query = format!(
            "{{ a(s: \"{}\") # {}\n , }}",
            "x y z ".repeat(500),
            "c ".repeat(3000)
        );
        assert_eq!(code(check_source(&query, &ROUTER_LIMITS)), None);
        let deep = format!("{}{}", "{a".repeat(51), "}".repeat(51));
        assert_eq!(
            code(check_source(&deep, &ROUTER_LIMITS)).as_deref(),
            Some("GRAPHQL_PARSE_FAILED")
        );
    }

    #[test]
    fn block_strings_and_spreads_are_one_token_each() {
        let mut scanner = Scanner {
            bytes: br#"{ ...F s: """a \""" b""" n: -1.5e3 }"#,
            at: 0,
        };
        let tokens: Vec<u8> = std::iter::from_fn(|| scanner.next_token()).collect();
        assert_eq!(tokens, b"{.Fs:\"n:-}".to_vec());
    }
}
