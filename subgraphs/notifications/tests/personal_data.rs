//! A person's export and erasure (issue 18) in the notifications subgraph,
//! on SQLite and PostgreSQL, with real sign-ups (welcome and code e-mails
//! through the dev outbox), an order notification and a preference: the
//! export holds the person's notifications, preferences, deliveries and
//! attempts and nothing of another person; erasure leaves neither their
//! name nor their e-mail address in any notification, delivery, webhook
//! payload or outbox copy, cancels what was still to be sent, keeps the
//! other person's as they were, and changes nothing more the second time.

mod support;

use janta_events::types::{OrderLine, OrderPlaced};
use janta_kit::personal_data::{ErasureReport, PersonalData};
use janta_notifications::domain::Channel;
use janta_notifications::service::personal_data::NotificationsData;
use janta_notifications::store::{self, NewDelivery};
use janta_platform::demo::VENDOR_KA_ID;
use janta_platform::ids::new_id;
use janta_testkit::both_backends;
use serde_json::{json, Value};
use support::{eventually, start, Customer, Env, Options};

const PREFERENCES: &str = "mutation($input: [NotificationPreferenceInput!]!) { updateNotificationPreferences(input: $input) { kind } }";

fn order_placed(customer: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: new_id(),
        customer_id: customer.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        total_paise: 24_900,
        tax_paise: 0,
        payment_method: "UPI".into(),
        lines: vec![OrderLine {
            listing_id: new_id(),
            medicine_id: new_id(),
            quantity: 2,
            unit_price_paise: 12_450,
        }],
    }
}

/// A signed-up person whose welcome e-mail went out, with an order
/// notification, and a partner webhook delivery of their sign-up.
async fn person(env: &Env, email: &str, name: &str) -> Customer {
    let who = env.register(email, name).await;
    let welcome = env.wait_for_kind(&who.token, "WELCOME").await;
    env.wait_for_delivery(welcome["id"].as_str().unwrap(), "EMAIL", "DELIVERED")
        .await;
    env.publish(&order_placed(&who.id)).await;
    env.wait_for_kind(&who.token, "ORDER_PLACED").await;
    let payload = json!({"id": new_id(), "type": "UserRegistered", "aggregateType": "user",
        "aggregateId": who.id, "data": {"userId": who.id, "fullName": name}})
    .to_string();
    let mut conn = env.store.pool().acquire().await.unwrap();
    let event_id = new_id();
    let delivery = NewDelivery {
        event_id: &event_id,
        event_type: "UserRegistered",
        channel: Channel::Webhook,
        recipient: "a-partner-subscription",
        notification_id: None,
        subscription_id: None,
        payload: Some(&payload),
    };
    assert!(store::insert_delivery(&mut conn, &delivery).await.unwrap());
    who
}

async fn export(env: &Env, user_id: &str) -> Value {
    let mut tx = env.store.begin().await.unwrap();
    let data = NotificationsData::new(env.outbox_dir.clone());
    let part = data.export(&mut tx, user_id).await.unwrap();
    tx.commit().await.unwrap();
    part
}

async fn erase(env: &Env, user_id: &str) -> ErasureReport {
    let mut tx = env.store.begin().await.unwrap();
    let data = NotificationsData::new(env.outbox_dir.clone());
    let report = data.erase(&mut tx, user_id).await.unwrap();
    tx.commit().await.unwrap();
    report
}

/// Every text column of the tables that can hold a person's details,
/// concatenated per row.
async fn texts(env: &Env) -> Vec<String> {
    let sql = [
        "SELECT title || ' ' || body FROM notifications",
        "SELECT COALESCE(payload, '') || ' ' || COALESCE(last_error, '') FROM deliveries",
        "SELECT COALESCE(error, '') FROM delivery_attempts",
        "SELECT secret_text FROM account_codes",
    ];
    let mut all = Vec::new();
    for q in sql {
        let rows: Vec<(String,)> = sqlx::query_as(q).fetch_all(env.store.pool()).await.unwrap();
        all.extend(rows.into_iter().map(|(t,)| t));
    }
    all.extend(env.outbox_files("email"));
    all.extend(env.outbox_files("sms"));
    all
}

fn mentions(texts: &[String], needle: &str) -> usize {
    texts.iter().filter(|t| t.contains(needle)).count()
}

both_backends! {
    async fn the_export_is_the_persons_and_nobody_elses(db) {
        let env = start(&db, Options::default()).await;
        let asha = person(&env, "asha@example.com", "Asha Rao").await;
        let ravi = person(&env, "ravi@example.com", "Ravi Kumar").await;
        env.gql.data(Some(&asha.token), PREFERENCES,
            json!({"input": [{"kind": "ORDER_PLACED", "email": false}]})).await;

        let part = export(&env, &asha.id).await;
        let titles: Vec<&str> = part["notifications"].as_array().unwrap().iter()
            .map(|n| n["title"].as_str().unwrap()).collect();
        assert!(titles.contains(&"Welcome to Janta, Asha Rao"), "{titles:?}");
        assert!(part["notifications"].as_array().unwrap().iter().any(|n| n["kind"] == "ORDER_PLACED"));
        assert_eq!(part["preferences"].as_array().unwrap().len(), 1, "{}", part["preferences"]);
        assert_eq!(part["preferences"][0]["kind"], "ORDER_PLACED");
        let emails = part["deliveries"].as_array().unwrap().iter()
            .filter(|d| d["channel"] == "EMAIL" && d["status"] == "DELIVERED").count();
        assert!(emails >= 1, "{}", part["deliveries"]);
        assert!(part["deliveryAttempts"].as_array().unwrap().iter()
            .any(|a| a["outcome"] == "DELIVERED"), "{}", part["deliveryAttempts"]);
        let text = part.to_string();
        assert!(!text.contains(&ravi.id) && !text.contains("Ravi"), "{text}");
        assert!(!text.contains("Your code"), "one-time codes are not exported: {text}");

        let nobody = export(&env, &new_id()).await;
        for list in ["notifications", "sharedReadMarks", "preferences", "deliveries", "deliveryAttempts"] {
            assert_eq!(nobody[list], json!([]), "{list}");
        }
    }

    async fn erasure_leaves_no_name_or_address_and_is_idempotent(db) {
        let env = start(&db, Options::default()).await;
        let asha = person(&env, "asha@example.com", "Asha Rao").await;
        let ravi = person(&env, "ravi@example.com", "Ravi Kumar").await;
        env.gql.data(Some(&asha.token), PREFERENCES,
            json!({"input": [{"kind": "ORDER_PLACED", "email": false}]})).await;
        eventually("every delivery settled", || async {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries WHERE status IN ('PENDING', 'SENDING')")
                .fetch_one(env.store.pool()).await.unwrap();
            if n == 0 { Ok(()) } else { Err(format!("{n} deliveries to go")) }
        }).await;
        // One more e-mail to Asha waits for a retry when the erasure arrives.
        let mut tx = env.store.begin().await.unwrap();
        let event_id = new_id();
        let waiting = NewDelivery { event_id: &event_id, event_type: "OrderPlaced", channel: Channel::Email,
            recipient: &asha.id, notification_id: None, subscription_id: None, payload: None };
        assert!(store::insert_delivery(&mut tx, &waiting).await.unwrap());
        sqlx::query("UPDATE deliveries SET next_attempt_at = '2099-01-01T00:00:00.000000Z' WHERE event_id = $1")
            .bind(&event_id).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let before = texts(&env).await;
        assert!(mentions(&before, "Asha Rao") >= 3, "{before:?}");
        assert!(mentions(&before, "asha@example.com") >= 2, "{before:?}");

        let report = erase(&env, &asha.id).await;
        assert!(report.kept.is_empty(), "{report:?}");
        assert!(report.erased.iter().any(|e| e.ends_with("notification(s): title and text erased")), "{report:?}");
        assert!(report.erased.contains(&"1 channel preference(s) deleted".to_string()), "{report:?}");
        assert!(report.erased.contains(&"1 partner webhook payload(s): name pseudonymised".to_string()), "{report:?}");
        assert!(report.erased.contains(&"1 e-mail/SMS/in-app deliveries cancelled or their error text erased".to_string()), "{report:?}");
        assert!(report.erased.iter().any(|e| e.ends_with("copies deleted from the dev outbox")), "{report:?}");

        let after = texts(&env).await;
        assert_eq!(mentions(&after, "Asha Rao"), 0, "{after:?}");
        assert_eq!(mentions(&after, "asha@example.com"), 0, "{after:?}");
        assert_eq!(mentions(&after, &format!("erased-{}", &asha.id[..8])), 1, "the webhook payload");
        assert_eq!(mentions(&after, "Ravi Kumar"), mentions(&before, "Ravi Kumar"), "{after:?}");
        assert_eq!(mentions(&after, "ravi@example.com"), mentions(&before, "ravi@example.com"));
        let part = export(&env, &asha.id).await;
        assert_eq!(part["preferences"], json!([]));
        assert!(part["notifications"].as_array().unwrap().iter()
            .all(|n| n["title"] == "(erased)" && n["body"] == ""), "{part}");
        assert!(part["deliveries"].as_array().unwrap().iter()
            .all(|d| d["status"] != "PENDING" && d["status"] != "SENDING" && d["lastError"].is_null()), "{part}");
        let theirs = export(&env, &ravi.id).await;
        assert!(theirs["notifications"].as_array().unwrap().iter()
            .any(|n| n["title"] == "Welcome to Janta, Ravi Kumar"), "{theirs}");

        let again = erase(&env, &asha.id).await;
        assert_eq!(again, ErasureReport::default());
        assert_eq!(export(&env, &asha.id).await, part);
    }
}
