//! The payments subgraph's GraphQL API: thin resolvers that authorise with
//! the platform guards and `domain`, and delegate to `service` and `store`.
//! Entity `Payment`; extends orders' `Order` with `payments`. Every lookup by
//! ID goes through a DataLoader, so lists and `_entities` batches cost one
//! statement per kind.

use crate::domain::{self, PaymentMethod, PaymentStatus, RefundAmount, RefundStatus};
use crate::store::{self, PaymentRow, RefundRow};
use crate::{service, PaymentsState};
use async_graphql::{Context, EmptySubscription, Object, Result, Schema, SimpleObject, ID};
use janta_platform::auth::{principal, Principal};
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::money::Money;
use janta_platform::scalars::DateTime;
use janta_platform::server::CorrelationId;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;
use std::sync::Arc;

/// The payments subgraph schema.
pub type PaymentsSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a PaymentsState {
    ctx.data_unchecked::<Arc<PaymentsState>>()
}

fn correlation<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str())
}

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
    async fn status(&self) -> Result<PaymentStatus> {
        Ok(self.0.status().map_err(ApiError::from)?)
    }
    /// How the customer pays.
    async fn method(&self) -> Result<PaymentMethod> {
        Ok(self.0.method().map_err(ApiError::from)?)
    }
    /// The amount to pay: the order's total at the time of payment.
    async fn amount(&self) -> Money {
        Money::inr(self.0.amount)
    }
    /// How much was captured (or collected in cash); zero until then.
    async fn captured_amount(&self) -> Money {
        Money::inr(self.0.captured)
    }
    /// How much was refunded, including refunds still being processed.
    async fn refunded_amount(&self) -> Money {
        Money::inr(self.0.refunded)
    }
    /// How much can still be refunded.
    async fn refundable_amount(&self) -> Money {
        Money::inr(self.0.refundable())
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
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        let rows = load_or_empty::<RefundsLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(Refund).collect())
    }
    /// When the payment was created.
    async fn created_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.created_at).map_err(ApiError::from)?)
    }
    /// When the payment last changed.
    async fn updated_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.updated_at).map_err(ApiError::from)?)
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
        Money::inr(self.0.amount)
    }
    /// Why it was refunded.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Whether the gateway has returned the money yet.
    async fn status(&self) -> Result<RefundStatus> {
        Ok(self.0.status().map_err(ApiError::from)?)
    }
    /// When the refund was requested.
    async fn created_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.created_at).map_err(ApiError::from)?)
    }
}

/// An order (owned by the orders subgraph), extended here with its payments.
pub struct Order {
    id: String,
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
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let viewer = principal(ctx)?;
        let rows = load_or_empty::<OrderPaymentsLoader, _, _>(ctx, self.id.clone()).await?;
        if rows
            .iter()
            .any(|p| !domain::can_view(viewer, &p.customer_id, &p.vendor_id))
        {
            return Err(ApiError::forbidden("you cannot see this order's payments").into());
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

/// Loads payments by ID in one statement per batch.
pub struct PaymentLoader;

impl BatchLoad<String> for PaymentLoader {
    type Value = PaymentRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, PaymentRow>> {
        let rows = store::payments_by_ids(store.pool(), keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the payments of many orders in one statement per batch.
pub struct OrderPaymentsLoader;

impl BatchLoad<String> for OrderPaymentsLoader {
    type Value = Vec<PaymentRow>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<PaymentRow>>> {
        let rows = store::payments_by_order_ids(store.pool(), keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

/// Loads the refunds of many payments in one statement per batch.
pub struct RefundsLoader;

impl BatchLoad<String> for RefundsLoader {
    type Value = Vec<RefundRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<RefundRow>>> {
        let rows = store::refunds_by_payment_ids(store.pool(), keys).await?;
        Ok(grouped(rows, |r| r.payment_id.clone()))
    }
}

/// The payment `id` if `viewer` may see it (NOT_FOUND / FORBIDDEN otherwise).
async fn visible_payment(ctx: &Context<'_>, viewer: &Principal, id: &str) -> ApiResult<PaymentRow> {
    let id = parse_id(id, "payment id")?;
    let row = load_one::<PaymentLoader, _>(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    if !domain::can_view(viewer, &row.customer_id, &row.vendor_id) {
        return Err(ApiError::forbidden("you cannot see this payment"));
    }
    Ok(row)
}

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// A payment by ID: for its customer, the vendor's staff and admins.
    async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Payment ID")] id: ID,
    ) -> Result<Payment> {
        let viewer = principal(ctx)?;
        Ok(Payment(visible_payment(ctx, viewer, &id).await?))
    }

    /// Resolves `Payment` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_payment_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Payment> {
        let viewer = principal(ctx)?;
        Ok(Payment(visible_payment(ctx, viewer, &id).await?))
    }

    /// Resolves `Order` references so that payments can add `Order.payments`.
    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> Result<Order> {
        let id = parse_id(&id, "order id")?;
        Ok(Order { id })
    }
}

/// Write operations.
pub struct Mutation;

#[Object]
impl Mutation {
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
    ) -> Result<PayOrderPayload> {
        let payer = principal(ctx)?;
        let order_id = parse_id(&order_id, "orderId")?;
        let row =
            service::pay_order(state(ctx), payer, &order_id, method, correlation(ctx)).await?;
        let checkout_url = row
            .status()
            .is_ok_and(|s| s == PaymentStatus::Created)
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
    ) -> Result<Payment> {
        let actor = principal(ctx)?;
        let payment_id = parse_id(&payment_id, "paymentId")?;
        let payment = store::payment(state(ctx).store.pool(), &payment_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if !domain::can_refund(actor, &payment.vendor_id) {
            return Err(ApiError::forbidden(
                "only the vendor's admin or a platform admin can refund this payment",
            )
            .into());
        }
        let amount = RefundAmount::parse(&amount)?;
        let reason = domain::parse_reason(&reason)?;
        let key = idempotency_key
            .as_deref()
            .map(domain::parse_idempotency_key)
            .transpose()?;
        let row = service::refund(
            state(ctx),
            &actor.subject,
            &payment_id,
            amount,
            &reason,
            key.as_deref(),
            correlation(ctx),
        )
        .await?;
        Ok(Payment(row))
    }
}
