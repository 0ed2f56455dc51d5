//! Metrics and probes of the running platform: the router's `/metrics` is
//! Hive Router's own Prometheus exposition (dev: on the router's loopback
//! port), never its 200 HTML landing page; in production it is served on
//! a separate internal port and the public port answers 404. Every
//! subgraph serves `/metrics` too, and the probes `/health` and
//! `/readiness` answer under the same names on the router and on every
//! subgraph (subgraphs also answer `/ready`).

mod support;

use janta_testkit::prometheus::parse_exposition;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Platform;

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Asserts `url` answers 200 with a Prometheus exposition; returns its samples.
async fn exposition(url: &str) -> std::collections::BTreeMap<String, f64> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain"),
        "{url}: {content_type}"
    );
    let body = response.text().await.unwrap();
    assert!(!body.contains("<html"), "{url} is an HTML page");
    parse_exposition(&body)
}

async fn status(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

/// `router-config/production.yaml` (and the trusted documents beside it)
/// copied into a fresh directory with the metrics port 9464 replaced by
/// `metrics_port`, so that this test never competes for 9464.
fn production_config(metrics_port: u16) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("router-config");
    let dir = std::env::temp_dir().join(format!("janta-router-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = std::fs::read_to_string(root.join("production.yaml")).unwrap();
    assert_eq!(config.matches("port: 9464").count(), 1, "the metrics port");
    let config = config.replace("port: 9464", &format!("port: {metrics_port}"));
    std::fs::write(dir.join("production.yaml"), config).unwrap();
    let documents = "persisted-documents.json";
    std::fs::copy(root.join(documents), dir.join(documents)).unwrap();
    dir.join("production.yaml")
}

/// Starts `janta router` from the production configuration next to the
/// platform `p` (its users subgraph for keys); returns it with its public
/// and metrics ports once it serves.
async fn production_router(p: &Platform) -> (Killed, u16, u16) {
    let (port, metrics_port) = (free_port(), free_port());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let child = Command::new(env!("CARGO_BIN_EXE_janta"))
        .arg("router")
        .arg("--config")
        .arg(production_config(metrics_port))
        .arg("--supergraph")
        .arg(root.join("supergraph.graphql"))
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "error")
        .env(
            "JANTA_JWKS_URL",
            format!("http://127.0.0.1:{}/.well-known/jwks.json", p.port + 1),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("janta router starts");
    let mut router = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = format!("http://127.0.0.1:{port}/health");
    loop {
        if let Ok(Some(exit)) = router.0.try_wait() {
            panic!("the production router exited: {exit}");
        }
        if reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            return (router, port, metrics_port);
        }
        assert!(
            Instant::now() < deadline,
            "the production router did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn router_and_subgraphs_serve_metrics_and_the_same_probes() {
    let p = Platform::start().await;
    p.gql.data(None, "{ __typename }", json!({})).await;

    // Dev: the router's own metrics on its (loopback) port.
    let router = format!("http://127.0.0.1:{}", p.port);
    let samples = exposition(&format!("{router}/metrics")).await;
    assert!(
        samples
            .keys()
            .any(|k| k.starts_with("http_server_request_duration_seconds")),
        "router request metrics: {samples:#?}"
    );
    for probe in ["health", "readiness"] {
        assert_eq!(
            status(&format!("{router}/{probe}")).await,
            200,
            "router /{probe}"
        );
    }

    for domain in janta_platform::config::DOMAINS {
        let base = p
            .subgraph_url(domain)
            .trim_end_matches("/graphql")
            .to_string();
        let samples = exposition(&format!("{base}/metrics")).await;
        assert!(
            samples.contains_key("janta_outbox_pending_events"),
            "{domain}"
        );
        assert_eq!(
            samples[r#"janta_metrics_source_up{source="events"}"#], 1.0,
            "{domain}"
        );
        for probe in ["health", "ready", "readiness"] {
            assert_eq!(
                status(&format!("{base}/{probe}")).await,
                200,
                "{domain} /{probe}"
            );
        }
    }
    // Each subgraph's domain figures, where it has some.
    let domain_gauges = [
        ("catalog", "janta_catalog_reservations_outstanding"),
        ("payments", r#"janta_metrics_source_up{source="payments"}"#),
        (
            "notifications",
            r#"janta_metrics_source_up{source="notifications"}"#,
        ),
    ];
    for (domain, name) in domain_gauges {
        let base = p
            .subgraph_url(domain)
            .trim_end_matches("/graphql")
            .to_string();
        let samples = exposition(&format!("{base}/metrics")).await;
        let value = samples
            .get(name)
            .unwrap_or_else(|| panic!("{domain}: no {name}"));
        if name.starts_with("janta_metrics_source_up") {
            assert_eq!(*value, 1.0, "{domain}: its gauges can be read");
        }
    }

    // Production: metrics on their own port; the public port says 404.
    let (_router, port, metrics_port) = production_router(&p).await;
    assert_eq!(
        status(&format!("http://127.0.0.1:{port}/metrics")).await,
        404
    );
    exposition(&format!("http://127.0.0.1:{metrics_port}/metrics")).await;
    for probe in ["health", "readiness"] {
        assert_eq!(
            status(&format!("http://127.0.0.1:{port}/{probe}")).await,
            200,
            "/{probe}"
        );
    }
}
