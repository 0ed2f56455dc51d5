//! Refunds: reserve the amount (conditional update, committed), ask the
//! gateway, settle. Never more than the capture, also under concurrency;
//! refunds left pending are retried by the payments sweeper.

use super::audit;
use super::payment_now;
use crate::domain::settlement::{refund_tax, RefundBase};
use crate::domain::{check_refund, RefundAmount, RefundStatus};
use crate::events::publish;
use crate::gateway::{RefundOutcome, RefundRequest};
use crate::store::{self, NewRefundRow, PaymentRow, RefundRow};
use crate::PaymentsState;
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use sqlx::AnyConnection;

/// The result of asking for a refund inside a transaction.
#[derive(Debug, Clone)]
pub enum Reservation {
    /// A new PENDING refund whose amount is now reserved on the payment;
    /// the gateway is asked once the transaction committed.
    Reserved(RefundRow),
    /// A refund with the same idempotency key existed: nothing was done.
    Repeated(RefundRow),
}

/// Reserves `amount` of the payment's capture for a new PENDING refund,
/// inside the caller's transaction (an error leaves the caller to roll
/// back). Never more than what is left of the capture, also under
/// concurrency; an existing idempotency key answers [`Reservation::Repeated`].
/// `known_tax` is the GST inside the refund when the caller knows it (a
/// return does); otherwise the payment's GST is apportioned.
pub async fn reserve_refund_in(
    conn: &mut AnyConnection,
    cause: &Cause,
    payment_id: &str,
    amount: RefundAmount,
    known_tax: Option<Paise>,
    reason: &str,
    idempotency_key: Option<&str>,
) -> ApiResult<Reservation> {
    let payment = store::payment_in_tx(conn, payment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    if let Some(key) = idempotency_key {
        if let Some(existing) = store::refund_by_key(conn, payment_id, key).await? {
            return Ok(Reservation::Repeated(existing));
        }
    }
    check_refund(
        payment.status,
        payment.captured.get(),
        payment.refunded.get(),
        amount,
    )?;
    let base = RefundBase {
        payment_tax: payment.tax,
        captured: payment.captured,
        refunded_before: payment.refunded,
        tax_refunded_before: store::tax_refunded(conn, payment_id).await?,
    };
    let tax = refund_tax(base, Paise(amount.paise()), known_tax);
    let refund_id = new_id();
    let inserted = store::insert_refund(
        conn,
        &NewRefundRow {
            id: &refund_id,
            payment_id,
            amount: Paise(amount.paise()),
            tax,
            reason,
            idempotency_key,
            requested_by: cause.actor(),
        },
    )
    .await?;
    if !inserted {
        // A concurrent request with the same idempotency key won.
        let existing = match idempotency_key {
            Some(key) => store::refund_by_key(conn, payment_id, key).await?,
            None => None,
        };
        return existing
            .map(Reservation::Repeated)
            .ok_or_else(|| anyhow::anyhow!("refund insert conflicted without a key").into());
    }
    if !store::reserve_refund(conn, payment_id, Paise(amount.paise())).await? {
        // Lost a race with a concurrent refund: explain with the fresh state.
        let current = store::payment_in_tx(conn, payment_id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))?;
        check_refund(
            current.status,
            current.captured.get(),
            current.refunded.get(),
            amount,
        )?;
        return Err(ApiError::conflict(
            "the payment changed meanwhile; try again",
        ));
    }
    let reserved = payment_now(conn, payment_id).await?;
    audit(
        conn,
        cause.actor(),
        "payment",
        payment_id,
        "refund_requested",
        Some(payment.audit_view()),
        Some(json!({
            "refundId": refund_id,
            "amount": amount.paise(),
            "tax": tax,
            "reason": reason,
            "payment": reserved.audit_view(),
        })),
    )
    .await?;
    let refund = store::refund_in_tx(conn, &refund_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("refund vanished"))?;
    Ok(Reservation::Reserved(refund))
}

/// Asks the gateway for a PENDING refund whose reservation committed, and
/// settles it. `None` when there is nothing to do (settled meanwhile, or
/// already accepted by the gateway and awaiting its webhook). A gateway
/// error leaves the refund PENDING (amount still reserved) for
/// [`drive_pending_refunds`] to retry: the gateway may have refunded.
pub async fn complete_refund(
    state: &PaymentsState,
    refund_id: &str,
    cause: &Cause,
) -> ApiResult<Option<RefundOutcome>> {
    let Some(refund) = store::refund(state.store.pool(), refund_id).await? else {
        return Ok(None);
    };
    if refund.status != RefundStatus::Pending || refund.gateway_refund_id.is_some() {
        return Ok(None);
    }
    let payment = store::payment(state.store.pool(), &refund.payment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("refund {refund_id} of a missing payment"))?;
    let gateway = state
        .gateways
        .by_name(&payment.gateway)
        .ok_or_else(|| anyhow::anyhow!("no gateway {} configured", payment.gateway))?;
    let outcome = gateway
        .refund(&RefundRequest {
            gateway_payment_id: payment.charge_id(),
            refund_id,
            amount_paise: refund.amount.get(),
            reason: &refund.reason,
        })
        .await
        .map_err(|e| {
            ApiError::internal(
                e.context(format!("gateway refund {refund_id} failed; left pending")),
            )
        })?;
    let mut tx = state.store.begin().await?;
    settle_refund_in_tx(&mut tx, &payment.id, refund_id, &outcome, cause).await?;
    tx.commit().await?;
    Ok(Some(outcome))
}

/// `refundPayment`: reserves, asks the gateway, settles; returns the payment
/// afterwards. With an idempotency key a repeated request returns the
/// payment unchanged (CONFLICT if the key was used for another amount).
pub async fn refund(
    state: &PaymentsState,
    cause: &Cause,
    payment_id: &str,
    amount: RefundAmount,
    reason: &str,
    idempotency_key: Option<&str>,
) -> ApiResult<PaymentRow> {
    let mut tx = state.store.begin().await?;
    let reservation = reserve_refund_in(
        &mut tx,
        cause,
        payment_id,
        amount,
        None,
        reason,
        idempotency_key,
    )
    .await?;
    tx.commit().await?;
    match reservation {
        Reservation::Repeated(existing) if existing.amount != Paise(amount.paise()) => {
            return Err(ApiError::conflict(
                "this idempotencyKey was already used for a different amount",
            ));
        }
        Reservation::Repeated(_) => {}
        Reservation::Reserved(refund) => {
            let outcome = complete_refund(state, &refund.id, cause).await?;
            if let Some(RefundOutcome::Declined { reason }) = outcome {
                return Err(ApiError::client(
                    ErrorCode::PaymentFailed,
                    format!("the gateway refused the refund: {reason}"),
                ));
            }
        }
    }
    store::payment(state.store.pool(), payment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))
}

/// Retries refunds left PENDING without a gateway answer for longer than
/// `older_than` (a crash or gateway error between reservation and
/// settlement). Returns how many were settled.
pub async fn drive_pending_refunds(
    state: &PaymentsState,
    older_than: std::time::Duration,
) -> ApiResult<usize> {
    let cutoff = chrono::Utc::now()
        - chrono::Duration::from_std(older_than).unwrap_or_else(|_| chrono::Duration::zero());
    let ids = store::stale_pending_refunds(
        state.store.pool(),
        &janta_platform::scalars::to_db_time(cutoff),
        100,
    )
    .await?;
    let mut settled = 0;
    for id in ids {
        match complete_refund(state, &id, &Cause::system(None)).await {
            Ok(Some(_)) => settled += 1,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(refund_id = %id, error = %err, "pending refund still unsettled")
            }
        }
    }
    Ok(settled)
}

/// Settles a PENDING refund of `payment_id` with the gateway's `outcome`:
/// success publishes `PaymentRefunded`; refusal releases the reserved
/// amount. A refund already settled (replay) changes nothing.
pub(super) async fn settle_refund_in_tx(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    outcome: &RefundOutcome,
    cause: &Cause,
) -> ApiResult<String> {
    let Some(refund) = store::refund_in_tx(conn, refund_id).await? else {
        return Ok("ignored: unknown refund".to_string());
    };
    if refund.payment_id != payment_id {
        return Ok("ignored: refund of another payment".to_string());
    }
    match outcome {
        RefundOutcome::Pending { gateway_refund_id } => {
            store::set_refund_gateway_id(conn, refund_id, gateway_refund_id).await?;
            Ok("pending".to_string())
        }
        RefundOutcome::Succeeded { gateway_refund_id } => {
            let gid = (!gateway_refund_id.is_empty()).then_some(gateway_refund_id.as_str());
            if !store::settle_refund(conn, refund_id, RefundStatus::Succeeded, gid, None).await? {
                return Ok("ignored: refund already settled".to_string());
            }
            let payment = payment_now(conn, payment_id).await?;
            let refund = store::refund_in_tx(conn, refund_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("refund vanished"))?;
            audit(
                conn,
                cause.actor(),
                "refund",
                refund_id,
                "refunded",
                Some(json!({ "status": "PENDING" })),
                Some(json!({ "status": refund.status.as_db(), "amount": refund.amount, "paymentId": payment_id, "paymentRefunded": payment.refunded })),
            )
            .await?;
            publish::payment_refunded(conn, &payment, &refund, cause).await?;
            Ok("applied".to_string())
        }
        RefundOutcome::Declined { reason } => {
            if !store::settle_refund(conn, refund_id, RefundStatus::Failed, None, Some(reason))
                .await?
            {
                return Ok("ignored: refund already settled".to_string());
            }
            let before = payment_now(conn, payment_id).await?;
            if !store::release_refund(conn, payment_id, refund.amount).await? {
                return Err(anyhow::anyhow!(
                    "could not release refund {refund_id} on {payment_id}"
                )
                .into());
            }
            let after = payment_now(conn, payment_id).await?;
            audit(
                conn,
                cause.actor(),
                "payment",
                payment_id,
                "refund_failed",
                Some(before.audit_view()),
                Some(json!({ "refundId": refund_id, "reason": reason, "payment": after.audit_view() })),
            )
            .await?;
            Ok("applied".to_string())
        }
    }
}

/// One round of the refunds sweeper: [`drive_pending_refunds`] for refunds
/// pending longer than `interval`.
pub async fn retry_pending(
    state: std::sync::Arc<PaymentsState>,
    interval: std::time::Duration,
) -> anyhow::Result<()> {
    drive_pending_refunds(&state, interval).await?;
    Ok(())
}
