//! Sign-in throttling over HTTP, directly on the users subgraph, on both
//! backends: attempts are counted before the password is checked (so a
//! burst cannot slip through), per account and per client address, a
//! stranger's failures never lock the owner out of their own address, and
//! one request carries at most one sign-in field.

use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use serde_json::{json, Value};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { id } } }";
const PASSWORD: &str = "long enough pw";

async fn start(db: &TestDb) -> Gql {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let (router, _store) = janta_users::build(&config).await.expect("users builds");
    let base = janta_testkit::serve(router).await;
    Gql::new(format!("{base}/graphql"))
}

async fn register(gql: &Gql, email: &str) -> Value {
    let input =
        json!({ "input": { "email": email, "password": PASSWORD, "fullName": "Meera Rao" } });
    gql.data(None, REGISTER, input).await["register"].clone()
}

/// A login as a client at `address` (the test connects over loopback, the
/// trusted-proxy position, so the subgraph takes `X-Forwarded-For`).
async fn login_from(gql: &Gql, address: &str, email: &str, password: &str) -> Value {
    reqwest::Client::new()
        .post(&gql.url)
        .header("x-forwarded-for", address)
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }))
        .send()
        .await
        .expect("login request")
        .json()
        .await
        .expect("JSON body")
}

/// The `extensions.retryAfter` of a RATE_LIMITED answer: whole seconds, at least 1.
fn retry_after(body: &Value) -> u64 {
    assert_eq!(error_code(body).as_deref(), Some("RATE_LIMITED"), "{body}");
    let seconds = body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("RATE_LIMITED without a whole-second retryAfter: {body}"));
    assert!(seconds >= 1, "{body}");
    seconds
}

both_backends! {
    async fn a_burst_of_wrong_passwords_is_counted_before_any_is_checked(db) {
        let gql = start(&db).await;
        register(&gql, "burst@example.com").await;
        let attempts = (0..20).map(|_| login_from(&gql, "203.0.113.20", "burst@example.com", "wrong password"));
        let answers = futures::future::join_all(attempts).await;
        let checked = answers.iter().filter(|b| error_code(b).as_deref() == Some("UNAUTHENTICATED")).count();
        let limited: Vec<&Value> = answers.iter().filter(|b| error_code(b).as_deref() == Some("RATE_LIMITED")).collect();
        assert!((1..=5).contains(&checked), "{checked} of 20 concurrent attempts had their password checked");
        assert_eq!(checked + limited.len(), 20, "{answers:?}");
        for body in limited {
            retry_after(body);
        }
    }

    async fn a_strangers_failures_do_not_lock_the_owner_out(db) {
        let gql = start(&db).await;
        register(&gql, "owner@example.com").await;
        let mut stranger = Vec::new();
        for _ in 0..8 {
            stranger.push(login_from(&gql, "203.0.113.7", "owner@example.com", "guess password").await);
        }
        assert!(stranger[..5].iter().all(|b| error_code(b).as_deref() == Some("UNAUTHENTICATED")), "{stranger:?}");
        retry_after(&stranger[7]);
        let owner = login_from(&gql, "198.51.100.9", "owner@example.com", PASSWORD).await;
        assert!(owner["data"]["login"]["accessToken"].is_string(), "owner locked out: {owner}");
    }

    async fn one_address_trying_many_accounts_is_blocked(db) {
        let gql = start(&db).await;
        register(&gql, "victim@example.com").await;
        let mut limited = None;
        for i in 0..16 {
            let body = login_from(&gql, "203.0.113.99", &format!("nobody{i}@example.com"), "guess password").await;
            if error_code(&body).as_deref() == Some("RATE_LIMITED") {
                limited = Some((i, retry_after(&body)));
                break;
            }
            assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"), "{body}");
        }
        let (after, _) = limited.expect("sixteen failed logins on different accounts from one address were never limited");
        assert!(after >= 5, "limited after only {after} failures");
        let elsewhere = login_from(&gql, "198.51.100.10", "victim@example.com", PASSWORD).await;
        assert!(elsewhere["data"]["login"]["accessToken"].is_string(), "{elsewhere}");
    }

    async fn thirty_aliased_logins_in_one_request_are_refused(db) {
        let gql = start(&db).await;
        register(&gql, "alias@example.com").await;
        let fields: String = (0..30)
            .map(|i| format!("a{i}: login(email: \"alias@example.com\", password: \"guess number {i}\") {{ accessToken }} "))
            .collect();
        // Sent again, the subgraph's kept parse of the document is refused too.
        for _ in 0..2 {
            let body = gql.send(None, &format!("mutation {{ {fields} }}"), json!({})).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
            assert!(body["data"].is_null(), "{body}");
        }
        let mixed = "mutation($t: String!) { login(email: \"alias@example.com\", password: \"guess\") { accessToken } \
                     refreshToken(refreshToken: $t) { accessToken } }";
        let body = gql.send(None, mixed, json!({ "t": "not-a-token" })).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
        let through_fragment = "mutation { ...Twice } fragment Twice on Mutation { \
                                a: login(email: \"alias@example.com\", password: \"guess one\") { accessToken } \
                                b: login(email: \"alias@example.com\", password: \"guess two\") { accessToken } }";
        let body = gql.send(None, through_fragment, json!({})).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
        // None of the refused guesses was counted: the owner signs in at once.
        let owner = gql.data(None, LOGIN, json!({ "email": "alias@example.com", "password": PASSWORD })).await;
        assert!(owner["login"]["accessToken"].is_string());
    }
}
