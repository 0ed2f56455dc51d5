//! Vendor settlements in the API: commission rates (admins set them) and
//! settlement statements (admins issue them; the vendor's staff and admins
//! read them).

use super::state;
use crate::domain::settlement::bps_to_percent;
use crate::service;
use crate::store::settlements::{self as store, CommissionRow, SettlementRow};
use async_graphql::{Context, Object, SimpleObject, ID};
use janta_platform::auth::{principal, require_admin, Principal, Role};
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::money::Money;
use janta_platform::pagination::{build_connection, CountedConnection, Cursor, PageRequest};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};

/// A vendor of the users subgraph, referenced by ID.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Vendor", unresolvable)]
pub struct VendorRef {
    /// Vendor ID.
    pub id: ID,
}

/// A vendor's commission rate from a date on.
pub struct VendorCommission(pub CommissionRow);

#[Object]
impl VendorCommission {
    /// The vendor.
    async fn vendor(&self) -> VendorRef {
        VendorRef {
            id: ID(self.0.vendor_id.clone()),
        }
    }

    /// The rate in percent of net sales, two decimals ("8.00").
    async fn rate_percent(&self) -> String {
        bps_to_percent(self.0.rate_bps)
    }

    /// The first day it applies (India time).
    async fn effective_from(&self) -> Date {
        self.0.effective_from
    }

    /// When it was set.
    async fn set_at(&self) -> DateTime {
        self.0.set_at
    }
}

/// A settlement statement: what the marketplace pays a vendor for a period.
/// Immutable once issued.
pub struct Settlement(pub SettlementRow);

#[Object]
impl Settlement {
    /// Statement ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The vendor paid.
    async fn vendor(&self) -> VendorRef {
        VendorRef {
            id: ID(self.0.vendor_id.clone()),
        }
    }

    /// First day of the period (India time).
    async fn period_start(&self) -> Date {
        self.0.period_start
    }

    /// Last day of the period, inclusive.
    async fn period_end(&self) -> Date {
        self.0.period_end
    }

    /// Payments that captured money in the period.
    async fn payments_count(&self) -> i64 {
        self.0.payments_count
    }

    /// Money captured in the period.
    async fn captured(&self) -> Money {
        self.0.captured.into()
    }

    /// Money refunded in the period.
    async fn refunded(&self) -> Money {
        self.0.refunded.into()
    }

    /// The GST inside the net sales (captured − refunded): not the vendor's
    /// income, so TCS and TDS leave it out.
    async fn gst_in_sales(&self) -> Money {
        self.0.gst.into()
    }

    /// Net sales before GST (captured − refunded − GST): the base of TCS
    /// and TDS.
    async fn taxable_value(&self) -> Money {
        (self.0.captured - self.0.refunded - self.0.gst).into()
    }

    /// The commission rate applied, in percent ("8.00").
    async fn commission_rate_percent(&self) -> String {
        bps_to_percent(self.0.commission_rate_bps)
    }

    /// The marketplace's commission on net sales (GST included, as the
    /// customer paid them).
    async fn commission(&self) -> Money {
        self.0.commission.into()
    }

    /// GST collected at source (section 52) on the net taxable value.
    async fn tcs(&self) -> Money {
        self.0.tcs.into()
    }

    /// Income-tax deducted at source (section 194-O) on the net taxable
    /// value.
    async fn tds(&self) -> Money {
        self.0.tds.into()
    }

    /// What the vendor is paid: captured − refunded − commission − TCS − TDS.
    async fn payout(&self) -> Money {
        self.0.payout.into()
    }

    /// When it was issued.
    async fn issued_at(&self) -> DateTime {
        self.0.issued_at
    }
}

/// Whether `viewer` may read `vendor_id`'s settlements: its staff, admins.
fn may_read(viewer: &Principal, vendor_id: &str) -> bool {
    viewer.has_role(Role::Admin)
        || (viewer.vendor_id.as_deref() == Some(vendor_id)
            && (viewer.has_role(Role::VendorAdmin) || viewer.has_role(Role::Pharmacist)))
}

/// Settlement reads, merged into the query root.
#[derive(Default)]
pub struct SettlementQuery;

#[Object]
impl SettlementQuery {
    /// A settlement statement: for the vendor's staff and admins (null with
    /// a NOT_FOUND error otherwise).
    async fn settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Settlement ID")] id: ID,
    ) -> ApiResult<Option<Settlement>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let id = parse_id(&id, "id")?;
        match store::settlement(&state(ctx).store, &id).await? {
            Some(row) if may_read(viewer, &row.vendor_id) => Ok(Some(Settlement(row))),
            _ => Err(ApiError::not_found("settlement")),
        }
    }

    /// Settlement statements, newest period first: a vendor's staff see
    /// their vendor's; admins any vendor's (`vendorId`) or all.
    async fn vendor_settlements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor (admins; staff see their own)")] vendor_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100, default 20)")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page")] after: Option<String>,
    ) -> ApiResult<CountedConnection<Settlement>> {
        let viewer = principal(ctx)?;
        viewer.refuse_partner()?;
        let vendor = match vendor_id.map(|id| parse_id(&id, "vendorId")).transpose()? {
            Some(vendor) if may_read(viewer, &vendor) => Some(vendor),
            Some(_) => {
                return Err(ApiError::forbidden(
                    "you may read only your vendor's settlements",
                ))
            }
            None if viewer.has_role(Role::Admin) => None,
            None => Some(
                viewer
                    .vendor_id
                    .clone()
                    .filter(|v| may_read(viewer, v))
                    .ok_or_else(|| {
                        ApiError::forbidden("settlements are for a vendor's staff and admins")
                    })?,
            ),
        };
        let page = PageRequest::from_ctx(ctx, first, after)?;
        let (rows, total) = store::settlements(&state(ctx).store, vendor.as_deref(), &page).await?;
        let nodes = rows.into_iter().map(Settlement).collect();
        Ok(build_connection(&page, nodes, total, |s| Cursor {
            key: s.0.period_start.to_db(),
            id: s.0.id.clone(),
        }))
    }
}

/// Settlement writes (admins), merged into the mutation root.
#[derive(Default)]
pub struct SettlementMutation;

#[Object]
impl SettlementMutation {
    /// Sets a vendor's commission rate from a date on (admins). Rates are
    /// never edited: a change is a new rate from a later date.
    async fn set_vendor_commission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor")] vendor_id: ID,
        #[graphql(desc = "Percent of net sales, at most two decimals, e.g. \"8\"")]
        rate_percent: String,
        #[graphql(desc = "First day it applies (India time)")] effective_from: Date,
    ) -> ApiResult<VendorCommission> {
        require_admin(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let cause = Cause::of_request(ctx);
        let row = service::settlements::set_commission(
            state(ctx),
            &vendor_id,
            &rate_percent,
            effective_from,
            &cause,
        )
        .await?;
        Ok(VendorCommission(row))
    }

    /// Issues a vendor's settlement statement for days that are over
    /// (admins); a period overlapping an issued statement is refused.
    async fn issue_settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vendor")] vendor_id: ID,
        #[graphql(desc = "First day (India time)")] period_start: Date,
        #[graphql(desc = "Last day, inclusive")] period_end: Date,
    ) -> ApiResult<Settlement> {
        require_admin(ctx)?;
        let vendor_id = parse_id(&vendor_id, "vendorId")?;
        let cause = Cause::of_request(ctx);
        let row =
            service::settlements::issue(state(ctx), &vendor_id, period_start, period_end, &cause)
                .await?;
        Ok(Settlement(row))
    }
}
