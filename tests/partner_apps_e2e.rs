//! Partner apps through the router, with the contract's operations and the
//! users OAuth token endpoint, as docs/partners.md tells a partner to: a
//! vendor admin registers an integration for their own pharmacy (another
//! pharmacy's is refused, through the router and on the subgraph alike),
//! its secret obtains a 15-minute token carrying the app, its pharmacy and
//! its scopes, which then queries the API; a wider scope is `invalid_scope`;
//! a rotated secret keeps working during its overlap and not after; a
//! revoked app gets no token.

mod support;

use base64::Engine as _;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::Gql;
use serde_json::{json, Value};
use support::{code, operation, Platform};

/// The users token endpoint of `p` (not behind the router).
fn token_url(p: &Platform) -> String {
    p.subgraph_url("users").replace("/graphql", "/oauth/token")
}

/// A client-credentials request with `scope` if given: status and body.
async fn request_token(p: &Platform, id: &str, secret: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(scope.map(|s| ("scope", s)));
    let response = reqwest::Client::new()
        .post(token_url(p))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("token endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("token JSON"))
}

/// The claims of a JWT, read without checking it (the platform checks).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

#[tokio::test]
async fn a_pharmacy_registers_an_integration_that_obtains_tokens_and_queries() {
    let p = Platform::start().await;
    let ka = p.login("vendor.ka@janta.test").await;
    let mh = p.login("vendor.mh@janta.test").await;
    let input = |vendor: Option<&str>| json!({ "input": { "name": "KA stock sync", "scopes": ["CATALOG_READ", "STOCK_WRITE"], "vendorId": vendor } });

    // Register: the secret is in this answer only.
    let registered = p
        .gql
        .data(
            Some(&ka),
            &operation("RegisterPartnerApp"),
            input(Some(VENDOR_KA_ID)),
        )
        .await["registerPartnerApp"]
        .clone();
    let (id, secret) = (
        text(&registered["clientId"]),
        text(&registered["clientSecret"]),
    );
    assert_eq!(registered["app"]["id"], id.as_str());
    assert_eq!(registered["app"]["vendorId"], VENDOR_KA_ID);
    assert_eq!(
        registered["app"]["scopes"],
        json!(["CATALOG_READ", "STOCK_WRITE"])
    );
    assert_eq!(registered["app"]["tokenLifetimeSeconds"], 900);

    // Another pharmacy's: refused through the router and on the subgraph.
    let through_router = p
        .gql
        .send(
            Some(&ka),
            &operation("RegisterPartnerApp"),
            input(Some(VENDOR_MH_ID)),
        )
        .await;
    assert_eq!(
        code(&through_router).as_deref(),
        Some("FORBIDDEN"),
        "{through_router}"
    );
    let users = Gql::new(p.subgraph_url("users"));
    let direct = users
        .send(
            Some(&mh),
            &operation("RegisterPartnerApp"),
            input(Some(VENDOR_KA_ID)),
        )
        .await;
    assert_eq!(code(&direct).as_deref(), Some("FORBIDDEN"), "{direct}");

    // Token: the app, its pharmacy and its scopes, for 15 minutes.
    let (status, granted) = request_token(&p, &id, &secret, None).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 900);
    assert_eq!(granted["scope"], "catalog:read stock:write");
    let token = text(&granted["access_token"]);
    let claims = claims(&token);
    assert_eq!(claims["sub"], format!("partner:{id}"));
    assert_eq!(claims["roles"], json!(["PARTNER"]));
    assert_eq!(claims["vendor_id"], VENDOR_KA_ID);
    assert_eq!(claims["scope"], "catalog:read stock:write");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    let (status, refused) = request_token(&p, &id, &secret, Some("stock:write orders:write")).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (400, json!("invalid_scope")),
        "{refused}"
    );

    // First query with the partner token, through the router.
    let medicines = p
        .gql
        .data(
            Some(&token),
            &operation("SearchMedicines"),
            json!({ "search": "paracetamol", "first": 5 }),
        )
        .await;
    assert!(
        medicines["medicines"]["totalCount"].as_i64().unwrap() >= 1,
        "{medicines}"
    );
    // The partner token manages no partner apps.
    let as_partner = p
        .gql
        .send(Some(&token), &operation("PartnerApps"), json!({}))
        .await;
    assert_eq!(
        code(&as_partner).as_deref(),
        Some("FORBIDDEN"),
        "{as_partner}"
    );

    // Lists: the demo stock sync and this one, never a secret.
    let listed = p
        .gql
        .data(Some(&ka), &operation("PartnerApps"), json!({}))
        .await["partnerApps"]
        .clone();
    assert_eq!(listed["totalCount"], 2, "{listed}");
    assert!(!listed.to_string().contains(&secret));
    let peeking = p
        .gql
        .send(
            Some(&mh),
            &operation("PartnerApps"),
            json!({ "vendorId": VENDOR_KA_ID }),
        )
        .await;
    assert_eq!(code(&peeking).as_deref(), Some("FORBIDDEN"), "{peeking}");

    // Rotate with the default overlap (60 minutes): both secrets work.
    let rotated = p
        .gql
        .data(
            Some(&ka),
            &operation("RotatePartnerSecret"),
            json!({ "appId": id }),
        )
        .await["rotatePartnerSecret"]
        .clone();
    let second = text(&rotated["clientSecret"]);
    let until =
        chrono::DateTime::parse_from_rfc3339(&text(&rotated["app"]["previousSecretValidUntil"]))
            .unwrap();
    let updated =
        chrono::DateTime::parse_from_rfc3339(&text(&rotated["app"]["updatedAt"])).unwrap();
    assert!(
        (3590..=3610).contains(&(until - updated).num_seconds()),
        "{rotated}"
    );
    assert_eq!(request_token(&p, &id, &second, None).await.0, 200);
    assert_eq!(
        request_token(&p, &id, &secret, None).await.0,
        200,
        "old secret during the overlap"
    );

    // Rotate with no overlap: only the newest works.
    let again = p
        .gql
        .data(
            Some(&ka),
            &operation("RotatePartnerSecret"),
            json!({ "appId": id, "overlapMinutes": 0 }),
        )
        .await["rotatePartnerSecret"]
        .clone();
    let third = text(&again["clientSecret"]);
    assert_eq!(request_token(&p, &id, &third, None).await.0, 200);
    let (status, body) = request_token(&p, &id, &second, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid_client")),
        "{body}"
    );

    // Revoke: no more tokens; the ones issued expire within 15 minutes.
    let revoked = p
        .gql
        .data(
            Some(&ka),
            &operation("RevokePartnerApp"),
            json!({ "appId": id }),
        )
        .await;
    assert!(
        revoked["revokePartnerApp"]["revokedAt"].is_string(),
        "{revoked}"
    );
    let (status, body) = request_token(&p, &id, &third, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid_client")),
        "{body}"
    );

    let audited = p
        .count(
            "users",
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'partner_app_%'",
        )
        .await;
    assert_eq!(audited, 4, "registered, rotated twice, revoked");
}
