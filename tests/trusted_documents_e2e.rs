//! Trusted documents through the router: a contract operation sent by its
//! ID (Hive's `documentId`, or Apollo's `persistedQuery` hash) answers
//! exactly what the full document answers; an unknown ID is refused; and
//! with partners limited to trusted documents, first-party clients still
//! send documents of their own.

mod support;

use serde_json::{json, Value};
use support::{operation, Platform};

/// The manifest `janta compose` generated from the contract.
fn manifest() -> serde_json::Map<String, Value> {
    let raw = include_str!("../router-config/persisted-documents.json");
    serde_json::from_str(raw).expect("a JSON object")
}

/// The ID of contract operation `name`.
fn document_id(name: &str) -> String {
    let text = operation(name);
    manifest()
        .into_iter()
        .find(|(_, document)| document.as_str() == Some(text.trim_end()))
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("{name} is in the manifest"))
}

/// Posts `body` to the router as JSON.
async fn post(p: &Platform, token: Option<&str>, body: Value) -> Value {
    let mut request = reqwest::Client::new().post(&p.gql.url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_contract_operation_by_id_answers_as_the_full_document() {
    let p = Platform::start().await;
    let variables = json!({"search": "para", "first": 5});
    let full = p
        .gql
        .data(None, &operation("SearchMedicines"), variables.clone())
        .await;
    assert!(
        full["medicines"]["totalCount"].as_i64().unwrap() > 0,
        "{full}"
    );
    let id = document_id("SearchMedicines");

    let by_id = post(&p, None, json!({"documentId": id, "variables": variables})).await;
    assert_eq!(by_id["data"], full, "{by_id}");
    let apollo = post(
        &p,
        None,
        json!({
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": id}},
            "variables": variables,
        }),
    )
    .await;
    assert_eq!(apollo["data"], full, "{apollo}");

    let unknown = post(&p, None, json!({"documentId": "0".repeat(64)})).await;
    assert!(unknown["data"].is_null(), "{unknown}");
    assert!(
        !unknown["errors"].as_array().unwrap().is_empty(),
        "{unknown}"
    );

    // The ID also works for an operation that needs a signed-in user.
    let customer = p.login("customer@janta.test").await;
    let me = post(
        &p,
        Some(&customer),
        json!({"documentId": document_id("Me")}),
    )
    .await;
    assert_eq!(me["data"]["me"]["email"], "customer@janta.test", "{me}");
}

#[tokio::test]
async fn first_party_clients_keep_sending_their_own_documents_when_partners_are_limited() {
    let p = Platform::start_with(&[("JANTA_PARTNERS_TRUSTED_DOCUMENTS_ONLY", "true")]).await;
    let customer = p.login("customer@janta.test").await;
    let ad_hoc = p
        .gql
        .data(
            Some(&customer),
            "{ me { email } categories { name } }",
            json!({}),
        )
        .await;
    assert_eq!(ad_hoc["me"]["email"], "customer@janta.test");
    let anonymous = p.gql.data(None, "{ categories { name } }", json!({})).await;
    assert!(!anonymous["categories"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_partner_app_runs_contract_operations_by_id_only_when_limited() {
    let p = Platform::start_with(&[("JANTA_PARTNERS_TRUSTED_DOCUMENTS_ONLY", "true")]).await;
    let ka_admin = p.login("vendor.ka@janta.test").await;
    let input = json!({"input": {"name": "KA catalogue reader", "scopes": ["CATALOG_READ"]}});
    let registered = p
        .gql
        .data(Some(&ka_admin), &operation("RegisterPartnerApp"), input)
        .await;
    let app = &registered["registerPartnerApp"];
    let token_url = p.subgraph_url("users").replace("/graphql", "/oauth/token");
    let granted: Value = reqwest::Client::new()
        .post(token_url)
        .basic_auth(
            app["clientId"].as_str().unwrap(),
            Some(app["clientSecret"].as_str().unwrap()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = granted["access_token"].as_str().expect("a partner token");

    let variables = json!({"search": "paracetamol", "first": 5});
    let ad_hoc = post(
        &p,
        Some(token),
        json!({"query": "{ medicines(first: 5) { totalCount } }"}),
    )
    .await;
    assert!(ad_hoc["data"].is_null(), "{ad_hoc}");
    assert_eq!(
        ad_hoc["errors"][0]["extensions"]["code"], "TRUSTED_DOCUMENT_REQUIRED",
        "{ad_hoc}"
    );
    let by_id = post(
        &p,
        Some(token),
        json!({"documentId": document_id("SearchMedicines"), "variables": variables}),
    )
    .await;
    assert!(by_id["errors"].is_null(), "{by_id}");
    assert!(
        by_id["data"]["medicines"]["totalCount"].as_i64().unwrap() >= 1,
        "{by_id}"
    );
}
