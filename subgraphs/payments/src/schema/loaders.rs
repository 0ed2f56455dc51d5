//! Batch loaders: one statement per batch of payments, order payments or refunds.

use crate::domain;
use crate::store::{self, PaymentRow, RefundRow};
use async_graphql::Context;
use janta_platform::auth::Principal;
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_one, BatchLoad};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Loads payments by ID in one statement per batch.
pub struct PaymentLoader;

impl BatchLoad<String> for PaymentLoader {
    type Value = PaymentRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, PaymentRow>> {
        let rows = store::payments_by_ids(store.pool(), keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the payments of many orders in one statement per batch.
pub struct OrderPaymentsLoader;

impl BatchLoad<String> for OrderPaymentsLoader {
    type Value = Vec<PaymentRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<PaymentRow>>> {
        let rows = store::payments_by_order_ids(store.pool(), keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Loads the refunds of many payments in one statement per batch.
pub struct RefundsLoader;

impl BatchLoad<String> for RefundsLoader {
    type Value = Vec<RefundRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<RefundRow>>> {
        let rows = store::refunds_by_payment_ids(store.pool(), keys).await?;
        Ok(grouped(rows, |r| r.payment_id.clone()))
    }
}

/// The payment `id` if `viewer` may see it (NOT_FOUND / FORBIDDEN otherwise).
pub(super) async fn visible_payment(
    ctx: &Context<'_>,
    viewer: &Principal,
    id: &str,
) -> ApiResult<PaymentRow> {
    let id = parse_id(id, "payment id")?;
    let row = load_one::<PaymentLoader, _>(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    if !domain::can_view(viewer, &row.customer_id, &row.vendor_id) {
        return Err(ApiError::forbidden("you cannot see this payment"));
    }
    Ok(row)
}
