//! Orders' service interface as payments uses it: `orderForPayment(id)`
//! tells who bought the order, from which vendor, its status and the amount
//! to charge. The amount always comes from here, never from the client
//! (architecture rule 3: through the owner's API, as a service principal).

use crate::domain::OrderFacts;
use janta_platform::client::ServiceClient;
use janta_platform::money::{parse_rupees, INR};
use janta_platform::{ApiError, ApiResult};
use serde_json::{json, Value};

/// Typed calls to the orders subgraph.
pub struct OrdersClient {
    client: ServiceClient,
}

const ORDER_FOR_PAYMENT: &str = "query($id: ID!) { orderForPayment(id: $id) { \
    id buyerId vendorId status taxPaise total { amount currency } } }";

impl OrdersClient {
    /// Calls orders through `client`.
    pub fn new(client: ServiceClient) -> Self {
        OrdersClient { client }
    }

    /// What payments needs to know about order `id`; NOT_FOUND if it does
    /// not exist.
    pub async fn order_for_payment(
        &self,
        id: &str,
        correlation: Option<&str>,
    ) -> ApiResult<OrderFacts> {
        let data = self
            .client
            .call(
                "orders",
                ORDER_FOR_PAYMENT,
                json!({ "id": id }),
                correlation,
            )
            .await?;
        let order = &data["orderForPayment"];
        if order.is_null() {
            return Err(ApiError::not_found("order"));
        }
        parse_order(order)
            .map_err(|e| ApiError::internal(e.context("orders sent an unreadable orderForPayment")))
    }
}

/// Reads the answer of `orderForPayment`.
fn parse_order(order: &Value) -> anyhow::Result<OrderFacts> {
    let text = |field: &str| -> anyhow::Result<String> {
        order[field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("missing {field}"))
    };
    let total = &order["total"];
    let total_paise = parse_rupees(
        total["amount"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("missing total.amount"))?,
        "total",
    )
    .map_err(|_| anyhow::anyhow!("total.amount is not a decimal amount"))?;
    Ok(OrderFacts {
        id: text("id")?,
        buyer_id: text("buyerId")?,
        vendor_id: text("vendorId")?,
        status: text("status")?,
        total_paise,
        tax_paise: order["taxPaise"]
            .as_i64()
            .filter(|tax| (0..=total_paise).contains(tax))
            .ok_or_else(|| anyhow::anyhow!("missing or impossible taxPaise"))?,
        currency: total["currency"].as_str().unwrap_or(INR).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_order_answer() {
        let order = parse_order(&json!({
            "id": "o1", "buyerId": "c1", "vendorId": "v1", "status": "PENDING_PAYMENT",
            "taxPaise": 1_323, "total": { "amount": "123.45", "currency": "INR" }
        }))
        .unwrap();
        assert_eq!(order.total_paise, 12_345);
        assert_eq!(order.tax_paise, 1_323);
        assert_eq!(order.currency, "INR");
        assert!(parse_order(&json!({ "id": "o1" })).is_err());
    }
}
