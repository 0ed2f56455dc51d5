//! Batch loaders: one statement per batch, never one per row.

use crate::domain::ListingAudience;
use crate::store::{self, CategoryRow, ListingRow, MedicineRow, ReadClock};
use async_graphql::Context;
use janta_platform::loader::{grouped, keyed, load_one, BatchLoad};
use janta_platform::store::Store;
use janta_platform::ApiResult;
use std::collections::HashMap;

/// Loads the current version of medicines by ID, one statement per batch.
pub struct MedicineLoader;

impl BatchLoad<String> for MedicineLoader {
    type Value = MedicineRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, MedicineRow>> {
        let rows = store::medicines_by_ids(store.pool(), keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads every version of many medicines, one statement per batch.
pub struct VersionsLoader;

impl BatchLoad<String> for VersionsLoader {
    type Value = Vec<MedicineRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<MedicineRow>>> {
        let rows = store::medicine_versions(store, keys).await?;
        Ok(grouped(rows, |r| r.id.clone()))
    }
}

/// Loads listings (with their stock) by ID, one statement per batch.
pub struct ListingLoader;

impl BatchLoad<String> for ListingLoader {
    type Value = ListingRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, ListingRow>> {
        let rows = store::listings_by_ids(store.pool(), keys, &ReadClock::now()).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads categories by ID, one statement per batch.
pub struct CategoryLoader;

impl BatchLoad<String> for CategoryLoader {
    type Value = CategoryRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, CategoryRow>> {
        let rows = store::categories_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the ranked alternatives of medicines, one statement per batch.
pub struct AlternativesLoader;

impl BatchLoad<String> for AlternativesLoader {
    type Value = Vec<MedicineRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<MedicineRow>>> {
        let rows = store::alternatives_of(store, keys).await?;
        let mut map: HashMap<String, Vec<MedicineRow>> = HashMap::new();
        for row in rows {
            map.entry(row.of_medicine).or_default().push(row.medicine);
        }
        Ok(map)
    }
}

/// "The best `limit` listings of a medicine that `audience` may see".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopListingsKey {
    /// The medicine.
    pub medicine_id: String,
    /// How many listings.
    pub limit: i64,
    /// Who asks (one per request, so it does not split batches).
    pub audience: ListingAudience,
}

/// Loads the best listings of many medicines, one statement per batch, page
/// size and audience.
pub struct TopListingsLoader;

impl BatchLoad<TopListingsKey> for TopListingsLoader {
    type Value = Vec<ListingRow>;

    async fn load(
        store: &Store,
        keys: &[TopListingsKey],
    ) -> sqlx::Result<HashMap<TopListingsKey, Vec<ListingRow>>> {
        let mut groups: HashMap<(i64, &ListingAudience), Vec<String>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.limit, &key.audience))
                .or_default()
                .push(key.medicine_id.clone());
        }
        let clock = ReadClock::now();
        let mut out: HashMap<TopListingsKey, Vec<ListingRow>> = HashMap::new();
        for ((limit, audience), ids) in groups {
            let rows =
                store::top_listings_of_medicines(store, &ids, limit, audience, &clock).await?;
            let key = |medicine_id: String| TopListingsKey {
                medicine_id,
                limit,
                audience: audience.clone(),
            };
            for id in ids {
                out.entry(key(id)).or_default();
            }
            for row in rows {
                out.entry(key(row.medicine_id.clone()))
                    .or_default()
                    .push(row);
            }
        }
        Ok(out)
    }
}

pub(super) async fn load_medicine(ctx: &Context<'_>, id: &str) -> ApiResult<Option<MedicineRow>> {
    load_one::<MedicineLoader, _>(ctx, id.to_string()).await
}

pub(super) async fn load_listing(ctx: &Context<'_>, id: &str) -> ApiResult<Option<ListingRow>> {
    load_one::<ListingLoader, _>(ctx, id.to_string()).await
}

pub(super) async fn load_category(ctx: &Context<'_>, id: &str) -> ApiResult<Option<CategoryRow>> {
    load_one::<CategoryLoader, _>(ctx, id.to_string()).await
}
