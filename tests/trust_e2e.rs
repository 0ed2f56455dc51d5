//! The trust boundaries, attacked the way a stranger would: through the
//! router and straight at each subgraph's port. Each test sends the
//! attacking request and asserts the refusal a user would see.

mod support;

use janta_catalog::demo::{PARACETAMOL_500_ID, PARACETAMOL_500_MH_LISTING_ID};
use janta_platform::demo::{CUSTOMER_ID, VENDOR_MH_ID};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, registration, Platform};

const SUBGRAPHS: [&str; 6] = janta_platform::config::DOMAINS;

/// Every field that only subgraphs may call, by the subgraph that owns it.
const SERVICE_ONLY: [&str; 12] = [
    "serviceToken",
    "contactForService",
    "addressForService",
    "familyMemberOfForService",
    "reservation",
    "priceListings",
    "reserveStock",
    "commitReservation",
    "releaseReservation",
    "authorizeDispense",
    "consume",
    "orderForPayment",
];

async fn root_fields(gql: &janta_testkit::Gql) -> Vec<String> {
    let body = gql
        .data(
            None,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    ["queryType", "mutationType"]
        .iter()
        .flat_map(|t| {
            body["__schema"][t]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn service_only_fields_are_invisible_through_the_router_but_serve_services_directly() {
    let p = Platform::start().await;
    let public = root_fields(&p.gql).await;
    for field in SERVICE_ONLY {
        assert!(!public.contains(&field.to_string()), "router lists {field}");
    }
    assert!(public.contains(&"login".to_string()), "introspection works");

    // Through the router a service-only field does not exist, whoever asks.
    let customer = p.login("customer@janta.test").await;
    let refused = p
        .gql
        .send(
            Some(&customer),
            "query($ids: [ID!]!) { contactForService(userIds: $ids) { userId email } }",
            json!({"ids": [CUSTOMER_ID]}),
        )
        .await;
    assert!(refused["data"].is_null(), "{refused}");

    // The notifications service, with its own client credentials, reads the
    // contact details straight from users.
    let service = p.service_token("notifications").await;
    let users = janta_testkit::Gql::new(p.subgraph_url("users"));
    let contact = users
        .data(
            Some(&service),
            "query($ids: [ID!]!) { contactForService(userIds: $ids) { userId email } }",
            json!({"ids": [CUSTOMER_ID]}),
        )
        .await;
    assert_eq!(
        contact["contactForService"][0]["email"],
        "customer@janta.test"
    );
    // A customer token is refused there too.
    let direct = users
        .send(
            Some(&customer),
            "query($ids: [ID!]!) { contactForService(userIds: $ids) { userId email } }",
            json!({"ids": [CUSTOMER_ID]}),
        )
        .await;
    assert_eq!(code(&direct).as_deref(), Some("FORBIDDEN"), "{direct}");
    // A wrong client secret gets no token at all.
    let wrong = p.request_service_token("orders", "guessed-secret").await;
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn a_stranger_guessing_passwords_is_slowed_without_locking_the_owner_out() {
    let p = Platform::start().await;
    let mut limited = None;
    for _ in 0..15 {
        let body = p
            .login_from("198.51.100.7", "customer@janta.test", "wrong-guess-123")
            .await;
        if code(&body).as_deref() == Some("RATE_LIMITED") {
            limited = Some(body);
            break;
        }
        assert_eq!(code(&body).as_deref(), Some("UNAUTHENTICATED"), "{body}");
    }
    let limited = limited.expect("15 wrong guesses from one address were never slowed down");
    let retry = limited["errors"][0]["extensions"]["retryAfter"]
        .as_i64()
        .expect("retryAfter");
    assert!(retry >= 1, "{limited}");

    // The owner, from their own address, signs in at once.
    let owner = p
        .login_from(
            "203.0.113.5",
            "customer@janta.test",
            janta_platform::demo::DEMO_PASSWORD,
        )
        .await;
    assert!(
        owner["data"]["login"]["accessToken"].is_string(),
        "owner locked out: {owner}"
    );

    // Thirty guesses in one request are refused before any is checked.
    let aliases: String = (0..30)
        .map(|i| format!("a{i}: login(email: \"customer@janta.test\", password: \"guess-{i}\") {{ accessToken }} "))
        .collect();
    let batch = p
        .gql
        .send(None, &format!("mutation {{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(code(&batch).as_deref(), Some("BAD_USER_INPUT"), "{batch}");
}

/// Polls the storefront until `done` holds for the MH paracetamol listing's
/// presence (events reach catalog asynchronously).
async fn wait_for_mh_listing(p: &Platform, shown: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let detail = p
            .gql
            .data(
                None,
                &operation("MedicineDetail"),
                json!({"id": PARACETAMOL_500_ID}),
            )
            .await;
        let present = detail["medicine"]["listings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == PARACETAMOL_500_MH_LISTING_ID);
        if present == shown {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "MH listing shown={present}, expected {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_suspended_pharmacy_leaves_the_storefront_and_cannot_sell() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let customer = p.login("customer@janta.test").await;
    wait_for_mh_listing(&p, true).await;

    let vendor_admin = p.login("vendor.mh@janta.test").await;
    let self_suspend = p
        .gql
        .send(
            Some(&vendor_admin),
            "mutation($id: ID!) { reinstateVendor(id: $id) { id } }",
            json!({"id": VENDOR_MH_ID}),
        )
        .await;
    assert_eq!(code(&self_suspend).as_deref(), Some("FORBIDDEN"));

    let suspended = p
        .gql
        .data(
            Some(&admin),
            "mutation($id: ID!) { suspendVendor(id: $id, reason: \"Drug licence lapsed on renewal\") { id suspended } }",
            json!({"id": VENDOR_MH_ID}),
        )
        .await;
    assert_eq!(suspended["suspendVendor"]["suspended"], true);
    wait_for_mh_listing(&p, false).await;
    let add = p
        .gql
        .send(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": PARACETAMOL_500_MH_LISTING_ID, "quantity": 1}),
        )
        .await;
    assert!(
        matches!(code(&add).as_deref(), Some("FORBIDDEN" | "NOT_FOUND")),
        "{add}"
    );

    p.gql
        .data(
            Some(&admin),
            "mutation($id: ID!) { reinstateVendor(id: $id) { id } }",
            json!({"id": VENDOR_MH_ID}),
        )
        .await;
    wait_for_mh_listing(&p, true).await;
    let added = p
        .gql
        .send(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": PARACETAMOL_500_MH_LISTING_ID, "quantity": 1}),
        )
        .await;
    assert!(added["errors"].is_null(), "{added}");
}

#[tokio::test]
async fn webhooks_cannot_point_inside_the_platform() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let notifications = janta_testkit::Gql::new(p.subgraph_url("notifications"));
    for url in [
        format!("http://127.0.0.1:{}/graphql", p.port + 5),
        "http://localhost:4005/sandbox/checkout/x".to_string(),
        "http://[::ffff:127.0.0.1]/".to_string(),
        "http://2130706433/".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://10.0.0.1/".to_string(),
    ] {
        let query = "mutation($url: String!) { createWebhookSubscription(url: $url, events: [\"OrderPlaced\"]) { subscription { id } } }";
        for gql in [&p.gql, &notifications] {
            let body = gql.send(Some(&admin), query, json!({"url": url})).await;
            assert_eq!(
                code(&body).as_deref(),
                Some("BAD_USER_INPUT"),
                "{url}: {body}"
            );
        }
    }
}

/// POSTs `body` as it is, with the given content type.
async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: &'static str,
) -> reqwest::Response {
    http.post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_subgraph_port_is_as_strict_as_the_router() {
    let p = Platform::start().await;
    let http = reqwest::Client::new();
    let aliases: String = (0..300).map(|i| format!("a{i}: __typename ")).collect();
    for domain in SUBGRAPHS {
        let url = p.subgraph_url(domain);
        let gql = janta_testkit::Gql::new(url.clone());
        let flood = gql.send(None, &format!("{{ {aliases} }}"), json!({})).await;
        assert!(flood["data"].is_null(), "{domain}: 300 aliases ran");
        assert!(
            code(&flood).is_some(),
            "{domain}: refusal without a code: {flood}"
        );

        let get = http
            .get(&url)
            .query(&[("query", "mutation { __typename }")])
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 405, "{domain}: mutation over GET");

        let plain = post_raw(&http, &url, "text/plain", r#"{"query":"{ __typename }"}"#).await;
        assert_eq!(plain.status(), 415, "{domain}: text/plain POST");

        let malformed = post_raw(
            &http,
            &url,
            "application/json",
            r#"{"query": "{ __typename }""#,
        )
        .await;
        assert_eq!(malformed.status(), 400, "{domain}: malformed JSON");
        let body: Value = malformed.json().await.expect("a JSON error body");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("InvalidRequest") && !message.contains("Error("),
            "{domain}: debug text leaked: {message}"
        );

        let json_accept = http
            .post(&url)
            .header("accept", "application/json")
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await
            .unwrap();
        assert!(
            json_accept.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{domain}: Accept: application/json answered otherwise"
        );

        let failed = janta_testkit::graphql_http_audit(&url).await;
        assert!(
            failed.is_empty(),
            "{domain} fails graphql-http audits: {failed:#?}"
        );
    }
}

#[tokio::test]
async fn strangers_learn_nothing_about_accounts() {
    let p = Platform::start().await;
    // Anonymous entity lookups on users give away no names.
    let users = janta_testkit::Gql::new(p.subgraph_url("users"));
    let entities = users
        .send(
            None,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }",
            json!({"r": [{"__typename": "User", "id": CUSTOMER_ID}]}),
        )
        .await;
    assert!(
        !entities.to_string().contains("Chitra"),
        "anonymous caller read a name: {entities}"
    );

    // Registering a taken e-mail answers like a fresh sign-up.
    let fresh = p
        .gql
        .send(
            None,
            &operation("Register"),
            registration("fresh@janta.test", "Someone"),
        )
        .await;
    let taken = p
        .gql
        .send(
            None,
            &operation("Register"),
            registration("customer@janta.test", "Someone"),
        )
        .await;
    assert!(
        fresh["errors"].is_null() && taken["errors"].is_null(),
        "{taken}"
    );
    let shape = |v: &Value| {
        let mut keys: Vec<_> = v["data"]["register"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(shape(&fresh), shape(&taken));
    assert_ne!(
        taken["data"]["register"]["user"]["id"], CUSTOMER_ID,
        "the owner's account was handed out"
    );
    // The owner can still sign in with their own password.
    p.login("customer@janta.test").await;

    // A prescription cannot name someone else's family member.
    let customer = p.login("customer@janta.test").await;
    let upload = p.upload_prescription(&customer).await;
    let submitted = p
        .gql
        .send(
            Some(&customer),
            &operation("SubmitPrescription"),
            json!({"input": {
                "uploadId": upload.id,
                "patientName": "Not Mine", "doctorName": "Dr. Arvind Menon",
                "familyMemberId": janta_platform::ids::new_id(),
                "issuedOn": chrono::Utc::now().date_naive().to_string()
            }}),
        )
        .await;
    assert_eq!(
        code(&submitted).as_deref(),
        Some("BAD_USER_INPUT"),
        "{submitted}"
    );
    assert!(
        submitted.to_string().contains("family"),
        "refused for another reason: {submitted}"
    );
    assert_eq!(
        p.count("prescriptions", "SELECT COUNT(*) FROM prescriptions")
            .await,
        0,
        "nothing stored"
    );
}

/// The roles a freshly signed-in account's token carries (`Me`).
async fn roles_of(p: &Platform, email: &str) -> Value {
    let token = p.login_with(email, support::TEST_PASSWORD).await;
    p.gql.data(Some(&token), &operation("Me"), json!({})).await["me"]["roles"].clone()
}

#[tokio::test]
async fn a_pharmacist_acts_only_after_a_platform_admin_verified_the_registration() {
    let p = Platform::start().await;
    p.register("new.rx@janta.test", "Nisha Pharmacist").await;
    let vendor_ka = p.login("vendor.ka@janta.test").await;

    // A vendor admin can no longer make anyone a pharmacist directly.
    let direct = p
        .gql
        .send(
            Some(&vendor_ka),
            "mutation($v: ID!) { addVendorStaff(vendorId: $v, email: \"new.rx@janta.test\", role: PHARMACIST) { id } }",
            json!({"v": janta_platform::demo::VENDOR_KA_ID}),
        )
        .await;
    assert_eq!(code(&direct).as_deref(), Some("BAD_USER_INPUT"), "{direct}");

    let proposed = p
        .gql
        .data(
            Some(&vendor_ka),
            "mutation { proposePharmacist(input: {email: \"new.rx@janta.test\", registrationNumber: \"KSPC-55012\", council: \"KA\"}) { id status } }",
            json!({}),
        )
        .await;
    let appointment = proposed["proposePharmacist"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(proposed["proposePharmacist"]["status"], "PENDING");
    assert_eq!(roles_of(&p, "new.rx@janta.test").await, json!(["CUSTOMER"]));

    // Neither the proposing pharmacy nor another one may verify it.
    let verify = "mutation($id: ID!) { verifyPharmacist(id: $id) { status } }";
    for vendor_admin in ["vendor.ka@janta.test", "vendor.mh@janta.test"] {
        let token = p.login(vendor_admin).await;
        let refused = p
            .gql
            .send(Some(&token), verify, json!({"id": appointment}))
            .await;
        assert_eq!(
            code(&refused).as_deref(),
            Some("FORBIDDEN"),
            "{vendor_admin}: {refused}"
        );
    }
    assert_eq!(roles_of(&p, "new.rx@janta.test").await, json!(["CUSTOMER"]));

    let admin = p.login("admin@janta.test").await;
    let verified = p
        .gql
        .data(Some(&admin), verify, json!({"id": appointment}))
        .await;
    assert_eq!(verified["verifyPharmacist"]["status"], "VERIFIED");
    let roles = roles_of(&p, "new.rx@janta.test").await;
    assert!(
        roles.as_array().unwrap().contains(&json!("PHARMACIST")),
        "verified pharmacist's token lacks the role: {roles}"
    );
    let verifications = format!(
        "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'pharmacist_appointment' \
         AND action = 'verified' AND actor = '{}'",
        janta_platform::demo::ADMIN_ID
    );
    assert_eq!(
        p.count("users", &verifications).await,
        1,
        "the verifier is on record"
    );
}
