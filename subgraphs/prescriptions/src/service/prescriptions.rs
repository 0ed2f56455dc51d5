//! A prescription's life up to its review: an upload link, submission to
//! a pharmacy, (re)assignment to another, and the pharmacist's decision.

use super::{audit, audit_prescription};
use crate::domain::{
    self, Review, ReviewInput, Status, UploadStatus, MAX_OPEN_UPLOADS, UPLOAD_URL_TTL_SECONDS,
};
use crate::events::publish;
use crate::store::{self, PrescriptionRow};
use crate::PrescriptionsState;
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::cause::Cause;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;

/// A one-time upload link.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub id: String,
    /// Where to `PUT` the file.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts an upload for customer `owner_id`: a one-time signed URL, valid
/// for ten minutes; too many unfinished uploads are RATE_LIMITED.
pub async fn create_upload(
    state: &PrescriptionsState,
    owner_id: &str,
    cause: &Cause,
) -> ApiResult<NewUpload> {
    let now = Utc::now();
    if store::count_open_uploads(&state.store, owner_id, now).await? >= MAX_OPEN_UPLOADS {
        return Err(ApiError::client(
            ErrorCode::RateLimited,
            "too many unfinished uploads; use one or wait for them to expire",
        ));
    }
    let expires = now.timestamp() + UPLOAD_URL_TTL_SECONDS;
    let expires_at = DateTime::from_timestamp(expires, 0)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("expiry out of range")))?;
    let mut tx = state.store.begin().await?;
    let id = store::insert_upload(&mut tx, owner_id, expires_at).await?;
    let after = Some(json!({ "expiresAt": expires_at.to_rfc3339() }));
    audit(
        &mut tx,
        cause.actor(),
        "prescription_upload",
        &id,
        "created",
        None,
        after,
    )
    .await?;
    tx.commit().await?;
    let token = state.signer.upload_token(&id, expires);
    Ok(NewUpload {
        url: format!("{}/uploads/{id}?token={token}", state.public_url),
        id,
        expires_at,
    })
}

/// A validated submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub upload_id: String,
    pub patient_name: String,
    pub family_member_id: Option<String>,
    pub doctor_name: String,
    pub doctor_registration_number: Option<String>,
    pub issued_on: NaiveDate,
    /// The pharmacy to review it (or later, by assignment).
    pub vendor_id: Option<String>,
}

/// Submits customer `owner_id`'s uploaded document as a prescription for
/// review. A family member must be the customer's (asked of users).
pub async fn submit(
    state: &PrescriptionsState,
    owner_id: &str,
    submission: &Submission,
    cause: &Cause,
) -> ApiResult<PrescriptionRow> {
    if let Some(member) = &submission.family_member_id {
        let peers = &state.peers;
        if !peers
            .is_family_member(owner_id, member, cause.correlation())
            .await?
        {
            return Err(ApiError::bad_input(
                "familyMemberId is not one of your family members",
            ));
        }
    }
    let mut tx = state.store.begin().await?;
    let upload = store::upload_by_id(&mut tx, &submission.upload_id)
        .await?
        .filter(|u| u.owner_id == owner_id)
        .ok_or_else(|| ApiError::not_found("upload"))?;
    match upload.status {
        UploadStatus::Uploaded => {}
        UploadStatus::Used => return Err(ApiError::conflict("this upload was already submitted")),
        UploadStatus::Pending | UploadStatus::Receiving => {
            return Err(ApiError::bad_input(
                "upload the file to uploadUrl before submitting",
            ))
        }
    }
    if !store::use_upload(&mut tx, &submission.upload_id, owner_id).await? {
        return Err(ApiError::conflict("this upload was already submitted"));
    }
    let new = store::NewPrescription {
        owner_id,
        upload: &upload,
        patient_name: &submission.patient_name,
        family_member_id: submission.family_member_id.as_deref(),
        doctor_name: &submission.doctor_name,
        doctor_registration_number: submission.doctor_registration_number.as_deref(),
        issued_on: submission.issued_on,
        vendor_id: submission.vendor_id.as_deref(),
    };
    let row = new.insert(&mut tx).await?;
    let after = Some(json!({
        "status": row.status.as_db(),
        "uploadId": row.upload_id,
        "patientName": row.patient_name,
        "familyMemberId": row.family_member_id,
        "doctorName": row.doctor_name,
        "doctorRegistrationNumber": row.doctor_registration_number,
        "issuedOn": row.issued_on.to_db(),
        "vendorId": row.vendor_id,
        "document": {
            "contentType": row.document_content_type,
            "sizeBytes": row.document_size_bytes,
            "sha256": row.document_sha256,
        },
    }));
    audit_prescription(&mut tx, cause, &row.id, "submitted", None, after).await?;
    publish::prescription_submitted(&mut tx, &row, cause).await?;
    tx.commit().await?;
    Ok(row)
}

/// Submits customer `owner_id`'s prescription that awaits review to
/// pharmacy `vendor_id` (or moves it there).
pub async fn assign_pharmacy(
    state: &PrescriptionsState,
    owner_id: &str,
    id: &str,
    vendor_id: &str,
    cause: &Cause,
) -> ApiResult<PrescriptionRow> {
    let mut tx = state.store.begin().await?;
    let before = store::prescription_by_id(&mut tx, id)
        .await?
        .filter(|rx| rx.owner_id == owner_id)
        .ok_or_else(|| ApiError::not_found("prescription"))?;
    domain::check_reviewable(before.status(domain::today()))?;
    if !store::assign_pharmacy(&mut tx, id, owner_id, vendor_id).await? {
        return Err(ApiError::conflict(
            "this prescription was reviewed meanwhile",
        ));
    }
    let after = store::prescription_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("prescription"))?;
    let (audit_before, audit_after) = (
        Some(json!({ "vendorId": before.vendor_id })),
        Some(json!({ "vendorId": after.vendor_id })),
    );
    let action = "pharmacy_assigned";
    audit_prescription(&mut tx, cause, id, action, audit_before, audit_after).await?;
    publish::prescription_submitted(&mut tx, &after, cause).await?;
    tx.commit().await?;
    Ok(after)
}

/// A pharmacist's decision as sent (validated against the prescription).
#[derive(Debug, Clone)]
pub struct Decision {
    pub prescription_id: String,
    pub approve: bool,
    /// (medicine ID, maximum quantity) pairs.
    pub lines: Vec<(String, i64)>,
    pub valid_until: Option<NaiveDate>,
    pub notes: Option<String>,
    /// The prescriber's name as the pharmacist reads it (approvals; default:
    /// the doctor named at submission).
    pub prescriber_name: Option<String>,
    /// The prescriber's registration number (approvals; default: the one
    /// given at submission). An approval without one is refused.
    pub prescriber_registration: Option<String>,
}

/// Approves (with lines and validity) or rejects (with a reason) a
/// prescription submitted to pharmacy `vendor_id`, by its pharmacist
/// `reviewer_id`; never their own.
pub async fn review(
    state: &PrescriptionsState,
    reviewer_id: &str,
    vendor_id: &str,
    decision: &Decision,
    cause: &Cause,
) -> ApiResult<PrescriptionRow> {
    let id = decision.prescription_id.as_str();
    let today = domain::today();
    let mut tx = state.store.begin().await?;
    let before = store::prescription_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("prescription"))?;
    domain::check_review_pharmacy(vendor_id, before.vendor_id.as_deref())?;
    if before.owner_id == reviewer_id {
        return Err(ApiError::forbidden(
            "you cannot review your own prescription",
        ));
    }
    domain::check_reviewable(before.status(today))?;
    let review = domain::parse_review(
        ReviewInput {
            approve: decision.approve,
            lines: &decision.lines,
            valid_until: decision.valid_until,
            notes: decision.notes.as_deref(),
        },
        before.issued_on.0,
        today,
        state.validity_days,
    )?;
    let (status, valid_until, notes, approved) = match &review {
        Review::Approve {
            lines,
            valid_until,
            notes,
        } => (
            Status::Approved,
            Some(*valid_until),
            notes.as_deref(),
            lines.as_slice(),
        ),
        Review::Reject { reason } => (Status::Rejected, None, Some(reason.as_str()), &[][..]),
    };
    let prescriber = match status {
        Status::Approved => Some(domain::approval_prescriber(
            decision.prescriber_name.as_deref(),
            decision.prescriber_registration.as_deref(),
            &before.doctor_name,
            before.doctor_registration_number.as_deref(),
        )?),
        _ => None,
    };
    let record = store::ReviewRecord {
        status,
        valid_until,
        notes,
        reviewer_id,
        reviewer_vendor_id: vendor_id,
        prescriber: prescriber.as_ref().map(|(n, r)| (n.as_str(), r.as_str())),
    };
    if !store::record_review(&mut tx, id, &record).await? {
        return Err(ApiError::conflict(
            "this prescription was reviewed or moved to another pharmacy meanwhile",
        ));
    }
    store::insert_lines(&mut tx, id, approved).await?;
    let after = store::prescription_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("prescription"))?;
    let lines_json: Vec<_> = approved
        .iter()
        .map(|l| json!({ "medicineId": l.medicine_id, "maxQuantity": l.max_quantity }))
        .collect();
    let action = if status == Status::Approved {
        "approved"
    } else {
        "rejected"
    };
    let audit_before = Some(json!({ "status": before.status.as_db() }));
    let audit_after = Some(json!({
        "status": after.status.as_db(),
        "validUntil": after.valid_until.map(|d| d.to_db()),
        "notes": after.review_notes,
        "lines": lines_json,
        "pharmacistId": reviewer_id,
        "vendorId": vendor_id,
        "prescriberName": after.prescriber_name,
        "prescriberRegistration": after.prescriber_registration,
    }));
    audit_prescription(&mut tx, cause, id, action, audit_before, audit_after).await?;
    if status == Status::Approved {
        publish::prescription_approved(&mut tx, &after, approved, cause).await?;
    } else {
        publish::prescription_rejected(&mut tx, &after, cause).await?;
    }
    tx.commit().await?;
    Ok(after)
}
