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

pub use loaders::{with_loaders, AttemptsLoader, DeliveryLoader, NotificationLoader, ReadLoader};
pub use mutation::Mutation;
pub use query::Query;
pub use types::{
    AttemptOutcome, CreatedWebhookSubscription, Delivery, DeliveryAttempt, DeliveryStatusValue,
    Notification, NotificationChannel, NotificationKind, NotificationPreference,
    NotificationPreferenceInput, UserRef, WebhookSubscription,
};

use crate::NotificationsState;
use async_graphql::{Context, EmptySubscription, Schema, ID};
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
