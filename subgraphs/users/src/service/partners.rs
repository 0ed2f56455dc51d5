//! Partner apps managed through the API: registering one (its secret shown
//! once, stored hashed), rotating its secret with an overlap, and revoking
//! it. Who may do what for which owner is [`crate::domain::partners`]; the
//! token endpoint ([`crate::service::clients::grant`]) then issues tokens
//! from the app's row. Each use case is one transaction with its audit entry.

use crate::domain::partners::{may_manage, new_client_secret, scopes_text};
use crate::service::audit;
use crate::service::vendors::vendor_in;
use crate::store::clients::{self as sql, NewPartnerApp, PartnerAppRow};
use chrono::{Duration, Utc};
use janta_platform::auth::{PartnerScope, Principal};
use janta_platform::ids::new_id;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Audit entity of OAuth clients (service clients use it too).
const ENTITY: &str = "oauth_client";

/// An app with a secret just issued: the only moment the secret is seen.
pub struct Credentials {
    /// The app.
    pub app: PartnerAppRow,
    /// Its new client secret, in clear.
    pub client_secret: String,
}

/// What registering a partner app asks for.
pub struct NewApp<'a> {
    /// Display name, already checked.
    pub name: &'a str,
    /// Owning vendor as decided by [`crate::domain::partners::owner_for_registration`];
    /// None: the platform.
    pub owner_vendor_id: Option<&'a str>,
    /// Granted scopes, deduplicated.
    pub scopes: &'a [PartnerScope],
}

/// Registers a partner app as `actor` (already allowed to for this owner)
/// with a fresh secret. The owning vendor must exist (`NOT_FOUND`).
pub async fn register(db: &Store, actor: &Principal, app: &NewApp<'_>) -> ApiResult<Credentials> {
    let (client_secret, secret_hash) = new_client_secret();
    let id = new_id();
    let scopes = scopes_text(app.scopes);
    let mut tx = db.begin().await?;
    if let Some(vendor) = app.owner_vendor_id {
        vendor_in(&mut tx, vendor).await?;
    }
    let fields = NewPartnerApp {
        id: &id,
        name: app.name,
        owner_vendor_id: app.owner_vendor_id,
        scopes: &scopes,
        secret_hash: &secret_hash,
    };
    sql::insert_partner_app(&mut tx, &fields).await?;
    let after = json!({ "kind": "PARTNER", "name": app.name,
        "ownerVendorId": app.owner_vendor_id, "scopes": scopes });
    let action = "partner_app_registered";
    audit(
        &mut tx,
        &actor.subject,
        ENTITY,
        &id,
        action,
        None,
        Some(after),
    )
    .await?;
    let app = app_in(&mut tx, &id).await?;
    tx.commit().await?;
    tracing::info!(client_id = %id, "partner app registered");
    Ok(Credentials { app, client_secret })
}

/// Gives the app a new secret; the one it replaces keeps working for
/// `overlap` (zero: it stops now). A revoked app cannot be rotated
/// (`CONFLICT`).
pub async fn rotate_secret(
    db: &Store,
    actor: &Principal,
    id: &str,
    overlap: Duration,
) -> ApiResult<Credentials> {
    let (client_secret, secret_hash) = new_client_secret();
    let until = Utc::now() + overlap;
    let mut tx = db.begin().await?;
    managed_app(&mut tx, actor, id).await?;
    if !sql::rotate_partner_secret(&mut tx, id, &secret_hash, until).await? {
        return Err(ApiError::conflict("this partner app is revoked"));
    }
    let after = json!({ "previousSecretValidUntil": until.to_rfc3339() });
    let action = "partner_app_secret_rotated";
    audit(
        &mut tx,
        &actor.subject,
        ENTITY,
        id,
        action,
        None,
        Some(after),
    )
    .await?;
    let app = app_in(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(client_id = %id, "partner app secret rotated");
    Ok(Credentials { app, client_secret })
}

/// Revokes the app: none of its secrets works any more, so it gets no new
/// tokens (those issued live out their lifetime, at most 15 minutes).
/// Revoking a revoked app changes nothing.
pub async fn revoke(db: &Store, actor: &Principal, id: &str) -> ApiResult<PartnerAppRow> {
    let mut tx = db.begin().await?;
    managed_app(&mut tx, actor, id).await?;
    if sql::revoke_partner_app(&mut tx, id).await? {
        let action = "partner_app_revoked";
        audit(&mut tx, &actor.subject, ENTITY, id, action, None, None).await?;
        tracing::info!(client_id = %id, "partner app revoked");
    }
    let app = app_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(app)
}

/// The app, if `actor` may manage it (`NOT_FOUND` / `FORBIDDEN`).
async fn managed_app(
    conn: &mut AnyConnection,
    actor: &Principal,
    id: &str,
) -> ApiResult<PartnerAppRow> {
    let app = app_in(conn, id).await?;
    if !may_manage(actor, app.owner_vendor_id.as_deref()) {
        return Err(ApiError::forbidden(
            "only platform admins and the owning pharmacy's admins manage this app",
        ));
    }
    Ok(app)
}

async fn app_in(conn: &mut AnyConnection, id: &str) -> ApiResult<PartnerAppRow> {
    sql::partner_app(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("partner app"))
}
