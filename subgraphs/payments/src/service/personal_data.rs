//! The payments subgraph's share of a customer's data rights (issue 18, see
//! `janta_kit::personal_data`): their export (payments, refunds, the
//! gateways' webhooks about them) and their erasure.
//!
//! Payments stores no payer profile of its own; the payer's details it holds
//! are those a gateway put in its webhooks (e-mail, phone, UPI VPA, card
//! holder), and erasure replaces them ([`crate::domain::payer`]). The
//! payments and refunds themselves stay — amounts, dates, gateway
//! references, tied only to an account ID whose profile users erased —
//! because the vendors' settlements, the TCS and TDS withheld, and the
//! vendors' tax records rest on them.

use crate::domain::payer::erase_payer_details;
use crate::store::personal_data as store;
use async_trait::async_trait;
use janta_kit::personal_data::{ErasureReport, KeptRecord, PersonalData};
use serde_json::Value;
use sqlx::AnyConnection;

/// The law that keeps payment and refund records.
pub const PAYMENT_RECORDS_RULE: &str = "CGST Act 2017 §35–36 and §52 (TCS), Income-tax Act \
    1961 §194-O (TDS): the consideration received and refunded on each supply, behind the \
    vendors' settlements and the tax withheld, kept 72 months; no payer details, used for \
    nothing else";

/// The payments subgraph's [`PersonalData`].
pub struct PaymentsPersonalData;

#[async_trait]
impl PersonalData for PaymentsPersonalData {
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
        let mut webhooks = 0;
        for (id, payload) in store::webhook_payloads_of_customer(conn, user_id).await? {
            if let Some(erased) = erase_payer_details(&payload) {
                store::set_webhook_payload(conn, &id, &erased).await?;
                webhooks += 1;
            }
        }
        let (payments, refunds) = store::payment_records_of_customer(conn, user_id).await?;
        Ok(report(webhooks, payments, refunds))
    }
}

/// The report of an erasure that erased the payer's details from `webhooks`
/// records and keeps `payments` payments and `refunds` refunds.
pub fn report(webhooks: usize, payments: i64, refunds: i64) -> ErasureReport {
    let erased = (webhooks > 0)
        .then(|| {
            format!(
                "payer details (e-mail, phone, UPI VPA, card holder) in {webhooks} gateway \
                 webhook records"
            )
        })
        .into_iter()
        .collect();
    let kept = (payments > 0)
        .then(|| KeptRecord {
            record: format!(
                "{payments} payment(s) and {refunds} refund(s) (amounts, dates, gateway references)"
            ),
            rule: PAYMENT_RECORDS_RULE.to_string(),
        })
        .into_iter()
        .collect();
    ErasureReport { erased, kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_only_what_there_was() {
        let r = report(2, 3, 1);
        assert_eq!(r.erased.len(), 1);
        assert!(r.erased[0].ends_with("in 2 gateway webhook records"));
        assert_eq!(
            r.kept[0].record,
            "3 payment(s) and 1 refund(s) (amounts, dates, gateway references)"
        );
        assert_eq!(r.kept[0].rule, PAYMENT_RECORDS_RULE);
        assert_eq!(report(0, 0, 0), ErasureReport::default());
    }
}
