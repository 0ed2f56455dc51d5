//! The calls an order owes catalog and prescriptions (commit or release
//! stock, consume or restore prescriptions), recorded on the order row by
//! the move that owes them. They are idempotent and made in order by one
//! lease holder at a time: right after the commit (by the mover, or by the
//! payment handlers' `after_commit`), then by the sweeper until they succeed.

use super::lifecycle::cancel_in_db;
use crate::domain::{Mover, RxAction, StockAction};
use crate::peers::{ConsumeFor, DispenseLine};
use crate::store;
use crate::OrdersState;
use chrono::Utc;
use janta_platform::cause::Cause;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiResult, ErrorCode};
use std::time::Duration;

/// How long one worker holds an order's follow-up lease.
const FOLLOWUP_LEASE: Duration = Duration::from_secs(60);

/// Makes the calls an order still owes catalog and prescriptions, in order,
/// as the only worker for that order (a lease); returns at once when another
/// worker holds it. Client errors are decided here: a reservation that can no
/// longer be committed, or prescriptions that no longer cover a paid order,
/// cancel it (payments refunds on `OrderCancelled`).
pub async fn run_followups(state: &OrdersState, order_id: &str, cause: &Cause) -> ApiResult<()> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(FOLLOWUP_LEASE).unwrap_or_default();
    if !store::lease_followup(&state.store, order_id, DateTime(until), DateTime(now)).await? {
        return Ok(());
    }
    let result = followup_loop(state, order_id, cause).await;
    store::end_followup(&state.store, order_id, result.is_err()).await?;
    result
}

async fn followup_loop(state: &OrdersState, order_id: &str, cause: &Cause) -> ApiResult<()> {
    let correlation = cause.correlation();
    // Each round settles at least one action; a cancellation adds at most two.
    for _ in 0..6 {
        let Some(owed) = store::pending_actions(&state.store, order_id).await? else {
            return Ok(());
        };
        if owed.is_empty() {
            return Ok(());
        }
        if let Some(action) = owed.stock {
            let result = match action {
                StockAction::Commit => state.peers.commit_reservation(order_id, correlation).await,
                StockAction::Release => {
                    state.peers.release_reservation(order_id, correlation).await
                }
            };
            match result {
                Ok(()) => store::clear_stock_action(&state.store, order_id, action).await?,
                Err(err) if err.is_transient() => return Err(err),
                Err(err) if action == StockAction::Commit => {
                    tracing::warn!(order_id, error = %err, "reservation could not be committed; cancelling");
                    cancel_after_failure(
                        state,
                        order_id,
                        "the reserved stock was no longer available when the payment arrived",
                        cause,
                    )
                    .await?;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(order_id, error = %err, "nothing to release for this order");
                    store::clear_stock_action(&state.store, order_id, action).await?;
                }
            }
        }
        if let Some(action) = owed.rx {
            let result = match action {
                RxAction::Consume => {
                    let Some(order) = store::find_order(&state.store, order_id).await? else {
                        return Ok(());
                    };
                    let lines =
                        store::lines_of_orders(&state.store, &[order_id.to_string()]).await?;
                    let rx_lines: Vec<DispenseLine> = lines
                        .iter()
                        .filter(|l| l.schedule.requires_prescription())
                        .map(|l| DispenseLine {
                            medicine_id: l.medicine_id.clone(),
                            quantity: l.quantity,
                            schedule: l.schedule,
                        })
                        .collect();
                    state
                        .peers
                        .consume_prescriptions(
                            ConsumeFor {
                                order_id,
                                customer_id: &order.customer_id,
                                vendor_id: &order.vendor_id,
                                prescription_ids: &order.prescription_ids,
                            },
                            &rx_lines,
                            correlation,
                        )
                        .await
                }
                RxAction::Restore => {
                    state
                        .peers
                        .restore_prescriptions(order_id, correlation)
                        .await
                }
            };
            match result {
                Ok(()) => store::clear_rx_action(&state.store, order_id, action).await?,
                Err(err) if err.is_transient() => return Err(err),
                Err(err) if action == RxAction::Consume => {
                    tracing::warn!(order_id, error = %err, "prescriptions no longer cover the order; cancelling");
                    cancel_after_failure(
                        state,
                        order_id,
                        "the prescription no longer covers this order",
                        cause,
                    )
                    .await?;
                }
                Err(err) => {
                    tracing::warn!(order_id, error = %err, "nothing to restore for this order");
                    store::clear_rx_action(&state.store, order_id, action).await?;
                }
            }
        }
    }
    Ok(())
}

/// A paid order that cannot be fulfilled is cancelled by the system.
async fn cancel_after_failure(
    state: &OrdersState,
    order_id: &str,
    reason: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let system = Cause::system(cause.correlation());
    match cancel_in_db(state, order_id, &system, Mover::System, reason).await {
        Ok(_) => Ok(()),
        // Already past dispatch or cancelled: nothing more to decide here.
        Err(err) if err.code() == ErrorCode::Conflict => {
            store::clear_stock_action(&state.store, order_id, StockAction::Commit).await?;
            store::clear_rx_action(&state.store, order_id, RxAction::Consume).await?;
            Ok(())
        }
        Err(err) => Err(err),
    }
}
