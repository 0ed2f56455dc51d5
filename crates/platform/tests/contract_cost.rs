//! Every operation of the client contract (`tests/contract/operations.graphql`)
//! costs less than the default query cost limit, even with every `Int`
//! variable (the page sizes) at the largest page, so the limit refuses
//! nothing an app or partner is promised.

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{BaseType, ExecutableDocument};
use async_graphql::Variables;
use janta_platform::pagination::MAX_PAGE_SIZE;
use janta_platform::query_cost::{document_cost, DEFAULT_MAX_QUERY_COST};

const CONTRACT: &str = include_str!("../../../tests/contract/operations.graphql");

/// Every `Int` variable of `operation` at the largest page size.
fn largest_pages(document: &ExecutableDocument, operation: &str) -> Variables {
    let (_, definition) = document
        .operations
        .iter()
        .find(|(name, _)| name.map(|n| n.as_str()) == Some(operation))
        .expect("operation exists");
    let mut variables = serde_json::Map::new();
    for variable in &definition.node.variable_definitions {
        let ty = &variable.node.var_type.node;
        if matches!(&ty.base, BaseType::Named(name) if name.as_str() == "Int") {
            variables.insert(variable.node.name.node.to_string(), MAX_PAGE_SIZE.into());
        }
    }
    Variables::from_json(serde_json::Value::Object(variables))
}

#[test]
fn every_contract_operation_costs_less_than_the_default_limit() {
    let document = parse_query(CONTRACT).expect("the contract parses");
    let names: Vec<String> = document
        .operations
        .iter()
        .filter_map(|(name, _)| name.map(|n| n.to_string()))
        .collect();
    assert!(names.len() > 50, "{} operations", names.len());
    let mut costs = Vec::new();
    for name in &names {
        let default_pages = document_cost(&document, Some(name), &Variables::default());
        let largest = document_cost(&document, Some(name), &largest_pages(&document, name));
        costs.push((largest, default_pages, name.clone()));
    }
    costs.sort();
    for (largest, default_pages, name) in costs.iter().rev().take(10) {
        println!("{name}: {default_pages} (largest pages {largest})");
    }
    let over: Vec<_> = costs
        .iter()
        .filter(|(largest, _, _)| *largest > DEFAULT_MAX_QUERY_COST)
        .collect();
    assert!(over.is_empty(), "over the default limit: {over:?}");
}
