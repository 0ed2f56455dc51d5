//! What the payments subgraph publishes, all with aggregate `payment` and
//! the typed payloads of `janta_events::types` (money in paise, `…Paise`),
//! through the outbox in the transaction of the change:
//! - `PaymentSucceeded` — exactly once per payment. For an online method: the
//!   gateway captured the money (`captured: true`). For cash on delivery:
//!   the customer chose to pay cash, nothing is captured yet
//!   (`captured: false`, `amountPaise` is what is due on delivery). Either
//!   way orders confirms the order.
//! - `PaymentFailed` — the gateway declined the payment; orders cancels the order.
//! - `PaymentRefunded` — a refund completed (partial or full).
//! - `SettlementIssued` (aggregate `settlement`) — an admin issued a
//!   vendor's settlement statement.

use crate::store::settlements::SettlementRow;
use crate::store::{PaymentRow, RefundRow};
use janta_events::publish;
use janta_events::types::{PaymentFailed, PaymentRefunded, PaymentSucceeded, SettlementIssued};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

/// `PaymentSucceeded` for `payment` (`captured: false` for cash on delivery).
pub fn succeeded_event(payment: &PaymentRow, captured: bool) -> PaymentSucceeded {
    PaymentSucceeded {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: payment.amount.get(),
        currency: payment.currency.clone(),
        method: payment.method.as_db().to_string(),
        captured,
        gateway_reference: captured.then(|| payment.gateway_payment_id.clone()),
    }
}

/// `PaymentFailed` for `payment`, declined for `reason`.
pub fn failed_event(payment: &PaymentRow, reason: &str) -> PaymentFailed {
    PaymentFailed {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: payment.amount.get(),
        currency: payment.currency.clone(),
        method: payment.method.as_db().to_string(),
        reason: reason.to_string(),
    }
}

/// `PaymentRefunded` for `refund`; `payment` is the payment after the refund.
pub fn refunded_event(payment: &PaymentRow, refund: &RefundRow) -> PaymentRefunded {
    PaymentRefunded {
        payment_id: payment.id.clone(),
        refund_id: refund.id.clone(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        vendor_id: payment.vendor_id.clone(),
        amount_paise: refund.amount.get(),
        refunded_total_paise: payment.refunded.get(),
        fully_refunded: payment.refunded >= payment.captured,
        currency: payment.currency.clone(),
        method: payment.method.as_db().to_string(),
        reason: refund.reason.clone(),
    }
}

/// The order's payment is settled enough to confirm it: captured online, or
/// accepted as cash on delivery (`captured: false`).
pub async fn payment_succeeded(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    captured: bool,
    cause: &Cause,
) -> ApiResult<()> {
    let event = succeeded_event(payment, captured);
    publish(conn, &event, cause).await?;
    Ok(())
}

/// The gateway declined the payment; nothing was captured.
pub async fn payment_failed(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    reason: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = failed_event(payment, reason);
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A refund completed; `payment` is the payment after it.
pub async fn payment_refunded(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    refund: &RefundRow,
    cause: &Cause,
) -> ApiResult<()> {
    let event = refunded_event(payment, refund);
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A settlement statement was issued.
pub async fn settlement_issued(
    conn: &mut AnyConnection,
    settlement: &SettlementRow,
    cause: &Cause,
) -> ApiResult<()> {
    let event = SettlementIssued {
        settlement_id: settlement.id.clone(),
        vendor_id: settlement.vendor_id.clone(),
        period_start: settlement.period_start.to_db(),
        period_end: settlement.period_end.to_db(),
        payout_paise: settlement.payout.get(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_platform::money::Paise;
    use serde_json::json;

    fn payment() -> PaymentRow {
        PaymentRow {
            id: "p1".into(),
            order_id: "o1".into(),
            customer_id: "c1".into(),
            vendor_id: "v1".into(),
            method: crate::domain::PaymentMethod::CashOnDelivery,
            gateway: "cash".into(),
            gateway_payment_id: "cod_p1".into(),
            gateway_charge_id: None,
            checkout_url: None,
            status: crate::domain::PaymentStatus::Succeeded,
            amount: Paise(12_345),
            tax: Paise(589),
            currency: "INR".into(),
            captured: Paise(12_345),
            refunded: Paise(2_345),
            failure_reason: None,
            created_at: janta_platform::scalars::DateTime::now(),
            updated_at: janta_platform::scalars::DateTime::now(),
        }
    }

    /// The typed payloads keep the wire shape payments published as untyped
    /// JSON before, so events already in outboxes and consumers agree.
    #[test]
    fn typed_payloads_keep_the_wire_shape() {
        let p = payment();
        assert_eq!(
            serde_json::to_value(succeeded_event(&p, false)).unwrap(),
            json!({"paymentId": "p1", "orderId": "o1", "customerId": "c1", "vendorId": "v1",
                   "amountPaise": 12_345, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "captured": false, "gatewayReference": null})
        );
        assert_eq!(
            succeeded_event(&p, true).gateway_reference.as_deref(),
            Some("cod_p1")
        );
        assert_eq!(
            serde_json::to_value(failed_event(&p, "declined")).unwrap(),
            json!({"paymentId": "p1", "orderId": "o1", "customerId": "c1", "vendorId": "v1",
                   "amountPaise": 12_345, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "reason": "declined"})
        );
        let refund = RefundRow {
            id: "r1".into(),
            payment_id: "p1".into(),
            amount: Paise(2_345),
            tax: Paise(112),
            reason: "damaged".into(),
            status: crate::domain::RefundStatus::Succeeded,
            idempotency_key: None,
            gateway_refund_id: None,
            requested_by: "va".into(),
            failure_reason: None,
            created_at: p.created_at,
            updated_at: p.created_at,
        };
        assert_eq!(
            serde_json::to_value(refunded_event(&p, &refund)).unwrap(),
            json!({"paymentId": "p1", "refundId": "r1", "orderId": "o1", "customerId": "c1",
                   "vendorId": "v1", "amountPaise": 2_345, "refundedTotalPaise": 2_345,
                   "fullyRefunded": false, "currency": "INR", "method": "CASH_ON_DELIVERY",
                   "reason": "damaged"})
        );
    }
}
