//! Write operations: each parses its input, authorises, and calls one use
//! case of [`crate::service`].

use super::types::{
    with_events, CreatedWebhookSubscription, Delivery, NotificationPreference,
    NotificationPreferenceInput, WebhookSubscription,
};
use super::{
    delivery_manager, event_names, partner_id_of, state, webhook_caller, WebhookEventType,
    MAX_MARK_READ,
};
use crate::service::delivery;
use crate::service::inbox::{self, PreferenceChange};
use crate::service::webhooks::{self, Endpoints};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, require_admin, require_any_role, PartnerScope, Role};
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};

/// Write operations.
#[derive(Default)]
pub struct NotificationMutation;

/// Grants or revokes event types (`types`, or by name `event_types`) for
/// a partner (admins); returns the partner's grants after the change.
async fn change_grants(
    ctx: &Context<'_>,
    partner_id: &ID,
    types: Option<Vec<WebhookEventType>>,
    event_types: Option<Vec<String>>,
    grant: bool,
) -> ApiResult<Vec<String>> {
    let admin = require_admin(ctx)?;
    let partner = partner_id_of(partner_id)?;
    let names = event_names(types, event_types, "types", "eventTypes")?;
    webhooks::change_grants(&state(ctx).store, admin, &partner, &names, grant).await
}

#[Object]
impl NotificationMutation {
    /// Marks notifications read for you; returns how many were unread.
    /// All of them must be yours to see: otherwise nothing changes and the
    /// answer is `FORBIDDEN`.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification IDs (at most 100)")] ids: Vec<ID>,
    ) -> ApiResult<i64> {
        let me = principal(ctx)?;
        if ids.len() > MAX_MARK_READ {
            return Err(ApiError::bad_input(format!(
                "at most {MAX_MARK_READ} ids at once"
            )));
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
        let changed = inbox::mark_read(&state(ctx).store, me, &wanted).await?;
        Ok(changed as i64)
    }

    /// Marks every notification you can see read; returns how many were unread.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let me = principal(ctx)?;
        Ok(inbox::mark_all_read(&state(ctx).store, me).await? as i64)
    }

    /// Switches e-mail and SMS on or off per kind of notification; returns
    /// all your preferences.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The kinds to change")] input: Vec<NotificationPreferenceInput>,
    ) -> ApiResult<Vec<NotificationPreference>> {
        let me = principal(ctx)?;
        let changes: Vec<PreferenceChange> = input
            .iter()
            .map(|change| PreferenceChange {
                kind: change.kind.into(),
                email: change.email,
                sms: change.sms,
            })
            .collect();
        let prefs = inbox::update_preferences(&state(ctx).store, &me.subject, &changes).await?;
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
        #[graphql(desc = "Event types to deliver, e.g. [ORDER_CONFIRMED] (give this or `events`)")]
        event_types: Option<Vec<WebhookEventType>>,
        #[graphql(
            desc = "Deprecated: use `eventTypes`. Event type names, e.g. [\"OrderConfirmed\"]"
        )]
        events: Option<Vec<String>>,
    ) -> ApiResult<CreatedWebhookSubscription> {
        let me = webhook_caller(ctx)?;
        let events = event_names(event_types, events, "eventTypes", "events")?;
        let st = state(ctx);
        let endpoints = Endpoints {
            secrets: &st.secrets,
            targets: &st.targets,
            production: st.production,
        };
        let (row, events, secret) =
            webhooks::create_subscription(&st.store, &endpoints, me, &url, &events).await?;
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
    ) -> ApiResult<WebhookSubscription> {
        let me = require_any_role(ctx, &[Role::Partner, Role::VendorAdmin, Role::Admin])?;
        me.require_scope(PartnerScope::WebhooksManage)?;
        let id = parse_id(&id, "id")?;
        let st = state(ctx);
        let row = webhooks::deactivate_subscription(&st.store, me, &id).await?;
        let mut out = with_events(&st.store, vec![row]).await?;
        out.pop()
            .ok_or_else(|| ApiError::not_found("webhook subscription"))
    }

    /// Lets a partner subscribe to `eventTypes` (admins); returns the
    /// partner's grants. `UserRegistered` is never granted.
    async fn grant_webhook_event_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
        #[graphql(desc = "Event types, e.g. [ORDER_CONFIRMED] (give this or `eventTypes`)")]
        types: Option<Vec<WebhookEventType>>,
        #[graphql(desc = "Deprecated: use `types`. Event type names, e.g. [\"OrderConfirmed\"]")]
        event_types: Option<Vec<String>>,
    ) -> ApiResult<Vec<String>> {
        change_grants(ctx, &partner_id, types, event_types, true).await
    }

    /// Withdraws event types from a partner (admins): its subscriptions to
    /// them receive nothing from then on. Returns the partner's grants.
    async fn revoke_webhook_event_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
        #[graphql(desc = "Event types to withdraw (give this or `eventTypes`)")] types: Option<
            Vec<WebhookEventType>,
        >,
        #[graphql(desc = "Deprecated: use `types`. Event type names to withdraw")]
        event_types: Option<Vec<String>>,
    ) -> ApiResult<Vec<String>> {
        change_grants(ctx, &partner_id, types, event_types, false).await
    }

    /// Sends a `FAILED` or `DEAD` delivery again with a fresh round of
    /// attempts, under its original event ID: admins any delivery;
    /// partners (scope `webhooks:manage`) and vendor admins the webhook
    /// deliveries of subscriptions they manage (any other is `NOT_FOUND`).
    async fn replay_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Delivery ID")] delivery_id: ID,
    ) -> ApiResult<Delivery> {
        let (me, _) = delivery_manager(ctx)?;
        let id = parse_id(&delivery_id, "deliveryId")?;
        let row = delivery::replay(&state(ctx).deliverer, me, &id).await?;
        Ok(Delivery(row))
    }
}
