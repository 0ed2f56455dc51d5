//! Latency samples of one measured side and how they are printed, so every
//! scenario reports the same figures in the same columns.

use std::time::Duration;

/// The outcome of one measured side: every request's latency, the wall
/// time they took together, and how many failed (with the first failure,
/// so a broken run says why instead of printing fast nonsense).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// What was measured, printed in the first column.
    pub label: String,
    /// Wall time of the whole side.
    pub total: Duration,
    /// Latency of every request, failed ones included.
    pub latencies: Vec<Duration>,
    /// Requests that failed (transport error, non-JSON or GraphQL errors).
    pub errors: usize,
    /// The first failure, for the printout.
    pub first_error: Option<String>,
}

impl Stats {
    /// The `p` quantile (0.0–1.0) of the latencies.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }

    /// Median latency in milliseconds.
    pub fn p50_ms(&self) -> f64 {
        ms(self.percentile(0.5))
    }

    /// Requests per second over the side's wall time.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.total.as_secs_f64().max(1e-9)
    }

    /// One line: throughput, p50/p95/p99 and errors.
    pub fn print(&self) {
        println!(
            "  {:<40} {:>8.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            self.label,
            self.throughput(),
            self.p50_ms(),
            ms(self.percentile(0.95)),
            ms(self.percentile(0.99)),
            self.errors
        );
        if let Some(error) = &self.first_error {
            println!("    first error: {}", truncate(error, 300));
        }
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `a / b`, without dividing by zero.
pub fn ratio(a: f64, b: f64) -> f64 {
    a / b.max(1e-9)
}

/// The first `max` characters of `text`.
pub fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
