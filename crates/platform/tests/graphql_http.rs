//! A subgraph reached directly on its port is as strict as the router: the
//! router's document limits with its error codes, GraphQL over HTTP as the
//! spec says (no mutation over GET, JSON bodies only, JSON errors, the
//! accepted media type), and every MUST of the `graphql-http` audit. The
//! subgraph here is a tiny schema served by the shared server, exactly as
//! the six domain subgraphs are.

use async_graphql::{EmptySubscription, Object, Schema};
use janta_platform::auth::TokenVerifier;
use janta_platform::server::{subgraph_router, with_limits};
use janta_platform::store::Store;
use janta_testkit::{serve, Backend, TestDb, TestIssuer};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How often `bump` ran (a mutation over GET must never run it).
static BUMPS: AtomicUsize = AtomicUsize::new(0);

struct Query;

#[Object]
impl Query {
    async fn hello(&self) -> &str {
        "hello"
    }

    async fn node(&self) -> Node {
        Node(1)
    }

    #[graphql(entity)]
    async fn find_node_by_id(&self, id: i32) -> Node {
        Node(id)
    }
}

struct Node(i32);

#[Object]
impl Node {
    async fn id(&self) -> i32 {
        self.0
    }

    async fn child(&self) -> Node {
        Node(self.0 + 1)
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn bump(&self) -> usize {
        BUMPS.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// The tiny subgraph on a random port, with what it needs kept alive.
struct Subgraph {
    url: String,
    http: reqwest::Client,
    _db: TestDb,
    _issuer: TestIssuer,
}

impl Subgraph {
    async fn start() -> Self {
        let db = TestDb::new(Backend::Sqlite).await;
        let issuer = TestIssuer::start().await;
        let store = Store::connect(&db.url).await.expect("store");
        let verifier = Arc::new(TokenVerifier::remote(
            &issuer.jwks_url,
            "janta",
            "janta-api",
        ));
        let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish();
        let app = subgraph_router(schema, verifier, store, Arc::new(|request| request));
        Subgraph {
            url: format!("{}/graphql", serve(app).await),
            http: reqwest::Client::new(),
            _db: db,
            _issuer: issuer,
        }
    }

    async fn post(&self, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(&self.url).json(&body).send().await.unwrap();
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("the answer is not JSON ({err}): {text}"));
    (status, body)
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// `{ node { child { … id … } } }` with the leaf `id` at `depth`.
fn deep_query(depth: usize) -> String {
    let levels = depth - 2;
    format!(
        "{{ node {{ {} id {} }} }}",
        "child { ".repeat(levels),
        "} ".repeat(levels)
    )
}

#[tokio::test]
async fn three_hundred_aliases_are_refused_with_the_routers_code() {
    let subgraph = Subgraph::start().await;
    let aliases: String = (0..300).map(|i| format!("a{i}: hello ")).collect();
    let (status, body) = subgraph
        .post(json!({ "query": format!("{{ {aliases} }}") }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), "MAX_ALIASES_EXCEEDED", "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");

    let thirty: String = (0..30).map(|i| format!("a{i}: hello ")).collect();
    let (_, body) = subgraph
        .post(json!({ "query": format!("{{ {thirty} }}") }))
        .await;
    assert_eq!(body["data"]["a29"], "hello", "{body}");
}

#[tokio::test]
async fn a_depth_fourteen_query_is_refused_and_twelve_passes() {
    let subgraph = Subgraph::start().await;
    let (status, body) = subgraph.post(json!({ "query": deep_query(14) })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), "MAX_DEPTH_EXCEEDED", "{body}");

    let (_, body) = subgraph.post(json!({ "query": deep_query(12) })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let leaf = (0..10).fold(&body["data"]["node"], |node, _| &node["child"]);
    assert_eq!(leaf["id"], 11, "{body}");
}

/// A subgraph keeps the documents it parsed; every limit still applies to a
/// kept document, each time it is sent.
#[tokio::test]
async fn a_document_sent_again_is_checked_again() {
    let subgraph = Subgraph::start().await;
    for attempt in 1..=3 {
        let (_, body) = subgraph.post(json!({ "query": deep_query(14) })).await;
        assert_eq!(
            code(&body),
            "MAX_DEPTH_EXCEEDED",
            "attempt {attempt}: {body}"
        );
        let aliases: String = (0..31).map(|i| format!("a{i}: hello ")).collect();
        let (_, body) = subgraph
            .post(json!({ "query": format!("{{ {aliases} }}") }))
            .await;
        assert_eq!(
            code(&body),
            "MAX_ALIASES_EXCEEDED",
            "attempt {attempt}: {body}"
        );
        let entity =
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Node { id } } }";
        let (_, body) = subgraph
            .post(json!({ "query": entity, "variables": { "r": [{ "__typename": "Node", "id": attempt }] } }))
            .await;
        assert_eq!(body["data"]["_entities"][0]["id"], attempt, "{body}");
        let (_, body) = subgraph
            .post(json!({ "query": entity, "variables": {} }))
            .await;
        assert_eq!(
            body["errors"][0]["message"], "Variable r is not defined.",
            "attempt {attempt}: a missing variable is still refused: {body}"
        );
    }
}

#[tokio::test]
async fn router_entity_batches_pass() {
    // What the router's planner sends: `_e<N>` aliases on `_entities`, the
    // representations in variables, beside the caller's own 30 aliases.
    let subgraph = Subgraph::start().await;
    let representations: Vec<Value> = (0..1000)
        .map(|id| json!({ "__typename": "Node", "id": id }))
        .collect();
    let own: String = (0..30).map(|i| format!("a{i}: hello ")).collect();
    let query = format!(
        "query Plan__orders__1($r0:[_Any!]!,$r1:[_Any!]!){{\
         _e0:_entities(representations:$r0){{...on Node{{id}}}} \
         _e1:_entities(representations:$r1){{...on Node{{child{{id}}}}}} {own}}}"
    );
    let (status, body) = subgraph
        .post(json!({
            "query": query,
            "operationName": "Plan__orders__1",
            "variables": { "r0": representations, "r1": representations },
        }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["_e0"][999]["id"], 999);
    assert_eq!(body["data"]["_e1"][0]["child"]["id"], 1);
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_never_runs() {
    let subgraph = Subgraph::start().await;
    let before = BUMPS.load(Ordering::SeqCst);
    let response = subgraph
        .http
        .get(&subgraph.url)
        .query(&[("query", "mutation { bump }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(code(&body), "MUTATION_NOT_ALLOWED_OVER_HTTP_GET");
    assert_eq!(BUMPS.load(Ordering::SeqCst), before, "the mutation ran");

    let response = subgraph
        .http
        .get(&subgraph.url)
        .query(&[("query", "{ hello }")])
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["hello"], "hello",
        "queries still work over GET"
    );
}

#[tokio::test]
async fn a_text_plain_post_is_refused_with_415() {
    let subgraph = Subgraph::start().await;
    let before = BUMPS.load(Ordering::SeqCst);
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = subgraph
            .http
            .post(&subgraph.url)
            .body(json!({ "query": "mutation { bump }" }).to_string());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let (status, body) = read(request.send().await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {body}"
        );
        let expected = match content_type {
            Some(_) => "UNSUPPORTED_CONTENT_TYPE",
            None => "MISSING_CONTENT_TYPE_HEADER",
        };
        assert_eq!(code(&body), expected);
    }
    assert_eq!(BUMPS.load(Ordering::SeqCst), before, "the mutation ran");
}

#[tokio::test]
async fn malformed_requests_get_json_errors_without_rust_debug_text() {
    let subgraph = Subgraph::start().await;
    for bad in [
        r#"{ "not a JSON"#,
        r#"[{"query":"{ hello }"}]"#,
        r#""{ hello }""#,
        r#"{"query": 1}"#,
        r#"{"query": "{ hello }", "variables": "x"}"#,
    ] {
        let response = subgraph
            .http
            .post(&subgraph.url)
            .header(CONTENT_TYPE, "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        assert_eq!(code(&body), "BAD_REQUEST", "{bad}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        for debug in ["InvalidRequest", "Error(", "ParseRequestError"] {
            assert!(!message.contains(debug), "{bad}: {message}");
        }
    }
}

#[tokio::test]
async fn the_response_has_the_media_type_the_client_accepts() {
    let subgraph = Subgraph::start().await;
    let cases = [
        (Some("application/json"), StatusCode::OK, "application/json"),
        (None, StatusCode::OK, "application/json"),
        (Some("*/*"), StatusCode::OK, "application/json"),
        (
            Some("application/graphql-response+json"),
            StatusCode::OK,
            "application/graphql-response+json",
        ),
        (
            Some("text/html"),
            StatusCode::NOT_ACCEPTABLE,
            "application/json",
        ),
    ];
    for (accept, status, content_type) in cases {
        let mut request = subgraph
            .http
            .post(&subgraph.url)
            .json(&json!({ "query": "{ hello }" }));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let response = request.send().await.unwrap();
        let got = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(response.status(), status, "{accept:?}");
        assert!(got.starts_with(content_type), "{accept:?}: {got}");
    }
}

#[tokio::test]
async fn request_errors_are_4xx_only_for_graphql_response_json() {
    let subgraph = Subgraph::start().await;
    for (accept, invalid, bad_token) in [
        ("application/json", StatusCode::OK, StatusCode::OK),
        (
            "application/graphql-response+json",
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let request = || subgraph.http.post(&subgraph.url).header(ACCEPT, accept);
        let response = request()
            .json(&json!({ "query": "{ nope }" }))
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, invalid, "{accept}: {body}");
        assert!(body.get("data").is_none(), "{body}");
        let response = request()
            .bearer_auth("not-a-token")
            .json(&json!({ "query": "{ hello }" }))
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, bad_token, "{accept}: {body}");
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn every_must_and_should_of_the_graphql_http_audit_passes() {
    let subgraph = Subgraph::start().await;
    let failed = janta_testkit::graphql_http_audit(&subgraph.url).await;
    assert!(failed.is_empty(), "failed audits: {failed:#?}");
}
