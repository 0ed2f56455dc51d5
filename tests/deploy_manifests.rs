//! The packaging of issue 17 ("Operate it"), checked offline: the
//! `Dockerfile` (two stages, non-root, no secrets, `janta` as entrypoint),
//! `deploy/compose.yaml` (every subgraph its own database, secrets only from
//! the environment) and the Kubernetes manifests of `deploy/k8s`, rendered by
//! `kubectl kustomize` (probes on the right paths, resources, each subgraph's
//! database URL from its own Secret key, no literal secret anywhere).
//!
//! No image is built and nothing is deployed. Without `kubectl` the
//! Kubernetes test fails unless `JANTA_SKIP_KUBECTL=1` (then it says so).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SUBGRAPHS: [&str; 6] = [
    "users",
    "catalog",
    "prescriptions",
    "orders",
    "payments",
    "notifications",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML text with merge keys (`<<: *anchor`) resolved, as JSON values (one
/// per document).
fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| {
            let mut value = serde_yaml_ng::Value::deserialize(doc).expect("valid YAML");
            value.apply_merge().expect("merge keys resolve");
            serde_json::to_value(value).expect("YAML maps to JSON")
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// An environment variable whose value is a secret or may hold credentials.
/// `*_FILE` variables hold a path to the secret, not the secret.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    if name.ends_with("_FILE") {
        return false;
    }
    [
        "SECRET",
        "KEY",
        "PASSWORD",
        "TOKEN",
        "DATABASE_URL",
        "NATS_URL",
        "SMTP_URL",
    ]
    .iter()
    .any(|word| name.contains(word))
}

fn as_str<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"))
}

// --- Dockerfile ------------------------------------------------------------

/// One instruction of a Dockerfile: keyword (upper case) and arguments,
/// continuation lines joined, comments dropped.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let (keyword, args) = current.trim().split_once(char::is_whitespace).unwrap();
        out.push((keyword.to_ascii_uppercase(), args.trim().to_string()));
        current.clear();
    }
    out
}

#[test]
fn dockerfile_builds_janta_in_release_and_runs_it_as_a_non_root_user() {
    let steps = dockerfile_instructions(&read("Dockerfile"));
    let froms: Vec<&str> = steps
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(
        froms,
        [
            "rust:1.95-bookworm AS build",
            "debian:bookworm-slim AS runtime"
        ],
        "two stages: the Rust 1.95 toolchain, then a slim Debian"
    );
    let runtime_start = steps
        .iter()
        .rposition(|(k, _)| k == "FROM")
        .expect("runtime stage");
    let (build, runtime) = steps.split_at(runtime_start);
    assert!(
        build
            .iter()
            .any(|(k, a)| k == "RUN" && a.contains("cargo build --release --locked -p janta")),
        "the build stage builds janta in release from Cargo.lock"
    );
    let last = |keyword: &str| {
        runtime
            .iter()
            .rev()
            .find(|(k, _)| k == keyword)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("runtime stage has no {keyword}"))
    };
    let user = last("USER");
    let uid = user.split(':').next().unwrap();
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user}: not a numeric UID"));
    assert_ne!(uid, 0, "the runtime user is not root");
    assert_eq!(last("WORKDIR"), "/data");
    assert_eq!(last("EXPOSE"), "4000-4006");
    assert_eq!(last("ENTRYPOINT"), r#"["janta"]"#);
    assert!(
        runtime
            .iter()
            .any(|(k, a)| k == "RUN" && a.contains("ca-certificates")),
        "the runtime has the CA roots for outgoing HTTPS"
    );
    let binaries: Vec<&str> = runtime
        .iter()
        .filter(|(k, a)| k == "COPY" && a.contains("--from="))
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(
        binaries,
        ["--from=build /out/janta /usr/local/bin/janta"],
        "only the janta binary comes from the build stage"
    );
    for (keyword, args) in &steps {
        if keyword == "ENV" || keyword == "ARG" {
            let name = args.split(['=', ' ']).next().unwrap();
            assert!(
                !looks_secret(name),
                "{keyword} {args}: no secret is baked into the image"
            );
        }
    }
}

#[test]
fn dockerignore_keeps_build_output_data_and_git_out_of_the_context() {
    let ignore = read(".dockerignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    for entry in ["target/", "data/", "node_modules/", ".git", ".env"] {
        assert!(lines.contains(&entry), ".dockerignore lacks {entry}");
    }
}

// --- compose ---------------------------------------------------------------

/// Every `${VAR...}` in a secret's value either requires the variable
/// (`:?`) or defaults to something without credentials (no `@`), and
/// nothing outside them is a credential (a URL's password is interpolated).
fn assert_secret_from_environment(service: &str, name: &str, value: &str) {
    assert!(
        value.contains("${"),
        "{service}: {name} is a literal ({value:?}); take it from the environment"
    );
    let mut rest = value;
    let mut literal = String::new();
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${...}") + start;
        let inner = &rest[start + 2..end];
        if let Some((_, default)) = inner.split_once(":-") {
            assert!(
                !default.contains('@'),
                "{service}: {name} defaults to credentials ({default:?})"
            );
        } else {
            assert!(
                inner.contains(":?"),
                "{service}: {name} uses ${{{inner}}}: require it with :? or give a default"
            );
        }
        rest = &rest[end + 1..];
    }
    literal.push_str(rest);
    if let Some((_, after_scheme)) = literal.split_once("://") {
        let userinfo = after_scheme.split('@').next().unwrap_or("");
        assert!(
            !after_scheme.contains('@') || userinfo.ends_with(':') || !userinfo.contains(':'),
            "{service}: {name} has a literal password ({value:?})"
        );
    }
}

fn compose() -> Value {
    let mut docs = yaml_documents(&read("deploy/compose.yaml"));
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn environment(service: &Value) -> Vec<(String, String)> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Value::Null => Vec::new(),
        other => panic!("environment as a map, not {other}"),
    }
}

fn healthcheck_path(name: &str, service: &Value) -> String {
    let test = service["healthcheck"]["test"].to_string();
    ["/readiness", "/ready", "/health"]
        .into_iter()
        .find(|path| test.contains(&format!("GET {path} ")))
        .unwrap_or_else(|| panic!("{name}: healthcheck {test} probes no known path"))
        .to_string()
}

#[test]
fn compose_gives_every_subgraph_its_own_database_and_no_literal_secret() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let mut database_urls = Vec::new();
    for (i, domain) in SUBGRAPHS.iter().enumerate() {
        let service = services
            .get(*domain)
            .unwrap_or_else(|| panic!("no {domain} service"));
        assert_eq!(
            service["command"],
            serde_json::json!(["serve", domain]),
            "{domain} runs `janta serve {domain}`"
        );
        let env: std::collections::BTreeMap<_, _> = environment(service).into_iter().collect();
        let port = 4001 + i;
        assert_eq!(env["JANTA_LISTEN"], format!("0.0.0.0:{port}"));
        assert_eq!(env["JANTA_MODE"], "production");
        assert!(
            env.contains_key("JANTA_NATS_URL"),
            "{domain}: events over NATS"
        );
        assert!(env.contains_key("JANTA_SERVICE_CLIENT_SECRET"));
        for peer in SUBGRAPHS {
            let key = format!("JANTA_{}_URL", peer.to_uppercase());
            assert!(env.contains_key(&key), "{domain} lacks {key}");
        }
        let url = &env["DATABASE_URL"];
        assert!(
            url.starts_with("postgres://") && url.ends_with(&format!("/janta_{domain}")),
            "{domain}: DATABASE_URL {url} is not its own database"
        );
        database_urls.push(url.clone());
        assert_eq!(healthcheck_path(domain, service), "/ready");
        assert!(
            read("deploy/postgres-init.sql").contains(&format!("CREATE DATABASE janta_{domain};")),
            "the init script creates janta_{domain}"
        );
    }
    database_urls.sort();
    database_urls.dedup();
    assert_eq!(database_urls.len(), SUBGRAPHS.len());

    let users = environment(&services["users"]);
    for domain in SUBGRAPHS {
        let key = format!("JANTA_SERVICE_CLIENT_SECRET_{}", domain.to_uppercase());
        assert!(users.iter().any(|(k, _)| *k == key), "users lacks {key}");
    }
    for (domain, key) in [
        ("prescriptions", "JANTA_URL_SIGNING_SECRET"),
        ("payments", "JANTA_WEBHOOK_SECRET"),
        ("notifications", "JANTA_WEBHOOK_ENCRYPTION_KEY"),
        ("notifications", "JANTA_SMTP_URL"),
    ] {
        let env = environment(&services[domain]);
        assert!(env.iter().any(|(k, _)| k == key), "{domain} lacks {key}");
    }

    let router = &services["router"];
    assert_eq!(
        router["command"],
        serde_json::json!([
            "router",
            "--config",
            "router-config/production.yaml",
            "--supergraph",
            "supergraph.graphql"
        ])
    );
    assert_eq!(healthcheck_path("router", router), "/readiness");
    let nats = &services["nats"];
    assert!(nats["image"].as_str().unwrap().starts_with("nats:2"));
    assert!(
        nats["command"].to_string().contains("\"-js\""),
        "JetStream on"
    );

    for (name, service) in services {
        for (key, value) in environment(service) {
            if looks_secret(&key) {
                assert_secret_from_environment(name, &key, &value);
            }
        }
    }
}

#[test]
fn compose_secrets_are_examples_only() {
    let example = read("deploy/.env.example");
    for line in example.lines().filter(|l| !l.starts_with('#')) {
        if let Some((key, value)) = line.split_once('=') {
            if looks_secret(key) && key != "JANTA_SMTP_URL" {
                assert!(
                    value.starts_with("change-me"),
                    "{key} in .env.example is a placeholder"
                );
            }
        }
    }
    let ignored = read(".gitignore");
    assert!(ignored.lines().any(|l| l == "/deploy/.env"));
}

// --- Kubernetes ------------------------------------------------------------

/// `deploy/k8s` rendered by `kubectl kustomize`, or `None` when kubectl is
/// missing and `JANTA_SKIP_KUBECTL=1` allows skipping.
fn kustomize() -> Option<Vec<Value>> {
    let output = Command::new("kubectl")
        .args([
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            "deploy/k8s",
        ])
        .current_dir(root())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if std::env::var("JANTA_SKIP_KUBECTL").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: kubectl is not available ({e}); deploy/k8s was NOT checked");
            return None;
        }
        Err(e) => panic!(
            "kubectl is needed to render deploy/k8s ({e}); install it (apt-get install kubectl) \
             or set JANTA_SKIP_KUBECTL=1 to skip this test"
        ),
    };
    assert!(
        output.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(yaml_documents(&String::from_utf8(output.stdout).unwrap()))
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn containers(deployment: &Value) -> &Vec<Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
}

fn assert_probes_and_resources(name: &str, container: &Value, readiness: &str) {
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"], "/health",
        "{name}: liveness on /health"
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"], readiness,
        "{name}: readiness on {readiness}"
    );
    for field in ["cpu", "memory"] {
        assert!(
            container["resources"]["requests"][field].is_string(),
            "{name}: requests {field}"
        );
    }
    assert!(
        container["resources"]["limits"]["memory"].is_string(),
        "{name}: memory limit"
    );
}

fn env_of(container: &Value) -> &[Value] {
    container["env"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn assert_service(docs: &[Value], name: &str, port: u64) {
    let service = find(docs, "Service", name);
    let ports = service["spec"]["ports"].as_array().expect("ports");
    assert!(
        ports.iter().any(|p| p["port"] == port),
        "Service {name} exposes {port}"
    );
    assert_eq!(
        service["spec"]["selector"]["app.kubernetes.io/name"], name,
        "Service {name} selects its pods"
    );
}

#[test]
fn kubernetes_manifests_probe_limit_and_keep_secrets_in_secrets() {
    let Some(docs) = kustomize() else { return };
    let mut database_keys = Vec::new();
    for (i, domain) in SUBGRAPHS.iter().enumerate() {
        let deployment = find(&docs, "Deployment", domain);
        let container = &containers(deployment)[0];
        assert_eq!(container["args"], serde_json::json!(["serve", domain]));
        assert_probes_and_resources(domain, container, "/ready");
        let database = env_of(container)
            .iter()
            .find(|e| e["name"] == "DATABASE_URL")
            .unwrap_or_else(|| panic!("{domain} has no DATABASE_URL"));
        let key = &database["valueFrom"]["secretKeyRef"];
        assert_eq!(key["name"], "janta-database-urls", "{domain}");
        assert_eq!(key["key"], *domain, "{domain}: its own database key");
        database_keys.push(as_str(&key["key"], "key").to_string());
        let metrics = env_of(container)
            .iter()
            .find(|e| e["name"] == "JANTA_METRICS_TOKEN")
            .unwrap_or_else(|| panic!("{domain}: /metrics has no token (open in production)"));
        assert_eq!(
            metrics["valueFrom"]["secretKeyRef"]["name"], "janta-secrets",
            "{domain}: the metrics token comes from a Secret"
        );
        assert_service(&docs, domain, 4001 + i as u64);
    }
    database_keys.sort();
    database_keys.dedup();
    assert_eq!(database_keys.len(), SUBGRAPHS.len());

    let router = find(&docs, "Deployment", "router");
    let container = &containers(router)[0];
    assert_probes_and_resources("router", container, "/readiness");
    assert_service(&docs, "router", 4000);
    assert_eq!(find(&docs, "StatefulSet", "nats")["kind"], "StatefulSet");
    assert_service(&docs, "nats", 4222);

    let config = docs
        .iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && as_str(&d["metadata"]["name"], "name").starts_with("janta-router")
        })
        .expect("router ConfigMap");
    assert_eq!(
        config["data"]["production.yaml"],
        read("router-config/production.yaml").as_str(),
        "the router ConfigMap is the repository's file"
    );
    assert_eq!(
        config["data"]["supergraph.graphql"],
        read("supergraph.graphql").as_str()
    );
    assert!(config["data"]["persisted-documents.json"].is_string());

    assert_no_literal_secret(&docs);
}

/// No container sets a secret-looking variable to a literal, and no
/// ConfigMap holds one.
fn assert_no_literal_secret(docs: &[Value]) {
    for doc in docs {
        let name = doc["metadata"]["name"].clone();
        if doc["kind"] == "ConfigMap" {
            for key in doc["data"].as_object().into_iter().flat_map(|m| m.keys()) {
                assert!(!looks_secret(key), "ConfigMap {name} holds {key}");
            }
        }
        let pod = match doc["kind"].as_str() {
            Some("Deployment" | "StatefulSet") => &doc["spec"]["template"]["spec"],
            _ => continue,
        };
        for container in pod["containers"].as_array().into_iter().flatten() {
            for var in env_of(container) {
                let var_name = as_str(&var["name"], "env name");
                if looks_secret(var_name) {
                    assert!(
                        var.get("value").is_none()
                            && var["valueFrom"]["secretKeyRef"]["name"].is_string(),
                        "{name}: {var_name} must come from a Secret, not a literal"
                    );
                }
            }
        }
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"], true,
            "{name} runs as non-root"
        );
    }
}

#[test]
fn kubernetes_secret_example_lists_every_referenced_key() {
    let Some(docs) = kustomize() else { return };
    let example = read("deploy/k8s/secrets.env.example");
    let path = Path::new("deploy/k8s/secrets.env.example");
    for doc in &docs {
        let pod = &doc["spec"]["template"]["spec"];
        for container in pod["containers"].as_array().into_iter().flatten() {
            for var in env_of(container) {
                let secret = &var["valueFrom"]["secretKeyRef"];
                if secret["name"] == "janta-secrets" {
                    let key = as_str(&secret["key"], "key");
                    assert!(
                        example.lines().any(|l| l.starts_with(&format!("{key}="))),
                        "{} lacks {key}",
                        path.display()
                    );
                }
            }
        }
    }
}
