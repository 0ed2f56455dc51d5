//! What the payments subgraph holds about one customer, for their data
//! rights (issue 18): the rows of their export, the gateway webhooks that
//! carry their payer details (erased in place), and the payment records
//! that stay.

use janta_platform::columns::json_rows;
use serde_json::{Map, Value};
use sqlx::AnyConnection;

/// The webhooks about a customer's payments (`$1` is the customer's ID).
const WEBHOOKS_OF_CUSTOMER: &str = "FROM webhook_events \
    WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = $1)";

/// Each part of a customer's export: its key and the rows it lists (`$1`
/// is the customer's ID).
const EXPORT: [(&str, &str); 3] = [
    (
        "payments",
        "SELECT id, order_id, vendor_id, method, gateway, gateway_payment_id, gateway_charge_id, \
         status, amount, tax, currency, captured, refunded, failure_reason, created_at, \
         captured_at, updated_at FROM payments WHERE customer_id = $1 ORDER BY created_at, id",
    ),
    (
        "refunds",
        "SELECT r.id, r.payment_id, r.amount, r.tax, r.reason, r.status, r.gateway_refund_id, \
         r.failure_reason, r.created_at, r.updated_at \
         FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.customer_id = $1 \
         ORDER BY r.created_at, r.id",
    ),
    (
        "gatewayWebhooks",
        "SELECT id, gateway, event_id, event_type, payment_id, payload, outcome, received_at \
         FROM webhook_events \
         WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = $1) \
         ORDER BY received_at, id",
    ),
];

/// Every row the payments subgraph holds about `customer_id`, by part
/// (`payments`, `refunds`, `gatewayWebhooks`); a part with no rows is an
/// empty list.
pub async fn export_of_customer(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<Map<String, Value>> {
    let mut export = Map::new();
    for (part, sql) in EXPORT {
        let rows = json_rows(&mut *conn, sql, customer_id).await?;
        export.insert(part.to_string(), Value::Array(rows));
    }
    Ok(export)
}

/// The stored bodies of the webhooks about `customer_id`'s payments: (record
/// ID, body as received or as last erased).
pub async fn webhook_payloads_of_customer(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(&format!(
        "SELECT id, payload {WEBHOOKS_OF_CUSTOMER} ORDER BY received_at, id"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await
}

/// Replaces the stored body of webhook record `id` (erasure of the payer's
/// details; nothing else ever rewrites a webhook).
pub async fn set_webhook_payload(
    conn: &mut AnyConnection,
    id: &str,
    payload: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE webhook_events SET payload = $1 WHERE id = $2")
        .bind(payload)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// How many payments and refunds of `customer_id` there are: the records
/// that stay after erasure.
pub async fn payment_records_of_customer(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM payments WHERE customer_id = $1), \
         (SELECT COUNT(*) FROM refunds \
          WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = $1))",
    )
    .bind(customer_id)
    .fetch_one(conn)
    .await
}
