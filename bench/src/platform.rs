//! A `janta dev` platform the benchmark starts itself (the scale and memory
//! scenarios need fresh starts), and the memory of a process tree read from
//! `/proc` (the platform is one process plus the router as its child).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment every benchmarked platform runs with: per-user rate
/// limits out of the way (the load is many requests per user on purpose)
/// and quiet logs.
pub const BENCH_ENV: [(&str, &str); 4] = [
    ("JANTA_RATE_LIMIT_PER_MINUTE", "100000000"),
    ("JANTA_PARTNER_RATE_LIMIT_PER_MINUTE", "100000000"),
    ("RUST_LOG", "warn"),
    ("LOG_LEVEL", "warn"),
];

/// A running `janta dev`, stopped when dropped.
pub struct Platform {
    child: Child,
    /// Router port; subgraphs on the next six.
    pub port: u16,
}

impl Platform {
    /// Starts `janta dev` from `bin` on `data_dir` and a free port; returns
    /// it with the time until the router first answered a query.
    pub async fn start(bin: &Path, data_dir: &Path) -> anyhow::Result<(Platform, Duration)> {
        let port = free_base_port();
        let started = Instant::now();
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("janta-bench-{port}.log")))?;
        let mut command = Command::new(bin);
        if let Ok(preload) = std::env::var("JANTA_BENCH_PRELOAD") {
            // Another malloc for the platform only (bench/run.sh, JANTA_BENCH_ALLOCATOR).
            command.env("LD_PRELOAD", preload);
        }
        let child = command
            .args(["dev", "--port", &port.to_string(), "--data-dir"])
            .arg(data_dir)
            .envs(BENCH_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut platform = Platform { child, port };
        platform.first_answer(started).await?;
        Ok((platform, started.elapsed()))
    }

    /// The router's GraphQL endpoint.
    pub fn router(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }

    /// The process ID of `janta dev`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the router answers `{ __typename }` (a query through the
    /// whole path, not only a health probe).
    async fn first_answer(&mut self, started: Instant) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let probe = serde_json::json!({"query": "{ __typename }"});
        while started.elapsed() < Duration::from_secs(600) {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("janta dev exited during start-up: {status}");
            }
            let answer = http.post(self.router()).json(&probe).send().await;
            if let Ok(answer) = answer {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        anyhow::bail!("janta dev did not answer within 10 minutes")
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // SIGTERM first: janta dev stops its router child itself.
        // SAFETY: signalling our own child process by its PID.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A base port with it and the next six free, below the ephemeral range
/// (32768 and up) where the load's own connections could hold one.
pub fn free_base_port() -> u16 {
    let mut seed = std::process::id() as u16;
    loop {
        seed = seed.wrapping_mul(31).wrapping_add(7);
        let base = 21_000 + (seed % 1100) * 10;
        if (base..base + 7).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}

/// A free port for one more listener.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Resident memory of `pid` and all its descendants, in MiB: each process's
/// whole resident set, so pages they share (the `janta` binary mapped by the
/// subgraphs' process and the router's) count once per process.
pub fn tree_rss_mib(pid: u32) -> f64 {
    tree_kib(pid, "/status", "VmRSS:") as f64 / 1024.0
}

/// Proportional memory of `pid` and all its descendants, in MiB: a page
/// shared by n processes counts 1/n in each, so the sum is what the tree
/// occupies, each shared page once.
pub fn tree_pss_mib(pid: u32) -> f64 {
    tree_kib(pid, "/smaps_rollup", "Pss:") as f64 / 1024.0
}

/// The sum of the `field` line (in KiB) of `/proc/<pid><file>` over `pid`
/// and its descendants.
fn tree_kib(pid: u32, file: &str, field: &str) -> u64 {
    let mut tree = vec![pid];
    let mut i = 0;
    let parents: Vec<(u32, u32)> = processes();
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree.iter().map(|p| proc_kib(*p, file, field)).sum()
}

/// Every process as (pid, parent pid).
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces; fields follow its ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid = rest.split(' ').nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// The `field` line of `/proc/<pid><file>` of one process, in KiB (0 when
/// it is gone).
fn proc_kib(pid: u32, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}{file}"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "janta-bench-{name}-{}",
        crate::customers::run_tag()
    ))
}
