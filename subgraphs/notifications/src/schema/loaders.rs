//! Batch loaders: one statement per batch of keys, so lists of
//! notifications and deliveries do not query once per item.

use crate::store::{self, AttemptRow, DeliveryRow, NotificationRow};
use janta_platform::loader::{batched, grouped, keyed, BatchLoad};
use janta_platform::store::Store;
use std::collections::HashMap;

/// Loads notifications by ID in one statement per batch.
pub struct NotificationLoader;

impl BatchLoad<String> for NotificationLoader {
    type Value = NotificationRow;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, NotificationRow>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::notifications_by_ids(&mut conn, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads read marks by (user, notification) in one statement per user.
pub struct ReadLoader;

impl BatchLoad<(String, String)> for ReadLoader {
    type Value = String;

    async fn load(
        store: &Store,
        keys: &[(String, String)],
    ) -> sqlx::Result<HashMap<(String, String), String>> {
        let mut by_user: HashMap<&str, Vec<String>> = HashMap::new();
        for (user, id) in keys {
            by_user.entry(user).or_default().push(id.clone());
        }
        let mut out = HashMap::new();
        for (user, ids) in by_user {
            for (id, at) in store::read_marks(store, user, &ids).await? {
                out.insert((user.to_string(), id), at);
            }
        }
        Ok(out)
    }
}

/// Loads deliveries by ID in one statement per batch.
pub struct DeliveryLoader;

impl BatchLoad<String> for DeliveryLoader {
    type Value = DeliveryRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, DeliveryRow>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::deliveries_by_ids(&mut conn, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the attempts of deliveries in one statement per batch.
pub struct AttemptsLoader;

impl BatchLoad<String> for AttemptsLoader {
    type Value = Vec<AttemptRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<AttemptRow>>> {
        let rows = store::attempts_of(store, keys).await?;
        Ok(grouped(rows, |r| r.delivery_id.clone()))
    }
}

/// Adds this subgraph's loaders, fresh, to one request.
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<NotificationLoader>(store))
        .data(batched::<ReadLoader>(store))
        .data(batched::<DeliveryLoader>(store))
        .data(batched::<AttemptsLoader>(store))
}
