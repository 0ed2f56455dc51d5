//! Read operations, including the federation entity resolvers and the
//! service-only fields.

use crate::domain::{self, Visibility};
use crate::schema::loaders::{load_user, load_vendor, AddressLoader, UserLoader};
use crate::schema::{
    require_vendor_admin_of, state, Address, DrugLicence, PharmacistAppointment,
    PharmacistAppointmentStatus, ServiceContact, User, Vendor,
};
use crate::store;
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{optional_principal, principal, require_admin, require_service_of};
use janta_platform::ids::parse_id;
use janta_platform::loader::{load_many, load_one};
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::to_db_time;
use janta_platform::{ApiError, ApiResult};

/// Read operations on accounts, vendors and their staff.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let row = load_user(ctx, &me.subject)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("this account no longer exists"))?;
        Ok(User::own_account(row))
    }

    /// A user by ID: yourself, or anyone for admins.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "User ID")] id: ID,
    ) -> ApiResult<User> {
        let viewer = principal(ctx)?;
        let id = parse_id(&id, "id")?;
        if !domain::can_view_private(viewer, &id) {
            return Err(ApiError::forbidden("you can only read your own account"));
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
    ) -> ApiResult<Vendor> {
        Ok(Vendor(load_vendor(ctx, &id).await?))
    }

    /// All vendors by name, a page at a time.
    async fn vendors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Vendor>> {
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let (rows, total) = store::list_vendors(&state(ctx).store, &page).await?;
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
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<User>> {
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
    async fn find_vendor_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Vendor>> {
        match load_vendor(ctx, &id).await {
            Ok(row) => Ok(Some(Vendor(row))),
            Err(e) if e.is_transient() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Resolves `Address` references (owner and admins only).
    #[graphql(entity)]
    async fn find_address_by_id(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Address>> {
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
    ) -> ApiResult<Option<Address>> {
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
    ) -> ApiResult<Vec<ServiceContact>> {
        require_service_of(ctx, &["notifications"])?;
        if user_ids.len() > 100 {
            return Err(ApiError::bad_input("at most 100 userIds at once"));
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
    ) -> ApiResult<bool> {
        require_service_of(ctx, &["prescriptions"])?;
        let user_id = parse_id(&user_id, "userId")?;
        let member_id = parse_id(&family_member_id, "familyMemberId")?;
        let store = &state(ctx).store;
        Ok(store::is_family_member_of(store, &user_id, &member_id).await?)
    }

    /// The verified pharmacist appointment of `userId` at `vendorId`, for
    /// the orders service to check who dispenses an order (hidden from the
    /// router). Null unless the person holds a verified, not revoked,
    /// appointment at that pharmacy.
    #[graphql(inaccessible)]
    async fn pharmacist_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person")] user_id: ID,
        #[graphql(desc = "The pharmacy")] vendor_id: ID,
    ) -> ApiResult<Option<PharmacistAppointment>> {
        require_service_of(ctx, &["orders"])?;
        let user_id = parse_id(&user_id, "userId")?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let store = &state(ctx).store;
        let row = store::compliance::verified_appointment(store, &user_id, &vendor_id).await?;
        Ok(row.map(PharmacistAppointment))
    }

    /// Drug licences in force (the latest of each vendor and form) that
    /// expire within `withinDays` days or have expired, soonest first
    /// (admins), so that vendors can be reminded before they stop selling.
    async fn drug_licences_expiring(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many days ahead to look (0 to 366)", default = 30)]
        within_days: Option<i32>,
    ) -> ApiResult<Vec<DrugLicence>> {
        require_admin(ctx)?;
        let within_days = within_days.unwrap_or(30);
        let by = domain::licences::expiring_by(within_days, chrono::Utc::now())?;
        let rows = store::compliance::latest_licences_until(&state(ctx).store, by).await?;
        Ok(rows.into_iter().map(DrugLicence).collect())
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
    ) -> ApiResult<CountedConnection<PharmacistAppointment>> {
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
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let filter = store::AppointmentFilter {
            status: status.map(Into::into),
            vendor_id: vendor_id.as_deref(),
        };
        let (rows, total) = store::list_appointments(&state(ctx).store, &filter, &page).await?;
        let nodes = rows.into_iter().map(PharmacistAppointment).collect();
        Ok(build_connection(&page, nodes, total, |a| Cursor {
            key: to_db_time(a.0.proposed_at),
            id: a.0.id.clone(),
        }))
    }
}
