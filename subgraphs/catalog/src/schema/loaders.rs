//! Batch loaders: one statement per batch, never one per row; and
//! [`Siblings`], which keeps the nested lists of rows resolved together in
//! one batch each.

use crate::domain::ListingAudience;
use crate::store::{self, CategoryRow, ListingRow, MedicineRow, ReadClock};
use async_graphql::Context;
use janta_platform::loader::{batched, grouped, keyed, load_many, load_one, BatchLoad};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// Rows resolved together (the medicines of one entity batch, one page,
/// or one batch of alternatives). The first of them to resolve a nested
/// list loads it for all of them in one batch, and the others share that
/// result: a loader's batch window alone splits a batch in two whenever
/// resolving the rows outlasts it (a busy machine, a debug build).
pub struct Siblings<M> {
    members: Vec<M>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl<M: Send + Sync> Siblings<M> {
    /// The group of `members`.
    pub fn of(members: Vec<M>) -> Arc<Self> {
        Arc::new(Siblings {
            members,
            slots: Mutex::default(),
        })
    }

    /// Batch `B` for every member (keyed by `key`), loaded once for the
    /// group under the name `slot`.
    pub async fn load<B, K>(
        &self,
        ctx: &Context<'_>,
        slot: String,
        key: impl Fn(&M) -> K,
    ) -> ApiResult<Arc<HashMap<K, B::Value>>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        B: BatchLoad<K>,
    {
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(slot).or_default().clone()
        };
        let loaded = cell
            .get_or_try_init(|| async {
                let keys: Vec<K> = self.members.iter().map(&key).collect();
                let map = load_many::<B, K>(ctx, keys).await?;
                Ok::<_, ApiError>(Arc::new(map) as Arc<dyn Any + Send + Sync>)
            })
            .await?;
        Arc::clone(loaded)
            .downcast::<HashMap<K, B::Value>>()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("a sibling slot changed its type")))
    }
}

/// A row with the rows it was loaded with.
pub struct Loaded<M> {
    pub row: M,
    pub siblings: Arc<Siblings<M>>,
}

impl<M: Clone> Clone for Loaded<M> {
    fn clone(&self) -> Self {
        Loaded {
            row: self.row.clone(),
            siblings: self.siblings.clone(),
        }
    }
}

/// A medicine with its siblings.
pub type LoadedMedicine = Loaded<MedicineRow>;

/// A listing with its siblings.
pub type LoadedListing = Loaded<ListingRow>;

/// `rows`, each knowing the others as its siblings.
pub fn with_siblings<M: Clone + Send + Sync>(rows: Vec<M>) -> Vec<Loaded<M>> {
    let siblings = Siblings::of(rows.clone());
    rows.into_iter()
        .map(|row| Loaded {
            row,
            siblings: siblings.clone(),
        })
        .collect()
}

/// A row resolved alone.
pub fn alone<M: Clone + Send + Sync>(row: M) -> Loaded<M> {
    Loaded {
        siblings: Siblings::of(vec![row.clone()]),
        row,
    }
}

/// Loads the current version of medicines by ID, one statement per batch.
pub struct MedicineLoader;

impl BatchLoad<String> for MedicineLoader {
    type Value = LoadedMedicine;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, LoadedMedicine>> {
        let rows = store::medicines_by_ids(store.pool(), keys).await?;
        Ok(keyed(with_siblings(rows), |m| m.row.id.clone()))
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
    type Value = LoadedListing;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, LoadedListing>> {
        let rows = store::listings_by_ids(store.pool(), keys, &ReadClock::now()).await?;
        Ok(keyed(with_siblings(rows), |l| l.row.id.clone()))
    }
}

/// Loads the packs in quarantine of many listings, one statement per batch
/// (listings without any are missing: none).
pub struct QuarantineLoader;

impl BatchLoad<String> for QuarantineLoader {
    type Value = i64;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, i64>> {
        let rows = store::quarantine::quarantined(store, keys).await?;
        Ok(rows.into_iter().collect())
    }
}

/// Every loader of this subgraph, fresh for one request.
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<MedicineLoader>(store))
        .data(batched::<VersionsLoader>(store))
        .data(batched::<ListingLoader>(store))
        .data(batched::<CategoryLoader>(store))
        .data(batched::<AlternativesLoader>(store))
        .data(batched::<TopListingsLoader>(store))
        .data(batched::<QuarantineLoader>(store))
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

/// Loads the ranked alternatives of medicines, one statement per batch
/// (the alternatives of a batch are siblings).
pub struct AlternativesLoader;

impl BatchLoad<String> for AlternativesLoader {
    type Value = Vec<LoadedMedicine>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<LoadedMedicine>>> {
        let rows = store::alternatives_of(store, keys).await?;
        let (parents, medicines): (Vec<String>, Vec<MedicineRow>) = rows
            .into_iter()
            .map(|r| (r.of_medicine, r.medicine))
            .unzip();
        let mut map: HashMap<String, Vec<LoadedMedicine>> = HashMap::new();
        for (parent, medicine) in parents.into_iter().zip(with_siblings(medicines)) {
            map.entry(parent).or_default().push(medicine);
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

pub(super) async fn load_medicine(
    ctx: &Context<'_>,
    id: &str,
) -> ApiResult<Option<LoadedMedicine>> {
    load_one::<MedicineLoader, _>(ctx, id.to_string()).await
}

pub(super) async fn load_listing(ctx: &Context<'_>, id: &str) -> ApiResult<Option<LoadedListing>> {
    load_one::<ListingLoader, _>(ctx, id.to_string()).await
}

pub(super) async fn load_category(ctx: &Context<'_>, id: &str) -> ApiResult<Option<CategoryRow>> {
    load_one::<CategoryLoader, _>(ctx, id.to_string()).await
}
