//! Rules of OAuth clients (no I/O): who a client's tokens speak for, which
//! scopes a token request may ask for, and how a presented secret is
//! checked against the stored hashes (the current one, and during a
//! rotation the previous one until its deadline).

use super::hash_secret;
use chrono::{DateTime, Utc};
use janta_platform::auth::{service_scope, Principal, Role};
use std::time::Duration;

/// What kind of machine a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// A Janta subgraph calling another's service-only fields.
    Service,
    /// A partner's app (clinic, insurer, logistics), owned by a vendor or
    /// by the platform.
    Partner,
}

impl ClientKind {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            ClientKind::Service => "SERVICE",
            ClientKind::Partner => "PARTNER",
        }
    }

    /// Reads the storage form; unknown kinds are no kind (never trusted).
    pub fn from_db(kind: &str) -> Option<Self> {
        match kind {
            "SERVICE" => Some(ClientKind::Service),
            "PARTNER" => Some(ClientKind::Partner),
            _ => None,
        }
    }

    /// How long this kind's access tokens live.
    pub fn token_ttl(self) -> Duration {
        match self {
            ClientKind::Service => Duration::from_secs(5 * 60),
            ClientKind::Partner => Duration::from_secs(15 * 60),
        }
    }
}

/// A registered client, as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct Client {
    /// The `client_id`.
    pub id: String,
    /// Service or partner app.
    pub kind: ClientKind,
    /// The vendor owning a partner app; None: the platform.
    pub owner_vendor_id: Option<String>,
    /// The scopes every token of this client carries at most.
    pub scopes: Vec<String>,
    /// SHA-256 (hex) of the current secret.
    pub secret_hash: String,
    /// SHA-256 (hex) of the secret before the last rotation, with the
    /// instant it stops working.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// Revoked clients get no tokens.
    pub revoked: bool,
}

/// The scopes of service client `service`: the one naming it, which
/// service-only fields check ([`janta_platform::auth::require_service_of`]).
pub fn service_client_scopes(service: &str) -> Vec<String> {
    vec![service_scope(service)]
}

/// Whether `presented` is `client`'s secret at `now`: the current one, or
/// the previous one before its deadline; never for a revoked client.
/// Compared in constant time; client secrets carry at least 32 bytes of
/// entropy, so their SHA-256 suffices (no password-style stretching).
pub fn authenticates(client: &Client, presented: &str, now: DateTime<Utc>) -> bool {
    let hash = hash_secret(presented);
    let current = constant_time_eq(&hash, &client.secret_hash);
    let previous = match &client.previous_secret {
        Some((previous, until)) => constant_time_eq(&hash, previous) & (now < *until),
        None => false,
    };
    (current | previous) & !client.revoked
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Why a requested scope is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRefused(pub String);

/// The scopes to grant: all of the client's when none are asked for,
/// else those asked for, each of which the client must hold (a request
/// may narrow its scopes, never widen them).
pub fn grant_scopes(client: &Client, requested: Option<&str>) -> Result<Vec<String>, ScopeRefused> {
    let requested: Vec<&str> = requested
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if requested.is_empty() {
        return Ok(client.scopes.clone());
    }
    let mut granted = Vec::new();
    for scope in requested {
        if !client.scopes.iter().any(|own| own == scope) {
            return Err(ScopeRefused(format!(
                "this client may not request scope {scope:?}"
            )));
        }
        if !granted.iter().any(|g: &String| g == scope) {
            granted.push(scope.to_string());
        }
    }
    Ok(granted)
}

/// Who a token of `client` speaks for, fixed by the client (never by the
/// request): a service as `service:<id>` with role SERVICE; a partner app
/// as `partner:<id>` with role PARTNER and its owning vendor.
pub fn principal(client: &Client, scopes: Vec<String>) -> Principal {
    match client.kind {
        ClientKind::Service => Principal {
            subject: format!("service:{}", client.id),
            roles: vec![Role::Service],
            vendor_id: None,
            scopes,
        },
        ClientKind::Partner => Principal {
            subject: format!("partner:{}", client.id),
            roles: vec![Role::Partner],
            vendor_id: client.owner_vendor_id.clone(),
            scopes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(now: DateTime<Utc>) -> Client {
        Client {
            id: "orders".into(),
            kind: ClientKind::Service,
            owner_vendor_id: None,
            scopes: service_client_scopes("orders"),
            secret_hash: hash_secret("new secret"),
            previous_secret: Some((hash_secret("old secret"), now)),
            revoked: false,
        }
    }

    #[test]
    fn the_previous_secret_works_until_its_deadline() {
        let now = Utc::now();
        let client = orders(now + chrono::Duration::minutes(5));
        assert!(authenticates(&client, "new secret", now));
        assert!(authenticates(&client, "old secret", now));
        assert!(!authenticates(
            &client,
            "old secret",
            now + chrono::Duration::minutes(6)
        ));
        assert!(!authenticates(&client, "guess", now));
        let revoked = Client {
            revoked: true,
            ..client
        };
        assert!(!authenticates(&revoked, "new secret", now));
    }

    #[test]
    fn partner_tokens_speak_for_the_app_and_its_owner_within_its_scopes() {
        let app = Client {
            id: "app-1".into(),
            kind: ClientKind::Partner,
            owner_vendor_id: Some("ka".into()),
            scopes: vec!["catalog:read".into(), "stock:write".into()],
            ..orders(Utc::now())
        };
        let narrowed = grant_scopes(&app, Some("stock:write")).unwrap();
        assert_eq!(narrowed, vec!["stock:write"]);
        for wider in [
            "orders:write",
            "stock:write webhooks:manage",
            "service:orders",
        ] {
            assert!(grant_scopes(&app, Some(wider)).is_err(), "{wider}");
        }
        let principal = principal(&app, narrowed);
        assert_eq!(principal.subject, "partner:app-1");
        assert_eq!(principal.roles, vec![Role::Partner]);
        assert_eq!(principal.vendor_id.as_deref(), Some("ka"));
        assert_eq!(app.kind.token_ttl(), Duration::from_secs(15 * 60));
    }

    #[test]
    fn requests_may_narrow_scopes_but_not_widen_them() {
        let client = orders(Utc::now());
        assert_eq!(grant_scopes(&client, None).unwrap(), vec!["service:orders"]);
        assert_eq!(
            grant_scopes(&client, Some(" service:orders ")).unwrap(),
            vec!["service:orders"]
        );
        assert!(grant_scopes(&client, Some("service:orders service:catalog")).is_err());
        let principal = principal(&client, vec![]);
        assert_eq!(principal.subject, "service:orders");
        assert_eq!(principal.roles, vec![Role::Service]);
    }
}
