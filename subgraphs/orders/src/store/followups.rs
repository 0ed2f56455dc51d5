//! The calls orders owe catalog and prescriptions (with the lease that
//! makes one worker at a time call for an order), and what the sweeper looks
//! for.

use crate::domain::{PaymentMethod, RxAction, Status, StockAction};
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;

/// Takes the follow-up lease of an order until `until`, so one worker at a
/// time calls catalog and prescriptions for it, in order. False when held.
pub async fn lease_followup(
    store: &Store,
    id: &str,
    until: DateTime,
    now: DateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET followup_lease_until = $2 \
         WHERE id = $1 AND (followup_lease_until IS NULL OR followup_lease_until < $3)",
    )
    .bind(id)
    .bind(until)
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Gives the lease back, counting a failed attempt when `failed`.
pub async fn end_followup(store: &Store, id: &str, failed: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orders SET followup_lease_until = NULL, \
         followup_attempts = CASE WHEN $2 THEN followup_attempts + 1 ELSE 0 END WHERE id = $1",
    )
    .bind(id)
    .bind(failed)
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// The calls an order still owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owed {
    /// To catalog.
    pub stock: Option<StockAction>,
    /// To prescriptions.
    pub rx: Option<RxAction>,
}

impl Owed {
    /// Whether nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.stock.is_none() && self.rx.is_none()
    }
}

/// The calls an order still owes; `None` when there is no such order.
pub async fn pending_actions(store: &Store, id: &str) -> sqlx::Result<Option<Owed>> {
    let row: Option<(Option<StockAction>, Option<RxAction>)> =
        sqlx::query_as("SELECT stock_action, rx_action FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    Ok(row.map(|(stock, rx)| Owed { stock, rx }))
}

/// Clears the owed catalog action if it is still `done` (a newer one stays).
pub async fn clear_stock_action(store: &Store, id: &str, done: StockAction) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET stock_action = NULL WHERE id = $1 AND stock_action = $2")
        .bind(id)
        .bind(done.as_db())
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// Clears the owed prescriptions action if it is still `done`.
pub async fn clear_rx_action(store: &Store, id: &str, done: RxAction) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET rx_action = NULL WHERE id = $1 AND rx_action = $2")
        .bind(id)
        .bind(done.as_db())
        .execute(store.pool())
        .await
        .map(|_| ())
}

/// Orders that still owe calls and are not leased, oldest first.
pub async fn orders_owing_followups(store: &Store, now: DateTime) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE (stock_action IS NOT NULL OR rx_action IS NOT NULL) \
         AND (followup_lease_until IS NULL OR followup_lease_until < $1) \
         ORDER BY updated_at LIMIT 100",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Unpaid online-payment orders whose payment window closed before `now`.
pub async fn expired_unpaid_orders(store: &Store, now: DateTime) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE status = $1 AND payment_due_at < $2 \
         AND (payment_method IS NULL OR payment_method <> $3) ORDER BY payment_due_at LIMIT 100",
    )
    .bind(Status::PendingPayment.as_db())
    .bind(now)
    .bind(PaymentMethod::CashOnDelivery.as_db())
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Cash-on-delivery orders still waiting for their confirmation to go through.
pub async fn unconfirmed_cash_orders(store: &Store) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM orders WHERE status = $1 AND payment_method = $2 ORDER BY placed_at LIMIT 100",
    )
    .bind(Status::PendingPayment.as_db())
    .bind(PaymentMethod::CashOnDelivery.as_db())
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Orders already placed by a checkout attempt (for stale-attempt cleanup).
pub async fn orders_of_checkout(store: &Store, checkout_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM orders WHERE checkout_id = $1")
        .bind(checkout_id)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Whether the order still owes calls to catalog or prescriptions.
pub async fn owes_calls(store: &Store, id: &str) -> sqlx::Result<bool> {
    Ok(pending_actions(store, id)
        .await?
        .is_some_and(|owed| !owed.is_empty()))
}
