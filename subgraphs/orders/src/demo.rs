//! Demo data for dev mode. Orders seeds none: the demo starts with empty
//! carts and no orders, and the launcher's demo walk-through places them
//! through the API (so every order has real reservations in catalog).

use janta_platform::store::Store;

/// Seeds nothing; returns false ("nothing seeded"). Present so that every
/// subgraph has the same shape for the launcher.
pub async fn seed(_store: &Store) -> anyhow::Result<bool> {
    Ok(false)
}
