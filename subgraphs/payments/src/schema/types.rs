//! The GraphQL object types: payments, refunds and the order extension.

use super::loaders::{OrderPaymentsLoader, RefundsLoader};
use crate::domain::{self, PaymentMethod, PaymentStatus, RefundStatus};
use crate::store::{PaymentRow, RefundRow};
use async_graphql::{Context, Object, SimpleObject, ID};
use janta_platform::auth::principal;
use janta_platform::loader::load_or_empty;
use janta_platform::money::Money;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};

/// A payment (or cash-on-delivery promise) for an order.
pub struct Payment(pub PaymentRow);

/// One attempt to pay an order: online through the gateway, or cash on
/// delivery. Visible to the paying customer, the vendor's staff and admins.
#[Object]
impl Payment {
    /// Payment ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The order this payment is for.
    async fn order(&self) -> Order {
        Order {
            id: self.0.order_id.clone(),
        }
    }
    /// Where the payment is: CREATED → PENDING → SUCCEEDED | FAILED, then
    /// PARTIALLY_REFUNDED or REFUNDED. Cash on delivery stays PENDING until
    /// the order is delivered.
    async fn status(&self) -> PaymentStatus {
        self.0.status
    }
    /// How the customer pays.
    async fn method(&self) -> PaymentMethod {
        self.0.method
    }
    /// The amount to pay: the order's total at the time of payment.
    async fn amount(&self) -> Money {
        Money::from(self.0.amount)
    }
    /// How much was captured (or collected in cash); zero until then.
    async fn captured_amount(&self) -> Money {
        Money::from(self.0.captured)
    }
    /// How much was refunded, including refunds still being processed.
    async fn refunded_amount(&self) -> Money {
        Money::from(self.0.refunded)
    }
    /// How much can still be refunded.
    async fn refundable_amount(&self) -> Money {
        Money::from(self.0.refundable())
    }
    /// Why the payment failed, when it did.
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    /// The gateway's reference for this payment (for support and reconciliation).
    async fn gateway_reference(&self) -> &str {
        &self.0.gateway_payment_id
    }
    /// Refunds on this payment, oldest first.
    async fn refunds(&self, ctx: &Context<'_>) -> ApiResult<Vec<Refund>> {
        let rows = load_or_empty::<RefundsLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(Refund).collect())
    }
    /// When the payment was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at
    }
    /// When the payment last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at
    }
}

/// Money returned to the customer on a captured payment.
pub struct Refund(pub RefundRow);

/// A refund (partial or full) of a payment.
#[Object]
impl Refund {
    /// Refund ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Amount refunded.
    async fn amount(&self) -> Money {
        Money::from(self.0.amount)
    }
    /// Why it was refunded.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Whether the gateway has returned the money yet.
    async fn status(&self) -> RefundStatus {
        self.0.status
    }
    /// When the refund was requested.
    async fn created_at(&self) -> DateTime {
        self.0.created_at
    }
}

/// An order (owned by the orders subgraph), extended here with its payments.
pub struct Order {
    pub(super) id: String,
}

/// An order; payments adds the payments made for it.
#[Object]
impl Order {
    /// Order ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// Payments for this order, oldest first (usually one). Visible to the
    /// buyer, the vendor's staff and admins.
    async fn payments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Payment>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let rows = load_or_empty::<OrderPaymentsLoader, _, _>(ctx, self.id.clone()).await?;
        if rows
            .iter()
            .any(|p| !domain::can_view(viewer, &p.customer_id, &p.vendor_id))
        {
            return Err(ApiError::forbidden("you cannot see this order's payments"));
        }
        Ok(rows.into_iter().map(Payment).collect())
    }
}

/// What the client needs to complete a payment.
#[derive(SimpleObject)]
pub struct PayOrderPayload {
    /// Where the customer completes an online payment (the sandbox gateway
    /// serves it: POST it with form field `outcome=success|failure`); null
    /// for cash on delivery.
    pub checkout_url: Option<String>,
    /// The payment (status CREATED for online methods, PENDING for cash on delivery).
    pub payment: Payment,
}
