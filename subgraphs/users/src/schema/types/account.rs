//! The account side of the schema: users, their addresses and dependents,
//! and what sign-in returns.

use crate::domain::{self, Visibility};
use crate::schema::loaders::load_vendor;
use crate::schema::{state, Vendor};
use crate::service::sessions::Session;
use crate::store::{self, AddressRow, FamilyMemberRow, UserRow};
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use janta_platform::auth::{Principal, Role};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};

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
    pub(in crate::schema) fn for_viewer(row: UserRow, viewer: Option<&Principal>) -> Self {
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
    pub(in crate::schema) fn hidden(id: String) -> Self {
        User {
            id,
            row: None,
            visibility: Visibility::None,
        }
    }

    /// The account, when the viewer may see at least `needed` of it.
    fn visible(&self, needed: Visibility) -> ApiResult<&UserRow> {
        match &self.row {
            Some(row) if self.visibility >= needed => Ok(row),
            _ => Err(ApiError::forbidden("you may not see this of this user")),
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
    async fn email(&self) -> ApiResult<&str> {
        Ok(self.visible(Visibility::Private)?.email.as_str())
    }
    /// Mobile number in E.164 form (self and admins only).
    async fn phone(&self) -> ApiResult<Option<&str>> {
        Ok(self.visible(Visibility::Private)?.phone.as_deref())
    }
    /// Name as shown to pharmacists and on invoices (self, admins, active
    /// vendor staff and services).
    async fn full_name(&self) -> ApiResult<&str> {
        Ok(self.visible(Visibility::Name)?.full_name.as_str())
    }
    /// Roles in effect (self and admins only). PHARMACIST appears
    /// only once a platform admin verified the appointment.
    async fn roles(&self) -> ApiResult<Vec<Role>> {
        Ok(self.visible(Visibility::Private)?.roles())
    }
    /// The vendor a staff member works for (as visible as the name).
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Option<Vendor>> {
        match &self.visible(Visibility::Name)?.vendor_id {
            Some(id) => Ok(Some(Vendor(load_vendor(ctx, &ID(id.clone())).await?))),
            None => Ok(None),
        }
    }
    /// Saved delivery addresses, default first (self and admins only).
    async fn addresses(&self, ctx: &Context<'_>) -> ApiResult<Vec<Address>> {
        let row = self.visible(Visibility::Private)?;
        let rows = store::addresses_of(&state(ctx).store, &row.id).await?;
        Ok(rows.into_iter().map(Address).collect())
    }
    /// Dependents this customer buys for (self and admins only).
    async fn family_members(&self, ctx: &Context<'_>) -> ApiResult<Vec<FamilyMember>> {
        let row = self.visible(Visibility::Private)?;
        let rows = store::family_of(&state(ctx).store, &row.id).await?;
        Ok(rows.into_iter().map(FamilyMember).collect())
    }
    /// The profile's version (self and admins only): send it back as
    /// `updateProfile(expectedVersion:)` so a stale edit is refused.
    async fn version(&self) -> ApiResult<i64> {
        Ok(self.visible(Visibility::Private)?.version)
    }
    /// When the account was created (self and admins only).
    async fn created_at(&self) -> ApiResult<DateTime> {
        Ok(DateTime(self.visible(Visibility::Private)?.created_at))
    }
    /// Whether the e-mail address was proven to be this person's with the
    /// code sent to it (`verifyEmail`) (self and admins only).
    async fn email_verified(&self) -> ApiResult<bool> {
        Ok(self
            .visible(Visibility::Private)?
            .email_verified_at
            .is_some())
    }
    /// Whether the phone number was proven to be this person's with the
    /// code sent by SMS (`verifyPhone`); a changed number is unverified
    /// again (self and admins only).
    async fn phone_verified(&self) -> ApiResult<bool> {
        Ok(self
            .visible(Visibility::Private)?
            .phone_verified_at
            .is_some())
    }
    /// Whether the e-mail address or the phone number is verified, which
    /// placing an order may require (as visible as the name: the orders
    /// service checks it at checkout).
    async fn contact_verified(&self) -> ApiResult<bool> {
        Ok(self.visible(Visibility::Name)?.contact_verified())
    }
}

/// A delivery address of a user.
pub struct Address(pub(in crate::schema) AddressRow);

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
        self.0.is_default
    }
    /// The address's version: send it back as `updateAddress(expectedVersion:)`
    /// so a stale edit is refused.
    async fn version(&self) -> i64 {
        self.0.version
    }
}

/// How a dependent is related to the customer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::Relation")]
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

/// A dependent a customer buys medicines for (a prescription's patient).
pub struct FamilyMember(pub(in crate::schema) FamilyMemberRow);

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
        self.0.relation.into()
    }
    /// Date of birth, if given.
    async fn date_of_birth(&self) -> Option<Date> {
        self.0.date_of_birth.map(Date)
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

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        AuthPayload {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: DateTime(session.expires_at),
            user: User::own_account(session.user),
        }
    }
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
