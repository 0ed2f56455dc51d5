//! The demo catalog as data: one CSV file per table in `subgraphs/catalog/demo/`,
//! embedded with `include_str!` so the binary stays self-contained, and parsed
//! into typed, validated rows before anything is written.
//!
//! Why CSV rather than one TOML file: every table is flat, so CSV keeps one
//! row per line (short diffs, opens in a spreadsheet) where TOML would need a
//! key per field, and the `csv` reader reports the line of every record, so a
//! bad row is an error naming its file and line. Lines starting with `#` are
//! comments that document the columns.

use crate::domain::{self, compliance, DosageForm, MedicineFields, Prices, RawMedicine, Schedule};
use anyhow::anyhow;
use chrono::NaiveDate;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_platform::money::Paise;
use janta_platform::ApiError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt::Display;

/// The text of each demo file; tests swap one for a broken copy.
#[derive(Clone, Copy)]
pub(super) struct Files<'a> {
    pub categories: &'a str,
    pub tax_slabs: &'a str,
    pub medicines: &'a str,
    pub listings: &'a str,
    pub batches: &'a str,
    pub alternatives: &'a str,
}

/// The files compiled into the binary.
pub(super) const EMBEDDED: Files<'static> = Files {
    categories: include_str!("../../demo/categories.csv"),
    tax_slabs: include_str!("../../demo/tax_slabs.csv"),
    medicines: include_str!("../../demo/medicines.csv"),
    listings: include_str!("../../demo/listings.csv"),
    batches: include_str!("../../demo/batches.csv"),
    alternatives: include_str!("../../demo/alternatives.csv"),
};

/// Every demo row, validated, in file order.
pub(super) struct DemoData {
    pub categories: Vec<Category>,
    pub tax_slabs: Vec<TaxSlab>,
    pub medicines: Vec<Medicine>,
    pub listings: Vec<Listing>,
    pub batches: Vec<Batch>,
    pub alternatives: Vec<Alternatives>,
}

/// A medicine category.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Category {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// A GST slab for an HSN prefix.
pub(super) struct TaxSlab {
    pub hsn_code: String,
    /// Basis points (500 = 5 %).
    pub rate_bp: i64,
    pub effective_from: NaiveDate,
    pub description: String,
}

/// A medicine's first version.
pub(super) struct Medicine {
    pub id: String,
    pub fields: MedicineFields,
}

/// A listing of a medicine at a demo vendor.
pub(super) struct Listing {
    pub id: String,
    pub vendor_id: &'static str,
    pub medicine_id: String,
    pub prices: Prices,
    /// Shelf life demanded at sale, in days (None: the platform minimum).
    pub min_shelf_life_days: Option<i64>,
}

/// A received batch of a listing.
pub(super) struct Batch {
    pub id: String,
    pub listing_id: String,
    pub number: String,
    pub expires: Expiry,
    pub quantity: i64,
    /// MRP printed on its packs (None: the listing's MRP).
    pub mrp: Option<Paise>,
}

/// When a batch expires: on a fixed date, or some days after seeding so
/// that demo stock stays sellable whenever the demo starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    On(NaiveDate),
    DaysAfterSeeding(u64),
}

impl Expiry {
    /// The expiry date for a seed run on `today`.
    pub fn date(self, today: NaiveDate) -> NaiveDate {
        match self {
            Expiry::On(date) => date,
            Expiry::DaysAfterSeeding(days) => today + chrono::Days::new(days),
        }
    }
}

/// A medicine's ranked generic alternatives, best first.
pub(super) struct Alternatives {
    pub medicine_id: String,
    pub ranked: Vec<String>,
}

impl DemoData {
    /// Parses and validates the embedded files.
    pub fn load() -> anyhow::Result<Self> {
        Self::parse(&EMBEDDED)
    }

    /// Parses and validates `files`, checking references between them.
    pub fn parse(files: &Files<'_>) -> anyhow::Result<Self> {
        let categories = parse_categories(files.categories)?;
        let category_ids = ids(categories.iter().map(|c| &c.id));
        let medicines = parse_medicines(files.medicines, &category_ids)?;
        let medicine_ids = ids(medicines.iter().map(|m| &m.id));
        let listings = parse_listings(files.listings, &medicine_ids)?;
        let listing_ids = ids(listings.iter().map(|l| &l.id));
        Ok(DemoData {
            tax_slabs: parse_tax_slabs(files.tax_slabs)?,
            batches: parse_batches(files.batches, &listing_ids)?,
            alternatives: parse_alternatives(files.alternatives, &medicine_ids)?,
            categories,
            medicines,
            listings,
        })
    }
}

fn ids<'a>(ids: impl Iterator<Item = &'a String>) -> HashSet<&'a str> {
    ids.map(String::as_str).collect()
}

/// Where a row came from, for error messages.
#[derive(Clone, Copy)]
struct Line {
    file: &'static str,
    line: u64,
}

impl Line {
    fn error(self, message: impl Display) -> anyhow::Error {
        anyhow!("demo/{} line {}: {message}", self.file, self.line)
    }

    fn check(self, ok: bool, message: impl Display) -> anyhow::Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.error(message))
        }
    }
}

/// The records of one CSV file with their line numbers, deserialized by header name.
fn records<T: DeserializeOwned>(file: &'static str, text: &str) -> anyhow::Result<Vec<(Line, T)>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| anyhow!("demo/{file}: {e}"))?
        .clone();
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| anyhow!("demo/{file}: {e}"))?;
            let line = Line {
                file,
                line: record.position().map_or(0, csv::Position::line),
            };
            let row = record
                .deserialize(Some(&headers))
                .map_err(|e| line.error(e))?;
            Ok((line, row))
        })
        .collect()
}

/// Checks an ID is a canonical UUID and not seen before in its file.
fn unique_id<'a>(line: Line, id: &'a str, seen: &mut HashSet<&'a str>) -> anyhow::Result<()> {
    let canonical = janta_platform::ids::parse_id(id, "id").map_err(|e| line.error(e))?;
    line.check(canonical == id, format!("id {id} is not in canonical form"))?;
    line.check(seen.insert(id), format!("duplicate id {id}"))
}

/// Checks a reference to a row of another file.
fn known(line: Line, ids: &HashSet<&str>, id: &str, what: &str) -> anyhow::Result<()> {
    line.check(ids.contains(id), format!("unknown {what} {id}"))
}

fn parse_categories(text: &str) -> anyhow::Result<Vec<Category>> {
    let rows: Vec<(Line, Category)> = records("categories.csv", text)?;
    let mut seen = HashSet::new();
    for (line, row) in &rows {
        unique_id(*line, &row.id, &mut seen)?;
        domain::parse_text(&row.name, "name", 2, 60).map_err(|e| line.error(e))?;
        domain::parse_text(&row.description, "description", 1, 300).map_err(|e| line.error(e))?;
    }
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxSlabRecord {
    hsn_code: String,
    rate: String,
    effective_from: String,
    description: String,
}

fn parse_tax_slabs(text: &str) -> anyhow::Result<Vec<TaxSlab>> {
    let rows: Vec<(Line, TaxSlabRecord)> = records("tax_slabs.csv", text)?;
    rows.into_iter()
        .map(|(line, row)| {
            let invalid = |e: ApiError| line.error(e);
            let effective_from = NaiveDate::parse_from_str(&row.effective_from, "%Y-%m-%d")
                .map_err(|_| line.error("effective_from must be YYYY-MM-DD"))?;
            Ok(TaxSlab {
                hsn_code: domain::parse_slab_hsn(&row.hsn_code).map_err(invalid)?,
                rate_bp: domain::parse_gst_rate(&row.rate).map_err(invalid)?,
                description: domain::parse_text(&row.description, "description", 2, 300)
                    .map_err(invalid)?,
                effective_from,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicineRecord {
    id: String,
    name: String,
    generic_name: String,
    manufacturer: String,
    strength: String,
    form: String,
    pack_size: String,
    schedule: String,
    hsn_code: String,
    category_id: String,
}

/// Reads an enum's API name strictly.
fn api_name<T: Copy>(
    line: Line,
    raw: &str,
    what: &str,
    from: fn(&str) -> Option<T>,
) -> anyhow::Result<T> {
    from(raw).ok_or_else(|| line.error(format!("unknown {what} {raw:?}")))
}

fn parse_medicines(text: &str, categories: &HashSet<&str>) -> anyhow::Result<Vec<Medicine>> {
    let rows: Vec<(Line, MedicineRecord)> = records("medicines.csv", text)?;
    let mut seen = HashSet::new();
    let mut medicines = Vec::with_capacity(rows.len());
    for (line, row) in &rows {
        unique_id(*line, &row.id, &mut seen)?;
        known(*line, categories, &row.category_id, "category_id")?;
        let raw = RawMedicine {
            name: &row.name,
            generic_name: &row.generic_name,
            manufacturer: &row.manufacturer,
            strength: &row.strength,
            form: api_name(*line, &row.form, "form", DosageForm::parse)?,
            pack_size: &row.pack_size,
            schedule: api_name(*line, &row.schedule, "schedule", Schedule::parse)?,
            hsn_code: &row.hsn_code,
            category_id: &row.category_id,
        };
        let fields = MedicineFields::parse(raw).map_err(|e| line.error(e))?;
        medicines.push(Medicine {
            id: row.id.clone(),
            fields,
        });
    }
    Ok(medicines)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingRecord {
    id: String,
    vendor: String,
    medicine_id: String,
    price: String,
    mrp: String,
    min_shelf_life_days: Option<i32>,
}

fn parse_listings(text: &str, medicines: &HashSet<&str>) -> anyhow::Result<Vec<Listing>> {
    let rows: Vec<(Line, ListingRecord)> = records("listings.csv", text)?;
    let mut seen = HashSet::new();
    let mut listings = Vec::with_capacity(rows.len());
    for (line, row) in &rows {
        unique_id(*line, &row.id, &mut seen)?;
        known(*line, medicines, &row.medicine_id, "medicine_id")?;
        let vendor_id = match row.vendor.as_str() {
            "KA" => VENDOR_KA_ID,
            "MH" => VENDOR_MH_ID,
            other => return Err(line.error(format!("vendor must be KA or MH, not {other:?}"))),
        };
        let prices = Prices::parse(&row.price, &row.mrp).map_err(|e| line.error(e))?;
        let platform = janta_platform::config::DEFAULT_MIN_SHELF_LIFE_DAYS;
        let min_shelf_life_days = row
            .min_shelf_life_days
            .map(|d| compliance::parse_min_shelf_life(d, platform))
            .transpose()
            .map_err(|e| line.error(e))?;
        listings.push(Listing {
            id: row.id.clone(),
            vendor_id,
            medicine_id: row.medicine_id.clone(),
            prices,
            min_shelf_life_days,
        });
    }
    Ok(listings)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRecord {
    id: String,
    listing_id: String,
    batch_number: String,
    expires: String,
    quantity: i32,
    mrp: Option<String>,
}

/// "YYYY-MM-DD", or "+N" for N days after seeding.
fn parse_expiry(raw: &str) -> anyhow::Result<Expiry> {
    let invalid = || anyhow!("expires must be YYYY-MM-DD or +N (days after seeding)");
    match raw.strip_prefix('+') {
        Some(days) => days
            .parse()
            .map(Expiry::DaysAfterSeeding)
            .map_err(|_| invalid()),
        None => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Expiry::On)
            .map_err(|_| invalid()),
    }
}

fn parse_batches(text: &str, listings: &HashSet<&str>) -> anyhow::Result<Vec<Batch>> {
    let rows: Vec<(Line, BatchRecord)> = records("batches.csv", text)?;
    let mut seen = HashSet::new();
    let mut batches = Vec::with_capacity(rows.len());
    for (line, row) in &rows {
        unique_id(*line, &row.id, &mut seen)?;
        known(*line, listings, &row.listing_id, "listing_id")?;
        let number = domain::parse_batch_number(&row.batch_number).map_err(|e| line.error(e))?;
        let quantity = domain::parse_quantity(row.quantity, "quantity", domain::MAX_STOCK_CHANGE)
            .map_err(|e| line.error(e))?;
        batches.push(Batch {
            id: row.id.clone(),
            listing_id: row.listing_id.clone(),
            number,
            expires: parse_expiry(&row.expires).map_err(|e| line.error(e))?,
            quantity,
            mrp: row
                .mrp
                .as_deref()
                .map(compliance::parse_batch_mrp)
                .transpose()
                .map_err(|e| line.error(e))?,
        });
    }
    Ok(batches)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlternativeRecord {
    medicine_id: String,
    rank: usize,
    alternative_id: String,
}

/// Groups consecutive rows by medicine; ranks must run 1, 2, … within each.
fn parse_alternatives(text: &str, medicines: &HashSet<&str>) -> anyhow::Result<Vec<Alternatives>> {
    let mut grouped: Vec<Alternatives> = Vec::new();
    let mut seen = HashSet::new();
    for (line, row) in records::<AlternativeRecord>("alternatives.csv", text)? {
        known(line, medicines, &row.medicine_id, "medicine_id")?;
        known(line, medicines, &row.alternative_id, "alternative_id")?;
        line.check(
            row.alternative_id != row.medicine_id,
            "a medicine is not its own alternative",
        )?;
        let continues = grouped
            .last()
            .is_some_and(|g| g.medicine_id == row.medicine_id);
        if !continues {
            line.check(
                seen.insert(row.medicine_id.clone()),
                "a medicine's alternatives must be consecutive rows",
            )?;
            grouped.push(Alternatives {
                medicine_id: row.medicine_id.clone(),
                ranked: Vec::new(),
            });
        }
        let group = grouped.last_mut().expect("pushed above");
        line.check(
            row.rank == group.ranked.len() + 1,
            format!("rank must be {}", group.ranked.len() + 1),
        )?;
        line.check(
            !group.ranked.contains(&row.alternative_id),
            "duplicate alternative",
        )?;
        group.ranked.push(row.alternative_id);
    }
    Ok(grouped)
}
