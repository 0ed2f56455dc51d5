//! A prescription, its document and approved lines, and the inputs that
//! submit and review it.

use crate::domain::{self, Status};
use crate::schema::{LinesLoader, MedicineRef, UserRef, VendorRef};
use crate::store::{LineRow, LoadedPrescription, PrescriptionRow};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use janta_platform::loader::load_or_empty;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::ApiResult;

/// Where a prescription is in its life.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrescriptionStatus {
    /// Waiting for a pharmacist's review.
    Submitted,
    /// Approved with lines; orders may use it until `validUntil`.
    Approved,
    /// Refused by a pharmacist (see `reviewNotes` for why).
    Rejected,
    /// Was approved, but `validUntil` has passed.
    Expired,
}

impl From<Status> for PrescriptionStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Submitted => PrescriptionStatus::Submitted,
            Status::Approved => PrescriptionStatus::Approved,
            Status::Rejected => PrescriptionStatus::Rejected,
            Status::Expired => PrescriptionStatus::Expired,
        }
    }
}

impl From<PrescriptionStatus> for Status {
    fn from(s: PrescriptionStatus) -> Self {
        match s {
            PrescriptionStatus::Submitted => Status::Submitted,
            PrescriptionStatus::Approved => Status::Approved,
            PrescriptionStatus::Rejected => Status::Rejected,
            PrescriptionStatus::Expired => Status::Expired,
        }
    }
}

/// A pharmacist's decision on a submitted prescription.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Approve the given lines until `validUntil`.
    Approve,
    /// Refuse; `notes` says why.
    Reject,
}

/// A customer's prescription: the uploaded document, who it is for, who
/// wrote it, and what a pharmacist approved.
/// The approved lines travel along when the loader fetched them with the
/// prescription (entity batches), so nested `lines` need no second round.
pub struct Prescription(pub PrescriptionRow, pub Option<Vec<LineRow>>);

impl From<LoadedPrescription> for Prescription {
    fn from(rx: LoadedPrescription) -> Self {
        Prescription(rx.row, Some(rx.lines))
    }
}

/// A prescription.
#[Object]
impl Prescription {
    /// Prescription ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Current status (an approved prescription past `validUntil` is `EXPIRED`).
    async fn status(&self) -> PrescriptionStatus {
        self.0.status(domain::today()).into()
    }
    /// The customer who submitted it.
    async fn owner(&self) -> UserRef {
        UserRef {
            id: self.0.owner_id.clone(),
        }
    }
    /// Name of the patient: the customer or one of their family members.
    async fn patient_name(&self) -> &str {
        &self.0.patient_name
    }
    /// The family member it is for (users subgraph ID); null when for the customer.
    async fn family_member_id(&self) -> Option<ID> {
        self.0.family_member_id.clone().map(ID)
    }
    /// Name of the prescribing doctor.
    async fn doctor_name(&self) -> &str {
        &self.0.doctor_name
    }
    /// The doctor's medical council registration number, if given.
    async fn doctor_registration_number(&self) -> Option<&str> {
        self.0.doctor_registration_number.as_deref()
    }
    /// The prescriber (doctor) as the reviewing pharmacist confirmed it on
    /// approval; before that, the doctor the customer named.
    async fn prescriber_name(&self) -> &str {
        self.0
            .prescriber_name
            .as_deref()
            .unwrap_or(&self.0.doctor_name)
    }
    /// The prescriber's medical council registration number, as confirmed
    /// on approval (required for schedule H and H1); before that, as the
    /// customer gave it, if at all.
    async fn prescriber_registration(&self) -> Option<&str> {
        self.0
            .prescriber_registration
            .as_deref()
            .or(self.0.doctor_registration_number.as_deref())
    }
    /// The date the doctor issued it.
    async fn issued_on(&self) -> Date {
        self.0.issued_on
    }
    /// When the customer submitted it.
    async fn submitted_at(&self) -> DateTime {
        self.0.submitted_at
    }
    /// Last day (inclusive, Indian date) orders may use it; set on approval.
    async fn valid_until(&self) -> Option<Date> {
        self.0.valid_until
    }
    /// When a pharmacist reviewed it.
    async fn reviewed_at(&self) -> Option<DateTime> {
        self.0.reviewed_at
    }
    /// The pharmacist's notes; for a rejection, the reason.
    async fn review_notes(&self) -> Option<&str> {
        self.0.review_notes.as_deref()
    }
    /// The pharmacy (vendor) it is submitted to: only its pharmacists see it
    /// in their queue and review it. Null until the customer picks one
    /// (`assignPrescriptionPharmacy`).
    async fn pharmacy(&self) -> Option<VendorRef> {
        self.0.vendor_id.clone().map(|id| VendorRef { id: ID(id) })
    }
    /// The vendor whose pharmacist reviewed it.
    async fn reviewing_vendor(&self) -> Option<VendorRef> {
        self.0
            .reviewer_vendor_id
            .clone()
            .map(|id| VendorRef { id: ID(id) })
    }
    /// The pharmacist who reviewed it.
    async fn reviewed_by(&self) -> Option<UserRef> {
        self.0.reviewer_id.clone().map(|id| UserRef { id })
    }
    /// Facts about the uploaded document (fetch it with `prescriptionDocumentUrl`).
    async fn document(&self) -> PrescriptionDocument {
        PrescriptionDocument {
            content_type: self.0.document_content_type.clone(),
            size_bytes: i32::try_from(self.0.document_size_bytes).unwrap_or(i32::MAX),
            sha256: self.0.document_sha256.clone(),
        }
    }
    /// What the pharmacist approved, in the order given (empty until approved).
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<PrescriptionLine>> {
        if let Some(lines) = &self.1 {
            return Ok(lines.iter().cloned().map(PrescriptionLine).collect());
        }
        let rows = load_or_empty::<LinesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(PrescriptionLine).collect())
    }
}

/// Facts about a prescription's stored document.
#[derive(SimpleObject)]
pub struct PrescriptionDocument {
    /// `application/pdf`, `image/jpeg` or `image/png` (recognised from the content).
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i32,
    /// SHA-256 of the bytes, hex; proves the document was not altered.
    pub sha256: String,
}

/// An approved medicine and how much of it orders may dispense.
pub struct PrescriptionLine(LineRow);

/// An approved line of a prescription.
#[Object]
impl PrescriptionLine {
    /// Line ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The approved medicine (catalog).
    async fn medicine(&self) -> MedicineRef {
        MedicineRef {
            id: ID(self.0.medicine_id.clone()),
        }
    }
    /// Most that orders may consume in total.
    async fn max_quantity(&self) -> i32 {
        clamp(self.0.max_quantity)
    }
    /// Consumed by orders so far.
    async fn consumed_quantity(&self) -> i32 {
        clamp(self.0.consumed)
    }
    /// Still available to orders.
    async fn remaining_quantity(&self) -> i32 {
        clamp(self.0.max_quantity - self.0.consumed)
    }
}

pub(in crate::schema) fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Where to `PUT` a prescription file, once, before it expires.
#[derive(SimpleObject)]
pub struct PrescriptionUpload {
    /// Pass this to `submitPrescription` after the upload.
    pub upload_id: ID,
    /// One-time signed URL on the prescriptions subgraph: `PUT` the file's
    /// bytes here with its `Content-Type` (plain HTTP, not GraphQL).
    pub upload_url: String,
    /// When the URL stops working.
    pub expires_at: DateTime,
    /// Largest accepted file, in bytes.
    pub max_bytes: i32,
    /// Accepted types (checked against the file's content).
    pub accepted_content_types: Vec<String>,
}

/// A short-lived link to a prescription's document.
#[derive(SimpleObject)]
pub struct DocumentUrl {
    /// Signed `GET` URL of the document on the prescriptions subgraph.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime,
    /// The document's type.
    pub content_type: String,
}

/// A submitted prescription's details (the file was uploaded first).
#[derive(InputObject)]
pub struct SubmitPrescriptionInput {
    /// From `createPrescriptionUpload`, after the file was `PUT`.
    pub upload_id: ID,
    /// Name of the patient as written on the prescription.
    pub patient_name: String,
    /// The family member it is for (users subgraph ID, one of yours); omit
    /// when it is for you.
    pub family_member_id: Option<ID>,
    /// Name of the prescribing doctor.
    pub doctor_name: String,
    /// The doctor's medical council registration number.
    pub doctor_registration_number: Option<String>,
    /// The date the doctor issued it (not in the future, at most 6 months ago).
    pub issued_on: Date,
    /// The pharmacy (vendor) to review it: only its pharmacists see it.
    /// Omit to choose later with `assignPrescriptionPharmacy`; until then no
    /// pharmacist sees it.
    pub vendor_id: Option<ID>,
}

/// A pharmacist's review.
#[derive(InputObject)]
pub struct ReviewPrescriptionInput {
    /// The prescription to review.
    pub prescription_id: ID,
    /// Approve or reject.
    pub decision: ReviewDecision,
    /// Approved medicines and maximum quantities (APPROVE: at least one).
    pub lines: Option<Vec<ApprovedLineInput>>,
    /// Last day orders may use it (APPROVE; default: the validity policy,
    /// 30 days from issue). Not in the past.
    pub valid_until: Option<Date>,
    /// Notes; for REJECT, the reason the customer is told (required).
    pub notes: Option<String>,
    /// APPROVE: the prescriber's name as written on the prescription
    /// (default: the doctor named at submission).
    pub prescriber_name: Option<String>,
    /// APPROVE: the prescriber's medical council registration number
    /// (default: the one given at submission). Required for an approval:
    /// schedule H and H1 medicines are dispensed only against a named,
    /// registered prescriber.
    pub prescriber_registration: Option<String>,
}

/// One approved medicine.
#[derive(InputObject)]
pub struct ApprovedLineInput {
    /// Catalog medicine ID.
    pub medicine_id: ID,
    /// Most that orders may consume in total (at least 1).
    pub max_quantity: i32,
}
