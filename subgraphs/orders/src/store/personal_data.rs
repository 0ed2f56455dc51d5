//! What the orders subgraph holds about one customer, for their data
//! rights (issue 18): the rows of their export, the statements of their
//! erasure, and the count of their orders still under way, which users
//! checks before closing an account.
//!
//! Erasure pseudonymises the orders (they stay: they are the vendor's
//! record of its sales, behind its invoices) and deletes what exists only
//! for the customer (cart, finished checkout claims). Tax documents and the
//! H1 register are never touched: the database refuses to change them.

use crate::domain::Status;
use janta_platform::columns::json_rows;
use serde_json::{Map, Value};
use sqlx::AnyConnection;

/// Each part of a customer's export: its key and the rows it lists (`$1`
/// is the customer's ID). Columns are listed, not `*`: bookkeeping of the
/// saga (leases, owed calls) and other people's details (the dispensing
/// pharmacist) are not the customer's data.
const EXPORT: [(&str, &str); 12] = [
    (
        "orders",
        "SELECT id, vendor_id, status, payment_method, supply, currency, total, taxable_total, \
         cgst_total, sgst_total, igst_total, address_id, address_label, address_line1, \
         address_line2, address_city, address_state, address_pincode, prescription_ids, \
         cancellation_reason, placed_at, payment_due_at, updated_at \
         FROM orders WHERE customer_id = $1 ORDER BY placed_at, id",
    ),
    (
        "orderLines",
        "SELECT l.id, l.order_id, l.position, l.listing_id, l.medicine_id, l.medicine_name, \
         l.schedule, l.hsn_code, l.gst_rate_bp, l.quantity, l.unit_price, l.mrp, l.line_total, \
         l.taxable_value, l.cgst, l.sgst, l.igst, l.prescription_id, l.batches \
         FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.customer_id = $1 \
         ORDER BY o.placed_at, l.order_id, l.position",
    ),
    (
        "orderStatusHistory",
        "SELECT h.order_id, h.seq, h.status, h.actor, h.note, h.at \
         FROM order_status_history h JOIN orders o ON o.id = h.order_id \
         WHERE o.customer_id = $1 ORDER BY o.placed_at, h.order_id, h.seq",
    ),
    (
        "prescriptionLines",
        "SELECT p.order_line_id, p.order_id, p.prescription_id, p.patient_name, \
         p.prescriber_name, p.prescriber_registration \
         FROM order_line_prescribers p JOIN orders o ON o.id = p.order_id \
         WHERE o.customer_id = $1 ORDER BY o.placed_at, p.order_id, p.order_line_id",
    ),
    (
        "carts",
        "SELECT id, created_at, updated_at FROM carts WHERE customer_id = $1",
    ),
    (
        "cartLines",
        "SELECT l.id, l.cart_id, l.listing_id, l.quantity, l.added_at, l.updated_at \
         FROM cart_lines l JOIN carts c ON c.id = l.cart_id WHERE c.customer_id = $1 \
         ORDER BY l.added_at, l.id",
    ),
    (
        "checkouts",
        "SELECT id, idempotency_key, status, order_ids, created_at, updated_at \
         FROM checkouts WHERE customer_id = $1 ORDER BY created_at, id",
    ),
    (
        "returns",
        "SELECT id, order_id, vendor_id, status, reason, note, refund_total, requested_at, \
         reviewed_at, review_note FROM order_returns WHERE customer_id = $1 \
         ORDER BY requested_at, id",
    ),
    (
        "returnLines",
        "SELECT l.id, l.return_id, l.order_line_id, l.position, l.listing_id, l.quantity, \
         l.refund, l.refund_tax \
         FROM order_return_lines l JOIN order_returns r ON r.id = l.return_id \
         WHERE r.customer_id = $1 ORDER BY r.requested_at, l.return_id, l.position",
    ),
    (
        "taxDocuments",
        "SELECT id, kind, number, seller_gstin, financial_year, order_id, vendor_id, \
         invoice_number, return_id, reason, issued_at, seller_legal_name, branch_name, \
         branch_line1, branch_city, branch_state, branch_pincode, buyer_name, address_line1, \
         address_line2, address_city, address_state, address_pincode, place_of_supply, supply, \
         currency, taxable_total, cgst_total, sgst_total, igst_total, total \
         FROM tax_documents WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1) \
         ORDER BY issued_at, id",
    ),
    (
        "taxDocumentLines",
        "SELECT l.document_id, l.position, l.order_line_id, l.description, l.hsn_code, \
         l.quantity, l.unit_price, l.gst_rate_bp, l.taxable_value, l.cgst, l.sgst, l.igst, \
         l.total FROM tax_document_lines l JOIN tax_documents d ON d.id = l.document_id \
         WHERE d.order_id IN (SELECT id FROM orders WHERE customer_id = $1) \
         ORDER BY d.issued_at, l.document_id, l.position",
    ),
    (
        "h1Register",
        "SELECT h.order_id, h.order_line_id, h.sold_on, h.patient_name, h.prescriber_name, \
         h.prescriber_registration, h.medicine_id, h.medicine_name, h.batch_number, \
         h.batch_expires_on, h.quantity \
         FROM h1_register h JOIN orders o ON o.id = h.order_id \
         WHERE o.customer_id = $1 ORDER BY h.sold_on, h.id",
    ),
];

/// Every row the orders subgraph holds about `customer_id`, by part
/// (`orders`, `orderLines`, `carts`, `returns`, `taxDocuments`, …); a part
/// with no rows is an empty list.
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

/// What an erasure changed: how many rows of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedRows {
    /// Orders whose delivery address lines were replaced.
    pub order_addresses: u64,
    /// Orders whose buyer name (kept for future invoices) was cleared.
    pub buyer_names: u64,
    /// Prescription lines whose patient name was cleared.
    pub patient_names: u64,
    /// Cancellation reasons and status notes the customer wrote.
    pub customer_notes: u64,
    /// Notes the customer wrote on returns.
    pub return_notes: u64,
    /// Carts deleted (with their lines).
    pub carts: u64,
    /// Finished checkout claims deleted.
    pub checkouts: u64,
}

/// What stays about a customer after erasure, because a law keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptRows {
    /// Orders (lines, amounts, status history), pseudonymised.
    pub orders: i64,
    /// Tax invoices and credit notes, as issued.
    pub tax_documents: i64,
    /// Entries of the schedule H1 register.
    pub h1_entries: i64,
}

/// What replaces the first line of an erased delivery address (the column
/// is required; every other personal column becomes NULL).
pub const ERASED: &str = "erased";

/// Pseudonymises and deletes what the orders subgraph holds about
/// `customer_id`, inside the caller's transaction. Running it again
/// changes nothing more. Never touches tax documents or the H1 register.
pub async fn erase_customer(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<ErasedRows> {
    let mut erased = ErasedRows {
        order_addresses: run(
            conn,
            &format!(
                "UPDATE orders SET address_label = NULL, address_line1 = '{ERASED}', \
                 address_line2 = NULL WHERE customer_id = $1 AND (address_line1 <> '{ERASED}' \
                 OR address_line2 IS NOT NULL OR address_label IS NOT NULL)"
            ),
            customer_id,
        )
        .await?,
        ..ErasedRows::default()
    };
    erased.buyer_names = run(
        conn,
        "UPDATE order_parties SET buyer_name = NULL WHERE buyer_name IS NOT NULL \
         AND order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
        customer_id,
    )
    .await?;
    erased.patient_names = run(
        conn,
        "UPDATE order_line_prescribers SET patient_name = NULL WHERE patient_name IS NOT NULL \
         AND order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
        customer_id,
    )
    .await?;
    // A reason is the customer's words when they cancelled the order
    // themselves (the vendor's and the system's reasons are theirs).
    erased.customer_notes = run(
        conn,
        "UPDATE orders SET cancellation_reason = NULL WHERE customer_id = $1 \
         AND cancellation_reason IS NOT NULL AND id IN (SELECT order_id \
         FROM order_status_history WHERE actor = $1 AND status = 'CANCELLED')",
        customer_id,
    )
    .await?;
    erased.customer_notes += run(
        conn,
        "UPDATE order_status_history SET note = NULL WHERE actor = $1 AND note IS NOT NULL \
         AND order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
        customer_id,
    )
    .await?;
    erased.return_notes = run(
        conn,
        "UPDATE order_returns SET note = NULL WHERE customer_id = $1 AND note IS NOT NULL",
        customer_id,
    )
    .await?;
    run(
        conn,
        "DELETE FROM cart_lines WHERE cart_id IN (SELECT id FROM carts WHERE customer_id = $1)",
        customer_id,
    )
    .await?;
    erased.carts = run(
        conn,
        "DELETE FROM carts WHERE customer_id = $1",
        customer_id,
    )
    .await?;
    erased.checkouts = run(
        conn,
        "DELETE FROM checkouts WHERE customer_id = $1 AND status = 'DONE'",
        customer_id,
    )
    .await?;
    Ok(erased)
}

/// Runs one erasing statement (`$1` the customer) and returns the rows it
/// changed.
async fn run(conn: &mut AnyConnection, sql: &str, customer_id: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(sql)
        .bind(customer_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// What stays about `customer_id` after erasure.
pub async fn kept_of_customer(
    conn: &mut AnyConnection,
    customer_id: &str,
) -> sqlx::Result<KeptRows> {
    let (orders, tax_documents, h1_entries): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orders WHERE customer_id = $1), \
         (SELECT COUNT(*) FROM tax_documents \
          WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)), \
         (SELECT COUNT(*) FROM h1_register \
          WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1))",
    )
    .bind(customer_id)
    .fetch_one(conn)
    .await?;
    Ok(KeptRows {
        orders,
        tax_documents,
        h1_entries,
    })
}

/// How many of `customer_id`'s orders are still under way: in a status
/// that is not final ([`Status::is_open`]), or with a return awaiting the
/// vendor's review.
pub async fn open_order_count(conn: &mut AnyConnection, customer_id: &str) -> sqlx::Result<i64> {
    let open: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(Status::as_db)
        .collect();
    let sql = format!(
        "SELECT COUNT(*) FROM orders o WHERE o.customer_id = $1 AND (o.status IN ({}) \
         OR EXISTS (SELECT 1 FROM order_returns r WHERE r.order_id = o.id \
         AND r.status = 'REQUESTED'))",
        janta_platform::store::placeholders(2, open.len())
    );
    let mut query = sqlx::query_as(&sql).bind(customer_id);
    for status in open {
        query = query.bind(status);
    }
    let (count,): (i64,) = query.fetch_one(conn).await?;
    Ok(count)
}
