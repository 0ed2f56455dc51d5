//! The notifications subgraph as its users meet it, on SQLite and
//! PostgreSQL: a sign-up is welcomed; an event delivered twice tells
//! people once; vendor staff and pharmacists see their shared inboxes;
//! nobody marks someone else's notification read; preferences decide
//! which e-mails go out.

mod support;

use janta_events::types::{
    OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced, OrderStatus, PrescriptionSubmitted,
    StockLow,
};
use janta_platform::auth::Role;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::json;
use support::{eventually, start, Options};

const MARK_READ: &str = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }";

fn order_placed(customer: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: janta_platform::ids::new_id(),
        customer_id: customer.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        total_paise: 24_900,
        tax_paise: 0,
        payment_method: "UPI".into(),
        lines: vec![OrderLine {
            listing_id: janta_platform::ids::new_id(),
            medicine_id: janta_platform::ids::new_id(),
            quantity: 2,
            unit_price_paise: 12_450,
        }],
    }
}

both_backends! {
    async fn a_sign_up_is_welcomed_in_the_app_and_by_email(db) {
        let env = start(&db, Options::default()).await;
        let asha = env.register("asha@example.com", "Asha Rao").await;
        let welcome = env.wait_for_kind(&asha.token, "WELCOME").await;
        assert_eq!(welcome["title"], "Welcome to Janta, Asha Rao");
        assert_eq!(welcome["read"], false);
        let id = welcome["id"].as_str().unwrap();
        let email = env.wait_for_delivery(id, "EMAIL", "DELIVERED").await;
        assert_eq!(email["attempts"], 1);
        // Sign-up also sends the e-mail verification code: only by e-mail.
        eventually("the code e-mail", || async {
            let n = env.outbox_files("email").len();
            if n == 2 { Ok(()) } else { Err(format!("{n} e-mails")) }
        })
        .await;
        let (codes, files): (Vec<String>, Vec<String>) =
            env.outbox_files("email").into_iter().partition(|f| f.contains("Your code: "));
        assert_eq!(codes.len(), 1, "{codes:?}");
        assert!(codes[0].contains("Subject: Confirm your e-mail address"), "{}", codes[0]);
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].contains("To: asha@example.com"), "{}", files[0]);
        assert!(files[0].contains("Subject: Welcome to Janta, Asha Rao"), "{}", files[0]);

        // The contract's query, and the same list on the User entity.
        let data = env.gql.data(Some(&asha.token),
            "query MyNotifications($first: Int, $unreadOnly: Boolean) { myNotifications(first: $first, unreadOnly: $unreadOnly) { totalCount edges { node { id kind title body read createdAt } } } }",
            json!({ "first": 5, "unreadOnly": true })).await;
        assert_eq!(data["myNotifications"]["totalCount"], 1);
        let entity = env.gql.data(Some(&asha.token),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { notifications(first: 5) { edges { node { id title read } } } } } }",
            json!({ "r": [{ "__typename": "User", "id": asha.id }] })).await;
        assert_eq!(entity["_entities"][0]["notifications"]["edges"][0]["node"]["id"], welcome["id"]);
    }

    async fn an_event_delivered_twice_tells_everyone_once(db) {
        let env = start(&db, Options::default()).await;
        let ravi = env.register("ravi@example.com", "Ravi Kumar").await;
        env.wait_for_kind(&ravi.token, "WELCOME").await;
        let confirmed = OrderConfirmed {
            order_id: janta_platform::ids::new_id(),
            customer_id: ravi.id.clone(),
            vendor_id: VENDOR_KA_ID.to_string(),
            total_paise: 24_900,
            payment_id: Some(janta_platform::ids::new_id()),
        };
        let envelope = env.publish(&confirmed).await;
        let first = env.wait_for_kind(&ravi.token, "ORDER_CONFIRMED").await;
        env.redeliver("orders", &envelope).await;
        env.redeliver("orders", &envelope).await;

        let inbox = env.inbox(&ravi.token).await;
        let confirmations: Vec<_> = inbox.iter().filter(|n| n["kind"] == "ORDER_CONFIRMED").collect();
        assert_eq!(confirmations.len(), 1, "{inbox:?}");
        assert_eq!(confirmations[0]["subjectId"], confirmed.order_id.as_str());
        let staff = env.token("staff-ka", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let new_orders: Vec<_> = env.inbox(&staff).await.into_iter().filter(|n| n["kind"] == "NEW_ORDER").collect();
        assert_eq!(new_orders.len(), 1);
        let id = first["id"].as_str().unwrap();
        env.wait_for_delivery(id, "EMAIL", "DELIVERED").await;
        assert_eq!(env.deliveries_of(id).await.len(), 1, "one e-mail for the confirmation");
        let files = env.outbox_files("email");
        let told = files.iter().filter(|f| !f.contains("Your code: ")).count();
        assert_eq!(told, 2, "welcome and confirmation, once each (besides the sign-up code)");
        assert!(janta_events::is_processed(&env.store, "notifications", &envelope.id).await.unwrap());
    }

    async fn staff_and_pharmacists_see_their_shared_inboxes_only(db) {
        let env = start(&db, Options::default()).await;
        let customer = env.register("meera@example.com", "Meera Shah").await;
        env.publish(&StockLow {
            listing_id: janta_platform::ids::new_id(),
            vendor_id: VENDOR_KA_ID.to_string(),
            branch_id: None,
            medicine_id: janta_platform::ids::new_id(),
            available_quantity: 3,
            threshold: 10,
        }).await;
        // Submitted to KA: KA's staff are asked to review it, nobody else.
        env.publish(&PrescriptionSubmitted {
            prescription_id: janta_platform::ids::new_id(),
            customer_id: customer.id.clone(),
            family_member_id: None,
            vendor_id: Some(VENDOR_KA_ID.to_string()),
        }).await;
        // Not yet submitted to any pharmacy: no pharmacist hears of it.
        env.publish(&PrescriptionSubmitted {
            prescription_id: janta_platform::ids::new_id(),
            customer_id: customer.id.clone(),
            family_member_id: None,
            vendor_id: None,
        }).await;
        let ka_admin = env.token("ka-admin", &[Role::VendorAdmin], Some(VENDOR_KA_ID));
        let ka_pharmacist = env.token("ka-pharmacist", &[Role::Pharmacist], Some(VENDOR_KA_ID));
        let mh_admin = env.token("mh-admin", &[Role::VendorAdmin], Some(VENDOR_MH_ID));
        let stock = env.wait_for_kind(&ka_admin, "STOCK_LOW").await;
        assert!(stock["body"].as_str().unwrap().contains("3 unit"), "{stock}");
        let review = env.wait_for_kind(&ka_pharmacist, "PRESCRIPTION_SUBMITTED").await;
        assert!(env.inbox(&ka_pharmacist).await.iter().any(|n| n["kind"] == "STOCK_LOW"));
        env.wait_for_kind(&customer.token, "WELCOME").await;
        let kinds = |inbox: Vec<serde_json::Value>| inbox.iter().map(|n| n["kind"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let mh_pharmacist = env.token("mh-pharmacist", &[Role::Pharmacist], Some(VENDOR_MH_ID));
        assert_eq!(kinds(env.inbox(&mh_admin).await), Vec::<String>::new());
        assert_eq!(kinds(env.inbox(&mh_pharmacist).await), Vec::<String>::new());
        let mut ka_kinds = kinds(env.inbox(&ka_admin).await);
        ka_kinds.sort();
        assert_eq!(ka_kinds, vec!["PRESCRIPTION_SUBMITTED", "STOCK_LOW"]);
        assert_eq!(env.inbox(&ka_pharmacist).await.len(), 2, "one review request, one stock alert");
        assert_eq!(kinds(env.inbox(&customer.token).await), vec!["WELCOME"]);

        // Read marks are per person: the pharmacist's does not read it for the admin.
        let n = env.gql.data(Some(&ka_pharmacist), MARK_READ, json!({ "ids": [stock["id"]] })).await;
        assert_eq!(n["markNotificationsRead"], 1);
        assert!(env.inbox(&ka_pharmacist).await.iter().any(|x| x["id"] == stock["id"] && x["read"] == true));
        assert!(env.inbox(&ka_admin).await.iter().any(|x| x["id"] == stock["id"] && x["read"] == false));
        // The MH admin cannot touch either.
        let refused = env.gql.send(Some(&mh_admin), MARK_READ, json!({ "ids": [review["id"]] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
    }

    async fn marking_someone_elses_notification_read_is_refused_and_changes_nothing(db) {
        let env = start(&db, Options::default()).await;
        let asha = env.register("asha2@example.com", "Asha").await;
        let ravi = env.register("ravi2@example.com", "Ravi").await;
        let hers = env.wait_for_kind(&asha.token, "WELCOME").await;
        let his = env.wait_for_kind(&ravi.token, "WELCOME").await;

        let refused = env.gql.send(Some(&ravi.token), MARK_READ, json!({ "ids": [hers["id"]] })).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        let mixed = env.gql.send(Some(&ravi.token), MARK_READ, json!({ "ids": [his["id"], hers["id"]] })).await;
        assert_eq!(error_code(&mixed).as_deref(), Some("FORBIDDEN"), "{mixed}");
        let unknown = env.gql.send(Some(&ravi.token), MARK_READ, json!({ "ids": [janta_platform::ids::new_id()] })).await;
        assert_eq!(error_code(&unknown).as_deref(), Some("FORBIDDEN"));
        let garbage = env.gql.send(Some(&ravi.token), MARK_READ, json!({ "ids": ["x"] })).await;
        assert_eq!(error_code(&garbage).as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(env.inbox(&asha.token).await[0]["read"], false, "hers is untouched");
        assert_eq!(env.inbox(&ravi.token).await[0]["read"], false, "nothing of a refused batch is applied");
        let anonymous = env.gql.send(None, MARK_READ, json!({ "ids": [his["id"]] })).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));

        let done = env.gql.data(Some(&ravi.token), MARK_READ, json!({ "ids": [his["id"]] })).await;
        assert_eq!(done["markNotificationsRead"], 1);
        let again = env.gql.data(Some(&ravi.token), MARK_READ, json!({ "ids": [his["id"]] })).await;
        assert_eq!(again["markNotificationsRead"], 0);
        assert_eq!(env.inbox(&ravi.token).await[0]["read"], true);
        let unread = env.gql.data(Some(&ravi.token), "{ myNotifications(unreadOnly: true) { totalCount } unreadNotificationCount }", json!({})).await;
        assert_eq!(unread["myNotifications"]["totalCount"], 0);
        assert_eq!(unread["unreadNotificationCount"], 0);
        // Someone else's list through the User entity is refused too.
        let other = env.gql.send(Some(&ravi.token),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { notifications { totalCount } } } }",
            json!({ "r": [{ "__typename": "User", "id": asha.id }] })).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"));
    }

    async fn preferences_turning_email_off_stop_those_emails(db) {
        let env = start(&db, Options::default()).await;
        let asha = env.register("asha3@example.com", "Asha").await;
        let welcome = env.wait_for_kind(&asha.token, "WELCOME").await;
        env.wait_for_delivery(welcome["id"].as_str().unwrap(), "EMAIL", "DELIVERED").await;

        let update = "mutation($input: [NotificationPreferenceInput!]!) { updateNotificationPreferences(input: $input) { kind inApp email sms } }";
        let prefs = env.gql.data(Some(&asha.token), update,
            json!({ "input": [{ "kind": "ORDER_PLACED", "email": false }] })).await;
        let placed_pref = prefs["updateNotificationPreferences"].as_array().unwrap().iter()
            .find(|p| p["kind"] == "ORDER_PLACED").unwrap().clone();
        assert_eq!(placed_pref, json!({ "kind": "ORDER_PLACED", "inApp": true, "email": false, "sms": false }));
        let shared = env.gql.send(Some(&asha.token), update, json!({ "input": [{ "kind": "STOCK_LOW", "email": true }] })).await;
        assert_eq!(error_code(&shared).as_deref(), Some("BAD_USER_INPUT"));

        let placed = order_placed(&asha.id);
        env.publish(&placed).await;
        env.publish(&OrderCancelled {
            order_id: placed.order_id.clone(),
            customer_id: asha.id.clone(),
            vendor_id: VENDOR_KA_ID.to_string(),
            from: OrderStatus::PendingPayment,
            reason: "payment window expired".into(),
            cancelled_by: "system".into(),
        }).await;
        let placed_note = env.wait_for_kind(&asha.token, "ORDER_PLACED").await;
        let cancelled_note = env.wait_for_kind(&asha.token, "ORDER_CANCELLED").await;
        assert!(cancelled_note["body"].as_str().unwrap().contains("payment window expired"));
        env.wait_for_delivery(cancelled_note["id"].as_str().unwrap(), "EMAIL", "DELIVERED").await;
        // Deliveries are created with the notification: none exist for it.
        assert!(env.deliveries_of(placed_note["id"].as_str().unwrap()).await.is_empty());
        let files: Vec<String> =
            env.outbox_files("email").into_iter().filter(|f| !f.contains("Your code: ")).collect();
        assert_eq!(files.len(), 2, "welcome and cancellation only (besides the sign-up code)");
        assert!(files.iter().all(|f| !f.contains("Order placed")));
        let read_back = env.gql.data(Some(&asha.token), "{ notificationPreferences { kind email sms } }", json!({})).await;
        assert!(read_back["notificationPreferences"].as_array().unwrap().iter()
            .any(|p| p == &json!({ "kind": "ORDER_PLACED", "email": false, "sms": false })));
        eventually("the audit entry", || async {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'notification_preferences'")
                .fetch_one(env.store.pool()).await.map_err(|e| e.to_string())?;
            if n == 1 { Ok(()) } else { Err(n.to_string()) }
        }).await;
    }
}
