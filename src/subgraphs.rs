//! The registry of subgraphs the launcher knows: how to get each one's SDL,
//! build its app, and seed its demo data. Adding a subgraph means one entry here.

use crate::compose::SubgraphSdl;
use axum::Router;
use futures::future::BoxFuture;
use janta_events::Runtime;
use janta_platform::config::{subgraph_port, SubgraphConfig, DEFAULT_ROUTER_PORT};
use janta_platform::server::{serve, shutdown_signal};
use janta_platform::store::Store;
use std::path::Path;

/// Connects, migrates and builds a subgraph's HTTP app, starting its event
/// relay and consumers on the process's event runtime (the shared
/// in-process bus, or NATS when the config has a URL).
pub type BuildFn = fn(&SubgraphConfig, Runtime) -> BoxFuture<'_, anyhow::Result<(Router, Store)>>;

/// How the launcher drives one subgraph.
pub struct Subgraph {
    /// Subgraph name (as in the supergraph).
    pub name: &'static str,
    /// Its Federation v2 SDL.
    pub sdl: fn() -> String,
    /// Connects, migrates and builds its HTTP app, and starts its event
    /// relay and consumers on the runtime's bus (NATS when configured).
    pub build: BuildFn,
    /// Seeds its demo data (dev mode only).
    pub seed: fn(&Store) -> BoxFuture<'_, anyhow::Result<bool>>,
}

/// Every subgraph, in port order.
pub fn all() -> Vec<Subgraph> {
    vec![
        Subgraph {
            name: "users",
            sdl: janta_users::sdl,
            build: |c, rt| Box::pin(async move { janta_users::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_users::demo::seed(s)),
        },
        Subgraph {
            name: "catalog",
            sdl: janta_catalog::sdl,
            build: |c, rt| Box::pin(async move { janta_catalog::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_catalog::demo::seed(s)),
        },
        Subgraph {
            name: "prescriptions",
            sdl: janta_prescriptions::sdl,
            build: |c, rt| Box::pin(async move { janta_prescriptions::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_prescriptions::demo::seed(s)),
        },
        Subgraph {
            name: "orders",
            sdl: janta_orders::sdl,
            build: |c, rt| Box::pin(async move { janta_orders::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_orders::demo::seed(s)),
        },
        Subgraph {
            name: "payments",
            sdl: janta_payments::sdl,
            build: |c, rt| Box::pin(async move { janta_payments::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_payments::demo::seed(s)),
        },
        Subgraph {
            name: "notifications",
            sdl: janta_notifications::sdl,
            build: |c, rt| Box::pin(async move { janta_notifications::build_with(c, &rt).await }),
            seed: |s| Box::pin(janta_notifications::demo::seed(s)),
        },
    ]
}

/// The SDL of every subgraph with its default URL, for composition.
pub fn all_sdl() -> Vec<SubgraphSdl> {
    all()
        .into_iter()
        .map(|s| SubgraphSdl {
            name: s.name.to_string(),
            url: format!(
                "http://127.0.0.1:{}/graphql",
                subgraph_port(DEFAULT_ROUTER_PORT, s.name)
            ),
            sdl: (s.sdl)(),
        })
        .collect()
}

fn find(domain: &str) -> anyhow::Result<Subgraph> {
    all().into_iter().find(|s| s.name == domain).ok_or_else(|| {
        let names: Vec<_> = all().iter().map(|s| s.name).collect();
        anyhow::anyhow!("unknown subgraph {domain:?}; one of: {}", names.join(", "))
    })
}

/// `janta serve <domain>`: one subgraph, configured from env and file.
pub async fn serve_one(domain: &str, config_file: Option<&Path>) -> anyhow::Result<()> {
    let subgraph = find(domain)?;
    let config = SubgraphConfig::load(domain, config_file)?;
    let (router, _store) = (subgraph.build)(&config, Runtime::standalone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(domain, listen = %config.listen, "subgraph listening");
    serve(router, listener, shutdown_signal()).await
}

/// `janta migrate`: one subgraph from its config, or all embedded stores.
pub async fn migrate(domain: Option<&str>, data_dir: &Path) -> anyhow::Result<()> {
    let targets: Vec<SubgraphConfig> = match domain {
        Some(d) => {
            find(d)?;
            vec![SubgraphConfig::load(d, None)?]
        }
        None => {
            std::fs::create_dir_all(data_dir)?;
            all()
                .iter()
                .map(|s| SubgraphConfig::dev(s.name, DEFAULT_ROUTER_PORT, data_dir))
                .collect()
        }
    };
    for config in targets {
        let subgraph = find(&config.domain)?;
        let (_router, store) = (subgraph.build)(&config, Runtime::standalone()).await?;
        store.close().await;
        println!("migrated {}", subgraph.name);
    }
    Ok(())
}
