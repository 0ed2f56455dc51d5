//! The SQL of a customer's data rights (issue 18) in the prescriptions
//! subgraph: reading everything held about a customer for an export, and
//! erasing it except the Schedule H1 register entries the law keeps. Every
//! function runs in the caller's (the consumer's) transaction.

use crate::domain::AccessAction;
use janta_platform::columns::json_rows;
use serde_json::Value;
use sqlx::AnyConnection;

/// The customer's prescriptions (documents' metadata, never their bytes
/// or storage keys), oldest first.
pub async fn prescriptions(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<Value>> {
    json_rows(
        conn,
        "SELECT id, status, patient_name AS \"patientName\", family_member_id AS \"familyMemberId\", \
         doctor_name AS \"doctorName\", doctor_registration_number AS \"doctorRegistrationNumber\", \
         issued_on AS \"issuedOn\", submitted_at AS \"submittedAt\", vendor_id AS \"pharmacyId\", \
         valid_until AS \"validUntil\", reviewed_at AS \"reviewedAt\", review_notes AS \"reviewNotes\", \
         prescriber_name AS \"prescriberName\", prescriber_registration AS \"prescriberRegistration\", \
         document_content_type AS \"documentContentType\", document_size_bytes AS \"documentSizeBytes\", \
         document_sha256 AS \"documentSha256\", erased_at AS \"erasedAt\" \
         FROM prescriptions WHERE owner_id = $1 ORDER BY submitted_at, id",
        owner_id,
    )
    .await
}

/// The approved lines of the customer's prescriptions.
pub async fn lines(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<Value>> {
    json_rows(
        conn,
        "SELECT l.prescription_id AS \"prescriptionId\", l.medicine_id AS \"medicineId\", \
         l.max_quantity AS \"maxQuantity\", l.consumed \
         FROM prescription_lines l JOIN prescriptions p ON p.id = l.prescription_id \
         WHERE p.owner_id = $1 ORDER BY l.prescription_id, l.position",
        owner_id,
    )
    .await
}

/// What orders consumed from the customer's prescriptions.
pub async fn consumptions(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<Value>> {
    json_rows(
        conn,
        "SELECT c.prescription_id AS \"prescriptionId\", c.order_id AS \"orderId\", \
         c.medicine_id AS \"medicineId\", c.quantity, c.created_at AS \"consumedAt\", \
         d.status AS \"orderStatus\" \
         FROM prescription_consumptions c JOIN prescriptions p ON p.id = c.prescription_id \
         JOIN dispense_orders d ON d.order_id = c.order_id \
         WHERE p.owner_id = $1 ORDER BY c.created_at, c.id",
        owner_id,
    )
    .await
}

/// The customer's upload slots (facts of the file, not the file).
pub async fn uploads(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<Value>> {
    json_rows(
        conn,
        "SELECT id, status, created_at AS \"createdAt\", uploaded_at AS \"uploadedAt\", \
         used_at AS \"usedAt\", content_type AS \"contentType\", size_bytes AS \"sizeBytes\", \
         sha256 FROM prescription_uploads WHERE owner_id = $1 ORDER BY created_at, id",
        owner_id,
    )
    .await
}

/// Who read the customer's prescriptions or opened their documents, from
/// the audit trail (`details`: ground, reason, link, as JSON text).
pub async fn access_log(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<Value>> {
    // The actions are this crate's constants, never input.
    let listed = AccessAction::ALL
        .iter()
        .map(|a| format!("'{}'", a.as_db()))
        .collect::<Vec<_>>()
        .join(", ");
    json_rows(
        conn,
        &format!(
            "SELECT a.entity_id AS \"prescriptionId\", a.actor, a.action, a.after_json AS details, a.at \
             FROM audit_log a JOIN prescriptions p ON p.id = a.entity_id \
             WHERE a.entity_type = 'prescription' AND p.owner_id = $1 AND a.action IN ({listed}) \
             ORDER BY a.at, a.id"
        ),
        owner_id,
    )
    .await
}

/// How many audit trail entries are about the customer's prescriptions
/// (submissions and reviews name patient and doctor; the trail is
/// append-only and stays).
pub async fn audit_entries(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log a JOIN prescriptions p ON p.id = a.entity_id \
         WHERE a.entity_type = 'prescription' AND p.owner_id = $1",
    )
    .bind(owner_id)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// The Schedule H1 register entries among the customer's consumptions
/// still within their retention: a consumption of an H1 medicine (or of
/// unknown schedule, recorded before schedules were) by an order that was
/// not restored, on or after `since`. `$1` is the owner, `$2` `since`.
const KEPT_H1_ENTRIES: &str =
    "SELECT c.prescription_id, c.created_at FROM prescription_consumptions c \
     JOIN prescriptions p ON p.id = c.prescription_id \
     JOIN dispense_orders d ON d.order_id = c.order_id \
     WHERE p.owner_id = $1 AND d.status = 'CONSUMED' \
     AND (c.schedule_h1 IS NULL OR c.schedule_h1 = true) AND c.created_at >= $2";

/// How many of the customer's prescriptions hold kept H1 entries, and the
/// newest of those entries (the retention of the last one runs from it).
pub async fn kept_h1(
    conn: &mut AnyConnection,
    owner_id: &str,
    since: &str,
) -> sqlx::Result<(i64, Option<String>)> {
    sqlx::query_as(&format!(
        "SELECT COUNT(DISTINCT k.prescription_id), MAX(k.created_at) FROM ({KEPT_H1_ENTRIES}) k"
    ))
    .bind(owner_id)
    .bind(since)
    .fetch_one(conn)
    .await
}

/// Customers (at most `limit`) with erased prescriptions still kept for the
/// H1 register although none of their H1 entries is on or after `since`
/// any more: the retention ran out, the rest of the erasure is owed.
pub async fn lapsed_h1_owners(
    conn: &mut AnyConnection,
    since: &str,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT p.owner_id FROM prescriptions p \
         WHERE p.erased_at IS NOT NULL AND p.patient_name <> ('erased-' || substr(p.id, 1, 8)) \
         AND NOT EXISTS (SELECT 1 FROM prescription_consumptions c \
           JOIN dispense_orders d ON d.order_id = c.order_id \
           WHERE c.prescription_id = p.id AND d.status = 'CONSUMED' \
           AND (c.schedule_h1 IS NULL OR c.schedule_h1 = true) AND c.created_at >= $1) \
         ORDER BY p.owner_id LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(owner,)| owner).collect())
}

/// Storage keys of every document file the customer has (submitted
/// documents and uploads), deduplicated.
pub async fn document_keys(conn: &mut AnyConnection, owner_id: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT document_key FROM prescriptions WHERE owner_id = $1 AND document_key <> '' \
         UNION SELECT storage_key FROM prescription_uploads \
         WHERE owner_id = $1 AND storage_key IS NOT NULL AND storage_key <> ''",
    )
    .bind(owner_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// What [`erase`] changed, in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Prescriptions whose patient and doctor were pseudonymised.
    pub pseudonymised: u64,
    /// Prescriptions kept for the H1 register (document, notes and family
    /// link erased; patient and prescriber kept).
    pub kept: u64,
    /// Upload slots never submitted, deleted.
    pub uploads_deleted: u64,
    /// Signed document links, deleted.
    pub links_deleted: u64,
}

/// Erases what the law does not keep of the customer's prescriptions, as
/// of `now` (H1 entries since `since` are kept): prescriptions without a
/// kept H1 entry get a pseudonymous patient (`erased-<id prefix>`) and
/// doctor, and lose prescriber, family link and review notes; kept ones
/// lose family link and review notes. Every one loses its document (key
/// and hash; the caller deletes the files), covers no order any more
/// (SUBMITTED or APPROVED becomes EXPIRED) and is marked erased. Unused
/// upload slots and document links go. Running it again changes nothing
/// more.
pub async fn erase(
    conn: &mut AnyConnection,
    owner_id: &str,
    since: &str,
    now: &str,
) -> sqlx::Result<Erased> {
    const COMMON: &str = "family_member_id = NULL, review_notes = NULL, document_key = '', \
         document_sha256 = '', \
         status = CASE WHEN status IN ('SUBMITTED', 'APPROVED') THEN 'EXPIRED' ELSE status END, \
         erased_at = COALESCE(erased_at, $3), version = version + 1";
    let pseudonymised = sqlx::query(&format!(
        "UPDATE prescriptions SET patient_name = 'erased-' || substr(id, 1, 8), \
         doctor_name = 'erased', doctor_registration_number = NULL, prescriber_name = NULL, \
         prescriber_registration = NULL, {COMMON} \
         WHERE owner_id = $1 AND id NOT IN (SELECT k.prescription_id FROM ({KEPT_H1_ENTRIES}) k) \
         AND (erased_at IS NULL OR patient_name <> ('erased-' || substr(id, 1, 8)))"
    ))
    .bind(owner_id)
    .bind(since)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let kept = sqlx::query(&format!(
        "UPDATE prescriptions SET {COMMON} WHERE owner_id = $1 AND id IN (SELECT k.prescription_id FROM ({KEPT_H1_ENTRIES}) k) \
         AND erased_at IS NULL"
    ))
    .bind(owner_id)
    .bind(since)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let links_deleted = sqlx::query(
        "DELETE FROM prescription_document_links WHERE prescription_id IN \
         (SELECT id FROM prescriptions WHERE owner_id = $1)",
    )
    .bind(owner_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let uploads_deleted =
        sqlx::query("DELETE FROM prescription_uploads WHERE owner_id = $1 AND status <> 'USED'")
            .bind(owner_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query(
        "UPDATE prescription_uploads SET storage_key = NULL, sha256 = NULL \
         WHERE owner_id = $1 AND (storage_key IS NOT NULL OR sha256 IS NOT NULL)",
    )
    .bind(owner_id)
    .execute(&mut *conn)
    .await?;
    Ok(Erased {
        pseudonymised,
        kept,
        uploads_deleted,
        links_deleted,
    })
}
