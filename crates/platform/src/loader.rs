//! One batch loader for every subgraph, so that a resolver reaching many
//! parents costs one statement per batch, not one per parent, and a request
//! that names the same key twice loads it once.
//!
//! A subgraph describes each batch as a [`BatchLoad`]: a unit type whose `load`
//! reads many keys from the [`Store`] in one statement. [`batched`] builds the
//! per-request loader (build the loaders per request, in the router's request
//! hook); resolvers read it with [`load_one`], [`load_many`] or
//! [`load_or_empty`].
//!
//! **No batch window.** A batch runs as soon as a poll of the request's
//! task has added no key to it — not after a fixed sleep. async-graphql resolves sibling fields, list items and `_entities`
//! representations as futures joined in one task, so the polls of that task
//! reach every resolver that can add a key at this depth; the batch then
//! runs in the same task (no hand-off to a spawned task, which on a
//! multi-threaded runtime could start the query while siblings are still
//! adding keys). When it completes, every waiting resolver resumes in the
//! same poll, so a nested list loads in one wave per depth. The end of the
//! poll is tokio's deferred wake (what `yield_now` uses): the runtime wakes it
//! once the task has returned to the scheduler.

use crate::store::Store;
use crate::ApiError;
use async_graphql::Context;
use futures::future::{BoxFuture, FutureExt as _, Shared};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

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

/// One batch's result, shared by every key it loads.
type BatchResult<K, V> = Result<Arc<HashMap<K, V>>, ApiError>;
/// A batch, awaited by every key it loads.
type SharedBatch<K, V> = Shared<BoxFuture<'static, BatchResult<K, V>>>;
/// The keys of a batch still collecting them; `None` once it runs.
type OpenKeys<K> = Arc<Mutex<Option<Vec<K>>>>;

/// What one loader knows in one request.
struct Batches<K, V> {
    /// Every key asked for so far, with the batch that loads (or loaded) it:
    /// the per-request cache, and why a key asked for again while its batch
    /// is in flight waits for that batch instead of querying again.
    by_key: HashMap<K, SharedBatch<K, V>>,
    /// The batch still collecting keys, if any.
    open: Option<(OpenKeys<K>, SharedBatch<K, V>)>,
}

/// The per-request loader of batch `B`, as stored in the request's data.
pub struct Batched<B> {
    store: Store,
    /// A `Batches<K, B::Value>` once a key was asked for.
    batches: Mutex<Option<Box<dyn Any + Send>>>,
    batch: PhantomData<fn() -> B>,
}

/// A new loader for batch `B`. Build one per request: what it loaded is
/// cached as long as the loader lives.
pub fn batched<B: Send + Sync + 'static>(store: &Store) -> Batched<B> {
    Batched {
        store: store.clone(),
        batches: Mutex::default(),
        batch: PhantomData,
    }
}

impl<B> Batched<B> {
    /// The values of `keys` (keys without a value are left out).
    async fn load<K>(&self, keys: Vec<K>) -> Result<HashMap<K, B::Value>, ApiError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        B: BatchLoad<K>,
    {
        let batches = self.batches_for(&keys);
        let loaded = futures::future::try_join_all(batches).await?;
        let mut values = HashMap::with_capacity(keys.len());
        for key in keys {
            if let Some(value) = loaded.iter().find_map(|batch| batch.get(&key)) {
                values.insert(key, value.clone());
            }
        }
        Ok(values)
    }

    /// The batches that load `keys`: those already asked for, and the open
    /// batch (started if none is open) for the rest.
    fn batches_for<K>(&self, keys: &[K]) -> Vec<SharedBatch<K, B::Value>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        B: BatchLoad<K>,
    {
        let mut guard = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        let batches = guard
            .get_or_insert_with(|| {
                Box::new(Batches::<K, B::Value> {
                    by_key: HashMap::new(),
                    open: None,
                })
            })
            .downcast_mut::<Batches<K, B::Value>>()
            .expect("a batch loads one key type");
        let mut wanted: Vec<SharedBatch<K, B::Value>> = Vec::new();
        for key in keys {
            let batch = match batches.by_key.get(key) {
                Some(batch) => batch.clone(),
                None => {
                    let batch = batches.add_to_open::<B>(&self.store, key.clone());
                    batches.by_key.insert(key.clone(), batch.clone());
                    batch
                }
            };
            if !wanted.iter().any(|b| Shared::ptr_eq(b, &batch)) {
                wanted.push(batch);
            }
        }
        wanted
    }
}

impl<K, V> Batches<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + Clone + 'static,
{
    /// Adds `key` to the batch still collecting keys, opening one when
    /// none is (or the last one already runs), and returns that batch.
    fn add_to_open<B: BatchLoad<K, Value = V>>(
        &mut self,
        store: &Store,
        key: K,
    ) -> SharedBatch<K, V> {
        if let Some((keys, batch)) = &self.open {
            if let Some(keys) = keys.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                keys.push(key);
                return batch.clone();
            }
        }
        let keys: OpenKeys<K> = Arc::new(Mutex::new(Some(vec![key])));
        let batch = run_after_this_poll::<B, K>(store.clone(), keys.clone());
        self.open = Some((keys, batch.clone()));
        batch
    }
}

/// The batch that, once a whole poll of the task polling it has added no
/// key, takes the keys collected so far (closing the batch) and loads them.
fn run_after_this_poll<B, K>(store: Store, keys: OpenKeys<K>) -> SharedBatch<K, B::Value>
where
    B: BatchLoad<K>,
    K: Send + Sync + 'static,
{
    async move {
        // A poll of the request's task can end before every sibling was
        // polled: a join of many futures returns early once two of them
        // woke themselves (tokio's cooperative budget, a channel answering
        // at once). So the batch waits for a poll that added no key.
        let mut seen = 0;
        loop {
            EndOfPoll::default().await;
            let now = open_count(&keys);
            if now == seen {
                break;
            }
            seen = now;
        }
        let keys = keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        Ok(Arc::new(B::load(&store, &keys).await?))
    }
    .boxed()
    .shared()
}

/// How many keys the open batch holds so far.
fn open_count<K>(keys: &OpenKeys<K>) -> usize {
    let keys = keys.lock().unwrap_or_else(|e| e.into_inner());
    keys.as_ref().map_or(0, Vec::len)
}

/// Ready once the task that first polled it has returned to the runtime:
/// every future that task polls in the same poll comes before it. Polling
/// it again in that poll (as each waiter on a shared batch does) is still
/// pending; only the deferred wake makes it ready.
#[derive(Default)]
struct EndOfPoll {
    fired: Arc<WakeFlag>,
    deferred: bool,
}

/// Wakes the waiting task and records that the wake came.
#[derive(Default)]
struct WakeFlag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.wake();
        }
    }
}

impl Future for EndOfPoll {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.fired.woken.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *self.fired.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        if !self.deferred {
            self.deferred = true;
            // tokio's `yield_now` hands its waker to the runtime's deferred
            // list, woken after the current task's poll returns (outside a
            // runtime it wakes at once: correct, only less batched).
            let flag = Waker::from(self.fired.clone());
            let _ = pin!(tokio::task::yield_now()).poll(&mut std::task::Context::from_waker(&flag));
        }
        if self.fired.woken.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
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
    Ok(loader::<B>(ctx).load(vec![key.clone()]).await?.remove(&key))
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
    loader::<B>(ctx).load(keys.into_iter().collect()).await
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
        let early = loader.load(vec![2, 3]);
        let late = async {
            // The first batch's query is running by now.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            loader.load(vec![3]).await
        };
        let (early, late) = tokio::join!(early, late);
        assert_eq!(early.unwrap()[&2], 4);
        assert_eq!(late.unwrap()[&3], 9);
        assert_eq!(
            SLOW_QUERIES.load(Ordering::SeqCst),
            1,
            "key 3 waited for the query already loading it"
        );
    }

    /// Records the size of each of its queries in `COUNTED_BATCHES[LOG]`
    /// (one log per test: tests run in parallel).
    struct CountedSquares<const LOG: usize>;

    static COUNTED_BATCHES: [Mutex<Vec<usize>>; 3] = [
        Mutex::new(Vec::new()),
        Mutex::new(Vec::new()),
        Mutex::new(Vec::new()),
    ];

    impl<const LOG: usize> BatchLoad<i64> for CountedSquares<LOG> {
        type Value = i64;

        async fn load(_store: &Store, keys: &[i64]) -> Result<HashMap<i64, i64>, sqlx::Error> {
            COUNTED_BATCHES[LOG].lock().unwrap().push(keys.len());
            tokio::task::yield_now().await;
            Ok(keys.iter().map(|k| (*k, k * k)).collect())
        }
    }

    /// What a list of parents does: each item asks for its key in its own
    /// future, all joined in the request's task; then each item asks again
    /// for the next level's key.
    async fn two_levels<const LOG: usize>(loader: &Batched<CountedSquares<LOG>>, parents: i64) {
        let items = (0..parents).map(|i| async move {
            let square = loader.load(vec![i]).await.unwrap()[&i];
            let nested = square + 1_000_000;
            loader.load(vec![nested]).await.unwrap()[&nested]
        });
        let values = futures::future::join_all(items).await;
        assert_eq!(values.len() as i64, parents);
        assert_eq!(values[3], (9 + 1_000_000) * (9 + 1_000_000));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_key_of_one_depth_goes_in_one_batch_even_on_many_threads() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        for parents in [5, 31, 300] {
            for _ in 0..20 {
                COUNTED_BATCHES[0].lock().unwrap().clear();
                let loader = batched::<CountedSquares<0>>(&store);
                // The request runs in its own task, as the server's do.
                let request = tokio::spawn(async move { two_levels(&loader, parents).await });
                request.await.unwrap();
                let batches = COUNTED_BATCHES[0].lock().unwrap().clone();
                assert_eq!(
                    batches,
                    vec![parents as usize, parents as usize],
                    "one batch per depth for {parents} parents"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn siblings_held_back_by_the_cooperative_budget_join_the_same_batch() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        for _ in 0..20 {
            COUNTED_BATCHES[2].lock().unwrap().clear();
            let loader = batched::<CountedSquares<2>>(&store);
            let request = tokio::spawn(async move {
                // Each item spends some of the task's budget before asking
                // for its key: the budget runs out part-way through the
                // list, and the rest ask in a later poll of the task.
                let items = (0..100i64).map(|i| {
                    let loader = &loader;
                    async move {
                        for _ in 0..3 {
                            tokio::task::consume_budget().await;
                        }
                        loader.load(vec![i]).await.unwrap()[&i]
                    }
                });
                futures::future::join_all(items).await
            });
            assert_eq!(request.await.unwrap()[99], 99 * 99);
            let batches = COUNTED_BATCHES[2].lock().unwrap().clone();
            assert_eq!(batches, vec![100], "one batch for the whole list");
        }
    }

    #[tokio::test]
    async fn a_batch_runs_without_waiting_for_a_timer() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        tokio::time::pause();
        let loader = batched::<CountedSquares<1>>(&store);
        let before = tokio::time::Instant::now();
        two_levels(&loader, 10).await;
        // With the clock paused, any sleep in the loader would have moved it.
        assert_eq!(tokio::time::Instant::now(), before, "no batch window");
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
