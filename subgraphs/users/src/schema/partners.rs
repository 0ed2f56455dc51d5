//! Partner apps: platform admins register platform apps (and any
//! pharmacy's), a vendor admin their own pharmacy's; each app gets a
//! client ID and a secret for the OAuth token endpoint, shown once. Every
//! field authorises here, so the subgraph reached directly is as safe.

use crate::domain::{self, partners};
use crate::schema::{state, PartnerApp, PartnerAppCredentials, RegisterPartnerAppInput};
use crate::service::partners::{self as service, NewApp};
use crate::store::clients::list_partner_apps;
use async_graphql::{Context, Object, ID};
use janta_platform::auth::principal;
use janta_platform::ids::parse_id;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::ApiResult;

/// Read operations on partner apps.
#[derive(Default)]
pub struct PartnerQuery;

#[Object]
impl PartnerQuery {
    /// Partner apps in registration order, never with their secrets: a
    /// pharmacy's (its admins, or platform admins); without `vendorId`,
    /// your own pharmacy's for a vendor admin and every app (platform and
    /// pharmacies') for a platform admin.
    async fn partner_apps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The owning pharmacy")] vendor_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<PartnerApp>> {
        let actor = principal(ctx)?;
        let vendor_id = vendor_id.map(|v| parse_id(&v, "vendorId")).transpose()?;
        let owner = partners::owner_for_listing(actor, vendor_id.as_deref())?;
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let (rows, total) = list_partner_apps(&state(ctx).store, owner.as_deref(), &page).await?;
        let nodes = rows.into_iter().map(PartnerApp).collect();
        Ok(build_connection(&page, nodes, total, |app| Cursor {
            key: app.0.id.clone(),
            id: app.0.id.clone(),
        }))
    }
}

/// Write operations on partner apps, each audited.
#[derive(Default)]
pub struct PartnerMutation;

#[Object]
impl PartnerMutation {
    /// Registers a partner app and issues its client ID and secret. The
    /// secret is shown only in this answer (it is stored hashed). A vendor
    /// admin registers apps of their own pharmacy only (another's is
    /// `FORBIDDEN`); a platform admin without `vendorId` registers a
    /// platform app. Unknown scopes are refused.
    async fn register_partner_app(
        &self,
        ctx: &Context<'_>,
        input: RegisterPartnerAppInput,
    ) -> ApiResult<PartnerAppCredentials> {
        let actor = principal(ctx)?;
        let vendor_id = input
            .vendor_id
            .map(|v| parse_id(&v, "vendorId"))
            .transpose()?;
        let owner = partners::owner_for_registration(actor, vendor_id.as_deref())?;
        let name = domain::parse_text(&input.name, "name", 2, 120)?;
        let scopes = partners::parse_scopes(&input.scopes)?;
        let app = NewApp {
            name: &name,
            owner_vendor_id: owner.as_deref(),
            scopes: &scopes,
        };
        let issued = service::register(&state(ctx).store, actor, &app).await?;
        Ok(PartnerAppCredentials(issued))
    }

    /// Issues a new secret for a partner app (shown only in this answer).
    /// The old one keeps working for `overlapMinutes` (default, or null,
    /// 60; at most 7 days; 0 ends it at once) so deployments can switch over; a
    /// secret older than that stops now. A revoked app is `CONFLICT`.
    async fn rotate_partner_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The app")] app_id: ID,
        #[graphql(
            desc = "Minutes the old secret keeps working (0 to 10080; null: 60)",
            default = 60
        )]
        overlap_minutes: Option<i32>,
    ) -> ApiResult<PartnerAppCredentials> {
        let actor = principal(ctx)?;
        let app_id = parse_id(&app_id, "appId")?;
        let minutes = overlap_minutes.unwrap_or(partners::DEFAULT_OVERLAP_MINUTES);
        let overlap = partners::rotation_overlap(minutes)?;
        let issued = service::rotate_secret(&state(ctx).store, actor, &app_id, overlap).await?;
        Ok(PartnerAppCredentials(issued))
    }

    /// Revokes a partner app for good: it can no longer obtain tokens, and
    /// tokens it already holds expire within their 15-minute lifetime.
    /// Revoking it again changes nothing.
    async fn revoke_partner_app(&self, ctx: &Context<'_>, app_id: ID) -> ApiResult<PartnerApp> {
        let actor = principal(ctx)?;
        let app_id = parse_id(&app_id, "appId")?;
        let app = service::revoke(&state(ctx).store, actor, &app_id).await?;
        Ok(PartnerApp(app))
    }
}
