//! Batched loaders, so that lists of entities cost one statement per batch.

use crate::store::compliance::{self, LicenceRow};
use crate::store::{self, AddressRow, BranchRow, UserRow, VendorRow};
use async_graphql::{Context, ID};
use janta_platform::ids::parse_id;
use janta_platform::loader::{batched, grouped, keyed, load_one, BatchLoad};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Loads users by ID in one statement per batch.
pub struct UserLoader;

impl BatchLoad<String> for UserLoader {
    type Value = UserRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, UserRow>> {
        let rows = store::users_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads vendors by ID in one statement per batch.
pub struct VendorLoader;

impl BatchLoad<String> for VendorLoader {
    type Value = VendorRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, VendorRow>> {
        let rows = store::vendors_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the branches of many vendors in one statement per batch.
pub struct BranchesLoader;

impl BatchLoad<String> for BranchesLoader {
    type Value = Vec<BranchRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<BranchRow>>> {
        let rows = store::branches_of(store, keys).await?;
        Ok(grouped(rows, |r| r.vendor_id.clone()))
    }
}

/// Loads branches by ID in one statement per batch (shipping branches).
pub struct BranchLoader;

impl BatchLoad<String> for BranchLoader {
    type Value = BranchRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, BranchRow>> {
        let rows = compliance::branches_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the drug licence records of many vendors in one statement per batch.
pub struct LicencesLoader;

impl BatchLoad<String> for LicencesLoader {
    type Value = Vec<LicenceRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<LicenceRow>>> {
        let rows = compliance::licences_of(store, keys).await?;
        Ok(grouped(rows, |r| r.vendor_id.clone()))
    }
}

/// Loads addresses by ID in one statement per batch.
pub struct AddressLoader;

impl BatchLoad<String> for AddressLoader {
    type Value = AddressRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, AddressRow>> {
        let rows = store::addresses_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

pub(in crate::schema) async fn load_user(
    ctx: &Context<'_>,
    id: &str,
) -> ApiResult<Option<UserRow>> {
    load_one::<UserLoader, _>(ctx, id.to_string()).await
}

pub(in crate::schema) async fn load_vendor(ctx: &Context<'_>, id: &ID) -> ApiResult<VendorRow> {
    let id = parse_id(id, "vendor id")?;
    load_one::<VendorLoader, _>(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("vendor"))
}

/// Adds this subgraph's loaders, fresh, to one request.
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<UserLoader>(store))
        .data(batched::<VendorLoader>(store))
        .data(batched::<AddressLoader>(store))
        .data(batched::<BranchesLoader>(store))
        .data(batched::<BranchLoader>(store))
        .data(batched::<LicencesLoader>(store))
}
