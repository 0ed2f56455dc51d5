//! The notifications part of the client contract through the router: a
//! sign-up is welcomed (the users subgraph's `UserRegistered` crosses the
//! in-process event bus), `MyNotifications` lists it, `MarkNotificationsRead`
//! marks it, and marking someone else's notification is refused.
//! (The Dashboard query after a checkout belongs with the checkout e2e.)

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform};

async fn register(p: &Platform, name: &str) -> String {
    let email = format!("e2e-{}@example.com", uuid::Uuid::new_v4().simple());
    let reg = p
        .gql
        .data(
            None,
            &operation("Register"),
            json!({"input": { "email": email, "password": "a long password", "fullName": name, "phone": null }}),
        )
        .await;
    reg["register"]["accessToken"].as_str().unwrap().to_string()
}

async fn welcome(p: &Platform, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let data = p
            .gql
            .data(
                Some(token),
                &operation("MyNotifications"),
                json!({"first": 5, "unreadOnly": false}),
            )
            .await;
        if let Some(node) = data["myNotifications"]["edges"][0]["node"].as_object() {
            assert_eq!(data["myNotifications"]["totalCount"], 1);
            return Value::Object(node.clone());
        }
        assert!(Instant::now() < deadline, "no welcome notification: {data}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sign_up_is_welcomed_and_only_its_owner_marks_it_read() {
    let p = Platform::start().await;
    let meena = register(&p, "Meena Iyer").await;
    let arjun = register(&p, "Arjun Das").await;
    let hers = welcome(&p, &meena).await;
    assert_eq!(hers["kind"], "WELCOME");
    assert_eq!(hers["title"], "Welcome to Janta, Meena Iyer");
    assert_eq!(hers["read"], false);
    assert!(hers["createdAt"].as_str().unwrap().ends_with('Z'));
    welcome(&p, &arjun).await;

    let refused = p
        .gql
        .send(
            Some(&arjun),
            &operation("MarkNotificationsRead"),
            json!({"ids": [hers["id"]]}),
        )
        .await;
    assert_eq!(code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
    assert_eq!(welcome(&p, &meena).await["read"], false);

    let marked = p
        .gql
        .data(
            Some(&meena),
            &operation("MarkNotificationsRead"),
            json!({"ids": [hers["id"]]}),
        )
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);
    let unread = p
        .gql
        .data(
            Some(&meena),
            &operation("MyNotifications"),
            json!({"first": 5, "unreadOnly": true}),
        )
        .await;
    assert_eq!(unread["myNotifications"]["totalCount"], 0);
    let through_me = p
        .gql
        .data(
            Some(&meena),
            "{ me { id notifications(first: 5) { edges { node { id title read } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        through_me["me"]["notifications"]["edges"][0]["node"]["read"],
        true
    );
}
