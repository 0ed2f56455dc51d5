//! Partner webhooks at the trust boundary, on SQLite and PostgreSQL: no
//! subscription or delivery reaches an internal address (SSRF), redirects
//! are not followed, a vendor's integration hears only about its own
//! vendor, a partner only about the event types an admin granted it,
//! deactivating a subscription stops its queued retries, and signing
//! secrets are sealed at rest (old plaintext rows are sealed at start-up).
//! Receivers run on this machine: tests that deliver use the dev/test
//! allow-list for private targets, which production refuses.

mod support;

use janta_events::types::{OrderLine, OrderPlaced};
use janta_notifications::domain::WebhookScope;
use janta_notifications::store::{self, NewSubscription};
use janta_platform::auth::Role;
use janta_platform::config::{Mode, Secret, SubgraphConfig};
use janta_platform::demo::{ADMIN_ID, VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::{eventually, first_match, nodes, start, Env, Options, Partner};

const CREATE: &str = "mutation($url: String!, $events: [String!]!) { createWebhookSubscription(url: $url, events: $events) { secret subscription { id url events active vendorId } } }";
const GRANT: &str = "mutation($partner: ID!, $types: [String!]!) { grantWebhookEventTypes(partnerId: $partner, eventTypes: $types) }";
const REVOKE: &str = "mutation($partner: ID!, $types: [String!]!) { revokeWebhookEventTypes(partnerId: $partner, eventTypes: $types) }";
const GRANTS: &str = "query($partner: ID!) { webhookEventGrants(partnerId: $partner) }";
const DEACTIVATE: &str =
    "mutation($id: ID!) { deactivateWebhookSubscription(id: $id) { id active } }";
const LIST: &str = "{ webhookSubscriptions { id vendorId } }";

fn order_placed(vendor: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: janta_platform::ids::new_id(),
        customer_id: janta_platform::ids::new_id(),
        vendor_id: vendor.to_string(),
        total_paise: 5_000,
        tax_paise: 0,
        payment_method: "COD".into(),
        lines: vec![OrderLine {
            listing_id: janta_platform::ids::new_id(),
            medicine_id: janta_platform::ids::new_id(),
            quantity: 1,
            unit_price_paise: 5_000,
        }],
    }
}

/// An environment whose webhooks may reach receivers on this machine.
fn local_receivers(max_attempts: u32) -> Options {
    Options {
        private_webhook_targets: true,
        max_attempts,
        ..Options::default()
    }
}

/// Subscribes `url` to `events` as `token`; returns (subscription ID, secret).
async fn subscribe(env: &Env, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let data = env
        .gql
        .data(Some(token), CREATE, json!({ "url": url, "events": events }))
        .await;
    let created = &data["createWebhookSubscription"];
    (
        created["subscription"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

/// The webhook deliveries of one subscription (as admin).
async fn deliveries_to(env: &Env, subscription_id: &str) -> Vec<Value> {
    let data = env
        .gql
        .data(
            Some(&env.admin()),
            "query($s: ID!) { deliveries(subscriptionId: $s, first: 50) { edges { node { id status eventId totalAttempts lastError lastResponseCode attemptLog { attemptNumber } } } } }",
            json!({ "s": subscription_id }),
        )
        .await;
    nodes(&data["deliveries"])
}

/// Waits until a delivery to `subscription_id` is in `status`; returns it.
async fn wait_for(env: &Env, subscription_id: &str, status: &str) -> Value {
    eventually(&format!("a {status} delivery"), || async {
        first_match(&deliveries_to(env, subscription_id).await, |d| {
            d["status"] == status
        })
    })
    .await
}

async fn stored_secret(env: &Env, subscription_id: &str) -> String {
    sqlx::query_scalar("SELECT secret FROM webhook_subscriptions WHERE id = $1")
        .bind(subscription_id)
        .fetch_one(env.store.pool())
        .await
        .unwrap()
}

both_backends! {
    async fn subscriptions_to_internal_addresses_are_refused(db) {
        let env = start(&db, Options::default()).await;
        let receiver = Partner::start(&[200]).await;
        let port = receiver.port;
        let targets = [
            receiver.url.clone(),
            format!("http://localhost:{port}/hook"),
            format!("http://LocalHost.:{port}/hook"),
            format!("http://api.localhost:{port}/hook"),
            "http://0.0.0.0/".to_string(),
            "http://[::]/".to_string(),
            "http://[::1]/".to_string(),
            "http://[::ffff:127.0.0.1]/".to_string(),
            "http://[::127.0.0.1]/".to_string(),
            "http://[64:ff9b::a9fe:a9fe]/".to_string(),
            "http://2130706433/".to_string(),
            "http://0x7f.1/".to_string(),
            "http://0177.0.0.1/".to_string(),
            "http://169.254.169.254/latest/meta-data".to_string(),
            "http://10.0.0.1/".to_string(),
            "http://172.16.5.4/".to_string(),
            "http://192.168.1.1/".to_string(),
            "http://100.64.0.1/".to_string(),
            "http://224.0.0.1/".to_string(),
            "http://255.255.255.255/".to_string(),
            "http://[fe80::1]/".to_string(),
            "http://[fd00::1]/".to_string(),
            "http://[ff02::1]/".to_string(),
        ];
        for token in [env.admin(), env.token("ka-admin", &[Role::VendorAdmin], Some(VENDOR_KA_ID))] {
            for url in &targets {
                let refused = env.gql.send(Some(&token), CREATE, json!({ "url": url, "events": ["OrderPlaced"] })).await;
                assert_eq!(error_code(&refused).as_deref(), Some("BAD_USER_INPUT"), "{url}: {refused}");
            }
        }
        let listed = env.gql.data(Some(&env.admin()), LIST, json!({})).await;
        assert_eq!(listed["webhookSubscriptions"], json!([]), "nothing was stored");
        assert!(receiver.requests().is_empty());
    }

    async fn stored_internal_targets_are_not_contacted_at_delivery(db) {
        // Rows from before the check (or a name that resolves elsewhere
        // later): the delivery re-checks the resolved address and refuses.
        let env = start(&db, Options::default()).await;
        let receiver = Partner::start(&[200]).await;
        let mut ids = Vec::new();
        for url in [receiver.url.clone(), format!("http://localhost:{}/hook", receiver.port)] {
            let id = janta_platform::ids::new_id();
            let sealed = env.state.secrets.seal("whsec_old", &id);
            let mut conn = env.store.pool().acquire().await.unwrap();
            store::insert_subscription(&mut conn, &id, &NewSubscription {
                owner_id: ADMIN_ID,
                scope: &WebhookScope::Platform,
                url: &url,
                sealed_secret: &sealed,
                events: &["OrderPlaced".to_string()],
            }).await.unwrap();
            ids.push(id);
        }
        env.publish(&order_placed(VENDOR_KA_ID)).await;
        for id in &ids {
            let failed = wait_for(&env, id, "FAILED").await;
            assert_eq!(failed["totalAttempts"], 1, "not retried: {failed}");
            assert!(failed["lastError"].as_str().unwrap().contains("not a public address"), "{failed}");
        }
        assert!(receiver.requests().is_empty(), "nothing reached the internal receiver");
    }

    async fn a_redirect_is_not_followed(db) {
        let env = start(&db, local_receivers(3)).await;
        let receiver = Partner::start(&[302]).await;
        let (id, _) = subscribe(&env, &env.admin(), &receiver.url, &["OrderPlaced"]).await;
        env.publish(&order_placed(VENDOR_KA_ID)).await;
        let failed = wait_for(&env, &id, "FAILED").await;
        assert_eq!(failed["lastResponseCode"], 302);
        assert_eq!(failed["totalAttempts"], 1);
        assert_eq!(receiver.requests().len(), 1);
        assert_eq!(receiver.redirected.load(std::sync::atomic::Ordering::SeqCst), 0, "the Location was not visited");
    }

    async fn a_vendor_integration_hears_only_about_its_own_vendor(db) {
        let env = start(&db, local_receivers(3)).await;
        let receiver = Partner::start(&[200]).await;
        let ka_admin = env.token("ka-admin", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        for types in [["UserRegistered"], ["PaymentSucceeded"], ["PrescriptionSubmitted"], ["PaymentRefunded"]] {
            let refused = env.gql.send(Some(&ka_admin), CREATE, json!({ "url": receiver.url, "events": types })).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{types:?}: {refused}");
        }
        for token in [
            env.token("ka-pharmacist", &[Role::Pharmacist], Some(VENDOR_KA_ID)),
            env.token("customer", &[Role::Customer], None),
            env.token("no-vendor", &[Role::VendorAdmin], None),
        ] {
            let refused = env.gql.send(Some(&token), CREATE, json!({ "url": receiver.url, "events": ["OrderPlaced"] })).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
        let created = env.gql.data(Some(&ka_admin), CREATE,
            json!({ "url": receiver.url, "events": ["OrderPlaced", "StockLow"] })).await;
        let subscription = &created["createWebhookSubscription"]["subscription"];
        assert_eq!(subscription["vendorId"], VENDOR_KA_ID);
        let id = subscription["id"].as_str().unwrap().to_string();

        let mh_order = env.publish(&order_placed(VENDOR_MH_ID)).await;
        let ka_order = env.publish(&order_placed(VENDOR_KA_ID)).await;
        let delivered = wait_for(&env, &id, "DELIVERED").await;
        assert_eq!(delivered["eventId"], ka_order.id.as_str());
        eventually("MH's order processed", || async {
            match janta_events::is_processed(&env.store, "notifications", &mh_order.id).await {
                Ok(true) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }).await;
        assert_eq!(deliveries_to(&env, &id).await.len(), 1, "MH's order made no delivery");
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let body: Value = serde_json::from_str(&requests[0].body).unwrap();
        assert_eq!(body["data"]["vendorId"], VENDOR_KA_ID);

        // The vendor's admins manage it; another vendor's cannot see or stop it.
        let colleague = env.token("ka-admin-2", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let theirs = env.gql.data(Some(&colleague), LIST, json!({})).await;
        assert_eq!(theirs["webhookSubscriptions"][0]["id"], id.as_str());
        let mh_admin = env.token("mh-admin", &[Role::VendorAdmin], Some(VENDOR_MH_ID));
        let none = env.gql.data(Some(&mh_admin), LIST, json!({})).await;
        assert_eq!(none["webhookSubscriptions"], json!([]));
        let refused = env.gql.send(Some(&mh_admin), DEACTIVATE, json!({ "id": id })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("NOT_FOUND"));
    }

    async fn a_partner_gets_only_the_event_types_an_admin_granted(db) {
        let env = start(&db, local_receivers(3)).await;
        let partner_receiver = Partner::start(&[200]).await;
        let admin_receiver = Partner::start(&[200]).await;
        let partner = env.partner_app("insurer", None, &["webhooks:manage"]);
        let admin = env.admin();
        let who = json!({ "partner": "partner:insurer", "types": ["OrderPlaced"] });

        let refused = env.gql.send(Some(&partner), CREATE, json!({ "url": partner_receiver.url, "events": ["OrderPlaced"] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        let self_grant = env.gql.send(Some(&partner), GRANT, who.clone()).await;
        assert_eq!(error_code(&self_grant).as_deref(), Some("FORBIDDEN"));
        let other = env.gql.send(Some(&partner), GRANTS, json!({ "partner": "partner-other" })).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"));
        let granted = env.gql.data(Some(&admin), GRANT, who.clone()).await;
        assert_eq!(granted["grantWebhookEventTypes"], json!(["OrderPlaced"]));
        let private = env.gql.send(Some(&admin), GRANT, json!({ "partner": "partner:insurer", "types": ["UserRegistered"] })).await;
        assert_eq!(error_code(&private).as_deref(), Some("BAD_USER_INPUT"));
        let mine = env.gql.data(Some(&partner), GRANTS, json!({ "partner": "partner:insurer" })).await;
        assert_eq!(mine["webhookEventGrants"], json!(["OrderPlaced"]));

        // A partner token without `webhooks:manage` manages no webhooks.
        let scopeless = env.partner_app("insurer", None, &["orders:read"]);
        for (query, vars) in [(CREATE, json!({ "url": partner_receiver.url, "events": ["OrderPlaced"] })), (LIST, json!({}))] {
            let refused = env.gql.send(Some(&scopeless), query, vars).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
        let ungranted = env.gql.send(Some(&partner), CREATE, json!({ "url": partner_receiver.url, "events": ["OrderPlaced", "OrderConfirmed"] })).await;
        assert_eq!(error_code(&ungranted).as_deref(), Some("FORBIDDEN"));
        let (partner_sub, _) = subscribe(&env, &partner, &partner_receiver.url, &["OrderPlaced"]).await;
        // The grant is withdrawn: the subscription stays but receives nothing.
        let revoked = env.gql.data(Some(&admin), REVOKE, who).await;
        assert_eq!(revoked["revokeWebhookEventTypes"], json!([]));

        let (admin_sub, _) = subscribe(&env, &admin, &admin_receiver.url, &["OrderPlaced"]).await;
        let order = env.publish(&order_placed(VENDOR_KA_ID)).await;
        let delivered = wait_for(&env, &admin_sub, "DELIVERED").await;
        assert_eq!(delivered["eventId"], order.id.as_str());
        assert!(deliveries_to(&env, &partner_sub).await.is_empty(), "no delivery to the partner");
        assert!(partner_receiver.requests().is_empty());
    }

    async fn deactivating_a_subscription_stops_its_queued_retries(db) {
        let env = start(&db, local_receivers(50)).await;
        let receiver = Partner::start(&[503]).await;
        let (id, _) = subscribe(&env, &env.admin(), &receiver.url, &["OrderPlaced"]).await;
        env.publish(&order_placed(VENDOR_KA_ID)).await;
        eventually("retries reaching the receiver", || async {
            let n = receiver.requests().len();
            if n >= 2 { Ok(()) } else { Err(n.to_string()) }
        }).await;
        let stopped = env.gql.data(Some(&env.admin()), DEACTIVATE, json!({ "id": id })).await;
        assert_eq!(stopped["deactivateWebhookSubscription"]["active"], false);

        // Cancelled is final: it is never claimed again.
        let cancelled = wait_for(&env, &id, "CANCELLED").await;
        let attempts = cancelled["attemptLog"].as_array().unwrap().len();
        assert!(attempts < 50, "retries stopped early: {cancelled}");
        assert_eq!(receiver.requests().len(), attempts, "every request that reached it is a recorded attempt");
        assert_eq!(cancelled["totalAttempts"], attempts as i64);
        let replay = env.gql.send(Some(&env.admin()),
            "mutation($id: ID!) { replayDelivery(deliveryId: $id) { id } }", json!({ "id": cancelled["id"] })).await;
        assert_eq!(error_code(&replay).as_deref(), Some("CONFLICT"));
    }

    async fn secrets_are_sealed_at_rest_and_still_sign(db) {
        let env = start(&db, local_receivers(3)).await;
        let receiver = Partner::start(&[200]).await;
        let (id, secret) = subscribe(&env, &env.admin(), &receiver.url, &["OrderPlaced"]).await;
        let stored = stored_secret(&env, &id).await;
        assert_ne!(stored, secret);
        assert!(!stored.contains(secret.trim_start_matches("whsec_")), "{stored}");

        // A row from before sealing keeps its plaintext until the next start.
        let legacy_receiver = Partner::start(&[200]).await;
        let legacy_id = janta_platform::ids::new_id();
        let legacy_secret = "whsec_legacy0123456789abcdef";
        let now = janta_platform::scalars::now_db();
        sqlx::query("INSERT INTO webhook_subscriptions (id, owner_id, url, secret, active, created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, $5, $5)")
            .bind(&legacy_id).bind("partner-legacy").bind(&legacy_receiver.url).bind(legacy_secret).bind(&now)
            .execute(env.store.pool()).await.unwrap();
        sqlx::query("INSERT INTO webhook_subscription_events (subscription_id, event_type) VALUES ($1, 'OrderPlaced')")
            .bind(&legacy_id).execute(env.store.pool()).await.unwrap();
        let restarted = janta_notifications::build(&env.config).await.expect("starts again");
        let sealed = stored_secret(&env, &legacy_id).await;
        assert_ne!(sealed, legacy_secret);
        assert!(!sealed.contains("legacy0123456789abcdef"), "{sealed}");
        // Old partner rows are partner-scoped: they need a grant too.
        env.gql.data(Some(&env.admin()), GRANT, json!({ "partner": "partner-legacy", "types": ["OrderPlaced"] })).await;

        env.publish(&order_placed(VENDOR_KA_ID)).await;
        wait_for(&env, &id, "DELIVERED").await;
        wait_for(&env, &legacy_id, "DELIVERED").await;
        let request = &receiver.requests()[0];
        assert!(request.signed_with(&secret), "signed with the sealed secret: {:?}", request.headers);
        let legacy_request = &legacy_receiver.requests()[0];
        assert!(legacy_request.signed_with(legacy_secret), "signed with the migrated secret");
        assert!(!request.signed_with("whsec_wrong"));
        drop(restarted);
    }
}

fn production(dir: &std::path::Path) -> SubgraphConfig {
    let mut config = SubgraphConfig::dev("notifications", 4000, dir);
    config.mode = Mode::Production;
    config.smtp_url = Some(Secret::new("smtp://127.0.0.1:2525"));
    config.webhook_encryption_key = Secret::new("q6m3oE0z1rJx8mYb2kqE0VwQ4y9tN7aP3cD5fG6hJ8k=");
    config
}

/// Why notifications refuses to start with `config`.
async fn refusal(config: &SubgraphConfig) -> String {
    match janta_notifications::build(config).await {
        Ok(_) => panic!("production started with an unsafe webhook setting"),
        Err(err) => format!("{err:#}"),
    }
}

#[tokio::test]
async fn production_refuses_private_targets_and_the_dev_sealing_key() {
    let dir = std::env::temp_dir().join(format!("janta-wh-prod-{}", std::process::id()));
    let mut config = production(&dir);
    config.webhook_allow_private_nets = true;
    let err = refusal(&config).await;
    assert!(err.contains("JANTA_WEBHOOK_ALLOW_PRIVATE_NETS"), "{err}");

    let mut config = production(&dir);
    config.webhook_encryption_key = Secret::new(janta_platform::config::DEV_WEBHOOK_ENCRYPTION_KEY);
    let err = refusal(&config).await;
    assert!(err.contains("JANTA_WEBHOOK_ENCRYPTION_KEY"), "{err}");

    let mut config = production(&dir);
    config.webhook_encryption_key = Secret::new("dG9vIHNob3J0");
    let err = refusal(&config).await;
    assert!(err.contains("32 bytes"), "{err}");
}
