//! Machine clients: the client-credentials grant behind the OAuth token
//! endpoint (`crate::oauth` parses and answers the HTTP), and the
//! registration of service clients from configuration at start-up.
//! Whom a token speaks for and its scopes are fixed by the client's row,
//! never by the request (which may only narrow the scopes); failed attempts
//! are throttled per client and per address ([`crate::service::throttle`]).

use crate::domain::clients::{self, service_client_scopes};
use crate::domain::hash_secret;
use crate::domain::throttle::client_key;
use crate::service::audit;
use crate::service::throttle::Attempt;
use crate::store::clients::{self as sql, Registration, ServiceClientFields};
use chrono::Utc;
use janta_platform::auth::TokenSigner;
use janta_platform::config::SubgraphConfig;
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::ApiError;
use serde_json::json;
use std::time::Duration;

/// A client's request for a token, as the endpoint parsed it.
pub struct TokenRequest {
    /// The client's ID.
    pub client_id: String,
    /// The secret it presented.
    pub client_secret: String,
    /// The scopes it asks for (space-separated), if it narrows them.
    pub scope: Option<String>,
}

/// An issued access token.
pub struct Granted {
    /// The signed JWT.
    pub access_token: String,
    /// How long it lives.
    pub expires_in: Duration,
    /// The scopes it carries.
    pub scopes: Vec<String>,
}

/// Why no token was issued.
pub enum Refusal {
    /// Unknown client, wrong secret or a revoked client.
    InvalidClient,
    /// It asked for a scope it does not have.
    InvalidScope(String),
    /// Throttled (`RATE_LIMITED`) or our own fault.
    Failed(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Refusal::Failed(err)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        Refusal::Failed(err.into())
    }
}

/// The client-credentials grant (RFC 6749 §4.4): counts the attempt before
/// checking the secret, then signs a token with the client's scopes
/// (narrowed to those asked for).
pub async fn grant(
    db: &Store,
    signer: &TokenSigner,
    request: &TokenRequest,
    address: ClientAddress,
) -> Result<Granted, Refusal> {
    let attempt = Attempt::begin(db, &client_key(&request.client_id), address).await?;
    let client = sql::client_by_id(db, &request.client_id)
        .await?
        .filter(|c| clients::authenticates(c, &request.client_secret, Utc::now()))
        .ok_or(Refusal::InvalidClient)?;
    let mut tx = db.begin().await?;
    attempt.succeeded(&mut tx).await?;
    tx.commit().await?;
    let scopes = clients::grant_scopes(&client, request.scope.as_deref())
        .map_err(|refused| Refusal::InvalidScope(refused.0))?;
    let ttl = client.kind.token_ttl();
    let principal = clients::principal(&client, scopes.clone());
    let (access_token, _) = signer.sign(&principal, ttl).map_err(ApiError::from)?;
    tracing::info!(client_id = %client.id, "access token issued");
    Ok(Granted {
        access_token,
        expires_in: ttl,
        scopes,
    })
}

/// Registers the service clients of users' configuration
/// (`service_clients`) in `oauth_clients`: new ones are created; a changed
/// secret becomes current while the old one keeps working for
/// `service_secret_overlap`, so subgraphs can restart one at a time; each
/// change is audited.
pub async fn register_service_clients(
    store: &Store,
    config: &SubgraphConfig,
) -> anyhow::Result<()> {
    let overlap_ends = Utc::now() + chrono::Duration::from_std(config.service_secret_overlap)?;
    for (service, secret) in &config.service_clients {
        let scopes = service_client_scopes(service).join(" ");
        let fields = ServiceClientFields {
            client_id: service,
            scopes: &scopes,
            secret_hash: &hash_secret(secret.expose()),
            previous_valid_until: overlap_ends,
        };
        let mut tx = store.begin().await?;
        let action = match sql::register_service_client(&mut tx, &fields).await? {
            Registration::Created => Some("service_client_registered"),
            Registration::Rotated => Some("service_client_secret_rotated"),
            Registration::Unchanged => None,
        };
        if let Some(action) = action {
            let after = json!({ "kind": "SERVICE", "scopes": scopes });
            audit(
                &mut tx,
                "system",
                "oauth_client",
                service,
                action,
                None,
                Some(after),
            )
            .await?;
        }
        tx.commit().await?;
        if let Some(action) = action {
            tracing::info!(client_id = %service, action, "service client configured");
        }
    }
    Ok(())
}
