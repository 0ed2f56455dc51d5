//! One batch loader for every subgraph, so that a resolver reaching many
//! parents costs one statement per batch, not one per parent, and a request
//! that names the same key twice loads it once.
//!
//! A subgraph describes each batch as a [`BatchLoad`]: a unit type whose `load`
//! reads many keys from the [`Store`] in one statement. [`batched`] wraps it
//! in async-graphql's `DataLoader` with a per-request cache (build the
//! loaders per request, in the router's request hook) and the one
//! [`BATCH_DELAY`]; resolvers read it with [`load_one`], [`load_many`] or
//! [`load_or_empty`].

use crate::store::Store;
use crate::ApiError;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::Context;
use futures::future::{BoxFuture, FutureExt as _, Shared};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a loader collects keys before it queries, counted from the first
/// key of a batch. async-graphql's 1 ms default cut router `_entities`
/// batches of a few hundred references into several statements; 5 ms (what
/// catalog measured) keeps them whole on a busy machine, and adds at most
/// 5 ms per level of nesting to a request. Keys that arrive after the window
/// closes still go to a second batch (the per-request cache only saves keys
/// already loaded). A constant until configuration grows a setting for it.
pub const BATCH_DELAY: Duration = Duration::from_millis(5);

/// Reads many keys from the store in one statement (or a fixed number).
/// Implemented by a unit type per batch, which also names the loader in the
/// request's data.
pub trait BatchLoad<K>: Send + Sync + 'static {
    /// What one key loads (a row, or the rows of a parent).
    type Value: Send + Sync + Clone + 'static;

    /// Loads `keys`; keys without a value are left out of the map.
    fn load(
        store: &Store,
        keys: &[K],
    ) -> impl Future<Output = Result<HashMap<K, Self::Value>, sqlx::Error>> + Send;
}

/// One started batch's result, shared by every key it loads.
type BatchResult<K, V> = Result<Arc<HashMap<K, V>>, ApiError>;
/// A started batch, awaited by every key it loads.
type StartedBatch<K, V> = Shared<BoxFuture<'static, BatchResult<K, V>>>;
/// The batches started in one request, by the keys they load.
type Started<K, V> = HashMap<K, StartedBatch<K, V>>;

/// The `Loader` that runs a [`BatchLoad`] against a store. It remembers
/// which keys a batch of this request is already loading: a key asked for
/// again while that batch is in flight (a nested field that resolved after
/// the batch window closed) waits for it instead of starting a second
/// query, so a request costs the same statements however slowly its
/// fields resolve.
pub struct StoreLoader<B> {
    store: Store,
    /// A `Started<K, B::Value>` once a batch ran.
    started: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    batch: PhantomData<fn() -> B>,
}

impl<K, B> Loader<K> for StoreLoader<B>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    B: BatchLoad<K>,
{
    type Value = B::Value;
    type Error = ApiError;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, B::Value>, Self::Error> {
        let batches = self.batches_for(keys);
        let mut values = HashMap::with_capacity(keys.len());
        for batch in batches {
            let loaded = batch.await?;
            for key in keys {
                if let Some(value) = loaded.get(key) {
                    values.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(values)
    }
}

impl<B> StoreLoader<B> {
    /// The batches that load `keys`: those already started for some of
    /// them, and a new one for the rest.
    fn batches_for<K>(&self, keys: &[K]) -> Vec<StartedBatch<K, B::Value>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        B: BatchLoad<K>,
    {
        let mut guard = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let started = guard
            .get_or_insert_with(|| Box::new(Started::<K, B::Value>::new()))
            .downcast_mut::<Started<K, B::Value>>()
            .expect("a batch loads one key type");
        let mut batches: Vec<Shared<_>> = Vec::new();
        let mut fresh = Vec::new();
        for key in keys {
            match started.get(key) {
                Some(batch) if !batches.iter().any(|b| Shared::ptr_eq(b, batch)) => {
                    batches.push(batch.clone())
                }
                Some(_) => {}
                None => fresh.push(key.clone()),
            }
        }
        if !fresh.is_empty() {
            let store = self.store.clone();
            let batch_keys = fresh.clone();
            let batch = async move { Ok(Arc::new(B::load(&store, &batch_keys).await?)) }
                .boxed()
                .shared();
            for key in fresh {
                started.insert(key, batch.clone());
            }
            batches.push(batch);
        }
        batches
    }
}

/// The per-request loader of batch `B`, as stored in the request's data.
pub type Batched<B> = DataLoader<StoreLoader<B>, HashMapCache>;

/// A new loader for batch `B`, with a per-request cache and [`BATCH_DELAY`].
/// Build one per request: the cache lives as long as the loader.
pub fn batched<B: Send + Sync + 'static>(store: &Store) -> Batched<B> {
    let loader = StoreLoader {
        store: store.clone(),
        started: Mutex::default(),
        batch: PhantomData,
    };
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default()).delay(BATCH_DELAY)
}

fn loader<'a, B: Send + Sync + 'static>(ctx: &Context<'a>) -> &'a Batched<B> {
    ctx.data_unchecked::<Batched<B>>()
}

/// The value of `key` in batch `B`, if any.
pub async fn load_one<B, K>(ctx: &Context<'_>, key: K) -> Result<Option<B::Value>, ApiError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    B: BatchLoad<K>,
{
    loader::<B>(ctx).load_one(key).await
}

/// The values of `keys` in batch `B` (keys without a value are left out).
pub async fn load_many<B, K>(
    ctx: &Context<'_>,
    keys: impl IntoIterator<Item = K>,
) -> Result<HashMap<K, B::Value>, ApiError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    B: BatchLoad<K>,
{
    loader::<B>(ctx).load_many(keys).await
}

/// The list of `key` in a batch of lists, empty when the key has none.
pub async fn load_or_empty<B, K, V>(ctx: &Context<'_>, key: K) -> Result<Vec<V>, ApiError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    B: BatchLoad<K, Value = Vec<V>>,
    V: Send + Sync + Clone + 'static,
{
    Ok(load_one::<B, K>(ctx, key).await?.unwrap_or_default())
}

/// Rows keyed by `key` (for batches that load one row per key).
pub fn keyed<K: Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, V> {
    rows.into_iter().map(|row| (key(&row), row)).collect()
}

/// Rows grouped by `key`, in their order (for batches that load the rows of
/// many parents).
pub fn grouped<K: Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static SLOW_QUERIES: AtomicUsize = AtomicUsize::new(0);

    /// A batch whose query takes 50 ms, counting its queries.
    struct SlowSquares;

    impl BatchLoad<i64> for SlowSquares {
        type Value = i64;

        async fn load(_store: &Store, keys: &[i64]) -> Result<HashMap<i64, i64>, sqlx::Error> {
            SLOW_QUERIES.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok(keys.iter().map(|k| (*k, k * k)).collect())
        }
    }

    #[tokio::test]
    async fn a_key_asked_for_while_its_batch_is_in_flight_waits_for_that_batch() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let loader = batched::<SlowSquares>(&store);
        let early = loader.load_many([2, 3]);
        let late = async {
            // The first batch's window has closed; its query is running.
            tokio::time::sleep(BATCH_DELAY * 4).await;
            loader.load_one(3).await
        };
        let (early, late) = tokio::join!(early, late);
        assert_eq!(early.unwrap()[&2], 4);
        assert_eq!(late.unwrap(), Some(9));
        assert_eq!(
            SLOW_QUERIES.load(Ordering::SeqCst),
            1,
            "key 3 waited for the query already loading it"
        );
    }

    #[test]
    fn grouped_keeps_row_order_per_key() {
        let rows = vec![("a", 1), ("b", 2), ("a", 3)];
        let map = grouped(rows, |r| r.0);
        assert_eq!(map["a"], vec![("a", 1), ("a", 3)]);
        assert_eq!(map["b"], vec![("b", 2)]);
    }

    #[test]
    fn keyed_maps_each_row_by_its_key() {
        let map = keyed(vec![("a", 1), ("b", 2)], |r| r.0);
        assert_eq!(map.len(), 2);
        assert_eq!(map["b"], ("b", 2));
    }
}
