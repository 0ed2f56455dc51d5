//! The payment operations shared by the GraphQL resolvers, the webhook
//! endpoint and the event handlers: pay an order, apply a gateway report,
//! refund, and react to an order being cancelled or delivered. Callers
//! authorise; these functions enforce the money rules.
//!
//! External calls (orders, the gateway) never happen inside a database
//! transaction: a refund first reserves its amount (conditional update,
//! committed), then asks the gateway, then settles.

//! Modules: `pay` (`payOrder`), `webhooks` (gateway reports), `reconcile`
//! (asking the gateway about payments whose report never came), `refunds`
//! (refunds and the retry of those left pending), `orders` (reactions to
//! orders' events) and `personal_data` (a customer's export and erasure).

pub mod orders;
pub mod pay;
pub mod personal_data;
pub mod reconcile;
pub mod refunds;
pub mod settlements;
pub mod webhooks;

pub use pay::pay_order;
pub use refunds::{complete_refund, drive_pending_refunds, refund, reserve_refund_in, Reservation};
pub use webhooks::apply_webhook;

use crate::domain::{ignored_because, OrderFacts, PaymentEvent};
use crate::events::publish;
use crate::store::{self, PaymentRow};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use serde_json::json;
use sqlx::AnyConnection;

pub use janta_platform::cause::SYSTEM;

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;

/// Idempotency key of the automatic full refund of a cancelled order.
pub const CANCELLATION_REFUND_KEY: &str = "order-cancelled";

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Moves `payment` by `event` if it still can, auditing the change and
/// publishing what the move means; returns the outcome text.
async fn apply_report(
    conn: &mut AnyConnection,
    payment: &PaymentRow,
    event: PaymentEvent,
    reason: Option<&str>,
    cause: &Cause,
) -> ApiResult<String> {
    if !store::apply_event(conn, &payment.id, event, reason).await? {
        let current = payment_now(conn, &payment.id).await?;
        return Ok(ignored_because(event, current.status).to_string());
    }
    let after = payment_now(conn, &payment.id).await?;
    let action = match event {
        PaymentEvent::Processing => "processing",
        PaymentEvent::Captured => "captured",
        PaymentEvent::Declined => "failed",
        PaymentEvent::CashCollected => "cash_collected",
        PaymentEvent::OrderCancelled => "cancelled_with_order",
        PaymentEvent::Superseded => "superseded",
    };
    audit(
        conn,
        cause.actor(),
        "payment",
        &payment.id,
        action,
        Some(payment.audit_view()),
        Some(after.audit_view()),
    )
    .await?;
    match event {
        PaymentEvent::Captured => publish::payment_succeeded(conn, &after, true, cause).await?,
        PaymentEvent::Declined => {
            publish::payment_failed(conn, &after, reason.unwrap_or("declined"), cause).await?
        }
        _ => {}
    }
    Ok("applied".to_string())
}

/// The audit view of a payment just created for `order`.
pub(crate) fn created_audit(row: &PaymentRow, order: &OrderFacts) -> serde_json::Value {
    let mut view = row.audit_view();
    view["orderId"] = json!(order.id);
    view["orderTotal"] = json!(order.total_paise);
    view
}

/// The payment as it is now, inside the caller's transaction (it must exist:
/// payments are never deleted).
pub(crate) async fn payment_now(conn: &mut AnyConnection, id: &str) -> ApiResult<PaymentRow> {
    store::payment_in_tx(conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {id} vanished").into())
}
