//! Batch loaders of prescriptions, their lines and the prescriptions of orders.

use crate::store::{self, LineRow, LoadedPrescription, OrderPrescription};
use janta_platform::loader::{batched, grouped, keyed, BatchLoad};
use janta_platform::store::Store;
use std::collections::HashMap;

/// Loads prescriptions by ID, with their lines and dispensing pharmacies,
/// in three statements per batch.
pub struct PrescriptionLoader;

impl BatchLoad<String> for PrescriptionLoader {
    type Value = LoadedPrescription;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, LoadedPrescription>> {
        let mut conn = store.pool().acquire().await?;
        let loaded = store::load_prescriptions(&mut conn, keys).await?;
        Ok(keyed(loaded, |rx| rx.row.id.clone()))
    }
}

/// Loads the lines of many prescriptions in one statement per batch.
pub struct LinesLoader;

impl BatchLoad<String> for LinesLoader {
    type Value = Vec<LineRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<LineRow>>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::lines_of(&mut conn, keys).await?;
        Ok(grouped(rows, |r| r.prescription_id.clone()))
    }
}

/// Loads the prescriptions of many orders in four statements per batch.
pub struct OrderPrescriptionsLoader;

impl BatchLoad<String> for OrderPrescriptionsLoader {
    type Value = Vec<OrderPrescription>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<OrderPrescription>>> {
        let rows = store::prescriptions_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Every loader of this subgraph, fresh for one request.
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<PrescriptionLoader>(store))
        .data(batched::<LinesLoader>(store))
        .data(batched::<OrderPrescriptionsLoader>(store))
}
