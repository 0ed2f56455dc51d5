//! The static cost of a GraphQL document, computed before anything runs, by
//! the router (`janta_limits`, `src/limits.rs`) and by every subgraph (the
//! [`crate::query_limits::EnforceLimits`] extension) with this one function,
//! so a document refused by the router is refused by a subgraph reached on
//! its own port too (`QUERY_TOO_COSTLY`, `extensions.cost` and
//! `extensions.maxCost`).
//!
//! The cost counts how many fields a document may resolve: every field
//! costs 1 (`__typename` nothing), and the selection below a list is
//! multiplied by the list's size: its `first` or `last` argument (variables
//! and their defaults resolved), or [`DEFAULT_PAGE_SIZE`] for a connection
//! (a field selecting `edges` or `nodes`) without one. Nested lists
//! compound: `a(first: 100) { b(first: 100) { c } }` costs
//! `1 + 100 × (1 + 100 × 1)` = 10 101. Fragments count at each spread; an
//! inline fragment's fields count as if written in place. Lists without
//! a page argument that are not connections (an order's lines, say) count
//! once: their size is bounded by the domain, not by the client.
//!
//! Hive Router 0.2.19 has demand control, but it sizes lists from
//! `@listSize` directives the subgraphs' schemas do not carry, with a cost
//! model of its own and refusals the subgraphs could not repeat; this
//! function is the one both sides share.

use crate::pagination::DEFAULT_PAGE_SIZE;
use async_graphql::parser::types::Field;
use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, ServerError, Value as ConstValue, Variables};
use std::collections::{HashMap, HashSet};

/// The default most a document may cost (`JANTA_MAX_QUERY_COST`): every
/// operation of the client contract costs well under it, even at pages of
/// 100 (`crates/platform/tests/contract_cost.rs`; the costliest, a search
/// page of 100, is 4 701), while a page of 100 inside a page of 100
/// (10 101 and up) is refused.
pub const DEFAULT_MAX_QUERY_COST: u64 = 8_000;

/// The code of a document refused for its cost.
pub const QUERY_TOO_COSTLY: &str = "QUERY_TOO_COSTLY";

/// The most a document may cost, when a deployment sets
/// `JANTA_MAX_QUERY_COST` (a positive whole number), else
/// [`DEFAULT_MAX_QUERY_COST`]; an unusable value falls back to the default
/// with a warning.
pub fn max_query_cost_from_env() -> u64 {
    match std::env::var("JANTA_MAX_QUERY_COST") {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(max) if max > 0 => max,
            _ => {
                tracing::warn!(value = %text, "JANTA_MAX_QUERY_COST is not a positive number; using the default");
                DEFAULT_MAX_QUERY_COST
            }
        },
        Err(_) => DEFAULT_MAX_QUERY_COST,
    }
}

/// The cost of the operation `operation_name` of `document` (of its
/// costliest operation when no name is given or the name matches none),
/// with `variables` resolving `first: $n`.
pub fn document_cost(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> u64 {
    let named = operation_name.and_then(|name| {
        document
            .operations
            .iter()
            .find(|(op, _)| op.map(Name::as_str) == Some(name))
    });
    let operations: Vec<&OperationDefinition> = match named {
        Some((_, op)) => vec![&op.node],
        None => document.operations.iter().map(|(_, op)| &op.node).collect(),
    };
    operations
        .into_iter()
        .map(|operation| {
            let mut walk = CostWalk {
                document,
                operation,
                variables,
                fragments: HashMap::new(),
                visiting: HashSet::new(),
            };
            walk.selection_set(&operation.selection_set.node)
        })
        .max()
        .unwrap_or(0)
}

/// The cost of a document given as text with JSON `variables` (the
/// router's view of a request); `None` when it does not parse (then the
/// router refuses it for that).
pub fn source_cost(
    query: &str,
    operation_name: Option<&str>,
    variables: serde_json::Value,
) -> Option<u64> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    Some(document_cost(
        &document,
        operation_name,
        &Variables::from_json(variables),
    ))
}

/// Refuses a document costing more than `max_cost` with
/// `QUERY_TOO_COSTLY`, `extensions.cost` and `extensions.maxCost`.
pub fn check_cost(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    max_cost: u64,
) -> Result<(), ServerError> {
    let cost = document_cost(document, operation_name, variables);
    if cost <= max_cost {
        return Ok(());
    }
    let mut error = ServerError::new(too_costly_message(cost, max_cost), None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", QUERY_TOO_COSTLY);
    extensions.set("cost", cost);
    extensions.set("maxCost", max_cost);
    error.extensions = Some(extensions);
    Err(error)
}

/// The message of a `QUERY_TOO_COSTLY` refusal (the router's and the
/// subgraphs' alike).
pub fn too_costly_message(cost: u64, max_cost: u64) -> String {
    format!(
        "The query costs {cost}, more than the limit of {max_cost}: ask for smaller pages \
         (first/last) or fewer nested lists."
    )
}

/// Adds up one operation, each named fragment computed once; a fragment
/// spread inside itself costs nothing (validation refuses such cycles).
struct CostWalk<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    fragments: HashMap<&'a str, u64>,
    visiting: HashSet<&'a str>,
}

impl<'a> CostWalk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> u64 {
        set.items
            .iter()
            .map(|item| self.selection(&item.node))
            .fold(0u64, u64::saturating_add)
    }

    fn selection(&mut self, selection: &'a Selection) -> u64 {
        match selection {
            Selection::Field(field) => {
                let field = &field.node;
                if field.name.node == "__typename" {
                    return 0;
                }
                let inner = self.selection_set(&field.selection_set.node);
                let size = self.list_size(field);
                1u64.saturating_add(size.saturating_mul(inner))
            }
            Selection::InlineFragment(fragment) => {
                self.selection_set(&fragment.node.selection_set.node)
            }
            Selection::FragmentSpread(spread) => {
                self.fragment(spread.node.fragment_name.node.as_str())
            }
        }
    }

    fn fragment(&mut self, name: &'a str) -> u64 {
        if let Some(cost) = self.fragments.get(name) {
            return *cost;
        }
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return 0;
        };
        if !self.visiting.insert(key.as_str()) {
            return 0;
        }
        let cost = self.selection_set(&definition.node.selection_set.node);
        self.visiting.remove(key.as_str());
        self.fragments.insert(key.as_str(), cost);
        cost
    }

    /// How many items the field may return: its `first` or `last` (the
    /// larger when both), the default page for a connection without
    /// either, else one.
    fn list_size(&self, field: &'a Field) -> u64 {
        let sizes = ["first", "last"]
            .iter()
            .filter_map(|arg| field.get_argument(arg))
            .filter_map(|value| {
                let value = value.node.clone();
                value
                    .into_const_with(|name| self.variable(&name).ok_or(()))
                    .ok()
            })
            .filter_map(|value| constant_number(&value))
            .max();
        if let Some(size) = sizes {
            return size;
        }
        let connection = field.selection_set.node.items.iter().any(|item| {
            matches!(&item.node, Selection::Field(f)
                if matches!(f.node.name.node.as_str(), "edges" | "nodes"))
        });
        if connection {
            DEFAULT_PAGE_SIZE as u64
        } else {
            1
        }
    }

    /// A variable's value in the request, else its default; `null`,
    /// absent or negative page sizes count as not given.
    fn variable(&self, name: &Name) -> Option<ConstValue> {
        self.variables
            .get(name)
            .cloned()
            .or_else(|| self.variable_default(name))
    }

    fn variable_default(&self, name: &Name) -> Option<ConstValue> {
        self.operation
            .variable_definitions
            .iter()
            .find(|definition| definition.node.name.node == *name)
            .and_then(|definition| definition.node.default_value.as_ref())
            .map(|value| value.node.clone())
    }
}

fn constant_number(value: &ConstValue) -> Option<u64> {
    match value {
        ConstValue::Number(number) => number.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost(query: &str, variables: serde_json::Value) -> u64 {
        let document = parse_query(query).expect("valid syntax");
        document_cost(&document, None, &Variables::from_json(variables))
    }

    #[test]
    fn a_page_of_100_inside_a_page_of_100_costs_ten_thousand_and_more() {
        let query = "{ a(first: 100) { b(first: 100) { c } } }";
        assert_eq!(cost(query, serde_json::json!({})), 1 + 100 * (1 + 100));
        // Without lists it is a count of fields.
        assert_eq!(cost("{ a { b { c } } }", serde_json::json!({})), 3);
        assert_eq!(cost("{ a { __typename b } }", serde_json::json!({})), 2);
    }

    #[test]
    fn variables_and_their_defaults_size_the_pages() {
        let query = "query Q($n: Int, $m: Int = 7) { a(first: $n) { x } b(last: $m) { x } }";
        assert_eq!(
            cost(query, serde_json::json!({"n": 50})),
            (1 + 50) + (1 + 7)
        );
        assert_eq!(
            cost(query, serde_json::json!({"n": 50, "m": 3})),
            (1 + 50) + (1 + 3)
        );
        // An absent variable without default: a connection's default page.
        let connection = "query Q($n: Int) { a(first: $n) { edges { node { id } } } }";
        assert_eq!(
            cost(connection, serde_json::json!({})),
            1 + 20 * (1 + 1 + 1)
        );
        assert_eq!(cost(connection, serde_json::json!({"n": null})), 1 + 20 * 3);
    }

    #[test]
    fn connections_without_first_use_the_default_page() {
        assert_eq!(
            cost("{ a { nodes { id name } } }", serde_json::json!({})),
            1 + 20 * (1 + 2)
        );
        // A plain list without page arguments counts once.
        assert_eq!(cost("{ a { items { id } } }", serde_json::json!({})), 3);
    }

    #[test]
    fn fragments_count_at_each_spread_and_aliases_count_again() {
        let query = "{ a(first: 10) { ...F } b: a(first: 10) { ...F ... on A { z } } } \
                     fragment F on A { x y }";
        assert_eq!(
            cost(query, serde_json::json!({})),
            (1 + 10 * 2) + (1 + 10 * 3)
        );
        let cyclic = "{ ...A } fragment A on Query { x ...B } fragment B on Query { ...A }";
        assert_eq!(cost(cyclic, serde_json::json!({})), 1);
    }

    #[test]
    fn the_named_operation_is_priced_else_the_costliest() {
        let document = parse_query("query Small { a } query Big { a b c }").unwrap();
        let vars = Variables::default();
        assert_eq!(document_cost(&document, Some("Small"), &vars), 1);
        assert_eq!(document_cost(&document, None, &vars), 3);
        let refused = check_cost(&document, None, &vars, 2).unwrap_err();
        let extensions = refused.extensions.unwrap();
        assert_eq!(
            extensions.get("code"),
            Some(&ConstValue::from(QUERY_TOO_COSTLY))
        );
        assert_eq!(extensions.get("cost"), Some(&ConstValue::from(3u64)));
        assert_eq!(extensions.get("maxCost"), Some(&ConstValue::from(2u64)));
        assert!(check_cost(&document, None, &vars, 3).is_ok());
    }
}
