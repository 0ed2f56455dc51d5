//! Prescriptions subgraph: customers upload prescription documents through
//! one-time signed URLs and submit them to one pharmacy; that pharmacy's
//! pharmacists review them (approve with lines and validity, or reject with
//! a reason); the orders subgraph asks whether an order is covered and
//! consumes approved quantities, never beyond what was approved. Only the
//! owner, the pharmacy it was submitted to, a pharmacy dispensing against it
//! and (with a reason) platform admins read a prescription; every document
//! read is audited.
//!
//! Besides `/graphql` it serves two plain-HTTP routes (see [`documents`]):
//! `PUT /uploads/{id}` and `GET /documents/{id}`, both signed.

pub mod demo;
pub mod dispensing;
pub mod documents;
pub mod domain;
pub mod events;
pub mod peers;
pub mod schema;
pub mod store;

use async_graphql::{EmptySubscription, Schema};
use axum::Router;
use documents::{DocumentStore, DocumentsHttp, FsDocumentStore, UrlSigner};
use janta_events::Runtime;
use janta_platform::auth::TokenVerifier;
use janta_platform::client::ServiceClient;
use janta_platform::config::{Mode, SubgraphConfig, DEV_URL_SIGNING_SECRET};
use janta_platform::loader::batched;
use janta_platform::server::{subgraph_router_with_checks, with_limits};
use janta_platform::store::Store;
use schema::{
    LinesLoader, Mutation, OrderPrescriptionsLoader, PrescriptionLoader, PrescriptionsSchema, Query,
};
use std::path::PathBuf;
use std::sync::Arc;

/// What resolvers share.
pub struct PrescriptionsState {
    /// This subgraph's database.
    pub store: Store,
    /// Signs upload and document links.
    pub signer: Arc<UrlSigner>,
    /// Base URL of this subgraph as clients reach it (links point here).
    pub public_url: String,
    /// Default validity of an approval, in days from the issue date.
    pub validity_days: u32,
    /// The other subgraphs' service interfaces (users: family members).
    pub peers: peers::Peers,
}

/// The schema without data, for SDL export and composition.
pub fn schema() -> PrescriptionsSchema {
    with_limits(Schema::build(Query, Mutation, EmptySubscription)).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// Where documents live by default: `{data_dir}/prescriptions/documents`.
pub fn documents_dir(config: &SubgraphConfig) -> PathBuf {
    config.data_dir.join("prescriptions").join("documents")
}

/// Connects, migrates and builds the HTTP app of the prescriptions
/// subgraph alone in its process ([`Runtime::standalone`]: without a NATS
/// URL its events wait in the outbox), documents on the local filesystem.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`], relaying its outbox on the event bus of `runtime` (the
/// process's in-process bus, or NATS when configured). Prescriptions
/// consumes no events.
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let documents: Arc<dyn DocumentStore> = Arc::new(FsDocumentStore::new(documents_dir(config))?);
    build_with_documents(config, runtime, documents).await
}

/// Like [`build_with`], with documents in the given store (an object store,
/// a test double).
pub async fn build_with_documents(
    config: &SubgraphConfig,
    runtime: &Runtime,
    documents: Arc<dyn DocumentStore>,
) -> anyhow::Result<(Router, Store)> {
    if config.mode == Mode::Production
        && config.url_signing_secret.expose() == DEV_URL_SIGNING_SECRET
    {
        anyhow::bail!("refusing to start in production mode with the development URL-signing secret; set JANTA_URL_SIGNING_SECRET");
    }
    let store = Store::connect(&config.database_url).await?;
    store.migrate(&store::migrations()).await?;
    let events = runtime.event_bus(config).await?;
    let relay = events.start_relay(&store, "prescriptions");
    janta_platform::tasks::background().on_shutdown(relay.stop());
    let signer = Arc::new(UrlSigner::new(config.url_signing_secret.expose()));
    let verifier = Arc::new(TokenVerifier::remote(
        &config.auth.jwks_url,
        &config.auth.issuer,
        &config.auth.audience,
    ));
    let state = PrescriptionsState {
        store: store.clone(),
        signer: signer.clone(),
        public_url: config.public_url.trim_end_matches('/').to_string(),
        validity_days: config.prescription_validity_days,
        peers: peers::Peers::new(ServiceClient::new(config)),
    };
    let schema = with_limits(Schema::build(Query, Mutation, EmptySubscription))
        .data(state)
        .finish();
    let loader_store = store.clone();
    let extend = Arc::new(move |request: async_graphql::Request| {
        request
            .data(batched::<PrescriptionLoader>(&loader_store))
            .data(batched::<LinesLoader>(&loader_store))
            .data(batched::<OrderPrescriptionsLoader>(&loader_store))
    });
    let http = Arc::new(DocumentsHttp {
        store: store.clone(),
        documents,
        signer,
    });
    let router = subgraph_router_with_checks(
        schema,
        verifier,
        store.clone(),
        extend,
        vec![events.readiness_check()],
        config.trusted_proxies.clone(),
    )
    .merge(documents::routes(http));
    Ok((router, store))
}

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;
