//! SQL of OAuth clients (`oauth_clients`): the token endpoint's lookups,
//! the registration of service clients from configuration, and partner
//! apps (registered, rotated and revoked through the API).

use crate::domain::clients::{Client, ClientKind};
use chrono::{DateTime, Utc};
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{from_db_time, now_db, to_db_time};
use janta_platform::store::Store;
use janta_platform::ApiResult;
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct ClientRow {
    client_id: String,
    kind: String,
    owner_vendor_id: Option<String>,
    scopes: String,
    secret_hash: String,
    previous_secret_hash: Option<String>,
    previous_secret_valid_until: Option<String>,
    revoked_at: Option<String>,
}

impl ClientRow {
    /// None for a kind this code does not know (never trusted).
    fn into_client(self) -> ApiResult<Option<Client>> {
        let Some(kind) = ClientKind::from_db(&self.kind) else {
            return Ok(None);
        };
        let previous_secret = match (self.previous_secret_hash, self.previous_secret_valid_until) {
            (Some(hash), Some(until)) => Some((hash, from_db_time(&until)?)),
            _ => None,
        };
        Ok(Some(Client {
            id: self.client_id,
            kind,
            owner_vendor_id: self.owner_vendor_id,
            scopes: self
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            secret_hash: self.secret_hash,
            previous_secret,
            revoked: self.revoked_at.is_some(),
        }))
    }
}

/// One client by `client_id`.
pub async fn client_by_id(store: &Store, client_id: &str) -> ApiResult<Option<Client>> {
    let row: Option<ClientRow> = sqlx::query_as(
        "SELECT client_id, kind, owner_vendor_id, scopes, secret_hash, previous_secret_hash, \
         previous_secret_valid_until, revoked_at FROM oauth_clients WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(ClientRow::into_client).transpose()?.flatten())
}

/// What registering a service client changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The client is new.
    Created,
    /// Its secret changed; the previous one keeps working until the
    /// overlap ends.
    Rotated,
    /// Same secret as before (only its scopes are refreshed).
    Unchanged,
}

/// The fields of a service client as configuration gives them.
pub struct ServiceClientFields<'a> {
    /// Client ID (the service's domain).
    pub client_id: &'a str,
    /// Its fixed scopes, space-separated.
    pub scopes: &'a str,
    /// SHA-256 (hex) of its configured secret.
    pub secret_hash: &'a str,
    /// Until when the previous secret works if this one replaces it.
    pub previous_valid_until: DateTime<Utc>,
}

/// Creates a service client or brings it up to date: a changed secret
/// becomes the current one and the old one stays valid until
/// `previous_valid_until` (rotation overlap).
pub async fn register_service_client(
    conn: &mut AnyConnection,
    client: &ServiceClientFields<'_>,
) -> sqlx::Result<Registration> {
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT secret_hash FROM oauth_clients WHERE client_id = $1")
            .bind(client.client_id)
            .fetch_optional(&mut *conn)
            .await?;
    let now = now_db();
    let Some((current,)) = existing else {
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, kind, name, scopes, secret_hash, created_at, updated_at) \
             VALUES ($1, $2, $1, $3, $4, $5, $5) ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(client.client_id)
        .bind(ClientKind::Service.as_db())
        .bind(client.scopes)
        .bind(client.secret_hash)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        return Ok(Registration::Created);
    };
    let rotated = current != client.secret_hash;
    if rotated {
        sqlx::query(
            "UPDATE oauth_clients SET previous_secret_hash = secret_hash, \
             previous_secret_valid_until = $3, secret_hash = $2, scopes = $4, updated_at = $5 \
             WHERE client_id = $1",
        )
        .bind(client.client_id)
        .bind(client.secret_hash)
        .bind(to_db_time(client.previous_valid_until))
        .bind(client.scopes)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        return Ok(Registration::Rotated);
    }
    sqlx::query("UPDATE oauth_clients SET scopes = $2 WHERE client_id = $1 AND scopes <> $2")
        .bind(client.client_id)
        .bind(client.scopes)
        .execute(&mut *conn)
        .await?;
    Ok(Registration::Unchanged)
}

/// A partner app as its owner's admins see it (never its secrets).
#[derive(Debug, Clone)]
pub struct PartnerAppRow {
    /// App ID, which is also its `client_id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Owning vendor; None: the platform.
    pub owner_vendor_id: Option<String>,
    /// Granted scopes, space-separated.
    pub scopes: String,
    /// Until when the secret before the last rotation works, if any.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed (rotation, revocation).
    pub updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct PartnerAppText {
    client_id: String,
    name: String,
    owner_vendor_id: Option<String>,
    scopes: String,
    previous_secret_valid_until: Option<String>,
    revoked_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl PartnerAppText {
    fn typed(self) -> ApiResult<PartnerAppRow> {
        let time = |t: Option<String>| t.as_deref().map(from_db_time).transpose();
        Ok(PartnerAppRow {
            previous_secret_valid_until: time(self.previous_secret_valid_until)?,
            revoked_at: time(self.revoked_at)?,
            created_at: from_db_time(&self.created_at)?,
            updated_at: from_db_time(&self.updated_at)?,
            id: self.client_id,
            name: self.name,
            owner_vendor_id: self.owner_vendor_id,
            scopes: self.scopes,
        })
    }
}

const PARTNER_COLUMNS: &str = "client_id, name, owner_vendor_id, scopes, \
    previous_secret_valid_until, revoked_at, created_at, updated_at";

/// A new partner app's fields.
pub struct NewPartnerApp<'a> {
    /// App and client ID (UUIDv7).
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Owning vendor; None: the platform.
    pub owner_vendor_id: Option<&'a str>,
    /// Granted scopes, space-separated.
    pub scopes: &'a str,
    /// SHA-256 (hex) of its secret.
    pub secret_hash: &'a str,
}

/// Registers a partner app.
pub async fn insert_partner_app(
    conn: &mut AnyConnection,
    app: &NewPartnerApp<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO oauth_clients (client_id, kind, name, owner_vendor_id, scopes, secret_hash, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(app.id)
    .bind(ClientKind::Partner.as_db())
    .bind(app.name)
    .bind(app.owner_vendor_id)
    .bind(app.scopes)
    .bind(app.secret_hash)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// One partner app by ID (service clients are not partner apps).
pub async fn partner_app(conn: &mut AnyConnection, id: &str) -> ApiResult<Option<PartnerAppRow>> {
    let row: Option<PartnerAppText> = sqlx::query_as(&format!(
        "SELECT {PARTNER_COLUMNS} FROM oauth_clients WHERE client_id = $1 AND kind = $2"
    ))
    .bind(id)
    .bind(ClientKind::Partner.as_db())
    .fetch_optional(conn)
    .await?;
    row.map(PartnerAppText::typed).transpose()
}

/// Makes `secret_hash` the app's secret; the one it replaces keeps working
/// until `previous_valid_until` (and any older one stops). False if the
/// app is revoked (or not a partner app).
pub async fn rotate_partner_secret(
    conn: &mut AnyConnection,
    id: &str,
    secret_hash: &str,
    previous_valid_until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE oauth_clients SET previous_secret_hash = secret_hash, \
         previous_secret_valid_until = $3, secret_hash = $2, updated_at = $4 \
         WHERE client_id = $1 AND kind = $5 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(secret_hash)
    .bind(to_db_time(previous_valid_until))
    .bind(now_db())
    .bind(ClientKind::Partner.as_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes a partner app: no secret of it works any more. False if it
/// already was revoked.
pub async fn revoke_partner_app(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let now = now_db();
    let done = sqlx::query(
        "UPDATE oauth_clients SET revoked_at = $2, updated_at = $2 \
         WHERE client_id = $1 AND kind = $3 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(&now)
    .bind(ClientKind::Partner.as_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A page of partner apps in registration order (IDs are UUIDv7), of one
/// vendor, or of every owner when `owner` is None; with their total.
pub async fn list_partner_apps(
    store: &Store,
    owner: Option<&str>,
    page: &PageRequest,
) -> ApiResult<(Vec<PartnerAppRow>, i64)> {
    let after = page
        .after
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let owner = owner.unwrap_or("");
    let rows: Vec<PartnerAppText> = sqlx::query_as(&format!(
        "SELECT {PARTNER_COLUMNS} FROM oauth_clients WHERE kind = $1 \
         AND ($2 = '' OR owner_vendor_id = $2) AND client_id > $3 ORDER BY client_id LIMIT $4"
    ))
    .bind(ClientKind::Partner.as_db())
    .bind(owner)
    .bind(&after)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let total = page
        .total(
            sqlx::query_as(
                "SELECT COUNT(*) FROM oauth_clients WHERE kind = $1 AND ($2 = '' OR owner_vendor_id = $2)",
            )
            .bind(ClientKind::Partner.as_db())
            .bind(owner)
            .fetch_one(store.pool()),
        )
        .await?;
    let rows = rows
        .into_iter()
        .map(PartnerAppText::typed)
        .collect::<ApiResult<_>>()?;
    Ok((rows, total))
}
