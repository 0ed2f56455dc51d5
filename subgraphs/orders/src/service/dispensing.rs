//! A pharmacist's dispensing of a prescription order, and the H1 register.
//! `dispense` records, once, which of the vendor's verified pharmacists
//! checked which batches while the order was packed (users confirms the
//! appointment); `dispatch_in` runs inside the transaction that moves an
//! order to `OUT_FOR_DELIVERY`: it refuses an undispensed prescription order
//! and appends every H1 sale to the vendor's register.

use crate::domain::dispensing::{
    self, check_batches, check_dispatch, check_dispensable, prescription_batches, register_entries,
    H1Entry, H1Line, Sale,
};
use crate::domain::Status;
use crate::store::{self, DispensingRow, OrderRow};
use crate::{audit, OrdersState};
use chrono::NaiveDate;
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// A pharmacist's dispensing as asked.
pub struct DispenseRequest<'a> {
    /// The order.
    pub order_id: &'a str,
    /// The pharmacist (already checked to be of the order's vendor).
    pub pharmacist_id: &'a str,
    /// Batch numbers they checked.
    pub batches_checked: &'a [String],
    /// Their note (validated).
    pub note: Option<String>,
}

/// Records the dispensing of a packed prescription order by one of its
/// vendor's verified pharmacists (asked of users: `FORBIDDEN` when not
/// verified or revoked). The batches checked must be exactly those
/// allocated to the prescription lines. A second dispensing is `CONFLICT`.
pub async fn dispense(
    state: &OrdersState,
    order: &OrderRow,
    request: &DispenseRequest<'_>,
    cause: &Cause,
) -> ApiResult<DispensingRow> {
    let pharmacist = state
        .peers
        .pharmacist_appointment(request.pharmacist_id, &order.vendor_id, cause.correlation())
        .await?
        .filter(|p| p.id == request.pharmacist_id)
        .ok_or_else(|| {
            ApiError::forbidden(
                "your pharmacist registration with this pharmacy is not verified (or was revoked)",
            )
        })?;
    let mut tx = state.store.begin().await?;
    let order = store::order_by_id(&mut tx, request.order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    if store::dispensing_of(&mut tx, &order.id).await?.is_some() {
        return Err(ApiError::conflict(
            "this order's dispensing is already recorded",
        ));
    }
    check_dispensable(order.status)?;
    let lines = store::lines_of_order(&mut tx, &order.id).await?;
    let allocated = prescription_batches(lines.iter().map(|l| (l.schedule, &l.batches[..])));
    if allocated.is_empty() {
        return Err(ApiError::bad_input(
            "this order holds no prescription medicines: there is no dispensing to record",
        ));
    }
    let batches_checked = check_batches(&allocated, request.batches_checked)?;
    let row = DispensingRow {
        order_id: order.id.clone(),
        vendor_id: order.vendor_id.clone(),
        pharmacist,
        batches_checked,
        note: request.note.clone(),
        dispensed_at: DateTime::now(),
    };
    if !store::insert_dispensing(&mut tx, &row).await? {
        return Err(ApiError::conflict(
            "this order's dispensing is already recorded",
        ));
    }
    let after = json!({
        "pharmacistId": row.pharmacist.id,
        "pharmacistName": row.pharmacist.name,
        "pharmacistRegistration": row.pharmacist.registration,
        "batchesChecked": row.batches_checked,
        "note": row.note,
    });
    audit(
        &mut tx,
        cause.actor(),
        "order",
        &order.id,
        "dispensed",
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Inside the transaction moving `order` to `to`: an order with
/// prescription lines is dispatched only once dispensed (`BAD_USER_INPUT`
/// otherwise), and dispatching it appends its H1 lines to the vendor's
/// register, one entry per batch, from the order's snapshots.
pub async fn dispatch_in(
    conn: &mut AnyConnection,
    order: &OrderRow,
    to: Status,
    cause: &Cause,
) -> ApiResult<()> {
    if to != Status::OutForDelivery {
        return Ok(());
    }
    let needs_rx = store::order_needs_prescriptions(conn, &order.id).await?;
    let dispensed = store::dispensing_of(conn, &order.id).await?;
    check_dispatch(to, needs_rx, dispensed.is_some())?;
    let Some(dispensed) = dispensed else {
        return Ok(());
    };
    let lines = store::lines_of_order(conn, &order.id).await?;
    let mut prescribers: HashMap<String, _> = store::line_prescribers(conn, &order.id)
        .await?
        .into_iter()
        .collect();
    let h1: Vec<H1Line<'_>> = lines
        .iter()
        .map(|l| H1Line {
            id: &l.id,
            medicine_id: &l.medicine_id,
            medicine_name: &l.medicine_name,
            schedule: l.schedule,
            batches: &l.batches,
            prescriber: prescribers.remove(&l.id).unwrap_or_default(),
        })
        .collect();
    let dispatched_at = DateTime::now();
    let sale = Sale {
        vendor_id: &order.vendor_id,
        order_id: &order.id,
        sold_on: dispensing::india_today(),
        dispatched_at: &janta_platform::scalars::to_db_time(dispatched_at.0),
        pharmacist: &dispensed.pharmacist,
    };
    let entries = register_entries(&sale, &h1, new_id);
    for entry in &entries {
        store::insert_h1_entry(conn, entry).await?;
    }
    if !entries.is_empty() {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({ "entryId": e.id, "medicineId": e.medicine_id,
                             "batch": e.batch_number, "quantity": e.quantity })
            })
            .collect();
        let after = Some(json!({ "soldOn": Date(sale.sold_on).to_db(), "entries": rows }));
        audit(
            conn,
            cause.actor(),
            "order",
            &order.id,
            "h1_registered",
            None,
            after,
        )
        .await?;
    }
    Ok(())
}

/// A vendor's H1 register over a period (checked by the caller).
pub async fn register(
    state: &OrdersState,
    vendor_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<H1Entry>> {
    Ok(store::h1_register(&state.store, vendor_id, Date(from), Date(to)).await?)
}
