//! Demo data for dev mode. Payments seeds nothing: the demo orders start
//! unpaid, and paying one (`payOrder`, then the sandbox checkout link) is
//! the demo.

use janta_platform::store::Store;

/// Seeds nothing; returns whether it seeded (never).
pub async fn seed(_store: &Store) -> anyhow::Result<bool> {
    Ok(false)
}
