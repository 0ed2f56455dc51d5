//! Partner apps as the API shows them: never a secret, except the one just
//! issued in [`PartnerAppCredentials`].

use crate::domain::clients::ClientKind;
use crate::domain::partners::known_scopes;
use crate::schema::loaders::load_vendor;
use crate::schema::Vendor;
use crate::service::partners::Credentials;
use crate::store::clients::PartnerAppRow;
use async_graphql::{Context, InputObject, Object, ID};
use janta_platform::auth::PartnerScope;
use janta_platform::scalars::DateTime;
use janta_platform::ApiResult;

/// A partner's integration (clinic, insurer, logistics, a pharmacy's own
/// software) that obtains access tokens at the OAuth token endpoint with
/// the client-credentials grant. Owned by one pharmacy, or by the platform.
pub struct PartnerApp(pub(in crate::schema) PartnerAppRow);

#[Object]
impl PartnerApp {
    /// App ID; also its OAuth `client_id`.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The `client_id` to present at `POST /oauth/token` (same as `id`).
    async fn client_id(&self) -> &str {
        &self.0.id
    }
    /// Its display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The owning pharmacy's ID; null for a platform app. Its tokens carry
    /// it as their `vendor_id` claim.
    async fn vendor_id(&self) -> Option<ID> {
        self.0.owner_vendor_id.clone().map(ID)
    }
    /// The owning pharmacy; null for a platform app.
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Option<Vendor>> {
        match &self.0.owner_vendor_id {
            Some(id) => Ok(Some(Vendor(load_vendor(ctx, &ID(id.clone())).await?))),
            None => Ok(None),
        }
    }
    /// The scopes its tokens may carry (a token request may narrow them).
    async fn scopes(&self) -> Vec<PartnerScope> {
        known_scopes(&self.0.scopes)
    }
    /// How long its access tokens live, in seconds (15 minutes).
    async fn token_lifetime_seconds(&self) -> i32 {
        ClientKind::Partner.token_ttl().as_secs() as i32
    }
    /// Until when the secret replaced by the last rotation still works
    /// (null if it was never rotated).
    async fn previous_secret_valid_until(&self) -> Option<DateTime> {
        self.0.previous_secret_valid_until.map(DateTime)
    }
    /// When it was revoked (null while active). A revoked app gets no
    /// tokens; tokens issued before die within their lifetime.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(DateTime)
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it last changed (secret rotation, revocation).
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A partner app and a secret just issued for it. The secret is shown
/// this once and stored only hashed: keep it in your secret store.
pub struct PartnerAppCredentials(pub(in crate::schema) Credentials);

#[Object]
impl PartnerAppCredentials {
    /// The app.
    async fn app(&self) -> PartnerApp {
        PartnerApp(self.0.app.clone())
    }
    /// The `client_id` for the token endpoint.
    async fn client_id(&self) -> &str {
        &self.0.app.id
    }
    /// The `client_secret` for the token endpoint, shown only now.
    async fn client_secret(&self) -> &str {
        &self.0.client_secret
    }
}

/// A partner app to register.
#[derive(InputObject)]
pub struct RegisterPartnerAppInput {
    /// Display name (2 to 120 characters).
    pub name: String,
    /// The scopes its tokens may carry (at least one).
    pub scopes: Vec<PartnerScope>,
    /// The owning pharmacy. Vendor admins may only name their own (or
    /// omit it); platform admins omit it for a platform app.
    pub vendor_id: Option<ID>,
}
