//! The users part of the client contract through the router over HTTP, and
//! the refusals a client meets there, each with nothing written.

mod support;

use janta_platform::auth::{Claims, Role, TokenSigner};
use serde_json::json;
use support::{code, operation, Platform};

fn new_email() -> String {
    format!("e2e-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn register_login_refresh_add_address_me() {
    let p = Platform::start().await;
    let email = new_email();
    let reg = p.gql.data(None, &operation("Register"), json!({"input": {
        "email": email, "password": "a long password", "fullName": "Meena Iyer", "phone": "+919812345678"
    }})).await;
    assert_eq!(reg["register"]["user"]["email"], email.as_str());
    assert_eq!(reg["register"]["user"]["roles"], json!(["CUSTOMER"]));

    let login = p
        .gql
        .data(
            None,
            &operation("Login"),
            json!({"email": email, "password": "a long password"}),
        )
        .await;
    assert_eq!(login["login"]["user"]["id"], reg["register"]["user"]["id"]);

    let refreshed = p
        .gql
        .data(
            None,
            &operation("Refresh"),
            json!({"refreshToken": login["login"]["refreshToken"]}),
        )
        .await;
    let token = refreshed["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(refreshed["refreshToken"]["expiresAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let added = p.gql.data(Some(&token), &operation("AddAddress"), json!({"input": {
        "label": "Home", "line1": "7 Residency Road", "city": "Bengaluru", "state": "KA", "pincode": "560025"
    }})).await;
    assert_eq!(added["addAddress"]["isDefault"], true);

    let me = p.gql.data(Some(&token), &operation("Me"), json!({})).await;
    assert_eq!(me["me"]["fullName"], "Meena Iyer");
    assert_eq!(me["me"]["addresses"][0]["pincode"], "560025");
}

#[tokio::test]
async fn refusals_through_the_router_write_nothing() {
    let p = Platform::start().await;
    let users_before = p.count("users", "SELECT COUNT(*) FROM users").await;

    let wrong = p
        .gql
        .send(
            None,
            &operation("Login"),
            json!({"email": "customer@janta.test", "password": "not the password"}),
        )
        .await;
    let unknown = p
        .gql
        .send(
            None,
            &operation("Login"),
            json!({"email": "nobody@janta.test", "password": "not the password"}),
        )
        .await;
    assert_eq!(code(&wrong).as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong["errors"][0]["message"], unknown["errors"][0]["message"],
        "must not reveal accounts"
    );

    let register = |email: &str, password: &str, phone: Option<&str>| {
        json!({"input": {
        "email": email, "password": password, "fullName": "Test Person", "phone": phone }})
    };
    let taken = p
        .gql
        .send(
            None,
            &operation("Register"),
            register("customer@janta.test", "a long password", None),
        )
        .await;
    assert!(
        taken.get("errors").is_none() && taken["data"]["register"]["accessToken"].is_string(),
        "a taken e-mail is answered like a new one: {taken}"
    );
    for (vars, expected) in [
        (register(&new_email(), "short", None), "BAD_USER_INPUT"),
        (
            register("no-at-sign", "a long password", None),
            "BAD_USER_INPUT",
        ),
        (
            register(&new_email(), "a long password", Some("12345")),
            "BAD_USER_INPUT",
        ),
    ] {
        let body = p.gql.send(None, &operation("Register"), vars.clone()).await;
        assert_eq!(code(&body).as_deref(), Some(expected), "{vars}: {body}");
    }
    assert_eq!(
        p.count("users", "SELECT COUNT(*) FROM users").await,
        users_before
    );

    let token = p.login("customer@janta.test").await;
    let addresses_before = p.count("users", "SELECT COUNT(*) FROM addresses").await;
    let bad_pin = p
        .gql
        .send(
            Some(&token),
            &operation("AddAddress"),
            json!({"input": {
        "line1": "1 Road", "city": "Bengaluru", "state": "KA", "pincode": "56"}}),
        )
        .await;
    assert_eq!(code(&bad_pin).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(
        p.count("users", "SELECT COUNT(*) FROM addresses").await,
        addresses_before
    );

    let other = p
        .gql
        .send(
            Some(&token),
            "query($id: ID!) { user(id: $id) { id email } }",
            json!({"id": janta_platform::demo::ADMIN_ID}),
        )
        .await;
    assert_eq!(code(&other).as_deref(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused_by_router_and_subgraph() {
    let p = Platform::start().await;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: janta_platform::demo::ADMIN_ID.into(),
        roles: vec![Role::Admin],
        vendor_id: None,
        scope: None,
        iss: "janta".into(),
        aud: "janta-api".into(),
        exp: now + 600,
        iat: now,
    };
    let dev = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
    let wrong_key = TokenSigner::generate("janta", "janta-api")
        .unwrap()
        .sign_claims(&claims)
        .unwrap();
    let expired = dev
        .sign_claims(&Claims {
            exp: now - 120,
            iat: now - 900,
            ..claims.clone()
        })
        .unwrap();
    let wrong_aud = dev
        .sign_claims(&Claims {
            aud: "other-api".into(),
            ..claims.clone()
        })
        .unwrap();
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&serde_json::to_string(&claims).unwrap())
    );
    let direct = janta_testkit::Gql::new(p.subgraph_url("users"));
    for token in [wrong_key, expired, wrong_aud, none] {
        for (via, client) in [("router", &p.gql), ("subgraph", &direct)] {
            let body = client.send(Some(&token), &operation("Me"), json!({})).await;
            assert_eq!(
                code(&body).as_deref(),
                Some("UNAUTHENTICATED"),
                "{via}: {body}"
            );
            assert!(
                body["data"].is_null() || body["data"]["me"].is_null(),
                "{via} leaked data"
            );
        }
    }
}

#[tokio::test]
async fn reused_refresh_token_is_refused_and_revokes_the_session() {
    let p = Platform::start().await;
    let login = p
        .gql
        .data(
            None,
            &operation("Login"),
            json!({"email": "customer@janta.test", "password": "demo-password-1"}),
        )
        .await;
    let first = login["login"]["refreshToken"].clone();
    let second = p
        .gql
        .data(None, &operation("Refresh"), json!({"refreshToken": first}))
        .await;
    let reuse = p
        .gql
        .send(None, &operation("Refresh"), json!({"refreshToken": first}))
        .await;
    assert_eq!(code(&reuse).as_deref(), Some("UNAUTHENTICATED"));
    let after = p
        .gql
        .send(
            None,
            &operation("Refresh"),
            json!({"refreshToken": second["refreshToken"]["refreshToken"]}),
        )
        .await;
    assert_eq!(code(&after).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn skip_and_include_work_through_the_router_and_playground_is_served() {
    let p = Platform::start().await;
    let token = p.login("customer@janta.test").await;
    let query = "query($s: Boolean!, $i: Boolean!) { me { id email @skip(if: $s) fullName @include(if: $i) } }";
    let both = p
        .gql
        .data(Some(&token), query, json!({"s": false, "i": true}))
        .await;
    assert!(both["me"]["email"].is_string() && both["me"]["fullName"].is_string());
    let neither = p
        .gql
        .data(Some(&token), query, json!({"s": true, "i": false}))
        .await;
    assert!(
        neither["me"].get("email").is_none() && neither["me"].get("fullName").is_none(),
        "{neither}"
    );

    let page = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/graphql", p.port))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().to_lowercase().contains("<html"));
}

#[tokio::test]
async fn wide_queries_are_refused_by_the_router() {
    let p = Platform::start().await;
    let aliases: String = (0..40).map(|i| format!("a{i}: __typename ")).collect();
    let wide = p
        .gql
        .send(None, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert!(
        wide["errors"].is_array() && wide["data"].is_null(),
        "40 aliases accepted: {wide}"
    );
    let directives: String = (0..30).map(|_| "@include(if: true) ").collect();
    let many = p
        .gql
        .send(None, &format!("{{ __typename {directives} }}"), json!({}))
        .await;
    assert!(
        many["errors"].is_array() && many["data"].is_null(),
        "30 directives accepted: {many}"
    );
}
