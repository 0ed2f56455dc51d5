//! No personal data in the logs: with everything at INFO captured, a
//! sign-up with an e-mail address and a phone number whose welcome e-mail
//! is refused by a mail server that echoes the address leaves neither in
//! the logs (nor in the stored error admins read).

mod support;

use janta_testkit::CapturedLogs;
use serde_json::json;
use support::{start, Options, SmtpServer};
use tracing_subscriber::util::SubscriberInitExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_email_or_phone_reaches_the_logs() {
    let logs = CapturedLogs::default();
    logs.subscriber().init();
    let db = janta_testkit::TestDb::new(janta_testkit::Backend::Sqlite).await;
    let smtp =
        SmtpServer::start("550 5.1.1 <secret.person@example.com>: Recipient address rejected")
            .await;
    let env = start(
        &db,
        Options {
            smtp_url: Some(smtp.url.clone()),
            max_attempts: 2,
            ..Options::default()
        },
    )
    .await;
    let data = env
        .users
        .data(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": { "email": "secret.person@example.com", "password": "long enough pw",
                               "fullName": "Secret Person", "phone": "+919812345678" } }),
        )
        .await;
    let token = data["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let welcome = env.wait_for_kind(&token, "WELCOME").await;
    let failed = env
        .wait_for_delivery(welcome["id"].as_str().unwrap(), "EMAIL", "FAILED")
        .await;
    let stored = failed["lastError"].as_str().unwrap();
    assert!(stored.contains("550"), "{stored}");
    assert!(!stored.contains("secret.person"), "{stored}");

    let text = logs.text();
    assert!(
        text.contains("delivery gave up"),
        "the failure is logged:\n{text}"
    );
    for personal in ["secret.person@example.com", "secret.person", "9812345678"] {
        assert!(
            !text.contains(personal),
            "{personal} leaked into the logs:\n{text}"
        );
    }
}
