//! Reconciliation: a webhook can be lost (the gateway gave up, our endpoint
//! was down), and a payment left open would cancel an order the customer
//! paid for. A sweeper asks the gateway about every online payment still
//! open after a threshold and applies the answer exactly as the webhook
//! would have been applied: recorded once under a fixed event ID per
//! payment and outcome, and only if it moves the payment forward, so a late
//! webhook afterwards (or a second sweep) changes nothing. A payment the
//! bank only authorized is captured first, for exactly its amount.

use super::apply_webhook;
use crate::gateway::{GatewayStatus, WebhookEvent, WebhookKind};
use crate::store::{self, PaymentRow};
use crate::PaymentsState;
use janta_platform::scalars::DateTime;
use serde_json::json;
use std::time::Duration;

/// How many open payments one sweep looks at.
const SWEEP_BATCH: i64 = 100;

/// Reconciles every online payment still open that was created more than
/// `older_than` ago; returns how many moved.
pub async fn sweep(state: &PaymentsState, older_than: Duration) -> anyhow::Result<usize> {
    let before = DateTime(chrono::Utc::now() - chrono::Duration::from_std(older_than)?);
    let mut moved = 0;
    for payment in store::open_online_payments(state.store.pool(), before, SWEEP_BATCH).await? {
        match reconcile(state, &payment).await {
            Ok(outcome) if outcome == "applied" => moved += 1,
            Ok(_) => {}
            Err(err) => tracing::warn!(
                payment_id = %payment.id, error = %format!("{err:#}"),
                "reconciliation left the payment open; the next sweep tries again"
            ),
        }
    }
    if moved > 0 {
        tracing::info!(
            moved,
            "reconciliation settled payments whose webhook never came"
        );
    }
    Ok(moved)
}

/// A gateway reported a payment authorized but not captured: capture it
/// now (through [`reconcile`], so it is settled exactly as the capture's
/// webhook would). A failure is logged; the customer's return or the next
/// sweep tries again.
pub async fn capture_authorized(state: &PaymentsState, gateway: &str, gateway_payment_id: &str) {
    let payment = match store::payment_by_gateway_ref(
        state.store.pool(),
        gateway,
        gateway_payment_id,
    )
    .await
    {
        Ok(Some(payment)) => payment,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(error = %err, "looking up an authorized payment failed");
            return;
        }
    };
    if let Err(err) = reconcile(state, &payment).await {
        tracing::warn!(
            payment_id = %payment.id, error = %format!("{err:#}"),
            "capturing an authorized payment failed; the sweeper tries again"
        );
    }
}

/// Asks `payment`'s gateway what became of it and applies the answer as
/// its webhook; returns the outcome (`applied`, `duplicate`, `open`, or
/// why it was ignored).
pub async fn reconcile(state: &PaymentsState, payment: &PaymentRow) -> anyhow::Result<String> {
    let gateway = state
        .gateways
        .by_name(&payment.gateway)
        .ok_or_else(|| anyhow::anyhow!("no gateway {} configured", payment.gateway))?;
    let status = match gateway.status(&payment.gateway_payment_id).await? {
        GatewayStatus::Authorized {
            charge_id,
            amount_paise,
        } => {
            if amount_paise != payment.amount.get() {
                tracing::error!(
                    payment_id = %payment.id, authorized = amount_paise, expected = payment.amount.get(),
                    "the gateway authorized a different amount; not capturing it (the bank returns it)"
                );
                return Ok("ignored: authorized amount differs".to_string());
            }
            gateway.capture(&charge_id, amount_paise).await?
        }
        status => status,
    };
    let (suffix, charge_id, amount, kind) = match status {
        GatewayStatus::Open | GatewayStatus::Authorized { .. } => return Ok("open".to_string()),
        GatewayStatus::Captured {
            charge_id,
            amount_paise,
        } => (
            "captured",
            Some(charge_id),
            Some(amount_paise),
            WebhookKind::PaymentSucceeded,
        ),
        GatewayStatus::Failed { reason } => {
            ("failed", None, None, WebhookKind::PaymentFailed { reason })
        }
    };
    let report = WebhookEvent {
        event_id: format!("reconciliation:{}:{suffix}", payment.id),
        event_type: format!("reconciliation.{suffix}"),
        gateway_payment_id: payment.gateway_payment_id.clone(),
        charge_id,
        amount_paise: amount,
        kind,
    };
    let raw = json!({
        "reconciliation": suffix,
        "gatewayPaymentId": report.gateway_payment_id,
        "chargeId": report.charge_id,
        "amount": report.amount_paise,
        "at": janta_platform::scalars::now_db(),
    });
    Ok(apply_webhook(state, &payment.gateway, &report, &raw.to_string()).await?)
}
