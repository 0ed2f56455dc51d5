//! Events the prescriptions subgraph publishes (through its outbox, typed
//! payloads from `janta_events::types`): `PrescriptionSubmitted`,
//! `PrescriptionApproved` and `PrescriptionRejected`. Each carries the
//! customer's ID so notifications can tell them, and the pharmacy's
//! (`vendor_id`).

use crate::domain::ApprovedLine;
use crate::store::PrescriptionRow;
use janta_events::publish;
use janta_events::types::{
    ApprovedLine as EventLine, PrescriptionApproved, PrescriptionRejected, PrescriptionSubmitted,
};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

/// A customer submitted a prescription, or submitted it to a (new)
/// pharmacy: that pharmacy's pharmacists have work (`vendor_id`; none yet
/// when the customer has not picked one).
pub async fn prescription_submitted(
    conn: &mut AnyConnection,
    rx: &PrescriptionRow,
    cause: &Cause,
) -> ApiResult<()> {
    let event = PrescriptionSubmitted {
        prescription_id: rx.id.clone(),
        customer_id: rx.owner_id.clone(),
        family_member_id: rx.family_member_id.clone(),
        vendor_id: rx.vendor_id.clone(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A pharmacist approved a prescription; the customer can order.
pub async fn prescription_approved(
    conn: &mut AnyConnection,
    rx: &PrescriptionRow,
    lines: &[ApprovedLine],
    cause: &Cause,
) -> ApiResult<()> {
    let event = PrescriptionApproved {
        prescription_id: rx.id.clone(),
        customer_id: rx.owner_id.clone(),
        reviewer_id: rx.reviewer_id.clone().unwrap_or_default(),
        vendor_id: rx.reviewer_vendor_id.clone(),
        valid_until: rx.valid_until.map(|d| d.to_db()).unwrap_or_default(),
        lines: lines
            .iter()
            .map(|l| EventLine {
                medicine_id: l.medicine_id.clone(),
                max_quantity: l.max_quantity,
            })
            .collect(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A pharmacist rejected a prescription; the customer is told why.
pub async fn prescription_rejected(
    conn: &mut AnyConnection,
    rx: &PrescriptionRow,
    cause: &Cause,
) -> ApiResult<()> {
    let event = PrescriptionRejected {
        prescription_id: rx.id.clone(),
        customer_id: rx.owner_id.clone(),
        reviewer_id: rx.reviewer_id.clone().unwrap_or_default(),
        vendor_id: rx.reviewer_vendor_id.clone(),
        reason: rx.review_notes.clone().unwrap_or_default(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}
