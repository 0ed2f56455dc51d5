//! Events the users subgraph publishes (through its outbox):
//! `UserRegistered` and `VendorVerified`. It consumes none.

use crate::store::UserRow;
use async_graphql::Context;
use janta_platform::auth::optional_principal;
use janta_platform::events::{publish, Envelope};
use janta_platform::server::CorrelationId;
use janta_platform::ApiResult;
use serde_json::json;
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
    let event = Envelope::new(
        "UserRegistered",
        "user",
        &user.id,
        &user.id,
        correlation(ctx),
        json!({ "userId": user.id, "fullName": user.full_name }),
    );
    Ok(publish(conn, &event).await?)
}

/// A vendor's licences were verified; it may now sell.
pub async fn vendor_verified(
    conn: &mut AnyConnection,
    vendor_id: &str,
    ctx: &Context<'_>,
) -> ApiResult<()> {
    let actor = optional_principal(ctx).map_or("system", |p| p.subject.as_str());
    let event = Envelope::new(
        "VendorVerified",
        "vendor",
        vendor_id,
        actor,
        correlation(ctx),
        json!({ "vendorId": vendor_id }),
    );
    Ok(publish(conn, &event).await?)
}
