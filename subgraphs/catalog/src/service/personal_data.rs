//! The catalog subgraph's share of a person's data rights (issue 18, DPDP
//! Act 2023 §11–12), answered through
//! [`janta_kit::personal_data::answer_requests`] on the consumer.
//!
//! Catalog holds nothing about customers: it has no reviews, watch lists or
//! stock alerts; its reservations are keyed by order and made by the orders
//! service, and their lines snapshot medicines, prices and batches, not
//! people. Its export part is therefore an empty object and its erasure
//! report empty — it still answers, so that users knows every subgraph did.
//! What vendor staff did (listings, stock movements) is the pharmacy's
//! record and the audit trail's, not customer data.

use async_trait::async_trait;
use janta_kit::personal_data::{ErasureReport, PersonalData};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// Catalog's [`PersonalData`]: nothing held, nothing to erase.
pub struct CatalogData;

#[async_trait]
impl PersonalData for CatalogData {
    async fn export(&self, _conn: &mut AnyConnection, _user_id: &str) -> anyhow::Result<Value> {
        Ok(json!({}))
    }

    async fn erase(
        &self,
        _conn: &mut AnyConnection,
        _user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        Ok(ErasureReport::default())
    }
}
