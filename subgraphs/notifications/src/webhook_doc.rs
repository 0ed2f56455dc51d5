//! Renders `docs/webhooks.md`, the partners' webhook reference, from the
//! code it documents so that the two cannot drift apart: payload fields and
//! their descriptions from the event types (`janta_events::doc`), example
//! bodies built by [`webhook_body`] from real payload values, the worked
//! signature computed by [`webhook_signature`], the retry schedule from the
//! default [`DeliverySettings`], and who receives what from the rules in
//! [`crate::domain`]. `tests/webhook_doc.rs` fails when the committed file
//! differs from this rendering (`JANTA_BLESS=1` rewrites it).

use crate::domain::{webhook_signature, NEVER_GRANTED, VENDOR_WEBHOOK_EVENTS};
use crate::service::delivery::DeliverySettings;
use crate::service::notify::webhook_body;
use crate::service::webhooks::MAX_SUBSCRIPTIONS;
use janta_events::doc::{enum_value, examples, type_docs, TypeDoc};
use janta_events::types::ALL_EVENTS;
use janta_events::Envelope;
use std::fmt::Write as _;
use std::time::Duration;

/// The secret of the worked signature example (not a real one).
pub const EXAMPLE_SECRET: &str =
    "whsec_5f2c8e1a9b7d4c3e6f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcd";
/// The `Janta-Timestamp` of the worked example.
pub const EXAMPLE_TIMESTAMP: i64 = 1_764_493_500;

const INTRO: &str = "# Webhooks

<!-- Generated from the code by subgraphs/notifications/src/webhook_doc.rs; do not edit.
     Regenerate: JANTA_BLESS=1 cargo test -p janta-notifications --test webhook_doc -->

Janta tells your systems what happened by POSTing each event to an HTTPS
endpoint of yours, signed with a secret only you and Janta know. This page
is generated from the code that sends them (payload types, signing, retry
rules), so it describes exactly what arrives.

## Subscribing

```graphql
mutation CreateWebhookSubscription($url: String!, $eventTypes: [WebhookEventType!]) {
  createWebhookSubscription(url: $url, eventTypes: $eventTypes) {
    secret
    subscription { id url eventTypes active createdAt }
  }
}
```

```json
{ \"url\": \"https://partner.example/janta/webhooks\", \"eventTypes\": [\"ORDER_CONFIRMED\", \"ORDER_STATUS_CHANGED\"] }
```

- Event types are the GraphQL enum `WebhookEventType`: the value is the
  event's name in SCREAMING_SNAKE_CASE (`ORDER_CONFIRMED`), while deliveries
  carry the name itself (`OrderConfirmed`) in `type` and `Janta-Event-Type`.
  The older `events: [String!]` argument (names) still works; give one of
  the two.
- **The `secret` is in this answer only** (Janta stores it encrypted). Keep
  it in your secret store: it verifies every delivery.
- The URL must be `https` in production, carry no credentials, and resolve
  to public addresses only (checked when subscribing and again at every
  connection). Redirects are not followed.
";

/// Renders the whole reference.
pub fn render() -> String {
    let settings = DeliverySettings::default();
    let docs = type_docs();
    let examples = examples();
    let mut out = String::from(INTRO);
    who_receives(&mut out);
    what_is_sent(&mut out, &examples);
    signatures(&mut out, &examples);
    retries(&mut out, &settings);
    delivery_log(&mut out);
    event_index(&mut out);
    for example in &examples {
        event_section(&mut out, example, &docs);
    }
    nested_types(&mut out, &docs, &examples);
    out
}

fn who_receives(out: &mut String) {
    let vendor: Vec<String> = VENDOR_WEBHOOK_EVENTS
        .iter()
        .map(|t| format!("`{}`", enum_value(t)))
        .collect();
    let vendor = vendor.join(", ");
    let never: Vec<String> = NEVER_GRANTED
        .iter()
        .map(|t| format!("`{}`", enum_value(t)))
        .collect();
    let never = never.join(", ");
    let _ = write!(
        out,
        "
Who may subscribe, and what each subscription receives (checked when
subscribing and again for every event):

| subscriber | may subscribe to | receives |
|---|---|---|
| platform admin | every type | every event of its types |
| vendor admin (its pharmacy's integration) | {vendor} | only events whose `data.vendorId` is its pharmacy |
| partner app (its token needs the scope `webhooks:manage`) | the types a platform admin granted it (`grantWebhookEventTypes`; never {never}) | every event of its types while the grant lasts |

A subscriber has at most {MAX_SUBSCRIPTIONS} active subscriptions.
`deactivateWebhookSubscription(id)` stops one, queued retries included.
A partner app's token subject (`partner:<client ID>`) is its identity here:
grants name it, and it sees only the subscriptions it created.
"
    );
}

fn what_is_sent(out: &mut String, examples: &[Envelope]) {
    let sample = examples
        .iter()
        .find(|e| e.event_type == "OrderConfirmed")
        .unwrap_or(&examples[0]);
    let body = serde_json::to_string_pretty(&sorted(&webhook_body(sample))).unwrap_or_default();
    let _ = write!(
        out,
        "
## What is sent

One `POST` per event and subscription, `Content-Type: application/json`:

```json
{body}
```

| body field | meaning |
|---|---|
| `id` | the event ID (UUIDv7): the same in every retry and replay, and for every subscription that receives the event |
| `type` | the event type name, e.g. `OrderConfirmed` |
| `version` | the payload version of that type (`1` for every type today): a field is added without a new version, never renamed or removed |
| `occurredAt` | when the change happened (RFC 3339, UTC) |
| `aggregateType` | what it is about: `order`, `payment`, `prescription`, `listing`, `user`, `vendor`, `settlement` |
| `aggregateId` | the ID of that thing; events about one thing are published in order |
| `data` | the payload of the type, below |

Read payloads tolerantly: ignore fields you do not know. Money is integer
paise (`…Paise`, ₹1 = 100 paise), dates `YYYY-MM-DD`, IDs strings.
Payloads carry no e-mail addresses, phone numbers or street addresses.

| header | value |
|---|---|
| `Janta-Event-Id` | the body's `id` |
| `Janta-Event-Type` | the body's `type` |
| `Janta-Delivery-Id` | this delivery (one per event and subscription; retries and replays keep it) |
| `Janta-Timestamp` | when this attempt was signed (Unix seconds) |
| `Janta-Signature` | `v1=` and the signature of this attempt |
"
    );
}

/// `value` with every object's keys in alphabetical order. Key order in a
/// JSON object carries no meaning, and serde_json keeps insertion order or
/// sorts depending on which crates a build links (its `preserve_order`
/// feature), so the document fixes one order to be the same in every build.
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for key in keys {
                out.insert(key.clone(), sorted(&map[key]));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted).collect())
        }
        other => other.clone(),
    }
}

fn signatures(out: &mut String, examples: &[Envelope]) {
    let sample = examples
        .iter()
        .find(|e| e.event_type == "VendorVerified")
        .unwrap_or(&examples[0]);
    let body = sorted(&webhook_body(sample)).to_string();
    let signature = webhook_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, &body);
    let _ = write!(
        out,
        "
## Verifying a delivery

`Janta-Signature: v1=<hex>` is the lowercase hex HMAC-SHA256, keyed with
your subscription's secret (the whole string, `whsec_` included, as
UTF-8), of the `Janta-Timestamp` value, a full stop, and the raw request
body exactly as received: `\"{{timestamp}}.{{body}}\"`. To accept a delivery:

1. compute the signature over the raw body (before any JSON parsing) and
   compare it with the header's `v1=` value in constant time;
2. refuse timestamps more than 5 minutes from your clock, so that a
   captured request cannot be replayed later (every attempt is signed
   afresh, so retries pass);
3. de-duplicate on `Janta-Event-Id` (below).

Worked example: secret `{EXAMPLE_SECRET}`,
`Janta-Timestamp: {EXAMPLE_TIMESTAMP}` and the body

```json
{body}
```

give `Janta-Signature: v1={signature}`. Check your code against it:

```sh
printf '%s' '{EXAMPLE_TIMESTAMP}.{body}' \\
  | openssl dgst -sha256 -hmac '{EXAMPLE_SECRET}'
```

Python:

```python
import hashlib, hmac, time

def verify(secret: str, headers, raw_body: bytes, tolerance: int = 300) -> bool:
    timestamp = headers[\"Janta-Timestamp\"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b\".\" + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    given = headers[\"Janta-Signature\"].removeprefix(\"v1=\")
    return hmac.compare_digest(expected, given)
```

Node.js:

```js
const crypto = require(\"node:crypto\");

function verify(secret, headers, rawBody, toleranceSeconds = 300) {{
  const timestamp = headers[\"janta-timestamp\"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = crypto.createHmac(\"sha256\", secret)
    .update(`${{timestamp}}.${{rawBody}}`).digest(\"hex\");
  const given = (headers[\"janta-signature\"] || \"\").replace(/^v1=/, \"\");
  return given.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}}
```
"
    );
}

/// A duration in words: `5 s`, `2 min`, `1 min 20 s`.
fn words(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

fn retries(out: &mut String, settings: &DeliverySettings) {
    let max = settings.max_attempts;
    let waits: Vec<String> = (1..max)
        .map(|n| {
            let base = settings
                .backoff
                .initial
                .saturating_mul(1u32 << (n - 1).min(30))
                .min(settings.backoff.max);
            words(base)
        })
        .collect();
    let _ = write!(
        out,
        "
## Retries and de-duplication

- Answer with any `2xx` within {timeout} to accept. The response body is
  ignored.
- `5xx`, `408`, `429`, timeouts and failed connections are retried: up to
  {max} attempts in all, waiting {waits} between them (doubling from
  {initial}, at most {cap}, each ±20 % at random). After the last one the
  delivery is `DEAD`.
- Any other answer (`4xx`, redirects) fails the delivery for good at once:
  `FAILED`. So is a URL that no longer resolves to a public address.
- A delivery whose subscription was deactivated before it was sent is
  `CANCELLED`.
- **Delivery is at least once.** A timeout after you processed the event, a
  replay, or a restart of Janta can send the same event again. Store the
  `Janta-Event-Id` values you processed and skip repeats. The event ID is
  the same for every subscription that receives the event; `Janta-Delivery-Id`
  tells your subscriptions' copies apart.
- Order is not guaranteed across retries: use `occurredAt` (and the state
  you read back through the API) rather than arrival order.

(These are the platform defaults; an operator may change the attempts and
waits with `JANTA_DELIVERY_MAX_ATTEMPTS`, `JANTA_DELIVERY_BACKOFF_MS` and
`JANTA_DELIVERY_BACKOFF_MAX_MS`.)
",
        timeout = words(settings.send_timeout),
        waits = waits.join(", "),
        initial = words(settings.backoff.initial),
        cap = words(settings.backoff.max),
    );
}

fn delivery_log(out: &mut String) {
    out.push_str(
        "
## Your delivery log, and replaying a delivery

Every delivery and each of its attempts (time, duration, response code,
error) is recorded. A partner app (token scope `webhooks:manage`) sees the
deliveries of the subscriptions it created; a vendor admin those of its
pharmacy's integrations and of the subscriptions it created; platform
admins every delivery. Anyone else's delivery is simply not there.

```graphql
query WebhookDeliveries($status: DeliveryStatus, $subscriptionId: ID, $first: Int, $after: String) {
  deliveries(channel: WEBHOOK, status: $status, subscriptionId: $subscriptionId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id status eventId eventType subscriptionId attempts totalAttempts nextAttemptAt lastResponseCode lastError createdAt deliveredAt attemptLog { attemptNumber startedAt durationMs outcome responseCode error } } }
  }
}
```

Once your endpoint is fixed, send a `FAILED` or `DEAD` delivery again with a
fresh round of attempts. It keeps its event ID and delivery ID, so your
de-duplication still applies; replaying a delivery that is not `FAILED` or
`DEAD` is a `CONFLICT`, and replaying one that is not yours `NOT_FOUND`.

```graphql
mutation ReplayWebhookDelivery($deliveryId: ID!) {
  replayDelivery(deliveryId: $deliveryId) { id status attempts totalAttempts }
}
```
",
    );
}

fn event_index(out: &mut String) {
    out.push_str(
        "
## Event types

| `WebhookEventType` | `type` | published by | about (`aggregateType`) |
|---|---|---|---|
",
    );
    for example in examples() {
        let source = ALL_EVENTS
            .iter()
            .find(|(_, t)| *t == example.event_type)
            .map_or("", |(s, _)| *s);
        let _ = writeln!(
            out,
            "| `{}` | [`{}`](#{}) | {source} | `{}` |",
            enum_value(&example.event_type),
            example.event_type,
            example.event_type.to_lowercase(),
            example.aggregate_type,
        );
    }
}

fn field_table(out: &mut String, doc: &TypeDoc) {
    if doc.is_enum {
        out.push_str("\n| value | meaning |\n|---|---|\n");
        for value in &doc.fields {
            let _ = writeln!(out, "| `{}` | {} |", value.name, value.doc);
        }
        return;
    }
    out.push_str("\n| field | type | meaning |\n|---|---|---|\n");
    for field in &doc.fields {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            field.name, field.json_type, field.doc
        );
    }
}

fn event_section(out: &mut String, example: &Envelope, docs: &[TypeDoc]) {
    let Some(doc) = docs.iter().find(|d| d.name == example.event_type) else {
        return;
    };
    let _ = write!(
        out,
        "\n### {}\n\n`{}` · version {} · about `{}` (`aggregateId` = `data.{}`)\n\n{}\n",
        doc.name,
        enum_value(&doc.name),
        example.version,
        example.aggregate_type,
        aggregate_field(example),
        doc.doc,
    );
    field_table(out, doc);
    let body = serde_json::to_string_pretty(&sorted(&webhook_body(example))).unwrap_or_default();
    let _ = write!(out, "\n```json\n{body}\n```\n");
}

/// The payload field holding the aggregate ID.
fn aggregate_field(example: &Envelope) -> String {
    example
        .payload
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(_, v)| v.as_str() == Some(example.aggregate_id.as_str()))
                .map(|(k, _)| k.clone())
        })
        .unwrap_or_default()
}

fn nested_types(out: &mut String, docs: &[TypeDoc], examples: &[Envelope]) {
    out.push_str("\n## Objects inside payloads\n");
    let inside = inside_subscribable_payloads(docs, examples);
    for doc in docs {
        if examples.iter().any(|e| e.event_type == doc.name) || !inside.contains(&doc.name) {
            continue;
        }
        let _ = write!(out, "\n### {}\n\n{}\n", doc.name, doc.doc);
        field_table(out, doc);
    }
}

/// The names of the types a partner can meet: the events it can subscribe
/// to (`examples`) and every type their fields hold, at any depth. Events
/// kept from partners (a secret, a person's data request) and the types
/// only they use stay out of the document.
fn inside_subscribable_payloads(docs: &[TypeDoc], examples: &[Envelope]) -> Vec<String> {
    let mut found: Vec<String> = examples.iter().map(|e| e.event_type.clone()).collect();
    let mut next = 0;
    while next < found.len() {
        let holder = docs.iter().find(|d| d.name == found[next]);
        for field in holder.map_or(&[][..], |d| &d.fields[..]) {
            for doc in docs {
                let named = format!("`{}`", doc.name);
                if field.json_type.contains(&named) && !found.contains(&doc.name) {
                    found.push(doc.name.clone());
                }
            }
        }
        next += 1;
    }
    found
}
