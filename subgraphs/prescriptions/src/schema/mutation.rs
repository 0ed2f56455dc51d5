//! Write operations: uploads, submission, pharmacy assignment, review and
//! the orders subgraph's consumption of approved quantities. Each resolver
//! parses its arguments, authorises, and calls one use case of
//! [`crate::service`].

use super::{
    clamp, dispense_request, state, DispenseLineInput, Prescription, PrescriptionConsumption,
    PrescriptionUpload, ReviewDecision, ReviewPrescriptionInput, SubmitPrescriptionInput,
};
use crate::domain::{self, MAX_DOCUMENT_BYTES};
use crate::service::dispensing;
use crate::service::prescriptions::{self, Decision, Submission};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, require_any_role, require_service_of, Role};
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::scalars::DateTime;
use janta_platform::ApiResult;

/// Write operations.
#[derive(Default)]
pub struct PrescriptionMutation;

#[Object]
impl PrescriptionMutation {
    /// Starts a prescription upload: returns a one-time URL, valid for 10
    /// minutes, to `PUT` the file to (PDF, JPEG or PNG, at most 10 MB).
    async fn create_prescription_upload(&self, ctx: &Context<'_>) -> ApiResult<PrescriptionUpload> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let cause = Cause::of_request(ctx);
        let upload = prescriptions::create_upload(state(ctx), &me.subject, &cause).await?;
        Ok(PrescriptionUpload {
            upload_url: upload.url,
            upload_id: ID(upload.id),
            expires_at: DateTime(upload.expires_at),
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
    ) -> ApiResult<Prescription> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let submission = Submission {
            upload_id: parse_id(&input.upload_id, "uploadId")?,
            patient_name: domain::parse_name(&input.patient_name, "patientName")?,
            family_member_id: input
                .family_member_id
                .as_ref()
                .map(|id| parse_id(id, "familyMemberId"))
                .transpose()?,
            doctor_name: domain::parse_name(&input.doctor_name, "doctorName")?,
            doctor_registration_number: input
                .doctor_registration_number
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(domain::parse_registration_number)
                .transpose()?,
            issued_on: input.issued_on.0,
            vendor_id: input
                .vendor_id
                .as_ref()
                .map(|id| parse_id(id, "vendorId"))
                .transpose()?,
        };
        domain::check_issued_on(submission.issued_on, domain::today())?;
        let cause = Cause::of_request(ctx);
        let row = prescriptions::submit(state(ctx), &me.subject, &submission, &cause).await?;
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
    ) -> ApiResult<Prescription> {
        let me = require_any_role(ctx, &[Role::Customer])?;
        let id = parse_id(&prescription_id, "prescriptionId")?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let cause = Cause::of_request(ctx);
        let row = prescriptions::assign_pharmacy(state(ctx), &me.subject, &id, &vendor_id, &cause)
            .await?;
        Ok(Prescription(row, None))
    }

    /// Approves (with lines and validity) or rejects (with a reason) a
    /// prescription submitted to your pharmacy. Its pharmacists only; never
    /// your own. An approval needs the prescriber's name and medical council
    /// registration number (given here or at submission): `BAD_USER_INPUT`
    /// otherwise.
    async fn review_prescription(
        &self,
        ctx: &Context<'_>,
        input: ReviewPrescriptionInput,
    ) -> ApiResult<Prescription> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let vendor_id = domain::reviewer_vendor(me)?;
        let decision = Decision {
            prescription_id: parse_id(&input.prescription_id, "prescriptionId")?,
            approve: input.decision == ReviewDecision::Approve,
            lines: input
                .lines
                .unwrap_or_default()
                .into_iter()
                .map(|l| (l.medicine_id.0, i64::from(l.max_quantity)))
                .collect(),
            valid_until: input.valid_until.map(|d| d.0),
            notes: input.notes,
            prescriber_name: input.prescriber_name,
            prescriber_registration: input.prescriber_registration,
        };
        let cause = Cause::of_request(ctx);
        let row =
            prescriptions::review(state(ctx), &me.subject, vendor_id, &decision, &cause).await?;
        Ok(Prescription(row, None))
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
    ) -> ApiResult<PrescriptionConsumption> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let vendor_id = vendor_id
            .as_ref()
            .map(|v| parse_id(v, "vendorId"))
            .transpose()?;
        let request = dispense_request(&customer_id, &prescription_ids, &lines)?;
        let cause = Cause::of_request(ctx);
        let store = &state(ctx).store;
        let vendor = vendor_id.as_deref();
        let result = dispensing::consume(store, &order_id, &request, vendor, &cause).await?;
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
    ) -> ApiResult<PrescriptionConsumption> {
        require_service_of(ctx, &["orders"])?;
        let order_id = parse_id(&order_id, "orderId")?;
        let cause = Cause::of_request(ctx);
        let result = dispensing::restore(&state(ctx).store, &order_id, &cause).await?;
        Ok(result.into())
    }
}
