//! Demo data for dev mode: none. A prescription is only meaningful with a
//! real document behind it and a pharmacist's decision over catalog
//! medicines, so the demo creates them through the API (upload, submit,
//! review with the demo pharmacist) rather than by seeding rows here.

use janta_platform::store::Store;

/// Seeds nothing; returns whether it seeded (never). Kept so the launcher
/// treats every subgraph alike.
pub async fn seed(_store: &Store) -> anyhow::Result<bool> {
    Ok(false)
}
