//! Errors a client can program against, through the router: each request
//! that goes wrong in a different way gets a code listed in
//! `docs/errors.md` (never a validation rule's name), no message carries
//! Rust debug text, and a root lookup that misses no longer erases the
//! other root fields of the response.

mod support;

use serde_json::{json, Value};
use support::Platform;

/// The codes `docs/errors.md` documents (every `UPPER_SNAKE` word in
/// backticks at the start of a table row).
fn documented_codes() -> Vec<String> {
    include_str!("../docs/errors.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect()
}

/// Posts a raw body to the router.
async fn post(p: &Platform, body: String) -> Value {
    let response = reqwest::Client::new()
        .post(&p.gql.url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// The first error's code and message.
fn first_error(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        error["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn every_router_error_has_a_documented_code_and_a_readable_message() {
    let p = Platform::start().await;
    let documented = documented_codes();
    assert!(documented.len() >= 20, "{documented:?}");
    let nested = (0..14).fold("id".to_string(), |inner, _| {
        format!("listings {{ medicine {{ {inner} }} }}")
    });
    let aliases: String = (0..40)
        .map(|i| format!("a{i}: categories {{ id }} "))
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown field", json!({"query": "{ nope }"}).to_string(), "GRAPHQL_VALIDATION_FAILED"),
        ("unknown argument", json!({"query": "{ categories(x: 1) { id } }"}).to_string(), "GRAPHQL_VALIDATION_FAILED"),
        ("syntax", json!({"query": "{ categories { "}).to_string(), "GRAPHQL_PARSE_FAILED"),
        ("not GraphQL over HTTP", "garbage".to_string(), "BAD_REQUEST"),
        ("an object for an ID", json!({"query": "query($id: ID!) { medicine(id: $id) { id } }", "variables": {"id": {"a": 1}}}).to_string(), "BAD_USER_INPUT"),
        ("too deep", json!({"query": format!("{{ medicines(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}")}).to_string(), "MAX_DEPTH_EXCEEDED"),
        ("too many aliases", json!({"query": format!("{{ {aliases} }}")}).to_string(), "MAX_ALIASES_EXCEEDED"),
        ("unknown trusted document", json!({"documentId": "0".repeat(64)}).to_string(), "PERSISTED_DOCUMENT_NOT_FOUND"),
        ("pages of 100 in pages of 100", json!({"query": "{ vendors(first: 100) { edges { node { listings(first: 100) { edges { node { id } } } } } } }"}).to_string(), "QUERY_TOO_COSTLY"),
    ];
    for (what, body, expected) in cases {
        let answer = post(&p, body).await;
        let (code, message) = first_error(&answer);
        assert_eq!(code, expected, "{what}: {answer}");
        assert!(
            documented.contains(&code),
            "{what}: {code} is not in docs/errors.md"
        );
        for leak in ["Object(", "Str(", "Number(", "FieldsOnCorrectType"] {
            assert!(
                !message.contains(leak),
                "{what}: the message leaks {leak}: {message}"
            );
        }
    }
    let rule = post(&p, json!({"query": "{ nope }"}).to_string()).await;
    assert_eq!(
        rule["errors"][0]["extensions"]["rule"], "FieldsOnCorrectType",
        "{rule}"
    );
}

#[tokio::test]
async fn a_lookup_that_misses_leaves_the_other_root_fields_answered() {
    let p = Platform::start().await;
    let missing = "019a0000-0000-7000-8001-999999999999";
    let answer = post(
        &p,
        json!({"query": format!("{{ categories {{ name }} medicine(id: \"{missing}\") {{ id }} }}")})
            .to_string(),
    )
    .await;
    assert!(
        !answer["data"]["categories"].as_array().unwrap().is_empty(),
        "{answer}"
    );
    assert!(answer["data"]["medicine"].is_null(), "{answer}");
    assert_eq!(first_error(&answer).0, "NOT_FOUND");
}
