//! Users subgraph: identity, access tokens, addresses, family members,
//! vendors and their staff. It is the token issuer of the platform: people
//! sign in through GraphQL, machines (service and partner clients) at the
//! OAuth token endpoint `POST /oauth/token`; the public keys are at
//! `/.well-known/jwks.json`.

pub mod demo;
pub mod domain;
pub mod events;
pub mod oauth;
pub mod registration;
pub mod schema;
pub mod sessions;
pub mod sign_in_limit;
pub mod staff;
pub mod store;
pub mod throttle;

use anyhow::Context as _;
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};
use axum::routing::get;
use axum::{Json, Router};
use janta_events::Runtime;
use janta_platform::auth::TokenSigner;
use janta_platform::config::{Mode, SubgraphConfig};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use schema::{
    AddressLoader, BranchesLoader, Mutation, Query, UserLoader, UsersSchema, VendorLoader,
};
use sessions::Sessions;
use std::sync::Arc;

/// The development signing key. Public knowledge by design: production
/// refuses to start with it.
pub const DEV_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIENB53Ta3ZfhbRbUASbiBd7Txds4mo8y3iHAbVwMrHei
-----END PRIVATE KEY-----
";

/// What resolvers share: the store and the token issuer.
pub struct UsersState {
    /// This subgraph's database.
    pub store: Store,
    /// Token issuing and rotation.
    pub sessions: Sessions,
}

/// The schema with its limits: the shared ones, and one sign-in field per
/// request ([`sign_in_limit`]).
fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .extension(sign_in_limit::OneSignInPerRequest)
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> UsersSchema {
    schema_builder().finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// The signing key from config; dev mode falls back to [`DEV_SIGNING_KEY`],
/// production requires a key and refuses the dev one.
pub fn load_signing_key(config: &SubgraphConfig) -> anyhow::Result<String> {
    let pem = match &config.signing_key_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read signing key {}", path.display()))?,
        None if config.mode == Mode::Dev => DEV_SIGNING_KEY.to_string(),
        None => {
            anyhow::bail!("production mode needs JANTA_SIGNING_KEY_FILE (an Ed25519 PKCS#8 PEM)")
        }
    };
    if config.mode == Mode::Production && pem.trim() == DEV_SIGNING_KEY.trim() {
        anyhow::bail!(
            "refusing to start in production mode with the public development signing key"
        );
    }
    Ok(pem)
}

/// Connects, migrates and builds the HTTP app of the users subgraph, alone
/// in its process ([`Runtime::standalone`]: without a NATS URL its events
/// wait in the outbox).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Connects, migrates and builds the HTTP app of the users subgraph, and
/// starts the relay of its outbox on the event bus of `runtime` (the
/// process's in-process bus, or NATS when configured). Users consumes no
/// events.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    let events = runtime.event_bus(config).await?;
    let relay = events.start_relay(&store, "users");
    janta_platform::tasks::background().on_shutdown(relay.stop());
    oauth::register_service_clients(&store, config).await?;
    let signer = Arc::new(TokenSigner::from_pem(
        &load_signing_key(config)?,
        &config.auth.issuer,
        &config.auth.audience,
    )?);
    let verifier = Arc::new(signer.local_verifier()?);
    let jwks = signer.jwks();
    let token_endpoint = oauth::TokenEndpoint::new(
        store.clone(),
        signer.clone(),
        config.trusted_proxies.clone(),
    );
    let state = UsersState {
        store: store.clone(),
        sessions: Sessions::new(signer),
    };
    let schema = schema_builder().data(state).finish();
    let loader_store = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<UserLoader>(&loader_store))
            .data(batched::<VendorLoader>(&loader_store))
            .data(batched::<AddressLoader>(&loader_store))
            .data(batched::<BranchesLoader>(&loader_store))
    });
    let router = subgraph_router_with_checks(
        schema,
        verifier,
        store.clone(),
        extend,
        vec![events.readiness_check()],
        config.trusted_proxies.clone(),
    )
    .route(
        "/.well-known/jwks.json",
        get(move || {
            let jwks = jwks.clone();
            async move { Json(jwks) }
        }),
    )
    .merge(oauth::router(token_endpoint));
    Ok((router, store))
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;

#[cfg(test)]
mod tests {
    use super::*;

    fn production_config(key_file: Option<std::path::PathBuf>) -> SubgraphConfig {
        let mut config = SubgraphConfig::dev("users", 4000, &std::env::temp_dir());
        config.mode = Mode::Production;
        config.signing_key_file = key_file;
        config
    }

    #[test]
    fn production_refuses_a_missing_or_the_development_signing_key() {
        assert!(load_signing_key(&production_config(None)).is_err());
        let dir = std::env::temp_dir().join(format!("janta-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dev_key = dir.join("dev.pem");
        std::fs::write(&dev_key, DEV_SIGNING_KEY).unwrap();
        let err = load_signing_key(&production_config(Some(dev_key))).unwrap_err();
        assert!(err.to_string().contains("development signing key"), "{err}");
        let own_key = dir.join("own.pem");
        std::fs::write(&own_key, janta_platform::auth::generate_pem().unwrap()).unwrap();
        assert!(load_signing_key(&production_config(Some(own_key))).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The SDL text of root field `name` (from its name to the end of its
    /// type, across multi-line argument lists).
    fn field_definition<'a>(sdl: &'a str, name: &str) -> &'a str {
        let start = sdl
            .find(&format!("\t{name}("))
            .unwrap_or_else(|| panic!("{name} is not in the SDL"));
        let end = sdl[start..]
            .find("\n\t\"\"\"")
            .or_else(|| sdl[start..].find("\n}"))
            .map_or(sdl.len(), |offset| start + offset);
        &sdl[start..end]
    }

    #[test]
    fn service_only_fields_are_hidden_from_the_router() {
        let sdl = sdl();
        for field in [
            "contactForService",
            "addressForService",
            "familyMemberOfForService",
        ] {
            let definition = field_definition(&sdl, field);
            assert!(definition.contains("@inaccessible"), "{definition}");
        }
        assert!(
            !sdl.contains("serviceToken"),
            "the serviceToken mutation is back"
        );
        assert!(
            !field_definition(&sdl, "login").contains("@inaccessible"),
            "sign-in must stay public"
        );
    }
}
