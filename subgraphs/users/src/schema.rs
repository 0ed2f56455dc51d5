//! The users subgraph's GraphQL API: thin resolvers that validate input with
//! `domain`, authorise with the platform guards and persist through `store`.

use crate::domain::{self, Email, Password, PharmacistRegistration, Phone, Visibility};
use crate::registration::Registration;
use crate::staff::{self, Decision};
use crate::store::{
    self, AddressFields, AddressRow, AppointmentRow, BranchRow, FamilyMemberRow, UserRow, VendorRow,
};
use crate::{audit, UsersState};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use janta_platform::auth::{
    optional_principal, principal, require_admin, require_service_of, Principal, Role,
};
use janta_platform::ids::parse_id;
use janta_platform::loader::{grouped, keyed, load_many, load_one, load_or_empty, BatchLoad};
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// The users subgraph schema.
pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a UsersState {
    ctx.data_unchecked::<UsersState>()
}

/// A person with an account: customer, pharmacist, vendor admin or admin.
/// What a viewer sees depends on who they are ([`domain::visibility`]):
/// contact details and addresses only the person and admins; the name also
/// active vendor staff and services; anonymous callers and other customers
/// nothing but the ID. A user nobody may see is never loaded (`row` is None).
pub struct User {
    id: String,
    row: Option<UserRow>,
    visibility: Visibility,
}

impl User {
    fn for_viewer(row: UserRow, viewer: Option<&Principal>) -> Self {
        let visibility = domain::visibility(viewer, &row.id);
        User {
            id: row.id.clone(),
            row: Some(row),
            visibility,
        }
    }

    /// The user as seen by themselves (all fields visible).
    pub fn own_account(row: UserRow) -> Self {
        User {
            id: row.id.clone(),
            row: Some(row),
            visibility: Visibility::Private,
        }
    }

    /// A reference the viewer may see nothing of: answers only its ID, so
    /// it does not even tell whether the account exists.
    fn hidden(id: String) -> Self {
        User {
            id,
            row: None,
            visibility: Visibility::None,
        }
    }

    /// The account, when the viewer may see at least `needed` of it.
    fn visible(&self, needed: Visibility) -> Result<&UserRow> {
        match &self.row {
            Some(row) if self.visibility >= needed => Ok(row),
            _ => Err(ApiError::forbidden("you may not see this of this user").into()),
        }
    }
}

/// A user account.
#[Object]
impl User {
    /// Stable ID (UUID).
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// Login e-mail (self and admins only).
    async fn email(&self) -> Result<&str> {
        Ok(self.visible(Visibility::Private)?.email.as_str())
    }
    /// Mobile number in E.164 form (self and admins only).
    async fn phone(&self) -> Result<Option<&str>> {
        Ok(self.visible(Visibility::Private)?.phone.as_deref())
    }
    /// Name as shown to pharmacists and on invoices (self, admins, active
    /// vendor staff and services).
    async fn full_name(&self) -> Result<&str> {
        Ok(self.visible(Visibility::Name)?.full_name.as_str())
    }
    /// Roles in effect (self and admins only). PHARMACIST appears
    /// only once a platform admin verified the appointment.
    async fn roles(&self) -> Result<Vec<Role>> {
        Ok(self.visible(Visibility::Private)?.roles())
    }
    /// The vendor a staff member works for (as visible as the name).
    async fn vendor(&self, ctx: &Context<'_>) -> Result<Option<Vendor>> {
        match &self.visible(Visibility::Name)?.vendor_id {
            Some(id) => Ok(Some(Vendor(load_vendor(ctx, &ID(id.clone())).await?))),
            None => Ok(None),
        }
    }
    /// Saved delivery addresses, default first (self and admins only).
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<Address>> {
        let row = self.visible(Visibility::Private)?;
        let rows = store::addresses_of(&state(ctx).store, &row.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Address).collect())
    }
    /// Dependents this customer buys for (self and admins only).
    async fn family_members(&self, ctx: &Context<'_>) -> Result<Vec<FamilyMember>> {
        let row = self.visible(Visibility::Private)?;
        let rows = store::family_of(&state(ctx).store, &row.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(FamilyMember).collect())
    }
    /// When the account was created (self and admins only).
    async fn created_at(&self) -> Result<DateTime> {
        let row = self.visible(Visibility::Private)?;
        Ok(DateTime::from_db(&row.created_at).map_err(ApiError::from)?)
    }
}

/// A delivery address of a user.
pub struct Address(AddressRow);

/// A delivery address.
#[Object]
impl Address {
    /// Address ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The user the address belongs to (addresses are visible only to their
    /// owner, admins and services, so this reveals nothing new).
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.clone())
    }
    /// Optional label such as "Home".
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    /// First line (house, street).
    async fn line1(&self) -> &str {
        &self.0.line1
    }
    /// Second line (area, landmark).
    async fn line2(&self) -> Option<&str> {
        self.0.line2.as_deref()
    }
    /// City.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// ISO 3166-2:IN state code, e.g. "KA"; decides CGST+SGST versus IGST.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// Six-digit PIN code.
    async fn pincode(&self) -> &str {
        &self.0.pincode
    }
    /// Whether this is the user's default delivery address.
    async fn is_default(&self) -> bool {
        self.0.is_default != 0
    }
}

/// How a dependent is related to the customer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Husband or wife.
    Spouse,
    /// Son or daughter.
    Child,
    /// Mother or father.
    Parent,
    /// Brother or sister.
    Sibling,
    /// Anyone else in the customer's care.
    Other,
}

impl Relation {
    fn as_db(self) -> &'static str {
        match self {
            Relation::Spouse => "SPOUSE",
            Relation::Child => "CHILD",
            Relation::Parent => "PARENT",
            Relation::Sibling => "SIBLING",
            Relation::Other => "OTHER",
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            "SPOUSE" => Relation::Spouse,
            "CHILD" => Relation::Child,
            "PARENT" => Relation::Parent,
            "SIBLING" => Relation::Sibling,
            _ => Relation::Other,
        }
    }
}

/// A dependent a customer buys medicines for (a prescription's patient).
pub struct FamilyMember(FamilyMemberRow);

/// A family member.
#[Object]
impl FamilyMember {
    /// Family member ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Full name.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    /// Relation to the customer.
    async fn relation(&self) -> Relation {
        Relation::from_db(&self.0.relation)
    }
    /// Date of birth, if given.
    async fn date_of_birth(&self) -> Option<Date> {
        self.0
            .date_of_birth
            .as_deref()
            .and_then(|d| Date::from_db(d).ok())
    }
}

/// A pharmacy business on the marketplace.
pub struct Vendor(VendorRow);

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
    async fn suspension_reason(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let viewer = principal(ctx)?;
        if !(viewer.is_admin() || viewer.is_staff_of(&self.0.id)) {
            return Err(
                ApiError::forbidden("only admins and this vendor's staff can see this").into(),
            );
        }
        Ok(self.0.suspension_reason.as_deref())
    }
    /// Premises the vendor sells from.
    async fn branches(&self, ctx: &Context<'_>) -> Result<Vec<Branch>> {
        let rows = load_or_empty::<BranchesLoader, _, _>(ctx, self.0.id.clone()).await?;
        Ok(rows.into_iter().map(Branch).collect())
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
pub struct Branch(BranchRow);

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
pub struct PharmacistAppointment(AppointmentRow);

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
    async fn vendor(&self, ctx: &Context<'_>) -> Result<Vendor> {
        Ok(Vendor(
            load_vendor(ctx, &ID(self.0.vendor_id.clone())).await?,
        ))
    }
    /// The person proposed as pharmacist.
    async fn pharmacist(&self, ctx: &Context<'_>) -> Result<User> {
        let row = load_user(ctx, &self.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(User::for_viewer(row, optional_principal(ctx)))
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
    async fn status(&self) -> Result<PharmacistAppointmentStatus> {
        domain::AppointmentStatus::from_db(&self.0.status)
            .map(Into::into)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown appointment status")).into())
    }
    /// Who proposed it (user ID of a vendor admin or admin).
    async fn proposed_by(&self) -> ID {
        ID(self.0.proposed_by.clone())
    }
    /// When it was proposed.
    async fn proposed_at(&self) -> Result<DateTime> {
        Ok(DateTime::from_db(&self.0.proposed_at).map_err(ApiError::from)?)
    }
    /// The platform admin who verified, rejected or revoked it.
    async fn decided_by(&self) -> Option<ID> {
        self.0.decided_by.clone().map(ID)
    }
    /// When that was.
    async fn decided_at(&self) -> Result<Option<DateTime>> {
        let at = self
            .0
            .decided_at
            .as_deref()
            .map(DateTime::from_db)
            .transpose();
        Ok(at.map_err(ApiError::from)?)
    }
    /// Why it was rejected or revoked.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
}

/// Tokens and the signed-in user, returned by register, login and refresh.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived access token (JWT); send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Single-use refresh token; exchange it with `refreshToken` before it expires.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime,
    /// The signed-in user.
    pub user: User,
}

/// How to reach a user, for the notifications service only (hidden from
/// the router like the field returning it).
#[derive(SimpleObject)]
#[graphql(inaccessible)]
pub struct ServiceContact {
    /// The user.
    pub user_id: ID,
    /// Login e-mail.
    pub email: String,
    /// Mobile number (E.164), if given.
    pub phone: Option<String>,
}

/// Loads users by ID in one statement per batch.
pub struct UserLoader;

impl BatchLoad<String> for UserLoader {
    type Value = UserRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, UserRow>> {
        let rows = store::users_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads vendors by ID in one statement per batch.
pub struct VendorLoader;

impl BatchLoad<String> for VendorLoader {
    type Value = VendorRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, VendorRow>> {
        let rows = store::vendors_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

/// Loads the branches of many vendors in one statement per batch.
pub struct BranchesLoader;

impl BatchLoad<String> for BranchesLoader {
    type Value = Vec<BranchRow>;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, Vec<BranchRow>>> {
        let rows = store::branches_of(store, keys).await?;
        Ok(grouped(rows, |r| r.vendor_id.clone()))
    }
}

/// Loads addresses by ID in one statement per batch.
pub struct AddressLoader;

impl BatchLoad<String> for AddressLoader {
    type Value = AddressRow;

    async fn load(store: &Store, keys: &[String]) -> sqlx::Result<HashMap<String, AddressRow>> {
        let rows = store::addresses_by_ids(store, keys).await?;
        Ok(keyed(rows, |r| r.id.clone()))
    }
}

async fn load_user(ctx: &Context<'_>, id: &str) -> ApiResult<Option<UserRow>> {
    load_one::<UserLoader, _>(ctx, id.to_string()).await
}

async fn load_vendor(ctx: &Context<'_>, id: &ID) -> ApiResult<VendorRow> {
    let id = parse_id(id, "vendor id")?;
    load_one::<VendorLoader, _>(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("vendor"))
}

/// Read operations.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let me = principal(ctx)?;
        let row = load_user(ctx, &me.subject)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
        Ok(User::own_account(row))
    }

    /// A user by ID: yourself, or anyone for admins.
    async fn user(&self, ctx: &Context<'_>, #[graphql(desc = "User ID")] id: ID) -> Result<User> {
        let viewer = principal(ctx)?;
        let id = parse_id(&id, "id")?;
        if !domain::can_view_private(viewer, &id) {
            return Err(ApiError::forbidden("you can only read your own account").into());
        }
        let row = load_user(ctx, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(User::for_viewer(row, Some(viewer)))
    }

    /// A vendor by ID (public: customers choose where to buy).
    async fn vendor(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Vendor ID")] id: ID,
    ) -> Result<Vendor> {
        Ok(Vendor(load_vendor(ctx, &id).await?))
    }

    /// All vendors by name, a page at a time.
    async fn vendors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<Vendor>> {
        let page = PageRequest::new(first, after)?;
        let (rows, total) = store::list_vendors(&state(ctx).store, &page)
            .await
            .map_err(ApiError::from)?;
        let nodes = rows.into_iter().map(Vendor).collect();
        Ok(build_connection(&page, nodes, total, |v| Cursor {
            key: v.0.name.clone(),
            id: v.0.id.clone(),
        }))
    }

    /// Resolves `User` references from other subgraphs (batched). A viewer
    /// who may see nothing of the user gets a reference that answers only
    /// its ID (every other field is FORBIDDEN), without a lookup.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        let viewer = optional_principal(ctx);
        if domain::visibility(viewer, &id) == Visibility::None {
            return Ok(Some(User::hidden(id)));
        }
        let row = load_user(ctx, &id).await?;
        Ok(row.map(|r| User::for_viewer(r, viewer)))
    }

    /// Resolves `Vendor` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_vendor_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Vendor>> {
        match load_vendor(ctx, &id).await {
            Ok(row) => Ok(Some(Vendor(row))),
            Err(e) if e.code() == janta_platform::ErrorCode::Internal => Err(e.into()),
            Err(_) => Ok(None),
        }
    }

    /// Resolves `Address` references (owner and admins only).
    #[graphql(entity)]
    async fn find_address_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Address>> {
        let viewer = principal(ctx)?;
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        let row = load_one::<AddressLoader, _>(ctx, id).await?;
        Ok(row
            .filter(|a| domain::can_view_private(viewer, &a.user_id))
            .map(Address))
    }

    /// An address with its owner, for another subgraph that must check whose
    /// it is and copy it (orders' checkout snapshots the delivery address).
    /// The orders service only (hidden from the router); null when there is
    /// no such address.
    #[graphql(inaccessible)]
    async fn address_for_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Address ID")] id: ID,
    ) -> Result<Option<Address>> {
        require_service_of(ctx, &["orders"])?;
        let id = parse_id(&id, "id")?;
        Ok(load_one::<AddressLoader, _>(ctx, id).await?.map(Address))
    }

    /// E-mail and phone of users, for the notifications subgraph to deliver
    /// e-mail and SMS (events carry no contact data). The notifications
    /// service only (hidden from the router); users that do not exist are
    /// left out; at most 100 IDs.
    #[graphql(inaccessible)]
    async fn contact_for_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "User IDs")] user_ids: Vec<ID>,
    ) -> Result<Vec<ServiceContact>> {
        require_service_of(ctx, &["notifications"])?;
        if user_ids.len() > 100 {
            return Err(ApiError::bad_input("at most 100 userIds at once").into());
        }
        let ids = user_ids
            .iter()
            .map(|id| parse_id(id, "userIds"))
            .collect::<ApiResult<Vec<_>>>()?;
        let rows = load_many::<UserLoader, _>(ctx, ids.clone()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| rows.get(id))
            .map(|row| ServiceContact {
                user_id: ID(row.id.clone()),
                email: row.email.clone(),
                phone: row.phone.clone(),
            })
            .collect())
    }

    /// Whether `familyMemberId` is a dependent of `userId`, so that another
    /// subgraph (prescriptions) can refuse a patient who is not the
    /// customer's. The prescriptions service only (hidden from the router).
    #[graphql(inaccessible)]
    async fn family_member_of_for_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer")] user_id: ID,
        #[graphql(desc = "The family member")] family_member_id: ID,
    ) -> Result<bool> {
        require_service_of(ctx, &["prescriptions"])?;
        let user_id = parse_id(&user_id, "userId")?;
        let member_id = parse_id(&family_member_id, "familyMemberId")?;
        let store = &state(ctx).store;
        Ok(store::is_family_member_of(store, &user_id, &member_id)
            .await
            .map_err(ApiError::from)?)
    }

    /// Pharmacist appointments, oldest proposal first: every vendor's for
    /// platform admins (to verify the pending ones), their own vendor's for
    /// vendor admins.
    async fn pharmacist_appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only appointments in this state")] status: Option<
            PharmacistAppointmentStatus,
        >,
        #[graphql(desc = "Only this vendor's (admins; vendor admins see their own)")]
        vendor_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> Result<CountedConnection<PharmacistAppointment>> {
        let viewer = principal(ctx)?;
        let vendor_id = vendor_id.map(|v| parse_id(&v, "vendorId")).transpose()?;
        let vendor_id = match (viewer.is_admin(), vendor_id) {
            (true, wanted) => wanted,
            (false, wanted) => {
                let own = viewer.vendor_id.clone().unwrap_or_default();
                require_vendor_admin_of(viewer, wanted.as_deref().unwrap_or(&own))?;
                Some(own)
            }
        };
        let page = PageRequest::new(first, after)?;
        let filter = store::AppointmentFilter {
            status: status.map(Into::into),
            vendor_id: vendor_id.as_deref(),
        };
        let (rows, total) = store::list_appointments(&state(ctx).store, &filter, &page)
            .await
            .map_err(ApiError::from)?;
        let nodes = rows.into_iter().map(PharmacistAppointment).collect();
        Ok(build_connection(&page, nodes, total, |a| Cursor {
            key: a.0.proposed_at.clone(),
            id: a.0.id.clone(),
        }))
    }
}

/// A vendor's proposal of a pharmacist.
#[derive(InputObject)]
pub struct ProposePharmacistInput {
    /// The pharmacy: your own when omitted; platform admins must name it.
    pub vendor_id: Option<ID>,
    /// Login e-mail of the person's existing account.
    pub email: String,
    /// Their State Pharmacy Council registration number.
    pub registration_number: String,
    /// State code of the council that registered them, e.g. "KA".
    pub council: String,
}

/// Sign-up details.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Login e-mail.
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// Full name.
    pub full_name: String,
    /// Mobile number in E.164 form, e.g. "+919876543210".
    pub phone: Option<String>,
}

/// A delivery address.
#[derive(InputObject)]
pub struct AddressInput {
    /// Optional label such as "Home".
    pub label: Option<String>,
    /// House and street.
    pub line1: String,
    /// Area or landmark.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// ISO 3166-2:IN state code such as "KA".
    pub state: String,
    /// Six-digit PIN code.
    pub pincode: String,
    /// Make this the default delivery address.
    pub is_default: Option<bool>,
}

/// Profile changes; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// New full name.
    pub full_name: Option<String>,
    /// New mobile number (E.164).
    pub phone: Option<String>,
}

/// A dependent to add.
#[derive(InputObject)]
pub struct FamilyMemberInput {
    /// Full name.
    pub full_name: String,
    /// Relation to you.
    pub relation: Relation,
    /// Date of birth.
    pub date_of_birth: Option<Date>,
}

/// A vendor's premises.
#[derive(InputObject)]
pub struct BranchInput {
    /// Branch name.
    pub name: String,
    /// Street address.
    pub line1: String,
    /// City.
    pub city: String,
    /// State code.
    pub state: String,
    /// PIN code.
    pub pincode: String,
}

/// A pharmacy joining the marketplace.
#[derive(InputObject)]
pub struct CreateVendorInput {
    /// Trading name.
    pub name: String,
    /// Registered legal name.
    pub legal_name: String,
    /// GSTIN.
    pub gstin: String,
    /// Drug licence number.
    pub drug_licence_number: String,
    /// State of registration (ISO 3166-2:IN code).
    pub state: String,
    /// The first branch.
    pub branch: BranchInput,
}

struct ValidAddress {
    label: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    pincode: String,
}

impl ValidAddress {
    fn parse(input: &AddressInput) -> ApiResult<Self> {
        Ok(ValidAddress {
            label: input
                .label
                .as_deref()
                .map(|l| domain::parse_text(l, "label", 1, 40))
                .transpose()?,
            line1: domain::parse_text(&input.line1, "line1", 3, 200)?,
            line2: input
                .line2
                .as_deref()
                .filter(|l| !l.trim().is_empty())
                .map(|l| domain::parse_text(l, "line2", 1, 200))
                .transpose()?,
            city: domain::parse_text(&input.city, "city", 2, 80)?,
            state: domain::parse_state(&input.state)?,
            pincode: domain::parse_pincode(&input.pincode)?,
        })
    }

    fn fields(&self) -> AddressFields<'_> {
        AddressFields {
            label: self.label.as_deref(),
            line1: &self.line1,
            line2: self.line2.as_deref(),
            city: &self.city,
            state: &self.state,
            pincode: &self.pincode,
        }
    }
}

fn json_of_user(row: &UserRow) -> serde_json::Value {
    serde_json::json!({ "roles": row.roles(), "vendorId": row.vendor_id })
}

/// Write operations.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a customer account and signs it in. An e-mail that already
    /// has an account gets the same kind of answer (its owner is told by
    /// e-mail instead), so registration does not reveal who has an account.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password)?;
        let full_name = domain::parse_person_name(&input.full_name, "fullName")?;
        let phone = input.phone.as_deref().map(Phone::parse).transpose()?;
        // Hashing is deliberately slow: keep it off the async workers.
        let password_hash = tokio::task::spawn_blocking(move || password.hash())
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(ApiError::from)?;
        let registration = Registration {
            email,
            phone,
            full_name,
            password_hash,
        };
        Ok(crate::registration::register(ctx, state(ctx), registration).await?)
    }

    /// Signs in with e-mail and password. Failures do not reveal whether the
    /// account exists. Failed attempts are throttled per account and per
    /// client address (`RATE_LIMITED` with `extensions.retryAfter` seconds),
    /// and a request may carry only one of `login`, `register` and
    /// `refreshToken`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthPayload> {
        let st = state(ctx);
        let client = ctx
            .data_opt::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None));
        Ok(st
            .sessions
            .login(&st.store, &email, &password, client)
            .await?)
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once;
    /// presenting a used one revokes every token of that sign-in.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let st = state(ctx);
        Ok(st.sessions.refresh(&st.store, &refresh_token).await?)
    }

    /// Signs out: revokes the refresh token and its whole family.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool> {
        let st = state(ctx);
        Ok(st.sessions.logout(&st.store, &refresh_token).await?)
    }

    /// Changes your name or phone number.
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<User> {
        let me = principal(ctx)?;
        let name = input
            .full_name
            .as_deref()
            .map(|n| domain::parse_person_name(n, "fullName"))
            .transpose()?;
        let phone = input.phone.as_deref().map(Phone::parse).transpose()?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        store::update_profile(
            &mut tx,
            &me.subject,
            name.as_deref(),
            phone.as_ref().map(Phone::as_str),
        )
        .await
        .map_err(ApiError::from)?;
        let row = store::user_by_id(&mut tx, &me.subject)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        audit(&mut tx, &me.subject, "user", &me.subject, "profile_updated", None,
              Some(serde_json::json!({ "fullNameChanged": name.is_some(), "phoneChanged": phone.is_some() }))).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(User::own_account(row))
    }

    /// Saves a delivery address; the first one becomes the default.
    async fn add_address(&self, ctx: &Context<'_>, input: AddressInput) -> Result<Address> {
        let me = principal(ctx)?;
        let valid = ValidAddress::parse(&input)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::insert_address(
            &mut tx,
            &me.subject,
            &valid.fields(),
            input.is_default.unwrap_or(false),
        )
        .await
        .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "address",
            &row.id,
            "added",
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Address(row))
    }

    /// Rewrites one of your addresses.
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AddressInput,
    ) -> Result<Address> {
        let me = principal(ctx)?;
        let valid = ValidAddress::parse(&input)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let id = own_address(&mut tx, me, &id).await?;
        store::update_address(&mut tx, &id, &valid.fields())
            .await
            .map_err(ApiError::from)?;
        if input.is_default == Some(true) {
            store::set_default_address(&mut tx, &me.subject, &id)
                .await
                .map_err(ApiError::from)?;
        }
        audit(&mut tx, &me.subject, "address", &id, "updated", None, None).await?;
        let row = store::address_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Address(row.ok_or_else(|| ApiError::not_found("address"))?))
    }

    /// Deletes one of your addresses (past orders keep their copy).
    async fn remove_address(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let me = principal(ctx)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let id = own_address(&mut tx, me, &id).await?;
        store::delete_address(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        audit(&mut tx, &me.subject, "address", &id, "removed", None, None).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(true)
    }

    /// Makes one of your addresses the default.
    async fn set_default_address(&self, ctx: &Context<'_>, id: ID) -> Result<Address> {
        let me = principal(ctx)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let id = own_address(&mut tx, me, &id).await?;
        store::set_default_address(&mut tx, &me.subject, &id)
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "address",
            &id,
            "made_default",
            None,
            None,
        )
        .await?;
        let row = store::address_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Address(row.ok_or_else(|| ApiError::not_found("address"))?))
    }

    /// Adds a dependent you buy medicines for.
    async fn add_family_member(
        &self,
        ctx: &Context<'_>,
        input: FamilyMemberInput,
    ) -> Result<FamilyMember> {
        let me = principal(ctx)?;
        let name = domain::parse_person_name(&input.full_name, "fullName")?;
        if input
            .date_of_birth
            .is_some_and(|d| d.0 > chrono::Utc::now().date_naive())
        {
            return Err(ApiError::bad_input("dateOfBirth cannot be in the future").into());
        }
        let dob = input.date_of_birth.map(Date::to_db);
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::insert_family_member(
            &mut tx,
            &me.subject,
            &name,
            input.relation.as_db(),
            dob.as_deref(),
        )
        .await
        .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "family_member",
            &row.id,
            "added",
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(FamilyMember(row))
    }

    /// Removes one of your dependents.
    async fn remove_family_member(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let me = principal(ctx)?;
        let id = parse_id(&id, "id")?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::family_member_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        if row.is_none_or(|m| m.user_id != me.subject) {
            return Err(ApiError::not_found("family member").into());
        }
        store::delete_family_member(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &me.subject,
            "family_member",
            &id,
            "removed",
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(true)
    }

    /// Registers a pharmacy (admin). It sells only once verified.
    async fn create_vendor(&self, ctx: &Context<'_>, input: CreateVendorInput) -> Result<Vendor> {
        let admin = require_admin(ctx)?;
        let name = domain::parse_text(&input.name, "name", 2, 120)?;
        let legal_name = domain::parse_text(&input.legal_name, "legalName", 2, 200)?;
        let gstin = domain::parse_gstin(&input.gstin)?;
        let licence = domain::parse_text(&input.drug_licence_number, "drugLicenceNumber", 4, 64)?;
        let vendor_state = domain::parse_state(&input.state)?;
        let branch = ValidAddress::parse(&AddressInput {
            label: None,
            line1: input.branch.line1.clone(),
            line2: None,
            city: input.branch.city.clone(),
            state: input.branch.state.clone(),
            pincode: input.branch.pincode.clone(),
            is_default: None,
        })?;
        let branch_name = domain::parse_text(&input.branch.name, "branch.name", 2, 120)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let vendor = store::insert_vendor(
            &mut tx,
            store::NewVendor {
                name: &name,
                legal_name: &legal_name,
                gstin: &gstin,
                drug_licence_number: &licence,
                state: &vendor_state,
            },
        )
        .await?;
        store::insert_branch(&mut tx, &vendor.id, &branch_name, &branch.fields())
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &admin.subject,
            "vendor",
            &vendor.id,
            "created",
            None,
            Some(serde_json::json!({ "name": name, "gstin": gstin, "state": vendor_state })),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Vendor(vendor))
    }

    /// Marks a vendor's licences as checked (admin).
    async fn verify_vendor(&self, ctx: &Context<'_>, id: ID) -> Result<Vendor> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        store::vendor_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("vendor"))?;
        if store::verify_vendor(&mut tx, &id)
            .await
            .map_err(ApiError::from)?
        {
            audit(
                &mut tx,
                &admin.subject,
                "vendor",
                &id,
                "verified",
                None,
                None,
            )
            .await?;
            crate::events::vendor_verified(&mut tx, &id, ctx).await?;
        }
        let row = store::vendor_by_id(&mut tx, &id)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Vendor(row.ok_or_else(|| ApiError::not_found("vendor"))?))
    }

    /// Adds a branch to a vendor (admin, or that vendor's admin).
    async fn add_vendor_branch(
        &self,
        ctx: &Context<'_>,
        vendor_id: ID,
        input: BranchInput,
    ) -> Result<Branch> {
        let actor = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        require_vendor_admin_of(actor, &vendor_id)?;
        let name = domain::parse_text(&input.name, "name", 2, 120)?;
        let address = ValidAddress::parse(&AddressInput {
            label: None,
            line1: input.line1,
            line2: None,
            city: input.city,
            state: input.state,
            pincode: input.pincode,
            is_default: None,
        })?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let row = store::insert_branch(&mut tx, &vendor_id, &name, &address.fields())
            .await
            .map_err(ApiError::from)?;
        audit(
            &mut tx,
            &actor.subject,
            "vendor_branch",
            &row.id,
            "added",
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Branch(row))
    }

    /// Makes an existing account a vendor admin of a vendor (admin, or that
    /// vendor's admin). Pharmacists are appointed with `proposePharmacist`.
    async fn add_vendor_staff(
        &self,
        ctx: &Context<'_>,
        vendor_id: ID,
        email: String,
        role: Role,
    ) -> Result<User> {
        let actor = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        require_vendor_admin_of(actor, &vendor_id)?;
        domain::check_staff_role(role)?;
        let email = Email::parse(&email)?;
        let st = state(ctx);
        let user = store::user_by_email(&st.store, email.as_str())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user with this email"))?;
        if user.vendor_id.as_deref().is_some_and(|v| v != vendor_id) {
            return Err(ApiError::conflict("this user already works for another vendor").into());
        }
        let mut roles = user.roles();
        if !roles.contains(&role) {
            roles.push(role);
        }
        let mut tx = st.store.begin().await.map_err(ApiError::from)?;
        store::vendor_by_id(&mut tx, &vendor_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("vendor"))?;
        store::set_roles(&mut tx, &user.id, &roles, Some(&vendor_id))
            .await
            .map_err(ApiError::from)?;
        let after = store::user_by_id(&mut tx, &user.id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        audit(
            &mut tx,
            &actor.subject,
            "user",
            &user.id,
            "staff_added",
            Some(json_of_user(&user)),
            Some(json_of_user(&after)),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(User::for_viewer(after, Some(actor)))
    }

    /// Replaces a user's roles (admin). PHARMACIST can be kept or removed
    /// (which revokes the appointment) but not added: that takes a verified
    /// appointment.
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        roles: Vec<Role>,
    ) -> Result<User> {
        let admin = require_admin(ctx)?;
        let user_id = parse_id(&user_id, "userId")?;
        domain::check_assignable(&roles)?;
        let mut tx = state(ctx).store.begin().await.map_err(ApiError::from)?;
        let before = store::user_by_id(&mut tx, &user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        let pharmacist = before.pharmacy_id.is_some();
        domain::check_pharmacist_kept(&roles, pharmacist)?;
        let vendor_admin = roles.contains(&Role::VendorAdmin);
        let vendor_id = before.vendor_id.clone().filter(|_| vendor_admin);
        if vendor_admin && vendor_id.is_none() {
            return Err(ApiError::bad_input(
                "attach the user to a vendor with addVendorStaff first",
            )
            .into());
        }
        if pharmacist && !roles.contains(&Role::Pharmacist) {
            crate::staff::revoke_pharmacist(&mut tx, admin, &user_id).await?;
        }
        store::set_roles(&mut tx, &user_id, &roles, vendor_id.as_deref())
            .await
            .map_err(ApiError::from)?;
        let after = store::user_by_id(&mut tx, &user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        audit(
            &mut tx,
            &admin.subject,
            "user",
            &user_id,
            "roles_set",
            Some(json_of_user(&before)),
            Some(json_of_user(&after)),
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(User::for_viewer(after, Some(admin)))
    }

    /// Proposes an existing account as pharmacist of a vendor, with their
    /// State Pharmacy Council registration (that vendor's admins, or an
    /// admin). The role takes effect only once a platform admin verifies it.
    async fn propose_pharmacist(
        &self,
        ctx: &Context<'_>,
        input: ProposePharmacistInput,
    ) -> Result<PharmacistAppointment> {
        let actor = principal(ctx)?;
        let vendor_id = match &input.vendor_id {
            Some(id) => parse_id(id, "vendorId")?,
            None if actor.is_admin() => {
                return Err(ApiError::bad_input("vendorId: which pharmacy?").into())
            }
            None => actor.vendor_id.clone().unwrap_or_default(),
        };
        require_vendor_admin_of(actor, &vendor_id)?;
        let email = Email::parse(&input.email)?;
        let registration =
            PharmacistRegistration::parse(&input.council, &input.registration_number)?;
        let row =
            staff::propose_pharmacist(state(ctx), actor, &vendor_id, &email, &registration).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Verifies a proposed pharmacist after checking the council's register
    /// (platform admin; recorded as the verifier). From now on the person's
    /// tokens carry PHARMACIST for that vendor.
    async fn verify_pharmacist(&self, ctx: &Context<'_>, id: ID) -> Result<PharmacistAppointment> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let row = staff::decide_pharmacist(state(ctx), admin, &id, Decision::Verify).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Refuses a proposed pharmacist, with the reason (platform admin).
    async fn reject_pharmacist(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<PharmacistAppointment> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let reason = domain::parse_text(&reason, "reason", 3, 500)?;
        let decision = Decision::Reject(reason);
        let row = staff::decide_pharmacist(state(ctx), admin, &id, decision).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Suspends a vendor (admin): its listings stop selling until it is
    /// reinstated. Publishes `VendorSuspended`.
    async fn suspend_vendor(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Vendor> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let reason = domain::parse_text(&reason, "reason", 3, 500)?;
        let row = staff::set_suspension(ctx, state(ctx), admin, &id, Some(&reason)).await?;
        Ok(Vendor(row))
    }

    /// Lifts a vendor's suspension (admin). Publishes `VendorReinstated`.
    async fn reinstate_vendor(&self, ctx: &Context<'_>, id: ID) -> Result<Vendor> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let row = staff::set_suspension(ctx, state(ctx), admin, &id, None).await?;
        Ok(Vendor(row))
    }
}

fn require_vendor_admin_of(actor: &Principal, vendor_id: &str) -> ApiResult<()> {
    let own_admin =
        actor.has_role(Role::VendorAdmin) && actor.vendor_id.as_deref() == Some(vendor_id);
    if actor.is_admin() || own_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only admins and this vendor's admins can do this",
        ))
    }
}

async fn own_address(conn: &mut sqlx::AnyConnection, me: &Principal, id: &ID) -> ApiResult<String> {
    let id = parse_id(id, "id")?;
    match store::address_by_id(conn, &id).await? {
        Some(row) if row.user_id == me.subject => Ok(id),
        _ => Err(ApiError::not_found("address")),
    }
}
