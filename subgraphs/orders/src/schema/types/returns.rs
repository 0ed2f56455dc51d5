//! Returns of delivered lines: the return, its lines, and the inputs of
//! asking for and reviewing one.

use super::order::{Order, OrderLine};
use crate::domain::returns::{ReturnReason, ReturnStatus};
use crate::schema::loaders::{load_order, LinesLoader, ReturnLinesLoader};
use crate::schema::state;
use crate::store::{self, ReturnLineRow, ReturnOwner, ReturnRow};
use async_graphql::{Context, InputObject, Object, ID};
use janta_platform::loader::load_or_empty;
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{to_db_time, DateTime};
use janta_platform::{ApiError, ApiResult};

/// A customer's request to return delivered units, and its review.
pub struct OrderReturn(pub(in crate::schema) ReturnRow);

/// Units of delivered lines a customer asked to return, the vendor's review
/// and what approval refunds (the lines' paid amount, tax included).
#[Object]
impl OrderReturn {
    /// Return ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The order the units were bought in.
    async fn order(&self, ctx: &Context<'_>) -> ApiResult<Order> {
        load_order(ctx, &self.0.order_id)
            .await?
            .map(Order)
            .ok_or_else(|| ApiError::not_found("order"))
    }

    /// Where the review is.
    async fn status(&self) -> ReturnStatus {
        self.0.status
    }

    /// Why the customer returns the units.
    async fn reason(&self) -> ReturnReason {
        self.0.reason
    }

    /// The customer's note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The units asked back, per order line.
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<OrderReturnLine>> {
        let rows = load_or_empty::<ReturnLinesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows
            .into_iter()
            .map(|row| OrderReturnLine {
                row,
                order_id: self.0.order_id.clone(),
            })
            .collect())
    }

    /// What approval refunds (refunded once approved), tax included.
    async fn refund_amount(&self) -> Money {
        Money::from(self.0.refund_total)
    }

    /// When the customer asked.
    async fn requested_at(&self) -> DateTime {
        self.0.requested_at
    }

    /// When it was reviewed.
    async fn reviewed_at(&self) -> Option<DateTime> {
        self.0.reviewed_at
    }

    /// The reviewer's note.
    async fn review_note(&self) -> Option<&str> {
        self.0.review_note.as_deref()
    }
}

/// Units of one order line in a return.
pub struct OrderReturnLine {
    row: ReturnLineRow,
    order_id: String,
}

/// Units of one order line in a return and what they refund.
#[Object]
impl OrderReturnLine {
    /// The order line's ID.
    async fn line_id(&self) -> ID {
        ID(self.row.order_line_id.clone())
    }

    /// The order line.
    async fn order_line(&self, ctx: &Context<'_>) -> ApiResult<OrderLine> {
        let lines = load_or_empty::<LinesLoader, _, _>(ctx, self.order_id.clone()).await?;
        lines
            .into_iter()
            .find(|l| l.id == self.row.order_line_id)
            .map(OrderLine)
            .ok_or_else(|| ApiError::not_found("order line"))
    }

    /// Units returned.
    async fn quantity(&self) -> i64 {
        self.row.quantity
    }

    /// What these units refund: the line's paid total × units / units
    /// ordered, tax included.
    async fn refund_amount(&self) -> Money {
        Money::from(self.row.refund)
    }
}

/// Units of one delivered order line to return.
#[derive(InputObject, Debug, Clone)]
pub struct ReturnLineInput {
    /// The order line.
    pub line_id: ID,
    /// Units (at most those delivered and not already in a return).
    pub quantity: i32,
}

/// A return of delivered lines of one of your orders.
#[derive(InputObject, Debug, Clone)]
pub struct RequestReturnInput {
    /// The order.
    pub order_id: ID,
    /// Why.
    pub reason: ReturnReason,
    /// Details, up to 500 characters.
    pub note: Option<String>,
    /// The lines and units.
    pub lines: Vec<ReturnLineInput>,
}

/// The review of a requested return.
#[derive(InputObject, Debug, Clone)]
pub struct ReviewReturnInput {
    /// The return.
    pub return_id: ID,
    /// Approve (refund and quarantine) or reject.
    pub approve: bool,
    /// Why, shown to the customer (1–500 characters).
    pub note: String,
}

/// A page of returns, newest first.
pub(in crate::schema) async fn list_returns(
    ctx: &Context<'_>,
    owner: ReturnOwner<'_>,
    status: Option<ReturnStatus>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<OrderReturn>> {
    let page = PageRequest::from_ctx(ctx, first, after)?;
    let (rows, total) = store::list_returns(&state(ctx).store, owner, status, &page).await?;
    let nodes = rows.into_iter().map(OrderReturn).collect();
    Ok(build_connection(&page, nodes, total, |r| Cursor {
        key: to_db_time(r.0.requested_at.0),
        id: r.0.id.clone(),
    }))
}
