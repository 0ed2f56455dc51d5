//! `x-request-id` through the router: a client's sane ID comes back on the
//! router's response, and a missing or unsafe one is replaced by a fresh
//! UUID — for answers and refusals alike. (Each subgraph echoes it too:
//! `tests/admin_bootstrap.rs` checks one served alone.)

mod support;

use serde_json::json;
use support::Platform;

async fn request_id_of(p: &Platform, sent: Option<&str>, query: &str) -> String {
    let mut request = reqwest::Client::new()
        .post(&p.gql.url)
        .header("content-type", "application/json")
        .json(&json!({ "query": query }));
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    response
        .headers()
        .get("x-request-id")
        .expect("the router echoes x-request-id")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_router_echoes_or_mints_the_request_id() {
    let p = Platform::start().await;
    let routed = "{ __typename }";
    assert_eq!(
        request_id_of(&p, Some("client-7f3a"), routed).await,
        "client-7f3a"
    );
    let long = "x".repeat(129);
    for sent in [None, Some("two words"), Some(long.as_str())] {
        let minted = request_id_of(&p, sent, routed).await;
        assert!(uuid::Uuid::parse_str(&minted).is_ok(), "{sent:?}: {minted}");
    }
    // A refusal (a field that does not exist) carries it too.
    let refused = "{ noSuchField }";
    assert_eq!(request_id_of(&p, Some("req-9"), refused).await, "req-9");
}
