//! The prescriptions subgraph's share of a customer's data rights (issue 18,
//! DPDP Act 2023 §11–12), answered through
//! [`janta_kit::personal_data::answer_requests`] on this subgraph's consumer.
//!
//! Export: the customer's prescriptions with their approved lines, what
//! orders consumed from them, the documents' metadata (type, size, hash;
//! never the bytes), the upload slots, and the access log (who read a
//! prescription or opened its document, on what ground).
//!
//! Erasure: every document file is deleted and nothing covers an order any
//! more; patient and doctor names are pseudonymised — except on
//! prescriptions against which a Schedule H1 medicine was sold in the last
//! three years: the Drugs and Cosmetics Rules 1945, Rule 65(9)(d) require
//! the H1 register (prescriber, patient, drug, quantity) to be kept that
//! long, so those keep the patient, prescriber, medicines and quantities and
//! lose the rest, until [`sweep_lapsed_h1`] finds the three years over and
//! pseudonymises them too. The audit trail is append-only and stays.

use super::audit;
use crate::store::files::DocumentStore;
use crate::store::personal_data::{self as store, Erased};
use async_trait::async_trait;
use chrono::{DateTime, Months, Utc};
use janta_kit::personal_data::{ErasureReport, KeptRecord, PersonalData};
use janta_platform::cause::SYSTEM;
use janta_platform::scalars::{from_db_time, to_db_time};
use janta_platform::store::Store;
use serde_json::{json, Map, Value};
use sqlx::AnyConnection;
use std::sync::Arc;

/// How long an H1 register entry is kept (Rule 65(9)(d): three years).
pub const H1_RETENTION: Months = Months::new(36);

/// The rule that keeps the H1 register, as erasure reports cite it.
pub const H1_RULE: &str = "Drugs and Cosmetics Rules 1945, Rule 65(9)(d): Schedule H1 register \
     (prescriber, patient, drug and quantity supplied), kept 3 years";

/// The rule that keeps the audit trail, as the README lists it.
pub const AUDIT_RULE: &str = "DPDP Rules 2025 Rule 6(1)(e): logs of processing kept one year for \
     detecting misuse; the trail is append-only by design";

/// Prescriptions' [`PersonalData`]: its rows through the store, its files
/// through the document store (erasure deletes them).
pub struct PrescriptionsData {
    documents: Arc<dyn DocumentStore>,
}

impl PrescriptionsData {
    /// Answers for the prescriptions whose files are in `documents`.
    pub fn new(documents: Arc<dyn DocumentStore>) -> Self {
        PrescriptionsData { documents }
    }
}

#[async_trait]
impl PersonalData for PrescriptionsData {
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value> {
        let mut prescriptions = store::prescriptions(conn, user_id).await?;
        nest(
            &mut prescriptions,
            "lines",
            store::lines(conn, user_id).await?,
        );
        let consumptions = store::consumptions(conn, user_id).await?;
        nest(&mut prescriptions, "consumptions", consumptions);
        let mut access = store::access_log(conn, user_id).await?;
        access.iter_mut().for_each(parse_details);
        nest(&mut prescriptions, "accessLog", access);
        Ok(json!({
            "prescriptions": prescriptions,
            "uploads": store::uploads(conn, user_id).await?,
        }))
    }

    async fn erase(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        let now = Utc::now();
        let since = to_db_time(h1_retention_start(now));
        let files = store::document_keys(conn, user_id).await?;
        let (kept, newest) = store::kept_h1(conn, user_id, &since).await?;
        let audited = store::audit_entries(conn, user_id).await?;
        let erased = store::erase(conn, user_id, &since, &to_db_time(now)).await?;
        // Files go last: should the transaction fail after this, the
        // redelivered event erases the rows again (a missing file is fine).
        for key in &files {
            self.documents.delete(key).await?;
        }
        let newest = newest.as_deref().map(from_db_time).transpose()?;
        let kept = Kept {
            h1_prescriptions: kept,
            newest_h1_sale: newest,
            audit_entries: audited,
        };
        Ok(erasure_report(files.len(), &erased, &kept))
    }
}

/// Customers one round of [`sweep_lapsed_h1`] handles at most.
const SWEEP_BATCH: i64 = 100;

/// Finishes the erasures whose H1 register entries outlived their three
/// years: those prescriptions are pseudonymised like the rest (audited per
/// customer). Returns how many prescriptions it pseudonymised; the
/// subgraph runs it periodically.
pub async fn sweep_lapsed_h1(db: &Store) -> anyhow::Result<u64> {
    let now = Utc::now();
    let (since, at) = (to_db_time(h1_retention_start(now)), to_db_time(now));
    let mut tx = db.begin().await?;
    let mut released = 0;
    for owner in store::lapsed_h1_owners(&mut tx, &since, SWEEP_BATCH).await? {
        let erased = store::erase(&mut tx, &owner, &since, &at).await?;
        let after = Some(json!({ "pseudonymised": erased.pseudonymised, "rule": H1_RULE }));
        audit(
            &mut tx,
            SYSTEM,
            "user",
            &owner,
            "h1_retention_ended",
            None,
            after,
        )
        .await?;
        released += erased.pseudonymised;
    }
    tx.commit().await?;
    Ok(released)
}

/// The oldest sale whose H1 register entry is still kept at `now`.
pub fn h1_retention_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_months(H1_RETENTION).unwrap_or(now)
}

/// What an erasure leaves of the customer's prescriptions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kept {
    /// Prescriptions holding H1 register entries still kept.
    pub h1_prescriptions: i64,
    /// The newest of those entries (the retention of the last runs from it).
    pub newest_h1_sale: Option<DateTime<Utc>>,
    /// Audit trail entries about the customer's prescriptions.
    pub audit_entries: i64,
}

/// What an erasure reports: `files` documents deleted, `erased` rows, and
/// what is `kept`.
pub fn erasure_report(files: usize, erased: &Erased, kept: &Kept) -> ErasureReport {
    let counted = [
        (files as u64, "prescription document file(s) deleted"),
        (
            erased.pseudonymised,
            "prescription(s): patient, doctor and prescriber names pseudonymised",
        ),
        (
            erased.pseudonymised + erased.kept,
            "prescription(s): family member link and review notes erased, no longer usable",
        ),
        (erased.uploads_deleted, "unused upload slot(s) deleted"),
        (erased.links_deleted, "document link(s) deleted"),
    ];
    let erased = counted
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    let mut records = Vec::new();
    if let (n, Some(newest)) = (kept.h1_prescriptions, kept.newest_h1_sale) {
        if n > 0 {
            let until = newest.checked_add_months(H1_RETENTION).unwrap_or(newest);
            records.push(KeptRecord {
                record: format!(
                    "Schedule H1 register entries of {n} dispensed prescription(s): patient \
                     name, prescriber's name and registration, medicine and quantity"
                ),
                rule: format!("{H1_RULE} (the last until {})", until.date_naive()),
            });
        }
    }
    if kept.audit_entries > 0 {
        records.push(KeptRecord {
            record: format!(
                "{} audit trail entries about the prescriptions (submissions and reviews \
                 as recorded, patient and doctor named)",
                kept.audit_entries
            ),
            rule: AUDIT_RULE.to_string(),
        });
    }
    ErasureReport {
        erased,
        kept: records,
    }
}

/// Moves each of `children` (rows naming a `prescriptionId`) into the
/// `key` list of its prescription among `parents`.
fn nest(parents: &mut [Value], key: &str, children: Vec<Value>) {
    for parent in parents.iter_mut() {
        if let Some(object) = parent.as_object_mut() {
            object.insert(key.to_string(), Value::Array(vec![]));
        }
    }
    for mut child in children {
        let Some(fields) = child.as_object_mut() else {
            continue;
        };
        let owner = fields.remove("prescriptionId");
        let parent = parents
            .iter_mut()
            .find(|p| owner.is_some() && p.get("id") == owner.as_ref());
        if let Some(Value::Array(list)) = parent.and_then(|p| p.get_mut(key)) {
            list.push(child);
        }
    }
}

/// An access-log row's `details` (JSON text in the audit trail) as JSON.
fn parse_details(row: &mut Value) {
    if let Some(Value::String(text)) = row.get("details") {
        let parsed = serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Map::new()));
        row["details"] = parsed;
    }
}

/// How often kept H1 register entries are checked for the end of their
/// three years.
const H1_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Answers users' personal-data requests on the subgraph's consumer (files
/// deleted from `documents`) and pseudonymises the H1 entries whose three
/// years ended, every [`H1_SWEEP_INTERVAL`].
pub async fn answer(kit: &janta_kit::Kit, documents: Arc<dyn DocumentStore>) {
    let data = PrescriptionsData::new(documents);
    kit.consume(|consumer| kit.answering(consumer, data)).await;
    let store = kit.store().clone();
    kit.every(H1_SWEEP_INTERVAL, "H1 retention sweep", move || {
        let store = store.clone();
        async move {
            sweep_lapsed_h1(&store).await?;
            Ok(())
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_entries_are_kept_three_years_from_the_sale() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            h1_retention_start(now).to_rfc3339(),
            "2023-12-03T10:00:00+00:00"
        );
        let erased = Erased {
            pseudonymised: 2,
            kept: 1,
            uploads_deleted: 0,
            links_deleted: 1,
        };
        let kept = Kept {
            h1_prescriptions: 1,
            newest_h1_sale: Some(now),
            audit_entries: 0,
        };
        let report = erasure_report(3, &erased, &kept);
        assert_eq!(
            report.erased,
            vec![
                "3 prescription document file(s) deleted",
                "2 prescription(s): patient, doctor and prescriber names pseudonymised",
                "3 prescription(s): family member link and review notes erased, no longer usable",
                "1 document link(s) deleted",
            ]
        );
        assert_eq!(report.kept.len(), 1);
        assert!(report.kept[0].rule.contains("Rule 65(9)(d)"));
        assert!(report.kept[0].rule.ends_with("(the last until 2029-12-03)"));
    }

    #[test]
    fn nothing_erased_and_nothing_kept_is_an_empty_report() {
        let report = erasure_report(0, &Erased::default(), &Kept::default());
        assert_eq!(report, ErasureReport::default());
    }

    #[test]
    fn children_go_under_their_prescription_without_its_id() {
        let mut parents = vec![json!({"id": "a"}), json!({"id": "b"})];
        let children = vec![
            json!({"prescriptionId": "b", "n": 1}),
            json!({"prescriptionId": "zzz", "n": 2}),
        ];
        nest(&mut parents, "lines", children);
        assert_eq!(parents[0]["lines"], json!([]));
        assert_eq!(parents[1]["lines"], json!([{"n": 1}]));
    }
}
