//! Batch loaders: one statement per batch of orders, lines or histories.

use crate::store::{self, HistoryRow, LineRow, OrderRow, ReturnLineRow, ReturnRow};
use async_graphql::Context;
use janta_platform::loader::{batched, grouped, keyed, load_one, BatchLoad};
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

/// Loads the returns of many orders in one statement per batch.
pub struct ReturnsLoader;

impl BatchLoad<String> for ReturnsLoader {
    type Value = Vec<ReturnRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<ReturnRow>>> {
        let rows = store::returns_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Loads returns by ID in one statement per batch.
pub struct ReturnLoader;

impl BatchLoad<String> for ReturnLoader {
    type Value = ReturnRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, ReturnRow>> {
        let rows = store::returns_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the lines of many returns in one statement per batch.
pub struct ReturnLinesLoader;

impl BatchLoad<String> for ReturnLinesLoader {
    type Value = Vec<ReturnLineRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<ReturnLineRow>>> {
        let rows = store::lines_of_returns(store, keys).await?;
        Ok(grouped(rows, |r| r.return_id.clone()))
    }
}

/// Every loader of this subgraph, fresh for one request.
pub fn with_loaders(request: async_graphql::Request, store: &Store) -> async_graphql::Request {
    request
        .data(batched::<OrderLoader>(store))
        .data(batched::<LinesLoader>(store))
        .data(batched::<HistoryLoader>(store))
        .data(batched::<ReturnsLoader>(store))
        .data(batched::<ReturnLoader>(store))
        .data(batched::<ReturnLinesLoader>(store))
        .data(batched::<super::DocumentsLoader>(store))
        .data(batched::<super::PartiesLoader>(store))
        .data(batched::<super::dispensing::DispensingLoader>(store))
        .data(batched::<super::dispensing::LinePrescriberLoader>(store))
}

pub(super) async fn load_order(ctx: &Context<'_>, id: &str) -> ApiResult<Option<OrderRow>> {
    load_one::<OrderLoader, _>(ctx, id.to_string()).await
}
