//! Read operations and entity resolvers.

use super::{
    connection, dispense_request, existing, facts, load_prescription, owned_page, state,
    DispenseAuthorization, DispenseLineDecision, DispenseLineInput, DocumentUrl, OrderRef,
    Prescription, PrescriptionAccess, PrescriptionStatus, UserRef,
};
use crate::domain::{self, AccessAction, ReadGround};
use crate::service::{dispensing, documents};
use crate::store;
use async_graphql::{Context, Object, ID};
use janta_platform::auth::{principal, require_service_of};
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::pagination::{CountedConnection, PageRequest};
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};

/// Read operations.
#[derive(Default)]
pub struct PrescriptionQuery;

#[Object]
impl PrescriptionQuery {
    /// A prescription: for its customer, the pharmacists of the pharmacy it
    /// was submitted to, staff of a pharmacy dispensing against it, and
    /// platform admins with a `reason` (recorded in the audit trail).
    async fn prescription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] id: ID,
        #[graphql(
            desc = "Why you read it: required for platform admins (10 to 500 characters), recorded in the audit trail"
        )]
        reason: Option<String>,
    ) -> ApiResult<Option<Prescription>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let reason = domain::parse_reason(reason.as_deref())?;
        let id = parse_id(&id, "id")?;
        let rx = existing(ctx, &id).await?;
        let ground = domain::read_ground(viewer, &facts(&rx), reason.as_deref())?;
        if ground == ReadGround::Audit {
            let cause = Cause::of_request(ctx);
            documents::record_admin_read(&state(ctx).store, &id, reason.as_deref(), &cause).await?;
        }
        Ok(Some(rx.into()))
    }

    /// Your prescriptions, newest first.
    async fn my_prescriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only prescriptions in this status")] status: Option<PrescriptionStatus>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Prescription>> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        Ok(owned_page(ctx, &me.subject, status, first, after).await?)
    }

    /// The review queue of your pharmacy: prescriptions submitted to it and
    /// awaiting review, oldest first, never your own. Pharmacists only.
    async fn prescriptions_to_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Prescription>> {
        let me = principal(ctx)?;
        me.refuse_partner()?;
        let vendor_id = domain::reviewer_vendor(me)?;
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let (rows, total) =
            store::list_queue(&state(ctx).store, &me.subject, vendor_id, &page).await?;
        Ok(connection(&page, rows, total))
    }

    /// A short-lived, single-use signed link to a prescription's document,
    /// for whoever may read the prescription (see `prescription`; admins
    /// with a `reason`). Handing out the link and the download are both
    /// recorded in the audit trail.
    async fn prescription_document_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] id: ID,
        #[graphql(
            desc = "Why you open it: required for platform admins (10 to 500 characters), recorded in the audit trail"
        )]
        reason: Option<String>,
    ) -> ApiResult<DocumentUrl> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let reason = domain::parse_reason(reason.as_deref())?;
        let id = parse_id(&id, "id")?;
        let rx = existing(ctx, &id).await?;
        let ground = domain::read_ground(viewer, &facts(&rx), reason.as_deref())?;
        if rx.row.document_key.is_empty() {
            // Its owner's erasure deleted the file.
            return Err(ApiError::not_found("document"));
        }
        let cause = Cause::of_request(ctx);
        let link =
            documents::issue_document_link(state(ctx), &id, ground, reason.as_deref(), &cause)
                .await?;
        Ok(DocumentUrl {
            url: link.url,
            expires_at: DateTime(link.expires_at),
            content_type: rx.row.document_content_type,
        })
    }

    /// Who read a prescription or opened its document, on what ground and
    /// why, newest first: for its customer and platform admins.
    async fn prescription_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Prescription ID")] prescription_id: ID,
        #[graphql(desc = "How many of the newest entries (at most 500, default 100)")]
        limit: Option<i32>,
    ) -> ApiResult<Vec<PrescriptionAccess>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let id = parse_id(&prescription_id, "prescriptionId")?;
        let limit = domain::access_log_limit(limit)?;
        let rx = existing(ctx, &id).await?;
        domain::check_access_log_reader(viewer, &rx.row.owner_id)?;
        let actions = AccessAction::ALL.map(AccessAction::as_db);
        let rows = store::access_log(&state(ctx).store, &id, &actions, limit).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            entries.extend(PrescriptionAccess::from_row(row)?);
        }
        Ok(entries)
    }

    /// Service only (orders): whether the customer's offered prescriptions
    /// cover each line now — approved, unexpired, theirs, with enough left.
    /// Changes nothing; `consume` does.
    #[graphql(inaccessible)]
    async fn authorize_dispense(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer the order is for")] customer_id: ID,
        #[graphql(desc = "Prescriptions the customer offered for this order")]
        prescription_ids: Vec<ID>,
        #[graphql(desc = "The order's lines")] lines: Vec<DispenseLineInput>,
    ) -> ApiResult<DispenseAuthorization> {
        require_service_of(ctx, &["orders"])?;
        let request = dispense_request(&customer_id, &prescription_ids, &lines)?;
        let decisions = dispensing::authorize(&state(ctx).store, &request).await?;
        let lines: Vec<DispenseLineDecision> = decisions.into_iter().map(Into::into).collect();
        Ok(DispenseAuthorization {
            covered: lines.iter().all(|l| l.covered),
            lines,
        })
    }

    /// Resolves `Prescription` references from other subgraphs (batched;
    /// same access rules as `prescription`, without a reason: admins read
    /// through `prescription(id, reason)`).
    #[graphql(entity)]
    async fn find_prescription_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<Option<Prescription>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let Ok(id) = parse_id(&id, "id") else {
            return Ok(None);
        };
        let Some(rx) = load_prescription(ctx, &id).await? else {
            return Ok(None);
        };
        domain::read_ground(viewer, &facts(&rx), None)?;
        Ok(Some(rx.into()))
    }

    /// Resolves `User` references to add their `prescriptions`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> UserRef {
        UserRef { id: id.0 }
    }

    /// Resolves `Order` references to add their `prescriptions`.
    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> OrderRef {
        OrderRef { id: id.0 }
    }
}
