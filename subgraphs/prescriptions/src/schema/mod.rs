//! The prescriptions subgraph's GraphQL API: thin resolvers that validate
//! input with `domain`, authorise with the platform guards and the
//! prescription access rules (`domain::read_ground`: owner, the pharmacy it
//! was submitted to, a pharmacy dispensing against it, admins with a
//! reason), and call one use case of `service` (reads go to `store` and
//! the batch loaders).
//!
//! Entities: `Prescription` (owned, batched). Stubs of other subgraphs'
//! entities, referenced by ID: `User` (extended with `prescriptions`),
//! `Order` (extended with `prescriptions`), `Medicine` and `Vendor`.

mod loaders;
mod mutation;
mod query;
mod types;

pub use loaders::{with_loaders, LinesLoader, OrderPrescriptionsLoader, PrescriptionLoader};
use mutation::PrescriptionMutation;
use query::PrescriptionQuery;

/// Read operations: the prescriptions subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(PrescriptionQuery, OperationsQuery);

/// Write operations: the prescriptions subgraph's own, and the admin tools.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(PrescriptionMutation, OperationsMutation);

janta_kit::operations_api!(
    prescriptions,
    "replayPrescriptionsParkedEvent",
    "discardPrescriptionsParkedEvent"
);
pub use types::*;

use crate::domain::{self, AccessFacts};
use crate::service::dispensing::{self, DispenseRequest};
use crate::store::{self, LoadedPrescription, PrescriptionRow, StatusFilter};
use crate::PrescriptionsState;
use async_graphql::{Context, EmptySubscription, Schema, ID};
use janta_platform::loader::load_one;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::{ApiError, ApiResult};

/// The prescriptions subgraph schema.
pub type PrescriptionsSchema = Schema<Query, Mutation, EmptySubscription>;

fn state<'a>(ctx: &Context<'a>) -> &'a PrescriptionsState {
    ctx.data_unchecked::<PrescriptionsState>()
}

fn facts(rx: &LoadedPrescription) -> AccessFacts<'_> {
    AccessFacts {
        owner_id: &rx.row.owner_id,
        pharmacy_id: rx.row.vendor_id.as_deref(),
        dispensing_vendors: &rx.dispensing_vendors,
    }
}

async fn load_prescription(ctx: &Context<'_>, id: &str) -> ApiResult<Option<LoadedPrescription>> {
    load_one::<PrescriptionLoader, _>(ctx, id.to_string()).await
}

/// The prescription `id`, or `NOT_FOUND`.
async fn existing(ctx: &Context<'_>, id: &str) -> ApiResult<LoadedPrescription> {
    load_prescription(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("prescription"))
}

async fn owned_page(
    ctx: &Context<'_>,
    owner_id: &str,
    status: Option<PrescriptionStatus>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Prescription>> {
    let page = PageRequest::from_ctx(ctx, first, after)?;
    let filter = status.map_or(StatusFilter::Any, |s| StatusFilter::Only(s.into()));
    let (rows, total) =
        store::list_owned(&state(ctx).store, owner_id, filter, domain::today(), &page).await?;
    Ok(connection(&page, rows, total))
}

fn connection(
    page: &PageRequest,
    rows: Vec<PrescriptionRow>,
    total: i64,
) -> CountedConnection<Prescription> {
    let nodes = rows.into_iter().map(|r| Prescription(r, None)).collect();
    build_connection(page, nodes, total, |p| Cursor {
        key: janta_platform::scalars::to_db_time(p.0.submitted_at.0),
        id: p.0.id.clone(),
    })
}

/// Validates the service-facing dispensing arguments.
fn dispense_request(
    customer_id: &ID,
    prescription_ids: &[ID],
    lines: &[DispenseLineInput],
) -> ApiResult<DispenseRequest> {
    let ids: Vec<String> = prescription_ids.iter().map(|i| i.0.clone()).collect();
    let raw: Vec<dispensing::RawLine> = lines
        .iter()
        .map(|l| {
            (
                l.medicine_id.0.clone(),
                i64::from(l.quantity),
                l.schedule == DispenseSchedule::X,
                l.schedule != DispenseSchedule::Otc,
                l.schedule == DispenseSchedule::H1,
            )
        })
        .collect();
    DispenseRequest::parse(customer_id, &ids, &raw)
}
