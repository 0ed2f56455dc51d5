//! `janta`: the one command of the platform. `cargo run --release` (= `janta dev`)
//! migrates, seeds demo data and runs every subgraph plus the router; the
//! other commands serve one subgraph, run the router, migrate, or compose.
#![recursion_limit = "256"]

mod admin;
mod compose;
mod dev;
mod error_codes;
mod limits;
mod metrics_path;
mod playground;
mod request_id;
mod router;
mod subgraphs;
mod trusted_documents;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Janta pharmacy marketplace: six GraphQL subgraphs behind one router.
#[derive(Parser)]
#[command(name = "janta", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform on one machine (embedded SQLite, demo data).
    Dev(dev::DevArgs),
    /// Run one subgraph alone (distributed deployment), configured by env or --config.
    Serve {
        /// Which subgraph.
        #[arg(value_enum)]
        domain: subgraphs::Domain,
        /// Optional TOML config file (unknown keys are errors).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the router (Hive Router) with a config file and a supergraph.
    Router {
        /// Router configuration (YAML).
        #[arg(long, default_value = "router-config/production.yaml")]
        config: PathBuf,
        /// The composed supergraph.
        #[arg(long, default_value = "supergraph.graphql")]
        supergraph: PathBuf,
    },
    /// Apply migrations: every subgraph's SQLite file under --data-dir, or
    /// one subgraph's DATABASE_URL when a domain is given.
    Migrate {
        /// Only this subgraph (uses DATABASE_URL / --config).
        #[arg(value_enum)]
        domain: Option<subgraphs::Domain>,
        /// Optional TOML config file of the one subgraph migrated.
        #[arg(long, requires = "domain")]
        config: Option<PathBuf>,
        /// Data directory of the embedded stores.
        #[arg(long, env = "JANTA_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Operator commands: create a platform admin (`admin create`).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Load data into a deployment's databases (`seed demo`, `seed --scale N`).
    Seed(admin::SeedArgs),
    /// Compose the supergraph from the subgraphs' SDL and write it.
    Compose {
        /// Fail if the file differs from a fresh composition instead of writing it.
        #[arg(long)]
        check: bool,
        /// Where the supergraph lives.
        #[arg(long, default_value = "supergraph.graphql")]
        out: PathBuf,
        /// Where the published client-facing API schema lives.
        #[arg(long, default_value = "schema/janta.graphql")]
        api_schema: PathBuf,
        /// The client contract whose operations become trusted documents.
        #[arg(long, default_value = "tests/contract/operations.graphql")]
        contract: PathBuf,
        /// Where the router's trusted-documents manifest lives.
        #[arg(long, default_value = "router-config/persisted-documents.json")]
        persisted_documents: PathBuf,
        /// Also write each subgraph's SDL as `<name>.graphql` into this directory
        /// (for other composition tools, e.g. Apollo's JavaScript composition).
        #[arg(long)]
        sdl_dir: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli
        .command
        .unwrap_or(Command::Dev(dev::DevArgs::default_from_env()))
    {
        Command::Router { config, supergraph } => router::run(&config, &supergraph),
        Command::Compose {
            check,
            out,
            api_schema,
            contract,
            persisted_documents,
            sdl_dir,
        } => compose_command(
            check,
            &[&out, &api_schema, &persisted_documents],
            &contract,
            sdl_dir.as_deref(),
        ),
        other => tokio_main(other),
    }
}

#[tokio::main]
async fn tokio_main(command: Command) -> anyhow::Result<()> {
    // A bulk seed's statements are slow by design: sqlx would log each in full.
    let filter = match command {
        Command::Seed(_) => "info,sqlx=error",
        _ => "info,hive_router=warn,sqlx=warn",
    };
    janta_platform::telemetry::init_traced(filter, &service_name(&command))?;
    let outcome = run(command).await;
    janta_platform::telemetry::flush().await;
    outcome
}

/// The `service.name` of this process's spans: `janta-<subgraph>` for one
/// subgraph, `janta` for the whole platform in one process (each span
/// names its subgraph in `janta.subgraph`).
fn service_name(command: &Command) -> String {
    match command {
        Command::Serve { domain, .. } => format!("janta-{}", domain.name()),
        _ => "janta".to_string(),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dev(args) => dev::run(args).await,
        Command::Serve { domain, config } => subgraphs::serve_one(domain, config.as_deref()).await,
        Command::Migrate {
            domain,
            config,
            data_dir,
        } => subgraphs::migrate(domain, config.as_deref(), &data_dir).await,
        Command::Admin(command) => admin::run(command).await,
        Command::Seed(command) => admin::seed(command).await,
        Command::Router { .. } | Command::Compose { .. } => {
            unreachable!("handled before the runtime starts")
        }
    }
}

/// Composes the supergraph, derives the API schema and the trusted-documents
/// manifest of `contract`, then writes them to `outputs` (supergraph, API
/// schema, manifest) or, with `check`, fails when a committed file differs.
fn compose_command(
    check: bool,
    outputs: &[&std::path::Path; 3],
    contract: &std::path::Path,
    sdl_dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let subgraphs = subgraphs::all_sdl();
    if let Some(dir) = sdl_dir {
        std::fs::create_dir_all(dir)?;
        for s in &subgraphs {
            std::fs::write(
                dir.join(format!("{}.graphql", s.name)),
                compose::clean_subgraph_sdl(&s.sdl),
            )?;
        }
    }
    let supergraph = compose::compose(&subgraphs)?;
    compose::validate_supergraph(&supergraph)?;
    let api = compose::api_schema(&supergraph)?;
    let contract = std::fs::read_to_string(contract)
        .with_context(|| format!("reading the contract {}", contract.display()))?;
    let manifest = compose::persisted_documents(&contract)?;
    for (out, fresh) in outputs.iter().zip([&supergraph, &api, &manifest]) {
        if check {
            let committed = std::fs::read_to_string(out).unwrap_or_default();
            if committed != *fresh {
                anyhow::bail!(
                    "{} is stale: run `cargo run -- compose` and commit the result",
                    out.display()
                );
            }
            println!("{} is up to date", out.display());
        } else {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(out, fresh)?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
