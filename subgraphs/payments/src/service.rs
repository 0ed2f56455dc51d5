//! The payment operations shared by the GraphQL resolvers, the webhook
//! endpoint and the event handlers: pay an order, apply a gateway report,
//! refund, and react to an order being cancelled or delivered. Callers
//! authorise; these functions enforce the money rules.
//!
//! External calls (orders, the gateway) never happen inside a database
//! transaction: a refund first reserves its amount (conditional update,
//! committed), then asks the gateway, then settles.

use crate::domain::{
    self, check_refund, ignored_because, OrderFacts, PaymentEvent, PaymentMethod, PaymentStatus,
    RefundAmount, RefundStatus,
};
use crate::gateway::{NewPayment, RefundOutcome, RefundRequest, WebhookEvent, WebhookKind};
use crate::store::{self, NewPaymentRow, NewRefundRow, PaymentRow, RefundRow};
use crate::{audit, events, PaymentsState};
use janta_platform::auth::Principal;
use janta_platform::ids::new_id;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use sqlx::AnyConnection;

/// Actor recorded for changes the platform makes on its own (events).
pub const SYSTEM: &str = "system";

/// Idempotency key of the automatic full refund of a cancelled order.
pub const CANCELLATION_REFUND_KEY: &str = "order-cancelled";

fn open_payment_conflict(open: &PaymentRow) -> ApiError {
    ApiError::conflict(format!(
        "this order already has a payment in progress ({})",
        open.method
    ))
    .with_details(json!({ "paymentId": open.id, "method": open.method }))
}

/// `payOrder`: checks the order with orders (the buyer, `PENDING_PAYMENT`,
/// the amount), then returns the order's open payment or creates one at the
/// method's gateway. Cash on delivery is accepted at once: the payment is
/// `PENDING` and `PaymentSucceeded` (`captured: false`) lets orders confirm.
pub async fn pay_order(
    state: &PaymentsState,
    payer: &Principal,
    order_id: &str,
    method: PaymentMethod,
    correlation: Option<&str>,
) -> ApiResult<PaymentRow> {
    let gateway = state.gateways.for_method(method)?;
    let order = state
        .orders
        .order_for_payment(order_id, correlation)
        .await?;
    domain::check_payable(payer, &order)?;
    let pool = state.store.pool();
    if let Some(open) = store::open_payment_for_order(pool, &order.id).await? {
        if open.method == method.as_db() {
            return Ok(open);
        }
        supersede(state, payer, &open, method, correlation).await?;
    }
    if store::order_has_capture(pool, &order.id).await? {
        return Err(ApiError::conflict("this order is already paid"));
    }
    let payment_id = new_id();
    let created = gateway
        .create_payment(&NewPayment {
            payment_id: &payment_id,
            order_id: &order.id,
            amount_paise: order.total_paise,
            method,
        })
        .await
        .map_err(|e| ApiError::Internal(e.context("gateway could not create the payment")))?;
    let mut tx = state.store.begin().await?;
    let inserted = store::insert_payment(
        &mut tx,
        &NewPaymentRow {
            id: &payment_id,
            order_id: &order.id,
            customer_id: &order.buyer_id,
            vendor_id: &order.vendor_id,
            method,
            gateway: gateway.name(),
            gateway_payment_id: &created.gateway_payment_id,
            checkout_url: created.checkout_url.as_deref(),
            amount: order.total_paise,
            currency: &order.currency,
        },
    )
    .await?;
    if !inserted {
        // A concurrent payOrder for the same order won: answer with its payment.
        tx.rollback().await?;
        return match store::open_payment_for_order(pool, &order.id).await? {
            Some(open) => reuse_open(open, method),
            None => Err(ApiError::conflict(
                "this order's payment changed meanwhile; try again",
            )),
        };
    }
    let row = store::payment_in_tx(&mut tx, &payment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment vanished in its own transaction"))?;
    audit(
        &mut tx,
        &payer.subject,
        "payment",
        &row.id,
        "created",
        None,
        Some(created_audit(&row, &order)),
    )
    .await?;
    if !method.is_online() {
        events::payment_succeeded(&mut tx, &row, false, &payer.subject, correlation).await?;
    }
    tx.commit().await?;
    janta_platform::events::outbox_written();
    Ok(row)
}

fn created_audit(row: &PaymentRow, order: &OrderFacts) -> serde_json::Value {
    let mut view = row.audit_view();
    view["orderId"] = json!(order.id);
    view["orderTotal"] = json!(order.total_paise);
    view
}

/// The customer switches method before completing the open payment's
/// checkout: the open payment fails as superseded (no `PaymentFailed`: the
/// order stays payable). Once the gateway is processing it, no switch.
/// Should the gateway still capture it, the capture is reversed
/// (see [`apply_webhook`]).
async fn supersede(
    state: &PaymentsState,
    payer: &Principal,
    open: &PaymentRow,
    method: PaymentMethod,
    correlation: Option<&str>,
) -> ApiResult<()> {
    if !open.status_is(PaymentStatus::Created.as_db()) {
        return Err(open_payment_conflict(open));
    }
    let reason = format!("replaced by a {} payment", method.as_db());
    let mut tx = state.store.begin().await?;
    let outcome = apply_report(
        &mut tx,
        open,
        PaymentEvent::Superseded,
        Some(&reason),
        &payer.subject,
        correlation,
    )
    .await?;
    if outcome != "applied" {
        tx.rollback().await?;
        let current = store::payment(state.store.pool(), &open.id)
            .await?
            .unwrap_or_else(|| open.clone());
        return Err(open_payment_conflict(&current));
    }
    tx.commit().await?;
    Ok(())
}

fn reuse_open(open: PaymentRow, method: PaymentMethod) -> ApiResult<PaymentRow> {
    if open.method == method.as_db() {
        Ok(open)
    } else {
        Err(open_payment_conflict(&open))
    }
}

/// Applies one authenticated gateway report, at most once per gateway event
/// ID, and only if it moves the payment forward. Returns what it did (kept
/// on the webhook record): `duplicate`, `applied`, or `ignored: …`.
pub async fn apply_webhook(
    state: &PaymentsState,
    gateway: &str,
    event: &WebhookEvent,
    raw_body: &str,
) -> ApiResult<String> {
    let actor = format!("gateway:{gateway}");
    let mut tx = state.store.begin().await?;
    let Some(record) = store::record_webhook(
        &mut tx,
        gateway,
        &event.event_id,
        &event.event_type,
        &event.gateway_payment_id,
        raw_body,
    )
    .await?
    else {
        tx.rollback().await?;
        return Ok("duplicate".to_string());
    };
    let Some(payment) =
        store::payment_by_gateway_ref_in_tx(&mut tx, gateway, &event.gateway_payment_id).await?
    else {
        let outcome = "ignored: unknown payment";
        store::set_webhook_outcome(&mut tx, &record, None, outcome).await?;
        tx.commit().await?;
        tracing::warn!(gateway, event_id = %event.event_id, "webhook for an unknown payment");
        return Ok(outcome.to_string());
    };
    let outcome = match &event.kind {
        WebhookKind::PaymentProcessing => {
            apply_report(
                &mut tx,
                &payment,
                PaymentEvent::Processing,
                None,
                &actor,
                None,
            )
            .await?
        }
        WebhookKind::PaymentSucceeded => {
            if event.amount_paise.is_some_and(|a| a != payment.amount) {
                tracing::error!(
                    payment_id = %payment.id, reported = ?event.amount_paise, expected = payment.amount,
                    "gateway reported a capture of a different amount; not applied"
                );
                "ignored: amount mismatch".to_string()
            } else {
                apply_report(
                    &mut tx,
                    &payment,
                    PaymentEvent::Captured,
                    None,
                    &actor,
                    None,
                )
                .await?
            }
        }
        WebhookKind::PaymentFailed { reason } => {
            let reason = truncate(reason, 300);
            apply_report(
                &mut tx,
                &payment,
                PaymentEvent::Declined,
                Some(&reason),
                &actor,
                None,
            )
            .await?
        }
        WebhookKind::RefundSucceeded { refund_id } => {
            settle_refund_in_tx(
                &mut tx,
                &payment.id,
                refund_id,
                &RefundOutcome::Succeeded {
                    gateway_refund_id: String::new(),
                },
                &actor,
                None,
            )
            .await?
        }
        WebhookKind::RefundFailed { refund_id, reason } => {
            settle_refund_in_tx(
                &mut tx,
                &payment.id,
                refund_id,
                &RefundOutcome::Declined {
                    reason: truncate(reason, 300),
                },
                &actor,
                None,
            )
            .await?
        }
        WebhookKind::Other => "ignored: event type not handled".to_string(),
    };
    store::set_webhook_outcome(&mut tx, &record, Some(&payment.id), &outcome).await?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    match outcome.as_str() {
        LATE_FAILURE => tracing::warn!(
            payment_id = %payment.id, event_id = %event.event_id,
            "late failure after success recorded, not applied"
        ),
        LATE_CAPTURE => {
            return reverse_late_capture(state, gateway, &payment, event, &record).await;
        }
        _ => {}
    }
    Ok(outcome)
}

const LATE_FAILURE: &str = "ignored: failure after success";
const LATE_CAPTURE: &str = "ignored: success after failure";

/// The gateway captured money for a payment we had already closed (its
/// order was cancelled meanwhile): the payment stays FAILED, and the
/// capture is reversed at the gateway so the customer is not charged. The
/// attempt is audited; a failed reversal is logged for reconciliation.
async fn reverse_late_capture(
    state: &PaymentsState,
    gateway_name: &str,
    payment: &PaymentRow,
    event: &WebhookEvent,
    record: &str,
) -> ApiResult<String> {
    let gateway = state
        .gateways
        .by_name(gateway_name)
        .ok_or_else(|| anyhow::anyhow!("no gateway {gateway_name} configured"))?;
    let amount = event.amount_paise.unwrap_or(payment.amount);
    let result = gateway
        .refund(&RefundRequest {
            gateway_payment_id: &payment.gateway_payment_id,
            refund_id: &format!("reversal-{record}"),
            amount_paise: amount,
            reason: "captured after the payment was closed",
        })
        .await;
    let (action, outcome) = match &result {
        Ok(RefundOutcome::Succeeded { .. } | RefundOutcome::Pending { .. }) => (
            "late_capture_reversed",
            format!("{LATE_CAPTURE}; reversed at the gateway"),
        ),
        Ok(RefundOutcome::Declined { .. }) | Err(_) => {
            tracing::error!(
                payment_id = %payment.id, event_id = %event.event_id, result = ?result,
                "could not reverse a capture on a closed payment; reconcile by hand"
            );
            (
                "late_capture_not_reversed",
                format!("{LATE_CAPTURE}; reversal failed"),
            )
        }
    };
    let mut tx = state.store.begin().await?;
    audit(
        &mut tx,
        &format!("gateway:{gateway_name}"),
        "payment",
        &payment.id,
        action,
        None,
        Some(json!({ "eventId": event.event_id, "amount": amount })),
    )
    .await?;
    store::set_webhook_outcome(&mut tx, record, Some(&payment.id), &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

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
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<String> {
    if !store::apply_event(conn, &payment.id, event, reason).await? {
        let current = store::payment_in_tx(conn, &payment.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
        return Ok(ignored_because(event, current.status()?).to_string());
    }
    let after = store::payment_in_tx(conn, &payment.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
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
        actor,
        "payment",
        &payment.id,
        action,
        Some(payment.audit_view()),
        Some(after.audit_view()),
    )
    .await?;
    match event {
        PaymentEvent::Captured => {
            events::payment_succeeded(conn, &after, true, actor, correlation).await?
        }
        PaymentEvent::Declined => {
            events::payment_failed(
                conn,
                &after,
                reason.unwrap_or("declined"),
                actor,
                correlation,
            )
            .await?
        }
        _ => {}
    }
    Ok("applied".to_string())
}

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
pub async fn reserve_refund_in(
    conn: &mut AnyConnection,
    actor: &str,
    payment_id: &str,
    amount: RefundAmount,
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
        payment.status()?,
        payment.captured,
        payment.refunded,
        amount,
    )?;
    let refund_id = new_id();
    let inserted = store::insert_refund(
        conn,
        &NewRefundRow {
            id: &refund_id,
            payment_id,
            amount: amount.paise(),
            reason,
            idempotency_key,
            requested_by: actor,
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
    if !store::reserve_refund(conn, payment_id, amount.paise()).await? {
        // Lost a race with a concurrent refund: explain with the fresh state.
        let current = store::payment_in_tx(conn, payment_id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))?;
        check_refund(
            current.status()?,
            current.captured,
            current.refunded,
            amount,
        )?;
        return Err(ApiError::conflict(
            "the payment changed meanwhile; try again",
        ));
    }
    let reserved = store::payment_in_tx(conn, payment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
    audit(
        conn,
        actor,
        "payment",
        payment_id,
        "refund_requested",
        Some(payment.audit_view()),
        Some(json!({
            "refundId": refund_id,
            "amount": amount.paise(),
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
    actor: &str,
    correlation: Option<&str>,
) -> ApiResult<Option<RefundOutcome>> {
    let Some(refund) = store::refund(state.store.pool(), refund_id).await? else {
        return Ok(None);
    };
    if refund.status != RefundStatus::Pending.as_db() || refund.gateway_refund_id.is_some() {
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
            gateway_payment_id: &payment.gateway_payment_id,
            refund_id,
            amount_paise: refund.amount,
            reason: &refund.reason,
        })
        .await
        .map_err(|e| {
            ApiError::Internal(
                e.context(format!("gateway refund {refund_id} failed; left pending")),
            )
        })?;
    let mut tx = state.store.begin().await?;
    settle_refund_in_tx(
        &mut tx,
        &payment.id,
        refund_id,
        &outcome,
        actor,
        correlation,
    )
    .await?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    Ok(Some(outcome))
}

/// `refundPayment`: reserves, asks the gateway, settles; returns the payment
/// afterwards. With an idempotency key a repeated request returns the
/// payment unchanged (CONFLICT if the key was used for another amount).
pub async fn refund(
    state: &PaymentsState,
    actor: &str,
    payment_id: &str,
    amount: RefundAmount,
    reason: &str,
    idempotency_key: Option<&str>,
    correlation: Option<&str>,
) -> ApiResult<PaymentRow> {
    let mut tx = state.store.begin().await?;
    let reservation =
        reserve_refund_in(&mut tx, actor, payment_id, amount, reason, idempotency_key).await?;
    tx.commit().await?;
    match reservation {
        Reservation::Repeated(existing) if existing.amount != amount.paise() => {
            return Err(ApiError::conflict(
                "this idempotencyKey was already used for a different amount",
            ));
        }
        Reservation::Repeated(_) => {}
        Reservation::Reserved(refund) => {
            let outcome = complete_refund(state, &refund.id, actor, correlation).await?;
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
        match complete_refund(state, &id, SYSTEM, None).await {
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
async fn settle_refund_in_tx(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    outcome: &RefundOutcome,
    actor: &str,
    correlation: Option<&str>,
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
            let payment = store::payment_in_tx(conn, payment_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
            let refund = store::refund_in_tx(conn, refund_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("refund vanished"))?;
            audit(
                conn,
                actor,
                "refund",
                refund_id,
                "refunded",
                Some(json!({ "status": "PENDING" })),
                Some(json!({ "status": refund.status, "amount": refund.amount, "paymentId": payment_id, "paymentRefunded": payment.refunded })),
            )
            .await?;
            events::payment_refunded(conn, &payment, &refund, actor, correlation).await?;
            Ok("applied".to_string())
        }
        RefundOutcome::Declined { reason } => {
            if !store::settle_refund(conn, refund_id, RefundStatus::Failed, None, Some(reason))
                .await?
            {
                return Ok("ignored: refund already settled".to_string());
            }
            let before = store::payment_in_tx(conn, payment_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
            if !store::release_refund(conn, payment_id, refund.amount).await? {
                return Err(anyhow::anyhow!(
                    "could not release refund {refund_id} on {payment_id}"
                )
                .into());
            }
            let after = store::payment_in_tx(conn, payment_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("payment vanished"))?;
            audit(
                conn,
                actor,
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

/// The order was cancelled, inside the caller's transaction: its open
/// payment fails (no `PaymentFailed`: orders already knows), and every
/// payment with money left captured gets a full refund reserved
/// (idempotency key [`CANCELLATION_REFUND_KEY`]). Returns the refunds to
/// complete with [`complete_refund`] once the transaction committed.
pub async fn order_cancelled_in(
    conn: &mut AnyConnection,
    order_id: &str,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<Vec<String>> {
    for payment in store::payments_of_order_in_tx(conn, order_id).await? {
        if payment.status()?.is_open() {
            apply_report(
                conn,
                &payment,
                PaymentEvent::OrderCancelled,
                Some("order cancelled"),
                SYSTEM,
                correlation,
            )
            .await?;
        }
    }
    let reason = truncate(reason, 500);
    let mut refunds = Vec::new();
    for payment in store::payments_of_order_in_tx(conn, order_id).await? {
        let Some(amount) = RefundAmount::of_paise(payment.refundable()) else {
            continue;
        };
        let reservation = reserve_refund_in(
            conn,
            SYSTEM,
            &payment.id,
            amount,
            &reason,
            Some(CANCELLATION_REFUND_KEY),
        )
        .await?;
        if let Reservation::Reserved(refund) = reservation {
            refunds.push(refund.id);
        }
    }
    Ok(refunds)
}

/// [`order_cancelled_in`] in its own transaction, then the refunds are
/// completed at the gateway (failures stay PENDING for the retry loop).
pub async fn order_cancelled(
    state: &PaymentsState,
    order_id: &str,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    let refunds = order_cancelled_in(&mut tx, order_id, reason, correlation).await?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    for refund_id in refunds {
        if let Err(err) = complete_refund(state, &refund_id, SYSTEM, correlation).await {
            tracing::warn!(%refund_id, error = %err, "cancellation refund left pending");
        }
    }
    Ok(())
}

/// The order was delivered, inside the caller's transaction: its
/// cash-on-delivery payment is collected (`PENDING → SUCCEEDED`,
/// captured = amount). Online payments are untouched.
pub async fn cash_collected_in(
    conn: &mut AnyConnection,
    order_id: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    for payment in store::payments_of_order_in_tx(conn, order_id).await? {
        if payment.method == PaymentMethod::CashOnDelivery.as_db() {
            apply_report(
                conn,
                &payment,
                PaymentEvent::CashCollected,
                None,
                SYSTEM,
                correlation,
            )
            .await?;
        }
    }
    Ok(())
}

/// [`cash_collected_in`] in its own transaction.
pub async fn cash_collected(
    state: &PaymentsState,
    order_id: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    cash_collected_in(&mut tx, order_id, correlation).await?;
    tx.commit().await?;
    Ok(())
}

/// An order was placed with cash on delivery chosen at checkout (orders
/// confirms such orders itself), inside the caller's transaction: payments
/// records the cash payment due (`PENDING`, collected on delivery) so that
/// `Order.payments` shows it and delivery settles it. Publishes nothing
/// (the order is already confirmed). Idempotent: an order has at most one
/// open payment. Returns whether it created one.
pub async fn cash_order_placed_in(conn: &mut AnyConnection, order: &OrderFacts) -> ApiResult<bool> {
    if order.total_paise <= 0 {
        return Ok(false);
    }
    let id = new_id();
    let reference = crate::gateway::CashGateway::reference(&id);
    let inserted = store::insert_payment(
        conn,
        &NewPaymentRow {
            id: &id,
            order_id: &order.id,
            customer_id: &order.buyer_id,
            vendor_id: &order.vendor_id,
            method: PaymentMethod::CashOnDelivery,
            gateway: crate::gateway::CASH,
            gateway_payment_id: &reference,
            checkout_url: None,
            amount: order.total_paise,
            currency: &order.currency,
        },
    )
    .await?;
    if inserted {
        let row = store::payment_in_tx(conn, &id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("payment vanished in its own transaction"))?;
        audit(
            conn,
            SYSTEM,
            "payment",
            &id,
            "created",
            None,
            Some(created_audit(&row, order)),
        )
        .await?;
    }
    Ok(inserted)
}
