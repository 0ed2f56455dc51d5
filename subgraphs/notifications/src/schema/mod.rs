//! The notifications subgraph's GraphQL API: thin resolvers that authorise
//! with the platform guards, validate with `domain`, read through `store`
//! and change things through one use case of `service` each. Who sees
//! what: a notification is addressed to a person or to a vendor (all its
//! staff); `myNotifications` (and `User.notifications` for oneself) lists
//! every notification the caller's token entitles them to, and read marks
//! are per person.
//!
//! Layout: `query` and `mutation` hold the root operations, `types` the
//! object, input and enum types with their field resolvers, `loaders` the
//! batch loaders.

mod loaders;
mod mutation;
mod query;
mod types;
mod webhook_types;

pub use loaders::{with_loaders, AttemptsLoader, DeliveryLoader, NotificationLoader, ReadLoader};
use mutation::NotificationMutation;
use query::NotificationQuery;

/// Read operations: the notifications subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(NotificationQuery, OperationsQuery);

/// Write operations: the notifications subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(NotificationMutation, OperationsMutation);

janta_kit::operations_api!(
    notifications,
    "replayNotificationsParkedEvent",
    "discardNotificationsParkedEvent"
);
pub use types::{
    AttemptOutcome, CreatedWebhookSubscription, Delivery, DeliveryAttempt, DeliveryStatusValue,
    Notification, NotificationChannel, NotificationKind, NotificationPreference,
    NotificationPreferenceInput, UserRef, WebhookSubscription,
};
pub use webhook_types::WebhookEventType;

use crate::store::ManagedBy;
use crate::NotificationsState;
use async_graphql::{Context, EmptySubscription, Schema, ID};
use janta_platform::auth::{principal, PartnerScope, Principal, Role};
use janta_platform::{ApiError, ApiResult};
use std::sync::Arc;

/// The notifications subgraph schema.
pub type NotificationsSchema = Schema<Query, Mutation, EmptySubscription>;

/// Most IDs one `markNotificationsRead` takes.
pub const MAX_MARK_READ: usize = 100;
/// Most active webhook subscriptions per owner.
pub use crate::service::webhooks::MAX_SUBSCRIPTIONS;

fn state<'a>(ctx: &Context<'a>) -> &'a NotificationsState {
    ctx.data_unchecked::<Arc<NotificationsState>>()
}

/// A partner named in a grant: its token subject, as given.
fn partner_id_of(id: &ID) -> ApiResult<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_input("partnerId is not a valid partner ID"));
    }
    Ok(id.to_string())
}

/// The caller of a webhook subscription operation: partner tokens need
/// the scope `webhooks:manage` (`FORBIDDEN` otherwise); for everyone else
/// the operation's own rules decide.
fn webhook_caller<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    let me = principal(ctx)?;
    me.require_scope(PartnerScope::WebhooksManage)?;
    Ok(me)
}

/// The caller of a webhook delivery log or replay, and whose deliveries it
/// may touch: admins every one (`None`); partners whose token holds
/// `webhooks:manage` and vendor admins only those of subscriptions they
/// manage. Anyone else is `FORBIDDEN`.
fn delivery_manager<'a>(ctx: &Context<'a>) -> ApiResult<(&'a Principal, Option<ManagedBy>)> {
    let me = principal(ctx)?;
    if me.is_admin() {
        return Ok((me, None));
    }
    let vendor_admin = me.has_role(Role::VendorAdmin);
    if me.has_role(Role::Partner) {
        me.require_scope(PartnerScope::WebhooksManage)?;
    } else if !vendor_admin {
        return Err(ApiError::forbidden(
            "only admins, partners and vendor admins see webhook deliveries",
        ));
    }
    let managed = ManagedBy {
        owner_id: me.subject.clone(),
        vendor_id: me.vendor_id.clone().filter(|_| vendor_admin),
    };
    Ok((me, Some(managed)))
}

/// The event type names of a webhook operation, given either as the
/// `WebhookEventType` enum (`typed`) or, as before the enum existed, as
/// names (`named`): exactly one of the two.
fn event_names(
    typed: Option<Vec<WebhookEventType>>,
    named: Option<Vec<String>>,
    typed_arg: &str,
    named_arg: &str,
) -> ApiResult<Vec<String>> {
    match (typed, named) {
        (Some(types), None) => Ok(webhook_types::wire_names(&types)),
        (None, Some(names)) => Ok(names),
        _ => Err(ApiError::bad_input(format!(
            "give exactly one of {typed_arg} and {named_arg}"
        ))),
    }
}
