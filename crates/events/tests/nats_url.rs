//! A NATS URL may carry credentials (`nats://user:password@host`): they
//! never reach the logs, nor the errors that name the URL.

use janta_events::Runtime;
use janta_platform::config::SubgraphConfig;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

const PASSWORD: &str = "s3cr3t-nats-pw";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn config(nats_url: &str) -> SubgraphConfig {
    let mut config = SubgraphConfig::dev("users", 4000, &std::env::temp_dir());
    config.nats_url = Some(nats_url.to_string());
    config
}

#[tokio::test]
async fn credentials_in_the_nats_url_stay_out_of_logs_and_errors() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = Runtime::standalone();

    let url = format!("nats://janta:{PASSWORD}@127.0.0.1:4222");
    runtime.event_bus(&config(&url)).await.expect("connects");
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
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
