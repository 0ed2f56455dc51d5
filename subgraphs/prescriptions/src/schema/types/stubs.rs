//! Stubs of other subgraphs' entities, referenced by ID.

use crate::domain;
use crate::schema::{
    facts, owned_page, OrderPrescriptionsLoader, Prescription, PrescriptionStatus,
};
use async_graphql::{Context, Object, SimpleObject, ID};
use janta_platform::auth::principal;
use janta_platform::loader::load_or_empty;
use janta_platform::pagination::CountedConnection;
use janta_platform::ApiError;
use janta_platform::ApiResult;

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
    pub(in crate::schema) id: String,
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
    ) -> ApiResult<CountedConnection<Prescription>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        if viewer.subject != self.id {
            return Err(ApiError::forbidden(
                "you can only list your own prescriptions",
            ));
        }
        Ok(owned_page(ctx, &self.id, status, first, after).await?)
    }
}

/// An order of the orders subgraph, extended here with the prescriptions it used.
pub struct OrderRef {
    pub(in crate::schema) id: String,
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
    async fn prescriptions(&self, ctx: &Context<'_>) -> ApiResult<Vec<Prescription>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let links = load_or_empty::<OrderPrescriptionsLoader, _, _>(ctx, self.id.clone()).await?;
        Ok(links
            .into_iter()
            .filter(|l| domain::read_ground(viewer, &facts(&l.prescription), None).is_ok())
            .map(|l| Prescription::from(l.prescription))
            .collect())
    }
}
