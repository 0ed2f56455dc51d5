//! The prescriptions subgraph's GraphQL API: thin resolvers that validate
//! input with `domain`, authorise with the platform guards and the
//! prescription access rules (`domain::read_ground`: owner, the pharmacy it
//! was submitted to, a pharmacy dispensing against it, admins with a
//! reason), audit document reads, and persist through `store`.
//!
//! Entities: `Prescription` (owned, batched). Stubs of other subgraphs'
//! entities, referenced by ID: `User` (extended with `prescriptions`),
//! `Order` (extended with `prescriptions`), `Medicine` and `Vendor`.

use crate::dispensing::{self, DispenseRequest, LineDecision, OrderConsumption};
use crate::domain::{
    self, AccessAction, AccessFacts, Allocation, ReadGround, Refusal, Review, ReviewInput, Status,
    DOCUMENT_URL_TTL_SECONDS, MAX_DOCUMENT_BYTES, MAX_OPEN_UPLOADS, UPLOAD_URL_TTL_SECONDS,
};
use crate::events::correlation;
use crate::store::{
    self, LineRow, LoadedPrescription, OrderPrescription, PrescriptionRow, StatusFilter,
};
use crate::{audit, PrescriptionsState};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use chrono::Utc;
use janta_platform::auth::{principal, require_any_role, require_service_of, Principal, Role};
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_one, load_or_empty, BatchLoad};
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use std::collections::HashMap;

/// The prescriptions subgraph schema.
pub type PrescriptionsSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a PrescriptionsState {
    ctx.data_unchecked::<PrescriptionsState>()
}

fn facts(rx: &LoadedPrescription) -> AccessFacts<'_> {
    AccessFacts {
        owner_id: &rx.row.owner_id,
        pharmacy_id: rx.row.vendor_id.as_deref(),
        dispensing_vendors: &rx.dispensing_vendors,
    }
}

// ---------- enums ----------

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

/// A medicine's drug schedule, as the orders subgraph knows it from catalog.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DispenseSchedule {
    /// Over the counter: no prescription needed.
    #[graphql(name = "OTC")]
    Otc,
    /// Schedule H: prescription needed.
    H,
    /// Schedule H1: prescription needed (and a register kept by the pharmacy).
    H1,
    /// Schedule X: a prescription per order; it is spent entirely by one order.
    X,
}

/// Why a dispensing line is not covered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DispenseRefusal {
    /// No prescription was offered for a medicine that needs one.
    NoPrescription,
    /// None of the offered prescriptions lists this medicine.
    NotPrescribed,
    /// An offered prescription is unknown or not this customer's.
    NotCustomers,
    /// The prescription is awaiting review or was rejected.
    NotApproved,
    /// The prescription's validity has passed.
    Expired,
    /// Schedule X: the prescription was already used by another order.
    AlreadyUsed,
    /// Not enough approved quantity is left.
    InsufficientQuantity,
}

impl From<Refusal> for DispenseRefusal {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoPrescription => DispenseRefusal::NoPrescription,
            Refusal::NotPrescribed => DispenseRefusal::NotPrescribed,
            Refusal::NotCustomers => DispenseRefusal::NotCustomers,
            Refusal::NotApproved => DispenseRefusal::NotApproved,
            Refusal::Expired => DispenseRefusal::Expired,
            Refusal::AlreadyUsed => DispenseRefusal::AlreadyUsed,
            Refusal::InsufficientQuantity => DispenseRefusal::InsufficientQuantity,
        }
    }
}

/// Whether an order's consumption stands or was given back.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConsumptionStatus {
    /// The order holds these quantities.
    Consumed,
    /// The order was cancelled and the quantities returned.
    Restored,
}

// ---------- stubs of other subgraphs' entities ----------

/// A medicine of the catalog subgraph, referenced by ID.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Medicine", unresolvable)]
pub struct MedicineRef {
    /// Catalog medicine ID.
    pub id: ID,
}

/// A vendor of the users subgraph, referenced by ID.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Vendor", unresolvable)]
pub struct VendorRef {
    /// Vendor ID.
    pub id: ID,
}

/// A user of the users subgraph, extended here with their prescriptions.
pub struct UserRef {
    id: String,
}

/// A user account (defined by the users subgraph).
#[Object(name = "User")]
impl UserRef {
    /// User ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The user's prescriptions, newest first (the user themself only;
    /// admins read one prescription at a time, with a reason, through
    /// `prescription(id, reason)`).
    async fn prescriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only prescriptions in this status")] status: Option<PrescriptionStatus>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Prescription>> {
        let viewer = principal(ctx)?;
        if viewer.subject != self.id {
            return Err(ApiError::forbidden("you can only list your own prescriptions").into());
        }
        Ok(owned_page(ctx, &self.id, status, first, after).await?)
    }
}

/// An order of the orders subgraph, extended here with the prescriptions it used.
pub struct OrderRef {
    id: String,
}

/// A customer's order (defined by the orders subgraph).
#[Object(name = "Order")]
impl OrderRef {
    /// Order ID.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The prescriptions this order consumed approved quantities from
    /// (empty until the order is paid). Each is listed only to those who
    /// may read it: the customer, the pharmacy it was submitted to, staff of
    /// a pharmacy dispensing against it (this order's, while it holds
    /// quantities) and services; admins use `prescription(id, reason)`.
    async fn prescriptions(&self, ctx: &Context<'_>) -> Result<Vec<Prescription>> {
        let viewer = principal(ctx)?;
        let links = load_or_empty::<OrderPrescriptionsLoader, _, _>(ctx, self.id.clone()).await?;
        Ok(links
            .into_iter()
            .filter(|l| domain::read_ground(viewer, &facts(&l.prescription), None).is_ok())
            .map(|l| Prescription::from(l.prescription))
            .collect())
    }
}

// ---------- prescriptions ----------

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
    /// The date the doctor issued it.
    async fn issued_on(&self) -> Result<Date> {
        Ok(Date::from_db(&self.0.issued_on).map_err(ApiError::from)?)
    }
    /// When the customer submitted it.
    async fn submitted_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.submitted_at).map_err(ApiError::from)?)
    }
    /// Last day (inclusive, Indian date) orders may use it; set on approval.
    async fn valid_until(&self) -> Option<Date> {
        self.0.valid_until_date().map(Date)
    }
    /// When a pharmacist reviewed it.
    async fn reviewed_at(&self) -> Result<Option<DateTime>> {
        Ok(self
            .0
            .reviewed_at
            .as_deref()
            .map(DateTime::from_db)
            .transpose()
            .map_err(ApiError::from)?)
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
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<PrescriptionLine>> {
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

fn clamp(v: i64) -> i32 {
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

/// On what ground someone read a prescription.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrescriptionReadGround {
    /// Its customer.
    Owner,
    /// A pharmacist of the pharmacy it was submitted to.
    Pharmacy,
    /// Staff of a pharmacy whose order dispenses against it.
    DispensingPharmacy,
    /// A platform admin, with a reason.
    Audit,
}

impl From<ReadGround> for PrescriptionReadGround {
    fn from(g: ReadGround) -> Self {
        match g {
            ReadGround::Owner => PrescriptionReadGround::Owner,
            ReadGround::Pharmacy => PrescriptionReadGround::Pharmacy,
            ReadGround::DispensingPharmacy => PrescriptionReadGround::DispensingPharmacy,
            ReadGround::Audit => PrescriptionReadGround::Audit,
        }
    }
}

/// What someone did with a prescription, as its access log shows.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrescriptionAccessAction {
    /// A platform admin read the record.
    ReadForAudit,
    /// A document link was handed out.
    DocumentLinkIssued,
    /// The document was downloaded through a link.
    DocumentDownloaded,
}

impl From<AccessAction> for PrescriptionAccessAction {
    fn from(a: AccessAction) -> Self {
        match a {
            AccessAction::ReadForAudit => PrescriptionAccessAction::ReadForAudit,
            AccessAction::DocumentLinkIssued => PrescriptionAccessAction::DocumentLinkIssued,
            AccessAction::DocumentDownloaded => PrescriptionAccessAction::DocumentDownloaded,
        }
    }
}

/// One read of a prescription or its document, from the audit trail.
#[derive(SimpleObject)]
pub struct PrescriptionAccess {
    /// Who read it (user ID).
    pub actor: ID,
    /// What they did.
    pub action: PrescriptionAccessAction,
    /// On what ground they were let in.
    pub ground: Option<PrescriptionReadGround>,
    /// The reason they gave (required of admins).
    pub reason: Option<String>,
    /// When.
    pub at: DateTime,
}

impl PrescriptionAccess {
    /// An access-log entry from its audit row (`None` for other actions).
    fn from_row(row: store::AccessRow) -> ApiResult<Option<Self>> {
        let Some(action) = AccessAction::from_db(&row.action) else {
            return Ok(None);
        };
        let after: serde_json::Value = row
            .after_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| ApiError::Internal(e.into()))?
            .unwrap_or_default();
        Ok(Some(PrescriptionAccess {
            actor: ID(row.actor),
            action: action.into(),
            ground: after["ground"]
                .as_str()
                .and_then(ReadGround::from_db)
                .map(Into::into),
            reason: after["reason"].as_str().map(str::to_string),
            at: DateTime::from_db(&row.at)?,
        }))
    }
}

/// Whether a dispensing request is covered, line by line.
#[derive(SimpleObject)]
pub struct DispenseAuthorization {
    /// True when every line is covered.
    pub covered: bool,
    /// One answer per request line, in request order.
    pub lines: Vec<DispenseLineDecision>,
}

/// The answer for one dispensing line.
#[derive(SimpleObject)]
pub struct DispenseLineDecision {
    /// The line's medicine.
    pub medicine_id: ID,
    /// The line's quantity.
    pub quantity: i32,
    /// Whether it may be dispensed.
    pub covered: bool,
    /// The prescription that covers it (null for OTC lines and refusals).
    pub prescription_id: Option<ID>,
    /// True when a schedule X line spends that whole prescription on this order.
    pub whole_prescription: bool,
    /// Why not, when not covered.
    pub reason: Option<DispenseRefusal>,
    /// A sentence for the customer, when not covered.
    pub message: Option<String>,
}

impl From<LineDecision> for DispenseLineDecision {
    fn from(d: LineDecision) -> Self {
        let base = DispenseLineDecision {
            medicine_id: ID(d.medicine_id),
            quantity: clamp(d.quantity),
            covered: true,
            prescription_id: None,
            whole_prescription: false,
            reason: None,
            message: None,
        };
        match d.allocation {
            Allocation::NotRequired => base,
            Allocation::Covered {
                prescription_id,
                whole_prescription,
                ..
            } => DispenseLineDecision {
                prescription_id: Some(ID(prescription_id)),
                whole_prescription,
                ..base
            },
            Allocation::Refused(reason) => DispenseLineDecision {
                covered: false,
                reason: Some(reason.into()),
                message: Some(reason.message().to_string()),
                ..base
            },
        }
    }
}

/// What an order consumed from prescriptions (or gave back).
#[derive(SimpleObject)]
pub struct PrescriptionConsumption {
    /// The order.
    pub order_id: ID,
    /// The order's customer (null when restored before anything was consumed).
    pub customer_id: Option<ID>,
    /// Consumed, or restored after cancellation.
    pub status: ConsumptionStatus,
    /// Quantities per prescription line.
    pub lines: Vec<ConsumedLine>,
}

/// A quantity one order consumed from one prescription line.
#[derive(SimpleObject)]
pub struct ConsumedLine {
    /// The prescription.
    pub prescription_id: ID,
    /// The medicine.
    pub medicine_id: ID,
    /// How much.
    pub quantity: i32,
    /// True when a schedule X medicine spent the whole prescription.
    pub whole_prescription: bool,
}

impl From<OrderConsumption> for PrescriptionConsumption {
    fn from(c: OrderConsumption) -> Self {
        PrescriptionConsumption {
            order_id: ID(c.order_id),
            customer_id: c.customer_id.map(ID),
            status: if c.restored {
                ConsumptionStatus::Restored
            } else {
                ConsumptionStatus::Consumed
            },
            lines: c
                .lines
                .into_iter()
                .map(|l| ConsumedLine {
                    prescription_id: ID(l.prescription_id),
                    medicine_id: ID(l.medicine_id),
                    quantity: clamp(l.quantity),
                    whole_prescription: l.whole_prescription != 0,
                })
                .collect(),
        }
    }
}

// ---------- loaders ----------

/// Loads prescriptions by ID, with their lines and dispensing pharmacies,
/// in three statements per batch.
pub struct PrescriptionLoader;

impl BatchLoad<String> for PrescriptionLoader {
    type Value = LoadedPrescription;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, LoadedPrescription>> {
        let mut conn = store.pool().acquire().await?;
        let loaded = store::load_prescriptions(&mut conn, keys).await?;
        Ok(keyed(loaded, |rx| rx.row.id.clone()))
    }
}

/// Loads the lines of many prescriptions in one statement per batch.
pub struct LinesLoader;

impl BatchLoad<String> for LinesLoader {
    type Value = Vec<LineRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<LineRow>>> {
        let mut conn = store.pool().acquire().await?;
        let rows = store::lines_of(&mut conn, keys).await?;
        Ok(grouped(rows, |r| r.prescription_id.clone()))
    }
}

/// Loads the prescriptions of many orders in four statements per batch.
pub struct OrderPrescriptionsLoader;

impl BatchLoad<String> for OrderPrescriptionsLoader {
    type Value = Vec<OrderPrescription>;

    async fn load(
        store: &Store,
        keys: &[String],
    ) -> sqlx::Result<HashMap<String, Vec<OrderPrescription>>> {
        let rows = store::prescriptions_of_orders(store, keys).await?;
        Ok(grouped(rows, |r| r.order_id.clone()))
    }
}

async fn load_prescription(ctx: &Context<'_>, id: &str) -> ApiResult<Option<LoadedPrescription>> {
    load_one::<PrescriptionLoader, _>(ctx, id.to_string()).await
}

/// The prescription `id`, or `NOT_FOUND`.
async fn existing(ctx: &Context<'_>, id: &str) -> ApiResult<LoadedPrescription> {
    load_prescription(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("prescription"))
}

/// Records in the audit trail that an admin read prescription `id`, and why.
async fn audit_admin_read(
    ctx: &Context<'_>,
    admin: &Principal,
    id: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    let mut tx = state(ctx).store.begin().await?;
    let after = json!({ "ground": ReadGround::Audit.as_db(), "reason": reason });
    audit(
        &mut tx,
        &admin.subject,
        "prescription",
        id,
        AccessAction::ReadForAudit.as_db(),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn owned_page(
    ctx: &Context<'_>,
    owner_id: &str,
    status: Option<PrescriptionStatus>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Prescription>> {
    let page = PageRequest::new(first, after)?;
    let filter = status.map_or(StatusFilter::Any, |s| StatusFilter::Only(s.into()));
    let (rows, total) =
        store::list_owned(&state(ctx).store, owner_id, filter, domain::today(), &page).await?;
    Ok(connection(&page, rows, total))
}

fn connection(
    page: &PageRequest,
    rows: Vec<PrescriptionRow>,
    total: i64,
) -> CountedConnection<Prescription> {
    let nodes = rows.into_iter().map(|r| Prescription(r, None)).collect();
    build_connection(page, nodes, total, |p| Cursor {
        key: p.0.submitted_at.clone(),
        id: p.0.id.clone(),
    })
}

/// `BAD_USER_INPUT` unless `family_member_id` is one of `owner_id`'s family
/// members (asked of users, which owns them).
async fn check_family_member(
    ctx: &Context<'_>,
    owner_id: &str,
    family_member_id: &str,
) -> ApiResult<()> {
    let peers = &state(ctx).peers;
    if peers
        .is_family_member(owner_id, family_member_id, correlation(ctx))
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "familyMemberId is not one of your family members",
        ))
    }
}

/// Validates the service-facing dispensing arguments.
fn dispense_request(
    customer_id: &ID,
    prescription_ids: &[ID],
    lines: &[DispenseLineInput],
) -> ApiResult<DispenseRequest> {
    let ids: Vec<String> = prescription_ids.iter().map(|i| i.0.clone()).collect();
    let raw: Vec<dispensing::RawLine> = lines
        .iter()
        .map(|l| {
            (
                l.medicine_id.0.clone(),
                i64::from(l.quantity),
                l.schedule == DispenseSchedule::X,
                l.schedule != DispenseSchedule::Otc,
            )
        })
        .collect();
    DispenseRequest::parse(customer_id, &ids, &raw)
}

// ---------- queries ----------

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// A prescription: for its customer, the pharmacists of the pharmacy it
    /// was submitted to, staff of a pharmacy dispensing against it, and
    /// platform admins with a `reason` (recorded in the audit trail).
    async fn prescription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] id: ID,
        #[graphql(
            desc = "Why you read it: required for platform admins (10 to 500 characters), recorded in the audit trail"
        )]
        reason: Option<String>,
    ) -> Result<Prescription> {
        let viewer = principal(ctx)?;
        let reason = domain::parse_reason(reason.as_deref())?;
        let id = parse_id(&id, "id")?;
        let rx = existing(ctx, &id).await?;
        let ground = domain::read_ground(viewer, &facts(&rx), reason.as_deref())?;
        if ground == ReadGround::Audit {
            audit_admin_read(ctx, viewer, &id, reason.as_deref()).await?;
        }
        Ok(rx.into())
    }

    /// Your prescriptions, newest first.
    async fn my_prescriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only prescriptions in this status")] status: Option<PrescriptionStatus>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Prescription>> {
        let me = principal(ctx)?;
        Ok(owned_page(ctx, &me.subject, status, first, after).await?)
    }

    /// The review queue of your pharmacy: prescriptions submitted to it and
    /// awaiting review, oldest first, never your own. Pharmacists only.
    async fn prescriptions_to_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Prescription>> {
        let me = principal(ctx)?;
        let vendor_id = domain::reviewer_vendor(me)?;
        let page = PageRequest::new(first, after)?;
        let (rows, total) = store::list_queue(&state(ctx).store, &me.subject, vendor_id, &page)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(&page, rows, total))
    }

    /// A short-lived, single-use signed link to a prescription's document,
    /// for whoever may read the prescription (see `prescription`; admins
    /// with a `reason`). Handing out the link and the download are both
    /// recorded in the audit trail.
    async fn prescription_document_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] id: ID,
        #[graphql(
            desc = "Why you open it: required for platform admins (10 to 500 characters), recorded in the audit trail"
        )]
        reason: Option<String>,
    ) -> Result<DocumentUrl> {
        let viewer = principal(ctx)?;
        let reason = domain::parse_reason(reason.as_deref())?;
        let id = parse_id(&id, "id")?;
        let rx = existing(ctx, &id).await?;
        let ground = domain::read_ground(viewer, &facts(&rx), reason.as_deref())?;
        let st = state(ctx);
        let expires = Utc::now().timestamp() + DOCUMENT_URL_TTL_SECONDS;
        let expires_at = chrono::DateTime::from_timestamp(expires, 0)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("expiry out of range")))?;
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        let link = store::insert_document_link(
            &mut tx,
            &store::NewDocumentLink {
                prescription_id: &id,
                actor: &viewer.subject,
                ground: ground.as_db(),
                reason: reason.as_deref(),
                expires_at,
            },
        )
        .await
        .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &viewer.subject,
            "prescription",
            &id,
            AccessAction::DocumentLinkIssued.as_db(),
            None,
            Some(json!({
                "ground": ground.as_db(),
                "reason": reason,
                "linkId": link,
                "expiresAt": expires_at.to_rfc3339(),
            })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        let sig = st.signer.document_sig(&id, &link, expires);
        Ok(DocumentUrl {
            url: format!(
                "{}/documents/{id}?link={link}&expires={expires}&sig={sig}",
                st.public_url
            ),
            expires_at: DateTime(expires_at),
            content_type: rx.row.document_content_type,
        })
    }

    /// Who read a prescription or opened its document, on what ground and
    /// why, newest first: for its customer and platform admins.
    async fn prescription_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] prescription_id: ID,
        #[graphql(desc = "How many of the newest entries (at most 500, default 100)")]
        limit: Option<i32>,
    ) -> Result<Vec<PrescriptionAccess>> {
        let viewer = principal(ctx)?;
        let id = parse_id(&prescription_id, "prescriptionId")?;
        let limit = domain::access_log_limit(limit)?;
        let rx = existing(ctx, &id).await?;
        domain::check_access_log_reader(viewer, &rx.row.owner_id)?;
        let actions = AccessAction::ALL.map(AccessAction::as_db);
        let rows = store::access_log(&state(ctx).store, &id, &actions, limit)
            .await
            .map_err(ApiError::from)?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            entries.extend(PrescriptionAccess::from_row(row)?);
        }
        Ok(entries)
    }

    /// Service only (orders): whether the customer's offered prescriptions
    /// cover each line now — approved, unexpired, theirs, with enough left.
    /// Changes nothing; `consume` does.
    #[graphql(inaccessible)]
    async fn authorize_dispense(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer the order is for")] customer_id: ID,
        #[graphql(desc = "Prescriptions the customer offered for this order")]
        prescription_ids: Vec<ID>,
        #[graphql(desc = "The order's lines")] lines: Vec<DispenseLineInput>,
    ) -> Result<DispenseAuthorization> {
        require_service_of(ctx, &["orders"])?;
        let request = dispense_request(&customer_id, &prescription_ids, &lines)?;
        let decisions = dispensing::authorize(&state(ctx).store, &request).await?;
        let lines: Vec<DispenseLineDecision> = decisions.into_iter().map(Into::into).collect();
        Ok(DispenseAuthorization {
            covered: lines.iter().all(|l| l.covered),
            lines,
        })
    }

    /// Resolves `Prescription` references from other subgraphs (batched;
    /// same access rules as `prescription`, without a reason: admins read
    /// through `prescription(id, reason)`).
    #[graphql(entity)]
    async fn find_prescription_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<Prescription>> {
        let viewer = principal(ctx)?;
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        let Some(rx) = load_prescription(ctx, &id).await? else {
            return Ok(None);
        };
        domain::read_ground(viewer, &facts(&rx), None)?;
        Ok(Some(rx.into()))
    }

    /// Resolves `User` references to add their `prescriptions`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> UserRef {
        UserRef { id: id.0 }
    }

    /// Resolves `Order` references to add their `prescriptions`.
    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> OrderRef {
        OrderRef { id: id.0 }
    }
}

// ---------- inputs ----------

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
}

/// One approved medicine.
#[derive(InputObject)]
pub struct ApprovedLineInput {
    /// Catalog medicine ID.
    pub medicine_id: ID,
    /// Most that orders may consume in total (at least 1).
    pub max_quantity: i32,
}

/// One order line to authorise or consume.
#[derive(InputObject)]
pub struct DispenseLineInput {
    /// Catalog medicine ID.
    pub medicine_id: ID,
    /// Quantity ordered.
    pub quantity: i32,
    /// The medicine's schedule (OTC lines need no prescription; X needs one per order).
    pub schedule: DispenseSchedule,
}

// ---------- mutations ----------

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
