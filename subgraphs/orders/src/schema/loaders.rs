//! Batch loaders: one statement per batch of orders, lines or histories.

use crate::store::{self, HistoryRow, LineRow, OrderRow};
use async_graphql::Context;
use janta_platform::loader::{grouped, keyed, load_one, BatchLoad};
use janta_platform::store::Store;
use janta_platform::ApiResult;
use std::collections::HashMap;

/// Loads orders by ID in one statement per batch.
pub struct OrderLoader;

impl BatchLoad<String> for OrderLoader {
    type Value = OrderRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, OrderRow>> {
        let rows = store::orders_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the lines of many orders in one statement per batch.
pub struct LinesLoader;

impl BatchLoad<String> for LinesLoader {
    type Value = Vec<LineRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<LineRow>>> {
        let rows = store::lines_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Loads the status history of many orders in one statement per batch.
pub struct HistoryLoader;

impl BatchLoad<String> for HistoryLoader {
    type Value = Vec<HistoryRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<HistoryRow>>> {
        let rows = store::history_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

pub(super) async fn load_order(ctx: &Context<'_>, id: &str) -> ApiResult<Option<OrderRow>> {
    load_one::<OrderLoader, _>(ctx, id.to_string()).await
}
