//! Vendor settlements: commission rates (effective-dated, never edited)
//! and settlement statements, computed from what the vendor's payments
//! captured and refunded in a period of India calendar days that has
//! ended, issued once, immutable, audited and announced.

use super::audit;
use crate::domain::settlement::{
    bps_to_percent, percent_to_bps, period_bounds, settle, PeriodSales, SettlementRates,
};
use crate::events::publish;
use crate::store::settlements::{self as store, CommissionRow, SettlementRow};
use crate::PaymentsState;
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Sets `vendor_id`'s commission to `rate_percent` from `effective_from` on.
pub async fn set_commission(
    state: &PaymentsState,
    vendor_id: &str,
    rate_percent: &str,
    effective_from: Date,
    cause: &Cause,
) -> ApiResult<CommissionRow> {
    let row = CommissionRow {
        vendor_id: vendor_id.to_string(),
        effective_from,
        rate_bps: percent_to_bps(rate_percent)?,
        set_by: cause.actor().to_string(),
        set_at: DateTime::now(),
    };
    let mut tx = state.store.begin().await?;
    if !store::insert_commission(&mut tx, &row).await? {
        return Err(ApiError::conflict(
            "this vendor already has a commission rate from that date; rates are never changed: add one from a later date",
        ));
    }
    let after = json!({"ratePercent": bps_to_percent(row.rate_bps), "effectiveFrom": effective_from.to_db()});
    audit(
        &mut tx,
        cause.actor(),
        "vendor_commission",
        vendor_id,
        "commission_set",
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// The settlement rates of this deployment (TCS, TDS) with `commission_bps`.
fn rates(state: &PaymentsState, commission_bps: i64) -> SettlementRates {
    SettlementRates {
        commission_bps,
        tcs_bps: i64::from(state.settlement.tcs_bps),
        tds_bps: i64::from(state.settlement.tds_bps),
    }
}

/// Issues `vendor_id`'s statement for the India calendar days
/// `first..=last`, which must have ended and not overlap an issued one.
pub async fn issue(
    state: &PaymentsState,
    vendor_id: &str,
    first: Date,
    last: Date,
    cause: &Cause,
) -> ApiResult<SettlementRow> {
    let (from, until) = period_bounds(first.0, last.0)?;
    if until > chrono::Utc::now() {
        return Err(ApiError::bad_input(
            "the period has not ended yet (India time): settle only days that are over",
        ));
    }
    let mut tx = state.store.begin().await?;
    store::lock_vendor(&mut tx, state.store.backend(), vendor_id).await?;
    if store::overlaps_issued(&mut tx, vendor_id, first, last).await? {
        return Err(ApiError::conflict(
            "a settlement for this vendor already covers part of that period",
        ));
    }
    let commission = store::commission_on(&mut tx, vendor_id, last)
        .await?
        .ok_or_else(|| {
            ApiError::bad_input("set the vendor's commission rate first (setVendorCommission)")
        })?;
    let totals = store::period_totals(&mut tx, vendor_id, DateTime(from), DateTime(until)).await?;
    let rates = rates(state, commission.rate_bps);
    let figures = settle(
        PeriodSales {
            captured: totals.captured,
            captured_tax: totals.captured_tax,
            refunded: totals.refunded,
            refunded_tax: totals.refunded_tax,
        },
        rates,
    );
    let row = SettlementRow {
        id: new_id(),
        vendor_id: vendor_id.to_string(),
        period_start: first,
        period_end: last,
        payments_count: totals.payments,
        captured: figures.captured,
        refunded: figures.refunded,
        gst: figures.gst,
        commission_rate_bps: rates.commission_bps,
        commission: figures.commission,
        tcs_rate_bps: rates.tcs_bps,
        tcs: figures.tcs,
        tds_rate_bps: rates.tds_bps,
        tds: figures.tds,
        payout: figures.payout,
        issued_by: cause.actor().to_string(),
        issued_at: DateTime::now(),
    };
    if !store::insert_settlement(&mut tx, &row).await? {
        return Err(ApiError::conflict(
            "a settlement for this vendor already starts on that day",
        ));
    }
    let after = json!({
        "periodStart": first.to_db(), "periodEnd": last.to_db(), "captured": row.captured,
        "refunded": row.refunded, "gst": row.gst, "commission": row.commission, "tcs": row.tcs, "tds": row.tds,
        "payout": row.payout,
    });
    audit(
        &mut tx,
        cause.actor(),
        "settlement",
        &row.id,
        "issued",
        None,
        Some(after),
    )
    .await?;
    publish::settlement_issued(&mut tx, &row, cause).await?;
    tx.commit().await?;
    Ok(row)
}
