//! SQL of the demo data (dev mode only): records with the fixed IDs the
//! other subgraphs' demo data refers to, written as the use cases write
//! them.

use super::{compliance, AddressFields, NewBranch, NewUser, NewVendor};
use janta_platform::store::Store;
use sqlx::AnyConnection;

/// Whether the user `id` exists (the demo was seeded before).
pub async fn has_user(store: &Store, id: &str) -> sqlx::Result<bool> {
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(found.is_some())
}

/// A verified vendor `id` with one branch at `branch`, named after its
/// city, that ships under the vendor's GSTIN (its default shipping branch).
pub async fn verified_vendor(
    conn: &mut AnyConnection,
    id: &str,
    vendor: &NewVendor<'_>,
    branch_id: &str,
    branch: &AddressFields<'_>,
) -> anyhow::Result<()> {
    super::write_vendor(conn, id, vendor, true).await?;
    let name = format!("{} — {}", vendor.name, branch.city);
    let new = NewBranch {
        id: Some(branch_id),
        name: &name,
        address: branch,
        gstin: Some(vendor.gstin),
        ships: true,
    };
    let row = super::insert_branch(conn, id, &new)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    compliance::claim_shipping_branch(conn, id, &row.id).await?;
    Ok(())
}

/// The account `id` (left as it is if its e-mail is taken).
pub async fn user(conn: &mut AnyConnection, id: &str, user: &NewUser<'_>) -> sqlx::Result<()> {
    super::write_user(conn, id, user).await.map(|_| ())
}

/// The address `id` of `user_id`.
pub use super::write_address as address;
