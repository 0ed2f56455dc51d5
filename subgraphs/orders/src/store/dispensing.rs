//! Dispensing records, the patient and prescriber snapshots of prescription
//! lines, and the H1 register. The register and the dispensing records are
//! append-only: triggers on both backends refuse `UPDATE` and `DELETE`.

use crate::domain::dispensing::{H1Entry, Pharmacist, Prescriber};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::{placeholders, Store};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

/// Most register entries one read returns (a busy pharmacy's year of H1
/// sales fits many times over).
pub const MAX_REGISTER_ROWS: i64 = 50_000;

/// Snapshots the patient and prescriber of a prescription line (checkout).
pub async fn insert_line_prescriber(
    conn: &mut AnyConnection,
    order_line_id: &str,
    order_id: &str,
    p: &Prescriber,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO order_line_prescribers (order_line_id, order_id, prescription_id, \
         patient_name, prescriber_name, prescriber_registration) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_line_id)
    .bind(order_id)
    .bind(p.prescription_id.as_deref())
    .bind(p.patient_name.as_deref())
    .bind(p.prescriber_name.as_deref())
    .bind(p.prescriber_registration.as_deref())
    .execute(conn)
    .await
    .map(|_| ())
}

/// (line, prescription, patient, prescriber, registration) as stored.
type PrescriberColumns = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The patient and prescriber snapshots of an order's lines (line ID → facts).
pub async fn line_prescribers(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Vec<(String, Prescriber)>> {
    let rows: Vec<PrescriberColumns> = sqlx::query_as(
        "SELECT order_line_id, prescription_id, patient_name, prescriber_name, \
         prescriber_registration FROM order_line_prescribers WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(prescriber_of).collect())
}

/// The patient and prescriber snapshots of many order lines in one
/// statement (line ID → facts; lines sold without a prescription have none).
pub async fn prescribers_of_lines(
    store: &Store,
    line_ids: &[String],
) -> sqlx::Result<Vec<(String, Prescriber)>> {
    if line_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT order_line_id, prescription_id, patient_name, prescriber_name, \
         prescriber_registration FROM order_line_prescribers WHERE order_line_id IN ({})",
        placeholders(1, line_ids.len())
    );
    let mut query = sqlx::query_as::<_, PrescriberColumns>(&sql);
    for id in line_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(prescriber_of).collect())
}

fn prescriber_of(
    (line, rx, patient, name, registration): PrescriberColumns,
) -> (String, Prescriber) {
    (
        line,
        Prescriber {
            prescription_id: rx,
            patient_name: patient,
            prescriber_name: name,
            prescriber_registration: registration,
        },
    )
}

/// An order's recorded dispensing.
#[derive(Debug, Clone)]
pub struct DispensingRow {
    /// The order.
    pub order_id: String,
    /// Its vendor.
    pub vendor_id: String,
    /// Who dispensed.
    pub pharmacist: Pharmacist,
    /// The batches they checked, sorted.
    pub batches_checked: Vec<String>,
    /// Their note.
    pub note: Option<String>,
    /// When.
    pub dispensed_at: DateTime,
}

impl FromRow<'_, AnyRow> for DispensingRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let batches: String = row.try_get("batches_checked")?;
        Ok(DispensingRow {
            order_id: row.try_get("order_id")?,
            vendor_id: row.try_get("vendor_id")?,
            pharmacist: Pharmacist {
                id: row.try_get("pharmacist_id")?,
                name: row.try_get("pharmacist_name")?,
                registration: row.try_get("pharmacist_registration")?,
            },
            batches_checked: serde_json::from_str(&batches).map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "batches_checked".into(),
                    source: e.into(),
                }
            })?,
            note: row.try_get("note")?,
            dispensed_at: row.try_get("dispensed_at")?,
        })
    }
}

const DISPENSING_COLUMNS: &str = "order_id, vendor_id, pharmacist_id, pharmacist_name, \
    pharmacist_registration, batches_checked, note, dispensed_at";

/// Records an order's dispensing; false when it already has one.
pub async fn insert_dispensing(conn: &mut AnyConnection, d: &DispensingRow) -> sqlx::Result<bool> {
    let batches =
        serde_json::to_string(&d.batches_checked).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let done = sqlx::query(&format!(
        "INSERT INTO order_dispensings ({DISPENSING_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id) DO NOTHING"
    ))
    .bind(&d.order_id)
    .bind(&d.vendor_id)
    .bind(&d.pharmacist.id)
    .bind(&d.pharmacist.name)
    .bind(&d.pharmacist.registration)
    .bind(batches)
    .bind(d.note.as_deref())
    .bind(d.dispensed_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An order's dispensing, inside a transaction.
pub async fn dispensing_of(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Option<DispensingRow>> {
    sqlx::query_as(&format!(
        "SELECT {DISPENSING_COLUMNS} FROM order_dispensings WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(conn)
    .await
}

/// The dispensings of many orders in one statement (DataLoader).
pub async fn dispensings_of_orders(
    store: &Store,
    order_ids: &[String],
) -> sqlx::Result<Vec<DispensingRow>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {DISPENSING_COLUMNS} FROM order_dispensings WHERE order_id IN ({})",
        placeholders(1, order_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in order_ids {
        query = query.bind(id);
    }
    query.fetch_all(store.pool()).await
}

/// Appends one entry to the H1 register.
pub async fn insert_h1_entry(conn: &mut AnyConnection, e: &H1Entry) -> sqlx::Result<()> {
    let p = &e.prescriber;
    sqlx::query(
        "INSERT INTO h1_register (id, vendor_id, order_id, order_line_id, sold_on, dispatched_at, \
         patient_name, prescriber_name, prescriber_registration, medicine_id, medicine_name, \
         batch_number, batch_expires_on, quantity, pharmacist_id, pharmacist_name, \
         pharmacist_registration) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&e.id)
    .bind(&e.vendor_id)
    .bind(&e.order_id)
    .bind(&e.order_line_id)
    .bind(Date(e.sold_on))
    .bind(&e.dispatched_at)
    .bind(p.patient_name.as_deref())
    .bind(p.prescriber_name.as_deref())
    .bind(p.prescriber_registration.as_deref())
    .bind(&e.medicine_id)
    .bind(&e.medicine_name)
    .bind(&e.batch_number)
    .bind(&e.batch_expires_on)
    .bind(e.quantity)
    .bind(&e.pharmacist.id)
    .bind(&e.pharmacist.name)
    .bind(&e.pharmacist.registration)
    .execute(conn)
    .await
    .map(|_| ())
}

fn h1_entry(row: &AnyRow) -> sqlx::Result<H1Entry> {
    let sold_on: Date = row.try_get("sold_on")?;
    Ok(H1Entry {
        id: row.try_get("id")?,
        vendor_id: row.try_get("vendor_id")?,
        order_id: row.try_get("order_id")?,
        order_line_id: row.try_get("order_line_id")?,
        sold_on: sold_on.0,
        dispatched_at: row.try_get("dispatched_at")?,
        prescriber: Prescriber {
            prescription_id: None,
            patient_name: row.try_get("patient_name")?,
            prescriber_name: row.try_get("prescriber_name")?,
            prescriber_registration: row.try_get("prescriber_registration")?,
        },
        medicine_id: row.try_get("medicine_id")?,
        medicine_name: row.try_get("medicine_name")?,
        batch_number: row.try_get("batch_number")?,
        batch_expires_on: row.try_get("batch_expires_on")?,
        quantity: row.try_get("quantity")?,
        pharmacist: Pharmacist {
            id: row.try_get("pharmacist_id")?,
            name: row.try_get("pharmacist_name")?,
            registration: row.try_get("pharmacist_registration")?,
        },
    })
}

/// A vendor's H1 register from `from` to `to` (Indian dates, inclusive),
/// oldest first, at most [`MAX_REGISTER_ROWS`] entries.
pub async fn h1_register(
    store: &Store,
    vendor_id: &str,
    from: Date,
    to: Date,
) -> sqlx::Result<Vec<H1Entry>> {
    let rows = sqlx::query(
        "SELECT id, vendor_id, order_id, order_line_id, sold_on, dispatched_at, patient_name, \
         prescriber_name, prescriber_registration, medicine_id, medicine_name, batch_number, \
         batch_expires_on, quantity, pharmacist_id, pharmacist_name, pharmacist_registration \
         FROM h1_register WHERE vendor_id = $1 AND sold_on >= $2 AND sold_on <= $3 \
         ORDER BY sold_on, dispatched_at, order_id, medicine_name, batch_number LIMIT $4",
    )
    .bind(vendor_id)
    .bind(from)
    .bind(to)
    .bind(MAX_REGISTER_ROWS)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(h1_entry).collect()
}
