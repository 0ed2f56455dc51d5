//! A NATS URL may carry credentials (`nats://user:password@host`): they
//! never reach the logs, nor the errors that name the URL.

use janta_events::Runtime;
use janta_platform::config::SubgraphConfig;
use janta_testkit::CapturedLogs;

const PASSWORD: &str = "s3cr3t-nats-pw";

fn config(nats_url: &str) -> SubgraphConfig {
    let mut config = SubgraphConfig::dev("users", 4000, &std::env::temp_dir());
    config.nats_url = Some(janta_platform::config::Secret::new(nats_url));
    config
}

#[tokio::test]
async fn credentials_in_the_nats_url_stay_out_of_logs_and_errors() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let runtime = Runtime::standalone();

    let url = format!("nats://janta:{PASSWORD}@127.0.0.1:4222");
    runtime.event_bus(&config(&url)).await.expect("connects");
    let text = logs.text();
    assert!(
        text.contains("events over NATS"),
        "the bus is logged:\n{text}"
    );
    assert!(
        text.contains("127.0.0.1:4222"),
        "the server is named:\n{text}"
    );
    assert!(!text.contains(PASSWORD), "the password was logged:\n{text}");

    let invalid = format!("nats://janta:{PASSWORD}@127.0.0.1:notaport");
    let err = runtime
        .event_bus(&config(&invalid))
        .await
        .err()
        .expect("refused");
    let message = format!("{err:#}");
    assert!(message.contains("invalid NATS address"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
}
