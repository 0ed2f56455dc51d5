//! Configuration of one subgraph process: defaults in code, then an optional
//! TOML file (unknown keys are an error, not a silent default), then
//! environment variables. The launcher builds the same struct directly.

use anyhow::Context as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The six subgraphs, in the order of their default ports (router port + 1…6).
pub const DOMAINS: [&str; 6] = [
    "users",
    "catalog",
    "prescriptions",
    "orders",
    "payments",
    "notifications",
];

/// Default router port; subgraphs listen on the ports after it.
pub const DEFAULT_ROUTER_PORT: u16 = 4000;

/// The default port of `domain` next to a router on `router_port`.
pub fn subgraph_port(router_port: u16, domain: &str) -> u16 {
    let index = DOMAINS.iter().position(|d| *d == domain).unwrap_or(0);
    router_port + 1 + index as u16
}

/// Whether demo conveniences (dev signing key, demo data, file outboxes) are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Single-machine development: demo data and demo keys allowed.
    Dev,
    /// Real deployment: refuses demo keys, seeds nothing.
    Production,
}

/// How subgraphs check access tokens.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Where the users subgraph publishes its public keys.
    pub jwks_url: String,
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
}

/// Everything a subgraph process needs to start.
#[derive(Debug, Clone)]
pub struct SubgraphConfig {
    /// Which subgraph this is (one of [`DOMAINS`]).
    pub domain: String,
    /// `sqlite://…` or `postgres://…`, this subgraph's own database.
    pub database_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Dev or production.
    pub mode: Mode,
    /// Token verification settings.
    pub auth: AuthSettings,
    /// Base URL clients use to reach this subgraph directly (upload and
    /// checkout links); defaults to `http://<listen>`.
    pub public_url: String,
    /// Directory for files this subgraph keeps (documents, dev outboxes).
    pub data_dir: PathBuf,
    /// PEM file with the token signing key (users only).
    pub signing_key_file: Option<PathBuf>,
    /// NATS server for events between processes; None = in-process bus.
    pub nats_url: Option<String>,
    /// Prefix of the NATS streams and subjects (`janta` → stream
    /// `JANTA_USERS`, subjects `janta.users.<EventType>`), so that several
    /// deployments (or test runs) can share one NATS server.
    pub events_namespace: String,
    /// Shared secret with which subgraphs obtain service tokens from users.
    pub service_secret: String,
    /// GraphQL URLs of the other subgraphs, for service-to-service calls.
    pub peers: BTreeMap<String, String>,
    /// HMAC key for the short-lived signed links a subgraph hands out
    /// (prescription upload and document URLs). Production refuses the dev one.
    pub url_signing_secret: String,
    /// Default validity of an approved prescription, in days from its issue
    /// date, when the pharmacist gives no `validUntil` (prescriptions only).
    pub prescription_validity_days: u32,
    /// HMAC key shared with the payment gateway for signing its webhooks
    /// (payments only; the built-in sandbox gateway signs with it too).
    /// Production refuses the dev one.
    pub webhook_secret: String,
    /// SMTP server for e-mail notifications, `smtp://[user:password@]host[:port]`
    /// (notifications only). None: dev mode writes e-mails to `outbox_dir`;
    /// production refuses to start. Holds credentials: never log it.
    pub smtp_url: Option<String>,
    /// Sender of notification e-mails, e.g. `Janta <no-reply@janta.example>`.
    pub email_from: String,
    /// HTTP endpoint of the SMS provider (notifications only). None: dev
    /// mode writes messages to `outbox_dir`; production sends no SMS.
    pub sms_url: Option<String>,
    /// API key for the SMS provider. Never log it.
    pub sms_api_key: Option<String>,
    /// Where dev mode writes e-mails (`email/`) and SMS (`sms/`) instead of
    /// sending them; default `{data_dir}/outbox`.
    pub outbox_dir: PathBuf,
}

/// The signed-link secret of dev mode; production refuses it.
pub const DEV_URL_SIGNING_SECRET: &str = "janta-dev-url-signing-secret";
/// Shortest signed-link secret production accepts.
pub const MIN_URL_SIGNING_SECRET_LEN: usize = 32;
/// Default prescription validity policy: 30 days from issue.
pub const DEFAULT_PRESCRIPTION_VALIDITY_DAYS: u32 = 30;

/// The payment webhook secret of dev mode; production refuses it.
pub const DEV_WEBHOOK_SECRET: &str = "janta-dev-webhook-secret";
/// Shortest payment webhook secret production accepts.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// Default [`SubgraphConfig::events_namespace`].
pub const DEFAULT_EVENTS_NAMESPACE: &str = "janta";

/// The service secret of dev mode; production refuses it.
pub const DEV_SERVICE_SECRET: &str = "janta-dev-service-secret";

/// Default [`SubgraphConfig::email_from`].
pub const DEFAULT_EMAIL_FROM: &str = "Janta <no-reply@janta.local>";

/// The optional TOML file; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    mode: Option<Mode>,
    jwks_url: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    signing_key_file: Option<PathBuf>,
    nats_url: Option<String>,
    events_namespace: Option<String>,
    service_secret: Option<String>,
    url_signing_secret: Option<String>,
    prescription_validity_days: Option<u32>,
    webhook_secret: Option<String>,
    smtp_url: Option<String>,
    email_from: Option<String>,
    sms_url: Option<String>,
    sms_api_key: Option<String>,
    outbox_dir: Option<PathBuf>,
    #[serde(default)]
    peers: BTreeMap<String, String>,
}

/// Token issuer name shared by users (signing) and every verifier.
pub const DEFAULT_ISSUER: &str = "janta";
/// Token audience shared by users (signing) and every verifier.
pub const DEFAULT_AUDIENCE: &str = "janta-api";

impl SubgraphConfig {
    /// Dev defaults for `domain` next to a router on `router_port`, data under `data_dir`.
    pub fn dev(domain: &str, router_port: u16, data_dir: &Path) -> Self {
        let port = subgraph_port(router_port, domain);
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        SubgraphConfig {
            domain: domain.to_string(),
            database_url: format!(
                "sqlite://{}",
                data_dir.join(format!("{domain}.db")).display()
            ),
            listen,
            mode: Mode::Dev,
            auth: AuthSettings {
                jwks_url: format!(
                    "http://127.0.0.1:{}/.well-known/jwks.json",
                    subgraph_port(router_port, "users")
                ),
                issuer: DEFAULT_ISSUER.into(),
                audience: DEFAULT_AUDIENCE.into(),
            },
            public_url: format!("http://{listen}"),
            data_dir: data_dir.to_path_buf(),
            signing_key_file: None,
            nats_url: None,
            events_namespace: DEFAULT_EVENTS_NAMESPACE.to_string(),
            service_secret: DEV_SERVICE_SECRET.to_string(),
            url_signing_secret: DEV_URL_SIGNING_SECRET.to_string(),
            prescription_validity_days: DEFAULT_PRESCRIPTION_VALIDITY_DAYS,
            webhook_secret: DEV_WEBHOOK_SECRET.to_string(),
            smtp_url: None,
            email_from: DEFAULT_EMAIL_FROM.to_string(),
            sms_url: None,
            sms_api_key: None,
            outbox_dir: data_dir.join("outbox"),
            peers: DOMAINS
                .iter()
                .map(|d| {
                    let url = format!("http://127.0.0.1:{}/graphql", subgraph_port(router_port, d));
                    (d.to_string(), url)
                })
                .collect(),
        }
    }

    /// The GraphQL URL of subgraph `domain`.
    pub fn peer_url(&self, domain: &str) -> anyhow::Result<&str> {
        self.peers
            .get(domain)
            .map(String::as_str)
            .with_context(|| format!("no URL configured for subgraph {domain}"))
    }

    /// Dev defaults, then `file` (TOML), then environment variables:
    /// `DATABASE_URL`, `JANTA_LISTEN`, `JANTA_MODE`, `JANTA_JWKS_URL`,
    /// `JANTA_JWT_ISSUER`, `JANTA_JWT_AUDIENCE`, `JANTA_PUBLIC_URL`,
    /// `JANTA_DATA_DIR`, `JANTA_SIGNING_KEY_FILE`, `JANTA_NATS_URL`,
    /// `JANTA_EVENTS_NAMESPACE`,
    /// `JANTA_SERVICE_SECRET`, `JANTA_URL_SIGNING_SECRET`,
    /// `JANTA_PRESCRIPTION_VALIDITY_DAYS`, `JANTA_WEBHOOK_SECRET`,
    /// `JANTA_SMTP_URL`, `JANTA_EMAIL_FROM`, `JANTA_SMS_URL`, `JANTA_SMS_API_KEY`,
    /// `JANTA_OUTBOX_DIR`, and `JANTA_<DOMAIN>_URL` for each peer subgraph.
    pub fn load(domain: &str, file: Option<&Path>) -> anyhow::Result<Self> {
        let file_config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let merged = overlay_env(file_config)?;
        let data_dir = merged
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"));
        let mut config = Self::dev(domain, DEFAULT_ROUTER_PORT, &data_dir);
        let listen_changed = merged.listen.is_some();
        if let Some(v) = merged.database_url {
            config.database_url = v;
        }
        if let Some(v) = merged.listen {
            config.listen = v;
        }
        if let Some(v) = merged.mode {
            config.mode = v;
        }
        if let Some(v) = merged.jwks_url {
            config.auth.jwks_url = v;
        }
        if let Some(v) = merged.jwt_issuer {
            config.auth.issuer = v;
        }
        if let Some(v) = merged.jwt_audience {
            config.auth.audience = v;
        }
        config.public_url = match merged.public_url {
            Some(v) => v.trim_end_matches('/').to_string(),
            None if listen_changed => format!("http://{}", config.listen),
            None => config.public_url,
        };
        config.signing_key_file = merged.signing_key_file;
        config.nats_url = merged.nats_url;
        if let Some(v) = merged.events_namespace {
            anyhow::ensure!(
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "JANTA_EVENTS_NAMESPACE / events_namespace may hold only letters, digits and _"
            );
            config.events_namespace = v;
        }
        if let Some(v) = merged.service_secret {
            config.service_secret = v;
        }
        if let Some(v) = merged.url_signing_secret {
            config.url_signing_secret = v;
        }
        if let Some(v) = merged.webhook_secret {
            config.webhook_secret = v;
        }
        config.smtp_url = merged.smtp_url;
        if let Some(v) = merged.email_from {
            config.email_from = v;
        }
        config.sms_url = merged.sms_url;
        config.sms_api_key = merged.sms_api_key;
        if let Some(v) = merged.outbox_dir {
            config.outbox_dir = v;
        }
        if config.mode == Mode::Production
            && domain == "payments"
            && (config.webhook_secret == DEV_WEBHOOK_SECRET
                || config.webhook_secret.len() < MIN_WEBHOOK_SECRET_LEN)
        {
            anyhow::bail!(
                "production mode needs JANTA_WEBHOOK_SECRET ({MIN_WEBHOOK_SECRET_LEN}+ characters, not the development one)"
            );
        }
        if let Some(days) = merged.prescription_validity_days {
            if !(1..=365).contains(&days) {
                anyhow::bail!("prescription_validity_days must be between 1 and 365");
            }
            config.prescription_validity_days = days;
        }
        if config.mode == Mode::Production
            && domain == "prescriptions"
            && (config.url_signing_secret == DEV_URL_SIGNING_SECRET
                || config.url_signing_secret.len() < MIN_URL_SIGNING_SECRET_LEN)
        {
            anyhow::bail!(
                "production mode needs JANTA_URL_SIGNING_SECRET ({MIN_URL_SIGNING_SECRET_LEN}+ characters, not the development one)"
            );
        }
        config.peers.extend(merged.peers);
        for domain in DOMAINS {
            if let Ok(url) = std::env::var(format!("JANTA_{}_URL", domain.to_uppercase())) {
                config.peers.insert(domain.to_string(), url);
            }
        }
        if config.mode == Mode::Production && config.service_secret == DEV_SERVICE_SECRET {
            anyhow::bail!("production mode needs JANTA_SERVICE_SECRET (not the development one)");
        }
        Ok(config)
    }
}

fn overlay_env(mut c: FileConfig) -> anyhow::Result<FileConfig> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(v) = var("DATABASE_URL") {
        c.database_url = Some(v);
    }
    if let Some(v) = var("JANTA_LISTEN") {
        c.listen = Some(v.parse().context("JANTA_LISTEN must be host:port")?);
    }
    if let Some(v) = var("JANTA_MODE") {
        c.mode = Some(match v.as_str() {
            "dev" => Mode::Dev,
            "production" => Mode::Production,
            _ => anyhow::bail!("JANTA_MODE must be dev or production"),
        });
    }
    let strings = [
        ("JANTA_JWKS_URL", &mut c.jwks_url),
        ("JANTA_JWT_ISSUER", &mut c.jwt_issuer),
        ("JANTA_JWT_AUDIENCE", &mut c.jwt_audience),
        ("JANTA_PUBLIC_URL", &mut c.public_url),
        ("JANTA_NATS_URL", &mut c.nats_url),
        ("JANTA_EVENTS_NAMESPACE", &mut c.events_namespace),
        ("JANTA_SERVICE_SECRET", &mut c.service_secret),
        ("JANTA_URL_SIGNING_SECRET", &mut c.url_signing_secret),
        ("JANTA_WEBHOOK_SECRET", &mut c.webhook_secret),
        ("JANTA_SMTP_URL", &mut c.smtp_url),
        ("JANTA_EMAIL_FROM", &mut c.email_from),
        ("JANTA_SMS_URL", &mut c.sms_url),
        ("JANTA_SMS_API_KEY", &mut c.sms_api_key),
    ];
    for (name, slot) in strings {
        if let Some(v) = var(name) {
            *slot = Some(v);
        }
    }
    if let Some(v) = var("JANTA_DATA_DIR") {
        c.data_dir = Some(v.into());
    }
    if let Some(v) = var("JANTA_OUTBOX_DIR") {
        c.outbox_dir = Some(v.into());
    }
    if let Some(v) = var("JANTA_SIGNING_KEY_FILE") {
        c.signing_key_file = Some(v.into());
    }
    if let Some(v) = var("JANTA_PRESCRIPTION_VALIDITY_DAYS") {
        c.prescription_validity_days = Some(
            v.parse()
                .context("JANTA_PRESCRIPTION_VALIDITY_DAYS must be a number of days")?,
        );
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "databse_url = \"sqlite://x.db\"\n").unwrap();
        let err = SubgraphConfig::load("users", Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("databse_url"), "{err:#}");
    }

    #[test]
    fn production_payments_refuse_the_dev_webhook_secret() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-wh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let base = format!(
            "mode = \"production\"\nservice_secret = \"{strong}\"\nurl_signing_secret = \"{strong}\"\n"
        );
        std::fs::write(&path, &base).unwrap();
        let err = SubgraphConfig::load("payments", Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("JANTA_WEBHOOK_SECRET"),
            "{err:#}"
        );
        std::fs::write(&path, format!("{base}webhook_secret = \"{strong}\"\n")).unwrap();
        let config = SubgraphConfig::load("payments", Some(&path)).unwrap();
        assert_eq!(config.webhook_secret, strong);
    }

    #[test]
    fn notification_channels_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mail.toml");
        std::fs::write(&path, "data_dir = \"/srv/janta\"\n").unwrap();
        let config = SubgraphConfig::load("notifications", Some(&path)).unwrap();
        assert_eq!(config.outbox_dir, PathBuf::from("/srv/janta/outbox"));
        assert_eq!(config.smtp_url, None);
        assert_eq!(config.email_from, DEFAULT_EMAIL_FROM);
        std::fs::write(
            &path,
            "smtp_url = \"smtp://relay:25\"\nemail_from = \"Janta <n@j.in>\"\n\
             sms_url = \"http://sms.local/send\"\noutbox_dir = \"/tmp/out\"\n",
        )
        .unwrap();
        let config = SubgraphConfig::load("notifications", Some(&path)).unwrap();
        assert_eq!(config.smtp_url.as_deref(), Some("smtp://relay:25"));
        assert_eq!(config.email_from, "Janta <n@j.in>");
        assert_eq!(config.sms_url.as_deref(), Some("http://sms.local/send"));
        assert_eq!(config.outbox_dir, PathBuf::from("/tmp/out"));
    }

    #[test]
    fn ports_follow_the_router() {
        assert_eq!(subgraph_port(4000, "users"), 4001);
        assert_eq!(subgraph_port(5000, "notifications"), 5006);
    }
}
