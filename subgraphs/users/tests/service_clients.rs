//! Machine credentials over HTTP, directly on the users subgraph, on both
//! backends: the OAuth 2.0 client-credentials grant at `POST /oauth/token`
//! (RFC 6749 §4.4, errors per §5.2), its throttling, secret rotation, and
//! the service-only fields its tokens open (each to its own caller).

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::client::ServiceClient;
use janta_platform::config::{dev_service_client_secret, Secret, SubgraphConfig};
use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The users subgraph of `config`, served; its GraphQL client and store.
async fn serve(config: &SubgraphConfig) -> (Gql, Store) {
    let (router, store) = janta_users::build(config).await.expect("users builds");
    let base = janta_testkit::serve(router).await;
    (Gql::new(format!("{base}/graphql")), store)
}

fn users_config(db: &TestDb) -> SubgraphConfig {
    config("users", db, "http://127.0.0.1:9/unused")
}

/// How a token request authenticates its client.
enum Auth<'a> {
    Basic(&'a str, &'a str),
    Form(&'a str, &'a str),
}

/// A token response: status, headers and JSON body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// Posts a token request with `form` fields from client `address`.
async fn request_token(gql: &Gql, auth: Auth<'_>, form: &[(&str, &str)], address: &str) -> Answer {
    let url = gql.url.replace("/graphql", "/oauth/token");
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let request = reqwest::Client::new()
        .post(url)
        .header("x-forwarded-for", address);
    let request = match auth {
        Auth::Basic(id, secret) => request.basic_auth(id, Some(secret)),
        Auth::Form(id, secret) => {
            fields.extend([("client_id", id), ("client_secret", secret)]);
            request
        }
    };
    let response = request.form(&fields).send().await.expect("token request");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.expect("token responses are JSON");
    Answer {
        status,
        headers,
        body,
    }
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

fn dev_secret(service: &str) -> String {
    dev_service_client_secret(service).expose().to_string()
}

async fn verified(token: &str) -> Principal {
    let dev = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
    dev.local_verifier()
        .unwrap()
        .verify(token)
        .await
        .expect("token verifies")
}

fn assert_oauth_error(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["error"], error, "{}", answer.body);
    assert!(
        answer.body["error_description"].is_string(),
        "{}",
        answer.body
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
}

both_backends! {
    async fn the_token_endpoint_issues_tokens_fixed_by_the_client(db) {
        let (gql, _store) = serve(&users_config(&db)).await;
        let secret = dev_secret("orders");
        let ok = request_token(&gql, Auth::Basic("orders", &secret), &[GRANT], "198.51.100.1").await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        assert_eq!(ok.headers["cache-control"], "no-store");
        assert_eq!(ok.body["token_type"], "Bearer");
        assert_eq!(ok.body["scope"], "service:orders");
        assert!(ok.body["expires_in"].as_u64().is_some_and(|s| s > 30), "{}", ok.body);
        let principal = verified(ok.body["access_token"].as_str().unwrap()).await;
        assert_eq!(principal.subject, "service:orders");
        assert_eq!(principal.roles, vec![Role::Service]);
        assert_eq!(principal.scopes, vec!["service:orders".to_string()]);

        // Whatever else the request says, the client row decides.
        let dressed_up = [GRANT, ("scope", "service:orders"), ("sub", "admin"), ("roles", "ADMIN")];
        let ok = request_token(&gql, Auth::Form("orders", &secret), &dressed_up, "198.51.100.1").await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        let principal = verified(ok.body["access_token"].as_str().unwrap()).await;
        assert_eq!((principal.subject.as_str(), principal.roles.clone()), ("service:orders", vec![Role::Service]));
        for wider in ["service:orders service:notifications", "admin"] {
            let refused = request_token(&gql, Auth::Basic("orders", &secret), &[GRANT, ("scope", wider)], "198.51.100.1").await;
            assert_oauth_error(&refused, StatusCode::BAD_REQUEST, "invalid_scope");
        }
    }

    async fn wrong_credentials_and_malformed_requests_are_refused(db) {
        let (gql, store) = serve(&users_config(&db)).await;
        let secret = dev_secret("orders");
        for auth in [Auth::Basic("orders", "guess"), Auth::Basic("mallory", &secret), Auth::Form("orders", &dev_secret("catalog"))] {
            let refused = request_token(&gql, auth, &[GRANT], "198.51.100.2").await;
            assert_oauth_error(&refused, StatusCode::UNAUTHORIZED, "invalid_client");
            assert!(refused.headers.contains_key("www-authenticate"));
        }
        let in_form = request_token(&gql, Auth::Form("orders", &secret), &[GRANT], "198.51.100.2").await;
        assert_eq!(in_form.status, StatusCode::OK, "form credentials work too: {}", in_form.body);

        let no_grant = request_token(&gql, Auth::Basic("orders", &secret), &[], "198.51.100.2").await;
        assert_oauth_error(&no_grant, StatusCode::BAD_REQUEST, "invalid_request");
        let password_grant = request_token(&gql, Auth::Basic("orders", &secret),
            &[("grant_type", "password"), ("username", "a"), ("password", "b")], "198.51.100.2").await;
        assert_oauth_error(&password_grant, StatusCode::BAD_REQUEST, "unsupported_grant_type");
        let repeated = request_token(&gql, Auth::Basic("orders", &secret), &[GRANT, GRANT], "198.51.100.2").await;
        assert_oauth_error(&repeated, StatusCode::BAD_REQUEST, "invalid_request");
        let url = gql.url.replace("/graphql", "/oauth/token");
        let both_ways = reqwest::Client::new().post(&url).basic_auth("orders", Some(&secret))
            .form(&[GRANT, ("client_id", "orders"), ("client_secret", secret.as_str())])
            .send().await.unwrap();
        assert_eq!(both_ways.status(), StatusCode::BAD_REQUEST);
        let as_json = reqwest::Client::new().post(&url).basic_auth("orders", Some(&secret))
            .json(&json!({ "grant_type": "client_credentials" })).send().await.unwrap();
        assert_eq!(as_json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(as_json.json::<Value>().await.unwrap()["error"], "invalid_request");

        let (stored,): (String,) = sqlx::query_as("SELECT secret_hash FROM oauth_clients WHERE client_id = 'orders'")
            .fetch_one(store.pool()).await.unwrap();
        assert_eq!(stored.len(), 64, "a SHA-256 hex digest is stored");
        assert!(!stored.contains(&secret));
    }

    async fn failed_attempts_are_throttled_without_locking_the_service_out(db) {
        let (gql, _store) = serve(&users_config(&db)).await;
        let mut throttled = None;
        for attempt in 0..12 {
            let answer = request_token(&gql, Auth::Basic("orders", &format!("guess {attempt}")), &[GRANT], "203.0.113.50").await;
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                throttled = Some((attempt, answer));
                break;
            }
            assert_oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
        }
        let (attempt, answer) = throttled.expect("twelve wrong secrets in a row were never throttled");
        assert_eq!(attempt, 5, "five failures are free, then attempts wait");
        let retry_after: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        assert_eq!(answer.headers["cache-control"], "no-store");
        // The stranger's failures do not keep the real service out.
        let service = request_token(&gql, Auth::Basic("orders", &dev_secret("orders")), &[GRANT], "198.51.100.3").await;
        assert_eq!(service.status, StatusCode::OK, "{}", service.body);
        // Sign-in shares the address count: five more failures make the ten
        // after which the address waits.
        let mut codes = Vec::new();
        for i in 0..6 {
            let login = format!("mutation {{ login(email: \"x{i}@example.com\", password: \"whatever pw\") {{ accessToken }} }}");
            let body: Value = reqwest::Client::new().post(&gql.url).header("x-forwarded-for", "203.0.113.50")
                .json(&json!({ "query": login })).send().await.unwrap().json().await.unwrap();
            codes.push(error_code(&body).unwrap_or_default());
        }
        assert_eq!(codes[..5], ["UNAUTHENTICATED"; 5], "{codes:?}");
        assert_eq!(codes[5], "RATE_LIMITED", "{codes:?}");
    }

    async fn a_rotated_secret_keeps_working_until_the_overlap_ends(db) {
        let old = Secret::generate();
        let new = Secret::generate();
        let mut config = users_config(&db);
        config.service_clients.insert("orders".into(), old.clone());
        let (before, _) = serve(&config).await;
        let ok = request_token(&before, Auth::Basic("orders", old.expose()), &[GRANT], "198.51.100.4").await;
        assert_eq!(ok.status, StatusCode::OK);

        config.service_clients.insert("orders".into(), new.clone());
        let (after, store) = serve(&config).await;
        for secret in [&new, &old] {
            let ok = request_token(&after, Auth::Basic("orders", secret.expose()), &[GRANT], "198.51.100.4").await;
            assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        }
        let (audits,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = 'orders' AND action = 'service_client_secret_rotated'")
            .fetch_one(store.pool()).await.unwrap();
        assert_eq!(audits, 1);

        sqlx::query("UPDATE oauth_clients SET previous_secret_valid_until = $1 WHERE client_id = 'orders'")
            .bind(janta_platform::scalars::to_db_time(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(store.pool()).await.unwrap();
        let expired = request_token(&after, Auth::Basic("orders", old.expose()), &[GRANT], "198.51.100.4").await;
        assert_oauth_error(&expired, StatusCode::UNAUTHORIZED, "invalid_client");
        let current = request_token(&after, Auth::Basic("orders", new.expose()), &[GRANT], "198.51.100.4").await;
        assert_eq!(current.status, StatusCode::OK);
    }

    async fn service_only_fields_answer_only_the_services_that_call_them(db) {
        let (gql, _store) = serve(&users_config(&db)).await;
        let register = "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }";
        let owner = gql.data(None, register, json!({ "input": {
            "email": "owner@example.com", "password": "long enough pw", "fullName": "Asha Nair" } })).await["register"].clone();
        let owner_token = owner["accessToken"].as_str();
        let added = gql.data(owner_token,
            "mutation($input: AddressInput!) { addAddress(input: $input) { id } }",
            json!({ "input": { "line1": "12 MG Road", "city": "Bengaluru", "state": "KA", "pincode": "560001" } })).await;
        let address_id = added["addAddress"]["id"].clone();
        let token_of = |service: &'static str| {
            let gql = gql.clone();
            async move {
                let answer = request_token(&gql, Auth::Basic(service, &dev_secret(service)), &[GRANT], "198.51.100.5").await;
                answer.body["access_token"].as_str().expect("service token").to_string()
            }
        };
        let (orders, notifications) = (token_of("orders").await, token_of("notifications").await);

        let address = "query($id: ID!) { addressForService(id: $id) { userId state } }";
        let vars = json!({ "id": address_id });
        assert_eq!(error_code(&gql.send(None, address, vars.clone()).await).as_deref(), Some("UNAUTHENTICATED"));
        assert_eq!(error_code(&gql.send(owner_token, address, vars.clone()).await).as_deref(), Some("FORBIDDEN"));
        assert_eq!(error_code(&gql.send(Some(&notifications), address, vars.clone()).await).as_deref(), Some("FORBIDDEN"));
        let found = gql.data(Some(&orders), address, vars).await;
        assert_eq!(found["addressForService"]["userId"], owner["user"]["id"]);

        let contact = "query($ids: [ID!]!) { contactForService(userIds: $ids) { userId email } }";
        let vars = json!({ "ids": [owner["user"]["id"]] });
        assert_eq!(error_code(&gql.send(owner_token, contact, vars.clone()).await).as_deref(), Some("FORBIDDEN"));
        assert_eq!(error_code(&gql.send(Some(&orders), contact, vars.clone()).await).as_deref(), Some("FORBIDDEN"));
        let found = gql.data(Some(&notifications), contact, vars).await;
        assert_eq!(found["contactForService"][0]["email"], "owner@example.com");

        // The platform's service client obtains its token the same way.
        let mut orders_config = config("orders", &db, "http://127.0.0.1:9/unused");
        orders_config.peers.insert("users".into(), gql.url.clone());
        let client = ServiceClient::new(&orders_config);
        let data = client.call("users", address, json!({ "id": address_id }), None).await.expect("service call");
        assert_eq!(data["addressForService"]["state"], "KA");
    }

    async fn the_service_token_mutation_is_gone(db) {
        let (gql, _store) = serve(&users_config(&db)).await;
        let body = gql.send(None,
            "mutation($k: String!) { serviceToken(service: \"orders\", secret: $k) { accessToken } }",
            json!({ "k": dev_secret("orders") })).await;
        assert!(body["data"].is_null(), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("serviceToken"), "{body}");
    }
}
