//! Write operations.

use super::types::{
    preferences, with_events, CreatedWebhookSubscription, Delivery, NotificationPreference,
    NotificationPreferenceInput, WebhookSubscription,
};
use super::{partner_id_of, state, MAX_MARK_READ, MAX_SUBSCRIPTIONS};
use crate::domain::{self, audiences_of, may_manage_webhook, Kind, Preference, WebhookScope};
use crate::store::{self, NewSubscription};
use async_graphql::{Context, Object, Result, ID};
use janta_platform::audit::{self, AuditEntry};
use janta_platform::auth::{principal, require_admin, require_any_role, Role};
use janta_platform::ids::{new_id, parse_id};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use rand::RngCore as _;

/// Write operations.
pub struct Mutation;

/// A fresh signing secret: 32 random bytes, hex, with a recognisable prefix.
fn new_webhook_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", hex::encode(key))
}

/// The event types a new subscription in `scope` may rely on grants for:
/// a partner's grants; nobody else needs any.
async fn grants_for(store: &Store, scope: &WebhookScope, subject: &str) -> ApiResult<Vec<String>> {
    if *scope != WebhookScope::Partner {
        return Ok(vec![]);
    }
    let mut conn = store.pool().acquire().await?;
    Ok(store::granted_event_types(&mut conn, subject).await?)
}

/// Grants or revokes `event_types` for a partner (admins); returns the
/// partner's grants after the change.
async fn change_grants(
    ctx: &Context<'_>,
    partner_id: &ID,
    event_types: &[String],
    grant: bool,
) -> ApiResult<Vec<String>> {
    let admin = require_admin(ctx)?;
    let partner = partner_id_of(partner_id)?;
    let types = if grant {
        domain::check_grantable(event_types)?
    } else {
        domain::known_event_types(event_types)?
    };
    let mut tx = state(ctx).store.begin().await?;
    let before = store::granted_event_types(&mut tx, &partner).await?;
    if grant {
        store::grant_event_types(&mut tx, &partner, &types, &admin.subject).await?;
    } else {
        store::revoke_event_types(&mut tx, &partner, &types).await?;
    }
    let after = store::granted_event_types(&mut tx, &partner).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            actor: &admin.subject,
            entity_type: "webhook_event_grants",
            entity_id: &partner,
            action: if grant { "granted" } else { "revoked" },
            before: Some(serde_json::json!({ "eventTypes": before })),
            after: Some(serde_json::json!({ "eventTypes": after })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn record_audit(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    after: serde_json::Value,
) -> ApiResult<()> {
    audit::record(
        conn,
        AuditEntry {
            actor,
            entity_type,
            entity_id,
            action,
            before: None,
            after: Some(after),
        },
    )
    .await?;
    Ok(())
}

#[Object]
impl Mutation {
    /// Marks notifications read for you; returns how many were unread.
    /// All of them must be yours to see: otherwise nothing changes and the
    /// answer is `FORBIDDEN`.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification IDs (at most 100)")] ids: Vec<ID>,
    ) -> Result<i64> {
        let me = principal(ctx)?;
        if ids.len() > MAX_MARK_READ {
            return Err(ApiError::bad_input(format!("at most {MAX_MARK_READ} ids at once")).into());
        }
        let mut wanted = ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<ApiResult<Vec<_>>>()?;
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(0);
        }
        let audiences = audiences_of(me);
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let found = store::notifications_by_ids(&mut tx, &wanted)
            .await
            .map_err(ApiError::from)?;
        let all_visible =
            found.len() == wanted.len() && found.iter().all(|n| audiences.contains(&n.audience));
        if !all_visible {
            return Err(
                ApiError::forbidden("you can only mark your own notifications read").into(),
            );
        }
        let changed = store::mark_read(&mut tx, &me.subject, &wanted)
            .await
            .map_err(ApiError::from)?;
        if changed > 0 {
            record_audit(
                &mut tx,
                &me.subject,
                "notification_reads",
                &me.subject,
                "marked_read",
                serde_json::json!({ "ids": wanted, "newlyRead": changed }),
            )
            .await?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        Ok(changed as i64)
    }

    /// Marks every notification you can see read; returns how many were unread.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<i64> {
        let me = principal(ctx)?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let ids = store::unread_ids(&mut tx, &me.subject, &audiences_of(me))
            .await
            .map_err(ApiError::from)?;
        let changed = store::mark_read(&mut tx, &me.subject, &ids)
            .await
            .map_err(ApiError::from)?;
        if changed > 0 {
            record_audit(
                &mut tx,
                &me.subject,
                "notification_reads",
                &me.subject,
                "marked_all_read",
                serde_json::json!({ "newlyRead": changed }),
            )
            .await?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        Ok(changed as i64)
    }

    /// Switches e-mail and SMS on or off per kind of notification; returns
    /// all your preferences.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The kinds to change")] input: Vec<NotificationPreferenceInput>,
    ) -> Result<Vec<NotificationPreference>> {
        let me = principal(ctx)?;
        if input.len() > Kind::ALL.len() {
            return Err(ApiError::bad_input("too many preferences at once").into());
        }
        let st = state(ctx);
        let current = preferences(&st.store, &me.subject).await?;
        let mut changed = Vec::new();
        for change in &input {
            let kind: Kind = change.kind.into();
            let Some(before) = current.iter().find(|p| p.kind == kind) else {
                return Err(ApiError::bad_input(format!(
                    "{} notifications go to a shared inbox and have no personal channels",
                    kind.as_db()
                ))
                .into());
            };
            changed.push(Preference {
                kind,
                email: change.email.unwrap_or(before.email),
                sms: change.sms.unwrap_or(before.sms),
            });
        }
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        for pref in &changed {
            store::upsert_preference(&mut tx, &me.subject, pref)
                .await
                .map_err(ApiError::from)?;
        }
        if !changed.is_empty() {
            let summary: Vec<_> = changed
                .iter()
                .map(|p| serde_json::json!({ "kind": p.kind.as_db(), "email": p.email, "sms": p.sms }))
                .collect();
            record_audit(
                &mut tx,
                &me.subject,
                "notification_preferences",
                &me.subject,
                "updated",
                serde_json::json!(summary),
            )
            .await?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        let prefs = preferences(&st.store, &me.subject).await?;
        Ok(prefs.into_iter().map(Into::into).collect())
    }

    /// Subscribes an endpoint to platform events: partners (event types an
    /// admin granted them), vendor admins (their vendor's events) and
    /// admins. The URL must resolve to public addresses only. The answer
    /// carries the signing secret, shown only this once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The https URL to POST events to")] url: String,
        #[graphql(desc = "Event types to deliver, e.g. [\"OrderConfirmed\"]")] events: Vec<String>,
    ) -> Result<CreatedWebhookSubscription> {
        let me = principal(ctx)?;
        let scope = WebhookScope::of(me)?;
        let st = state(ctx);
        let granted = grants_for(&st.store, &scope, &me.subject).await?;
        let events = domain::check_webhook_events(&events, &scope, &granted)?;
        let url = domain::check_webhook_url(&url, st.production)?;
        st.targets
            .check_url(&url)
            .await
            .map_err(|e| ApiError::bad_input(format!("url {e}")))?;
        if store::count_active_subscriptions(&st.store, &me.subject)
            .await
            .map_err(ApiError::from)?
            >= MAX_SUBSCRIPTIONS
        {
            return Err(ApiError::conflict(format!(
                "at most {MAX_SUBSCRIPTIONS} active subscriptions; deactivate one first"
            ))
            .into());
        }
        let secret = new_webhook_secret();
        let id = new_id();
        let sealed = st.secrets.seal(&secret, &id);
        let new = NewSubscription {
            owner_id: &me.subject,
            scope: &scope,
            url: &url,
            sealed_secret: &sealed,
            events: &events,
        };
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let row = store::insert_subscription(&mut tx, &id, &new)
            .await
            .map_err(ApiError::from)?;
        record_audit(
            &mut tx,
            &me.subject,
            "webhook_subscription",
            &row.id,
            "created",
            serde_json::json!({
                "url": url,
                "events": events,
                "scope": scope.role_db(),
                "vendorId": scope.vendor_id(),
            }),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(CreatedWebhookSubscription {
            subscription: WebhookSubscription { row, events },
            secret,
        })
    }

    /// Stops delivering to a subscription, queued retries included (its
    /// creator, its vendor's admins, or an admin).
    async fn deactivate_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Subscription ID")] id: ID,
    ) -> Result<WebhookSubscription> {
        let me = require_any_role(ctx, &[Role::Partner, Role::VendorAdmin, Role::Admin])?;
        let id = parse_id(&id, "id")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let row = store::subscription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .filter(|r| may_manage_webhook(me, &r.owner_id, r.vendor_id.as_deref()))
            .ok_or_else(|| ApiError::not_found("webhook subscription"))?;
        let cancelled = store::deactivate_subscription(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        record_audit(
            &mut tx,
            &me.subject,
            "webhook_subscription",
            &id,
            "deactivated",
            serde_json::json!({ "active": false, "cancelledDeliveries": cancelled }),
        )
        .await?;
        let row = store::subscription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or(row);
        tx.commit().await.map_err(ApiError::from)?;
        let mut out = with_events(&st.store, vec![row]).await?;
        out.pop()
            .ok_or_else(|| ApiError::not_found("webhook subscription").into())
    }

    /// Lets a partner subscribe to `eventTypes` (admins); returns the
    /// partner's grants. `UserRegistered` is never granted.
    async fn grant_webhook_event_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
        #[graphql(desc = "Event types, e.g. [\"OrderConfirmed\"]")] event_types: Vec<String>,
    ) -> Result<Vec<String>> {
        Ok(change_grants(ctx, &partner_id, &event_types, true).await?)
    }

    /// Withdraws event types from a partner (admins): its subscriptions to
    /// them receive nothing from then on. Returns the partner's grants.
    async fn revoke_webhook_event_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
        #[graphql(desc = "Event types to withdraw")] event_types: Vec<String>,
    ) -> Result<Vec<String>> {
        Ok(change_grants(ctx, &partner_id, &event_types, false).await?)
    }

    /// Sends a `FAILED` or `DEAD` delivery again with a fresh round of
    /// attempts (admins).
    async fn replay_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Delivery ID")] delivery_id: ID,
    ) -> Result<Delivery> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&delivery_id, "deliveryId")?;
        let st = state(ctx);
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let before = store::deliveries_by_ids(&mut tx, std::slice::from_ref(&id))
            .await
            .map_err(ApiError::from)?
            .pop()
            .ok_or_else(|| ApiError::not_found("delivery"))?;
        if !store::replay_delivery(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::conflict(format!(
                "only FAILED or DEAD deliveries can be replayed; this one is {}",
                before.status
            ))
            .into());
        }
        audit::record(
            &mut tx,
            AuditEntry {
                actor: &admin.subject,
                entity_type: "delivery",
                entity_id: &id,
                action: "replayed",
                before: Some(serde_json::json!({ "status": before.status })),
                after: Some(serde_json::json!({ "status": "PENDING" })),
            },
        )
        .await
        .map_err(ApiError::from)?;
        let row = store::deliveries_by_ids(&mut tx, std::slice::from_ref(&id))
            .await
            .map_err(ApiError::from)?
            .pop()
            .ok_or_else(|| ApiError::not_found("delivery"))?;
        tx.commit().await.map_err(ApiError::from)?;
        st.deliverer.poke();
        Ok(Delivery(row))
    }
}
