//! Configuration of one subgraph process: defaults in code, then an optional
//! TOML file (unknown keys are an error, not a silent default), then
//! environment variables. The launcher builds the same struct directly.

use anyhow::Context as _;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Which gateway takes online payments (payments only). A real gateway
/// adapter adds its variant here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentGateway {
    /// The built-in sandbox: its checkout page confirms a payment at the
    /// press of a button, so it exists only in dev mode (and tests);
    /// production refuses to start with it.
    Sandbox,
    /// No online gateway: online payment methods are refused, cash on
    /// delivery still works. The production default until a real gateway
    /// is configured.
    None,
    /// Razorpay (`razorpay_key_id`, `razorpay_key_secret`, its webhook
    /// secret in `webhook_secret`, `razorpay_base_url`).
    Razorpay,
}

/// Razorpay's API, for `payment_gateway = "razorpay"` (payments only).
#[derive(Debug, Clone)]
pub struct RazorpaySettings {
    /// The key ID (`rzp_test_…` or `rzp_live_…`), public: checkout shows it.
    pub key_id: String,
    /// The key secret: API authentication and checkout signatures.
    pub key_secret: Secret,
    /// Where the API is: `https://api.razorpay.com`, or a local fake in tests.
    pub base_url: String,
}

/// Razorpay's API base URL.
pub const RAZORPAY_BASE_URL: &str = "https://api.razorpay.com";
/// The development key pair's ID (production refuses it).
pub const DEV_RAZORPAY_KEY_ID: &str = "rzp_test_jantadevkey00";
/// The development key pair's secret (production refuses it).
pub const DEV_RAZORPAY_KEY_SECRET: &str = "janta-dev-razorpay-key-secret";
/// Payments still open this long after they were created are asked about
/// at the gateway (a lost webhook).
pub const DEFAULT_RECONCILE_AFTER: Duration = Duration::from_secs(10 * 60);
/// How often the reconciliation sweeper runs.
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(60);
/// GST tax collected at source by the marketplace (section 52), basis points.
pub const DEFAULT_TCS_BPS: u32 = 50;
/// Income-tax deducted at source by the marketplace (section 194-O), basis points.
pub const DEFAULT_TDS_BPS: u32 = 10;
/// How long after delivery a customer may ask to return lines.
pub const DEFAULT_RETURN_WINDOW_DAYS: u32 = 7;

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
    /// May carry credentials (`nats://user:password@host`).
    pub nats_url: Option<Secret>,
    /// Prefix of the NATS streams and subjects (`janta` → stream
    /// `JANTA_USERS`, subjects `janta.users.<EventType>`), so that several
    /// deployments (or test runs) can share one NATS server.
    pub events_namespace: String,
    /// This subgraph's own secret as an OAuth client of the users token
    /// endpoint (client ID = its domain). Production requires a strong one.
    pub service_client_secret: Secret,
    /// Users only: the secret of every service client (domain → secret);
    /// users keeps their hashes in `oauth_clients`. Production requires a
    /// strong one for each of [`DOMAINS`].
    pub service_clients: BTreeMap<String, Secret>,
    /// Users only: how long a service client's previous secret keeps
    /// working after its configured secret changed, so that subgraphs can
    /// be restarted with the new one one at a time.
    pub service_secret_overlap: Duration,
    /// The token endpoint service clients use; None: derived from the users
    /// peer URL (see [`SubgraphConfig::service_token_url`]).
    pub token_url: Option<String>,
    /// GraphQL URLs of the other subgraphs, for service-to-service calls.
    pub peers: BTreeMap<String, String>,
    /// HMAC key for the short-lived signed links a subgraph hands out
    /// (prescription upload and document URLs). Production refuses the dev one.
    pub url_signing_secret: Secret,
    /// Default validity of an approved prescription, in days from its issue
    /// date, when the pharmacist gives no `validUntil` (prescriptions only).
    pub prescription_validity_days: u32,
    /// HMAC key shared with the payment gateway for signing its webhooks
    /// (payments only; the built-in sandbox gateway signs with it too).
    /// Production refuses the dev one.
    pub webhook_secret: Secret,
    /// The gateway for online payments (payments only): the sandbox in dev
    /// mode, none in production unless configured (`JANTA_PAYMENT_GATEWAY`).
    pub payment_gateway: PaymentGateway,
    /// Payments: Razorpay's API and keys (used when it is the gateway).
    pub razorpay: RazorpaySettings,
    /// Payments: open payments older than this are reconciled with the gateway.
    pub reconcile_after: Duration,
    /// Payments: how often the reconciliation sweeper runs.
    pub reconcile_interval: Duration,
    /// Orders: days after delivery during which lines may be returned.
    pub return_window_days: u32,
    /// Orders: whether placing an order needs a verified e-mail address or
    /// phone number (`JANTA_REQUIRE_VERIFIED_CONTACT`); `None` follows the
    /// mode: see [`SubgraphConfig::requires_verified_contact`].
    pub require_verified_contact: Option<bool>,
    /// Payments: GST TCS withheld from vendor settlements, basis points (50 = 0.5 %).
    pub tcs_bps: u32,
    /// Payments: income-tax TDS withheld from vendor settlements, basis points (10 = 0.1 %).
    pub tds_bps: u32,
    /// SMTP server for e-mail notifications, `smtp://[user:password@]host[:port]`
    /// (notifications only). None: dev mode writes e-mails to `outbox_dir`;
    /// production refuses to start. Holds credentials: never log it.
    pub smtp_url: Option<Secret>,
    /// Sender of notification e-mails, e.g. `Janta <no-reply@janta.example>`.
    pub email_from: String,
    /// HTTP endpoint of the SMS provider (notifications only). None: dev
    /// mode writes messages to `outbox_dir`; production sends no SMS.
    pub sms_url: Option<String>,
    /// API key for the SMS provider. Never log it.
    pub sms_api_key: Option<Secret>,
    /// Where dev mode writes e-mails (`email/`) and SMS (`sms/`) instead of
    /// sending them; default `{data_dir}/outbox`.
    pub outbox_dir: PathBuf,
    /// Key sealing partner webhook signing secrets at rest (notifications
    /// only): base64 of 32 bytes. Production refuses the dev one. Never log it.
    pub webhook_encryption_key: Secret,
    /// Dev and tests only: let partner webhooks reach loopback, private and
    /// link-local addresses (a receiver on this machine). Production refuses
    /// to start with it.
    pub webhook_allow_private_nets: bool,
    /// Proxies whose `X-Forwarded-For` names the client (besides loopback):
    /// the router's hosts when it runs elsewhere. Throttling and the audit
    /// trail see the client's address only through them.
    pub trusted_proxies: crate::server::TrustedProxies,
    /// Request rates per client for requests sent straight to this
    /// subgraph (`JANTA_RATE_LIMIT_PER_MINUTE`, `JANTA_RATE_LIMIT_BURST`,
    /// `JANTA_PARTNER_RATE_LIMIT_PER_MINUTE`, `JANTA_PARTNER_RATE_LIMIT_BURST`),
    /// the same as the router's.
    pub client_limits: crate::rate_limit::ClientLimits,
    /// The most a document may cost (`JANTA_MAX_QUERY_COST`, see
    /// [`crate::query_cost`]), the same as the router's.
    pub max_query_cost: u64,
    /// Bearer token `GET /metrics` demands (`JANTA_METRICS_TOKEN`); see
    /// [`SubgraphConfig::metrics_access`]. Production refuses a token
    /// shorter than [`MIN_METRICS_TOKEN_LEN`]. Never log it.
    pub metrics_token: Option<Secret>,
    /// Catalog: how long a stock reservation holds stock before it expires.
    pub reservation_ttl: Duration,
    /// Catalog: how often the sweeper looks for expired reservations.
    pub reservation_sweep_interval: Duration,
    /// Catalog: `StockLow` fires when a listing's sellable stock falls below this.
    pub stock_low_threshold: i64,
    /// Catalog: how often expired batches' packs are moved to quarantine.
    pub expiry_sweep_interval: Duration,
    /// Catalog: the platform minimum of shelf life left at sale, in days (a
    /// listing may demand more, never less).
    pub min_shelf_life_days: i64,
    /// Orders: how long an order waits for its online payment before it is
    /// cancelled and its stock released.
    pub order_payment_window: Duration,
    /// Orders: how often the sweeper looks for expired orders, owed calls
    /// and abandoned checkouts.
    pub order_sweep_interval: Duration,
    /// Users: how often the drug licence sweeper suspends vendors whose
    /// licence expired and reinstates renewed ones.
    pub licence_sweep_interval: Duration,
    /// Notifications: attempts per round before a retryable delivery failure
    /// is dead-lettered.
    pub delivery_max_attempts: u32,
    /// Notifications: the wait before the first retry (it doubles after each).
    pub delivery_backoff: Duration,
    /// Notifications: the longest wait between retries.
    pub delivery_backoff_max: Duration,
    /// Every subgraph: how many times its event consumer tries to handle one
    /// event (and to run the handler's after-commit work) before giving up:
    /// the event is then parked for an admin to replay or discard
    /// (`JANTA_CONSUMER_MAX_ATTEMPTS`). Lower it to see parking quickly (tests,
    /// a trial); raise it to ride out longer outages of a database or peer.
    pub consumer_max_attempts: u32,
}

/// The signed-link secret of dev mode; production refuses it.
pub const DEV_URL_SIGNING_SECRET: &str = "janta-dev-url-signing-secret";
/// Shortest signed-link secret production accepts.
pub const MIN_URL_SIGNING_SECRET_LEN: usize = 32;
/// Shortest `/metrics` bearer token production accepts.
pub const MIN_METRICS_TOKEN_LEN: usize = 32;
/// Default prescription validity policy: 30 days from issue.
pub const DEFAULT_PRESCRIPTION_VALIDITY_DAYS: u32 = 30;

/// The payment webhook secret of dev mode; production refuses it.
pub const DEV_WEBHOOK_SECRET: &str = "janta-dev-webhook-secret";
/// Shortest payment webhook secret production accepts.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// The webhook secret sealing key of dev mode (base64 of 32 bytes);
/// production refuses it.
pub const DEV_WEBHOOK_ENCRYPTION_KEY: &str = "amFudGEtZGV2LXdlYmhvb2stc2VjcmV0LWtleS0zMmI=";

/// Default [`SubgraphConfig::reservation_ttl`]: 15 minutes.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(15 * 60);
/// Default [`SubgraphConfig::reservation_sweep_interval`]: 30 seconds.
pub const DEFAULT_RESERVATION_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Default [`SubgraphConfig::stock_low_threshold`].
pub const DEFAULT_STOCK_LOW_THRESHOLD: i64 = 10;
/// Default [`SubgraphConfig::expiry_sweep_interval`]: ten minutes (batches
/// expire at midnight in India and are unsellable from then on; the sweep
/// only moves their packs to quarantine).
pub const DEFAULT_EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Default [`SubgraphConfig::min_shelf_life_days`]: 30 days.
pub const DEFAULT_MIN_SHELF_LIFE_DAYS: i64 = 30;
/// Default [`SubgraphConfig::order_payment_window`]: 14 minutes, shorter than
/// catalog's 15-minute stock hold, so an unpaid order is cancelled (and its
/// stock released) before the hold could lapse under it.
pub const DEFAULT_ORDER_PAYMENT_WINDOW: Duration = Duration::from_secs(14 * 60);
/// Default [`SubgraphConfig::order_sweep_interval`]: 15 seconds.
pub const DEFAULT_ORDER_SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// Default [`SubgraphConfig::licence_sweep_interval`]: 10 minutes.
pub const DEFAULT_LICENCE_SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Default [`SubgraphConfig::delivery_max_attempts`].
pub const DEFAULT_DELIVERY_MAX_ATTEMPTS: u32 = 5;
/// Default [`SubgraphConfig::delivery_backoff`]: 5 seconds.
pub const DEFAULT_DELIVERY_BACKOFF: Duration = Duration::from_secs(5);
/// Default [`SubgraphConfig::delivery_backoff_max`]: 15 minutes.
pub const DEFAULT_DELIVERY_BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Default [`SubgraphConfig::consumer_max_attempts`]: five tries, about a
/// minute of back-off, before an event is parked.
pub const DEFAULT_CONSUMER_MAX_ATTEMPTS: u32 = 5;

/// Default [`SubgraphConfig::events_namespace`].
pub const DEFAULT_EVENTS_NAMESPACE: &str = "janta";

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
    nats_url: Option<Secret>,
    metrics_token: Option<Secret>,
    events_namespace: Option<String>,
    service_client_secret: Option<Secret>,
    #[serde(default)]
    service_clients: BTreeMap<String, Secret>,
    service_secret_overlap_secs: Option<u64>,
    token_url: Option<String>,
    url_signing_secret: Option<Secret>,
    prescription_validity_days: Option<u32>,
    webhook_secret: Option<Secret>,
    payment_gateway: Option<PaymentGateway>,
    razorpay_key_id: Option<String>,
    razorpay_key_secret: Option<Secret>,
    razorpay_base_url: Option<String>,
    reconcile_after_secs: Option<u64>,
    reconcile_interval_secs: Option<u64>,
    return_window_days: Option<u64>,
    require_verified_contact: Option<bool>,
    tcs_bps: Option<u64>,
    tds_bps: Option<u64>,
    smtp_url: Option<Secret>,
    email_from: Option<String>,
    sms_url: Option<String>,
    sms_api_key: Option<Secret>,
    outbox_dir: Option<PathBuf>,
    webhook_encryption_key: Option<Secret>,
    webhook_allow_private_nets: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    #[serde(default)]
    peers: BTreeMap<String, String>,
    reservation_ttl_secs: Option<u64>,
    reservation_sweep_secs: Option<u64>,
    stock_low_threshold: Option<i64>,
    expiry_sweep_secs: Option<u64>,
    min_shelf_life_days: Option<u64>,
    order_payment_window_minutes: Option<u64>,
    order_sweep_seconds: Option<u64>,
    licence_sweep_secs: Option<u64>,
    delivery_max_attempts: Option<u32>,
    delivery_backoff_ms: Option<u64>,
    delivery_backoff_max_ms: Option<u64>,
    consumer_max_attempts: Option<u32>,
}

/// Keys that only one subgraph reads: a file may set them at the top level
/// or in that subgraph's section, and another subgraph's section naming one
/// is an error (it would silently do nothing there).
const DOMAIN_KEYS: [(&str, &str); 34] = [
    ("signing_key_file", "users"),
    ("service_clients", "users"),
    ("service_secret_overlap_secs", "users"),
    ("prescription_validity_days", "prescriptions"),
    ("url_signing_secret", "prescriptions"),
    ("webhook_secret", "payments"),
    ("payment_gateway", "payments"),
    ("razorpay_key_id", "payments"),
    ("razorpay_key_secret", "payments"),
    ("razorpay_base_url", "payments"),
    ("reconcile_after_secs", "payments"),
    ("reconcile_interval_secs", "payments"),
    ("return_window_days", "orders"),
    ("require_verified_contact", "orders"),
    ("tcs_bps", "payments"),
    ("tds_bps", "payments"),
    ("smtp_url", "notifications"),
    ("sms_url", "notifications"),
    ("sms_api_key", "notifications"),
    ("email_from", "notifications"),
    ("outbox_dir", "notifications"),
    ("webhook_encryption_key", "notifications"),
    ("webhook_allow_private_nets", "notifications"),
    ("reservation_ttl_secs", "catalog"),
    ("reservation_sweep_secs", "catalog"),
    ("stock_low_threshold", "catalog"),
    ("expiry_sweep_secs", "catalog"),
    ("min_shelf_life_days", "catalog"),
    ("order_payment_window_minutes", "orders"),
    ("order_sweep_seconds", "orders"),
    ("licence_sweep_secs", "users"),
    ("delivery_max_attempts", "notifications"),
    ("delivery_backoff_ms", "notifications"),
    ("delivery_backoff_max_ms", "notifications"),
];

/// The settings file for `domain`: the top-level (common) keys, overridden
/// by the keys of its `[<domain>]` section; the other subgraphs' sections
/// are checked (unknown or misplaced keys are errors) and otherwise ignored.
fn file_for(domain: &str, text: &str) -> anyhow::Result<FileConfig> {
    let mut common: toml::Table = toml::from_str(text)?;
    let mut own = toml::Table::new();
    for section in DOMAINS {
        let Some(value) = common.remove(section) else {
            continue;
        };
        let toml::Value::Table(table) = value else {
            anyhow::bail!("[{section}] must be a table of settings");
        };
        check_section(section, &table)?;
        if section == domain {
            own = table;
        }
    }
    for (key, value) in own {
        match (common.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(over)) => base.extend(over),
            (_, value) => {
                common.insert(key, value);
            }
        }
    }
    Ok(FileConfig::deserialize(common)?)
}

/// Refuses a `[section]` with unknown keys, nested subgraph sections, or
/// keys another subgraph owns.
fn check_section(section: &str, table: &toml::Table) -> anyhow::Result<()> {
    for key in table.keys() {
        anyhow::ensure!(
            !DOMAINS.contains(&key.as_str()),
            "[{section}] cannot hold a [{key}] section"
        );
        if let Some((_, owner)) = DOMAIN_KEYS.iter().find(|(k, _)| k == key) {
            anyhow::ensure!(
                owner == &section,
                "[{section}] has {key}, a setting of {owner}: move it to [{owner}]"
            );
        }
    }
    FileConfig::deserialize(table.clone()).with_context(|| format!("in [{section}]"))?;
    Ok(())
}

/// Token issuer name shared by users (signing) and every verifier.
pub const DEFAULT_ISSUER: &str = "janta";
/// Token audience shared by users (signing) and every verifier.
pub const DEFAULT_AUDIENCE: &str = "janta-api";

impl SubgraphConfig {
    /// Who may read `/metrics`: with a token, its bearers; without one,
    /// anyone in dev (loopback) and nobody in production, where the
    /// prescriptions and payments ports also serve clients (upload and
    /// checkout links, gateway webhooks).
    pub fn metrics_access(&self) -> crate::metrics::MetricsAccess {
        use crate::metrics::MetricsAccess;
        match (&self.metrics_token, self.mode) {
            (Some(token), _) => MetricsAccess::Token(token.clone()),
            (None, Mode::Production) => MetricsAccess::Off,
            (None, Mode::Dev) => MetricsAccess::Open,
        }
    }

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
            service_client_secret: dev_service_client_secret(domain),
            service_clients: DOMAINS
                .iter()
                .map(|d| (d.to_string(), dev_service_client_secret(d)))
                .collect(),
            service_secret_overlap: DEFAULT_SERVICE_SECRET_OVERLAP,
            token_url: None,
            url_signing_secret: Secret::new(DEV_URL_SIGNING_SECRET),
            prescription_validity_days: DEFAULT_PRESCRIPTION_VALIDITY_DAYS,
            webhook_secret: Secret::new(DEV_WEBHOOK_SECRET),
            payment_gateway: PaymentGateway::Sandbox,
            razorpay: RazorpaySettings {
                key_id: DEV_RAZORPAY_KEY_ID.to_string(),
                key_secret: Secret::new(DEV_RAZORPAY_KEY_SECRET),
                base_url: RAZORPAY_BASE_URL.to_string(),
            },
            reconcile_after: DEFAULT_RECONCILE_AFTER,
            reconcile_interval: DEFAULT_RECONCILE_INTERVAL,
            return_window_days: DEFAULT_RETURN_WINDOW_DAYS,
            require_verified_contact: None,
            tcs_bps: DEFAULT_TCS_BPS,
            tds_bps: DEFAULT_TDS_BPS,
            smtp_url: None,
            email_from: DEFAULT_EMAIL_FROM.to_string(),
            sms_url: None,
            sms_api_key: None,
            outbox_dir: data_dir.join("outbox"),
            webhook_encryption_key: Secret::new(DEV_WEBHOOK_ENCRYPTION_KEY),
            webhook_allow_private_nets: false,
            trusted_proxies: crate::server::TrustedProxies::default(),
            client_limits: crate::rate_limit::ClientLimits::default(),
            max_query_cost: crate::query_cost::DEFAULT_MAX_QUERY_COST,
            metrics_token: None,
            reservation_ttl: DEFAULT_RESERVATION_TTL,
            reservation_sweep_interval: DEFAULT_RESERVATION_SWEEP_INTERVAL,
            stock_low_threshold: DEFAULT_STOCK_LOW_THRESHOLD,
            expiry_sweep_interval: DEFAULT_EXPIRY_SWEEP_INTERVAL,
            min_shelf_life_days: DEFAULT_MIN_SHELF_LIFE_DAYS,
            order_payment_window: DEFAULT_ORDER_PAYMENT_WINDOW,
            order_sweep_interval: DEFAULT_ORDER_SWEEP_INTERVAL,
            licence_sweep_interval: DEFAULT_LICENCE_SWEEP_INTERVAL,
            delivery_max_attempts: DEFAULT_DELIVERY_MAX_ATTEMPTS,
            delivery_backoff: DEFAULT_DELIVERY_BACKOFF,
            delivery_backoff_max: DEFAULT_DELIVERY_BACKOFF_MAX,
            consumer_max_attempts: DEFAULT_CONSUMER_MAX_ATTEMPTS,
            peers: DOMAINS
                .iter()
                .map(|d| {
                    let url = format!("http://127.0.0.1:{}/graphql", subgraph_port(router_port, d));
                    (d.to_string(), url)
                })
                .collect(),
        }
    }

    /// Where this subgraph obtains service tokens: `token_url` when set,
    /// else the users peer URL with its `/graphql` replaced by `/oauth/token`.
    pub fn service_token_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        let users = self.peer_url("users")?.trim_end_matches('/');
        let base = users.strip_suffix("/graphql").unwrap_or(users);
        Ok(format!("{base}/oauth/token"))
    }

    /// Production refuses service client secrets that are missing, the
    /// development ones, or weak (see [`check_service_secret`]): this
    /// subgraph's own, and on users every service client's.
    pub fn check_service_clients(&self) -> anyhow::Result<()> {
        check_service_secret(&self.service_client_secret)
            .context("JANTA_SERVICE_CLIENT_SECRET (service_client_secret)")?;
        if self.domain == "users" {
            for domain in DOMAINS {
                let var = service_client_env(domain);
                let secret = self.service_clients.get(domain).with_context(|| {
                    format!("service client {domain} has no secret: set {var} ([service_clients] {domain})")
                })?;
                check_service_secret(secret)
                    .with_context(|| format!("{var} ([service_clients] {domain})"))?;
            }
        }
        Ok(())
    }

    /// The GraphQL URL of subgraph `domain`.
    pub fn peer_url(&self, domain: &str) -> anyhow::Result<&str> {
        self.peers
            .get(domain)
            .map(String::as_str)
            .with_context(|| format!("no URL configured for subgraph {domain}"))
    }

    /// Production refuses the sandbox payment gateway (anyone holding a
    /// checkout link could confirm an order without paying) and Razorpay
    /// with the development keys or no keys.
    pub fn check_payment_gateway(&self) -> anyhow::Result<()> {
        if self.mode != Mode::Production {
            return Ok(());
        }
        anyhow::ensure!(
            self.payment_gateway != PaymentGateway::Sandbox,
            "production mode refuses the sandbox payment gateway (it confirms payments nobody \
             made): set JANTA_PAYMENT_GATEWAY (payment_gateway) to a real gateway, or to \
             \"none\" for cash on delivery only"
        );
        if self.payment_gateway == PaymentGateway::Razorpay {
            let keys = &self.razorpay;
            anyhow::ensure!(
                keys.key_id != DEV_RAZORPAY_KEY_ID
                    && keys.key_id.starts_with("rzp_")
                    && keys.key_secret.expose() != DEV_RAZORPAY_KEY_SECRET
                    && !keys.key_secret.expose().is_empty(),
                "production mode needs Razorpay keys: set JANTA_RAZORPAY_KEY_ID and \
                 JANTA_RAZORPAY_KEY_SECRET (razorpay_key_id, razorpay_key_secret) to your account's"
            );
        }
        Ok(())
    }

    /// Orders: whether placing an order needs a verified e-mail address or
    /// phone number: as configured, else on in production and off in dev
    /// (so the demo and tests can order without a verification step).
    pub fn requires_verified_contact(&self) -> bool {
        self.require_verified_contact
            .unwrap_or(self.mode == Mode::Production)
    }

    /// The key sealing webhook secrets, decoded; it must be 32 bytes.
    pub fn webhook_encryption_key_bytes(&self) -> anyhow::Result<[u8; 32]> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.webhook_encryption_key.expose().trim())
            .context("JANTA_WEBHOOK_ENCRYPTION_KEY must be base64")?;
        bytes.try_into().map_err(|_| {
            anyhow::anyhow!("JANTA_WEBHOOK_ENCRYPTION_KEY must be base64 of exactly 32 bytes")
        })
    }

    /// Partner webhook settings a process may run with: a 32-byte sealing
    /// key; in production not the dev key, and no private targets.
    pub fn check_webhook_settings(&self) -> anyhow::Result<()> {
        self.webhook_encryption_key_bytes()?;
        if self.mode == Mode::Production {
            anyhow::ensure!(
                self.webhook_encryption_key.expose().trim() != DEV_WEBHOOK_ENCRYPTION_KEY,
                "production mode needs JANTA_WEBHOOK_ENCRYPTION_KEY (not the development one)"
            );
            anyhow::ensure!(
                !self.webhook_allow_private_nets,
                "JANTA_WEBHOOK_ALLOW_PRIVATE_NETS is for dev and tests only; production refuses it"
            );
        }
        Ok(())
    }

    /// `janta dev`'s configuration of `domain`: the dev defaults next to a
    /// router on `router_port` with data under `data_dir`, plus the
    /// environment's settings that subgraphs do not share — the payment
    /// gateway and its keys, timings and windows — so the one-process
    /// platform can run with, say, a Razorpay test account. Shared settings
    /// (ports, databases, mode, secrets of the others) stay dev's.
    pub fn dev_with_env(domain: &str, router_port: u16, data_dir: &Path) -> anyhow::Result<Self> {
        let env = overlay_env(FileConfig::default())?;
        let mut config = Self::dev(domain, router_port, data_dir);
        apply_tuning(&mut config, &env)?;
        apply_gateway(&mut config, &env);
        // Lets `janta dev` (and the end-to-end tests) deliver webhooks to
        // receivers on this machine; production refuses the setting.
        if let Some(allow) = env.webhook_allow_private_nets {
            config.webhook_allow_private_nets = allow;
        }
        Ok(config)
    }

    /// Dev defaults, then `file` (TOML), then environment variables:
    /// `DATABASE_URL`, `JANTA_LISTEN`, `JANTA_MODE`, `JANTA_JWKS_URL`,
    /// `JANTA_JWT_ISSUER`, `JANTA_JWT_AUDIENCE`, `JANTA_PUBLIC_URL`,
    /// `JANTA_DATA_DIR`, `JANTA_SIGNING_KEY_FILE`, `JANTA_NATS_URL`,
    /// `JANTA_EVENTS_NAMESPACE`, `JANTA_METRICS_TOKEN`,
    /// `JANTA_URL_SIGNING_SECRET`,
    /// `JANTA_PRESCRIPTION_VALIDITY_DAYS`, `JANTA_WEBHOOK_SECRET`,
    /// `JANTA_PAYMENT_GATEWAY` (`sandbox`/`none`),
    /// `JANTA_SMTP_URL`, `JANTA_EMAIL_FROM`, `JANTA_SMS_URL`, `JANTA_SMS_API_KEY`,
    /// `JANTA_SERVICE_CLIENT_SECRET`, `JANTA_SERVICE_CLIENT_SECRET_<DOMAIN>`
    /// (users: one per service client), `JANTA_SERVICE_SECRET_OVERLAP_SECS`,
    /// `JANTA_TOKEN_URL`,
    /// `JANTA_OUTBOX_DIR`, `JANTA_WEBHOOK_ENCRYPTION_KEY`,
    /// `JANTA_WEBHOOK_ALLOW_PRIVATE_NETS` (`true`/`false`),
    /// `JANTA_REQUIRE_VERIFIED_CONTACT` (`true`/`false`),
    /// `JANTA_RESERVATION_TTL_SECS`, `JANTA_RESERVATION_SWEEP_SECS`,
    /// `JANTA_STOCK_LOW_THRESHOLD`, `JANTA_EXPIRY_SWEEP_SECS`,
    /// `JANTA_MIN_SHELF_LIFE_DAYS`, `JANTA_ORDER_PAYMENT_WINDOW_MINUTES`,
    /// `JANTA_ORDER_SWEEP_SECONDS`, `JANTA_LICENCE_SWEEP_SECS`, `JANTA_DELIVERY_MAX_ATTEMPTS`,
    /// `JANTA_DELIVERY_BACKOFF_MS`, `JANTA_DELIVERY_BACKOFF_MAX_MS`,
    /// `JANTA_CONSUMER_MAX_ATTEMPTS`, and
    /// `JANTA_<DOMAIN>_URL` for each peer subgraph. Each key of the file
    /// (the environment variable's name in lower case, without `JANTA_`)
    /// may sit at the top level, for every subgraph, or in a `[<domain>]`
    /// section, for that subgraph only.
    pub fn load(domain: &str, file: Option<&Path>) -> anyhow::Result<Self> {
        let file_config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                file_for(domain, &text)
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
        apply_tuning(&mut config, &merged)?;
        if merged.mode == Some(Mode::Production) {
            config.payment_gateway = PaymentGateway::None;
        }
        apply_gateway(&mut config, &merged);
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
        config.metrics_token = merged.metrics_token;
        if config.mode == Mode::Production
            && config
                .metrics_token
                .as_ref()
                .is_some_and(|t| t.expose().len() < MIN_METRICS_TOKEN_LEN)
        {
            anyhow::bail!(
                "JANTA_METRICS_TOKEN must have {MIN_METRICS_TOKEN_LEN}+ characters in production (or be unset: /metrics is then off)"
            );
        }
        if let Some(v) = merged.events_namespace {
            anyhow::ensure!(
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "JANTA_EVENTS_NAMESPACE / events_namespace may hold only letters, digits and _"
            );
            config.events_namespace = v;
        }
        apply_service_clients(
            &mut config,
            merged.service_client_secret,
            merged.service_clients,
        )?;
        if let Some(seconds) = merged.service_secret_overlap_secs {
            config.service_secret_overlap = Duration::from_secs(seconds);
        }
        config.token_url = merged.token_url;
        if let Some(v) = merged.url_signing_secret {
            config.url_signing_secret = v;
        }
        if domain == "payments" {
            config.check_payment_gateway()?;
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
        if let Some(v) = merged.webhook_encryption_key {
            config.webhook_encryption_key = v;
        }
        if let Some(v) = merged.webhook_allow_private_nets {
            config.webhook_allow_private_nets = v;
        }
        if let Some(v) = &merged.trusted_proxies {
            config.trusted_proxies =
                crate::server::TrustedProxies::parse(v.iter().map(String::as_str))
                    .context("JANTA_TRUSTED_PROXIES / trusted_proxies")?;
        }
        if domain == "notifications" {
            config.check_webhook_settings()?;
        }
        if config.mode == Mode::Production
            && domain == "payments"
            && (config.webhook_secret.expose() == DEV_WEBHOOK_SECRET
                || config.webhook_secret.expose().len() < MIN_WEBHOOK_SECRET_LEN)
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
            && (config.url_signing_secret.expose() == DEV_URL_SIGNING_SECRET
                || config.url_signing_secret.expose().len() < MIN_URL_SIGNING_SECRET_LEN)
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
        ("JANTA_EVENTS_NAMESPACE", &mut c.events_namespace),
        ("JANTA_TOKEN_URL", &mut c.token_url),
        ("JANTA_EMAIL_FROM", &mut c.email_from),
        ("JANTA_SMS_URL", &mut c.sms_url),
        ("JANTA_RAZORPAY_KEY_ID", &mut c.razorpay_key_id),
        ("JANTA_RAZORPAY_BASE_URL", &mut c.razorpay_base_url),
    ];
    for (name, slot) in strings {
        if let Some(v) = var(name) {
            *slot = Some(v);
        }
    }
    let secrets = [
        ("JANTA_NATS_URL", &mut c.nats_url),
        ("JANTA_METRICS_TOKEN", &mut c.metrics_token),
        ("JANTA_URL_SIGNING_SECRET", &mut c.url_signing_secret),
        ("JANTA_WEBHOOK_SECRET", &mut c.webhook_secret),
        ("JANTA_SMTP_URL", &mut c.smtp_url),
        ("JANTA_SMS_API_KEY", &mut c.sms_api_key),
        ("JANTA_RAZORPAY_KEY_SECRET", &mut c.razorpay_key_secret),
        (
            "JANTA_WEBHOOK_ENCRYPTION_KEY",
            &mut c.webhook_encryption_key,
        ),
    ];
    for (name, slot) in secrets {
        if let Some(v) = var(name) {
            *slot = Some(Secret::new(v));
        }
    }
    let whole_numbers = [
        ("JANTA_RESERVATION_TTL_SECS", &mut c.reservation_ttl_secs),
        (
            "JANTA_RESERVATION_SWEEP_SECS",
            &mut c.reservation_sweep_secs,
        ),
        ("JANTA_EXPIRY_SWEEP_SECS", &mut c.expiry_sweep_secs),
        ("JANTA_MIN_SHELF_LIFE_DAYS", &mut c.min_shelf_life_days),
        (
            "JANTA_ORDER_PAYMENT_WINDOW_MINUTES",
            &mut c.order_payment_window_minutes,
        ),
        ("JANTA_ORDER_SWEEP_SECONDS", &mut c.order_sweep_seconds),
        ("JANTA_LICENCE_SWEEP_SECS", &mut c.licence_sweep_secs),
        ("JANTA_RECONCILE_AFTER_SECS", &mut c.reconcile_after_secs),
        (
            "JANTA_RECONCILE_INTERVAL_SECS",
            &mut c.reconcile_interval_secs,
        ),
        ("JANTA_RETURN_WINDOW_DAYS", &mut c.return_window_days),
        ("JANTA_TCS_BPS", &mut c.tcs_bps),
        ("JANTA_TDS_BPS", &mut c.tds_bps),
        ("JANTA_DELIVERY_BACKOFF_MS", &mut c.delivery_backoff_ms),
        (
            "JANTA_DELIVERY_BACKOFF_MAX_MS",
            &mut c.delivery_backoff_max_ms,
        ),
    ];
    for (name, slot) in whole_numbers {
        if let Some(v) = var(name) {
            *slot = Some(
                v.parse()
                    .with_context(|| format!("{name} must be a whole number"))?,
            );
        }
    }
    if let Some(v) = var("JANTA_STOCK_LOW_THRESHOLD") {
        c.stock_low_threshold = Some(
            v.parse()
                .context("JANTA_STOCK_LOW_THRESHOLD must be a whole number")?,
        );
    }
    if let Some(v) = var("JANTA_DELIVERY_MAX_ATTEMPTS") {
        c.delivery_max_attempts = Some(
            v.parse()
                .context("JANTA_DELIVERY_MAX_ATTEMPTS must be a whole number")?,
        );
    }
    if let Some(v) = var("JANTA_CONSUMER_MAX_ATTEMPTS") {
        c.consumer_max_attempts = Some(
            v.parse()
                .context("JANTA_CONSUMER_MAX_ATTEMPTS must be a whole number")?,
        );
    }
    if let Some(v) = var("JANTA_SERVICE_CLIENT_SECRET") {
        c.service_client_secret = Some(Secret::new(v));
    }
    for domain in DOMAINS {
        if let Some(v) = var(&service_client_env(domain)) {
            c.service_clients.insert(domain.to_string(), Secret::new(v));
        }
    }
    if let Some(v) = var("JANTA_SERVICE_SECRET_OVERLAP_SECS") {
        c.service_secret_overlap_secs = Some(
            v.parse()
                .context("JANTA_SERVICE_SECRET_OVERLAP_SECS must be a number of seconds")?,
        );
    }
    if let Some(v) = var("JANTA_PAYMENT_GATEWAY") {
        c.payment_gateway = Some(match v.as_str() {
            "sandbox" => PaymentGateway::Sandbox,
            "none" => PaymentGateway::None,
            "razorpay" => PaymentGateway::Razorpay,
            _ => anyhow::bail!("JANTA_PAYMENT_GATEWAY must be sandbox, razorpay or none"),
        });
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
    if let Some(v) = var("JANTA_TRUSTED_PROXIES") {
        c.trusted_proxies = Some(v.split(',').map(str::to_string).collect());
    }
    if let Some(v) = var("JANTA_REQUIRE_VERIFIED_CONTACT") {
        c.require_verified_contact = Some(
            v.parse()
                .context("JANTA_REQUIRE_VERIFIED_CONTACT must be true or false")?,
        );
    }
    if let Some(v) = var("JANTA_WEBHOOK_ALLOW_PRIVATE_NETS") {
        c.webhook_allow_private_nets = Some(
            v.parse()
                .context("JANTA_WEBHOOK_ALLOW_PRIVATE_NETS must be true or false")?,
        );
    }
    if let Some(v) = var("JANTA_PRESCRIPTION_VALIDITY_DAYS") {
        c.prescription_validity_days = Some(
            v.parse()
                .context("JANTA_PRESCRIPTION_VALIDITY_DAYS must be a number of days")?,
        );
    }
    Ok(c)
}

/// `value` (named by its environment variable and file key) when it lies in
/// `range`, else a start-up error.
fn in_range(names: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> anyhow::Result<u64> {
    anyhow::ensure!(
        range.contains(&value),
        "{names} must be between {} and {}",
        range.start(),
        range.end()
    );
    Ok(value)
}

/// Applies the payment gateway settings: which gateway, its keys, the
/// webhook secret.
fn apply_gateway(config: &mut SubgraphConfig, merged: &FileConfig) {
    if let Some(v) = merged.webhook_secret.clone() {
        config.webhook_secret = v;
    }
    if let Some(gateway) = merged.payment_gateway {
        config.payment_gateway = gateway;
    }
    if let Some(v) = merged.razorpay_key_id.clone() {
        config.razorpay.key_id = v;
    }
    if let Some(v) = merged.razorpay_key_secret.clone() {
        config.razorpay.key_secret = v;
    }
    if let Some(v) = &merged.razorpay_base_url {
        config.razorpay.base_url = v.trim_end_matches('/').to_string();
    }
}

/// Applies the catalog, orders and notifications timing settings, each
/// checked against its sane range.
fn apply_tuning(config: &mut SubgraphConfig, merged: &FileConfig) -> anyhow::Result<()> {
    let secs = Duration::from_secs;
    config.client_limits = crate::rate_limit::ClientLimits::from_env()?;
    config.max_query_cost = crate::query_cost::max_query_cost_from_env();
    if let Some(v) = merged.reservation_ttl_secs {
        let names = "JANTA_RESERVATION_TTL_SECS / reservation_ttl_secs";
        config.reservation_ttl = secs(in_range(names, v, 1..=86_400)?);
    }
    if let Some(v) = merged.reservation_sweep_secs {
        let names = "JANTA_RESERVATION_SWEEP_SECS / reservation_sweep_secs";
        config.reservation_sweep_interval = secs(in_range(names, v, 1..=3_600)?);
    }
    if let Some(v) = merged.stock_low_threshold {
        config.stock_low_threshold = v;
    }
    if let Some(v) = merged.expiry_sweep_secs {
        let names = "JANTA_EXPIRY_SWEEP_SECS / expiry_sweep_secs";
        config.expiry_sweep_interval = secs(in_range(names, v, 1..=86_400)?);
    }
    if let Some(v) = merged.min_shelf_life_days {
        let names = "JANTA_MIN_SHELF_LIFE_DAYS / min_shelf_life_days";
        config.min_shelf_life_days = in_range(names, v, 1..=365)? as i64;
    }
    if let Some(v) = merged.order_payment_window_minutes {
        let names = "JANTA_ORDER_PAYMENT_WINDOW_MINUTES / order_payment_window_minutes";
        config.order_payment_window = secs(60 * in_range(names, v, 1..=24 * 60)?);
    }
    if let Some(v) = merged.order_sweep_seconds {
        let names = "JANTA_ORDER_SWEEP_SECONDS / order_sweep_seconds";
        config.order_sweep_interval = secs(in_range(names, v, 1..=3_600)?);
    }
    if let Some(v) = merged.licence_sweep_secs {
        let names = "JANTA_LICENCE_SWEEP_SECS / licence_sweep_secs";
        config.licence_sweep_interval = secs(in_range(names, v, 1..=86_400)?);
    }
    if let Some(v) = merged.reconcile_after_secs {
        let names = "JANTA_RECONCILE_AFTER_SECS / reconcile_after_secs";
        config.reconcile_after = secs(in_range(names, v, 1..=7 * 86_400)?);
    }
    if let Some(v) = merged.reconcile_interval_secs {
        let names = "JANTA_RECONCILE_INTERVAL_SECS / reconcile_interval_secs";
        config.reconcile_interval = secs(in_range(names, v, 1..=3_600)?);
    }
    if let Some(v) = merged.return_window_days {
        let names = "JANTA_RETURN_WINDOW_DAYS / return_window_days";
        config.return_window_days = in_range(names, v, 0..=365)? as u32;
    }
    if let Some(v) = merged.require_verified_contact {
        config.require_verified_contact = Some(v);
    }
    if let Some(v) = merged.tcs_bps {
        config.tcs_bps = in_range("JANTA_TCS_BPS / tcs_bps", v, 0..=10_000)? as u32;
    }
    if let Some(v) = merged.tds_bps {
        config.tds_bps = in_range("JANTA_TDS_BPS / tds_bps", v, 0..=10_000)? as u32;
    }
    if let Some(v) = merged.delivery_max_attempts {
        let names = "JANTA_DELIVERY_MAX_ATTEMPTS / delivery_max_attempts";
        config.delivery_max_attempts = in_range(names, v.into(), 1..=50)? as u32;
    }
    let millis = Duration::from_millis;
    if let Some(v) = merged.delivery_backoff_ms {
        let names = "JANTA_DELIVERY_BACKOFF_MS / delivery_backoff_ms";
        config.delivery_backoff = millis(in_range(names, v, 1..=86_400_000)?);
    }
    if let Some(v) = merged.delivery_backoff_max_ms {
        let names = "JANTA_DELIVERY_BACKOFF_MAX_MS / delivery_backoff_max_ms";
        config.delivery_backoff_max = millis(in_range(names, v, 1..=86_400_000)?);
    }
    config.delivery_backoff_max = config.delivery_backoff_max.max(config.delivery_backoff);
    if let Some(v) = merged.consumer_max_attempts {
        let names = "JANTA_CONSUMER_MAX_ATTEMPTS / consumer_max_attempts";
        config.consumer_max_attempts = in_range(names, v.into(), 1..=100)? as u32;
    }
    Ok(())
}

/// A secret from configuration. Its `Debug` is redacted, so logging a
/// configuration (or an error holding one) never prints it; code that needs
/// the value asks for it with [`Secret::expose`].
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh secret as production expects one: 32 random bytes, base64url
    /// without padding (43 characters). For operators and tests.
    pub fn generate() -> Self {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The secret itself; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How every development secret of service clients begins; production
/// refuses any secret starting like this.
pub const DEV_SERVICE_CLIENT_SECRET_PREFIX: &str = "janta-dev-service-client-";

/// The dev-mode secret of service client `domain` (public knowledge).
pub fn dev_service_client_secret(domain: &str) -> Secret {
    Secret(format!("{DEV_SERVICE_CLIENT_SECRET_PREFIX}{domain}"))
}

/// Default [`SubgraphConfig::service_secret_overlap`]: one hour.
pub const DEFAULT_SERVICE_SECRET_OVERLAP: Duration = Duration::from_secs(3600);

/// Shortest service client secret production accepts: 32 random bytes
/// written in base64url take 43 characters.
pub const MIN_SERVICE_SECRET_LEN: usize = 43;

/// Fewest different characters a production service client secret must
/// use. Random base64url or hex of that length nearly always has 15 or
/// more; repeated or counting patterns ("aaaa…", "0123…0123…") have fewer.
pub const MIN_SERVICE_SECRET_DISTINCT_CHARS: usize = 12;

/// The rule for service client secrets in production, standing in for "at
/// least 32 bytes of entropy": present, not a development secret, at least
/// [`MIN_SERVICE_SECRET_LEN`] characters and at least
/// [`MIN_SERVICE_SECRET_DISTINCT_CHARS`] different ones. [`Secret::generate`]
/// (or `openssl rand -base64 32`) makes one.
pub fn check_service_secret(secret: &Secret) -> anyhow::Result<()> {
    let value = secret.expose();
    anyhow::ensure!(!value.is_empty(), "no secret is configured");
    anyhow::ensure!(
        !value.starts_with(DEV_SERVICE_CLIENT_SECRET_PREFIX),
        "the development secret is refused in production"
    );
    anyhow::ensure!(
        value.chars().count() >= MIN_SERVICE_SECRET_LEN,
        "the secret is too short: use at least {MIN_SERVICE_SECRET_LEN} characters (32 random bytes, base64url)"
    );
    let distinct = value.chars().collect::<BTreeSet<_>>().len();
    anyhow::ensure!(
        distinct >= MIN_SERVICE_SECRET_DISTINCT_CHARS,
        "the secret is too regular ({distinct} different characters; at least {MIN_SERVICE_SECRET_DISTINCT_CHARS}): generate a random one"
    );
    Ok(())
}

/// The environment variable holding service client `domain`'s secret on users.
fn service_client_env(domain: &str) -> String {
    format!("JANTA_SERVICE_CLIENT_SECRET_{}", domain.to_uppercase())
}

/// Applies the configured service client secrets. Production starts from
/// none (development secrets exist only in dev mode) and checks the result.
fn apply_service_clients(
    config: &mut SubgraphConfig,
    own: Option<Secret>,
    clients: BTreeMap<String, Secret>,
) -> anyhow::Result<()> {
    if config.mode == Mode::Production {
        config.service_client_secret = Secret::new("");
        config.service_clients.clear();
    }
    if let Some(secret) = own {
        config.service_client_secret = secret;
    }
    for (domain, secret) in clients {
        anyhow::ensure!(
            DOMAINS.contains(&domain.as_str()),
            "[service_clients] has unknown service {domain:?} (known: {})",
            DOMAINS.join(", ")
        );
        config.service_clients.insert(domain, secret);
    }
    if config.mode == Mode::Production {
        config.check_service_clients()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service client secret production accepts (43 characters, varied).
    const STRONG_SERVICE_SECRET: &str = "pT4u-Xq9LzR2vN7kW0sYhB3cJ8mF5gD1aE6iO_lKqZw";

    /// A production users config file with `own` as its own secret and
    /// `clients` as the `[service_clients]` table.
    fn production_users(
        own: Option<&str>,
        clients: &[(&str, &str)],
    ) -> anyhow::Result<SubgraphConfig> {
        let dir =
            std::env::temp_dir().join(format!("janta-cfg-sc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.toml");
        let mut text = "mode = \"production\"\n".to_string();
        if let Some(own) = own {
            text.push_str(&format!("service_client_secret = \"{own}\"\n"));
        }
        text.push_str("[service_clients]\n");
        for (domain, secret) in clients {
            text.push_str(&format!("{domain} = \"{secret}\"\n"));
        }
        std::fs::write(&path, text).unwrap();
        let loaded = SubgraphConfig::load("users", Some(&path));
        let _ = std::fs::remove_dir_all(&dir);
        loaded
    }

    /// `generated` without orders, plus `orders` if given.
    fn clients_but_orders<'a>(
        generated: &'a [(&'static str, String)],
        orders: Option<&'static str>,
    ) -> Vec<(&'a str, &'a str)> {
        generated
            .iter()
            .filter(|(d, _)| *d != "orders")
            .map(|(d, s)| (*d, s.as_str()))
            .chain(orders.map(|o| ("orders", o)))
            .collect()
    }

    #[test]
    fn production_refuses_missing_development_and_weak_service_client_secrets() {
        let generated: Vec<(&str, String)> = DOMAINS
            .iter()
            .map(|d| (*d, Secret::generate().expose().to_string()))
            .collect();
        let with_orders = |orders: Option<&'static str>| clients_but_orders(&generated, orders);
        let own = Some(STRONG_SERVICE_SECRET);
        let refusals = [
            (own, with_orders(None), "JANTA_SERVICE_CLIENT_SECRET_ORDERS"),
            (
                own,
                with_orders(Some("janta-dev-service-client-orders")),
                "development secret",
            ),
            (own, with_orders(Some("x")), "too short"),
            (
                own,
                with_orders(Some("Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1")),
                "too regular",
            ),
            (
                None,
                with_orders(Some(STRONG_SERVICE_SECRET)),
                "JANTA_SERVICE_CLIENT_SECRET",
            ),
            (
                Some("janta-dev-service-client-users"),
                with_orders(Some(STRONG_SERVICE_SECRET)),
                "development secret",
            ),
        ];
        for (own, clients, expected) in refusals {
            let err = production_users(own, &clients).expect_err(expected);
            assert!(format!("{err:#}").contains(expected), "{expected}: {err:#}");
        }
        let mut unknown = with_orders(Some(STRONG_SERVICE_SECRET));
        unknown.push(("mallory", STRONG_SERVICE_SECRET));
        let err = production_users(own, &unknown).unwrap_err();
        assert!(format!("{err:#}").contains("mallory"), "{err:#}");

        let config = production_users(own, &with_orders(Some(STRONG_SERVICE_SECRET))).unwrap();
        assert_eq!(
            config.service_clients["orders"].expose(),
            STRONG_SERVICE_SECRET
        );
        let printed = format!("{config:?}");
        assert!(
            !printed.contains(STRONG_SERVICE_SECRET),
            "a secret leaked into Debug output"
        );
        assert!(
            !printed.contains(&generated[0].1),
            "a secret leaked into Debug output"
        );
    }

    #[test]
    fn dev_service_clients_have_their_own_secrets_and_find_the_token_endpoint() {
        let mut config = SubgraphConfig::dev("orders", 4000, Path::new("/tmp/janta"));
        assert_eq!(
            config.service_client_secret.expose(),
            "janta-dev-service-client-orders"
        );
        assert_eq!(config.service_clients.len(), DOMAINS.len());
        assert_eq!(
            config.service_token_url().unwrap(),
            "http://127.0.0.1:4001/oauth/token"
        );
        config.token_url = Some("https://id.janta.example/oauth/token".into());
        assert_eq!(
            config.service_token_url().unwrap(),
            "https://id.janta.example/oauth/token"
        );
        assert!(check_service_secret(&config.service_client_secret).is_err());
        let generated = Secret::generate();
        assert_eq!(generated.expose().len(), MIN_SERVICE_SECRET_LEN);
        check_service_secret(&generated).unwrap();
    }

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
    fn production_serves_metrics_only_with_a_strong_token() {
        use crate::metrics::MetricsAccess;
        let dir = std::env::temp_dir().join(format!("janta-cfg-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let base =
            format!("mode = \"production\"\nservice_client_secret = \"{STRONG_SERVICE_SECRET}\"\n");
        std::fs::write(&path, &base).unwrap();
        let config = SubgraphConfig::load("orders", Some(&path)).unwrap();
        assert!(matches!(config.metrics_access(), MetricsAccess::Off));
        std::fs::write(&path, format!("{base}metrics_token = \"short\"\n")).unwrap();
        let err = SubgraphConfig::load("orders", Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("JANTA_METRICS_TOKEN"),
            "{err:#}"
        );
        let strong = "0123456789abcdef0123456789abcdef-metrics";
        std::fs::write(&path, format!("{base}metrics_token = \"{strong}\"\n")).unwrap();
        let config = SubgraphConfig::load("orders", Some(&path)).unwrap();
        assert!(matches!(config.metrics_access(), MetricsAccess::Token(t) if t.expose() == strong));
        let dev = SubgraphConfig::dev("orders", 4000, &dir);
        assert!(matches!(dev.metrics_access(), MetricsAccess::Open));
    }

    #[test]
    fn production_payments_refuse_the_dev_webhook_secret() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-wh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let base = format!(
            "mode = \"production\"\nservice_client_secret = \"{STRONG_SERVICE_SECRET}\"\nurl_signing_secret = \"{strong}\"\n"
        );
        std::fs::write(&path, &base).unwrap();
        let err = SubgraphConfig::load("payments", Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("JANTA_WEBHOOK_SECRET"),
            "{err:#}"
        );
        std::fs::write(&path, format!("{base}webhook_secret = \"{strong}\"\n")).unwrap();
        let config = SubgraphConfig::load("payments", Some(&path)).unwrap();
        assert_eq!(config.webhook_secret.expose(), strong);
    }

    #[test]
    fn production_razorpay_needs_real_keys_and_the_payments_section_sets_them() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-rzp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let base = format!(
            "mode = \"production\"\nservice_client_secret = \"{STRONG_SERVICE_SECRET}\"\nwebhook_secret = \"{strong}\"\n[payments]\npayment_gateway = \"razorpay\"\nreconcile_after_secs = 120\n"
        );
        std::fs::write(&path, &base).unwrap();
        let err = SubgraphConfig::load("payments", Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("Razorpay keys"), "{err:#}");
        let keys = format!(
            "razorpay_key_id = \"rzp_live_Abc123\"\nrazorpay_key_secret = \"{strong}\"\nrazorpay_base_url = \"http://127.0.0.1:9/\"\n"
        );
        std::fs::write(&path, format!("{base}{keys}")).unwrap();
        let config = SubgraphConfig::load("payments", Some(&path)).unwrap();
        assert_eq!(config.payment_gateway, PaymentGateway::Razorpay);
        assert_eq!(config.razorpay.key_id, "rzp_live_Abc123");
        assert_eq!(config.razorpay.base_url, "http://127.0.0.1:9");
        assert_eq!(config.reconcile_after, Duration::from_secs(120));
        assert!(
            !format!("{config:?}").contains(strong),
            "a secret leaked into Debug output"
        );
    }

    #[test]
    fn production_payments_refuse_the_sandbox_gateway() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let base = format!(
            "mode = \"production\"\nservice_client_secret = \"{STRONG_SERVICE_SECRET}\"\nwebhook_secret = \"{strong}\"\n"
        );
        std::fs::write(&path, format!("{base}payment_gateway = \"sandbox\"\n")).unwrap();
        let err = SubgraphConfig::load("payments", Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("sandbox"), "{err:#}");

        std::fs::write(&path, &base).unwrap();
        let config = SubgraphConfig::load("payments", Some(&path)).unwrap();
        assert_eq!(config.payment_gateway, PaymentGateway::None);

        let mut built = SubgraphConfig::dev("payments", 4000, &dir);
        assert_eq!(built.payment_gateway, PaymentGateway::Sandbox);
        built.check_payment_gateway().unwrap();
        built.mode = Mode::Production;
        assert!(built.check_payment_gateway().is_err());
    }

    #[test]
    fn notification_channels_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mail.toml");
        std::fs::write(&path, "data_dir = \"/srv/janta\"\n").unwrap();
        let config = SubgraphConfig::load("notifications", Some(&path)).unwrap();
        assert_eq!(config.outbox_dir, PathBuf::from("/srv/janta/outbox"));
        assert!(config.smtp_url.is_none());
        assert_eq!(config.email_from, DEFAULT_EMAIL_FROM);
        std::fs::write(
            &path,
            "smtp_url = \"smtp://relay:25\"\nemail_from = \"Janta <n@j.in>\"\n\
             sms_url = \"http://sms.local/send\"\noutbox_dir = \"/tmp/out\"\n",
        )
        .unwrap();
        let config = SubgraphConfig::load("notifications", Some(&path)).unwrap();
        assert_eq!(
            config.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://relay:25")
        );
        assert_eq!(config.email_from, "Janta <n@j.in>");
        assert_eq!(config.sms_url.as_deref(), Some("http://sms.local/send"));
        assert_eq!(config.outbox_dir, PathBuf::from("/tmp/out"));
    }

    #[test]
    fn production_notifications_refuse_the_dev_sealing_key_and_private_targets() {
        let dir = std::env::temp_dir().join(format!("janta-cfg-whk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        let key = "q6m3oE0z1rJx8mYb2kqE0VwQ4y9tN7aP3cD5fG6hJ8k=";
        let base =
            format!("mode = \"production\"\nservice_client_secret = \"{STRONG_SERVICE_SECRET}\"\n");
        std::fs::write(&path, &base).unwrap();
        let err = SubgraphConfig::load("notifications", Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("JANTA_WEBHOOK_ENCRYPTION_KEY"),
            "{err:#}"
        );
        let keyed = format!("{base}webhook_encryption_key = \"{key}\"\n");
        std::fs::write(&path, format!("{keyed}webhook_allow_private_nets = true\n")).unwrap();
        let err = SubgraphConfig::load("notifications", Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("JANTA_WEBHOOK_ALLOW_PRIVATE_NETS"),
            "{err:#}"
        );
        std::fs::write(&path, &keyed).unwrap();
        let config = SubgraphConfig::load("notifications", Some(&path)).unwrap();
        assert_eq!(config.webhook_encryption_key_bytes().unwrap().len(), 32);
        std::fs::write(&path, "webhook_encryption_key = \"c2hvcnQ=\"\n").unwrap();
        let err = SubgraphConfig::load("notifications", Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"), "{err:#}");
    }

    /// Writes `text` to a fresh config file and loads `domain` from it.
    fn load_text(domain: &str, text: &str) -> anyhow::Result<SubgraphConfig> {
        let dir = std::env::temp_dir().join(format!("janta-cfg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("janta.toml");
        std::fs::write(&path, text).unwrap();
        let loaded = SubgraphConfig::load(domain, Some(&path));
        let _ = std::fs::remove_dir_all(&dir);
        loaded
    }

    #[test]
    fn debug_output_prints_no_secret() {
        let mut config = SubgraphConfig::dev("users", 4000, Path::new("/tmp/janta"));
        let secrets = [
            "SECRET-url-signing",
            "SECRET-webhook",
            "SECRET-sms-api-key",
            "smtp://mailer:SECRET-smtp-password@relay:25",
            "nats://janta:SECRET-nats-password@nats:4222",
            "SECRET-webhook-encryption-key",
            "SECRET-own-service-client",
            "SECRET-orders-service-client",
        ];
        config.url_signing_secret = Secret::new(secrets[0]);
        config.webhook_secret = Secret::new(secrets[1]);
        config.sms_api_key = Some(Secret::new(secrets[2]));
        config.smtp_url = Some(Secret::new(secrets[3]));
        config.nats_url = Some(Secret::new(secrets[4]));
        config.webhook_encryption_key = Secret::new(secrets[5]);
        config.service_client_secret = Secret::new(secrets[6]);
        config
            .service_clients
            .insert("orders".into(), Secret::new(secrets[7]));
        let printed = format!("{config:?}");
        assert!(printed.contains("Secret(<redacted>)"), "{printed}");
        assert!(
            !printed.contains("SECRET"),
            "a secret leaked into Debug output: {printed}"
        );
    }

    #[test]
    fn a_subgraph_section_applies_to_that_subgraph_only() {
        let text = "database_url = \"sqlite://common.db\"\n\
                    [catalog]\n\
                    reservation_ttl_secs = 120\n\
                    stock_low_threshold = 3\n\
                    [orders]\n\
                    database_url = \"sqlite://orders.db\"\n\
                    order_payment_window_minutes = 5\n\
                    [orders.peers]\n\
                    catalog = \"http://catalog.internal/graphql\"\n\
                    [notifications]\n\
                    delivery_max_attempts = 2\n";
        let catalog = load_text("catalog", text).unwrap();
        assert_eq!(catalog.reservation_ttl, Duration::from_secs(120));
        assert_eq!(catalog.stock_low_threshold, 3);
        assert_eq!(catalog.database_url, "sqlite://common.db");
        assert_eq!(catalog.order_payment_window, DEFAULT_ORDER_PAYMENT_WINDOW);
        assert_eq!(catalog.delivery_max_attempts, DEFAULT_DELIVERY_MAX_ATTEMPTS);

        let orders = load_text("orders", text).unwrap();
        assert_eq!(orders.database_url, "sqlite://orders.db");
        assert_eq!(orders.order_payment_window, Duration::from_secs(5 * 60));
        assert_eq!(orders.reservation_ttl, DEFAULT_RESERVATION_TTL);
        assert_eq!(orders.stock_low_threshold, DEFAULT_STOCK_LOW_THRESHOLD);
        assert_eq!(
            orders.peer_url("catalog").unwrap(),
            "http://catalog.internal/graphql"
        );
        assert_eq!(
            orders.peer_url("users").unwrap(),
            "http://127.0.0.1:4001/graphql"
        );
        assert_eq!(
            catalog.peer_url("catalog").unwrap(),
            "http://127.0.0.1:4002/graphql"
        );

        let notifications = load_text("notifications", text).unwrap();
        assert_eq!(notifications.delivery_max_attempts, 2);
        assert_eq!(notifications.database_url, "sqlite://common.db");
    }

    #[test]
    fn sections_refuse_unknown_misplaced_and_out_of_range_keys() {
        let refusals = [
            (
                "[catalog]\nreservation_tll_secs = 5\n",
                "reservation_tll_secs",
            ),
            (
                "[orders]\nreservation_ttl_secs = 5\n",
                "move it to [catalog]",
            ),
            ("[users]\n[users.catalog]\n", "cannot hold a [catalog]"),
            ("[catalgo]\nstock_low_threshold = 1\n", "catalgo"),
            ("catalog = 3\n", "must be a table"),
            (
                "[catalog]\nreservation_ttl_secs = 0\n",
                "between 1 and 86400",
            ),
        ];
        for (text, expected) in refusals {
            let err = load_text("catalog", text).expect_err(expected);
            assert!(format!("{err:#}").contains(expected), "{expected}: {err:#}");
        }
    }

    /// Every subgraph runs a consumer, so its attempts are a common key:
    /// the top level applies to all, a section to its subgraph, 0 is refused.
    #[test]
    fn consumer_attempts_are_set_for_all_or_one_subgraph() {
        let text = "consumer_max_attempts = 3\n[payments]\nconsumer_max_attempts = 8\n";
        assert_eq!(load_text("orders", text).unwrap().consumer_max_attempts, 3);
        assert_eq!(
            load_text("payments", text).unwrap().consumer_max_attempts,
            8
        );
        assert_eq!(
            load_text("orders", "").unwrap().consumer_max_attempts,
            DEFAULT_CONSUMER_MAX_ATTEMPTS
        );
        let err = load_text("orders", "consumer_max_attempts = 0\n").expect_err("0 attempts");
        assert!(format!("{err:#}").contains("between 1 and 100"), "{err:#}");
    }

    #[test]
    fn ports_follow_the_router() {
        assert_eq!(subgraph_port(4000, "users"), 4001);
        assert_eq!(subgraph_port(5000, "notifications"), 5006);
    }
}
