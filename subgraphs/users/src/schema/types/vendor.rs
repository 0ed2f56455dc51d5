//! The vendor side of the schema: pharmacies, their branches and their
//! pharmacist appointments.

use crate::domain;
use crate::schema::loaders::{
    load_user, load_vendor, BranchLoader, BranchesLoader, LicencesLoader,
};
use crate::schema::{DrugLicence, User};
use crate::store::{AppointmentRow, BranchRow, VendorRow};
use async_graphql::{Context, Enum, Object, ID};
use janta_platform::auth::{optional_principal, principal};
use janta_platform::loader::{load_one, load_or_empty};
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};

/// A pharmacy business on the marketplace.
pub struct Vendor(pub(in crate::schema) VendorRow);

/// A licensed pharmacy (vendor).
#[Object]
impl Vendor {
    /// Vendor ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Trading name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Registered legal name.
    async fn legal_name(&self) -> &str {
        &self.0.legal_name
    }
    /// GST identification number.
    async fn gstin(&self) -> &str {
        &self.0.gstin
    }
    /// Drug licence number (Form 20/21).
    async fn drug_licence_number(&self) -> &str {
        &self.0.drug_licence_number
    }
    /// State of registration (ISO 3166-2:IN code); decides GST split.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// Whether the platform has verified its licences (KYC).
    async fn verified(&self) -> bool {
        self.0.verified_at.is_some()
    }
    /// Whether an admin has suspended it (it does not sell until reinstated).
    async fn suspended(&self) -> bool {
        self.0.suspended_at.is_some()
    }
    /// Whether it may sell: only a verified vendor that is not suspended is `ACTIVE`.
    async fn status(&self) -> VendorStatus {
        match (&self.0.verified_at, &self.0.suspended_at) {
            (_, Some(_)) => VendorStatus::Suspended,
            (None, None) => VendorStatus::PendingVerification,
            (Some(_), None) => VendorStatus::Active,
        }
    }
    /// Why it was suspended (admins and the vendor's own staff only).
    async fn suspension_reason(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let viewer = principal(ctx)?;
        if !(viewer.is_admin() || viewer.is_staff_of(&self.0.id)) {
            return Err(ApiError::forbidden(
                "only admins and this vendor's staff can see this",
            ));
        }
        Ok(self.0.suspension_reason.as_deref())
    }
    /// Premises the vendor sells from, oldest first.
    async fn branches(&self, ctx: &Context<'_>) -> ApiResult<Vec<Branch>> {
        let rows = load_or_empty::<BranchesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(Branch).collect())
    }
    /// The branch orders ship from by default (its GSTIN and invoice series
    /// go on the invoices); null until the vendor has a shipping branch.
    async fn shipping_branch(&self, ctx: &Context<'_>) -> ApiResult<Option<Branch>> {
        let Some(id) = self.0.shipping_branch_id.clone() else {
            return Ok(None);
        };
        Ok(load_one::<BranchLoader, _>(ctx, id).await?.map(Branch))
    }
    /// Its retail drug licences (Form 20 and Form 21), every record newest
    /// first: renewals are new records, the latest of a form is in force.
    async fn drug_licences(&self, ctx: &Context<'_>) -> ApiResult<Vec<DrugLicence>> {
        let rows = load_or_empty::<LicencesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(DrugLicence).collect())
    }
}

/// Whether a vendor may sell.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VendorStatus {
    /// Registered; the platform has not checked its licences yet.
    PendingVerification,
    /// Verified and not suspended: its listings are sold.
    Active,
    /// Suspended by an admin: its listings are not sold until reinstated.
    Suspended,
}

/// A vendor's premises.
pub struct Branch(pub(in crate::schema) BranchRow);

/// A branch of a vendor.
#[Object]
impl Branch {
    /// Branch ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Branch name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Street address.
    async fn line1(&self) -> &str {
        &self.0.line1
    }
    /// City.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// State code.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// PIN code.
    async fn pincode(&self) -> &str {
        &self.0.pincode
    }
    /// GSTIN of the branch's state (every shipping branch has one; it goes
    /// on the invoices of orders shipped from here).
    async fn gstin(&self) -> Option<&str> {
        self.0.gstin.as_deref()
    }
    /// Whether orders ship from this branch.
    async fn ships(&self) -> bool {
        self.0.ships
    }
    /// The series its invoices are numbered in: state code and the
    /// branch's ordinal among the vendor's branches in that state, e.g.
    /// "KA01". Assigned when the branch is added; never changes.
    async fn invoice_series(&self) -> &str {
        &self.0.invoice_series
    }
}

/// Where a pharmacist appointment stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::AppointmentStatus")]
pub enum PharmacistAppointmentStatus {
    /// Proposed by the vendor; waits for a platform admin.
    Pending,
    /// Verified by a platform admin: the person acts as the vendor's pharmacist.
    Verified,
    /// Refused by a platform admin.
    Rejected,
    /// Was verified, then withdrawn by an admin.
    Revoked,
}

/// A proposal that a person act as a vendor's pharmacist.
pub struct PharmacistAppointment(pub(in crate::schema) AppointmentRow);

/// A pharmacist appointment: proposed by a vendor admin with the person's
/// State Pharmacy Council registration, verified or rejected by a platform
/// admin. Visible to admins and the vendor's admins.
#[Object]
impl PharmacistAppointment {
    /// Appointment ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The pharmacy.
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Vendor> {
        Ok(Vendor(
            load_vendor(ctx, &ID(self.0.vendor_id.clone())).await?,
        ))
    }
    /// The person proposed as pharmacist.
    async fn pharmacist(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let row = load_user(ctx, &self.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(User::for_viewer(row, optional_principal(ctx)))
    }
    /// The user ID of the person proposed.
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.clone())
    }
    /// The person's full name (whoever may read the appointment may read
    /// the name: admins, the vendor's admins, the orders service).
    async fn full_name(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let row = load_user(ctx, &self.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(row.full_name)
    }
    /// When a platform admin verified it; null unless verified.
    async fn verified_at(&self) -> Option<DateTime> {
        let verified = self.0.status == domain::AppointmentStatus::Verified;
        self.0.decided_at.filter(|_| verified).map(DateTime)
    }
    /// State code of the State Pharmacy Council the person is registered with.
    async fn council(&self) -> &str {
        &self.0.council
    }
    /// The council's registration number.
    async fn registration_number(&self) -> &str {
        &self.0.registration_number
    }
    /// Where it stands.
    async fn status(&self) -> PharmacistAppointmentStatus {
        self.0.status.into()
    }
    /// Who proposed it (user ID of a vendor admin or admin).
    async fn proposed_by(&self) -> ID {
        ID(self.0.proposed_by.clone())
    }
    /// When it was proposed.
    async fn proposed_at(&self) -> DateTime {
        DateTime(self.0.proposed_at)
    }
    /// The platform admin who verified, rejected or revoked it.
    async fn decided_by(&self) -> Option<ID> {
        self.0.decided_by.clone().map(ID)
    }
    /// When that was.
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(DateTime)
    }
    /// Why it was rejected or revoked.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
}
