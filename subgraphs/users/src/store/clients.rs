//! SQL of OAuth clients (`oauth_clients`): the token endpoint's lookups and
//! the registration of service clients from configuration.

use crate::domain::clients::{Client, ClientKind};
use chrono::{DateTime, Utc};
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
