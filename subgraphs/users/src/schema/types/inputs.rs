//! The input types of the mutations, and the validation of addresses.

use crate::domain;
use crate::schema::Relation;
use crate::store::AddressFields;
use async_graphql::{InputObject, ID};
use janta_platform::scalars::Date;
use janta_platform::ApiResult;

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
    /// The GSTIN of the branch's state (checked: shape, check character and
    /// state prefix). Omitted: the vendor's GSTIN when the branch is in the
    /// vendor's state, else none.
    pub gstin: Option<String>,
    /// Whether orders ship from it. Omitted: it ships exactly when it has a
    /// GSTIN; a branch that ships must have one.
    pub ships: Option<bool>,
}

/// A pharmacy joining the marketplace.
#[derive(InputObject)]
pub struct CreateVendorInput {
    /// Trading name.
    pub name: String,
    /// Registered legal name.
    pub legal_name: String,
    /// GSTIN of the state of registration (checked: shape, check character
    /// and state prefix).
    pub gstin: String,
    /// Drug licence number.
    pub drug_licence_number: String,
    /// State of registration (ISO 3166-2:IN code).
    pub state: String,
    /// The first branch.
    pub branch: BranchInput,
}

pub(in crate::schema) struct ValidAddress {
    label: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    pincode: String,
}

impl ValidAddress {
    pub(in crate::schema) fn parse(input: &AddressInput) -> ApiResult<Self> {
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

    pub(in crate::schema) fn fields(&self) -> AddressFields<'_> {
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
