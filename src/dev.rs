//! `janta dev`: the whole platform in one command. Migrates and seeds every
//! subgraph's embedded store, serves the subgraphs in-process on the ports
//! after the router's, and runs the router as a child process (its own
//! runtime), then waits for Ctrl-C and stops everything cleanly.

use crate::subgraphs;
use clap::Parser;
use janta_events::{InProcessBus, Runtime};
use janta_platform::config::{subgraph_port, SubgraphConfig, DOMAINS};
use janta_platform::server::{serve, shutdown_signal};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The router configuration for dev mode, shipped inside the binary.
const DEV_ROUTER_CONFIG: &str = include_str!("../router-config/dev.yaml");
/// The committed supergraph, shipped inside the binary.
const SUPERGRAPH: &str = include_str!("../supergraph.graphql");
/// The contract's trusted documents, next to the router configuration
/// (which names this file relative to itself).
const PERSISTED_DOCUMENTS: &str = include_str!("../router-config/persisted-documents.json");

/// Options of `janta dev`.
#[derive(clap::Args, Debug, Clone)]
pub struct DevArgs {
    /// Router port; subgraphs take the next six ports.
    #[arg(long, env = "JANTA_PORT", default_value_t = 4000)]
    pub port: u16,
    /// Where the embedded databases, documents and logs live.
    #[arg(long, env = "JANTA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Parser)]
struct DevOnly {
    #[command(flatten)]
    args: DevArgs,
}

impl DevArgs {
    /// Defaults (and env overrides) when `janta` runs without a subcommand.
    pub fn default_from_env() -> Self {
        DevOnly::parse_from(["janta"]).args
    }
}

/// Runs the platform until Ctrl-C or SIGTERM.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = Vec::new();
    // One in-process event bus for every subgraph, held until all of them
    // (and so all their consumers) are built.
    let runtime = Runtime::new(InProcessBus::held());
    for subgraph in subgraphs::all() {
        let mut config = SubgraphConfig::dev_with_env(subgraph.name, args.port, &data_dir)?;
        if let Some(url) = database_override(subgraph.name) {
            config.database_url = url;
        }
        let (router, store) = (subgraph.build)(&config, runtime.clone()).await?;
        if (subgraph.seed)(&store).await? {
            tracing::info!(subgraph = subgraph.name, "seeded demo data");
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {} for {}: {e}",
                    config.listen,
                    subgraph.name
                )
            })?;
        let mut stop = stop_rx.clone();
        servers.push(tokio::spawn(serve(router, listener, async move {
            let _ = stop.wait_for(|s| *s).await;
        })));
    }
    runtime.in_process_bus().release();
    let mut router = start_router(args.port, &data_dir)?;
    wait_for_router(args.port, &mut router).await?;
    print_banner(args.port, &data_dir);
    tokio::select! {
        _ = shutdown_signal() => {}
        status = router.wait() => tracing::error!(?status, "router exited; stopping"),
    }
    stop_router(&mut router).await;
    let _ = stop_tx.send(true);
    for server in servers {
        let _ = server.await;
    }
    println!("stopped");
    Ok(())
}

/// `JANTA_<DOMAIN>_DATABASE_URL`, when set: that subgraph's store instead of
/// its embedded SQLite file (e.g. a PostgreSQL database), so the whole
/// platform runs in one process on PostgreSQL (`bench/run.sh checkout-postgres`).
fn database_override(domain: &str) -> Option<String> {
    std::env::var(format!("JANTA_{}_DATABASE_URL", domain.to_uppercase()))
        .ok()
        .filter(|url| !url.is_empty())
}

fn start_router(port: u16, data_dir: &Path) -> anyhow::Result<Child> {
    let config_path = data_dir.join("router.yaml");
    let supergraph_path = data_dir.join("supergraph.graphql");
    std::fs::write(&config_path, DEV_ROUTER_CONFIG)?;
    std::fs::write(&supergraph_path, SUPERGRAPH)?;
    std::fs::write(
        data_dir.join("persisted-documents.json"),
        PERSISTED_DOCUMENTS,
    )?;
    let log = std::fs::File::create(data_dir.join("router.log"))?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("router")
        .arg("--config")
        .arg(&config_path)
        .arg("--supergraph")
        .arg(&supergraph_path)
        .env("PORT", port.to_string())
        // The router reports as `janta-router`, not as this process.
        .env_remove(janta_platform::telemetry::SERVICE_NAME_ENV)
        .env(
            "JANTA_JWKS_URL",
            format!(
                "http://127.0.0.1:{}/.well-known/jwks.json",
                subgraph_port(port, "users")
            ),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    die_with_parent(&mut command);
    for domain in DOMAINS {
        command.env(
            format!("JANTA_{}_URL", domain.to_uppercase()),
            format!("http://127.0.0.1:{}/graphql", subgraph_port(port, domain)),
        );
    }
    Ok(command.spawn()?)
}

/// Makes the router stop when this process dies, however it dies: without
/// it a `kill -9` of `janta dev` leaves the router holding its port. (The
/// signal follows the thread that started the child: the main thread.)
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere the router outlives a killed `janta dev` (stop it by hand).
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

async fn wait_for_router(port: u16, router: &mut Child) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{port}/readiness");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = router.try_wait()? {
            anyhow::bail!(
                "router exited during start-up ({status}); see router.log in the data directory"
            );
        }
        if http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("router did not become healthy within 60 s; see router.log in the data directory")
}

async fn stop_router(router: &mut Child) {
    if let Some(pid) = router.id() {
        // SAFETY: sending a signal to our own child process by PID.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(10), router.wait())
        .await
        .is_err()
    {
        let _ = router.kill().await;
    }
}

fn print_banner(port: u16, data_dir: &Path) {
    println!();
    println!("Janta is running.");
    println!("  GraphQL endpoint: http://127.0.0.1:{port}/graphql");
    println!("  Playground:       http://127.0.0.1:{port}/graphql (open in a browser)");
    for domain in DOMAINS
        .iter()
        .filter(|d| subgraphs::all().iter().any(|s| s.name == **d))
    {
        println!(
            "  {domain:<14}    http://127.0.0.1:{}/graphql",
            subgraph_port(port, domain)
        );
    }
    println!("  Data directory:   {}", data_dir.display());
    println!();
    println!(
        "Demo logins (password {}):",
        janta_platform::demo::DEMO_PASSWORD
    );
    for (email, what) in janta_users::demo::DEMO_LOGINS {
        println!("  {email:<28} {what}");
    }
    println!();
    println!("Press Ctrl-C to stop.");
}
