//! Demo data for dev mode: the notifications the demo accounts would have
//! received had they signed up through the API (a welcome each, and the
//! Karnataka pharmacy's verification), and the Karnataka pharmacy's order
//! integration: a webhook subscription to an address that never answers,
//! with the verification's delivery failing (then `DEAD`) in its admin's
//! delivery log, ready to replay. Idempotent: fixed IDs and the unique
//! indexes; production never calls it.

use crate::domain::{self, Channel, Planned, WebhookScope};
use crate::secrets::SecretBox;
use crate::service::notify::webhook_body;
use crate::store::{self, NewDelivery, NewNotification, NewSubscription};
use base64::Engine as _;
use janta_events::types::{UserRegistered, VendorVerified};
use janta_events::Envelope;
use janta_platform::config::DEV_WEBHOOK_ENCRYPTION_KEY;
use janta_platform::demo::*;
use janta_platform::scalars::now_db;
use janta_platform::store::Store;

fn demo_event_id(n: u8) -> String {
    format!("019a0000-0000-7000-8000-0000000006{n:02x}")
}

/// Seeds the demo notifications if they are not there yet. Returns whether
/// anything was added.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let people = [
        (ADMIN_ID, "Janta Admin"),
        (CUSTOMER_ID, "Asha Rao"),
        (VENDOR_KA_ADMIN_ID, ""),
        (PHARMACIST_KA_ID, ""),
        (VENDOR_MH_ADMIN_ID, ""),
        (PHARMACIST_MH_ID, ""),
    ];
    let mut planned: Vec<(String, &str, &str, Vec<Planned>)> = Vec::new();
    for (i, (id, name)) in people.iter().enumerate() {
        let event = UserRegistered {
            user_id: id.to_string(),
            full_name: name.to_string(),
        };
        planned.push((
            demo_event_id(i as u8 + 1),
            "UserRegistered",
            id,
            domain::on_user_registered(&event),
        ));
    }
    let verified = VendorVerified {
        vendor_id: VENDOR_KA_ID.to_string(),
    };
    planned.push((
        demo_event_id(0x10),
        "VendorVerified",
        VENDOR_KA_ID,
        domain::on_vendor_verified(&verified),
    ));
    let mut tx = store.begin().await?;
    let now = now_db();
    let mut added = false;
    for (event_id, event_type, subject, notes) in &planned {
        let subject_type = if *event_type == "VendorVerified" {
            "vendor"
        } else {
            "user"
        };
        for p in notes {
            let audience = p.audience.key();
            let inserted = store::insert_notification(
                &mut tx,
                &NewNotification {
                    event_id,
                    event_type,
                    kind: p.kind,
                    audience: &audience,
                    title: &p.title,
                    body: &p.body,
                    subject_type,
                    subject_id: subject,
                    created_at: &now,
                },
            )
            .await?;
            added |= inserted.is_some();
        }
    }
    added |= seed_integration(&mut tx, &now).await?;
    tx.commit().await?;
    Ok(added)
}

/// The KA pharmacy's demo integration (its subscription and the
/// verification's webhook delivery); returns whether it was added.
async fn seed_integration(tx: &mut sqlx::AnyConnection, now: &str) -> anyhow::Result<bool> {
    let id = DEMO_SUBSCRIPTION_ID;
    if store::subscription_by_id(tx, id).await?.is_some() {
        return Ok(false);
    }
    // Dev mode seals with the development key (unless overridden: then the
    // demo delivery fails for want of its secret, visibly).
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(DEV_WEBHOOK_ENCRYPTION_KEY)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the development sealing key is 32 bytes"))?;
    let sealed = SecretBox::new(&key).seal("whsec_demo-ka-integration-development-only", id);
    let events: Vec<String> = [
        "VendorVerified",
        "OrderPlaced",
        "OrderConfirmed",
        "OrderStatusChanged",
        "OrderCancelled",
    ]
    .map(String::from)
    .to_vec();
    let subscription = NewSubscription {
        owner_id: VENDOR_KA_ADMIN_ID,
        scope: &WebhookScope::Vendor(VENDOR_KA_ID.to_string()),
        url: "https://hooks.janta-demo.invalid/ka/orders",
        sealed_secret: &sealed,
        events: &events,
    };
    store::insert_subscription(tx, id, &subscription).await?;
    let verified = Envelope {
        id: demo_event_id(0x10),
        event_type: "VendorVerified".into(),
        version: 1,
        aggregate_type: "vendor".into(),
        aggregate_id: VENDOR_KA_ID.into(),
        occurred_at: now.to_string(),
        actor: ADMIN_ID.into(),
        correlation_id: None,
        payload: serde_json::json!({ "vendorId": VENDOR_KA_ID }),
        traceparent: None,
    };
    let body = webhook_body(&verified).to_string();
    let delivery = NewDelivery {
        event_id: &verified.id,
        event_type: &verified.event_type,
        channel: Channel::Webhook,
        recipient: id,
        notification_id: None,
        subscription_id: Some(id),
        payload: Some(&body),
    };
    store::insert_delivery(tx, &delivery).await?;
    Ok(true)
}

/// The KA pharmacy's demo webhook subscription.
pub const DEMO_SUBSCRIPTION_ID: &str = "019a0000-0000-7000-8000-0000000007a1";
