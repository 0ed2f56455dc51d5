//! SQL of pharmacy compliance: branches (GSTIN, shipping, invoice series),
//! the vendor's default shipping branch, retail drug licences and their
//! history, and the verified pharmacist appointment orders ask about.

use super::{AppointmentRow, BranchRow, BRANCH_COLUMNS};
use crate::domain::licences::{LicenceForm, SuspendedBy};
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::columns::time;
use janta_platform::ids::new_id;
use janta_platform::scalars::{now_db, Date};
use janta_platform::store::{fetch_in, Store};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

janta_platform::text_column!(LicenceForm, SuspendedBy);

/// One branch by ID.
pub async fn branch_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<BranchRow>> {
    sqlx::query_as(&format!(
        "SELECT {BRANCH_COLUMNS} FROM vendor_branches WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Many branches by ID in one statement (the `Vendor.shippingBranch` batch).
pub async fn branches_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<BranchRow>> {
    let sql = format!("SELECT {BRANCH_COLUMNS} FROM vendor_branches WHERE id IN ({{ids}})");
    fetch_in(store.pool(), &sql, ids).await
}

/// Makes `branch_id` the vendor's shipping branch if it has none yet (its
/// first shipping branch becomes the default); false when it had one.
pub async fn claim_shipping_branch(
    conn: &mut AnyConnection,
    vendor_id: &str,
    branch_id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE vendors SET shipping_branch_id = $2 WHERE id = $1 AND shipping_branch_id IS NULL",
    )
    .bind(vendor_id)
    .bind(branch_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `branch_id` the vendor's shipping branch (the caller checked that
/// it is the vendor's and ships).
pub async fn set_shipping_branch(
    conn: &mut AnyConnection,
    vendor_id: &str,
    branch_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE vendors SET shipping_branch_id = $2 WHERE id = $1")
        .bind(vendor_id)
        .bind(branch_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A retail drug licence as recorded (renewals are new rows).
#[derive(Debug, Clone)]
pub struct LicenceRow {
    pub id: String,
    pub vendor_id: String,
    pub form: LicenceForm,
    pub number: String,
    /// The last day it is valid.
    pub valid_until: NaiveDate,
    /// Who recorded it (a vendor admin or a platform admin).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for LicenceRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(LicenceRow {
            id: row.try_get("id")?,
            vendor_id: row.try_get("vendor_id")?,
            form: row.try_get("form")?,
            number: row.try_get("number")?,
            valid_until: row.try_get::<Date, _>("valid_until")?.0,
            recorded_by: row.try_get("recorded_by")?,
            recorded_at: time(row, "recorded_at")?,
        })
    }
}

const LICENCE_COLUMNS: &str = "id, vendor_id, form, number, valid_until, recorded_by, recorded_at";

/// Licences that are the latest recorded of their vendor and form: the
/// ones in force. A condition on `l`, the outer row.
const IS_LATEST: &str =
    "NOT EXISTS (SELECT 1 FROM drug_licences n WHERE n.vendor_id = l.vendor_id \
     AND n.form = l.form AND (n.recorded_at > l.recorded_at \
     OR (n.recorded_at = l.recorded_at AND n.id > l.id)))";

/// The fields of a licence record.
pub struct NewLicence<'a> {
    pub vendor_id: &'a str,
    pub form: LicenceForm,
    pub number: &'a str,
    pub valid_until: NaiveDate,
    pub recorded_by: &'a str,
}

/// Records a licence (or its renewal).
pub async fn insert_licence(
    conn: &mut AnyConnection,
    licence: &NewLicence<'_>,
) -> sqlx::Result<LicenceRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO drug_licences (id, vendor_id, form, number, valid_until, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(licence.vendor_id)
    .bind(licence.form)
    .bind(licence.number)
    .bind(Date(licence.valid_until))
    .bind(licence.recorded_by)
    .bind(now_db())
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {LICENCE_COLUMNS} FROM drug_licences WHERE id = $1"
    ))
    .bind(&id)
    .fetch_one(conn)
    .await
}

/// Every licence record of many vendors in one statement (the
/// `Vendor.drugLicences` batch), newest first.
pub async fn licences_of(store: &Store, vendor_ids: &[String]) -> sqlx::Result<Vec<LicenceRow>> {
    let sql = format!(
        "SELECT {LICENCE_COLUMNS} FROM drug_licences WHERE vendor_id IN ({{ids}}) \
         ORDER BY vendor_id, recorded_at DESC, id DESC"
    );
    fetch_in(store.pool(), &sql, vendor_ids).await
}

/// The licences in force of one vendor (the latest of each form), inside
/// the caller's transaction.
pub async fn latest_licences_of(
    conn: &mut AnyConnection,
    vendor_id: &str,
) -> sqlx::Result<Vec<LicenceRow>> {
    sqlx::query_as(&format!(
        "SELECT {LICENCE_COLUMNS} FROM drug_licences l WHERE l.vendor_id = $1 AND {IS_LATEST} \
         ORDER BY l.form"
    ))
    .bind(vendor_id)
    .fetch_all(conn)
    .await
}

/// Licences in force that are valid until `by` at the latest (expired ones
/// included), soonest first.
pub async fn latest_licences_until(store: &Store, by: NaiveDate) -> sqlx::Result<Vec<LicenceRow>> {
    sqlx::query_as(&format!(
        "SELECT {LICENCE_COLUMNS} FROM drug_licences l WHERE l.valid_until <= $1 AND {IS_LATEST} \
         ORDER BY l.valid_until, l.vendor_id, l.form"
    ))
    .bind(Date(by))
    .fetch_all(store.pool())
    .await
}

/// Vendors whose licence state the sweeper must look at: those with an
/// expired licence in force (valid until before `today`) and not
/// suspended, and those it suspended itself.
pub async fn vendors_to_sweep(store: &Store, today: NaiveDate) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT v.id FROM vendors v WHERE v.suspended_by = 'LICENCE' \
         OR (v.suspended_at IS NULL AND EXISTS (SELECT 1 FROM drug_licences l \
             WHERE l.vendor_id = v.id AND l.valid_until < $1 AND {IS_LATEST})) \
         ORDER BY v.id"
    ))
    .bind(Date(today))
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The verified appointment of `user_id` as pharmacist of `vendor_id`, if
/// they hold one (rejected, revoked and pending ones do not count).
pub async fn verified_appointment(
    store: &Store,
    user_id: &str,
    vendor_id: &str,
) -> sqlx::Result<Option<AppointmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM pharmacist_appointments \
         WHERE user_id = $1 AND vendor_id = $2 AND status = 'VERIFIED'",
        super::APPOINTMENT_COLUMNS
    ))
    .bind(user_id)
    .bind(vendor_id)
    .fetch_optional(store.pool())
    .await
}
