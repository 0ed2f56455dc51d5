//! The parties of orders (seller branch and buyer name, as at checkout),
//! GST tax invoices and credit notes with their lines, and the gapless
//! counters that number them. Documents are only ever inserted (the
//! database refuses updates and deletes).

use super::Insert;
use crate::domain::invoices::{Buyer, DocumentKind, DocumentLine, Seller, TaxDocument};
use crate::domain::{GstRate, LineTax, Totals};
use janta_platform::store::{placeholders, Store};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};
use std::collections::HashMap;

/// Who sells and who buys on an order, as at checkout.
#[derive(Debug, Clone)]
pub struct OrderParties {
    /// The order.
    pub order_id: String,
    /// The fulfilling branch and the vendor's legal name.
    pub seller: Seller,
    /// The buyer's name, when users knew it.
    pub buyer_name: Option<String>,
}

impl FromRow<'_, AnyRow> for OrderParties {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(OrderParties {
            order_id: row.try_get("order_id")?,
            seller: Seller {
                legal_name: row.try_get("legal_name")?,
                branch_id: row.try_get("branch_id")?,
                branch_name: row.try_get("branch_name")?,
                line1: row.try_get("line1")?,
                city: row.try_get("city")?,
                state: row.try_get("state")?,
                pincode: row.try_get("pincode")?,
                gstin: row.try_get("gstin")?,
                invoice_series: row.try_get("invoice_series")?,
            },
            buyer_name: row.try_get("buyer_name")?,
        })
    }
}

const PARTY_COLUMNS: &str = "order_id, legal_name, branch_id, branch_name, line1, city, state, \
    pincode, gstin, invoice_series, buyer_name";

/// Records an order's parties (checkout, in the order's transaction).
pub async fn insert_parties(
    conn: &mut AnyConnection,
    vendor_id: &str,
    p: &OrderParties,
) -> sqlx::Result<()> {
    let s = &p.seller;
    Insert::into("order_parties")
        .set("order_id", p.order_id.as_str())
        .set("vendor_id", vendor_id)
        .set("legal_name", s.legal_name.as_str())
        .set("branch_id", s.branch_id.as_str())
        .set("branch_name", s.branch_name.as_str())
        .set("line1", s.line1.as_str())
        .set("city", s.city.as_str())
        .set("state", s.state.as_str())
        .set("pincode", s.pincode.as_str())
        .set("gstin", s.gstin.as_str())
        .set("invoice_series", s.invoice_series.as_str())
        .set("buyer_name", p.buyer_name.as_deref())
        .execute(conn)
        .await
}

/// One order's parties, inside a transaction (None for orders placed
/// before branches were recorded).
pub async fn parties_of_order(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Option<OrderParties>> {
    sqlx::query_as(&format!(
        "SELECT {PARTY_COLUMNS} FROM order_parties WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(conn)
    .await
}

/// The parties of many orders in one statement (loaders).
pub async fn parties_of_orders(store: &Store, ids: &[String]) -> sqlx::Result<Vec<OrderParties>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {PARTY_COLUMNS} FROM order_parties WHERE order_id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Takes the next number of `kind` for `gstin` in `financial_year`: one
/// statement that creates the counter at 1 or increments it. The row stays
/// locked (PostgreSQL) or the database is (SQLite, `BEGIN IMMEDIATE`) until
/// the caller's transaction ends, so concurrent issuers queue, and a
/// rolled-back issue gives its number back: no duplicates, no gaps.
pub async fn next_document_seq(
    conn: &mut AnyConnection,
    gstin: &str,
    financial_year: &str,
    kind: DocumentKind,
) -> sqlx::Result<i64> {
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO invoice_counters (seller_gstin, financial_year, kind, last_seq) \
         VALUES ($1, $2, $3, 1) \
         ON CONFLICT (seller_gstin, financial_year, kind) \
         DO UPDATE SET last_seq = invoice_counters.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(gstin)
    .bind(financial_year)
    .bind(kind.as_db())
    .fetch_one(conn)
    .await?;
    Ok(seq)
}

/// Inserts an issued document and its lines.
pub async fn insert_document(conn: &mut AnyConnection, d: &TaxDocument) -> sqlx::Result<()> {
    let (s, b, t) = (&d.seller, &d.buyer, &d.totals);
    Insert::into("tax_documents")
        .set("id", d.id.as_str())
        .set("kind", d.kind.as_db())
        .set("number", d.number.as_str())
        .set("seller_gstin", s.gstin.as_str())
        .set("financial_year", d.financial_year.as_str())
        .set("seq", d.seq)
        .set("order_id", d.order_id.as_str())
        .set("customer_id", d.customer_id.as_str())
        .set("vendor_id", d.vendor_id.as_str())
        .set("invoice_id", d.invoice_id.as_deref())
        .set("invoice_number", d.invoice_number.as_deref())
        .set("return_id", d.return_id.as_deref())
        .set("reason", d.reason.as_deref())
        .set("issued_at", d.issued_at)
        .set("seller_legal_name", s.legal_name.as_str())
        .set("branch_id", s.branch_id.as_str())
        .set("invoice_series", s.invoice_series.as_str())
        .set("branch_name", s.branch_name.as_str())
        .set("branch_line1", s.line1.as_str())
        .set("branch_city", s.city.as_str())
        .set("branch_state", s.state.as_str())
        .set("branch_pincode", s.pincode.as_str())
        .set("buyer_name", b.name.as_deref())
        .set("address_line1", b.line1.as_str())
        .set("address_line2", b.line2.as_deref())
        .set("address_city", b.city.as_str())
        .set("address_state", b.state.as_str())
        .set("address_pincode", b.pincode.as_str())
        .set("place_of_supply", d.place_of_supply.as_str())
        .set("supply", d.supply.as_db())
        .set("currency", d.currency.as_str())
        .set("taxable_total", t.taxable)
        .set("cgst_total", t.cgst)
        .set("sgst_total", t.sgst)
        .set("igst_total", t.igst)
        .set("total", t.total)
        .execute(&mut *conn)
        .await?;
    for (i, l) in d.lines.iter().enumerate() {
        Insert::into("tax_document_lines")
            .set("id", janta_platform::ids::new_id())
            .set("document_id", d.id.as_str())
            .set("position", i as i64 + 1)
            .set("order_line_id", l.order_line_id.as_str())
            .set("description", l.description.as_str())
            .set("hsn_code", l.hsn_code.as_str())
            .set("quantity", l.quantity)
            .set("unit_price", l.unit_price)
            .set("gst_rate_bp", l.rate.basis_points())
            .set("taxable_value", l.tax.taxable)
            .set("cgst", l.tax.cgst)
            .set("sgst", l.tax.sgst)
            .set("igst", l.tax.igst)
            .set("total", l.tax.gross)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

const DOCUMENT_COLUMNS: &str = "id, kind, number, seller_gstin, financial_year, seq, order_id, \
    customer_id, vendor_id, invoice_id, invoice_number, return_id, reason, issued_at, \
    seller_legal_name, branch_id, invoice_series, branch_name, branch_line1, branch_city, \
    branch_state, branch_pincode, buyer_name, address_line1, address_line2, address_city, \
    address_state, address_pincode, place_of_supply, supply, currency, taxable_total, \
    cgst_total, sgst_total, igst_total, total";

fn bad(column: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: message.into(),
    }
}

/// A document header as stored (lines attached afterwards).
struct Header(TaxDocument);

impl FromRow<'_, AnyRow> for Header {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let kind: String = row.try_get("kind")?;
        let kind = DocumentKind::parse(&kind).ok_or_else(|| bad("kind", kind))?;
        Ok(Header(TaxDocument {
            id: row.try_get("id")?,
            kind,
            number: row.try_get("number")?,
            financial_year: row.try_get("financial_year")?,
            seq: row.try_get("seq")?,
            order_id: row.try_get("order_id")?,
            customer_id: row.try_get("customer_id")?,
            vendor_id: row.try_get("vendor_id")?,
            invoice_id: row.try_get("invoice_id")?,
            invoice_number: row.try_get("invoice_number")?,
            return_id: row.try_get("return_id")?,
            reason: row.try_get("reason")?,
            issued_at: row.try_get("issued_at")?,
            seller: Seller {
                legal_name: row.try_get("seller_legal_name")?,
                branch_id: row.try_get("branch_id")?,
                branch_name: row.try_get("branch_name")?,
                line1: row.try_get("branch_line1")?,
                city: row.try_get("branch_city")?,
                state: row.try_get("branch_state")?,
                pincode: row.try_get("branch_pincode")?,
                gstin: row.try_get("seller_gstin")?,
                invoice_series: row.try_get("invoice_series")?,
            },
            buyer: Buyer {
                name: row.try_get("buyer_name")?,
                line1: row.try_get("address_line1")?,
                line2: row.try_get("address_line2")?,
                city: row.try_get("address_city")?,
                state: row.try_get("address_state")?,
                pincode: row.try_get("address_pincode")?,
            },
            place_of_supply: row.try_get("place_of_supply")?,
            supply: row.try_get("supply")?,
            currency: row.try_get("currency")?,
            totals: Totals {
                total: row.try_get("total")?,
                taxable: row.try_get("taxable_total")?,
                cgst: row.try_get("cgst_total")?,
                sgst: row.try_get("sgst_total")?,
                igst: row.try_get("igst_total")?,
            },
            lines: Vec::new(),
        }))
    }
}

/// A document line as stored, with its document.
struct StoredLine(String, DocumentLine);

impl FromRow<'_, AnyRow> for StoredLine {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let bp: i64 = row.try_get("gst_rate_bp")?;
        let rate = GstRate::from_basis_points(bp).map_err(|e| bad("gst_rate_bp", e.to_string()))?;
        Ok(StoredLine(
            row.try_get("document_id")?,
            DocumentLine {
                order_line_id: row.try_get("order_line_id")?,
                description: row.try_get("description")?,
                hsn_code: row.try_get("hsn_code")?,
                quantity: row.try_get("quantity")?,
                unit_price: row.try_get("unit_price")?,
                rate,
                tax: LineTax {
                    gross: row.try_get("total")?,
                    taxable: row.try_get("taxable_value")?,
                    cgst: row.try_get("cgst")?,
                    sgst: row.try_get("sgst")?,
                    igst: row.try_get("igst")?,
                },
            },
        ))
    }
}

/// Headers chosen by `filter` (over `binds`), with their lines: two statements.
async fn documents_where(
    conn: &mut AnyConnection,
    filter: &str,
    binds: &[&str],
) -> sqlx::Result<Vec<TaxDocument>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM tax_documents WHERE {filter} ORDER BY issued_at, seq, id"
    );
    let mut query = sqlx::query_as::<_, Header>(&sql);
    for value in binds {
        query = query.bind(*value);
    }
    let mut docs: Vec<TaxDocument> = query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|h| h.0)
        .collect();
    if docs.is_empty() {
        return Ok(docs);
    }
    let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    let sql = format!(
        "SELECT document_id, order_line_id, description, hsn_code, quantity, unit_price, \
         gst_rate_bp, taxable_value, cgst, sgst, igst, total FROM tax_document_lines \
         WHERE document_id IN ({}) ORDER BY document_id, position",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, StoredLine>(&sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let mut by_doc: HashMap<String, Vec<DocumentLine>> = HashMap::new();
    for StoredLine(doc, line) in query.fetch_all(&mut *conn).await? {
        by_doc.entry(doc).or_default().push(line);
    }
    for d in &mut docs {
        d.lines = by_doc.remove(&d.id).unwrap_or_default();
    }
    Ok(docs)
}

/// Every document of an order, inside a transaction, oldest first.
pub async fn documents_of_order(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Vec<TaxDocument>> {
    documents_where(conn, "order_id = $1", &[order_id]).await
}

/// The documents of many orders (loaders), oldest first.
pub async fn documents_of_orders(
    store: &Store,
    order_ids: &[String],
) -> sqlx::Result<Vec<TaxDocument>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut conn = store.pool().acquire().await?;
    let filter = format!("order_id IN ({})", placeholders(1, order_ids.len()));
    let binds: Vec<&str> = order_ids.iter().map(String::as_str).collect();
    documents_where(&mut conn, &filter, &binds).await
}

/// The documents with `number` (of one seller GSTIN when given).
pub async fn documents_by_number(
    store: &Store,
    number: &str,
    seller_gstin: Option<&str>,
) -> sqlx::Result<Vec<TaxDocument>> {
    let mut conn = store.pool().acquire().await?;
    match seller_gstin {
        Some(gstin) => {
            documents_where(
                &mut conn,
                "number = $1 AND seller_gstin = $2",
                &[number, gstin],
            )
            .await
        }
        None => documents_where(&mut conn, "number = $1", &[number]).await,
    }
}
