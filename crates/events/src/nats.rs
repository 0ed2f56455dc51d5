//! The NATS JetStream transport, for subgraphs running as separate processes
//! or replicas. Layout (namespace `janta` by default):
//! - one stream per publishing subgraph: `JANTA_USERS` holding subjects
//!   `janta.users.<EventType>`; file storage, kept 7 days, de-duplicated on
//!   `Nats-Msg-Id` = event ID for 2 minutes (a relay re-sending after a
//!   crash does not store the event twice);
//! - one durable pull consumer per consuming subgraph on each stream it
//!   reads, named after that subgraph: its replicas pull from the same
//!   consumer and so share the work (queue semantics), each event going to
//!   one of them;
//! - explicit acks, sent only after the handler's transaction committed (or
//!   the event was parked); a failure is NAK'd with a delay (redelivered
//!   later, other events keep flowing); redelivery is bounded (`max_deliver`).

use crate::transport::{
    Acker, Deliveries, Delivery, PublishError, Receipt, Subscription, Transport, Undecodable,
};
use crate::Envelope;
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer, stream, AckKind};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a stream keeps events (new consumer groups start from its beginning).
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Window in which JetStream drops a re-sent event with the same ID.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a replica may hold a delivered event before NATS gives it to
/// another (handlers must finish well within this).
pub const ACK_WAIT: Duration = Duration::from_secs(30);
/// Deliveries NATS makes beyond the consumer's own attempt limit, for
/// attempts that never got to ack or NAK (a replica crashing mid-handler).
const EXTRA_DELIVERIES: i64 = 3;

/// A connection to NATS with JetStream, scoped to a namespace.
#[derive(Clone)]
pub struct NatsTransport {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    namespace: String,
    streams: Arc<Mutex<HashSet<String>>>,
}

impl NatsTransport {
    /// Connects to `url` (e.g. `nats://127.0.0.1:4222`). The connection is
    /// made (and remade) in the background, so a subgraph starts even while
    /// NATS is down: its relay backs off and `/ready` reports the bus until
    /// NATS is back. `namespace` prefixes streams and subjects.
    pub async fn connect(url: &str, namespace: &str, client_name: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !namespace.is_empty()
                && namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "the events namespace may hold only letters, digits and _"
        );
        let client = async_nats::ConnectOptions::new()
            .name(client_name)
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .with_context(|| format!("invalid NATS address {}", redact_url(url)))?;
        let jetstream = jetstream::new(client.clone());
        Ok(NatsTransport {
            client,
            jetstream,
            namespace: namespace.to_string(),
            streams: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    /// The stream holding `source`'s events, e.g. `JANTA_USERS`.
    pub fn stream_name(&self, source: &str) -> String {
        format!("{}_{}", self.namespace, source).to_uppercase()
    }

    /// The subject of one event type, e.g. `janta.users.UserRegistered`.
    pub fn subject(&self, source: &str, event_type: &str) -> String {
        format!("{}.{}.{}", self.namespace, source, event_type)
    }

    /// The JetStream context (tests and tooling inspect streams with it).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The underlying client.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Deletes the streams (and so their consumers) of `sources` in this
    /// namespace; for tests and throw-away deployments.
    pub async fn delete_streams(&self, sources: &[&str]) -> anyhow::Result<()> {
        for source in sources {
            let name = self.stream_name(source);
            match self.jetstream.delete_stream(&name).await {
                Ok(_) => {}
                Err(err) if err.to_string().contains("not found") => {}
                Err(err) => return Err(err).with_context(|| format!("deleting stream {name}")),
            }
            self.forget(&name);
        }
        Ok(())
    }

    fn forget(&self, stream: &str) {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(stream);
    }

    async fn ensure_stream(&self, source: &str) -> anyhow::Result<stream::Stream> {
        let name = self.stream_name(source);
        let stream = self
            .jetstream
            .get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![format!("{}.{}.>", self.namespace, source)],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                max_age: STREAM_MAX_AGE,
                duplicate_window: DUPLICATE_WINDOW,
                description: Some(format!("Janta events published by {source}")),
                ..Default::default()
            })
            .await
            .with_context(|| format!("cannot create or open JetStream stream {name}"))?;
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name);
        Ok(stream)
    }

    fn stream_known(&self, source: &str) -> bool {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&self.stream_name(source))
    }
}

#[async_trait]
impl Transport for NatsTransport {
    fn name(&self) -> &'static str {
        "nats"
    }

    async fn publish(&self, source: &str, events: &[Envelope]) -> Result<Receipt, PublishError> {
        if !self.stream_known(source) {
            self.ensure_stream(source)
                .await
                .map_err(PublishError::none)?;
        }
        // Send the whole batch, then collect the acks in order (in the
        // receipt): JetStream stores the messages of one connection in the
        // order they were sent.
        let mut acks = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let body = match serde_json::to_vec(event) {
                Ok(body) => body,
                Err(err) => {
                    return Err(PublishError {
                        delivered: index,
                        error: err.into(),
                    })
                }
            };
            let message = jetstream::message::PublishMessage::build()
                .message_id(&event.id)
                .payload(body.into());
            match self
                .jetstream
                .send_publish(self.subject(source, &event.event_type), message)
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(err) => {
                    // Not sent: the acks already requested may still succeed.
                    return Err(settle_acks(acks, err.into()).await);
                }
            }
        }
        let transport = self.clone();
        let stream = self.stream_name(source);
        Ok(Receipt::new(async move {
            for (index, ack) in acks.into_iter().enumerate() {
                if let Err(err) = ack.await {
                    // The stream may have gone: look it up again next time.
                    transport.forget(&stream);
                    return Err(PublishError {
                        delivered: index,
                        error: err.into(),
                    });
                }
            }
            Ok(())
        }))
    }

    async fn subscribe(&self, subscription: &Subscription) -> anyhow::Result<Box<dyn Deliveries>> {
        let stream = self.ensure_stream(&subscription.source).await?;
        let config = consumer::pull::Config {
            durable_name: Some(subscription.group.clone()),
            description: Some(format!(
                "{} consuming {} events",
                subscription.group, subscription.source
            )),
            filter_subject: format!("{}.{}.>", self.namespace, subscription.source),
            deliver_policy: consumer::DeliverPolicy::All,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: i64::from(subscription.max_attempts) + EXTRA_DELIVERIES,
            max_ack_pending: 1000,
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(&subscription.group, config)
            .await
            .with_context(|| {
                format!(
                    "cannot create or open durable consumer {} on {}",
                    subscription.group,
                    self.stream_name(&subscription.source)
                )
            })?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(subscription.prefetch.max(1))
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .context("cannot pull from the durable consumer")?;
        Ok(Box::new(NatsDeliveries { messages }))
    }

    async fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.client.connection_state() == async_nats::connection::State::Connected,
            "not connected to NATS"
        );
        // The raw account-info request (whose reply shape varies between
        // server versions): any answer without an error means JetStream works.
        let reply = self
            .client
            .request("$JS.API.INFO", Vec::new().into())
            .await
            .context("JetStream is not answering")?;
        let info: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("unreadable JetStream reply")?;
        if let Some(error) = info.get("error") {
            anyhow::bail!("JetStream is not available: {error}");
        }
        Ok(())
    }

    async fn lag(&self, subscription: &Subscription) -> anyhow::Result<Option<u64>> {
        // The raw consumer-info request, read for the two counters only.
        let subject = format!(
            "$JS.API.CONSUMER.INFO.{}.{}",
            self.stream_name(&subscription.source),
            subscription.group
        );
        let reply = self
            .client
            .request(subject, Vec::new().into())
            .await
            .context("JetStream is not answering")?;
        let info: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("unreadable JetStream reply")?;
        if let Some(error) = info.get("error") {
            anyhow::bail!("no durable consumer {}: {error}", subscription.group);
        }
        let counter = |name: &str| info[name].as_u64().unwrap_or(0);
        Ok(Some(counter("num_pending") + counter("num_ack_pending")))
    }
}

/// The acks of messages sent before a send failed: count how many leading
/// ones the server stored.
async fn settle_acks(
    acks: Vec<jetstream::context::PublishAckFuture>,
    error: anyhow::Error,
) -> PublishError {
    let mut delivered = 0;
    for ack in acks {
        if ack.await.is_err() {
            break;
        }
        delivered += 1;
    }
    PublishError { delivered, error }
}

struct NatsDeliveries {
    messages: consumer::pull::Stream,
}

#[async_trait]
impl Deliveries for NatsDeliveries {
    async fn next(&mut self) -> Option<anyhow::Result<Delivery>> {
        let message = match self.messages.next().await? {
            Ok(message) => message,
            Err(err) => return Some(Err(err.into())),
        };
        let attempt = message
            .info()
            .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let (message, acker) = message.split();
        let event =
            serde_json::from_slice::<Envelope>(&message.payload).map_err(|err| Undecodable {
                id: message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_string()),
                raw: String::from_utf8_lossy(&message.payload).into_owned(),
                error: err.to_string(),
            });
        Some(Ok(Delivery {
            event,
            attempt,
            acker: Box::new(NatsAck(acker)),
        }))
    }
}

struct NatsAck(jetstream::message::Acker);

#[async_trait]
impl Acker for NatsAck {
    async fn ack(self: Box<Self>) -> anyhow::Result<()> {
        self.0
            .ack()
            .await
            .map_err(|e| anyhow::anyhow!("ack failed: {e}"))
    }

    async fn retry(self: Box<Self>, delay: Duration) -> anyhow::Result<()> {
        self.0
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| anyhow::anyhow!("nak failed: {e}"))
    }
}

/// `url` with its credentials (`user:password@` or `token@`) replaced by
/// `***`, for logs and error messages: a NATS URL may carry them. Works on
/// a comma-separated list of servers too. Everything up to the last `@` of
/// a server goes, so even an unescaped `/` or `@` in a password is hidden.
pub(crate) fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|server| {
            let (scheme, rest) = match server.split_once("://") {
                Some((scheme, rest)) => (format!("{scheme}://"), rest),
                None => (String::new(), server),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***{}", &rest[at..]),
                None => server.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_are_hidden_and_the_server_kept() {
        for (url, shown) in [
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
            ("nats://janta:pw@nats:4222", "nats://***@nats:4222"),
            ("tls://s3cr3tt0ken@nats.example", "tls://***@nats.example"),
            ("janta:pw@127.0.0.1:4222", "***@127.0.0.1:4222"),
            ("nats://u:p/a@ss@h:4222", "nats://***@h:4222"),
            (
                "nats://a:b@h1:4222,nats://c:d@h2:4222",
                "nats://***@h1:4222,nats://***@h2:4222",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
