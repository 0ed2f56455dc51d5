//! Identity on every request: access tokens are EdDSA JWTs signed by the
//! users subgraph; every subgraph verifies them itself (against the users
//! JWKS, cached) and authorises each field with the guards below, so a
//! subgraph reached directly is exactly as safe as through the router.

use crate::{ApiError, ApiResult};
use anyhow::Context as _;
use async_graphql::{Context, Enum};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// What a principal may do. Staff roles are scoped to one vendor (`vendor_id`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Buys medicines for themselves and their family.
    Customer,
    /// Reviews prescriptions for one vendor.
    Pharmacist,
    /// Runs one vendor: listings, stock, orders, staff.
    VendorAdmin,
    /// Operates the platform.
    Admin,
    /// A partner integration (clinic, insurer, logistics) with scopes.
    Partner,
    /// Another Janta subgraph calling a service-only operation.
    Service,
}

/// The claims of a Janta access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User ID, or `service:<name>` for service principals.
    pub sub: String,
    /// Granted roles.
    pub roles: Vec<Role>,
    /// The vendor a staff member works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// Space-separated scopes of partner clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since epoch).
    pub exp: i64,
    /// Issued at (seconds since epoch).
    pub iat: i64,
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User ID or `service:<name>`.
    pub subject: String,
    /// Granted roles.
    pub roles: Vec<Role>,
    /// Vendor of staff members.
    pub vendor_id: Option<String>,
    /// Partner scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Platform administrators may do anything an operator needs.
    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Pharmacist or vendor admin of `vendor_id`.
    pub fn is_staff_of(&self, vendor_id: &str) -> bool {
        (self.has_role(Role::Pharmacist) || self.has_role(Role::VendorAdmin))
            && self.vendor_id.as_deref() == Some(vendor_id)
    }
}

impl Principal {
    /// Whether a partner app's token allows `scope`: a no-op for every
    /// other principal (people and services are authorised by their roles),
    /// `FORBIDDEN` for a partner token not granted `scope`. Fields partners
    /// may reach call this besides their role checks.
    pub fn require_scope(&self, scope: PartnerScope) -> ApiResult<()> {
        if !self.has_role(Role::Partner) || self.scopes.iter().any(|s| s == scope.as_str()) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this partner token lacks the scope {}",
                scope.as_str()
            )))
        }
    }

    /// Whether this is a partner app's token (role `PARTNER`).
    pub fn is_partner(&self) -> bool {
        self.has_role(Role::Partner)
    }

    /// Whether the principal may act for `vendor_id` in the way `scope`
    /// names: that vendor's staff (pharmacist or vendor admin), or a partner
    /// app owned by that vendor whose token holds `scope`. Platform partner
    /// apps (no vendor) never act for a vendor. Admins are not included:
    /// callers add `is_admin()` where admins may act too.
    pub fn acts_for_vendor(&self, vendor_id: &str, scope: PartnerScope) -> bool {
        self.is_staff_of(vendor_id)
            || (self.is_partner()
                && self.vendor_id.as_deref() == Some(vendor_id)
                && self.scopes.iter().any(|s| s == scope.as_str()))
    }

    /// `FORBIDDEN` for partner tokens: fields no partner scope covers
    /// (a customer's cart or account, prescriptions, payments) call it.
    pub fn refuse_partner(&self) -> ApiResult<()> {
        if self.is_partner() {
            Err(ApiError::forbidden("partner apps may not use this field"))
        } else {
            Ok(())
        }
    }
}

/// The closed list of scopes a partner app may be granted (documented in
/// `docs/partners.md`): what its client-credentials tokens may do. A token
/// carries them space-separated in its `scope` claim, in the `as_str` form.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PartnerScope {
    /// `catalog:read`: read medicines, listings, prices and stock.
    CatalogRead,
    /// `listings:write`: create and change the owner's listings.
    ListingsWrite,
    /// `stock:write`: change the owner's stock (batches, quantities).
    StockWrite,
    /// `orders:read`: read the owner's orders.
    OrdersRead,
    /// `orders:write`: act on the owner's orders (accept, pack, ship).
    OrdersWrite,
    /// `webhooks:manage`: register and change the app's webhooks.
    WebhooksManage,
}

impl PartnerScope {
    /// Every scope, in documentation order.
    pub const ALL: [PartnerScope; 6] = [
        PartnerScope::CatalogRead,
        PartnerScope::ListingsWrite,
        PartnerScope::StockWrite,
        PartnerScope::OrdersRead,
        PartnerScope::OrdersWrite,
        PartnerScope::WebhooksManage,
    ];

    /// The OAuth form, as in token requests and the `scope` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerScope::CatalogRead => "catalog:read",
            PartnerScope::ListingsWrite => "listings:write",
            PartnerScope::StockWrite => "stock:write",
            PartnerScope::OrdersRead => "orders:read",
            PartnerScope::OrdersWrite => "orders:write",
            PartnerScope::WebhooksManage => "webhooks:manage",
        }
    }

    /// Reads the OAuth form; anything outside the list is no scope (refused).
    pub fn parse(scope: &str) -> Option<Self> {
        PartnerScope::ALL.into_iter().find(|s| s.as_str() == scope)
    }
}

impl From<Claims> for Principal {
    fn from(c: Claims) -> Self {
        Principal {
            subject: c.sub,
            roles: c.roles,
            vendor_id: c.vendor_id,
            scopes: c
                .scope
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }
}

/// Request data: the caller, if the request carried a valid token.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

/// The caller if any (for fields that anonymous callers may read too).
pub fn optional_principal<'a>(ctx: &Context<'a>) -> Option<&'a Principal> {
    ctx.data_opt::<Caller>().and_then(|c| c.0.as_ref())
}

/// The caller, or `UNAUTHENTICATED`.
pub fn principal<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    optional_principal(ctx).ok_or_else(|| ApiError::unauthenticated("sign in first"))
}

/// The caller if they hold one of `roles`, else `FORBIDDEN`.
pub fn require_any_role<'a>(ctx: &Context<'a>, roles: &[Role]) -> ApiResult<&'a Principal> {
    let p = principal(ctx)?;
    if roles.iter().any(|r| p.has_role(*r)) {
        Ok(p)
    } else {
        Err(ApiError::forbidden("you are not allowed to do this"))
    }
}

/// A platform administrator.
pub fn require_admin<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    require_any_role(ctx, &[Role::Admin])
}

/// Another subgraph (service principal); customers never reach these operations.
pub fn require_service<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    require_any_role(ctx, &[Role::Service])
}

/// The scope the users token endpoint fixes on service client `service`'s
/// tokens (`service:orders`): which service is calling.
pub fn service_scope(service: &str) -> String {
    format!("service:{service}")
}

/// One of `services` (by the scope of its client-credentials token): for
/// service-only fields that only some subgraphs may call.
pub fn require_service_of<'a>(ctx: &Context<'a>, services: &[&str]) -> ApiResult<&'a Principal> {
    let caller = require_service(ctx)?;
    let allowed = services
        .iter()
        .any(|service| caller.scopes.contains(&service_scope(service)));
    if allowed {
        Ok(caller)
    } else {
        Err(ApiError::forbidden(format!(
            "only the {} service may call this",
            services.join(" or ")
        )))
    }
}

/// Vendor staff (pharmacist or vendor admin) and their vendor's ID.
pub fn require_vendor_staff<'a>(ctx: &Context<'a>) -> ApiResult<(&'a Principal, &'a str)> {
    let p = require_any_role(ctx, &[Role::Pharmacist, Role::VendorAdmin])?;
    let vendor = p
        .vendor_id
        .as_deref()
        .ok_or_else(|| ApiError::forbidden("your account is not attached to a vendor"))?;
    Ok((p, vendor))
}

/// The vendor a vendor-scoped operation acts for: the caller's own vendor
/// if they are its staff, or if they are a partner app of a vendor whose
/// token holds `scope`. Platform partner apps (no vendor) and partners
/// lacking `scope` are `FORBIDDEN`, as is everyone else.
pub fn require_vendor_actor<'a>(
    ctx: &Context<'a>,
    scope: PartnerScope,
) -> ApiResult<(&'a Principal, &'a str)> {
    let p = principal(ctx)?;
    if !p.is_partner() {
        return require_vendor_staff(ctx);
    }
    p.require_scope(scope)?;
    let vendor = p.vendor_id.as_deref().ok_or_else(|| {
        ApiError::forbidden("platform partner apps act for no vendor; use a vendor's app")
    })?;
    Ok((p, vendor))
}

/// Signs access tokens with an Ed25519 key and publishes its public half as a JWKS.
/// Used by the users subgraph, and by tests that need tokens.
pub struct TokenSigner {
    kid: String,
    encoding: EncodingKey,
    public_x: String,
    issuer: String,
    audience: String,
}

impl TokenSigner {
    /// A signer from a PKCS#8 PEM private key.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key =
            SigningKey::from_pkcs8_pem(pem).context("signing key is not an Ed25519 PKCS#8 PEM")?;
        let public = key.verifying_key().to_bytes();
        let kid = hex_prefix(&Sha256::digest(public));
        Ok(TokenSigner {
            kid,
            encoding: EncodingKey::from_ed_pem(pem.as_bytes()).context("bad signing key")?,
            public_x: URL_SAFE_NO_PAD.encode(public),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        })
    }

    /// A signer with a freshly generated key (tests, key rotation tooling).
    pub fn generate(issuer: &str, audience: &str) -> anyhow::Result<Self> {
        Self::from_pem(&generate_pem()?, issuer, audience)
    }

    /// Signs a token for `principal` valid for `ttl`.
    pub fn sign(&self, principal: &Principal, ttl: Duration) -> anyhow::Result<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let exp = now + ttl.as_secs() as i64;
        let claims = Claims {
            sub: principal.subject.clone(),
            roles: principal.roles.clone(),
            vendor_id: principal.vendor_id.clone(),
            scope: (!principal.scopes.is_empty()).then(|| principal.scopes.join(" ")),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp,
            iat: now,
        };
        self.sign_claims(&claims).map(|t| (t, exp))
    }

    /// Signs arbitrary claims (tests use it to forge expired or misaddressed tokens).
    pub fn sign_claims(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// The public key set served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": self.public_x,
            "kid": self.kid, "alg": "EdDSA", "use": "sig"
        }]})
    }

    /// A verifier that trusts exactly this signer's key (no HTTP).
    pub fn local_verifier(&self) -> anyhow::Result<TokenVerifier> {
        let keys = parse_jwks(&self.jwks())?;
        Ok(TokenVerifier::new(
            KeySource::Local(keys),
            &self.issuer,
            &self.audience,
        ))
    }
}

/// A new Ed25519 private key as PKCS#8 PEM.
pub fn generate_pem() -> anyhow::Result<String> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    Ok(key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .context("cannot encode key")?
        .to_string())
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Where verification keys come from.
pub enum KeySource {
    /// Keys known in-process (the users subgraph verifies with its own key).
    Local(HashMap<String, DecodingKey>),
    /// A JWKS URL, fetched on first use and when an unknown key ID appears.
    Remote(RemoteJwks),
}

/// A cached remote JWKS.
pub struct RemoteJwks {
    url: String,
    http: reqwest::Client,
    cache: RwLock<JwksCache>,
}

#[derive(Default)]
struct JwksCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Keys are re-fetched at most this often when an unknown `kid` shows up,
/// so forged `kid`s cannot make us hammer the users subgraph.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// Cached keys are refreshed after this age (key rotation).
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);

impl RemoteJwks {
    /// A JWKS fetched from `url`.
    pub fn new(url: &str) -> Self {
        RemoteJwks {
            url: url.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("static HTTP client configuration"),
            cache: RwLock::new(JwksCache::default()),
        }
    }

    async fn key(&self, kid: &str) -> ApiResult<DecodingKey> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.fetched_at.is_some_and(|t| t.elapsed() < JWKS_MAX_AGE);
            if let Some(key) = cache.keys.get(kid).filter(|_| fresh) {
                return Ok(key.clone());
            }
        }
        let mut cache = self.cache.write().await;
        let may_refresh = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() >= JWKS_MIN_REFRESH);
        if may_refresh {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                }
                Err(err) if cache.keys.is_empty() => return Err(ApiError::internal(err)),
                Err(err) => tracing::warn!(
                    error = format!("{err:#}"),
                    "JWKS refresh failed; using cached keys"
                ),
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated("token signed with an unknown key"))
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let body: serde_json::Value = self
            .http
            .get(&self.url)
            .send()
            .await
            .context("JWKS request failed")?
            .error_for_status()?
            .json()
            .await
            .context("JWKS is not JSON")?;
        parse_jwks(&body)
    }
}

fn parse_jwks(value: &serde_json::Value) -> anyhow::Result<HashMap<String, DecodingKey>> {
    let set: JwkSet = serde_json::from_value(value.clone()).context("invalid JWKS")?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        if let Some(kid) = &jwk.common.key_id {
            keys.insert(kid.clone(), DecodingKey::from_jwk(jwk)?);
        }
    }
    Ok(keys)
}

/// Verifies access tokens: signature (EdDSA only), `iss`, `aud`, `exp`.
///
/// A request through the router reaches up to seven subgraph fetches, each
/// carrying the same token; checking its Ed25519 signature each time was
/// 8 % of a subgraph's CPU under load. So a verified token's principal is
/// kept (by the token's SHA-256) until the token expires — never longer, so
/// an expired token is refused as before — in a cache of at most
/// [`VERIFIED_CACHE_LIMIT`] tokens.
pub struct TokenVerifier {
    keys: KeySource,
    validation: Validation,
    verified: std::sync::Mutex<HashMap<[u8; 32], VerifiedToken>>,
}

/// How many verified tokens a subgraph remembers: a few megabytes at most.
/// When full, expired entries go; if none has expired, the cache starts
/// over (a burst of distinct users costs verification, never memory).
pub const VERIFIED_CACHE_LIMIT: usize = 10_000;

/// A token that passed verification, until its expiry.
#[derive(Clone)]
struct VerifiedToken {
    principal: Principal,
    /// Expiry, seconds since the epoch.
    exp: i64,
}

impl TokenVerifier {
    /// A verifier for tokens from `issuer` meant for `audience`.
    pub fn new(keys: KeySource, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenVerifier {
            keys,
            validation,
            verified: std::sync::Mutex::default(),
        }
    }

    /// A verifier that fetches keys from a JWKS URL.
    pub fn remote(jwks_url: &str, issuer: &str, audience: &str) -> Self {
        Self::new(
            KeySource::Remote(RemoteJwks::new(jwks_url)),
            issuer,
            audience,
        )
    }

    /// Checks a bearer token and returns its principal.
    pub async fn verify(&self, token: &str) -> ApiResult<Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        if let Some(principal) = self.remembered(&digest, now) {
            return Ok(principal);
        }
        let claims = self.verify_signed(token).await?;
        self.remember(digest, &claims, now);
        Ok(claims.into())
    }

    /// The principal of a token verified before, while it has not expired.
    fn remembered(&self, digest: &[u8; 32], now: i64) -> Option<Principal> {
        let cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        let hit = cache.get(digest)?;
        (now < hit.exp).then(|| hit.principal.clone())
    }

    /// Keeps a verified token's principal until its expiry, within
    /// [`VERIFIED_CACHE_LIMIT`].
    fn remember(&self, digest: [u8; 32], claims: &Claims, now: i64) {
        if claims.exp <= now {
            return; // accepted within the leeway: verify again next time
        }
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= VERIFIED_CACHE_LIMIT {
            cache.retain(|_, token| token.exp > now);
            if cache.len() >= VERIFIED_CACHE_LIMIT {
                cache.clear();
            }
        }
        let principal = Principal::from(claims.clone());
        cache.insert(
            digest,
            VerifiedToken {
                principal,
                exp: claims.exp,
            },
        );
    }

    /// Checks the token's signature and claims.
    async fn verify_signed(&self, token: &str) -> ApiResult<Claims> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::unauthenticated("malformed access token"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(ApiError::unauthenticated("unsupported token algorithm"));
        }
        let kid = header
            .kid
            .ok_or_else(|| ApiError::unauthenticated("access token has no key ID"))?;
        let key = match &self.keys {
            KeySource::Local(keys) => keys
                .get(&kid)
                .cloned()
                .ok_or_else(|| ApiError::unauthenticated("token signed with an unknown key"))?,
            KeySource::Remote(jwks) => jwks.key(&kid).await?,
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthenticated("access token expired")
                }
                _ => ApiError::unauthenticated("invalid access token"),
            }
        })?;
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> Principal {
        Principal {
            subject: "u1".into(),
            roles: vec![Role::Customer],
            vendor_id: None,
            scopes: vec![],
        }
    }

    #[test]
    fn partner_scopes_are_a_closed_list() {
        for scope in PartnerScope::ALL {
            assert_eq!(PartnerScope::parse(scope.as_str()), Some(scope));
        }
        let read = PartnerScope::parse("orders:read");
        assert_eq!(read, Some(PartnerScope::OrdersRead));
        let unknown = ["orders:delete", "ORDERS:READ", "", "service:x", " read"];
        for unknown in unknown {
            assert_eq!(PartnerScope::parse(unknown), None, "{unknown:?}");
        }
    }

    fn partner(vendor: Option<&str>, scopes: &[&str]) -> Principal {
        Principal {
            subject: "partner:app".into(),
            roles: vec![Role::Partner],
            vendor_id: vendor.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn acts_for_vendor_needs_the_vendor_and_for_partners_the_scope() {
        let ka = partner(Some("ka"), &["orders:read"]);
        assert!(ka.acts_for_vendor("ka", PartnerScope::OrdersRead));
        assert!(!ka.acts_for_vendor("mh", PartnerScope::OrdersRead));
        assert!(!ka.acts_for_vendor("ka", PartnerScope::OrdersWrite));
        let platform = partner(None, &["orders:read", "catalog:read"]);
        assert!(!platform.acts_for_vendor("ka", PartnerScope::OrdersRead));
        let staff = Principal {
            subject: "s1".into(),
            roles: vec![Role::Pharmacist],
            vendor_id: Some("ka".into()),
            scopes: vec![],
        };
        assert!(staff.acts_for_vendor("ka", PartnerScope::StockWrite));
        assert!(!staff.acts_for_vendor("mh", PartnerScope::StockWrite));
        let admin = Principal {
            roles: vec![Role::Admin],
            ..customer()
        };
        assert!(!admin.acts_for_vendor("ka", PartnerScope::OrdersRead));
        let sneaky = Principal {
            roles: vec![Role::Customer],
            vendor_id: Some("ka".into()),
            scopes: vec!["orders:read".into()],
            ..customer()
        };
        assert!(!sneaky.acts_for_vendor("ka", PartnerScope::OrdersRead));
    }

    #[test]
    fn refuse_partner_refuses_partners_only() {
        assert!(customer().refuse_partner().is_ok());
        let all: Vec<&str> = PartnerScope::ALL.iter().map(|s| s.as_str()).collect();
        let err = partner(Some("ka"), &all).refuse_partner().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Forbidden);
    }

    #[test]
    fn require_scope_binds_partner_tokens_only() {
        assert!(customer().require_scope(PartnerScope::OrdersWrite).is_ok());
        let partner = Principal {
            subject: "partner:app".into(),
            roles: vec![Role::Partner],
            vendor_id: Some("v1".into()),
            scopes: vec!["catalog:read".into(), "stock:write".into()],
        };
        assert!(partner.require_scope(PartnerScope::CatalogRead).is_ok());
        assert!(partner.require_scope(PartnerScope::StockWrite).is_ok());
        let refused = partner.require_scope(PartnerScope::OrdersRead).unwrap_err();
        assert_eq!(refused.code(), crate::ErrorCode::Forbidden);
        let scopeless = Principal {
            scopes: vec![],
            ..partner
        };
        assert!(scopeless.require_scope(PartnerScope::CatalogRead).is_err());
    }

    fn claims_expiring_at(exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            roles: vec![Role::Customer],
            vendor_id: None,
            scope: None,
            iss: "janta".into(),
            aud: "janta-api".into(),
            exp,
            iat: exp - 900,
        }
    }

    #[tokio::test]
    async fn a_remembered_token_is_accepted_until_it_expires_and_never_after() {
        let signer = TokenSigner::generate("janta", "janta-api").unwrap();
        let verifier = signer.local_verifier().unwrap();
        let exp = chrono::Utc::now().timestamp() + 600;
        let token = signer.sign_claims(&claims_expiring_at(exp)).unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap(), customer());
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(verifier.remembered(&digest, exp - 1), Some(customer()));
        assert_eq!(verifier.remembered(&digest, exp), None, "expired");

        // The same token with one character of its signature changed is
        // another token: verified, and refused.
        let mut forged = token.clone().into_bytes();
        let inside = forged.len() - 10;
        forged[inside] = if forged[inside] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(verifier.verify(&forged).await.is_err(), "forgery accepted");
        assert_eq!(verifier.verify(&token).await.unwrap(), customer());
    }

    #[tokio::test]
    async fn the_verified_token_cache_stays_bounded() {
        let signer = TokenSigner::generate("janta", "janta-api").unwrap();
        let verifier = signer.local_verifier().unwrap();
        let now = chrono::Utc::now().timestamp();
        for i in 0..(VERIFIED_CACHE_LIMIT as i64 + 10) {
            let mut digest = [0u8; 32];
            digest[..8].copy_from_slice(&i.to_le_bytes());
            verifier.remember(digest, &claims_expiring_at(now + 600), now);
        }
        let held = verifier.verified.lock().unwrap().len();
        assert!(held <= VERIFIED_CACHE_LIMIT, "{held} tokens held");
        // A token accepted only within the leeway is not remembered.
        verifier.remember([9; 32], &claims_expiring_at(now - 1), now);
        assert_eq!(verifier.remembered(&[9; 32], now - 2), None);
    }

    #[tokio::test]
    async fn signed_tokens_verify_and_forgeries_do_not() {
        let signer = TokenSigner::generate("janta", "janta-api").unwrap();
        let verifier = signer.local_verifier().unwrap();
        let (token, _) = signer.sign(&customer(), Duration::from_secs(60)).unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap(), customer());

        let other = TokenSigner::generate("janta", "janta-api").unwrap();
        let (forged, _) = other.sign(&customer(), Duration::from_secs(60)).unwrap();
        assert!(
            verifier.verify(&forged).await.is_err(),
            "wrong key accepted"
        );

        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(r#"{"sub":"u1","roles":["ADMIN"]}"#);
        assert!(
            verifier.verify(&format!("{header}.{body}.")).await.is_err(),
            "alg none accepted"
        );

        let now = chrono::Utc::now().timestamp();
        let expired = Claims {
            sub: "u1".into(),
            roles: vec![Role::Customer],
            vendor_id: None,
            scope: None,
            iss: "janta".into(),
            aud: "janta-api".into(),
            exp: now - 60,
            iat: now - 120,
        };
        let err = verifier
            .verify(&signer.sign_claims(&expired).unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("expired"));
        let wrong_aud = Claims {
            aud: "other".into(),
            exp: now + 60,
            ..expired
        };
        assert!(verifier
            .verify(&signer.sign_claims(&wrong_aud).unwrap())
            .await
            .is_err());
    }
}
