//! `payOrder`: one open payment per order, at the gateway of the chosen
//! method; switching method before the checkout completes supersedes it.

use super::audit;
use super::payment_now;
use super::{apply_report, created_audit};
use crate::domain::{self, PaymentEvent, PaymentMethod, PaymentStatus};
use crate::events::publish;
use crate::gateway::NewPayment;
use crate::store::{self, NewPaymentRow, PaymentRow};
use crate::PaymentsState;
use janta_platform::auth::Principal;
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

fn open_payment_conflict(open: &PaymentRow) -> ApiError {
    ApiError::conflict(format!(
        "this order already has a payment in progress ({})",
        open.method.as_db()
    ))
    .with_details(json!({ "paymentId": open.id, "method": open.method.as_db() }))
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
    cause: &Cause,
) -> ApiResult<PaymentRow> {
    let gateway = state.gateways.for_method(method)?;
    let order = state
        .orders
        .order_for_payment(order_id, cause.correlation())
        .await?;
    domain::check_payable(payer, &order)?;
    let pool = state.store.pool();
    if let Some(open) = store::open_payment_for_order(pool, &order.id).await? {
        if open.method == method {
            return Ok(open);
        }
        supersede(state, &open, method, cause).await?;
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
        .map_err(|e| ApiError::internal(e.context("gateway could not create the payment")))?;
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
            amount: Paise(order.total_paise),
            tax: Paise(order.tax_paise),
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
    let row = payment_now(&mut tx, &payment_id).await?;
    audit(
        &mut tx,
        cause.actor(),
        "payment",
        &row.id,
        "created",
        None,
        Some(created_audit(&row, &order)),
    )
    .await?;
    if !method.is_online() {
        publish::payment_succeeded(&mut tx, &row, false, cause).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// The customer switches method before completing the open payment's
/// checkout: the open payment fails as superseded (no `PaymentFailed`: the
/// order stays payable). Once the gateway is processing it, no switch.
/// Should the gateway still capture it, the capture is reversed
/// (see [`apply_webhook`]).
async fn supersede(
    state: &PaymentsState,
    open: &PaymentRow,
    method: PaymentMethod,
    cause: &Cause,
) -> ApiResult<()> {
    if open.status != PaymentStatus::Created {
        return Err(open_payment_conflict(open));
    }
    let reason = format!("replaced by a {} payment", method.as_db());
    let mut tx = state.store.begin().await?;
    let outcome = apply_report(
        &mut tx,
        open,
        PaymentEvent::Superseded,
        Some(&reason),
        cause,
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
    if open.method == method {
        Ok(open)
    } else {
        Err(open_payment_conflict(&open))
    }
}
