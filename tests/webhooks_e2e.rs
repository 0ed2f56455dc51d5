//! Webhooks a partner builds on, through the router with the contract's
//! operations, as docs/webhooks.md tells a partner to: a pharmacy's partner
//! app (scope `WEBHOOKS_MANAGE`) subscribes with the `WebhookEventType`
//! enum to the event type an admin granted it; a customer's order reaches
//! its endpoint signed as documented; the endpoint fails, so the delivery is
//! `DEAD` in the app's delivery log; another app of the same pharmacy sees
//! only its own delivery and cannot replay the first app's (`NOT_FOUND`);
//! the owner replays it under the same event ID; an app without the scope
//! is `FORBIDDEN`.

mod support;

use janta_catalog::demo::PARACETAMOL_500_KA_LISTING_ID;
use janta_notifications::domain::webhook_signature;
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, VENDOR_KA_ID};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{code, operation, Platform};

/// One request a partner endpoint received: its headers and raw body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A partner endpoint on this machine that always answers 500.
async fn failing_endpoint() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                log.lock().unwrap().push(Received { headers, body });
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    let base = janta_testkit::serve(app).await;
    (format!("{base}/hook"), received)
}

/// Registers a KA partner app with `scopes` as the pharmacy's admin and
/// returns (client ID, access token from the users token endpoint).
async fn partner_app(p: &Platform, ka: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let input = json!({ "input": { "name": name, "scopes": scopes, "vendorId": VENDOR_KA_ID } });
    let registered = p
        .gql
        .data(Some(ka), &operation("RegisterPartnerApp"), input)
        .await["registerPartnerApp"]
        .clone();
    let id = registered["clientId"]
        .as_str()
        .expect("client ID")
        .to_string();
    let secret = registered["clientSecret"].as_str().expect("secret");
    let response = reqwest::Client::new()
        .post(p.subgraph_url("users").replace("/graphql", "/oauth/token"))
        .basic_auth(&id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token endpoint answers");
    let body: Value = response.json().await.expect("token JSON");
    let token = body["access_token"].as_str().expect("a token").to_string();
    (id, token)
}

/// `token`'s webhook delivery log.
async fn log(p: &Platform, token: &str) -> Value {
    p.gql
        .data(
            Some(token),
            &operation("WebhookDeliveries"),
            json!({ "first": 20 }),
        )
        .await["deliveries"]
        .clone()
}

/// Polls `check` for up to 30 s.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_partner_app_receives_signed_events_and_replays_its_own_deliveries() {
    let p = Platform::start_with(&[
        ("JANTA_WEBHOOK_ALLOW_PRIVATE_NETS", "true"),
        ("JANTA_DELIVERY_MAX_ATTEMPTS", "1"),
    ])
    .await;
    let (ka, admin) = (
        p.login("vendor.ka@janta.test").await,
        p.login("admin@janta.test").await,
    );
    let (mine_id, mine) = partner_app(&p, &ka, "KA order feed", &["WEBHOOKS_MANAGE"]).await;
    let (other_id, other) = partner_app(&p, &ka, "KA other feed", &["WEBHOOKS_MANAGE"]).await;
    let (_, scopeless) = partner_app(&p, &ka, "KA catalogue", &["CATALOG_READ"]).await;

    // Not granted yet: refused. Then an admin grants ORDER_PLACED to both.
    let (url, received) = failing_endpoint().await;
    let (other_url, other_received) = failing_endpoint().await;
    let subscribe = |token: String, url: String| {
        let gql = p.gql.clone();
        async move {
            gql.send(
                Some(&token),
                &operation("CreateWebhookSubscription"),
                json!({ "url": url, "eventTypes": ["ORDER_PLACED"] }),
            )
            .await
        }
    };
    let refused = subscribe(mine.clone(), url.clone()).await;
    assert_eq!(code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
    for client in [&mine_id, &other_id] {
        let granted = p
            .gql
            .data(
                Some(&admin),
                &operation("GrantWebhookEventTypes"),
                json!({ "partnerId": format!("partner:{client}"), "types": ["ORDER_PLACED"] }),
            )
            .await;
        assert_eq!(granted["grantWebhookEventTypes"], json!(["OrderPlaced"]));
    }
    let answer = subscribe(mine.clone(), url.clone()).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let created = &answer["data"]["createWebhookSubscription"];
    assert_eq!(
        created["subscription"]["eventTypes"],
        json!(["ORDER_PLACED"])
    );
    let secret = created["secret"].as_str().expect("the secret").to_string();
    let subscription = created["subscription"]["id"].as_str().unwrap().to_string();
    let other_created = subscribe(other.clone(), other_url).await;
    assert!(other_created["errors"].is_null(), "{other_created}");

    // A customer orders from KA: both endpoints are called.
    let customer = p.login("customer@janta.test").await;
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "webhooks-e2e-1"}}),
        )
        .await;
    let order_id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The app's log: one DEAD delivery to its subscription (one attempt allowed).
    let dead = eventually("a DEAD delivery in the app's log", async || {
        let log = log(&p, &mine).await;
        let node = log["edges"][0]["node"].clone();
        (log["totalCount"] == 1 && node["status"] == "DEAD").then_some(node)
    })
    .await;
    assert_eq!(dead["subscriptionId"], subscription.as_str());
    assert_eq!(dead["eventType"], "OrderPlaced");
    assert_eq!(dead["attemptLog"][0]["responseCode"], 500);

    // What arrived is signed as documented and carries the order.
    let first = received.lock().unwrap()[0].clone();
    assert_eq!(
        first.header("janta-event-id"),
        dead["eventId"].as_str().unwrap()
    );
    assert_eq!(first.header("janta-event-type"), "OrderPlaced");
    let timestamp: i64 = first.header("janta-timestamp").parse().unwrap();
    assert_eq!(
        first.header("janta-signature"),
        format!("v1={}", webhook_signature(&secret, timestamp, &first.body))
    );
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["data"]["orderId"], order_id.as_str());
    assert_eq!(body["data"]["vendorId"], VENDOR_KA_ID);

    // The other app sees its own delivery only, and cannot replay ours.
    let theirs = eventually("the other app's delivery", async || {
        let log = log(&p, &other).await;
        (log["totalCount"] == 1 && log["edges"][0]["node"]["status"] == "DEAD")
            .then(|| log["edges"][0]["node"].clone())
    })
    .await;
    assert_ne!(theirs["id"], dead["id"]);
    assert_eq!(
        theirs["eventId"], dead["eventId"],
        "one event, two deliveries"
    );
    let replay = json!({ "deliveryId": dead["id"] });
    let refused = p
        .gql
        .send(
            Some(&other),
            &operation("ReplayWebhookDelivery"),
            replay.clone(),
        )
        .await;
    assert_eq!(code(&refused).as_deref(), Some("NOT_FOUND"), "{refused}");
    for forbidden in [&scopeless, &customer] {
        let body = p
            .gql
            .send(Some(forbidden), &operation("WebhookDeliveries"), json!({}))
            .await;
        assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
    }

    // The owner replays it: a fresh attempt under the same event ID.
    let replayed = p
        .gql
        .data(Some(&mine), &operation("ReplayWebhookDelivery"), replay)
        .await;
    assert_eq!(replayed["replayDelivery"]["status"], "PENDING");
    eventually("the replayed attempt", async || {
        let log = log(&p, &mine).await;
        let node = &log["edges"][0]["node"];
        (node["status"] == "DEAD" && node["totalAttempts"] == 2).then_some(())
    })
    .await;
    let all = received.lock().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1].header("janta-event-id"),
        first.header("janta-event-id")
    );
    assert_eq!(other_received.lock().unwrap().len(), 1, "not replayed");
}
