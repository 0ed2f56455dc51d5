//! The channels a notification leaves by, each behind a small trait so that
//! dev mode writes files where production talks to the network:
//! - e-mail: [`SmtpEmail`] (lettre over SMTP, from `JANTA_SMTP_URL`) or
//!   [`FileEmail`] (`{outbox}/email/<delivery>.eml`, the dev default);
//! - SMS: the [`SmsProvider`] trait, with [`HttpSms`] (a JSON API from
//!   `JANTA_SMS_URL`) or [`FileSms`] (`{outbox}/sms/<delivery>.txt`);
//! - partner webhooks: [`WebhookSender`] (signed HTTP POST, only to public
//!   addresses checked at connect time: see [`crate::target`]);
//! - contact details: [`ContactBook`], fetched from the users subgraph at
//!   delivery time (events carry no e-mail or phone), never logged.
//!
//! Each send reports success with the other side's response code, or a
//! [`Failure`] saying whether retrying may help.

use crate::domain::{classify_http_status, classify_smtp_code, redact, webhook_signature, Failure};
use crate::target::{ip_literal, GuardedResolver, TargetError, TargetPolicy};
use anyhow::Context as _;
use async_trait::async_trait;
use janta_platform::client::ServiceClient;
use janta_platform::config::{Mode, SubgraphConfig};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a successful send reports: the other side's response code, if any.
pub type Sent = Option<i64>;

/// A person's contact details, as the users subgraph holds them.
#[derive(Clone, PartialEq, Eq)]
pub struct Contact {
    /// Login e-mail.
    pub email: Option<String>,
    /// Mobile number (E.164), if given.
    pub phone: Option<String>,
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data never reaches a log through a Debug print.
        f.debug_struct("Contact")
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where delivery finds e-mail addresses and phone numbers.
#[async_trait]
pub trait ContactBook: Send + Sync {
    /// Contact details of `user_ids` (unknown users are absent).
    async fn contacts(&self, user_ids: &[String]) -> anyhow::Result<HashMap<String, Contact>>;
}

/// The users subgraph's `contactForService`, called as the notifications
/// service (the owner's interface; no reading of its store).
pub struct UsersContactBook {
    client: ServiceClient,
}

impl UsersContactBook {
    /// Contacts from the users subgraph configured in `config.peers`.
    pub fn new(config: &SubgraphConfig) -> Self {
        UsersContactBook {
            client: ServiceClient::new(config),
        }
    }
}

const CONTACTS: &str =
    "query($ids: [ID!]!) { contactForService(userIds: $ids) { userId email phone } }";

#[async_trait]
impl ContactBook for UsersContactBook {
    async fn contacts(&self, user_ids: &[String]) -> anyhow::Result<HashMap<String, Contact>> {
        let mut out = HashMap::new();
        for chunk in user_ids.chunks(100) {
            let data = self
                .client
                .call("users", CONTACTS, json!({ "ids": chunk }), None)
                .await
                .map_err(|e| anyhow::anyhow!("users subgraph: {e}"))?;
            for item in data["contactForService"].as_array().into_iter().flatten() {
                let Some(id) = item["userId"].as_str() else {
                    continue;
                };
                out.insert(
                    id.to_string(),
                    Contact {
                        email: item["email"].as_str().map(str::to_string),
                        phone: item["phone"].as_str().map(str::to_string),
                    },
                );
            }
        }
        Ok(out)
    }
}

/// One e-mail to send.
pub struct Email<'a> {
    /// The delivery it belongs to (file name, logs).
    pub delivery_id: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
}

/// Sends e-mail.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one message.
    async fn send(&self, email: &Email<'_>) -> Result<Sent, Failure>;
}

fn build_message(from: &Mailbox, email: &Email<'_>) -> Result<Message, Failure> {
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|_| Failure::permanent("recipient e-mail address is not valid", None))?;
    let body = format!(
        "{}\n\n--\nJanta. Choose which e-mails you get under notification preferences in your account.\n",
        email.body
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| Failure::permanent(format!("cannot build the e-mail: {e}"), None))
}

/// E-mail over SMTP (plain SMTP: point it at a relay; TLS is not compiled in).
pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpEmail {
    /// A sender for `smtp://[user:password@]host[:port]` (port 25 by default)
    /// sending as `from`, giving up on a server after `timeout`.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(url).context("JANTA_SMTP_URL is not a valid URL")?;
        anyhow::ensure!(
            parsed.scheme() == "smtp",
            "JANTA_SMTP_URL must be smtp://[user:password@]host[:port] (TLS is not compiled in)"
        );
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .context("JANTA_SMTP_URL needs a host")?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(parsed.port().unwrap_or(25))
            .timeout(Some(timeout));
        if !parsed.username().is_empty() {
            builder = builder.credentials(Credentials::new(
                percent_decode(parsed.username()),
                percent_decode(parsed.password().unwrap_or("")),
            ));
        }
        Ok(SmtpEmail {
            transport: builder.build(),
            from: parse_from(from)?,
        })
    }
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|_| anyhow::anyhow!("JANTA_EMAIL_FROM is not a valid address"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait]
impl EmailSender for SmtpEmail {
    async fn send(&self, email: &Email<'_>) -> Result<Sent, Failure> {
        let message = build_message(&self.from, email)?;
        match self.transport.send(message).await {
            Ok(response) => Ok(response.code().to_string().parse::<i64>().ok()),
            Err(err) => Err(classify_smtp_error(&err)),
        }
    }
}

fn classify_smtp_error(err: &lettre::transport::smtp::Error) -> Failure {
    let text = redact(&err.to_string());
    if let Some(code) = err.status() {
        let code: u16 = code.to_string().parse().unwrap_or(0);
        return classify_smtp_code(code, &text);
    }
    if err.is_client() {
        return Failure::permanent(format!("SMTP client error: {text}"), None);
    }
    // Timeouts, refused or dropped connections, garbled replies: try again.
    Failure::retryable(format!("SMTP server unreachable: {text}"), None)
}

/// Dev mode: e-mails become `.eml` files under `{outbox}/email/`.
pub struct FileEmail {
    dir: PathBuf,
    from: Mailbox,
}

impl FileEmail {
    /// Writes into `outbox/email`, sending as `from`.
    pub fn new(outbox: &Path, from: &str) -> anyhow::Result<Self> {
        Ok(FileEmail {
            dir: outbox.join("email"),
            from: parse_from(from)?,
        })
    }
}

#[async_trait]
impl EmailSender for FileEmail {
    async fn send(&self, email: &Email<'_>) -> Result<Sent, Failure> {
        let message = build_message(&self.from, email)?;
        write_file(
            &self.dir,
            &format!("{}.eml", email.delivery_id),
            &message.formatted(),
        )
        .await?;
        Ok(None)
    }
}

async fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Result<(), Failure> {
    let fail =
        |e: std::io::Error| Failure::retryable(format!("cannot write the outbox file: {e}"), None);
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, contents).await.map_err(fail)?;
    tokio::fs::rename(&tmp, dir.join(name)).await.map_err(fail)
}

/// Sends text messages: the seam where an SMS gateway plugs in.
#[async_trait]
pub trait SmsProvider: Send + Sync {
    /// Sends `text` to `to` (E.164); `reference` identifies the delivery.
    async fn send(&self, to: &str, text: &str, reference: &str) -> Result<Sent, Failure>;
}

/// Dev mode: messages become `.txt` files under `{outbox}/sms/`.
pub struct FileSms {
    dir: PathBuf,
}

impl FileSms {
    /// Writes into `outbox/sms`.
    pub fn new(outbox: &Path) -> Self {
        FileSms {
            dir: outbox.join("sms"),
        }
    }
}

#[async_trait]
impl SmsProvider for FileSms {
    async fn send(&self, to: &str, text: &str, reference: &str) -> Result<Sent, Failure> {
        let contents = format!("To: {to}\n\n{text}\n");
        write_file(&self.dir, &format!("{reference}.txt"), contents.as_bytes()).await?;
        Ok(None)
    }
}

/// A generic JSON SMS gateway: `POST {url}` with
/// `{"to", "message", "reference"}` and `Authorization: Bearer <key>`.
pub struct HttpSms {
    url: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl HttpSms {
    /// A provider at `url` with an optional API key.
    pub fn new(url: &str, api_key: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        reqwest::Url::parse(url).context("JANTA_SMS_URL is not a valid URL")?;
        Ok(HttpSms {
            url: url.to_string(),
            api_key,
            http: http_client(timeout)?,
        })
    }
}

#[async_trait]
impl SmsProvider for HttpSms {
    async fn send(&self, to: &str, text: &str, reference: &str) -> Result<Sent, Failure> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "to": to, "message": text, "reference": reference }));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(request_failure)?;
        let status = response.status().as_u16();
        classify_http_status(status).map(|()| Some(i64::from(status)))
    }
}

fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect is an answer, not an invitation to post elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")
}

fn request_failure(err: reqwest::Error) -> Failure {
    if err.is_builder() {
        return Failure::permanent(format!("invalid request: {err}"), None);
    }
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    Failure::retryable(format!("{what}: {}", redact(&err.to_string())), None)
}

/// Like [`request_failure`], except that a target the resolver refused
/// fails for good: it will not become public by retrying.
fn webhook_failure(err: reqwest::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<TargetError>() {
            return Failure::permanent(format!("refused: {refused}"), None);
        }
        source = e.source();
    }
    request_failure(err)
}

/// One signed webhook POST.
pub struct WebhookCall<'a> {
    /// Subscription URL.
    pub url: &'a str,
    /// Subscription secret (HMAC key).
    pub secret: &'a str,
    /// The event's ID, for the receiver's de-duplication.
    pub event_id: &'a str,
    /// The event's type.
    pub event_type: &'a str,
    /// The delivery's ID.
    pub delivery_id: &'a str,
    /// JSON body.
    pub body: &'a str,
}

/// Posts events to partner endpoints with headers `Janta-Event-Id`,
/// `Janta-Event-Type`, `Janta-Delivery-Id`, `Janta-Timestamp` (Unix
/// seconds) and `Janta-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
/// Names resolve through the target policy (the connection goes only to
/// addresses that passed it), IP literals are checked before sending, no
/// proxy is used and redirects are not followed.
pub struct WebhookSender {
    http: reqwest::Client,
    policy: TargetPolicy,
}

impl WebhookSender {
    /// A sender reaching only what `policy` permits, giving up on an
    /// endpoint after `timeout`.
    pub fn new(timeout: Duration, policy: TargetPolicy) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf to an unchecked address.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(policy)))
            .build()
            .context("cannot build the webhook HTTP client")?;
        Ok(WebhookSender { http, policy })
    }

    /// The policy it delivers under (subscriptions are checked against the same).
    pub fn policy(&self) -> TargetPolicy {
        self.policy
    }

    /// Sends one call; 2xx is success. A refused target fails for good.
    pub async fn send(&self, call: &WebhookCall<'_>) -> Result<Sent, Failure> {
        let url = reqwest::Url::parse(call.url)
            .map_err(|_| Failure::permanent("the subscription URL is not valid", None))?;
        // IP literals never reach the resolver: check them here.
        if let Some(ip) = url.host_str().and_then(ip_literal) {
            let host = url.host_str().unwrap_or_default();
            self.policy
                .check_ip(host, ip)
                .map_err(|e| Failure::permanent(format!("refused: {e}"), None))?;
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = webhook_signature(call.secret, timestamp, call.body);
        let response = self
            .http
            .post(call.url)
            .header("content-type", "application/json")
            .header("janta-event-id", call.event_id)
            .header("janta-event-type", call.event_type)
            .header("janta-delivery-id", call.delivery_id)
            .header("janta-timestamp", timestamp.to_string())
            .header("janta-signature", format!("v1={signature}"))
            .body(call.body.to_string())
            .send()
            .await
            .map_err(webhook_failure)?;
        let status = response.status().as_u16();
        classify_http_status(status).map(|()| Some(i64::from(status)))
    }
}

/// The webhook target policy of `config`: private targets only when dev
/// mode asks for them (production refuses the setting at start-up).
fn webhook_policy(config: &SubgraphConfig) -> TargetPolicy {
    if config.mode == Mode::Dev && config.webhook_allow_private_nets {
        TargetPolicy::allowing_private()
    } else {
        TargetPolicy::public_only()
    }
}

/// Every channel, as configured.
pub struct Channels {
    /// E-mail; `None` when not available (never in practice: production
    /// requires SMTP, dev writes files).
    pub email: Option<Arc<dyn EmailSender>>,
    /// SMS; `None` in production without a provider (no SMS deliveries are made).
    pub sms: Option<Arc<dyn SmsProvider>>,
    /// Partner webhooks.
    pub webhooks: WebhookSender,
    /// Contact details for e-mail and SMS.
    pub contacts: Arc<dyn ContactBook>,
}

impl Channels {
    /// Channels from `config`: SMTP when `smtp_url` is set, else (dev) the
    /// file outbox, else (production) a start-up error; SMS over HTTP when
    /// `sms_url` is set, else (dev) the file outbox, else (production) off.
    pub fn from_config(config: &SubgraphConfig, timeout: Duration) -> anyhow::Result<Self> {
        let email: Arc<dyn EmailSender> = match (&config.smtp_url, config.mode) {
            (Some(url), _) => Arc::new(SmtpEmail::new(url.expose(), &config.email_from, timeout)?),
            (None, Mode::Dev) => Arc::new(FileEmail::new(&config.outbox_dir, &config.email_from)?),
            (None, Mode::Production) => {
                anyhow::bail!("production mode needs JANTA_SMTP_URL for e-mail notifications")
            }
        };
        let sms: Option<Arc<dyn SmsProvider>> = match (&config.sms_url, config.mode) {
            (Some(url), _) => Some(Arc::new(HttpSms::new(
                url,
                config.sms_api_key.as_ref().map(|k| k.expose().to_string()),
                timeout,
            )?)),
            (None, Mode::Dev) => Some(Arc::new(FileSms::new(&config.outbox_dir))),
            (None, Mode::Production) => {
                tracing::warn!("no JANTA_SMS_URL: SMS notifications are off");
                None
            }
        };
        Ok(Channels {
            email: Some(email),
            sms,
            webhooks: WebhookSender::new(timeout, webhook_policy(config))?,
            contacts: Arc::new(UsersContactBook::new(config)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_smtp_url_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fword"), "p@ss/word");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%4"), "end%4");
    }

    #[test]
    fn only_plain_smtp_urls_are_accepted() {
        let t = Duration::from_secs(1);
        assert!(SmtpEmail::new("smtp://127.0.0.1:2525", "Janta <a@b.c>", t).is_ok());
        assert!(SmtpEmail::new("smtps://127.0.0.1", "Janta <a@b.c>", t).is_err());
        assert!(SmtpEmail::new("smtp://127.0.0.1", "not an address", t).is_err());
    }

    #[test]
    fn contacts_do_not_print_personal_data() {
        let c = Contact {
            email: Some("ravi@example.com".into()),
            phone: None,
        };
        assert!(!format!("{c:?}").contains("ravi"));
    }
}
