//! The GraphQL object, input and enum types, by topic.

mod account;
mod inputs;
mod licence;
mod partner;
mod security;
mod vendor;

pub use account::{Address, AuthPayload, FamilyMember, Relation, ServiceContact, User};
pub(in crate::schema) use inputs::ValidAddress;
pub use inputs::{
    AddressInput, BranchInput, CreateVendorInput, FamilyMemberInput, ProposePharmacistInput,
    RegisterInput, UpdateProfileInput,
};
pub use licence::{DrugLicence, DrugLicenceForm};
pub use partner::{PartnerApp, PartnerAppCredentials, RegisterPartnerAppInput};
pub use security::{Consent, ConsentKind, ConsentRecord, Session, VerificationChannel};
pub use vendor::{
    Branch, PharmacistAppointment, PharmacistAppointmentStatus, Vendor, VendorStatus,
};
