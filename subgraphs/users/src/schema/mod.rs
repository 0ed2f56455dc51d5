//! The users subgraph's GraphQL API: thin resolvers that validate input with
//! `domain`, authorise with the platform guards, read through `store` and
//! change things through one use case of `service` each.
//! Types live in `types`, loaders in `loaders`, the operations in `query`
//! and `mutation`.

mod loaders;
mod mutation;
mod partners;
mod personal_data;
mod query;
mod security;
mod types;

use crate::UsersState;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use janta_platform::auth::{Principal, Role};
use janta_platform::{ApiError, ApiResult};

pub use loaders::{
    with_loaders, AddressLoader, BranchLoader, BranchesLoader, LicencesLoader, UserLoader,
    VendorLoader,
};
pub use types::{
    Address, AddressInput, AuthPayload, Branch, BranchInput, Consent, ConsentKind, ConsentRecord,
    CreateVendorInput, DrugLicence, DrugLicenceForm, FamilyMember, FamilyMemberInput, PartnerApp,
    PartnerAppCredentials, PharmacistAppointment, PharmacistAppointmentStatus,
    ProposePharmacistInput, RegisterInput, RegisterPartnerAppInput, Relation, ServiceContact,
    Session, UpdateProfileInput, User, Vendor, VendorStatus, VerificationChannel,
};

/// Read operations: accounts, vendors and their staff, partner apps.
#[derive(MergedObject, Default)]
pub struct Query(
    query::AccountQuery,
    partners::PartnerQuery,
    security::SecurityQuery,
    personal_data::PersonalDataQuery,
    OperationsQuery,
);

/// Write operations: accounts, vendors and their staff, partner apps.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::AccountMutation,
    partners::PartnerMutation,
    security::SecurityMutation,
    personal_data::PersonalDataMutation,
    OperationsMutation,
);

janta_kit::operations_api!(
    users,
    "replayUsersParkedEvent",
    "discardUsersParkedEvent",
    root
);

/// The users subgraph schema.
pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a UsersState {
    ctx.data_unchecked::<UsersState>()
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
