//! Prescriptions subgraph: customers upload prescription documents through
//! one-time signed URLs and submit them to one pharmacy, whose pharmacists
//! approve (lines, validity) or reject them; orders asks whether an order is
//! covered and consumes approved quantities, never beyond what was approved.
//! Only the owner, that pharmacy, a pharmacy dispensing against it and
//! (with a reason) admins read a prescription; document reads are audited.
//! Besides `/graphql` it serves two signed plain-HTTP routes ([`documents`]).
//! It consumes users' personal-data requests (export, erasure:
//! [`service::personal_data`]).

pub mod demo;
pub mod documents;
pub mod domain;
pub mod events;
pub mod peers;
pub mod schema;
pub mod service;
pub mod store;

use axum::Router;
pub use documents::documents_dir;
use documents::{DocumentStore, DocumentsHttp, FsDocumentStore, UrlSigner};
use janta_events::Runtime;
use janta_kit::{schema_builder, Kit};
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use schema::{Mutation, PrescriptionsSchema, Query};
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
    schema_builder(Query::default(), Mutation::default()).finish()
}

/// This subgraph's Federation v2 SDL.
pub fn sdl() -> String {
    janta_platform::sdl::federation_sdl(&schema())
}

/// The prescriptions subgraph alone in its process
/// ([`Runtime::standalone`]), documents on the local filesystem.
pub async fn build(config: &SubgraphConfig) -> anyhow::Result<(Router, Store)> {
    build_with(config, &Runtime::standalone()).await
}

/// Like [`build`], on the event bus of `runtime` (it consumes users'
/// personal-data requests).
pub async fn build_with(
    config: &SubgraphConfig,
    runtime: &Runtime,
) -> anyhow::Result<(Router, Store)> {
    let documents: Arc<dyn DocumentStore> = Arc::new(FsDocumentStore::new(documents_dir(config))?);
    build_with_documents(config, runtime, documents).await
}

/// Like [`build_with`], with documents in the given store (e.g. a test double).
pub async fn build_with_documents(
    config: &SubgraphConfig,
    runtime: &Runtime,
    documents: Arc<dyn DocumentStore>,
) -> anyhow::Result<(Router, Store)> {
    let signer = Arc::new(UrlSigner::from_config(config)?);
    let kit = Kit::start("prescriptions", config, runtime, store::migrations()).await?;
    let store = kit.store().clone();
    service::personal_data::answer(&kit, documents.clone()).await;
    let state = PrescriptionsState {
        store: store.clone(),
        signer: signer.clone(),
        public_url: config.public_url.trim_end_matches('/').to_string(),
        validity_days: config.prescription_validity_days,
        peers: peers::Peers::new(kit.service_client()),
    };
    let schema = schema_builder(Query::default(), Mutation::default())
        .data(state)
        .finish();
    let router = kit.router(schema, kit.remote_verifier(), schema::with_loaders);
    let http = DocumentsHttp {
        store: store.clone(),
        documents,
        signer,
    };
    Ok((router.merge(documents::routes(Arc::new(http))), store))
}
