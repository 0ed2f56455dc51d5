//! Events the users subgraph publishes (through its outbox):
//! `UserRegistered` and `VendorVerified`. It consumes none.

use crate::store::UserRow;
use async_graphql::Context;
use janta_events::publish;
use janta_events::types::{UserRegistered, VendorVerified};
use janta_platform::auth::optional_principal;
use janta_platform::server::CorrelationId;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

fn correlation<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str())
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

/// A vendor's licences were verified; it may now sell.
pub async fn vendor_verified(
    conn: &mut AnyConnection,
    vendor_id: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let actor = optional_principal(ctx).map_or("system", |p| p.subject.as_str());
    let event = VendorVerified {
        vendor_id: vendor_id.to_string(),
    };
    publish(conn, &event, actor, correlation(ctx)).await?;
    Ok(())
}
