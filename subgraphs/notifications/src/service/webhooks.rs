//! Partner webhooks: subscribing an endpoint (with a signing secret sealed
//! at rest), deactivating it, and admins' grants of event types to
//! partners. Each change is one transaction with its audit entry.

use crate::domain::{self, may_manage_webhook, WebhookScope};
use crate::secrets::SecretBox;
use crate::service::audit;
use crate::store::{self, NewSubscription, SubscriptionRow};
use crate::target::TargetPolicy;
use janta_platform::auth::Principal;
use janta_platform::ids::new_id;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use rand::RngCore as _;
use serde_json::json;

/// Most active webhook subscriptions per owner.
pub const MAX_SUBSCRIPTIONS: i64 = 20;

/// What creating a subscription needs besides the store.
pub struct Endpoints<'a> {
    /// Seals signing secrets before they are stored.
    pub secrets: &'a SecretBox,
    /// Which addresses a subscription may target.
    pub targets: &'a TargetPolicy,
    /// Production refuses plain-http URLs.
    pub production: bool,
}

/// A fresh signing secret: 32 random bytes, hex, with a recognisable prefix.
fn new_webhook_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", hex::encode(key))
}

/// The event types a new subscription in `scope` may rely on grants for:
/// a partner's grants; nobody else needs any.
async fn grants_for(db: &Store, scope: &WebhookScope, subject: &str) -> ApiResult<Vec<String>> {
    if *scope != WebhookScope::Partner {
        return Ok(vec![]);
    }
    let mut conn = db.pool().acquire().await?;
    Ok(store::granted_event_types(&mut conn, subject).await?)
}

/// Subscribes `url` to `events` for `me`; returns the subscription, its
/// event types and its signing secret (shown only this once).
pub async fn create_subscription(
    db: &Store,
    endpoints: &Endpoints<'_>,
    me: &Principal,
    url: &str,
    events: &[String],
) -> ApiResult<(SubscriptionRow, Vec<String>, String)> {
    let scope = WebhookScope::of(me)?;
    let granted = grants_for(db, &scope, &me.subject).await?;
    let events = domain::check_webhook_events(events, &scope, &granted)?;
    let url = domain::check_webhook_url(url, endpoints.production)?;
    endpoints
        .targets
        .check_url(&url)
        .await
        .map_err(|e| ApiError::bad_input(format!("url {e}")))?;
    if store::count_active_subscriptions(db, &me.subject).await? >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::conflict(format!(
            "at most {MAX_SUBSCRIPTIONS} active subscriptions; deactivate one first"
        )));
    }
    let secret = new_webhook_secret();
    let id = new_id();
    let sealed = endpoints.secrets.seal(&secret, &id);
    let new = NewSubscription {
        owner_id: &me.subject,
        scope: &scope,
        url: &url,
        sealed_secret: &sealed,
        events: &events,
    };
    let mut tx = db.begin().await?;
    let row = store::insert_subscription(&mut tx, &id, &new).await?;
    let after = json!({
        "url": url,
        "events": events,
        "scope": scope.role_db(),
        "vendorId": scope.vendor_id(),
    });
    audit(
        &mut tx,
        &me.subject,
        SUBSCRIPTION,
        &row.id,
        "created",
        after,
    )
    .await?;
    tx.commit().await?;
    Ok((row, events, secret))
}

/// Stops delivering to subscription `id`, queued retries included (its
/// creator, its vendor's admins, or an admin).
pub async fn deactivate_subscription(
    db: &Store,
    me: &Principal,
    id: &str,
) -> ApiResult<SubscriptionRow> {
    let mut tx = db.begin().await?;
    let row = store::subscription_by_id(&mut tx, id)
        .await?
        .filter(|r| may_manage_webhook(me, &r.owner_id, r.vendor_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("webhook subscription"))?;
    let cancelled = store::deactivate_subscription(&mut tx, id).await?;
    let after = json!({ "active": false, "cancelledDeliveries": cancelled });
    audit(&mut tx, &me.subject, SUBSCRIPTION, id, "deactivated", after).await?;
    let row = store::subscription_by_id(&mut tx, id).await?.unwrap_or(row);
    tx.commit().await?;
    Ok(row)
}

/// Grants (or, with `grant` false, revokes) `event_types` for `partner` as
/// `admin`; returns the partner's grants after the change.
pub async fn change_grants(
    db: &Store,
    admin: &Principal,
    partner: &str,
    event_types: &[String],
    grant: bool,
) -> ApiResult<Vec<String>> {
    let types = if grant {
        domain::check_grantable(event_types)?
    } else {
        domain::known_event_types(event_types)?
    };
    let mut tx = db.begin().await?;
    let before = store::granted_event_types(&mut tx, partner).await?;
    if grant {
        store::grant_event_types(&mut tx, partner, &types, &admin.subject).await?;
    } else {
        store::revoke_event_types(&mut tx, partner, &types).await?;
    }
    let after = store::granted_event_types(&mut tx, partner).await?;
    janta_platform::audit::append(
        &mut tx,
        &admin.subject,
        "webhook_event_grants",
        partner,
        if grant { "granted" } else { "revoked" },
        Some(json!({ "eventTypes": before })),
        Some(json!({ "eventTypes": after })),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The audit trail's name for subscriptions.
const SUBSCRIPTION: &str = "webhook_subscription";
