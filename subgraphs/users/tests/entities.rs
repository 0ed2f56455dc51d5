//! Entity references from other subgraphs resolve in batches: a router's
//! `_entities` call for 100 users costs a constant number of statements; a
//! list runs its `COUNT(*)` only for a client that selects `totalCount`.

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::demo::{PHARMACIST_KA_ID, VENDOR_KA_ID};
use janta_testkit::{both_backends, config, Gql, StatementCounter, TestDb};
use serde_json::json;
use std::time::Duration;

/// A pharmacist's token: vendor staff see the names of the users they serve.
fn pharmacist_token() -> String {
    let signer = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
    let pharmacist = Principal {
        subject: PHARMACIST_KA_ID.to_string(),
        roles: vec![Role::Pharmacist],
        vendor_id: Some(VENDOR_KA_ID.to_string()),
        scopes: vec![],
    };
    signer
        .sign(&pharmacist, Duration::from_secs(300))
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_user_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    let db = TestDb::new(janta_testkit::Backend::Sqlite).await;
    let (router, store) = janta_users::build(&config("users", &db, "http://127.0.0.1:9/unused"))
        .await
        .unwrap();
    janta_users::demo::seed(&store).await.unwrap();
    let gql = Gql::new(format!("{}/graphql", janta_testkit::serve(router).await));
    let ids: Vec<String> = sqlx::query_as::<_, (String,)>("SELECT id FROM users")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    let representations: Vec<_> = (0..100)
        .map(|i| json!({"__typename": "User", "id": ids[i % ids.len()]}))
        .chain((0..100).map(|i| {
            let vendor = [
                janta_platform::demo::VENDOR_KA_ID,
                janta_platform::demo::VENDOR_MH_ID,
            ][i % 2];
            json!({"__typename": "Vendor", "id": vendor})
        }))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } ... on Vendor { id name } } }";
    let mark = counter.get();
    let before = counter.matching("from users") + counter.matching("from vendors");
    let token = pharmacist_token();
    let data = gql
        .data(Some(&token), query, json!({ "r": representations }))
        .await;
    let statements = counter.matching("from users") + counter.matching("from vendors") - before;
    assert_eq!(data["_entities"].as_array().unwrap().len(), 200);
    assert!(data["_entities"][0]["fullName"].as_str().is_some());
    assert_eq!(data["_entities"][101]["name"], "Sahyadri Medicos");
    // One statement for the users, one for the vendors: exactly as for one
    // reference of each.
    assert_eq!(
        statements,
        2,
        "200 references took {statements} statements: {:#?}",
        counter.statements_after(mark)
    );
}

/// Branch reads for `count` vendor references (alternating between the two
/// demo vendors): the statements one run costs and the response.
async fn branch_statements(
    counter: &StatementCounter,
    gql: &Gql,
    count: usize,
) -> (usize, Vec<String>, serde_json::Value) {
    let representations: Vec<_> = (0..count)
        .map(|i| {
            let vendor = [VENDOR_KA_ID, janta_platform::demo::VENDOR_MH_ID][i % 2];
            json!({"__typename": "Vendor", "id": vendor})
        })
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Vendor { id branches { id name } } } }";
    let variables = json!({ "r": representations });
    counter
        .cost_of(|| gql.data(None, query, variables.clone()))
        .await
}

both_backends! {
    async fn vendor_branches_cost_the_same_for_many_vendors_as_for_one(db) {
        let counter = StatementCounter::install();
        let (router, store) = janta_users::build(&config("users", &db, "http://127.0.0.1:9/unused"))
            .await
            .unwrap();
        janta_users::demo::seed(&store).await.unwrap();
        let gql = Gql::new(format!("{}/graphql", janta_testkit::serve(router).await));
        // Warm the pool so that opening a connection is not counted.
        branch_statements(&counter, &gql, 1).await;
        let (one, one_sql, _) = branch_statements(&counter, &gql, 1).await;
        let (many, many_sql, data) = branch_statements(&counter, &gql, 100).await;
        let entities = data["_entities"].as_array().unwrap();
        assert_eq!(entities.len(), 100);
        assert!(!entities[0]["branches"].as_array().unwrap().is_empty());
        assert!(!entities[1]["branches"].as_array().unwrap().is_empty());
        assert_eq!(
            many, one,
            "100 vendors: {many_sql:#?}\n1 vendor: {one_sql:#?}"
        );
    }
}

/// Statements one run of `query` costs and its data.
async fn list_statements(
    counter: &StatementCounter,
    gql: &Gql,
    query: &str,
) -> (usize, Vec<String>, serde_json::Value) {
    counter.cost_of(|| gql.data(None, query, json!({}))).await
}

both_backends! {
    async fn a_list_counts_its_total_only_when_total_count_is_selected(db) {
        let counter = StatementCounter::install();
        let (router, store) = janta_users::build(&config("users", &db, "http://127.0.0.1:9/unused"))
            .await
            .unwrap();
        janta_users::demo::seed(&store).await.unwrap();
        let gql = Gql::new(format!("{}/graphql", janta_testkit::serve(router).await));
        let page = "{ vendors(first: 1) { edges { node { id name } } pageInfo { hasNextPage } } }";
        let counted = "{ vendors(first: 1) { totalCount edges { node { id name } } } }";
        // Warm the pool so that opening a connection is not counted.
        list_statements(&counter, &gql, counted).await;

        let (without, without_sql, data) = list_statements(&counter, &gql, page).await;
        assert_eq!(data["vendors"]["edges"].as_array().unwrap().len(), 1);
        assert_eq!(data["vendors"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(without, 1, "the page alone, no COUNT: {without_sql:#?}");

        let (with, with_sql, data) = list_statements(&counter, &gql, counted).await;
        assert_eq!(with, without + 1, "one COUNT more: {with_sql:#?}");
        assert!(with_sql.iter().any(|sql| sql.to_lowercase().contains("count(")));
        // Still the total across all pages, not the page's length.
        let all = gql
            .data(None, "{ vendors(first: 100) { edges { node { id } } } }", json!({}))
            .await;
        let vendors = all["vendors"]["edges"].as_array().unwrap().len();
        assert_eq!(vendors, 2, "both demo vendors");
        assert_eq!(data["vendors"]["totalCount"], vendors);
    }
}
