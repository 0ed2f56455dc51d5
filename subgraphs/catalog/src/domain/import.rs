//! Bulk import from CSV text, free of I/O: the size bounds, the columns each
//! import understands (header names case-insensitive, in any order, with a
//! few spellings), one typed line per CSV record validated with the same
//! rules as the mutations that make the change by hand, and the natural key
//! that matches a medicine row to the master (so re-running a file finds
//! what it created).
//!
//! Line numbers are those of the file as a spreadsheet shows it: the header
//! is line 1, and a record with a quoted line break counts from its first line.

use super::{compliance, DosageForm, MedicineFields, Prices, RawMedicine, Schedule};
use chrono::NaiveDate;
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashMap;

/// Largest CSV text one import takes, in bytes: under the 2 MB request body
/// the router and subgraphs accept, with room for the JSON around it (10 000
/// medicines of typical length take about 1.3 MB).
pub const MAX_IMPORT_BYTES: usize = 1_900_000;
/// Most data rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 20_000;

/// A column an import understands.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name in reports and error messages.
    pub name: &'static str,
    /// Header spellings accepted besides the name (compared normalised).
    pub aliases: &'static [&'static str],
    /// Whether the file must have it.
    pub required: bool,
}

const fn column(name: &'static str, aliases: &'static [&'static str], required: bool) -> Column {
    Column {
        name,
        aliases,
        required,
    }
}

/// The columns of a medicine master file.
pub const MEDICINE_COLUMNS: [Column; 9] = [
    column("name", &["brand", "product", "medicine"], true),
    column("generic", &["generic name", "salt", "composition"], true),
    column("manufacturer", &["company", "marketer"], true),
    column("strength", &[], true),
    column("form", &["dosage form"], true),
    column("pack", &["pack size", "packing"], true),
    column("schedule", &[], true),
    column("hsn", &["hsn code"], true),
    column("category", &["category id"], true),
];

/// The columns of a vendor's listings and stock file. A row names its
/// medicine by `medicine_id` or by the master's natural key (name,
/// strength, form, manufacturer); price and MRP set the listing; a batch
/// number with expiry and quantity records received stock.
pub const LISTING_COLUMNS: [Column; 13] = [
    column("medicine_id", &["medicine"], false),
    column("name", &["brand", "product"], false),
    column("strength", &[], false),
    column("form", &["dosage form"], false),
    column("manufacturer", &["company", "marketer"], false),
    column("price", &["selling price"], false),
    column("mrp", &[], false),
    column("active", &[], false),
    column("min_shelf_life_days", &["min shelf life days"], false),
    column("batch", &["batch number", "batch no"], false),
    column("expiry", &["expires on", "expiry date"], false),
    column("quantity", &["qty"], false),
    column("batch_mrp", &[], false),
];

/// A header or column name compared loosely: lower case, without spaces,
/// underscores or hyphens ("Batch No" = "batch_no" = "batchno").
fn loose(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its line in the file (the header is line 1).
    pub line: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// A CSV file read against the columns of one import: the column
/// positions found in its header, the header names it ignored, and its
/// records with their line numbers.
#[derive(Debug)]
pub struct CsvTable {
    positions: HashMap<&'static str, usize>,
    width: usize,
    /// Header names that are none of the import's columns (not read).
    pub ignored: Vec<String>,
    records: Vec<(i64, csv::StringRecord)>,
}

/// One record of a [`CsvTable`].
pub struct CsvRow<'t> {
    table: &'t CsvTable,
    /// Its line in the file.
    pub line: i64,
    record: &'t csv::StringRecord,
}

impl CsvRow<'_> {
    /// The trimmed value of column `name` ("" when the file lacks the column).
    pub fn get(&self, name: &str) -> &str {
        self.table
            .positions
            .get(name)
            .and_then(|i| self.record.get(*i))
            .map_or("", str::trim)
    }

    /// Refuses a record whose field count is not the header's (extra empty
    /// fields, as spreadsheets write them, are fine), or that holds text
    /// decoded from something other than UTF-8.
    fn check_shape(&self) -> Result<(), String> {
        let width = self.table.width;
        let extra = self.record.iter().skip(width).any(|f| !f.trim().is_empty());
        if self.record.len() < width || extra {
            return Err(format!(
                "has {} fields but the header has {width} (a comma inside a value needs quotes)",
                self.record.len()
            ));
        }
        if self.record.iter().any(|f| f.contains('\u{FFFD}')) {
            return Err("contains text that was not UTF-8 (save the file as UTF-8)".to_string());
        }
        Ok(())
    }
}

impl CsvTable {
    /// Reads `text` (a leading byte-order mark is skipped; CRLF or LF line
    /// ends; fields quoted with `"`) against `columns`. BAD_USER_INPUT for
    /// the whole file when it is too large, has no header, repeats a
    /// column or lacks a required one; malformed records are refused one
    /// by one later ([`CsvTable::rows`]).
    pub fn parse(text: &str, columns: &[Column]) -> ApiResult<Self> {
        if text.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::bad_input(format!(
                "the CSV is {} bytes; one import takes at most {MAX_IMPORT_BYTES} (split the file)",
                text.len()
            )));
        }
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            Some(Ok(header)) => header,
            Some(Err(e)) => {
                return Err(ApiError::bad_input(format!(
                    "the CSV header is unreadable: {e}"
                )))
            }
            None => {
                return Err(ApiError::bad_input(
                    "the CSV is empty: it needs a header line",
                ))
            }
        };
        let (positions, ignored) = header_positions(&header, columns)?;
        let lines = LineIndex::new(text);
        let mut rows = Vec::new();
        for record in records {
            let record =
                record.map_err(|e| ApiError::bad_input(format!("the CSV is unreadable: {e}")))?;
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if rows.len() == MAX_IMPORT_ROWS {
                return Err(ApiError::bad_input(format!(
                    "one import takes at most {MAX_IMPORT_ROWS} rows (split the file)"
                )));
            }
            let line = record.position().map_or(0, |p| lines.line_of(p.byte()));
            rows.push((line, record));
        }
        Ok(CsvTable {
            positions,
            width: header.len(),
            ignored,
            records: rows,
        })
    }

    /// Whether the header has column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.positions.contains_key(name)
    }

    /// Number of data records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no data records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records in file order, each checked for its shape.
    pub fn rows(&self) -> impl Iterator<Item = Result<CsvRow<'_>, Rejection>> {
        self.records.iter().map(|(line, record)| {
            let row = CsvRow {
                table: self,
                line: *line,
                record,
            };
            row.check_shape().map(|()| row).map_err(|reason| Rejection {
                line: *line,
                reason,
            })
        })
    }
}

/// Where each line of a text starts, to name the line of a byte offset
/// (the CSV reader's own line count skips blank lines, and its record
/// offsets may point at the line breaks before the record).
struct LineIndex<'t> {
    bytes: &'t [u8],
    starts: Vec<u64>,
}

impl<'t> LineIndex<'t> {
    /// Line breaks are LF, CRLF or a lone CR.
    fn new(text: &'t str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            let lone_cr = *b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
            if *b == b'\n' || lone_cr {
                starts.push(i as u64 + 1);
            }
        }
        LineIndex { bytes, starts }
    }

    /// The 1-based line of the first character at or after `offset` that
    /// is not a line break.
    fn line_of(&self, mut offset: u64) -> i64 {
        while let Some(b'\r' | b'\n') = usize::try_from(offset).ok().and_then(|i| self.bytes.get(i))
        {
            offset += 1;
        }
        let line = self.starts.partition_point(|start| *start <= offset);
        i64::try_from(line).unwrap_or(i64::MAX)
    }
}

/// Which position each known column has in `header`, and the names not known.
fn header_positions(
    header: &csv::StringRecord,
    columns: &[Column],
) -> ApiResult<(HashMap<&'static str, usize>, Vec<String>)> {
    let mut positions = HashMap::new();
    let mut ignored = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = loose(raw);
        if name.is_empty() {
            continue;
        }
        let known = columns
            .iter()
            .find(|c| loose(c.name) == name || c.aliases.iter().any(|a| loose(a) == name));
        match known {
            Some(c) if positions.insert(c.name, i).is_some() => {
                return Err(ApiError::bad_input(format!(
                    "the CSV header has the column {} twice",
                    c.name
                )))
            }
            Some(_) => {}
            None => ignored.push(raw.trim().to_string()),
        }
    }
    let missing: Vec<&str> = columns
        .iter()
        .filter(|c| c.required && !positions.contains_key(c.name))
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        let expected: Vec<&str> = columns.iter().map(|c| c.name).collect();
        return Err(ApiError::bad_input(format!(
            "the CSV header lacks the column(s) {}; expected columns: {}",
            missing.join(", "),
            expected.join(", ")
        )));
    }
    Ok((positions, ignored))
}

/// Reads a dosage form as written in a file ("Tablet", "TABLET").
pub fn parse_form(raw: &str) -> ApiResult<DosageForm> {
    DosageForm::parse(&raw.trim().to_uppercase()).ok_or_else(|| {
        ApiError::bad_input(format!(
            "form \"{raw}\" is not a dosage form (TABLET, CAPSULE, SYRUP, … OTHER)"
        ))
    })
}

/// Reads a schedule as written in a file ("OTC", "h1", "Schedule H").
pub fn parse_schedule(raw: &str) -> ApiResult<Schedule> {
    let text = raw.trim().to_uppercase();
    let text = text.strip_prefix("SCHEDULE").unwrap_or(&text).trim();
    Schedule::parse(text).ok_or_else(|| {
        ApiError::bad_input(format!("schedule \"{raw}\" must be one of OTC, H, H1, X"))
    })
}

/// Where a medicine row's category comes from: an existing category's ID,
/// or a name (found case-insensitively, created when new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryRef {
    /// A category ID.
    Id(String),
    /// A category name (validated like `createCategory`'s).
    Name(String),
}

/// The category ID medicine rows are validated with until their category
/// is resolved (the nil UUID: never a real category).
const UNRESOLVED_CATEGORY: &str = "00000000-0000-0000-0000-000000000000";

/// A medicine master row, validated with [`MedicineFields::parse`] (the
/// rules of `createMedicine`).
#[derive(Debug, Clone)]
pub struct MedicineLine {
    /// Its line in the file.
    pub line: i64,
    /// The fields; `category_id` is set once `category` is resolved.
    pub fields: MedicineFields,
    /// Its category as the file names it.
    pub category: CategoryRef,
}

impl MedicineLine {
    /// Validates one record of a medicine file.
    pub fn parse(row: &CsvRow<'_>) -> ApiResult<Self> {
        let fields = MedicineFields::parse(RawMedicine {
            name: row.get("name"),
            generic_name: row.get("generic"),
            manufacturer: row.get("manufacturer"),
            strength: row.get("strength"),
            form: parse_form(row.get("form"))?,
            pack_size: row.get("pack"),
            schedule: parse_schedule(row.get("schedule"))?,
            hsn_code: row.get("hsn"),
            category_id: UNRESOLVED_CATEGORY,
        })?;
        let raw = row.get("category");
        let category = match janta_platform::ids::parse_id(raw, "category") {
            Ok(id) => CategoryRef::Id(id),
            Err(_) => CategoryRef::Name(super::parse_text(raw, "category", 2, 60)?),
        };
        Ok(MedicineLine {
            line: row.line,
            fields,
            category,
        })
    }

    /// Its natural key in the master.
    pub fn key(&self) -> String {
        let f = &self.fields;
        medicine_key(&f.name, &f.strength, f.form, &f.manufacturer)
    }
}

/// The natural key of a medicine: name, strength, form and manufacturer,
/// compared case-insensitively with whitespace collapsed (the master has
/// no unique constraint; this is what identifies a row of an import file
/// with a medicine already there).
pub fn medicine_key(name: &str, strength: &str, form: DosageForm, manufacturer: &str) -> String {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        norm(name),
        norm(strength),
        form.as_db(),
        norm(manufacturer)
    )
}

/// How a listings row names its medicine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MedicineRef {
    /// By ID.
    Id(String),
    /// By natural key ([`medicine_key`]).
    Key(String),
}

/// What a listings row sets on the listing (None: leaves it as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingTerms {
    /// Price and MRP (both or neither).
    pub prices: Option<Prices>,
    /// Offer it or not (blank: unchanged; true for a new listing).
    pub active: Option<bool>,
    /// Shelf life demanded at sale (blank: unchanged).
    pub min_shelf_life_days: Option<i64>,
}

/// Packs of a batch a listings row records as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLine {
    /// The batch number, upper-cased.
    pub number: String,
    /// Its expiry date.
    pub expires_on: NaiveDate,
    /// Packs received.
    pub quantity: i64,
    /// MRP printed on the packs (None: the listing's).
    pub mrp: Option<Paise>,
}

/// A vendor's listings row: a medicine, the listing's terms and optionally
/// a batch received, validated with the rules of `upsertListing` and
/// `receiveBatch`.
#[derive(Debug, Clone)]
pub struct ListingLine {
    /// Its line in the file.
    pub line: i64,
    /// The medicine it lists.
    pub medicine: MedicineRef,
    /// What it sets on the listing.
    pub terms: ListingTerms,
    /// The batch it records, if any.
    pub batch: Option<BatchLine>,
}

impl ListingLine {
    /// Validates one record of a listings file; `platform_min_shelf_life`
    /// is the least shelf life a listing may demand, `today` the day
    /// received batches must expire after.
    pub fn parse(
        row: &CsvRow<'_>,
        platform_min_shelf_life: i64,
        today: NaiveDate,
    ) -> ApiResult<Self> {
        Ok(ListingLine {
            line: row.line,
            medicine: medicine_ref(row)?,
            terms: listing_terms(row, platform_min_shelf_life)?,
            batch: batch_line(row, today)?,
        })
    }
}

fn medicine_ref(row: &CsvRow<'_>) -> ApiResult<MedicineRef> {
    let id = row.get("medicine_id");
    if !id.is_empty() {
        return janta_platform::ids::parse_id(id, "medicine_id").map(MedicineRef::Id);
    }
    let (name, strength, form, manufacturer) = (
        row.get("name"),
        row.get("strength"),
        row.get("form"),
        row.get("manufacturer"),
    );
    if [name, strength, form, manufacturer]
        .iter()
        .any(|v| v.is_empty())
    {
        return Err(ApiError::bad_input(
            "name the medicine by medicine_id, or by name, strength, form and manufacturer",
        ));
    }
    Ok(MedicineRef::Key(medicine_key(
        name,
        strength,
        parse_form(form)?,
        manufacturer,
    )))
}

fn listing_terms(row: &CsvRow<'_>, platform_min: i64) -> ApiResult<ListingTerms> {
    let prices = match (row.get("price"), row.get("mrp")) {
        ("", "") => None,
        (price, mrp) if !price.is_empty() && !mrp.is_empty() => Some(Prices::parse(price, mrp)?),
        _ => {
            return Err(ApiError::bad_input(
                "price and mrp go together: give both or neither",
            ))
        }
    };
    let active = match row.get("active").to_lowercase().as_str() {
        "" => None,
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        other => {
            return Err(ApiError::bad_input(format!(
                "active \"{other}\" must be true or false"
            )))
        }
    };
    let min_shelf_life_days = match row.get("min_shelf_life_days") {
        "" => None,
        days => Some(compliance::parse_min_shelf_life(
            whole_number(days, "min_shelf_life_days")?,
            platform_min,
        )?),
    };
    Ok(ListingTerms {
        prices,
        active,
        min_shelf_life_days,
    })
}

fn batch_line(row: &CsvRow<'_>, today: NaiveDate) -> ApiResult<Option<BatchLine>> {
    let (number, expiry, quantity, mrp) = (
        row.get("batch"),
        row.get("expiry"),
        row.get("quantity"),
        row.get("batch_mrp"),
    );
    if [number, expiry, quantity, mrp].iter().all(|v| v.is_empty()) {
        return Ok(None);
    }
    if number.is_empty() || expiry.is_empty() || quantity.is_empty() {
        return Err(ApiError::bad_input(
            "a batch needs batch, expiry and quantity (batch_mrp is optional)",
        ));
    }
    let expires_on = NaiveDate::parse_from_str(expiry, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_input(format!(
            "expiry \"{expiry}\" must be a date like 2027-03-31"
        ))
    })?;
    super::check_receivable_expiry(expires_on, today)?;
    let quantity = super::parse_quantity(
        whole_number(quantity, "quantity")?,
        "quantity",
        super::MAX_STOCK_CHANGE,
    )?;
    Ok(Some(BatchLine {
        number: super::parse_batch_number(number)?,
        expires_on,
        quantity,
        mrp: (!mrp.is_empty())
            .then(|| compliance::parse_batch_mrp(mrp))
            .transpose()?,
    }))
}

/// A whole number as written in a file ("12", "-3").
fn whole_number(raw: &str, field: &str) -> ApiResult<i32> {
    raw.parse()
        .map_err(|_| ApiError::bad_input(format!("{field} \"{raw}\" must be a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(table: &CsvTable) -> Vec<Result<i64, Rejection>> {
        table.rows().map(|r| r.map(|row| row.line)).collect()
    }

    const HEADER: &str = "Name,Generic Name,manufacturer,STRENGTH,form,pack,schedule,hsn,category";

    #[test]
    fn headers_match_loosely_in_any_order_and_unknown_ones_are_ignored() {
        let text = format!("\u{FEFF}Notes,{HEADER}\r\nx,Dolo 650,Paracetamol,Micro Labs,650 mg,tablet,strip of 15,otc,3004,Fever\r\n");
        let table = CsvTable::parse(&text, &MEDICINE_COLUMNS).unwrap();
        assert_eq!(table.ignored, vec!["Notes"]);
        let row = table.rows().next().unwrap().unwrap();
        assert_eq!(row.line, 2);
        let line = MedicineLine::parse(&row).unwrap();
        assert_eq!(line.fields.name, "Dolo 650");
        assert_eq!(line.fields.generic_name, "Paracetamol");
        assert_eq!(line.fields.form, DosageForm::Tablet);
        assert_eq!(line.fields.schedule, Schedule::Otc);
        assert_eq!(line.category, CategoryRef::Name("Fever".into()));
    }

    #[test]
    fn a_missing_or_repeated_column_refuses_the_file() {
        let err = CsvTable::parse("name,generic\nA,B\n", &MEDICINE_COLUMNS).unwrap_err();
        assert!(
            err.to_string()
                .contains("lacks the column(s) manufacturer, strength"),
            "{err}"
        );
        let err = CsvTable::parse(&format!("{HEADER},Name\n"), &MEDICINE_COLUMNS).unwrap_err();
        assert!(err.to_string().contains("column name twice"), "{err}");
        assert!(CsvTable::parse("", &MEDICINE_COLUMNS).is_err());
    }

    #[test]
    fn quoted_fields_keep_commas_and_line_breaks_and_lines_count_from_the_header() {
        let text = format!(
            "{HEADER}\n\"Crocin, Advance\",\"Para\ncetamol\",GSK,500 mg,TABLET,10,OTC,3004,Fever\nA,B,C\n\nD,E,F,1,TABLET,1,H,3004,X,,\n"
        );
        let table = CsvTable::parse(&text, &MEDICINE_COLUMNS).unwrap();
        let found = lines(&table);
        assert_eq!(found[0], Ok(2));
        let short = found[1].clone().unwrap_err();
        assert_eq!(short.line, 4, "the quoted line break counts");
        assert!(
            short.reason.contains("has 3 fields but the header has 9"),
            "{short:?}"
        );
        assert_eq!(
            found[2],
            Ok(6),
            "blank lines are skipped, trailing empty fields allowed"
        );
        let row = table.rows().next().unwrap().unwrap();
        assert_eq!(row.get("name"), "Crocin, Advance");
    }

    #[test]
    fn bad_values_are_refused_with_the_mutations_messages() {
        let table = CsvTable::parse(
            &format!("{HEADER}\nDolo,Para,Micro,650 mg,TABLET,15,Z,3004,Fever\n,Para,Micro,650 mg,TABLET,15,H,3004,Fever\n"),
            &MEDICINE_COLUMNS,
        )
        .unwrap();
        let errors: Vec<String> = table
            .rows()
            .map(|r| MedicineLine::parse(&r.unwrap()).unwrap_err().to_string())
            .collect();
        assert_eq!(errors[0], "schedule \"Z\" must be one of OTC, H, H1, X");
        assert_eq!(errors[1], "name must have at least 2 characters");
    }

    #[test]
    fn natural_keys_ignore_case_and_spacing() {
        assert_eq!(
            medicine_key("Dolo  650", "650 MG", DosageForm::Tablet, "Micro Labs"),
            medicine_key("dolo 650", "650 mg", DosageForm::Tablet, " micro labs ")
        );
        assert_ne!(
            medicine_key("Dolo 650", "650 mg", DosageForm::Tablet, "Micro Labs"),
            medicine_key("Dolo 650", "650 mg", DosageForm::Syrup, "Micro Labs")
        );
    }

    #[test]
    fn listing_rows_validate_prices_batches_and_quantities() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let header = "medicine_id,price,mrp,batch,expiry,quantity";
        let id = janta_platform::ids::new_id();
        let text = format!(
            "{header}\n{id},90,100,b-1,2027-06-30,10\n{id},90,100,B2,2026-11-30,10\n{id},90,100,B3,2027-06-30,-5\n{id},,,,,\n{id},120,100,,,\n"
        );
        let table = CsvTable::parse(&text, &LISTING_COLUMNS).unwrap();
        let parsed: Vec<ApiResult<ListingLine>> = table
            .rows()
            .map(|r| ListingLine::parse(&r.unwrap(), 30, today))
            .collect();
        let first = parsed[0].as_ref().unwrap();
        assert_eq!(first.batch.as_ref().unwrap().number, "B-1");
        assert_eq!(first.batch.as_ref().unwrap().quantity, 10);
        assert!(parsed[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("expired stock cannot be received"));
        assert_eq!(
            parsed[2].as_ref().unwrap_err().to_string(),
            "quantity must be positive"
        );
        let bare = parsed[3].as_ref().unwrap();
        assert_eq!((bare.terms.prices, &bare.batch), (None, &None));
        assert!(parsed[4]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("must not exceed the MRP"));
    }
}
