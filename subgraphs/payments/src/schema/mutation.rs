//! Write operations: paying an order and refunding a payment. Each resolver
//! parses, authorises and calls one service function.

use super::loaders::PaymentLoader;
use super::state;
use super::types::{PayOrderPayload, Payment};
use crate::domain::{self, PaymentMethod, PaymentStatus, RefundAmount};
use crate::service;
use async_graphql::{Context, Object, ID};
use janta_platform::auth::principal;
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::loader::load_one;
use janta_platform::{ApiError, ApiResult};

/// Paying and refunding.
#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Starts paying an order (the order's buyer only, while it is
    /// PENDING_PAYMENT). The amount is the order's total as orders knows it.
    /// Calling it again returns the open payment instead of a second one.
    /// Online methods return a `checkoutUrl` to complete; cash on delivery
    /// confirms the order at once and is collected on delivery.
    async fn pay_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to pay")] order_id: ID,
        #[graphql(desc = "How to pay")] method: PaymentMethod,
    ) -> ApiResult<PayOrderPayload> {
        let payer = principal(ctx)?;
        payer.refuse_partner()?;
        let order_id = parse_id(&order_id, "orderId")?;
        let row = service::pay_order(
            state(ctx),
            payer,
            &order_id,
            method,
            &Cause::of_request(ctx),
        )
        .await?;
        let checkout_url = (row.status == PaymentStatus::Created)
            .then(|| row.checkout_url.clone())
            .flatten();
        Ok(PayOrderPayload {
            checkout_url,
            payment: Payment(row),
        })
    }

    /// Refunds part or all of a captured payment (the vendor's admin or a
    /// platform admin). Refunds never add up to more than was captured.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment to refund")] payment_id: ID,
        #[graphql(desc = "Amount in rupees, e.g. \"120.50\"; at most what is left to refund")]
        amount: String,
        #[graphql(desc = "Why, shown to the customer")] reason: String,
        #[graphql(
            desc = "Optional key making retries safe: a repeated request with the same key refunds once"
        )]
        idempotency_key: Option<String>,
    ) -> ApiResult<Payment> {
        let actor = principal(ctx)?;
        actor.refuse_partner()?;
        let payment_id = parse_id(&payment_id, "paymentId")?;
        let payment = load_one::<PaymentLoader, _>(ctx, payment_id.clone())
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if !domain::can_refund(actor, &payment.vendor_id) {
            return Err(ApiError::forbidden(
                "only the vendor's admin or a platform admin can refund this payment",
            ));
        }
        let amount = RefundAmount::parse(&amount)?;
        let reason = domain::parse_reason(&reason)?;
        let key = idempotency_key
            .as_deref()
            .map(domain::parse_idempotency_key)
            .transpose()?;
        let row = service::refund(
            state(ctx),
            &Cause::of_request(ctx),
            &payment_id,
            amount,
            &reason,
            key.as_deref(),
        )
        .await?;
        Ok(Payment(row))
    }
}
