//! Write operations.

use crate::audit;
use crate::domain::{self, Email, Password, PharmacistRegistration, Phone};
use crate::registration::Registration;
use crate::schema::types::ValidAddress;
use crate::schema::{
    require_vendor_admin_of, state, Address, AddressInput, AuthPayload, Branch, BranchInput,
    CreateVendorInput, FamilyMember, FamilyMemberInput, PharmacistAppointment,
    ProposePharmacistInput, RegisterInput, UpdateProfileInput, User, Vendor,
};
use crate::staff::{self, Decision};
use crate::store::{self, UserRow};
use async_graphql::{Context, Object, Result, ID};
use janta_platform::auth::{principal, require_admin, Principal, Role};
use janta_platform::ids::parse_id;
use janta_platform::scalars::Date;
use janta_platform::server::ClientAddress;
use janta_platform::{ApiError, ApiResult};

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

fn json_of_user(row: &UserRow) -> serde_json::Value {
    serde_json::json!({ "roles": row.roles(), "vendorId": row.vendor_id })
}

async fn own_address(conn: &mut sqlx::AnyConnection, me: &Principal, id: &ID) -> ApiResult<String> {
    let id = parse_id(id, "id")?;
    match store::address_by_id(conn, &id).await? {
        Some(row) if row.user_id == me.subject => Ok(id),
        _ => Err(ApiError::not_found("address")),
    }
}
