//! The registry of subgraphs the launcher knows: how to get each one's SDL,
//! build its app, and seed its demo data. Adding a subgraph means one entry here.

use crate::compose::SubgraphSdl;
use axum::Router;
use futures::future::BoxFuture;
use janta_events::Runtime;
use janta_platform::config::{subgraph_port, SubgraphConfig, DEFAULT_ROUTER_PORT};
use janta_platform::scale::ScaleSeedFn;
use janta_platform::server::{serve, shutdown_signal};
use janta_platform::store::{Migrations, Store};
use std::path::Path;

/// The subgraphs `janta serve` and `janta migrate` accept, so that a typo
/// is a usage error listing the valid names rather than a start-up failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Domain {
    /// Accounts, sign-in, vendors, addresses.
    Users,
    /// Medicines, listings, stock.
    Catalog,
    /// Prescriptions and dispensing.
    Prescriptions,
    /// Carts, checkout, orders.
    Orders,
    /// Payments and refunds.
    Payments,
    /// Notifications and partner webhooks.
    Notifications,
}

impl Domain {
    /// The subgraph's name, as in the supergraph and the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Users => "users",
            Domain::Catalog => "catalog",
            Domain::Prescriptions => "prescriptions",
            Domain::Orders => "orders",
            Domain::Payments => "payments",
            Domain::Notifications => "notifications",
        }
    }
}

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
    /// Its store's migrations (what `janta migrate` applies, and nothing else).
    pub migrations: fn() -> Migrations,
    /// Seeds its demo data (dev mode only).
    pub seed: fn(&Store) -> BoxFuture<'_, anyhow::Result<bool>>,
    /// Seeds its part of `janta seed --scale N`, if it has one.
    pub scale: Option<ScaleSeedFn>,
}

/// Every subgraph, in port order.
pub fn all() -> Vec<Subgraph> {
    vec![
        Subgraph {
            name: "users",
            sdl: janta_users::sdl,
            build: |c, rt| Box::pin(async move { janta_users::build_with(c, &rt).await }),
            migrations: janta_users::store::migrations,
            seed: |s| Box::pin(janta_users::demo::seed(s)),
            scale: Some(|s, plan| Box::pin(janta_users::demo::scale::seed(s, plan))),
        },
        Subgraph {
            name: "catalog",
            sdl: janta_catalog::sdl,
            build: |c, rt| Box::pin(async move { janta_catalog::build_with(c, &rt).await }),
            migrations: janta_catalog::store::migrations,
            seed: |s| Box::pin(janta_catalog::demo::seed(s)),
            scale: Some(|s, plan| Box::pin(janta_catalog::demo::scale::seed(s, plan))),
        },
        Subgraph {
            name: "prescriptions",
            sdl: janta_prescriptions::sdl,
            build: |c, rt| Box::pin(async move { janta_prescriptions::build_with(c, &rt).await }),
            migrations: janta_prescriptions::store::migrations,
            seed: |s| Box::pin(janta_prescriptions::demo::seed(s)),
            scale: None,
        },
        Subgraph {
            name: "orders",
            sdl: janta_orders::sdl,
            build: |c, rt| Box::pin(async move { janta_orders::build_with(c, &rt).await }),
            migrations: janta_orders::store::migrations,
            seed: |s| Box::pin(janta_orders::demo::seed(s)),
            scale: Some(|s, plan| Box::pin(janta_orders::demo::scale::seed(s, plan))),
        },
        Subgraph {
            name: "payments",
            sdl: janta_payments::sdl,
            build: |c, rt| Box::pin(async move { janta_payments::build_with(c, &rt).await }),
            migrations: janta_payments::store::migrations,
            seed: |s| Box::pin(janta_payments::demo::seed(s)),
            scale: None,
        },
        Subgraph {
            name: "notifications",
            sdl: janta_notifications::sdl,
            build: |c, rt| Box::pin(async move { janta_notifications::build_with(c, &rt).await }),
            migrations: janta_notifications::store::migrations,
            seed: |s| Box::pin(janta_notifications::demo::seed(s)),
            scale: None,
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

/// The registered subgraph of `domain`.
pub fn find(domain: Domain) -> Subgraph {
    all()
        .into_iter()
        .find(|s| s.name == domain.name())
        .expect("every domain is registered")
}

/// `janta serve <domain>`: one subgraph, configured from env and file.
pub async fn serve_one(domain: Domain, config_file: Option<&Path>) -> anyhow::Result<()> {
    let subgraph = find(domain);
    let config = SubgraphConfig::load(subgraph.name, config_file)?;
    let (router, _store) = (subgraph.build)(&config, Runtime::standalone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(domain = subgraph.name, listen = %config.listen, "subgraph listening");
    serve(router, listener, shutdown_signal()).await
}

/// `janta migrate`: applies the migrations of one subgraph (its configured
/// database) or of every embedded store under `data_dir`. It only connects
/// and migrates: no event runtime, relay, consumer or sweeper starts.
pub async fn migrate(
    domain: Option<Domain>,
    config_file: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let targets: Vec<(Subgraph, String)> = match domain {
        Some(d) => {
            let subgraph = find(d);
            let config = SubgraphConfig::load(subgraph.name, config_file)?;
            vec![(subgraph, config.database_url)]
        }
        None => {
            std::fs::create_dir_all(data_dir)?;
            all()
                .into_iter()
                .map(|s| {
                    let url =
                        SubgraphConfig::dev(s.name, DEFAULT_ROUTER_PORT, data_dir).database_url;
                    (s, url)
                })
                .collect()
        }
    };
    for (subgraph, url) in targets {
        let store = Store::connect(&url).await?;
        store.migrate(&(subgraph.migrations)()).await?;
        store.close().await;
        println!("migrated {}", subgraph.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `janta migrate` creates every store's tables and leaves no task
    /// behind: the runtime's live task count returns to zero (a relay,
    /// consumer or sweeper would keep running forever).
    #[tokio::test(flavor = "current_thread")]
    async fn migrate_creates_the_tables_and_spawns_no_task() {
        let dir = std::env::temp_dir().join(format!("janta-migrate-{}", std::process::id()));
        migrate(None, None, &dir).await.unwrap();
        let metrics = tokio::runtime::Handle::current().metrics();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(metrics.num_alive_tasks(), 0, "migrate left tasks running");
        for subgraph in all() {
            let url = SubgraphConfig::dev(subgraph.name, DEFAULT_ROUTER_PORT, &dir).database_url;
            let store = Store::connect(&url).await.unwrap();
            let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let own = (subgraph.migrations)().sqlite.iter().count();
            assert!(
                own > 0 && applied >= own as i64,
                "{}: {applied} migrations applied, {own} of its own",
                subgraph.name
            );
            store.close().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn domains_name_the_registered_subgraphs() {
        use clap::ValueEnum as _;
        let names: Vec<_> = Domain::value_variants().iter().map(|d| d.name()).collect();
        assert_eq!(names, janta_platform::config::DOMAINS);
        for domain in Domain::value_variants() {
            assert_eq!(find(*domain).name, domain.name());
        }
    }
}
