//! Events the users subgraph publishes (through its outbox):
//! `UserRegistered`, `RegistrationAttempted`, `VendorVerified`,
//! `VendorSuspended` and `VendorReinstated`. It consumes none.

use crate::store::UserRow;
use async_graphql::Context;
use janta_events::publish;
use janta_events::types::{
    Event, RegistrationAttempted, UserRegistered, VendorReinstated, VendorSuspended, VendorVerified,
};
use janta_platform::auth::optional_principal;
use janta_platform::server::CorrelationId;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

fn correlation<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str())
}

/// Publishes `event` as done by the signed-in caller (`system` without one).
async fn publish_by_caller<E: Event>(
    conn: &mut AnyConnection,
    event: &E,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let actor = optional_principal(ctx).map_or("system", |p| p.subject.as_str());
    publish(conn, event, actor, correlation(ctx)).await?;
    Ok(())
}

/// A customer account was created. Carries no contact details: consumers
/// that need them ask the owner.
pub async fn user_registered(
    conn: &mut AnyConnection,
    user: &UserRow,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let event = UserRegistered {
        user_id: user.id.clone(),
        full_name: user.full_name.clone(),
    };
    publish(conn, &event, &user.id, correlation(ctx)).await?;
    Ok(())
}

/// Someone registered with the e-mail of `owner_id`'s account: the owner is
/// told (registration answered as if it had worked).
pub async fn registration_attempted(
    conn: &mut AnyConnection,
    owner_id: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let event = RegistrationAttempted {
        user_id: owner_id.to_string(),
    };
    publish_by_caller(conn, &event, ctx).await
}

/// A vendor's licences were verified; it may now sell.
pub async fn vendor_verified(
    conn: &mut AnyConnection,
    vendor_id: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let event = VendorVerified {
        vendor_id: vendor_id.to_string(),
    };
    publish_by_caller(conn, &event, ctx).await
}

/// A vendor was suspended; catalog and orders stop selling its listings.
pub async fn vendor_suspended(
    conn: &mut AnyConnection,
    vendor_id: &str,
    reason: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let event = VendorSuspended {
        vendor_id: vendor_id.to_string(),
        reason: reason.to_string(),
    };
    publish_by_caller(conn, &event, ctx).await
}

/// A vendor's suspension was lifted; a verified vendor sells again.
pub async fn vendor_reinstated(
    conn: &mut AnyConnection,
    vendor_id: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let event = VendorReinstated {
        vendor_id: vendor_id.to_string(),
    };
    publish_by_caller(conn, &event, ctx).await
}
