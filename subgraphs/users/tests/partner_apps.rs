//! Partner apps over HTTP, directly on the users subgraph, on both
//! backends: who may register, list, rotate and revoke an app of which
//! owner; the secret issued once and stored hashed; and what the token
//! endpoint then does with it (its tokens, narrowed scopes, rotation
//! overlap, revocation).

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::demo::{DEMO_PASSWORD, VENDOR_KA_ID, VENDOR_MH_ID};
use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Users {
    gql: Gql,
    store: Store,
}

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }";
const REGISTER: &str = "mutation($input: RegisterPartnerAppInput!) { registerPartnerApp(input: $input) { clientId clientSecret app { id clientId name vendorId scopes tokenLifetimeSeconds revokedAt } } }";
const ROTATE: &str = "mutation($id: ID!, $overlap: Int) { rotatePartnerSecret(appId: $id, overlapMinutes: $overlap) { clientId clientSecret app { previousSecretValidUntil } } }";
const ROTATE_DEFAULT: &str = "mutation($id: ID!) { rotatePartnerSecret(appId: $id) { clientSecret app { previousSecretValidUntil updatedAt } } }";
const REVOKE: &str = "mutation($id: ID!) { revokePartnerApp(appId: $id) { id revokedAt } }";
const LIST: &str = "query($v: ID) { partnerApps(vendorId: $v) { totalCount edges { node { id name vendorId vendor { id } scopes } } } }";

async fn start(db: &TestDb) -> Users {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let (router, store) = janta_users::build(&config).await.expect("users builds");
    janta_users::demo::seed(&store).await.unwrap();
    let base = janta_testkit::serve(router).await;
    Users {
        gql: Gql::new(format!("{base}/graphql")),
        store,
    }
}

impl Users {
    async fn demo(&self, who: &str) -> String {
        let vars = json!({ "email": format!("{who}@janta.test"), "password": DEMO_PASSWORD });
        let data = self.gql.data(None, LOGIN, vars).await;
        data["login"]["accessToken"].as_str().unwrap().to_string()
    }

    async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        n
    }

    async fn partner_apps(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM oauth_clients WHERE kind = 'PARTNER'")
            .await
    }

    /// Registers an app as `token`; returns the `registerPartnerApp` answer.
    async fn register(
        &self,
        token: &str,
        name: &str,
        scopes: Value,
        vendor: Option<&str>,
    ) -> Value {
        let input = json!({ "input": { "name": name, "scopes": scopes, "vendorId": vendor } });
        self.gql.data(Some(token), REGISTER, input).await["registerPartnerApp"].clone()
    }

    /// Posts a client-credentials request (HTTP Basic) with extra `form`
    /// fields; returns the status and the JSON body.
    async fn token(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let url = self.gql.url.replace("/graphql", "/oauth/token");
        let mut fields = vec![("grant_type", "client_credentials")];
        fields.extend_from_slice(form);
        let response = reqwest::Client::new()
            .post(url)
            .header("x-forwarded-for", "203.0.113.40")
            .basic_auth(id, Some(secret))
            .form(&fields)
            .send()
            .await
            .expect("token endpoint answers");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }

    /// Whether `secret` obtains a token for app `id` now.
    async fn works(&self, id: &str, secret: &str) -> bool {
        let (status, body) = self.token(id, secret, &[]).await;
        match status {
            StatusCode::OK => true,
            StatusCode::UNAUTHORIZED => {
                assert_eq!(body["error"], "invalid_client", "{body}");
                false
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
}

async fn verified(token: &str) -> Principal {
    let dev = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
    dev.local_verifier()
        .unwrap()
        .verify(token)
        .await
        .expect("token verifies")
}

fn str_of(value: &Value) -> String {
    value.as_str().expect("a string").to_string()
}

both_backends! {
    async fn vendor_admins_register_apps_for_their_own_pharmacy_only(db) {
        let users = start(&db).await;
        let ka = users.demo("vendor.ka").await;
        let before = users.partner_apps().await;

        let own = users.register(&ka, "KA stock sync", json!(["STOCK_WRITE", "CATALOG_READ", "STOCK_WRITE"]), None).await;
        assert_eq!(own["app"]["vendorId"], VENDOR_KA_ID, "no vendorId: your own pharmacy");
        assert_eq!(own["app"]["scopes"], json!(["CATALOG_READ", "STOCK_WRITE"]));
        assert_eq!(own["app"]["tokenLifetimeSeconds"], 900);
        assert_eq!(own["clientId"], own["app"]["id"]);
        let named = users.register(&ka, "KA orders", json!(["ORDERS_READ"]), Some(VENDOR_KA_ID)).await;
        assert_eq!(named["app"]["vendorId"], VENDOR_KA_ID);

        let input = |vendor: Option<&str>, scopes: Value| json!({ "input": { "name": "Sneaky", "scopes": scopes, "vendorId": vendor } });
        let other = users.gql.send(Some(&ka), REGISTER, input(Some(VENDOR_MH_ID), json!(["ORDERS_READ"]))).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"), "{other}");
        let customer = users.demo("customer").await;
        let refused = users.gql.send(Some(&customer), REGISTER, input(None, json!(["ORDERS_READ"]))).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        let anonymous = users.gql.send(None, REGISTER, input(None, json!(["ORDERS_READ"]))).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"), "{anonymous}");
        let unknown = users.gql.send(Some(&ka), REGISTER, input(None, json!(["ORDERS_DELETE"]))).await;
        assert!(unknown["errors"][0]["message"].as_str().is_some(), "unknown scopes are refused: {unknown}");
        let none = users.gql.send(Some(&ka), REGISTER, input(None, json!([]))).await;
        assert_eq!(error_code(&none).as_deref(), Some("BAD_USER_INPUT"), "{none}");
        assert_eq!(users.partner_apps().await, before + 2, "refusals write nothing");

        // Platform admins register platform apps, or any pharmacy's.
        let admin = users.demo("admin").await;
        let platform = users.register(&admin, "Insurer claims", json!(["ORDERS_READ"]), None).await;
        assert_eq!(platform["app"]["vendorId"], Value::Null);
        let for_mh = users.register(&admin, "MH sync", json!(["STOCK_WRITE"]), Some(VENDOR_MH_ID)).await;
        assert_eq!(for_mh["app"]["vendorId"], VENDOR_MH_ID);
        let missing = users.gql.send(Some(&admin), REGISTER,
            input(Some("019a0000-0000-7000-8000-0000000000ff"), json!(["STOCK_WRITE"]))).await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"), "{missing}");

        // The secret is shown once and stored only as its SHA-256.
        let id = str_of(&own["clientId"]);
        let secret = str_of(&own["clientSecret"]);
        let (hash,): (String,) = sqlx::query_as("SELECT secret_hash FROM oauth_clients WHERE client_id = $1")
            .bind(&id).fetch_one(users.store.pool()).await.unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&secret) && secret.starts_with("jps_"));
        let audited = users.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'partner_app_registered'")).await;
        assert_eq!(audited, 1);

        // Lists: each pharmacy's admins see theirs; platform admins all.
        let mh = users.demo("vendor.mh").await;
        let listed = users.gql.data(Some(&ka), LIST, json!({})).await["partnerApps"].clone();
        assert_eq!(listed["totalCount"], 3, "the demo stock sync and these two: {listed}");
        assert_eq!(listed["edges"][0]["node"]["vendor"]["id"], VENDOR_KA_ID);
        let mh_sees = users.gql.data(Some(&mh), LIST, json!({})).await["partnerApps"].clone();
        assert_eq!(mh_sees["totalCount"], 1, "{mh_sees}");
        let peeking = users.gql.send(Some(&mh), LIST, json!({ "v": VENDOR_KA_ID })).await;
        assert_eq!(error_code(&peeking).as_deref(), Some("FORBIDDEN"), "{peeking}");
        let all = users.gql.data(Some(&admin), LIST, json!({})).await["partnerApps"].clone();
        assert_eq!(all["totalCount"], before + 4);
        let of_ka = users.gql.data(Some(&admin), LIST, json!({ "v": VENDOR_KA_ID })).await;
        assert_eq!(of_ka["partnerApps"]["totalCount"], 3);

        // Another pharmacy's admin cannot touch the app.
        for (op, vars) in [(ROTATE, json!({ "id": id, "overlap": 0 })), (REVOKE, json!({ "id": id }))] {
            let refused = users.gql.send(Some(&mh), op, vars).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
        let platform_id = str_of(&platform["clientId"]);
        let refused = users.gql.send(Some(&ka), REVOKE, json!({ "id": platform_id })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "platform apps are the platform's: {refused}");
        assert!(users.works(&id, &secret).await, "refusals changed nothing");
    }

    async fn the_secret_obtains_tokens_carrying_the_app_its_owner_and_scopes(db) {
        let users = start(&db).await;
        let ka = users.demo("vendor.ka").await;
        let app = users.register(&ka, "KA stock sync", json!(["CATALOG_READ", "STOCK_WRITE"]), None).await;
        let (id, secret) = (str_of(&app["clientId"]), str_of(&app["clientSecret"]));

        let (status, body) = users.token(&id, &secret, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["expires_in"], 900, "partner tokens live 15 minutes");
        assert_eq!(body["scope"], "catalog:read stock:write");
        let principal = verified(body["access_token"].as_str().unwrap()).await;
        assert_eq!(principal.subject, format!("partner:{id}"));
        assert_eq!(principal.roles, vec![Role::Partner]);
        assert_eq!(principal.vendor_id.as_deref(), Some(VENDOR_KA_ID));
        assert_eq!(principal.scopes, vec!["catalog:read", "stock:write"]);

        let (status, body) = users.token(&id, &secret, &[("scope", "stock:write")]).await;
        assert_eq!(status, StatusCode::OK, "a request may narrow the scopes: {body}");
        assert_eq!(verified(body["access_token"].as_str().unwrap()).await.scopes, vec!["stock:write"]);
        for wider in ["orders:write", "stock:write orders:read", "admin", "service:orders"] {
            let (status, body) = users.token(&id, &secret, &[("scope", wider)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{wider}: {body}");
            assert_eq!(body["error"], "invalid_scope", "{body}");
        }

        // A platform app's tokens speak for no pharmacy.
        let admin = users.demo("admin").await;
        let platform = users.register(&admin, "Insurer claims", json!(["ORDERS_READ"]), None).await;
        let (status, body) = users.token(&str_of(&platform["clientId"]), &str_of(&platform["clientSecret"]), &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let principal = verified(body["access_token"].as_str().unwrap()).await;
        assert_eq!((principal.vendor_id, principal.scopes), (None, vec!["orders:read".to_string()]));

        // The token opens none of the people's management fields.
        let partner_token = body["access_token"].as_str().unwrap();
        let refused = users.gql.send(Some(partner_token), REGISTER,
            json!({ "input": { "name": "Self-made", "scopes": ["ORDERS_WRITE"] } })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        let refused = users.gql.send(Some(partner_token), LIST, json!({})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
    }

    async fn a_rotated_secret_works_until_the_overlap_ends(db) {
        let users = start(&db).await;
        let ka = users.demo("vendor.ka").await;
        let app = users.register(&ka, "KA stock sync", json!(["STOCK_WRITE"]), None).await;
        let (id, first) = (str_of(&app["clientId"]), str_of(&app["clientSecret"]));

        let rotated = users.gql.data(Some(&ka), ROTATE_DEFAULT, json!({ "id": id })).await["rotatePartnerSecret"].clone();
        let second = str_of(&rotated["clientSecret"]);
        assert_ne!(second, first);
        let until = chrono::DateTime::parse_from_rfc3339(rotated["app"]["previousSecretValidUntil"].as_str().unwrap()).unwrap();
        let updated = chrono::DateTime::parse_from_rfc3339(rotated["app"]["updatedAt"].as_str().unwrap()).unwrap();
        let overlap = (until - updated).num_seconds();
        assert!((3590..=3610).contains(&overlap), "the default overlap is 60 minutes, got {overlap} s");
        assert!(users.works(&id, &second).await, "the new secret works");
        assert!(users.works(&id, &first).await, "the old one works during the overlap");

        // Rotating again with no overlap: only the newest secret works.
        let admin = users.demo("admin").await;
        let again = users.gql.data(Some(&admin), ROTATE, json!({ "id": id, "overlap": 0 })).await["rotatePartnerSecret"].clone();
        let third = str_of(&again["clientSecret"]);
        assert!(users.works(&id, &third).await);
        assert!(!users.works(&id, &second).await, "overlap 0 ends the old secret at once");
        assert!(!users.works(&id, &first).await, "a secret two rotations old never works");

        for overlap in [-1, 10_081] {
            let refused = users.gql.send(Some(&ka), ROTATE, json!({ "id": id, "overlap": overlap })).await;
            assert_eq!(error_code(&refused).as_deref(), Some("BAD_USER_INPUT"), "{refused}");
        }
        let seven_days = users.gql.data(Some(&ka), ROTATE, json!({ "id": id, "overlap": 10_080 })).await;
        assert!(seven_days["rotatePartnerSecret"]["clientSecret"].is_string());
        let null = users.gql.data(Some(&ka), ROTATE, json!({ "id": id, "overlap": null })).await;
        let until = null["rotatePartnerSecret"]["app"]["previousSecretValidUntil"].as_str().unwrap();
        let minutes = (chrono::DateTime::parse_from_rfc3339(until).unwrap().timestamp() - chrono::Utc::now().timestamp()) / 60;
        assert!((58..=60).contains(&minutes), "null means the default 60 minutes: {minutes}");
        let missing = users.gql.send(Some(&admin), ROTATE, json!({ "id": "019a0000-0000-7000-8000-0000000000ff", "overlap": 0 })).await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"), "{missing}");
        let audited = users.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'partner_app_secret_rotated'")).await;
        assert_eq!(audited, 4);
    }

    async fn the_demo_apps_obtain_tokens_with_their_development_secrets(db) {
        let users = start(&db).await;
        let ka_sync = "019a0000-0000-7000-8000-0000000000e2";
        let (status, body) = users.token(ka_sync, "jps_demo-ka-stock-sync-development-only-secret", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "catalog:read listings:write stock:write");
        let principal = verified(body["access_token"].as_str().unwrap()).await;
        assert_eq!(principal.vendor_id.as_deref(), Some(VENDOR_KA_ID));
        let insurer = "019a0000-0000-7000-8000-0000000000e1";
        assert!(users.works(insurer, "jps_demo-insurer-development-only-secret").await);
        assert!(!janta_users::demo::seed(&users.store).await.unwrap(), "seeding again adds nothing");
        assert_eq!(users.partner_apps().await, 2);
    }

    async fn a_revoked_app_gets_no_tokens(db) {
        let users = start(&db).await;
        let ka = users.demo("vendor.ka").await;
        let app = users.register(&ka, "KA stock sync", json!(["STOCK_WRITE"]), None).await;
        let (id, first) = (str_of(&app["clientId"]), str_of(&app["clientSecret"]));
        let rotated = users.gql.data(Some(&ka), ROTATE, json!({ "id": id, "overlap": 60 })).await;
        let second = str_of(&rotated["rotatePartnerSecret"]["clientSecret"]);
        assert!(users.works(&id, &first).await && users.works(&id, &second).await);

        let revoked = users.gql.data(Some(&ka), REVOKE, json!({ "id": id })).await;
        assert!(revoked["revokePartnerApp"]["revokedAt"].is_string(), "{revoked}");
        assert!(!users.works(&id, &second).await, "revoked: the current secret fails");
        assert!(!users.works(&id, &first).await, "revoked: so does the one in its overlap");

        let again = users.gql.data(Some(&ka), REVOKE, json!({ "id": id })).await;
        assert_eq!(again["revokePartnerApp"]["revokedAt"], revoked["revokePartnerApp"]["revokedAt"]);
        let rotate = users.gql.send(Some(&ka), ROTATE, json!({ "id": id, "overlap": 0 })).await;
        assert_eq!(error_code(&rotate).as_deref(), Some("CONFLICT"), "{rotate}");
        let audited = users.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'partner_app_revoked'")).await;
        assert_eq!(audited, 1, "revoking twice is audited once");
    }
}
