//! Write operations: each parses its input, authorises, and calls one use
//! case of [`crate::service`].

use crate::domain::licences::parse_licence_number;
use crate::domain::{self, gst, Email, Password, PharmacistRegistration, Phone};
use crate::schema::types::ValidAddress;
use crate::schema::{
    require_vendor_admin_of, state, Address, AddressInput, AuthPayload, Branch, BranchInput,
    CreateVendorInput, DrugLicence, DrugLicenceForm, FamilyMember, FamilyMemberInput,
    PharmacistAppointment, ProposePharmacistInput, RegisterInput, UpdateProfileInput, User, Vendor,
};
use crate::service::registration::{self, Registration};
use crate::service::staff::{self, Decision};
use crate::service::vendors::BranchRequest;
use crate::service::{accounts, licences, vendors, Cause};
use crate::store::{self, compliance::NewLicence};
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, require_admin, Role};
use janta_platform::ids::parse_id;
use janta_platform::scalars::Date;
use janta_platform::server::ClientAddress;
use janta_platform::{ApiError, ApiResult};

/// Write operations on accounts, vendors and their staff.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a customer account and signs it in. An e-mail that already
    /// has an account gets the same kind of answer (its owner is told by
    /// e-mail instead), so registration does not reveal who has an account.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> ApiResult<AuthPayload> {
        let registration = Registration {
            email: Email::parse(&input.email)?,
            password: Password::parse(&input.password)?,
            full_name: domain::parse_person_name(&input.full_name, "fullName")?,
            phone: input.phone.as_deref().map(Phone::parse).transpose()?,
        };
        let st = state(ctx);
        let cause = Cause::of_request(ctx);
        let session = registration::register(&st.store, &st.sessions, registration, &cause).await?;
        Ok(session.into())
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
        #[graphql(
            desc = "What this device is, as `mySessions` should show it (e.g. \"Pixel 8, Janta app\"); at most 120 characters"
        )]
        device: Option<String>,
    ) -> ApiResult<AuthPayload> {
        let device = device
            .as_deref()
            .map(|d| domain::parse_text(d, "device", 1, 120))
            .transpose()?;
        let st = state(ctx);
        let client = ctx
            .data_opt::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None));
        let session = st
            .sessions
            .login(&st.store, &email, &password, device.as_deref(), client)
            .await?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once;
    /// presenting a used one revokes every token of that sign-in.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        let st = state(ctx);
        Ok(st.sessions.refresh(&st.store, &refresh_token).await?.into())
    }

    /// Signs out: revokes the refresh token and its whole family.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> ApiResult<bool> {
        let st = state(ctx);
        st.sessions.logout(&st.store, &refresh_token).await
    }

    /// Changes your name or phone number. With `expectedVersion` (the
    /// `version` you read), a profile changed since is refused (`CONFLICT`).
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
        #[graphql(desc = "The profile's `version` when you read it")] expected_version: Option<i64>,
    ) -> ApiResult<User> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let name = input
            .full_name
            .as_deref()
            .map(|n| domain::parse_person_name(n, "fullName"))
            .transpose()?;
        let phone = input.phone.as_deref().map(Phone::parse).transpose()?;
        let phone = phone.as_ref().map(Phone::as_str);
        let db = &state(ctx).store;
        let name = name.as_deref();
        let row = accounts::update_profile(db, &me.subject, name, phone, expected_version).await?;
        Ok(User::own_account(row))
    }

    /// Saves a delivery address; the first one becomes the default.
    async fn add_address(&self, ctx: &Context<'_>, input: AddressInput) -> ApiResult<Address> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let valid = ValidAddress::parse(&input)?;
        let make_default = input.is_default.unwrap_or(false);
        let row = accounts::add_address(
            &state(ctx).store,
            &me.subject,
            &valid.fields(),
            make_default,
        )
        .await?;
        Ok(Address(row))
    }

    /// Rewrites one of your addresses. With `expectedVersion` (the
    /// `version` you read), an address changed since is refused (`CONFLICT`).
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AddressInput,
        #[graphql(desc = "The address's `version` when you read it")] expected_version: Option<i64>,
    ) -> ApiResult<Address> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let valid = ValidAddress::parse(&input)?;
        let id = parse_id(&id, "id")?;
        let make_default = input.is_default == Some(true);
        let db = &state(ctx).store;
        let fields = valid.fields();
        let row = accounts::update_address(
            db,
            &me.subject,
            &id,
            &fields,
            make_default,
            expected_version,
        )
        .await?;
        Ok(Address(row))
    }

    /// Deletes one of your addresses (past orders keep their copy). With
    /// `expectedVersion`, an address changed since is refused (`CONFLICT`).
    async fn remove_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "The address's `version` when you read it")] expected_version: Option<i64>,
    ) -> ApiResult<bool> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let id = parse_id(&id, "id")?;
        accounts::remove_address(&state(ctx).store, &me.subject, &id, expected_version).await?;
        Ok(true)
    }

    /// Makes one of your addresses the default. With `expectedVersion`, an
    /// address changed since is refused (`CONFLICT`).
    async fn set_default_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "The address's `version` when you read it")] expected_version: Option<i64>,
    ) -> ApiResult<Address> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let id = parse_id(&id, "id")?;
        let db = &state(ctx).store;
        let row = accounts::set_default_address(db, &me.subject, &id, expected_version).await?;
        Ok(Address(row))
    }

    /// Adds a dependent you buy medicines for.
    async fn add_family_member(
        &self,
        ctx: &Context<'_>,
        input: FamilyMemberInput,
    ) -> ApiResult<FamilyMember> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let name = domain::parse_person_name(&input.full_name, "fullName")?;
        if input
            .date_of_birth
            .is_some_and(|d| d.0 > chrono::Utc::now().date_naive())
        {
            return Err(ApiError::bad_input("dateOfBirth cannot be in the future"));
        }
        let member = store::NewFamilyMember {
            full_name: &name,
            relation: input.relation.into(),
            date_of_birth: input.date_of_birth.map(|d: Date| d.0),
        };
        let row = accounts::add_family_member(&state(ctx).store, &me.subject, member).await?;
        Ok(FamilyMember(row))
    }

    /// Removes one of your dependents.
    async fn remove_family_member(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let id = parse_id(&id, "id")?;
        accounts::remove_family_member(&state(ctx).store, &me.subject, &id).await?;
        Ok(true)
    }

    /// Registers a pharmacy (admin). It sells only once verified.
    async fn create_vendor(
        &self,
        ctx: &Context<'_>,
        input: CreateVendorInput,
    ) -> ApiResult<Vendor> {
        let admin = require_admin(ctx)?;
        let name = domain::parse_text(&input.name, "name", 2, 120)?;
        let legal_name = domain::parse_text(&input.legal_name, "legalName", 2, 200)?;
        let licence = domain::parse_text(&input.drug_licence_number, "drugLicenceNumber", 4, 64)?;
        let vendor_state = domain::parse_state(&input.state)?;
        let gstin = gst::parse_gstin_of_state(&input.gstin, &vendor_state, "gstin")?;
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
        let vendor = store::NewVendor {
            name: &name,
            legal_name: &legal_name,
            gstin: &gstin,
            drug_licence_number: &licence,
            state: &vendor_state,
        };
        let fields = branch.fields();
        let branch = BranchRequest {
            name: &branch_name,
            address: &fields,
            gstin: input.branch.gstin.as_deref(),
            ships: input.branch.ships,
        };
        let db = &state(ctx).store;
        let row = vendors::create_vendor(db, admin, vendor, &branch).await?;
        Ok(Vendor(row))
    }

    /// Marks a vendor's licences as checked (admin).
    async fn verify_vendor(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Vendor> {
        require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let cause = Cause::of_request(ctx);
        let row = vendors::verify_vendor(&state(ctx).store, &id, &cause).await?;
        Ok(Vendor(row))
    }

    /// Adds a branch to a vendor (admin, or that vendor's admin), with the
    /// next invoice series of its state. A branch that ships needs the
    /// GSTIN of its state (a wrong check character or state prefix is
    /// `BAD_USER_INPUT`); the vendor's first shipping branch becomes its
    /// default shipping branch.
    async fn add_vendor_branch(
        &self,
        ctx: &Context<'_>,
        vendor_id: ID,
        input: BranchInput,
    ) -> ApiResult<Branch> {
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
        let fields = address.fields();
        let branch = BranchRequest {
            name: &name,
            address: &fields,
            gstin: input.gstin.as_deref(),
            ships: input.ships,
        };
        let row = vendors::add_branch(&state(ctx).store, actor, &vendor_id, &branch).await?;
        Ok(Branch(row))
    }

    /// Chooses the branch a vendor's orders ship from by default (that
    /// vendor's admins, or an admin). It must be one of the vendor's
    /// shipping branches.
    async fn set_shipping_branch(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor")] vendor_id: ID,
        #[graphql(desc = "One of its shipping branches")] branch_id: ID,
    ) -> ApiResult<Vendor> {
        let actor = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        require_vendor_admin_of(actor, &vendor_id)?;
        let branch_id = parse_id(&branch_id, "branchId")?;
        let db = &state(ctx).store;
        let row = vendors::set_shipping_branch(db, actor, &vendor_id, &branch_id).await?;
        Ok(Vendor(row))
    }

    /// Records a retail drug licence of a vendor, or its renewal (that
    /// vendor's admins, or an admin); earlier records stay as history. When
    /// the latest licence of a form expires, the vendor stops selling until
    /// a renewal is recorded.
    async fn record_drug_licence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor")] vendor_id: ID,
        #[graphql(desc = "Form 20 or Form 21")] form: DrugLicenceForm,
        #[graphql(desc = "The licence number")] number: String,
        #[graphql(desc = "The last day it is valid")] valid_until: Date,
    ) -> ApiResult<DrugLicence> {
        let actor = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        require_vendor_admin_of(actor, &vendor_id)?;
        let number = parse_licence_number(&number)?;
        let licence = NewLicence {
            vendor_id: &vendor_id,
            form: form.into(),
            number: &number,
            valid_until: valid_until.0,
            recorded_by: &actor.subject,
        };
        let row = licences::record_licence(&state(ctx).store, actor, &licence).await?;
        Ok(DrugLicence(row))
    }

    /// Makes an existing account a vendor admin of a vendor (admin, or that
    /// vendor's admin). Pharmacists are appointed with `proposePharmacist`.
    async fn add_vendor_staff(
        &self,
        ctx: &Context<'_>,
        vendor_id: ID,
        email: String,
        role: Role,
    ) -> ApiResult<User> {
        let actor = principal(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        require_vendor_admin_of(actor, &vendor_id)?;
        domain::check_staff_role(role)?;
        let email = Email::parse(&email)?;
        let db = &state(ctx).store;
        let row = staff::add_vendor_staff(db, actor, &vendor_id, &email, role).await?;
        Ok(User::for_viewer(row, Some(actor)))
    }

    /// Replaces a user's roles (admin). PHARMACIST can be kept or removed
    /// (which revokes the appointment) but not added: that takes a verified
    /// appointment.
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        roles: Vec<Role>,
    ) -> ApiResult<User> {
        let admin = require_admin(ctx)?;
        let user_id = parse_id(&user_id, "userId")?;
        let row = staff::set_user_roles(&state(ctx).store, admin, &user_id, &roles).await?;
        Ok(User::for_viewer(row, Some(admin)))
    }

    /// Proposes an existing account as pharmacist of a vendor, with their
    /// State Pharmacy Council registration (that vendor's admins, or an
    /// admin). The role takes effect only once a platform admin verifies it.
    async fn propose_pharmacist(
        &self,
        ctx: &Context<'_>,
        input: ProposePharmacistInput,
    ) -> ApiResult<PharmacistAppointment> {
        let actor = principal(ctx)?;
        let vendor_id = match &input.vendor_id {
            Some(id) => parse_id(id, "vendorId")?,
            None if actor.is_admin() => {
                return Err(ApiError::bad_input("vendorId: which pharmacy?"))
            }
            None => actor.vendor_id.clone().unwrap_or_default(),
        };
        require_vendor_admin_of(actor, &vendor_id)?;
        let email = Email::parse(&input.email)?;
        let registration =
            PharmacistRegistration::parse(&input.council, &input.registration_number)?;
        let db = &state(ctx).store;
        let row = staff::propose_pharmacist(db, actor, &vendor_id, &email, &registration).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Verifies a proposed pharmacist after checking the council's register
    /// (platform admin; recorded as the verifier). From now on the person's
    /// tokens carry PHARMACIST for that vendor.
    async fn verify_pharmacist(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<PharmacistAppointment> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let row = staff::decide_pharmacist(&state(ctx).store, admin, &id, Decision::Verify).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Refuses a proposed pharmacist, with the reason (platform admin).
    async fn reject_pharmacist(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> ApiResult<PharmacistAppointment> {
        let admin = require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let reason = domain::parse_text(&reason, "reason", 3, 500)?;
        let decision = Decision::Reject(reason);
        let row = staff::decide_pharmacist(&state(ctx).store, admin, &id, decision).await?;
        Ok(PharmacistAppointment(row))
    }

    /// Suspends a vendor (admin): its listings stop selling until it is
    /// reinstated. Publishes `VendorSuspended`.
    async fn suspend_vendor(&self, ctx: &Context<'_>, id: ID, reason: String) -> ApiResult<Vendor> {
        require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let reason = domain::parse_text(&reason, "reason", 3, 500)?;
        let cause = Cause::of_request(ctx);
        let row = vendors::set_suspension(&state(ctx).store, &id, Some(&reason), &cause).await?;
        Ok(Vendor(row))
    }

    /// Lifts a vendor's suspension (admin). Publishes `VendorReinstated`.
    async fn reinstate_vendor(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Vendor> {
        require_admin(ctx)?;
        let id = parse_id(&id, "id")?;
        let cause = Cause::of_request(ctx);
        let row = vendors::set_suspension(&state(ctx).store, &id, None, &cause).await?;
        Ok(Vendor(row))
    }
}
