//! The rules of dispensing prescription orders (pharmacy compliance II):
//! schedule X is never sold online; an order with prescription lines leaves
//! `PACKED` only after one of the vendor's verified pharmacists recorded its
//! dispensing, having checked exactly the batches allocated to those lines;
//! every sale of a schedule H1 medicine goes into the vendor's H1 register
//! at dispatch, one entry per batch, read by that vendor's pharmacists and
//! admins and by platform admins, also as RFC 4180 CSV.

use super::{AllocatedBatch, Schedule, Status};
use chrono::NaiveDate;
use janta_platform::auth::{Principal, Role};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use std::collections::BTreeSet;

/// Longest period one H1 register read may span (a year, leap or not).
pub const MAX_REGISTER_DAYS: i64 = 366;
/// Longest dispensing note kept.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most batch numbers one dispensing may name.
pub const MAX_BATCHES_CHECKED: usize = 200;

/// Today's date in India (IST, UTC+05:30): the register is kept in Indian
/// calendar days.
pub fn india_today() -> NaiveDate {
    janta_platform::india::today()
}

/// Schedule X (narcotic and psychotropic) medicines are never sold online
/// (draft e-pharmacy rules): adding or checking out such a listing is
/// `BAD_USER_INPUT`, naming the listings in `extensions.details`.
pub fn refuse_schedule_x<'a>(
    lines: impl IntoIterator<Item = (&'a str, Schedule)>,
) -> ApiResult<()> {
    let listings: Vec<&str> = lines
        .into_iter()
        .filter(|(_, schedule)| *schedule == Schedule::X)
        .map(|(listing, _)| listing)
        .collect();
    if listings.is_empty() {
        return Ok(());
    }
    Err(janta_platform::pharmacy::schedule_x_refusal(&listings))
}

/// Who may record dispensing for an order of `vendor_id`: a pharmacist of
/// that vendor (users confirms the appointment is verified and in force).
pub fn check_dispenser(p: &Principal, vendor_id: &str) -> ApiResult<()> {
    if p.has_role(Role::Pharmacist) && p.vendor_id.as_deref() == Some(vendor_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only a verified pharmacist of the order's pharmacy records dispensing",
        ))
    }
}

/// Dispensing is recorded while the order is packed, before dispatch;
/// otherwise `CONFLICT`.
pub fn check_dispensable(status: Status) -> ApiResult<()> {
    if status == Status::Packed {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "dispensing is recorded while the order is PACKED (it is {})",
            status.as_db()
        )))
    }
}

/// The batches a dispensing must check: those allocated to the order's
/// prescription lines (schedule H, H1 or X).
pub fn prescription_batches<'a>(
    lines: impl IntoIterator<Item = (Schedule, &'a [AllocatedBatch])>,
) -> BTreeSet<String> {
    lines
        .into_iter()
        .filter(|(schedule, _)| schedule.requires_prescription())
        .flat_map(|(_, batches)| batches.iter().map(|b| b.batch_number.clone()))
        .collect()
}

/// Checks the batches a pharmacist says they checked against those
/// allocated to the prescription lines: exactly the same set, each once
/// (`BAD_USER_INPUT` with the missing and unexpected ones otherwise).
/// Returns them sorted.
pub fn check_batches(allocated: &BTreeSet<String>, checked: &[String]) -> ApiResult<Vec<String>> {
    if checked.len() > MAX_BATCHES_CHECKED {
        return Err(ApiError::bad_input(format!(
            "batchesChecked holds at most {MAX_BATCHES_CHECKED} batch numbers"
        )));
    }
    let mut seen = BTreeSet::new();
    for batch in checked {
        if !seen.insert(batch.trim().to_string()) {
            return Err(ApiError::bad_input(format!(
                "batch {} is named twice in batchesChecked",
                batch.trim()
            )));
        }
    }
    if &seen == allocated {
        return Ok(seen.into_iter().collect());
    }
    let missing: Vec<&String> = allocated.difference(&seen).collect();
    let unexpected: Vec<&String> = seen.difference(allocated).collect();
    Err(ApiError::bad_input(
        "batchesChecked must be exactly the batches allocated to the order's prescription lines",
    )
    .with_details(json!({ "missing": missing, "unexpected": unexpected })))
}

/// An optional dispensing note: blank is none; at most [`MAX_NOTE_CHARS`].
pub fn parse_note(raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(note) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if note.chars().count() > MAX_NOTE_CHARS || note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::bad_input(format!(
            "note must be at most {MAX_NOTE_CHARS} characters, without control characters"
        )));
    }
    Ok(Some(note.to_string()))
}

/// An order with prescription lines is dispatched (`OUT_FOR_DELIVERY`) only
/// after its dispensing was recorded: `BAD_USER_INPUT` saying so otherwise,
/// like the other refusals of a move the caller can fix.
pub fn check_dispatch(to: Status, needs_prescriptions: bool, dispensed: bool) -> ApiResult<()> {
    if to != Status::OutForDelivery || !needs_prescriptions || dispensed {
        return Ok(());
    }
    Err(ApiError::bad_input(
        "this order holds prescription medicines: one of the pharmacy's verified pharmacists \
         must record dispensing (dispenseOrder) before it is dispatched",
    ))
}

/// Who reads a vendor's H1 register: its pharmacists and vendor admins,
/// and platform admins.
pub fn check_register_reader(p: &Principal, vendor_id: &str) -> ApiResult<()> {
    if p.is_admin() || p.is_staff_of(vendor_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the pharmacy's pharmacists and admins, and platform admins, read its H1 register",
        ))
    }
}

/// A register period: `from` to `to` inclusive, at most [`MAX_REGISTER_DAYS`].
pub fn check_period(from: NaiveDate, to: NaiveDate) -> ApiResult<()> {
    if to < from {
        return Err(ApiError::bad_input("`to` cannot be before `from`"));
    }
    if (to - from).num_days() >= MAX_REGISTER_DAYS {
        return Err(ApiError::bad_input(format!(
            "a register read spans at most {MAX_REGISTER_DAYS} days"
        )));
    }
    Ok(())
}

/// The pharmacist who dispensed, as users confirmed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pharmacist {
    /// Their user ID.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Pharmacy council registration number.
    pub registration: String,
}

/// The patient and prescriber a prescription line was sold against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prescriber {
    /// The covering prescription.
    pub prescription_id: Option<String>,
    /// The patient named on it.
    pub patient_name: Option<String>,
    /// The prescriber.
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration number.
    pub prescriber_registration: Option<String>,
}

/// One entry of the H1 register: one batch of one H1 line sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H1Entry {
    /// Entry ID.
    pub id: String,
    /// The pharmacy.
    pub vendor_id: String,
    /// The order.
    pub order_id: String,
    /// The order line.
    pub order_line_id: String,
    /// Indian date of the sale (dispatch).
    pub sold_on: NaiveDate,
    /// When the order was dispatched (RFC 3339).
    pub dispatched_at: String,
    /// Patient, prescriber and their registration.
    pub prescriber: Prescriber,
    /// The medicine.
    pub medicine_id: String,
    /// Its name as sold.
    pub medicine_name: String,
    /// The batch.
    pub batch_number: String,
    /// Its expiry, "YYYY-MM-DD".
    pub batch_expires_on: String,
    /// Units from this batch.
    pub quantity: i64,
    /// Who dispensed.
    pub pharmacist: Pharmacist,
}

/// One H1 line of an order as the register needs it.
pub struct H1Line<'a> {
    /// The order line.
    pub id: &'a str,
    /// The medicine.
    pub medicine_id: &'a str,
    /// Its name as sold.
    pub medicine_name: &'a str,
    /// Its schedule (only H1 lines are registered).
    pub schedule: Schedule,
    /// Its batches.
    pub batches: &'a [AllocatedBatch],
    /// Its patient and prescriber snapshot.
    pub prescriber: Prescriber,
}

/// Facts of one sale (dispatch) for the register.
pub struct Sale<'a> {
    /// The pharmacy.
    pub vendor_id: &'a str,
    /// The order.
    pub order_id: &'a str,
    /// Indian date of dispatch.
    pub sold_on: NaiveDate,
    /// When (RFC 3339).
    pub dispatched_at: &'a str,
    /// Who dispensed.
    pub pharmacist: &'a Pharmacist,
}

/// The register entries of a sale: one per batch of every H1 line; `new_id`
/// names each.
pub fn register_entries(
    sale: &Sale<'_>,
    lines: &[H1Line<'_>],
    mut new_id: impl FnMut() -> String,
) -> Vec<H1Entry> {
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| l.schedule == Schedule::H1) {
        for batch in line.batches {
            out.push(H1Entry {
                id: new_id(),
                vendor_id: sale.vendor_id.to_string(),
                order_id: sale.order_id.to_string(),
                order_line_id: line.id.to_string(),
                sold_on: sale.sold_on,
                dispatched_at: sale.dispatched_at.to_string(),
                prescriber: line.prescriber.clone(),
                medicine_id: line.medicine_id.to_string(),
                medicine_name: line.medicine_name.to_string(),
                batch_number: batch.batch_number.clone(),
                batch_expires_on: batch.expires_on.clone(),
                quantity: batch.quantity,
                pharmacist: sale.pharmacist.clone(),
            });
        }
    }
    out
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
/// LF, with quotes doubled.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The header row of the register's CSV.
pub const CSV_HEADER: [&str; 14] = [
    "Date",
    "Order ID",
    "Patient name",
    "Prescriber name",
    "Prescriber registration",
    "Medicine",
    "Medicine ID",
    "Quantity",
    "Batch",
    "Batch expiry",
    "Pharmacist",
    "Pharmacist registration",
    "Pharmacist ID",
    "Dispatched at",
];

/// The register as RFC 4180 CSV: a header row, then one row per entry,
/// CRLF line ends.
pub fn register_csv(entries: &[H1Entry]) -> String {
    let mut out = String::new();
    let mut row = |fields: &[&str]| {
        let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    row(&CSV_HEADER);
    for e in entries {
        let sold_on = e.sold_on.format("%Y-%m-%d").to_string();
        let quantity = e.quantity.to_string();
        let p = &e.prescriber;
        row(&[
            &sold_on,
            &e.order_id,
            p.patient_name.as_deref().unwrap_or(""),
            p.prescriber_name.as_deref().unwrap_or(""),
            p.prescriber_registration.as_deref().unwrap_or(""),
            &e.medicine_name,
            &e.medicine_id,
            &quantity,
            &e.batch_number,
            &e.batch_expires_on,
            &e.pharmacist.name,
            &e.pharmacist.registration,
            &e.pharmacist.id,
            &e.dispatched_at,
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use janta_platform::ErrorCode;

    fn principal(roles: &[Role], vendor: Option<&str>) -> Principal {
        Principal {
            subject: "u1".into(),
            roles: roles.to_vec(),
            vendor_id: vendor.map(str::to_string),
            scopes: vec![],
        }
    }

    fn batch(number: &str, quantity: i64) -> AllocatedBatch {
        AllocatedBatch {
            batch_number: number.into(),
            expires_on: "2027-06-30".into(),
            quantity,
            mrp: None,
        }
    }

    #[test]
    fn schedule_x_is_refused_by_name() {
        assert!(refuse_schedule_x([("l1", Schedule::H), ("l2", Schedule::Otc)]).is_ok());
        let err = refuse_schedule_x([("l1", Schedule::H1), ("l2", Schedule::X)]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadUserInput);
        assert!(err.to_string().contains("Schedule X"), "{err}");
        assert!(err.to_string().contains("not sold online"), "{err}");
    }

    #[test]
    fn only_the_vendors_pharmacists_dispense() {
        assert!(check_dispenser(&principal(&[Role::Pharmacist], Some("v1")), "v1").is_ok());
        for p in [
            principal(&[Role::Pharmacist], Some("v2")),
            principal(&[Role::VendorAdmin], Some("v1")),
            principal(&[Role::Admin], None),
            principal(&[Role::Customer], None),
        ] {
            assert_eq!(
                check_dispenser(&p, "v1").unwrap_err().code(),
                ErrorCode::Forbidden
            );
        }
    }

    #[test]
    fn dispensing_happens_while_packed_and_gates_dispatch() {
        assert!(check_dispensable(Status::Packed).is_ok());
        for s in [Status::Confirmed, Status::OutForDelivery, Status::Cancelled] {
            assert_eq!(
                check_dispensable(s).unwrap_err().code(),
                ErrorCode::Conflict
            );
        }
        let refused = check_dispatch(Status::OutForDelivery, true, false).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::BadUserInput);
        assert!(refused.to_string().contains("dispenseOrder"));
        assert!(check_dispatch(Status::OutForDelivery, true, true).is_ok());
        assert!(check_dispatch(Status::OutForDelivery, false, false).is_ok());
        assert!(check_dispatch(Status::Cancelled, true, false).is_ok());
    }

    #[test]
    fn batches_checked_are_exactly_the_prescription_batches() {
        let (b1, b2, otc) = ([batch("B1", 2)], [batch("B2", 1)], [batch("O1", 5)]);
        let allocated = prescription_batches([
            (Schedule::H1, &b1[..]),
            (Schedule::H, &b2[..]),
            (Schedule::Otc, &otc[..]),
        ]);
        assert_eq!(allocated.len(), 2);
        let ok = check_batches(&allocated, &[" B2 ".into(), "B1".into()]).unwrap();
        assert_eq!(ok, ["B1", "B2"]);
        for wrong in [
            vec!["B1".to_string()],
            vec!["B1".into(), "B2".into(), "O1".into()],
            vec!["B1".into(), "B1".into(), "B2".into()],
            vec![],
        ] {
            let err = check_batches(&allocated, &wrong).unwrap_err();
            assert_eq!(err.code(), ErrorCode::BadUserInput, "{wrong:?}");
        }
    }

    #[test]
    fn notes_and_periods_are_bounded() {
        assert_eq!(parse_note(Some("   ")).unwrap(), None);
        assert_eq!(parse_note(Some(" ok ")).unwrap().as_deref(), Some("ok"));
        assert!(parse_note(Some(&"x".repeat(501))).is_err());
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(check_period(day, day).is_ok());
        assert!(check_period(day, day - Duration::days(1)).is_err());
        assert!(check_period(day, day + Duration::days(365)).is_ok());
        assert!(check_period(day, day + Duration::days(366)).is_err());
    }

    #[test]
    fn register_readers_are_the_vendors_staff_and_admins() {
        assert!(check_register_reader(&principal(&[Role::Pharmacist], Some("v1")), "v1").is_ok());
        assert!(check_register_reader(&principal(&[Role::VendorAdmin], Some("v1")), "v1").is_ok());
        assert!(check_register_reader(&principal(&[Role::Admin], None), "v1").is_ok());
        assert!(check_register_reader(&principal(&[Role::Pharmacist], Some("v2")), "v1").is_err());
        assert!(check_register_reader(&principal(&[Role::Customer], None), "v1").is_err());
    }

    #[test]
    fn h1_lines_are_registered_per_batch_and_printed_as_csv() {
        let pharmacist = Pharmacist {
            id: "p1".into(),
            name: "Priya Pharmacist".into(),
            registration: "KSPC/2019/1234".into(),
        };
        let sale = Sale {
            vendor_id: "v1",
            order_id: "o1",
            sold_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            dispatched_at: "2026-12-01T05:00:00Z",
            pharmacist: &pharmacist,
        };
        let (h1, h) = ([batch("B1", 2), batch("B2", 1)], [batch("B3", 1)]);
        let prescriber = Prescriber {
            prescription_id: Some("rx1".into()),
            patient_name: Some("Chitra \"Chi\" Customer".into()),
            prescriber_name: Some("Dr. Rao, MD".into()),
            prescriber_registration: Some("KMC 45678".into()),
        };
        let lines = [
            H1Line {
                id: "l1",
                medicine_id: "m1",
                medicine_name: "Alprazolam 0.25 mg",
                schedule: Schedule::H1,
                batches: &h1,
                prescriber: prescriber.clone(),
            },
            H1Line {
                id: "l2",
                medicine_id: "m2",
                medicine_name: "Amoxicillin",
                schedule: Schedule::H,
                batches: &h,
                prescriber,
            },
        ];
        let mut n = 0;
        let entries = register_entries(&sale, &lines, || {
            n += 1;
            format!("e{n}")
        });
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[1].batch_number.as_str(), entries[1].quantity),
            ("B2", 1)
        );
        let csv = register_csv(&entries);
        let rows: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(rows.len(), 4, "header, two entries, trailing empty");
        assert!(rows[0].starts_with("Date,Order ID,Patient name,"));
        assert_eq!(
            rows[1],
            "2026-12-01,o1,\"Chitra \"\"Chi\"\" Customer\",\"Dr. Rao, MD\",KMC 45678,\
             Alprazolam 0.25 mg,m1,2,B1,2027-06-30,Priya Pharmacist,KSPC/2019/1234,p1,\
             2026-12-01T05:00:00Z"
        );
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
