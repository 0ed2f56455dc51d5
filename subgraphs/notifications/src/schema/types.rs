//! The GraphQL object, input and enum types of the notifications API and
//! their field resolvers.

use super::loaders::{AttemptsLoader, DeliveryLoader, ReadLoader};
use super::state;
use crate::domain::{self, audiences_of, DeliveryStatus, Preference};
use crate::store::{self, AttemptRow, DeliveryRow, InboxQuery, NotificationRow, SubscriptionRow};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use janta_platform::auth::{principal, Principal};
use janta_platform::loader::{load_one, load_or_empty};
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{to_db_time, DateTime};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

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
    /// Pharmacy staff: a prescription submitted to their pharmacy waits for review.
    PrescriptionSubmitted,
    /// Vendor staff: your pharmacy's licences were verified.
    VendorVerified,
    /// Someone tried to register with your e-mail address.
    RegistrationAttempted,
    /// A return was asked for (vendor staff: one to review).
    ReturnRequested,
    /// Your return was approved and refunded (vendor staff: units quarantined).
    ReturnApproved,
    /// Your return was rejected.
    ReturnRejected,
    /// Vendor staff: a settlement statement was issued.
    SettlementIssued,
    /// A code or reset token for your account was sent (the code itself
    /// is only in the e-mail or SMS).
    AccountCode,
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
#[graphql(remote = "domain::Outcome")]
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
    pub(super) row: NotificationRow,
    /// Whether `row.read_at` already holds the viewer's read mark (lists
    /// join it in; entity references look it up).
    pub(super) read_known: bool,
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
    async fn kind(&self) -> NotificationKind {
        self.row.kind.into()
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
    async fn read(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        if self.read_known {
            return Ok(self.row.read_at.is_some());
        }
        let me = principal(ctx)?;
        let key = (me.subject.clone(), self.row.id.clone());
        let mark = load_one::<ReadLoader, _>(ctx, key).await?;
        Ok(mark.is_some())
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
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

pub(super) async fn inbox(
    ctx: &Context<'_>,
    viewer: &Principal,
    unread_only: bool,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Notification>> {
    let page = PageRequest::from_ctx(ctx, first, after)?;
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
        key: to_db_time(n.row.created_at),
        id: n.row.id.clone(),
    }))
}

/// A user of the users subgraph, extended here with their notifications.
pub struct UserRef {
    pub(super) id: String,
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
    ) -> ApiResult<CountedConnection<Notification>> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id {
            return Err(ApiError::forbidden(
                "you can only read your own notifications",
            ));
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

// ---------------------------------------------------------------- webhooks

/// A subscription to platform events, delivered as signed POSTs.
pub struct WebhookSubscription {
    pub(super) row: SubscriptionRow,
    pub(super) events: Vec<String>,
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
    /// Event type names delivered (e.g. `OrderConfirmed`), as the
    /// deliveries' `type` spells them.
    async fn events(&self) -> &[String] {
        &self.events
    }
    /// Event types delivered.
    async fn event_types(&self) -> Vec<super::WebhookEventType> {
        self.events
            .iter()
            .filter_map(|name| super::WebhookEventType::from_wire_name(name))
            .collect()
    }
    /// Whether events are still delivered.
    async fn active(&self) -> bool {
        self.row.active
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
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
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

pub(super) async fn with_events(
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

/// One channel delivery of one event to one recipient (admins; partners
/// and vendor admins see their webhooks' deliveries).
pub struct Delivery(pub(super) DeliveryRow);

/// A delivery by e-mail, SMS or webhook, with its attempts.
#[Object]
impl Delivery {
    /// Delivery ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The channel.
    async fn channel(&self) -> NotificationChannel {
        self.0.channel.into()
    }
    /// Where it stands.
    async fn status(&self) -> DeliveryStatusValue {
        self.0.status.into()
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
    async fn next_attempt_at(&self) -> Option<DateTime> {
        (self.0.status == DeliveryStatus::Pending).then_some(DateTime(self.0.next_attempt_at))
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
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it was accepted.
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(DateTime)
    }
    /// Every attempt, oldest first.
    async fn attempt_log(&self, ctx: &Context<'_>) -> ApiResult<Vec<DeliveryAttempt>> {
        let rows = load_or_empty::<AttemptsLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(DeliveryAttempt).collect())
    }
}

/// One attempt at a delivery.
pub struct DeliveryAttempt(pub(super) AttemptRow);

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
    async fn started_at(&self) -> DateTime {
        DateTime(self.0.started_at)
    }
    /// How long it took, in milliseconds.
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    /// How it ended.
    async fn outcome(&self) -> AttemptOutcome {
        self.0.outcome.into()
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
    async fn delivery(&self, ctx: &Context<'_>) -> ApiResult<Delivery> {
        let row = load_one::<DeliveryLoader, _>(ctx, self.0.delivery_id.clone())
            .await?
            .ok_or_else(|| ApiError::not_found("delivery"))?;
        Ok(Delivery(row))
    }
}
