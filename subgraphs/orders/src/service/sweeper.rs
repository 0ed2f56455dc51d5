//! The sweeper: the safety net behind every move that owes work. It
//! expires unpaid orders, retries cash-on-delivery confirmations and owed
//! calls, and frees abandoned checkouts (releasing what they reserved).

use super::followups::run_followups;
use super::lifecycle::{cancel, confirm, Payment};
use crate::domain::Mover;
use crate::store;
use crate::OrdersState;
use chrono::Utc;
use janta_platform::cause::Cause;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiResult, ErrorCode};
use std::sync::Arc;

/// What one sweep did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Unpaid orders cancelled because their payment window closed.
    pub expired: usize,
    /// Cash-on-delivery orders confirmed on retry.
    pub confirmed: usize,
    /// Orders whose owed calls were retried.
    pub followed_up: usize,
    /// Abandoned checkouts freed.
    pub abandoned: usize,
}

/// One [`sweep_once`], its report logged (what the periodic sweeper runs).
pub async fn sweep_and_log(state: Arc<OrdersState>) -> anyhow::Result<()> {
    let report = sweep_once(&state).await?;
    if report != SweepReport::default() {
        tracing::info!(?report, "orders sweep");
    }
    Ok(())
}

/// One pass: expire unpaid orders, retry cash-on-delivery confirmations and
/// owed calls, free abandoned checkouts (releasing what they reserved).
pub async fn sweep_once(state: &OrdersState) -> ApiResult<SweepReport> {
    let mut report = SweepReport::default();
    let system = Cause::system(None);
    let now = DateTime::now();
    let minutes = state.settings.payment_window.as_secs().div_ceil(60);
    let reason = format!("payment was not received within {minutes} minutes");
    for id in store::expired_unpaid_orders(&state.store, now).await? {
        match cancel(state, &id, &system, Mover::System, &reason).await {
            Ok(_) => report.expired += 1,
            Err(err) if err.code() == ErrorCode::Conflict => {}
            Err(err) => tracing::warn!(order_id = %id, error = %err, "could not expire order"),
        }
    }
    for id in store::unconfirmed_cash_orders(&state.store).await? {
        match confirm(state, &id, &system, Payment::CASH_ON_DELIVERY).await {
            Ok(true) => report.confirmed += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(order_id = %id, error = %err, "could not confirm order"),
        }
    }
    for id in store::orders_owing_followups(&state.store, now).await? {
        match run_followups(state, &id, &system).await {
            Ok(()) => report.followed_up += 1,
            Err(err) => tracing::warn!(order_id = %id, error = %err, "follow-up calls failed"),
        }
    }
    let cutoff = Utc::now()
        - chrono::Duration::from_std(state.settings.abandoned_checkout_after)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
    for checkout in store::stale_checkouts(&state.store, DateTime(cutoff)).await? {
        let placed = store::orders_of_checkout(&state.store, &checkout.id).await?;
        let mut released = true;
        for id in checkout.order_ids.iter().filter(|id| !placed.contains(id)) {
            if let Err(err) = state.peers.release_reservation(id, None).await {
                tracing::warn!(order_id = %id, error = %err, "could not release an abandoned reservation");
                released = false;
            }
        }
        if released {
            store::drop_checkout(&state.store, &checkout.id).await?;
            report.abandoned += 1;
        }
    }
    Ok(report)
}
