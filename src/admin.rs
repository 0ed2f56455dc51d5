//! `janta admin create` and `janta seed demo` (or `--scale N`): the operator's commands for
//! a new deployment. The first creates its first platform admin (nobody can
//! appoint one through the API before one exists); the second loads the
//! demo data of `janta dev` into a deployment's databases for a trial. The
//! rules live in the users crate ([`janta_users::service::bootstrap`]);
//! this module reads the arguments, the password and the configuration.

use crate::subgraphs::{self, Domain, Subgraph};
use anyhow::Context as _;
use janta_platform::config::SubgraphConfig;
use janta_platform::store::Store;
use janta_users::domain::{Email, Password};
use janta_users::service::bootstrap::{self, NewAdmin};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

/// `janta admin …`: account operations for whoever runs the deployment.
#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Create a platform admin. The password is read from standard input
    /// (one line) or from --password-file, never from the command line.
    Create(CreateArgs),
}

/// Options of `janta admin create`. There is deliberately no password
/// option: command lines are visible to every user of the machine.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// Login e-mail of the new admin.
    #[arg(long)]
    email: String,
    /// Full name shown in the back office.
    #[arg(long, default_value = "Platform Admin")]
    name: String,
    /// Read the password from the first line of this file instead of stdin.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Create the account even when a platform admin exists already.
    #[arg(long)]
    force: bool,
    /// Optional TOML config file of the users subgraph (as for `serve users`).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// `janta seed demo …` or `janta seed --scale N`: loading data into a
/// deployment, the demo's or a synthetic catalog and history of any size
/// (for benchmarks; see [`janta_platform::scale`]).
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SeedArgs {
    #[command(subcommand)]
    command: Option<SeedCommand>,
    /// Load the demo, then a synthetic catalog and history proportional to
    /// N: 100·N medicines, N/2 vendors (at least 2), 10 listings per
    /// medicine, 100·N customers and 5·N orders of scale.customer@janta.test.
    /// Seeding the same N again does nothing; another N is refused.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    scale: Option<u64>,
    /// Only this subgraph (users, catalog and orders have scaled data; the
    /// others get the demo).
    #[arg(long, value_enum, requires = "scale")]
    domain: Option<Domain>,
    /// Optional TOML config file (as for `serve`).
    #[arg(long, requires = "scale")]
    config: Option<PathBuf>,
}

/// `janta seed <command>`.
#[derive(clap::Subcommand)]
pub enum SeedCommand {
    /// Load the demo data of `janta dev` (idempotent) into one subgraph's
    /// configured database, or into every subgraph's.
    Demo {
        /// Only this subgraph; without it, every subgraph with its own
        /// configuration (the config file's `[<domain>]` sections, or the
        /// embedded stores under the data directory).
        #[arg(value_enum)]
        domain: Option<Domain>,
        /// Optional TOML config file (as for `serve`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs `janta admin <command>`.
pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create(args) => create(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let raw = read_password(args.password_file.as_deref())?;
    let admin = NewAdmin {
        email: Email::parse(&args.email).map_err(refusal)?,
        full_name: args.name.trim().to_string(),
        password: Password::parse(&raw).map_err(refusal)?,
        force: args.force,
    };
    let store = users_store(args.config.as_deref()).await?;
    let created = bootstrap::create_admin(&store, admin).await;
    store.close().await;
    let user = created.map_err(refusal)?;
    println!("created platform admin {} ({})", user.email, user.id);
    Ok(())
}

/// The users subgraph's configured database, migrated.
async fn users_store(config: Option<&Path>) -> anyhow::Result<Store> {
    let config = SubgraphConfig::load(Domain::Users.name(), config)?;
    migrated_store(&config.database_url, &janta_users::store::migrations()).await
}

async fn migrated_store(
    url: &str,
    migrations: &janta_platform::store::Migrations,
) -> anyhow::Result<Store> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = Path::new(path.split('?').next().unwrap_or(path));
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let store = Store::connect(url).await?;
    store.migrate(migrations).await?;
    Ok(store)
}

/// The password: the first line of `file`, else of standard input, without
/// its line ending.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let mut line = String::new();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file {}", path.display()))?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        None => {
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
        }
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn refusal(err: janta_platform::ApiError) -> anyhow::Error {
    anyhow::anyhow!("refused: {err}")
}

/// Runs `janta seed demo …` or `janta seed --scale N …`.
pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    match (args.command, args.scale) {
        (Some(SeedCommand::Demo { domain, config }), _) => seed_demo(domain, config).await,
        (None, Some(n)) => seed_scale(n, args.domain, args.config).await,
        (None, None) => {
            anyhow::bail!("say what to seed: `janta seed demo` or `janta seed --scale N`")
        }
    }
}

/// The subgraphs a seed writes to: `domain`'s, or every one (each from its
/// own configuration, so `DATABASE_URL`, which names one, is refused).
fn seed_targets(domain: Option<Domain>, example: &str) -> anyhow::Result<Vec<Subgraph>> {
    match domain {
        Some(d) => Ok(vec![subgraphs::find(d)]),
        None => {
            anyhow::ensure!(
                std::env::var("DATABASE_URL").map_or(true, |v| v.is_empty()),
                "DATABASE_URL names one subgraph's database: name the subgraph \
                 (`{example}`), or configure each in the config file"
            );
            Ok(subgraphs::all())
        }
    }
}

async fn seed_demo(domain: Option<Domain>, config: Option<PathBuf>) -> anyhow::Result<()> {
    for subgraph in seed_targets(domain, "janta seed demo users")? {
        let config = SubgraphConfig::load(subgraph.name, config.as_deref())?;
        let store = migrated_store(&config.database_url, &(subgraph.migrations)()).await?;
        let seeded = (subgraph.seed)(&store).await;
        store.close().await;
        let done = if seeded? { "seeded" } else { "already seeded" };
        println!("{}: {done}", subgraph.name);
    }
    Ok(())
}

/// Seeds the demo and then scale `n` into each target, printing how long each took.
async fn seed_scale(n: u64, domain: Option<Domain>, config: Option<PathBuf>) -> anyhow::Result<()> {
    let plan = janta_platform::scale::ScalePlan::new(n);
    let started = std::time::Instant::now();
    for subgraph in seed_targets(domain, "janta seed --scale N --domain users")? {
        let config = SubgraphConfig::load(subgraph.name, config.as_deref())?;
        let store = migrated_store(&config.database_url, &(subgraph.migrations)()).await?;
        let at = std::time::Instant::now();
        let seeded = seed_one_at_scale(&subgraph, &store, plan).await;
        store.close().await;
        let done = match seeded? {
            None => "demo only (nothing to scale)".to_string(),
            Some(true) => format!("seeded scale {n} in {:.1} s", at.elapsed().as_secs_f64()),
            Some(false) => format!("scale {n} already seeded"),
        };
        println!("{}: {done}", subgraph.name);
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The demo, then the subgraph's scaled data if it has any (None when not).
async fn seed_one_at_scale(
    subgraph: &Subgraph,
    store: &Store,
    plan: janta_platform::scale::ScalePlan,
) -> anyhow::Result<Option<bool>> {
    (subgraph.seed)(store).await?;
    match subgraph.scale {
        Some(scale) => scale(store, plan).await.map(Some),
        None => Ok(None),
    }
}
