//! The users subgraph over HTTP, directly (not through the router), on both
//! SQLite and PostgreSQL: sign-up, sign-in, token rotation, addresses and
//! the refusals a real client meets, each with nothing written.

use janta_platform::auth::{Claims, Role, TokenSigner};
use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use serde_json::{json, Value};

async fn start(db: &TestDb) -> (Gql, Store) {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let (router, store) = janta_users::build(&config).await.expect("users builds");
    let base = janta_testkit::serve(router).await;
    (Gql::new(format!("{base}/graphql")), store)
}

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresAt user { id email fullName roles } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const ME: &str = "{ me { id email fullName roles addresses { id city isDefault } } }";
const ADD_ADDRESS: &str =
    "mutation($input: AddressInput!) { addAddress(input: $input) { id state pincode isDefault } }";

async fn register(gql: &Gql, email: &str) -> Value {
    gql.data(
        None,
        REGISTER,
        json!({ "input": {
            "email": email, "password": "long enough pw", "fullName": "Ravi Kumar", "phone": null
        }}),
    )
    .await["register"]
        .clone()
}

async fn count(store: &Store, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

fn address(pincode: &str) -> Value {
    json!({ "input": { "line1": "12 MG Road", "city": "Bengaluru", "state": "KA", "pincode": pincode } })
}

both_backends! {
    async fn register_then_me(db) {
        let (gql, store) = start(&db).await;
        let auth = register(&gql, "Ravi@Example.com").await;
        assert_eq!(auth["user"]["email"], "ravi@example.com");
        assert_eq!(auth["user"]["roles"], json!(["CUSTOMER"]));
        let token = auth["accessToken"].as_str().unwrap();
        let me = gql.data(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["id"], auth["user"]["id"]);
        assert_eq!(me["me"]["fullName"], "Ravi Kumar");
        let (audits,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'registered'")
            .fetch_one(store.pool()).await.unwrap();
        assert_eq!(audits, 1);
        let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = 'UserRegistered'")
            .fetch_one(store.pool()).await.unwrap();
        assert_eq!(events, 1);
    }

    async fn bad_registrations_write_nothing(db) {
        let (gql, store) = start(&db).await;
        register(&gql, "taken@example.com").await;
        let cases = [
            (json!({"email": "weak@example.com", "password": "short", "fullName": "Weak"}), "BAD_USER_INPUT"),
            (json!({"email": "not-an-email", "password": "long enough pw", "fullName": "Bad"}), "BAD_USER_INPUT"),
            (json!({"email": "phone@example.com", "password": "long enough pw", "fullName": "Bad", "phone": "98765"}), "BAD_USER_INPUT"),
        ];
        for (input, code) in cases {
            let body = gql.send(None, REGISTER, json!({ "input": input })).await;
            assert_eq!(error_code(&body).as_deref(), Some(code), "{input} -> {body}");
        }
        assert_eq!(count(&store, "users").await, 1);
        assert_eq!(count(&store, "refresh_tokens").await, 1);
    }

    async fn login_failures_do_not_reveal_accounts_and_are_rate_limited(db) {
        let (gql, store) = start(&db).await;
        register(&gql, "asha@example.com").await;
        let wrong = gql.send(None, LOGIN, json!({"email": "asha@example.com", "password": "wrong password"})).await;
        let unknown = gql.send(None, LOGIN, json!({"email": "nobody@example.com", "password": "wrong password"})).await;
        assert_eq!(error_code(&wrong).as_deref(), Some("UNAUTHENTICATED"));
        assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"]);
        for _ in 0..4 {
            gql.send(None, LOGIN, json!({"email": "nobody@example.com", "password": "wrong password"})).await;
        }
        let limited = gql.send(None, LOGIN, json!({"email": "nobody@example.com", "password": "wrong password"})).await;
        assert_eq!(error_code(&limited).as_deref(), Some("RATE_LIMITED"));
        for _ in 0..4 {
            gql.send(None, LOGIN, json!({"email": "asha@example.com", "password": "wrong password"})).await;
        }
        let right_but_limited = gql.send(None, LOGIN, json!({"email": "asha@example.com", "password": "long enough pw"})).await;
        assert_eq!(error_code(&right_but_limited).as_deref(), Some("RATE_LIMITED"));
        assert_eq!(count(&store, "refresh_tokens").await, 1, "no session was created");
    }

    async fn refresh_tokens_rotate_and_reuse_revokes_the_family(db) {
        let (gql, _store) = start(&db).await;
        let auth = register(&gql, "rotate@example.com").await;
        let first = auth["refreshToken"].as_str().unwrap().to_string();
        let second = gql.data(None, REFRESH, json!({"t": first})).await["refreshToken"]["refreshToken"]
            .as_str().unwrap().to_string();
        assert_ne!(first, second);
        let reused = gql.send(None, REFRESH, json!({"t": first})).await;
        assert_eq!(error_code(&reused).as_deref(), Some("UNAUTHENTICATED"));
        let after_theft = gql.send(None, REFRESH, json!({"t": second})).await;
        assert_eq!(error_code(&after_theft).as_deref(), Some("UNAUTHENTICATED"), "family must be revoked");
    }

    async fn forged_tokens_are_refused(db) {
        let (gql, _store) = start(&db).await;
        let auth = register(&gql, "victim@example.com").await;
        let user_id = auth["user"]["id"].as_str().unwrap().to_string();
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.clone(), roles: vec![Role::Admin], vendor_id: None, scope: None,
            iss: "janta".into(), aud: "janta-api".into(), exp: now + 600, iat: now,
        };
        let wrong_key = TokenSigner::generate("janta", "janta-api").unwrap().sign_claims(&claims).unwrap();
        let dev = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
        let expired = dev.sign_claims(&Claims { exp: now - 120, iat: now - 900, ..claims.clone() }).unwrap();
        let wrong_aud = dev.sign_claims(&Claims { aud: "someone-else".into(), ..claims.clone() }).unwrap();
        let none = format!("{}.{}.",
            base64_url(r#"{"alg":"none","typ":"JWT"}"#),
            base64_url(&serde_json::to_string(&claims).unwrap()));
        for token in [wrong_key, expired, wrong_aud, none, "garbage".to_string()] {
            let body = gql.send(Some(&token), ME, json!({})).await;
            assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"), "{token}: {body}");
            assert!(body["data"].is_null() || body["data"]["me"].is_null());
        }
    }

    async fn customers_cannot_read_other_users(db) {
        let (gql, _store) = start(&db).await;
        let a = register(&gql, "a@example.com").await;
        let b = register(&gql, "b@example.com").await;
        let body = gql.send(a["accessToken"].as_str(), "query($id: ID!) { user(id: $id) { id email } }",
            json!({"id": b["user"]["id"]})).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let invalid = gql.send(a["accessToken"].as_str(), "query($id: ID!) { user(id: $id) { id } }",
            json!({"id": "not-a-uuid"})).await;
        assert_eq!(error_code(&invalid).as_deref(), Some("BAD_USER_INPUT"));
    }

    async fn addresses_keep_one_default_and_reject_bad_input(db) {
        let (gql, store) = start(&db).await;
        let auth = register(&gql, "addr@example.com").await;
        let token = auth["accessToken"].as_str();
        let first = gql.data(token, ADD_ADDRESS, address("560001")).await;
        assert_eq!(first["addAddress"]["isDefault"], true, "the first address is the default");
        let mut second = address("560002");
        second["input"]["isDefault"] = json!(true);
        gql.data(token, ADD_ADDRESS, second).await;
        let me = gql.data(token, ME, json!({})).await;
        let defaults: Vec<_> = me["me"]["addresses"].as_array().unwrap().iter()
            .filter(|a| a["isDefault"] == true).collect();
        assert_eq!(defaults.len(), 1);
        for (field, value) in [("pincode", "5600"), ("state", "Karnataka"), ("line1", "")] {
            let mut bad = address("560003");
            bad["input"][field] = json!(value);
            let body = gql.send(token, ADD_ADDRESS, bad).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{field}");
        }
        assert_eq!(count(&store, "addresses").await, 2);
        let other = register(&gql, "other@example.com").await;
        let stolen = gql.send(other["accessToken"].as_str(), "mutation($id: ID!) { removeAddress(id: $id) }",
            json!({"id": first["addAddress"]["id"]})).await;
        assert_eq!(error_code(&stolen).as_deref(), Some("NOT_FOUND"));
        assert_eq!(count(&store, "addresses").await, 2);
    }

    async fn vendors_and_staff_need_the_right_roles(db) {
        let (gql, store) = start(&db).await;
        janta_users::demo::seed(&store).await.unwrap();
        let admin = gql.data(None, LOGIN, json!({"email": "admin@janta.test", "password": "demo-password-1"})).await;
        let admin_token = admin["login"]["accessToken"].as_str();
        let customer = register(&gql, "future.pharmacist@example.com").await;
        let create = "mutation($input: CreateVendorInput!) { createVendor(input: $input) { id name verified } }";
        let input = json!({"input": {"name": "Nila Pharmacy", "legalName": "Nila Pharmacy LLP",
            "gstin": "33ABCDE1234F1Z7", "drugLicenceNumber": "TN-CHN-20B-1", "state": "TN",
            "branch": {"name": "Adyar", "line1": "3 LB Road", "city": "Chennai", "state": "TN", "pincode": "600020"}}});
        let refused = gql.send(customer["accessToken"].as_str(), create, input.clone()).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
        let vendor = gql.data(admin_token, create, input.clone()).await["createVendor"].clone();
        assert_eq!(vendor["verified"], false);
        let duplicate = gql.send(admin_token, create, input).await;
        assert_eq!(error_code(&duplicate).as_deref(), Some("CONFLICT"));
        let staff = gql.data(admin_token,
            "mutation($v: ID!, $e: String!) { addVendorStaff(vendorId: $v, email: $e, role: VENDOR_ADMIN) { roles vendor { name } } }",
            json!({"v": vendor["id"], "e": "future.pharmacist@example.com"})).await;
        assert_eq!(staff["addVendorStaff"]["roles"], json!(["CUSTOMER", "VENDOR_ADMIN"]));
        assert_eq!(staff["addVendorStaff"]["vendor"]["name"], "Nila Pharmacy");
        assert_eq!(count(&store, "vendors").await, 3);
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
