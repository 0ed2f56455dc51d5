//! Read operations and entity resolvers.

use super::loaders::NotificationLoader;
use super::types::{
    inbox, with_events, Delivery, DeliveryAttempt, DeliveryStatusValue, Notification,
    NotificationChannel, NotificationPreference, UserRef, WebhookSubscription,
};
use super::{delivery_manager, partner_id_of, state, webhook_caller};
use crate::domain::{audiences_of, WebhookScope};
use crate::store::{self, DeliveryFilter, SubscriptionFilter};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, require_admin};
use janta_platform::ids::parse_id;
use janta_platform::loader::load_one;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::to_db_time;
use janta_platform::{ApiError, ApiResult};

/// Read operations.
#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Your notifications, newest first: those addressed to you, to your
    /// vendor if you are its staff.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only notifications you have not read")] unread_only: Option<bool>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Notification>> {
        let me = principal(ctx)?;
        Ok(inbox(ctx, me, unread_only.unwrap_or(false), first, after).await?)
    }

    /// How many of your notifications you have not read (for a badge).
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let me = principal(ctx)?;
        Ok(store::unread_count(&state(ctx).store, &me.subject, &audiences_of(me)).await?)
    }

    /// Your channel choices for every kind of notification addressed to you.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<NotificationPreference>> {
        let me = principal(ctx)?;
        let prefs = crate::service::inbox::preferences(&state(ctx).store, &me.subject).await?;
        Ok(prefs.into_iter().map(Into::into).collect())
    }

    /// Webhook subscriptions: a partner's own; a vendor's integrations for
    /// its admins; every one for admins.
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<WebhookSubscription>> {
        let me = webhook_caller(ctx)?;
        let filter = match WebhookScope::of(me)? {
            WebhookScope::Platform => SubscriptionFilter::All,
            WebhookScope::Vendor(_) => {
                SubscriptionFilter::Vendor(me.vendor_id.as_deref().unwrap_or_default())
            }
            WebhookScope::Partner => SubscriptionFilter::Owner(&me.subject),
        };
        let st = state(ctx);
        let rows = store::list_subscriptions(&st.store, filter).await?;
        Ok(with_events(&st.store, rows).await?)
    }

    /// The event types a partner may subscribe to (admins, or the partner).
    async fn webhook_event_grants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
    ) -> ApiResult<Vec<String>> {
        let me = principal(ctx)?;
        let partner = partner_id_of(&partner_id)?;
        if !me.is_admin() && me.subject != partner {
            return Err(ApiError::forbidden("you can only read your own grants"));
        }
        let mut conn = state(ctx).store.pool().acquire().await?;
        Ok(store::granted_event_types(&mut conn, &partner).await?)
    }

    /// Every attempt at delivering a notification by e-mail or SMS, oldest
    /// first (admins).
    async fn delivery_attempts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification ID")] notification_id: ID,
    ) -> ApiResult<Vec<DeliveryAttempt>> {
        require_admin(ctx)?;
        let id = parse_id(&notification_id, "notificationId")?;
        let st = state(ctx);
        if !store::notification_exists(&st.store, &id).await? {
            return Err(ApiError::not_found("notification"));
        }
        let rows = store::attempts_of_notification(&st.store, &id).await?;
        Ok(rows.into_iter().map(DeliveryAttempt).collect())
    }

    /// The e-mail and SMS deliveries of a notification (admins).
    async fn notification_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification ID")] notification_id: ID,
    ) -> ApiResult<Vec<Delivery>> {
        require_admin(ctx)?;
        let id = parse_id(&notification_id, "notificationId")?;
        let rows = store::deliveries_of_notification(&state(ctx).store, &id).await?;
        Ok(rows.into_iter().map(Delivery).collect())
    }

    /// Deliveries, newest first, e.g. the `DEAD` ones to replay. Admins see
    /// every channel's; partners (scope `webhooks:manage`) and vendor
    /// admins see the webhook deliveries of the subscriptions they manage:
    /// their delivery log.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deliveries in this state")] status: Option<DeliveryStatusValue>,
        #[graphql(desc = "Only deliveries on this channel")] channel: Option<NotificationChannel>,
        #[graphql(desc = "Only deliveries to this webhook subscription")] subscription_id: Option<
            ID,
        >,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Delivery>> {
        let (_, managed_by) = delivery_manager(ctx)?;
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let filter = DeliveryFilter {
            managed_by,
            status: status.map(Into::into),
            channel: channel.map(Into::into),
            subscription_id: subscription_id
                .map(|id| parse_id(&id, "subscriptionId"))
                .transpose()?,
        };
        let (rows, total) = store::list_deliveries(&state(ctx).store, &filter, &page).await?;
        let nodes = rows.into_iter().map(Delivery).collect();
        Ok(build_connection(&page, nodes, total, |d| Cursor {
            key: to_db_time(d.0.created_at),
            id: d.0.id.clone(),
        }))
    }

    /// Resolves `Notification` references (batched); `null` for ones the
    /// caller may not see.
    #[graphql(entity)]
    async fn find_notification_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<Option<Notification>> {
        let viewer = principal(ctx)?;
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        let row = load_one::<NotificationLoader, _>(ctx, id).await?;
        let audiences = audiences_of(viewer);
        Ok(row
            .filter(|r| audiences.contains(&r.audience))
            .map(|row| Notification {
                row,
                read_known: false,
            }))
    }

    /// Resolves `User` references to add their `notifications`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> UserRef {
        UserRef { id: id.0 }
    }
}
