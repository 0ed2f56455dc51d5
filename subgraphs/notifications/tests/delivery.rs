//! Deliveries against the edge of the world, on SQLite and PostgreSQL: an
//! SMTP server that says "try later" (retried, then dead, then replayed by
//! an admin), one that refuses for good (not retried), a partner endpoint
//! that fails once (retried, delivered once, signed), and one that answers
//! 4xx (not retried).

mod support;

use janta_events::types::{OrderLine, OrderPlaced};
use janta_platform::auth::Role;
use janta_platform::demo::VENDOR_KA_ID;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::{eventually, first_match, start, Options, Partner, SmtpServer};

const CREATE_SUBSCRIPTION: &str = "mutation($url: String!, $events: [String!]!) { createWebhookSubscription(url: $url, events: $events) { secret subscription { id url events active } } }";

const GRANT: &str = "mutation($partner: ID!, $types: [String!]!) { grantWebhookEventTypes(partnerId: $partner, eventTypes: $types) }";

fn order_placed(customer: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: janta_platform::ids::new_id(),
        customer_id: customer.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        total_paise: 9_900,
        tax_paise: 0,
        payment_method: "COD".into(),
        lines: vec![OrderLine {
            listing_id: janta_platform::ids::new_id(),
            medicine_id: janta_platform::ids::new_id(),
            quantity: 1,
            unit_price_paise: 9_900,
        }],
    }
}

async fn wait_for_webhook(env: &support::Env, status: &str) -> Value {
    eventually(&format!("a {status} webhook delivery"), || async {
        first_match(&env.webhook_deliveries().await, |d| d["status"] == status)
    })
    .await
}

both_backends! {
    async fn a_busy_smtp_server_is_retried_then_dead_then_replayed(db) {
        let smtp = SmtpServer::start("451 4.3.0 mailbox busy, try again later").await;
        let env = start(&db, Options { smtp_url: Some(smtp.url.clone()), max_attempts: 3, ..Options::default() }).await;
        let asha = env.register("busy@example.com", "Asha").await;
        let welcome = env.wait_for_kind(&asha.token, "WELCOME").await;
        let id = welcome["id"].as_str().unwrap().to_string();

        let dead = env.wait_for_delivery(&id, "EMAIL", "DEAD").await;
        assert_eq!(dead["attempts"], 3);
        assert_eq!(dead["lastResponseCode"], 451);
        // One SMTP session per attempt: three for the welcome, three for the
        // sign-up's verification code.
        eventually("six SMTP sessions", || async {
            let n = smtp.sessions();
            if n == 6 { Ok(()) } else { Err(format!("{n} sessions")) }
        }).await;
        assert!(smtp.messages.lock().unwrap().is_empty());
        let attempts = env.gql.data(Some(&env.admin()),
            "query($id: ID!) { deliveryAttempts(notificationId: $id) { attemptNumber outcome responseCode error durationMs delivery { channel status } } }",
            json!({ "id": id })).await["deliveryAttempts"].clone();
        let attempts = attempts.as_array().unwrap();
        assert_eq!(attempts.len(), 3, "{attempts:?}");
        for (i, a) in attempts.iter().enumerate() {
            assert_eq!(a["attemptNumber"], i as i64 + 1);
            assert_eq!(a["outcome"], "RETRYABLE_FAILURE");
            assert_eq!(a["responseCode"], 451);
            assert_eq!(a["delivery"]["status"], "DEAD");
            let error = a["error"].as_str().unwrap();
            assert!(error.contains("451"), "{error}");
            assert!(!error.contains("busy@example.com"), "{error}");
        }
        // Only admins see attempts.
        let refused = env.gql.send(Some(&asha.token),
            "query($id: ID!) { deliveryAttempts(notificationId: $id) { attemptNumber } }", json!({ "id": id })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));

        // The server recovers; an admin replays the dead delivery.
        smtp.set_reply("250 2.1.0 sender ok");
        let replay = "mutation($id: ID!) { replayDelivery(deliveryId: $id) { id status attempts } }";
        let replayed = env.gql.data(Some(&env.admin()), replay, json!({ "id": dead["id"] })).await;
        assert_eq!(replayed["replayDelivery"]["status"], "PENDING");
        let delivered = env.wait_for_delivery(&id, "EMAIL", "DELIVERED").await;
        assert_eq!(delivered["totalAttempts"], 4);
        assert_eq!(delivered["lastResponseCode"], 250);
        let messages = smtp.messages.lock().unwrap().clone();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("Subject: Welcome to Janta, Asha"), "{}", messages[0]);
        let again = env.gql.send(Some(&env.admin()), replay, json!({ "id": dead["id"] })).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"));
    }

    async fn an_smtp_server_that_refuses_for_good_is_not_retried(db) {
        let smtp = SmtpServer::start("554 5.7.1 relay access denied").await;
        let env = start(&db, Options { smtp_url: Some(smtp.url.clone()), max_attempts: 3, ..Options::default() }).await;
        let ravi = env.register("refused@example.com", "Ravi").await;
        let welcome = env.wait_for_kind(&ravi.token, "WELCOME").await;
        let failed = env.wait_for_delivery(welcome["id"].as_str().unwrap(), "EMAIL", "FAILED").await;
        assert_eq!(failed["totalAttempts"], 1);
        assert_eq!(failed["attemptLog"][0]["outcome"], "PERMANENT_FAILURE");
        assert_eq!(failed["attemptLog"][0]["responseCode"], 554);
        // One session each for the welcome and the sign-up code, no retry.
        eventually("two SMTP sessions", || async {
            let n = smtp.sessions();
            if n == 2 { Ok(()) } else { Err(format!("{n} sessions")) }
        }).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(smtp.sessions(), 2);
    }

    async fn a_partner_endpoint_failing_once_gets_the_event_once_signed(db) {
        let env = start(&db, Options { private_webhook_targets: true, ..Options::default() }).await;
        let partner = Partner::start(&[500, 200]).await;
        let partner_token = env.partner_app("clinic", None, &["webhooks:manage"]);
        let customer = env.token("customer-x", &[Role::Customer], None);
        let denied = env.gql.send(Some(&customer), CREATE_SUBSCRIPTION, json!({ "url": partner.url, "events": ["OrderPlaced"] })).await;
        assert_eq!(error_code(&denied).as_deref(), Some("FORBIDDEN"));
        let private = env.gql.send(Some(&partner_token), CREATE_SUBSCRIPTION, json!({ "url": partner.url, "events": ["UserRegistered"] })).await;
        assert_eq!(error_code(&private).as_deref(), Some("FORBIDDEN"));
        env.gql.data(Some(&env.admin()), GRANT,
            json!({ "partner": "partner:clinic", "types": ["OrderPlaced", "OrderConfirmed"] })).await;
        let created = env.gql.data(Some(&partner_token), CREATE_SUBSCRIPTION,
            json!({ "url": partner.url, "events": ["OrderPlaced", "OrderConfirmed"] })).await;
        let secret = created["createWebhookSubscription"]["secret"].as_str().unwrap().to_string();
        assert_eq!(created["createWebhookSubscription"]["subscription"]["events"], json!(["OrderPlaced", "OrderConfirmed"]));

        let placed = order_placed("019a0000-0000-7000-8000-000000000002");
        let envelope = env.publish(&placed).await;
        let delivered = wait_for_webhook(&env, "DELIVERED").await;
        assert_eq!(delivered["eventId"], envelope.id.as_str());
        assert_eq!(delivered["totalAttempts"], 2);
        let log = delivered["attemptLog"].as_array().unwrap();
        assert_eq!((log[0]["outcome"].as_str(), log[0]["responseCode"].as_i64()), (Some("RETRYABLE_FAILURE"), Some(500)));
        assert_eq!((log[1]["outcome"].as_str(), log[1]["responseCode"].as_i64()), (Some("DELIVERED"), Some(200)));

        let requests = partner.requests();
        assert_eq!(requests.len(), 2, "one failure, one success, nothing after");
        for request in &requests {
            assert_eq!(request.headers["janta-event-id"], envelope.id);
            assert_eq!(request.headers["janta-event-type"], "OrderPlaced");
            assert!(request.signed_with(&secret), "signature must verify: {:?}", request.headers);
            assert!(!request.signed_with("whsec_wrong"));
        }
        let body: Value = serde_json::from_str(&requests[1].body).unwrap();
        assert_eq!(body["id"], envelope.id.as_str());
        assert_eq!(body["type"], "OrderPlaced");
        assert_eq!(body["data"]["orderId"], placed.order_id.as_str());
        assert_eq!(body["data"]["totalPaise"], 9_900);
        assert!(body.get("actor").is_none());

        // The same event again: no second delivery.
        env.redeliver("orders", &envelope).await;
        assert_eq!(env.webhook_deliveries().await.len(), 1);
        assert_eq!(partner.requests().len(), 2);

        let listed = env.gql.data(Some(&partner_token), "{ webhookSubscriptions { id url active } }", json!({})).await;
        assert_eq!(listed["webhookSubscriptions"].as_array().unwrap().len(), 1);
        assert!(listed.to_string().find("whsec_").is_none(), "the secret is shown only once");
    }

    async fn a_partner_endpoint_answering_4xx_is_not_retried(db) {
        let env = start(&db, Options { private_webhook_targets: true, ..Options::default() }).await;
        let partner = Partner::start(&[410]).await;
        let admin = env.admin();
        env.gql.data(Some(&admin), CREATE_SUBSCRIPTION, json!({ "url": partner.url, "events": ["OrderPlaced"] })).await;
        env.publish(&order_placed("019a0000-0000-7000-8000-000000000002")).await;
        let failed = wait_for_webhook(&env, "FAILED").await;
        assert_eq!(failed["totalAttempts"], 1);
        assert_eq!(failed["lastResponseCode"], 410);
        assert_eq!(failed["attemptLog"][0]["outcome"], "PERMANENT_FAILURE");
        assert_eq!(partner.requests().len(), 1);
        let dead = env.gql.data(Some(&admin), "{ deliveries(status: FAILED, channel: WEBHOOK) { totalCount } }", json!({})).await;
        assert_eq!(dead["deliveries"]["totalCount"], 1);
    }
}
