//! GST tax invoices and credit notes, issued inside the transaction of the
//! change that calls for them: a confirmation issues the order's invoice, a
//! cancellation of a confirmed order credits every line, an approved return
//! credits the returned units. Each takes the next number of its series
//! (per seller GSTIN and financial year) in that same transaction and is
//! audited; documents are never changed afterwards.

use crate::audit;
use crate::domain::invoices::{
    credit_line_tax, document_number, Buyer, CreditBalance, DocumentKind, DocumentLine,
    FinancialYear, InvoiceSeries, TaxDocument,
};
use crate::domain::{LineTax, Totals};
use crate::store::{self, OrderParties, OrderRow, ReturnLineRow, ReturnRow};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Issues the tax invoice of a just-confirmed order (idempotent: an order
/// that has one keeps it). Orders placed before fulfilling branches were
/// recorded have no seller to invoice as and get none (None).
pub async fn issue_invoice_in(
    conn: &mut AnyConnection,
    order: &OrderRow,
    cause: &Cause,
) -> ApiResult<Option<TaxDocument>> {
    issue_invoice_at(conn, order, cause, DateTime::now()).await
}

/// [`issue_invoice_in`] dated `at` (demo data records past orders).
pub async fn issue_invoice_at(
    conn: &mut AnyConnection,
    order: &OrderRow,
    cause: &Cause,
    at: DateTime,
) -> ApiResult<Option<TaxDocument>> {
    let Some(parties) = store::parties_of_order(conn, &order.id).await? else {
        tracing::warn!(order_id = %order.id, "order without a fulfilling branch: no invoice");
        return Ok(None);
    };
    let existing = store::documents_of_order(conn, &order.id).await?;
    if let Some(invoice) = existing
        .into_iter()
        .find(|d| d.kind == DocumentKind::TaxInvoice)
    {
        return Ok(Some(invoice));
    }
    let lines = store::lines_of_order(conn, &order.id)
        .await?
        .into_iter()
        .map(|l| DocumentLine {
            order_line_id: l.id,
            description: l.medicine_name,
            hsn_code: l.hsn_code,
            quantity: l.quantity,
            unit_price: l.unit_price.get(),
            rate: l.gst_rate,
            tax: LineTax {
                gross: l.line_total.get(),
                taxable: l.taxable_value.get(),
                cgst: l.cgst.get(),
                sgst: l.sgst.get(),
                igst: l.igst.get(),
            },
        })
        .collect();
    let draft = TaxDocument {
        issued_at: at,
        ..draft(order, &parties, DocumentKind::TaxInvoice, lines)
    };
    issue(conn, draft, cause).await.map(Some)
}

/// Issues a credit note for every line of a confirmed order being
/// cancelled (whatever earlier credit notes left), against its invoice.
pub async fn credit_cancellation_in(
    conn: &mut AnyConnection,
    order: &OrderRow,
    reason: &str,
    cause: &Cause,
) -> ApiResult<Option<TaxDocument>> {
    let Some((invoice, credited)) = invoice_and_credits(conn, &order.id).await? else {
        return Ok(None);
    };
    let mut lines = Vec::new();
    for line in &invoice.lines {
        let before = credited.get(&line.order_line_id).copied().unwrap_or(0);
        let left = line.quantity - before;
        if left < 1 {
            continue;
        }
        let gross = line.tax.gross - floor_share(line.tax.gross, before, line.quantity);
        let balance = CreditBalance {
            invoiced: line.tax,
            quantity: line.quantity,
            credited: before,
        };
        lines.push(DocumentLine {
            quantity: left,
            tax: credit_line_tax(balance, left, gross)?,
            ..line.clone()
        });
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let note = credit_note(&invoice, lines, None, reason);
    issue(conn, note, cause).await.map(Some)
}

/// Issues the credit note of an approved return: its lines' units, each
/// for its refund, against the order's invoice.
pub async fn credit_return_in(
    conn: &mut AnyConnection,
    ret: &ReturnRow,
    return_lines: &[ReturnLineRow],
    reason: &str,
    cause: &Cause,
) -> ApiResult<Option<TaxDocument>> {
    let Some((invoice, credited)) = invoice_and_credits(conn, &ret.order_id).await? else {
        return Ok(None);
    };
    let mut lines = Vec::with_capacity(return_lines.len());
    for rl in return_lines {
        let line = invoice
            .lines
            .iter()
            .find(|l| l.order_line_id == rl.order_line_id)
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "order line {} is not on invoice {}",
                    rl.order_line_id,
                    invoice.number
                ))
            })?;
        let balance = CreditBalance {
            invoiced: line.tax,
            quantity: line.quantity,
            credited: credited.get(&line.order_line_id).copied().unwrap_or(0),
        };
        lines.push(DocumentLine {
            quantity: rl.quantity,
            tax: credit_line_tax(balance, rl.quantity, rl.refund.get())?,
            ..line.clone()
        });
    }
    let note = credit_note(&invoice, lines, Some(ret.id.clone()), reason);
    issue(conn, note, cause).await.map(Some)
}

/// `total × units / of`, rounded down.
fn floor_share(total: i64, units: i64, of: i64) -> i64 {
    i64::try_from(i128::from(total) * i128::from(units) / i128::from(of.max(1))).unwrap_or(i64::MAX)
}

/// The order's invoice and the units of each of its lines already on
/// credit notes; None when the order has no invoice.
async fn invoice_and_credits(
    conn: &mut AnyConnection,
    order_id: &str,
) -> ApiResult<Option<(TaxDocument, HashMap<String, i64>)>> {
    let docs = store::documents_of_order(conn, order_id).await?;
    let mut credited: HashMap<String, i64> = HashMap::new();
    for line in docs
        .iter()
        .filter(|d| d.kind == DocumentKind::CreditNote)
        .flat_map(|d| &d.lines)
    {
        *credited.entry(line.order_line_id.clone()).or_default() += line.quantity;
    }
    Ok(docs
        .into_iter()
        .find(|d| d.kind == DocumentKind::TaxInvoice)
        .map(|invoice| (invoice, credited)))
}

/// A document of `kind` for `order` before it is numbered.
fn draft(
    order: &OrderRow,
    parties: &OrderParties,
    kind: DocumentKind,
    lines: Vec<DocumentLine>,
) -> TaxDocument {
    let a = &order.address;
    TaxDocument {
        id: new_id(),
        kind,
        number: String::new(),
        financial_year: String::new(),
        seq: 0,
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        vendor_id: order.vendor_id.clone(),
        invoice_id: None,
        invoice_number: None,
        return_id: None,
        reason: None,
        issued_at: DateTime::now(),
        seller: parties.seller.clone(),
        buyer: Buyer {
            name: parties.buyer_name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            pincode: a.pincode.clone(),
        },
        place_of_supply: a.state.clone(),
        supply: order.supply,
        currency: order.currency.clone(),
        totals: Totals::default(),
        lines,
    }
}

/// A credit note against `invoice` with `lines`, before it is numbered.
fn credit_note(
    invoice: &TaxDocument,
    lines: Vec<DocumentLine>,
    return_id: Option<String>,
    reason: &str,
) -> TaxDocument {
    TaxDocument {
        id: new_id(),
        kind: DocumentKind::CreditNote,
        invoice_id: Some(invoice.id.clone()),
        invoice_number: Some(invoice.number.clone()),
        return_id,
        reason: Some(reason.to_string()),
        issued_at: DateTime::now(),
        lines,
        ..invoice.clone()
    }
}

/// Numbers `doc` (next in its series for its seller GSTIN and financial
/// year), totals it, stores it and audits it.
async fn issue(
    conn: &mut AnyConnection,
    mut doc: TaxDocument,
    cause: &Cause,
) -> ApiResult<TaxDocument> {
    let series = InvoiceSeries::parse(&doc.seller.invoice_series)?;
    let year = FinancialYear::of(doc.issued_at.0);
    doc.financial_year = year.label();
    doc.seq =
        store::next_document_seq(conn, &doc.seller.gstin, &doc.financial_year, doc.kind).await?;
    doc.number = document_number(&series, year, doc.kind, doc.seq)?;
    doc.totals = Totals::of(doc.lines.iter().map(|l| &l.tax));
    store::insert_document(conn, &doc).await?;
    let t = &doc.totals;
    let action = match doc.kind {
        DocumentKind::TaxInvoice => "invoice_issued",
        DocumentKind::CreditNote => "credit_note_issued",
    };
    audit(
        conn,
        cause.actor(),
        "tax_document",
        &doc.id,
        action,
        None,
        Some(json!({
            "kind": doc.kind.as_db(),
            "number": doc.number,
            "sellerGstin": doc.seller.gstin,
            "orderId": doc.order_id,
            "invoiceNumber": doc.invoice_number,
            "returnId": doc.return_id,
            "placeOfSupply": doc.place_of_supply,
            "supply": doc.supply.as_db(),
            "totalPaise": t.total,
            "taxablePaise": t.taxable,
            "cgstPaise": t.cgst,
            "sgstPaise": t.sgst,
            "igstPaise": t.igst,
            "lines": doc.lines.len(),
        })),
    )
    .await?;
    Ok(doc)
}
