//! Write operations: uploads, submission, pharmacy assignment, review and
//! the orders subgraph's consumption of approved quantities.

use super::{
    check_family_member, clamp, dispense_request, state, DispenseLineInput, Prescription,
    PrescriptionConsumption, PrescriptionUpload, ReviewDecision, ReviewPrescriptionInput,
    SubmitPrescriptionInput,
};
use crate::audit;
use crate::dispensing;
use crate::domain::{
    self, Review, ReviewInput, Status, MAX_DOCUMENT_BYTES, MAX_OPEN_UPLOADS, UPLOAD_URL_TTL_SECONDS,
};
use crate::store;
use async_graphql::{Context, Object, Result, ID};
use chrono::Utc;
use janta_platform::auth::{principal, require_any_role, require_service_of, Role};
use janta_platform::ids::parse_id;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ErrorCode};
use serde_json::json;

/// Write operations.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Starts a prescription upload: returns a one-time URL, valid for 10
    /// minutes, to `PUT` the file to (PDF, JPEG or PNG, at most 10 MB).
    async fn create_prescription_upload(&self, ctx: &Context<'_>) -> Result<PrescriptionUpload> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let st = state(ctx);
        let now = Utc::now();
        let open = store::count_open_uploads(&st.store, &me.subject, now)
            .await
            .map_err(ApiError::from)?;
        if open >= MAX_OPEN_UPLOADS {
            return Err(ApiError::client(
                ErrorCode::RateLimited,
                "too many unfinished uploads; use one or wait for them to expire",
            )
            .into());
        }
        let expires = now.timestamp() + UPLOAD_URL_TTL_SECONDS;
        let expires_at = chrono::DateTime::from_timestamp(expires, 0)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("expiry out of range")))?;
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let id = store::insert_upload(&mut tx, &me.subject, expires_at)
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "prescription_upload",
            &id,
            "created",
            None,
            Some(json!({ "expiresAt": expires_at.to_rfc3339() })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        let token = st.signer.upload_token(&id, expires);
        Ok(PrescriptionUpload {
            upload_url: format!("{}/uploads/{id}?token={token}", st.public_url),
            upload_id: ID(id),
            expires_at: DateTime(expires_at),
            max_bytes: clamp(MAX_DOCUMENT_BYTES as i64),
            accepted_content_types: ["application/pdf", "image/jpeg", "image/png"]
                .map(String::from)
                .to_vec(),
        })
    }

    /// Submits an uploaded prescription for review by the pharmacists of
    /// one pharmacy (`vendorId`, or later `assignPrescriptionPharmacy`).
    /// A `familyMemberId` must be one of yours (`BAD_USER_INPUT` otherwise).
    async fn submit_prescription(
        &self,
        ctx: &Context<'_>,
        input: SubmitPrescriptionInput,
    ) -> Result<Prescription> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let upload_id = parse_id(&input.upload_id, "uploadId")?;
        let patient_name = domain::parse_name(&input.patient_name, "patientName")?;
        let family_member_id = input
            .family_member_id
            .as_ref()
            .map(|id| parse_id(id, "familyMemberId"))
            .transpose()?;
        let doctor_name = domain::parse_name(&input.doctor_name, "doctorName")?;
        let registration = input
            .doctor_registration_number
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(domain::parse_registration_number)
            .transpose()?;
        domain::check_issued_on(input.issued_on.0, domain::today())?;
        let vendor_id = input
            .vendor_id
            .as_ref()
            .map(|id| parse_id(id, "vendorId"))
            .transpose()?;
        if let Some(member) = &family_member_id {
            check_family_member(ctx, &me.subject, member).await?;
        }
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let upload = store::upload_by_id(&mut tx, &upload_id)
            .await
            .map_err(ApiError::from)?
            .filter(|u| u.owner_id == me.subject)
            .ok_or_else(|| ApiError::not_found("upload"))?;
        match upload.status.as_str() {
            "UPLOADED" => {}
            "USED" => {
                return Err(ApiError::conflict("this upload was already submitted").into());
            }
            _ => {
                return Err(
                    ApiError::bad_input("upload the file to uploadUrl before submitting").into(),
                );
            }
        }
        if !store::use_upload(&mut tx, &upload_id, &me.subject)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::conflict("this upload was already submitted").into());
        }
        let row = store::insert_prescription(
            &mut tx,
            store::NewPrescription {
                owner_id: &me.subject,
                upload: &upload,
                patient_name: &patient_name,
                family_member_id: family_member_id.as_deref(),
                doctor_name: &doctor_name,
                doctor_registration_number: registration.as_deref(),
                issued_on: input.issued_on.0,
                vendor_id: vendor_id.as_deref(),
            },
        )
        .await
        .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "prescription",
            &row.id,
            "submitted",
            None,
            Some(json!({
                "status": row.status,
                "uploadId": row.upload_id,
                "patientName": row.patient_name,
                "familyMemberId": row.family_member_id,
                "doctorName": row.doctor_name,
                "doctorRegistrationNumber": row.doctor_registration_number,
                "issuedOn": row.issued_on,
                "vendorId": row.vendor_id,
                "document": {
                    "contentType": row.document_content_type,
                    "sizeBytes": row.document_size_bytes,
                    "sha256": row.document_sha256,
                },
            })),
        )
        .await?;
        crate::events::prescription_submitted(&mut tx, &row, ctx).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Prescription(row, None))
    }

    /// Submits your prescription that awaits review to a pharmacy (or
    /// moves it to another one): from then on only that pharmacy's
    /// pharmacists see it in their queue and review it.
    async fn assign_prescription_pharmacy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your prescription, still awaiting review")] prescription_id: ID,
        #[graphql(desc = "The pharmacy (vendor) to review it")] vendor_id: ID,
    ) -> Result<Prescription> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let id = parse_id(&prescription_id, "prescriptionId")?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let before = store::prescription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .filter(|rx| rx.owner_id == me.subject)
            .ok_or_else(|| ApiError::not_found("prescription"))?;
        domain::check_reviewable(before.status(domain::today()))?;
        if !store::assign_pharmacy(&mut tx, &id, &me.subject, &vendor_id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::conflict("this prescription was reviewed meanwhile").into());
        }
        let after = store::prescription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("prescription"))?;
        audit(
            &mut tx,
            &me.subject,
            "prescription",
            &id,
            "pharmacy_assigned",
            Some(json!({ "vendorId": before.vendor_id })),
            Some(json!({ "vendorId": after.vendor_id })),
        )
        .await?;
        crate::events::prescription_submitted(&mut tx, &after, ctx).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Prescription(after, None))
    }

    /// Approves (with lines and validity) or rejects (with a reason) a
    /// prescription submitted to your pharmacy. Its pharmacists only; never
    /// your own.
    async fn review_prescription(
        &self,
        ctx: &Context<'_>,
        input: ReviewPrescriptionInput,
    ) -> Result<Prescription> {
        let me = principal(ctx)?;
        let vendor_id = domain::reviewer_vendor(me)?;
        let id = parse_id(&input.prescription_id, "prescriptionId")?;
        let st = state(ctx);
        let today = domain::today();
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let before = store::prescription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("prescription"))?;
        domain::check_review_pharmacy(vendor_id, before.vendor_id.as_deref())?;
        if before.owner_id == me.subject {
            return Err(ApiError::forbidden("you cannot review your own prescription").into());
        }
        domain::check_reviewable(before.status(today))?;
        let lines: Vec<(String, i64)> = input
            .lines
            .unwrap_or_default()
            .into_iter()
            .map(|l| (l.medicine_id.0, i64::from(l.max_quantity)))
            .collect();
        let review = domain::parse_review(
            ReviewInput {
                approve: input.decision == ReviewDecision::Approve,
                lines: &lines,
                valid_until: input.valid_until.map(|d| d.0),
                notes: input.notes.as_deref(),
            },
            before.issued_on_date().map_err(ApiError::from)?,
            today,
            st.validity_days,
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
        let recorded = store::record_review(
            &mut tx,
            &id,
            &store::ReviewRecord {
                status,
                valid_until,
                notes,
                reviewer_id: &me.subject,
                reviewer_vendor_id: vendor_id,
            },
        )
        .await
        .map_err(ApiError::from)?;
        if !recorded {
            return Err(ApiError::conflict(
                "this prescription was reviewed or moved to another pharmacy meanwhile",
            )
            .into());
        }
        store::insert_lines(&mut tx, &id, approved)
            .await
            .map_err(ApiError::from)?;
        let after = store::prescription_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("prescription"))?;
        let lines_json = json!(approved
            .iter()
            .map(|l| json!({ "medicineId": l.medicine_id, "maxQuantity": l.max_quantity }))
            .collect::<Vec<_>>());
        audit(
            &mut tx,
            &me.subject,
            "prescription",
            &id,
            if status == Status::Approved {
                "approved"
            } else {
                "rejected"
            },
            Some(json!({ "status": before.status })),
            Some(json!({
                "status": after.status,
                "validUntil": after.valid_until,
                "notes": after.review_notes,
                "lines": lines_json,
                "pharmacistId": me.subject,
                "vendorId": vendor_id,
            })),
        )
        .await?;
        if status == Status::Approved {
            crate::events::prescription_approved(&mut tx, &after, approved, ctx).await?;
        } else {
            crate::events::prescription_rejected(&mut tx, &after, ctx).await?;
        }
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Prescription(after, None))
    }

    /// Service only (orders, when an order is paid): consumes the order's
    /// quantities from the customer's prescriptions, all or nothing.
    /// Idempotent per `orderId`: repeating it returns the first result.
    /// Uncovered lines fail with `PRESCRIPTION_REQUIRED` (details per line);
    /// an order already restored fails with `CONFLICT`.
    #[graphql(inaccessible)]
    async fn consume(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order consuming (idempotency key)")] order_id: ID,
        #[graphql(desc = "The order's customer")] customer_id: ID,
        #[graphql(desc = "Prescriptions the customer offered for this order")]
        prescription_ids: Vec<ID>,
        #[graphql(desc = "The order's lines")] lines: Vec<DispenseLineInput>,
        #[graphql(
            desc = "The vendor fulfilling the order (its staff may then see the prescriptions on the order)"
        )]
        vendor_id: Option<ID>,
    ) -> Result<PrescriptionConsumption> {
        let service = require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let vendor_id = vendor_id
            .as_ref()
            .map(|v| parse_id(v, "vendorId"))
            .transpose()?;
        let request = dispense_request(&customer_id, &prescription_ids, &lines)?;
        let result = dispensing::consume(
            &state(ctx).store,
            &order_id,
            &request,
            vendor_id.as_deref(),
            &service.subject,
        )
        .await?;
        Ok(result.into())
    }

    /// Service only (orders, when an order is cancelled): gives back what
    /// the order consumed. Idempotent; restoring an order that never
    /// consumed records that, so a late `consume` for it is refused.
    #[graphql(inaccessible)]
    async fn restore(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The cancelled order")] order_id: ID,
    ) -> Result<PrescriptionConsumption> {
        let service = require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let result = dispensing::restore(&state(ctx).store, &order_id, &service.subject).await?;
        Ok(result.into())
    }
}
