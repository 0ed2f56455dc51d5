//! Users subgraph: identity, access tokens, addresses, family members,
//! vendors and their staff. It is the token issuer of the platform: people
//! sign in through GraphQL, machines (service and partner clients) at the
//! OAuth token endpoint `POST /oauth/token`; the public keys are at
//! `/.well-known/jwks.json`.

pub mod demo;
pub mod domain;
pub mod events;
pub mod exports;
pub mod keys;
pub mod oauth;
pub mod schema;
pub mod service;
pub mod sign_in_limit;
pub mod store;

use async_graphql::{EmptySubscription, SchemaBuilder};
use axum::Router;
use janta_events::Runtime;
use janta_kit::Kit;
use janta_platform::auth::TokenSigner;
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
pub use keys::DEV_SIGNING_KEY;
use schema::{Mutation, Query, UsersSchema};
use service::sessions::Sessions;
use std::sync::Arc;

/// What resolvers share: store, token issuer, peers and export link signer.
pub struct UsersState {
    /// This subgraph's database.
    pub store: Store,
    /// Token issuing and rotation.
    pub sessions: Sessions,
    /// Calls to other subgraphs' service-only operations (orders' open orders).
    pub peers: janta_platform::client::ServiceClient,
    /// Signs the download links of data exports.
    pub export_links: Arc<exports::ExportLinks>,
}

/// The schema with its limits: the shared ones, and one sign-in field per
/// request ([`sign_in_limit`]).
fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    janta_kit::schema_builder(Query::default(), Mutation::default())
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

/// Builds the users subgraph alone in its process ([`Runtime::standalone`]:
/// without a NATS URL its events wait in the outbox).
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Connects, migrates, relays the outbox on `runtime`'s bus, answers its own
/// personal-data events, runs its sweepers and builds the HTTP app (GraphQL
/// checked by its own key, JWKS, OAuth token endpoint, export downloads).
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let kit = Kit::start("users", config, runtime, store::migrations()).await?;
    let store = kit.store().clone();
    service::clients::register_service_clients(&store, config).await?;
    let swept = store.clone();
    let sweep = move || service::licences::sweep_and_log(swept.clone());
    kit.every(config.licence_sweep_interval, "drug licence sweep", sweep);
    service::personal_data::answer(&kit).await;
    let (pem, auth) = (keys::load_signing_key(config)?, &config.auth);
    let export_links = Arc::new(exports::ExportLinks::new(&pem, &config.public_url));
    let signer = Arc::new(TokenSigner::from_pem(&pem, &auth.issuer, &auth.audience)?);
    let verifier = Arc::new(signer.local_verifier()?);
    let jwks = signer.jwks();
    let trusted = config.trusted_proxies.clone();
    let token_endpoint = oauth::TokenEndpoint::new(store.clone(), signer.clone(), trusted);
    let sessions = Sessions::new(signer);
    let state = UsersState {
        store: store.clone(),
        sessions,
        peers: kit.service_client(),
        export_links: export_links.clone(),
    };
    let schema = schema_builder().data(state).finish();
    let router = kit
        .router(schema, verifier, schema::with_loaders)
        .merge(oauth::router(token_endpoint, jwks))
        .merge(exports::routes(store.clone(), export_links));
    Ok((router, store))
}
