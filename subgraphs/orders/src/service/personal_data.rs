//! The orders subgraph's share of a customer's data rights (issue 18, see
//! `janta_kit::personal_data`): their export (orders with lines and history,
//! cart, checkouts, returns, tax invoices and credit notes, H1 register
//! entries) and their erasure.
//!
//! Erasure pseudonymises the orders — delivery address lines, the buyer's
//! name kept for invoices, patient names, what the customer wrote — and
//! deletes the cart and finished checkout claims. What a law requires stays
//! as it is, and is used only for that law's purpose: the tax invoices and
//! credit notes as issued (with the buyer's name and address; the vendor
//! still sees them), the schedule H1 register, and the orders' lines and
//! amounts behind the invoices, now tied only to an account ID whose
//! profile users erased.

use crate::store::{self, ErasedRows, KeptRows};
use async_trait::async_trait;
use janta_kit::personal_data::{ErasureReport, KeptRecord, PersonalData};
use janta_platform::store::Store;
use janta_platform::ApiResult;
use serde_json::Value;
use sqlx::AnyConnection;

/// The law that keeps tax invoices and credit notes.
pub const TAX_INVOICE_RULE: &str = "CGST Act 2017 §36 and CGST Rules 2017 Rule 56: tax \
    invoices and credit notes kept as issued for 72 months from the due date of the annual \
    return of their year, used for nothing else";

/// The law that keeps the schedule H1 register.
pub const H1_REGISTER_RULE: &str = "Drugs and Cosmetics Rules 1945 Rule 65(9)(d): the \
    schedule H1 register (prescriber, patient, drug, quantity) kept for 3 years, open to \
    drug inspectors, used for nothing else";

/// The law that keeps the orders behind the invoices (without the buyer's
/// name and address lines).
pub const ORDER_ACCOUNTS_RULE: &str = "CGST Act 2017 §35–36: accounts of the vendor's \
    supplies (what was sold, when, for how much), kept 72 months; pseudonymised, used for \
    nothing else";

/// How many of `customer_id`'s orders are still under way (not final, or
/// with a return awaiting review): users refuses to close an account while
/// any is, so no erasure strips the address off an order still travelling.
pub async fn open_order_count(store: &Store, customer_id: &str) -> ApiResult<i64> {
    let mut conn = store.pool().acquire().await?;
    Ok(crate::store::open_order_count(&mut conn, customer_id).await?)
}

/// The orders subgraph's [`PersonalData`].
pub struct OrdersPersonalData;

#[async_trait]
impl PersonalData for OrdersPersonalData {
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value> {
        Ok(Value::Object(
            store::export_of_customer(conn, user_id).await?,
        ))
    }

    async fn erase(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        let erased = store::erase_customer(conn, user_id).await?;
        let kept = store::kept_of_customer(conn, user_id).await?;
        Ok(report(&erased, &kept))
    }
}

/// The report of an erasure that changed `erased` and leaves `kept`: one
/// entry per kind of row, only for kinds that had any.
pub fn report(erased: &ErasedRows, kept: &KeptRows) -> ErasureReport {
    let erased = [
        (
            erased.order_addresses,
            "delivery address lines of {} orders",
        ),
        (
            erased.buyer_names,
            "the buyer's name kept for invoicing {} orders",
        ),
        (
            erased.patient_names,
            "patient names on {} prescription lines",
        ),
        (
            erased.customer_notes,
            "{} cancellation reasons and status notes the customer wrote",
        ),
        (erased.return_notes, "the customer's notes on {} returns"),
        (erased.carts, "{} cart (deleted)"),
        (erased.checkouts, "{} finished checkout records (deleted)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| what.replace("{}", &n.to_string()))
    .collect();
    let kept = [
        (
            kept.tax_documents,
            "{} tax invoices and credit notes, as issued (buyer's name and address included)",
            TAX_INVOICE_RULE,
        ),
        (
            kept.h1_entries,
            "{} schedule H1 register entries (patient's name included)",
            H1_REGISTER_RULE,
        ),
        (
            kept.orders,
            "{} orders with their lines and amounts, without name or address lines",
            ORDER_ACCOUNTS_RULE,
        ),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, record, rule)| KeptRecord {
        record: record.replace("{}", &n.to_string()),
        rule: rule.to_string(),
    })
    .collect();
    ErasureReport { erased, kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_only_what_there_was() {
        let erased = ErasedRows {
            order_addresses: 3,
            carts: 1,
            ..ErasedRows::default()
        };
        let kept = KeptRows {
            orders: 3,
            tax_documents: 2,
            h1_entries: 0,
        };
        let r = report(&erased, &kept);
        assert_eq!(
            r.erased,
            ["delivery address lines of 3 orders", "1 cart (deleted)"]
        );
        assert_eq!(r.kept.len(), 2);
        assert!(r.kept[0].record.starts_with("2 tax invoices"));
        assert_eq!(r.kept[0].rule, TAX_INVOICE_RULE);
        assert!(r.kept[1].record.starts_with("3 orders"));
        assert_eq!(
            report(&ErasedRows::default(), &KeptRows::default()),
            ErasureReport::default(),
            "someone with nothing here gets an empty report"
        );
    }
}
