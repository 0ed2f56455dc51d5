//! The notifications subgraph's GraphQL API: thin resolvers that authorise
//! with the platform guards, validate with `domain` and persist through
//! `store`. Who sees what: a notification is addressed to a person or to a
//! vendor (all its staff); `myNotifications`
//! (and `User.notifications` for oneself) lists every notification the
//! caller's token entitles them to, and read marks are per person.

use crate::domain::{
    self, audiences_of, may_manage_webhook, Channel, DeliveryStatus, Kind, Preference, WebhookScope,
};
use crate::store::{
    self, AttemptRow, DeliveryFilter, DeliveryRow, InboxQuery, NewSubscription, NotificationRow,
    SubscriptionFilter, SubscriptionRow,
};
use crate::NotificationsState;
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use janta_platform::audit::{self, AuditEntry};
use janta_platform::auth::{principal, require_admin, require_any_role, Principal, Role};
use janta_platform::ids::{new_id, parse_id};
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use rand::RngCore as _;
use std::collections::HashMap;
use std::sync::Arc;

/// The notifications subgraph schema.
pub type NotificationsSchema = Schema<Query, Mutation, EmptySubscription>;

/// Most IDs one `markNotificationsRead` takes.
pub const MAX_MARK_READ: usize = 100;
/// Most active webhook subscriptions per owner.
pub const MAX_SUBSCRIPTIONS: i64 = 20;

fn state<'a>(ctx: &Context<'a>) -> &'a NotificationsState {
    ctx.data_unchecked::<Arc<NotificationsState>>()
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{e}"))
}

fn db_time(s: &str) -> ApiResult<DateTime> {
    Ok(DateTime::from_db(s)?)
}

// ---------------------------------------------------------------- enums

/// What a notification is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::Kind")]
pub enum NotificationKind {
    /// Sent once when an account is created.
    Welcome,
    /// Your order was placed and waits for payment (or COD confirmation).
    OrderPlaced,
    /// Your order was paid (or cash on delivery accepted) and is being prepared.
    OrderConfirmed,
    /// Your order is out for delivery (status `OUT_FOR_DELIVERY`).
    OrderShipped,
    /// Your order was delivered.
    OrderDelivered,
    /// Your order was cancelled.
    OrderCancelled,
    /// A payment of yours failed.
    PaymentFailed,
    /// Money was refunded to you.
    PaymentRefunded,
    /// Your prescription was approved.
    PrescriptionApproved,
    /// Your prescription was rejected.
    PrescriptionRejected,
    /// Vendor staff: a confirmed order to pack.
    NewOrder,
    /// Vendor staff: a listing's stock fell below its threshold.
    StockLow,
    /// Pharmacists: a prescription waits for review.
    PrescriptionSubmitted,
    /// Vendor staff: your pharmacy's licences were verified.
    VendorVerified,
    /// Someone tried to register with your e-mail address.
    RegistrationAttempted,
}

/// A way a notification reaches someone.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::Channel")]
pub enum NotificationChannel {
    /// Listed in the app (`myNotifications`); always on.
    InApp,
    /// E-mail to the account's address.
    Email,
    /// Text message to the account's mobile number.
    Sms,
    /// Signed HTTP POST to a partner's subscription URL.
    Webhook,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::DeliveryStatus", name = "DeliveryStatus")]
pub enum DeliveryStatusValue {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt is in flight.
    Sending,
    /// The other side accepted it.
    Delivered,
    /// Refused for good (HTTP 4xx, SMTP 5xx, no address); not retried. Replayable.
    Failed,
    /// Failed on every attempt allowed; dead-lettered. Replayable.
    Dead,
    /// Not sent: its webhook subscription was deactivated first. Final.
    Cancelled,
}

/// How one attempt ended.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Accepted.
    Delivered,
    /// Failed in a way worth retrying (5xx, timeout, refused connection, SMTP 4xx).
    RetryableFailure,
    /// Failed in a way retrying cannot fix.
    PermanentFailure,
}

// ---------------------------------------------------------------- notifications

/// A notification as one viewer sees it.
pub struct Notification {
    row: NotificationRow,
    /// Whether `row.read_at` already holds the viewer's read mark (lists
    /// join it in; entity references look it up).
    read_known: bool,
}

/// Something that happened that someone should know about. In-app
/// notifications are the record; e-mail and SMS copies are deliveries.
#[Object]
impl Notification {
    /// Notification ID.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// What it is about.
    async fn kind(&self) -> Result<NotificationKind> {
        Ok(Kind::from_db(&self.row.kind)
            .ok_or_else(|| internal("unknown notification kind"))?
            .into())
    }
    /// Short headline.
    async fn title(&self) -> &str {
        &self.row.title
    }
    /// The message.
    async fn body(&self) -> &str {
        &self.row.body
    }
    /// Whether you have marked it read.
    async fn read(&self, ctx: &Context<'_>) -> Result<bool> {
        if self.read_known {
            return Ok(self.row.read_at.is_some());
        }
        let me = principal(ctx)?;
        let key = (me.subject.clone(), self.row.id.clone());
        let mark = load_one::<ReadLoader, _>(ctx, key).await?;
        Ok(mark.is_some())
    }
    /// When it was created.
    async fn created_at(&self) -> Result<DateTime> {
        Ok(db_time(&self.row.created_at)?)
    }
    /// Kind of thing it is about: `order`, `payment`, `prescription`,
    /// `listing`, `user` or `vendor`.
    async fn subject_type(&self) -> &str {
        &self.row.subject_type
    }
    /// ID of the thing it is about (an order ID for order notifications, …).
    async fn subject_id(&self) -> ID {
        ID(self.row.subject_id.clone())
    }
}

/// Loads notifications by ID in one statement per batch.
pub struct NotificationLoader;

impl BatchLoad<String> for NotificationLoader {
    type Value = NotificationRow;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, NotificationRow>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::notifications_by_ids(&mut conn, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads read marks by (user, notification) in one statement per user.
pub struct ReadLoader;

impl BatchLoad<(String, String)> for ReadLoader {
    type Value = String;

    async fn load(
        store: &Store,
        keys: &[(String, String)],
    ) -> sqlx::Result<HashMap<(String, String), String>> {
        let mut by_user: HashMap<&str, Vec<String>> = HashMap::new();
        for (user, id) in keys {
            by_user.entry(user).or_default().push(id.clone());
        }
        let mut out = HashMap::new();
        for (user, ids) in by_user {
            for (id, at) in store::read_marks(store, user, &ids).await? {
                out.insert((user.to_string(), id), at);
            }
        }
        Ok(out)
    }
}

async fn inbox(
    ctx: &Context<'_>,
    viewer: &Principal,
    unread_only: bool,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Notification>> {
    let page = PageRequest::new(first, after)?;
    let audiences = audiences_of(viewer);
    let q = InboxQuery {
        user_id: &viewer.subject,
        audiences: &audiences,
        unread_only,
    };
    let (rows, total) = store::list_inbox(&state(ctx).store, &q, &page).await?;
    let nodes = rows
        .into_iter()
        .map(|row| Notification {
            row,
            read_known: true,
        })
        .collect();
    Ok(build_connection(&page, nodes, total, |n| Cursor {
        key: n.row.created_at.clone(),
        id: n.row.id.clone(),
    }))
}

/// A user of the users subgraph, extended here with their notifications.
pub struct UserRef {
    id: String,
}

/// A user account (defined by the users subgraph).
#[Object(name = "User")]
impl UserRef {
    /// User ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Your notifications, newest first (only for yourself): the same list
    /// as `myNotifications`.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
        #[graphql(desc = "Only notifications you have not read")] unread_only: Option<bool>,
    ) -> Result<CountedConnection<Notification>> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id {
            return Err(ApiError::forbidden("you can only read your own notifications").into());
        }
        Ok(inbox(ctx, viewer, unread_only.unwrap_or(false), first, after).await?)
    }
}

// ---------------------------------------------------------------- preferences

/// Which channels you get for one kind of notification.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    /// The kind.
    pub kind: NotificationKind,
    /// In-app notifications are always on.
    pub in_app: bool,
    /// E-mail on or off.
    pub email: bool,
    /// SMS on or off (needs a mobile number on your account).
    pub sms: bool,
}

impl From<Preference> for NotificationPreference {
    fn from(p: Preference) -> Self {
        NotificationPreference {
            kind: p.kind.into(),
            in_app: true,
            email: p.email,
            sms: p.sms,
        }
    }
}

/// A change to one kind's channels; omitted switches stay as they are.
#[derive(InputObject)]
pub struct NotificationPreferenceInput {
    /// The kind (one addressed to you personally).
    pub kind: NotificationKind,
    /// Turn e-mail on or off.
    pub email: Option<bool>,
    /// Turn SMS on or off.
    pub sms: Option<bool>,
}

async fn preferences(store: &Store, user_id: &str) -> ApiResult<Vec<Preference>> {
    let mut conn = store.pool().acquire().await?;
    let stored = store::preferences_of(&mut conn, user_id).await?;
    Ok(Kind::ALL
        .into_iter()
        .filter(|k| k.is_personal())
        .map(|k| {
            stored
                .iter()
                .copied()
                .find(|p| p.kind == k)
                .unwrap_or_else(|| k.default_preference())
        })
        .collect())
}

// ---------------------------------------------------------------- webhooks

/// A subscription to platform events, delivered as signed POSTs.
pub struct WebhookSubscription {
    row: SubscriptionRow,
    events: Vec<String>,
}

/// A webhook subscription. Each delivery is a POST of the event as JSON
/// (`id`, `type`, `version`, `occurredAt`, `aggregateType`, `aggregateId`,
/// `data`) with headers `Janta-Event-Id` (de-duplicate on it: a delivery
/// may arrive more than once), `Janta-Event-Type`, `Janta-Delivery-Id`,
/// `Janta-Timestamp` (Unix seconds) and `Janta-Signature: v1=<hex>`, the
/// HMAC-SHA256 with the subscription secret of `"<timestamp>.<body>"`.
/// Answer 2xx to accept; 5xx, 408, 429 and timeouts are retried with
/// exponential back-off; other answers (redirects included: they are not
/// followed) are not. A subscription gets only events its owner may read:
/// an admin's every event of its types, a vendor integration its vendor's
/// orders, stock, listings and standing, a partner the types an admin
/// granted it. The URL must reach a public address.
#[Object]
impl WebhookSubscription {
    /// Subscription ID.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    /// Where events are posted.
    async fn url(&self) -> &str {
        &self.row.url
    }
    /// Event types delivered (e.g. `OrderConfirmed`).
    async fn events(&self) -> &[String] {
        &self.events
    }
    /// Whether events are still delivered.
    async fn active(&self) -> bool {
        self.row.active != 0
    }
    /// Who created it (user or partner client ID).
    async fn owner_id(&self) -> ID {
        ID(self.row.owner_id.clone())
    }
    /// The vendor whose integration it is (only that vendor's events).
    async fn vendor_id(&self) -> Option<ID> {
        self.row.vendor_id.clone().map(ID)
    }
    /// When it was created.
    async fn created_at(&self) -> Result<DateTime> {
        Ok(db_time(&self.row.created_at)?)
    }
}

/// A new subscription and its signing secret.
#[derive(SimpleObject)]
pub struct CreatedWebhookSubscription {
    /// The subscription.
    pub subscription: WebhookSubscription,
    /// The HMAC-SHA256 key of its signatures. Shown only this once: store it.
    pub secret: String,
}

async fn with_events(
    store: &Store,
    rows: Vec<SubscriptionRow>,
) -> ApiResult<Vec<WebhookSubscription>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    for (id, event) in store::subscription_events(store, &ids).await? {
        events.entry(id).or_default().push(event);
    }
    Ok(rows
        .into_iter()
        .map(|row| WebhookSubscription {
            events: events.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

// ---------------------------------------------------------------- deliveries

/// One channel delivery of one event to one recipient (admins only).
pub struct Delivery(DeliveryRow);

/// A delivery by e-mail, SMS or webhook, with its attempts.
#[Object]
impl Delivery {
    /// Delivery ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The channel.
    async fn channel(&self) -> Result<NotificationChannel> {
        Ok(Channel::from_db(&self.0.channel)
            .ok_or_else(|| internal("unknown channel"))?
            .into())
    }
    /// Where it stands.
    async fn status(&self) -> Result<DeliveryStatusValue> {
        Ok(DeliveryStatus::from_db(&self.0.status)
            .ok_or_else(|| internal("unknown delivery status"))?
            .into())
    }
    /// The event delivered.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.clone())
    }
    /// The event's type.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The user (e-mail, SMS) or subscription (webhook) it goes to.
    async fn recipient_id(&self) -> ID {
        ID(self.0.recipient.clone())
    }
    /// The notification it carries (e-mail, SMS).
    async fn notification_id(&self) -> Option<ID> {
        self.0.notification_id.clone().map(ID)
    }
    /// The webhook subscription it goes to.
    async fn subscription_id(&self) -> Option<ID> {
        self.0.subscription_id.clone().map(ID)
    }
    /// Attempts in the current round (a replay starts a new round).
    async fn attempts(&self) -> i64 {
        self.0.attempts
    }
    /// Attempts ever made.
    async fn total_attempts(&self) -> i64 {
        self.0.total_attempts
    }
    /// When the next attempt is due (pending deliveries only).
    async fn next_attempt_at(&self) -> Result<Option<DateTime>> {
        if self.0.status != DeliveryStatus::Pending.as_db() {
            return Ok(None);
        }
        Ok(Some(db_time(&self.0.next_attempt_at)?))
    }
    /// The last failure, with personal data redacted.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The last HTTP status or SMTP reply code received.
    async fn last_response_code(&self) -> Option<i64> {
        self.0.last_response_code
    }
    /// When it was created.
    async fn created_at(&self) -> Result<DateTime> {
        Ok(db_time(&self.0.created_at)?)
    }
    /// When it was accepted.
    async fn delivered_at(&self) -> Result<Option<DateTime>> {
        self.0
            .delivered_at
            .as_deref()
            .map(db_time)
            .transpose()
            .map_err(Into::into)
    }
    /// Every attempt, oldest first.
    async fn attempt_log(&self, ctx: &Context<'_>) -> Result<Vec<DeliveryAttempt>> {
        let rows = load_or_empty::<AttemptsLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(DeliveryAttempt).collect())
    }
}

/// One attempt at a delivery.
pub struct DeliveryAttempt(AttemptRow);

/// One try at delivering: when, how long, how it ended.
#[Object]
impl DeliveryAttempt {
    /// Attempt ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 1 for the first attempt of the delivery, then 2, 3, …
    async fn attempt_number(&self) -> i64 {
        self.0.attempt_number
    }
    /// When it started.
    async fn started_at(&self) -> Result<DateTime> {
        Ok(db_time(&self.0.started_at)?)
    }
    /// How long it took, in milliseconds.
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    /// How it ended.
    async fn outcome(&self) -> AttemptOutcome {
        match self.0.outcome.as_str() {
            "DELIVERED" => AttemptOutcome::Delivered,
            "RETRYABLE_FAILURE" => AttemptOutcome::RetryableFailure,
            _ => AttemptOutcome::PermanentFailure,
        }
    }
    /// What went wrong, with personal data redacted.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// HTTP status or SMTP reply code received, if the other side answered.
    async fn response_code(&self) -> Option<i64> {
        self.0.response_code
    }
    /// The delivery it belongs to.
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Delivery> {
        let row = load_one::<DeliveryLoader, _>(ctx, self.0.delivery_id.clone())
            .await?
            .ok_or_else(|| ApiError::not_found("delivery"))?;
        Ok(Delivery(row))
    }
}

/// Loads deliveries by ID in one statement per batch.
pub struct DeliveryLoader;

impl BatchLoad<String> for DeliveryLoader {
    type Value = DeliveryRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, DeliveryRow>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::deliveries_by_ids(&mut conn, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the attempts of deliveries in one statement per batch.
pub struct AttemptsLoader;

impl BatchLoad<String> for AttemptsLoader {
    type Value = Vec<AttemptRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<AttemptRow>>> {
        let rows = store::attempts_of(store, keys).await?;
        Ok(grouped(rows, |r| r.delivery_id.clone()))
    }
}

// ---------------------------------------------------------------- queries

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// Your notifications, newest first: those addressed to you, to your
    /// vendor if you are its staff.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only notifications you have not read")] unread_only: Option<bool>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Notification>> {
        let me = principal(ctx)?;
        Ok(inbox(ctx, me, unread_only.unwrap_or(false), first, after).await?)
    }

    /// How many of your notifications you have not read (for a badge).
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let me = principal(ctx)?;
        Ok(
            store::unread_count(&state(ctx).store, &me.subject, &audiences_of(me))
                .await
                .map_err(ApiError::from)?,
        )
    }

    /// Your channel choices for every kind of notification addressed to you.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<NotificationPreference>> {
        let me = principal(ctx)?;
        let prefs = preferences(&state(ctx).store, &me.subject).await?;
        Ok(prefs.into_iter().map(Into::into).collect())
    }

    /// Webhook subscriptions: a partner's own; a vendor's integrations for
    /// its admins; every one for admins.
    async fn webhook_subscriptions(&self, ctx: &Context<'_>) -> Result<Vec<WebhookSubscription>> {
        let me = principal(ctx)?;
        let filter = match WebhookScope::of(me)? {
            WebhookScope::Platform => SubscriptionFilter::All,
            WebhookScope::Vendor(_) => {
                SubscriptionFilter::Vendor(me.vendor_id.as_deref().unwrap_or_default())
            }
            WebhookScope::Partner => SubscriptionFilter::Owner(&me.subject),
        };
        let st = state(ctx);
        let rows = store::list_subscriptions(&st.store, filter)
            .await
            .map_err(ApiError::from)?;
        Ok(with_events(&st.store, rows).await?)
    }

    /// The event types a partner may subscribe to (admins, or the partner).
    async fn webhook_event_grants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (its token subject)")] partner_id: ID,
    ) -> Result<Vec<String>> {
        let me = principal(ctx)?;
        let partner = partner_id_of(&partner_id)?;
        if !me.is_admin() && me.subject != partner {
            return Err(ApiError::forbidden("you can only read your own grants").into());
        }
        let mut conn = state(ctx)
            .store
            .pool()
            .acquire()
            .await
            .map_err(ApiError::from)?;
        Ok(store::granted_event_types(&mut conn, &partner)
            .await
            .map_err(ApiError::from)?)
    }

    /// Every attempt at delivering a notification by e-mail or SMS, oldest
    /// first (admins).
    async fn delivery_attempts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification ID")] notification_id: ID,
    ) -> Result<Vec<DeliveryAttempt>> {
        require_admin(ctx)?;
        let id = parse_id(&notification_id, "notificationId")?;
        let st = state(ctx);
        if !store::notification_exists(&st.store, &id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::not_found("notification").into());
        }
        let rows = store::attempts_of_notification(&st.store, &id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(DeliveryAttempt).collect())
    }

    /// The e-mail and SMS deliveries of a notification (admins).
    async fn notification_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Notification ID")] notification_id: ID,
    ) -> Result<Vec<Delivery>> {
        require_admin(ctx)?;
        let id = parse_id(&notification_id, "notificationId")?;
        let rows = store::deliveries_of_notification(&state(ctx).store, &id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Delivery).collect())
    }

    /// Deliveries of every channel, newest first, e.g. the `DEAD` ones to
    /// replay (admins).
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
    ) -> Result<CountedConnection<Delivery>> {
        require_admin(ctx)?;
        let page = PageRequest::new(first, after)?;
        let filter = DeliveryFilter {
            status: status.map(Into::into),
            channel: channel.map(Into::into),
            subscription_id: subscription_id
                .map(|id| parse_id(&id, "subscriptionId"))
                .transpose()?,
        };
        let (rows, total) = store::list_deliveries(&state(ctx).store, &filter, &page)
            .await
            .map_err(ApiError::from)?;
        let nodes = rows.into_iter().map(Delivery).collect();
        Ok(build_connection(&page, nodes, total, |d| Cursor {
            key: d.0.created_at.clone(),
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
    ) -> Result<Option<Notification>> {
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

// ---------------------------------------------------------------- mutations

/// Write operations.
pub struct Mutation;

/// A partner named in a grant: its token subject, as given.
fn partner_id_of(id: &ID) -> ApiResult<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_input("partnerId is not a valid partner ID"));
    }
    Ok(id.to_string())
}

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
