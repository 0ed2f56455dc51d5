//! Catalog rules, free of I/O: validated medicine fields, schedules and what
//! they imply, prices, batch numbers, quantities and expiry, GST rates,
//! first-expiry-first-out allocation, and the search-query grammar shared by
//! the SQLite (FTS5) and PostgreSQL (tsvector) indexes.

use async_graphql::{Enum, InputObject, ID};
use chrono::NaiveDate;
use janta_platform::auth::{PartnerScope, Principal};
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult};
use std::collections::HashSet;

pub mod compliance;
pub mod import;

/// Drug schedule under the Drugs and Cosmetics Rules, 1945. Anything but
/// `OTC` is sold only against a prescription.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// Not scheduled: sold over the counter.
    #[graphql(name = "OTC")]
    Otc,
    /// Schedule H: prescription only.
    #[graphql(name = "H")]
    H,
    /// Schedule H1: prescription only, and the pharmacy keeps a register
    /// (third-generation antibiotics, anti-TB and habit-forming drugs).
    #[graphql(name = "H1")]
    H1,
    /// Schedule X: narcotic and psychotropic drugs; a prescription per order.
    #[graphql(name = "X")]
    X,
}

impl Schedule {
    /// Storage (and wire) form.
    pub fn as_db(self) -> &'static str {
        match self {
            Schedule::Otc => "OTC",
            Schedule::H => "H",
            Schedule::H1 => "H1",
            Schedule::X => "X",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        [Schedule::Otc, Schedule::H, Schedule::H1, Schedule::X]
            .into_iter()
            .find(|v| v.as_db() == s)
    }

    /// Every scheduled medicine requires a prescription (domains.md).
    pub fn requires_prescription(self) -> bool {
        self != Schedule::Otc
    }
}

/// How a medicine is presented.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DosageForm {
    /// Tablet (including chewable, dispersible, extended release).
    Tablet,
    /// Capsule.
    Capsule,
    /// Syrup.
    Syrup,
    /// Oral or topical suspension.
    Suspension,
    /// Injection (vial, ampoule, pen, prefilled syringe).
    Injection,
    /// Metered-dose or dry-powder inhaler.
    Inhaler,
    /// Single-dose nebuliser units.
    Respules,
    /// Eye, ear, nasal or oral drops.
    Drops,
    /// Cream.
    Cream,
    /// Ointment or balm.
    Ointment,
    /// Gel.
    Gel,
    /// Lotion.
    Lotion,
    /// Powder or granules (including sachets).
    Powder,
    /// Solution or liquid.
    Solution,
    /// Spray.
    Spray,
    /// Lozenge.
    Lozenge,
    /// Bandage, gauze or dressing.
    Dressing,
    /// Medical device (syringe, monitor, condom).
    Device,
    /// Anything else.
    Other,
}

const FORMS: [(DosageForm, &str); 19] = [
    (DosageForm::Tablet, "TABLET"),
    (DosageForm::Capsule, "CAPSULE"),
    (DosageForm::Syrup, "SYRUP"),
    (DosageForm::Suspension, "SUSPENSION"),
    (DosageForm::Injection, "INJECTION"),
    (DosageForm::Inhaler, "INHALER"),
    (DosageForm::Respules, "RESPULES"),
    (DosageForm::Drops, "DROPS"),
    (DosageForm::Cream, "CREAM"),
    (DosageForm::Ointment, "OINTMENT"),
    (DosageForm::Gel, "GEL"),
    (DosageForm::Lotion, "LOTION"),
    (DosageForm::Powder, "POWDER"),
    (DosageForm::Solution, "SOLUTION"),
    (DosageForm::Spray, "SPRAY"),
    (DosageForm::Lozenge, "LOZENGE"),
    (DosageForm::Dressing, "DRESSING"),
    (DosageForm::Device, "DEVICE"),
    (DosageForm::Other, "OTHER"),
];

impl DosageForm {
    /// Storage form (the GraphQL name).
    pub fn as_db(self) -> &'static str {
        FORMS
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("OTHER", |(_, s)| s)
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        FORMS.iter().find(|(_, name)| *name == s).map(|(f, _)| *f)
    }
}

/// Where a stock reservation stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReservationStatus {
    /// Units are held for the order until `expiresAt`.
    Active,
    /// The order was paid: units left stock for good.
    Committed,
    /// Released by the caller (order failed or was cancelled); units are back in stock.
    Released,
    /// Not committed in time; units went back to stock by themselves.
    Expired,
}

impl ReservationStatus {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            ReservationStatus::Active => "ACTIVE",
            ReservationStatus::Committed => "COMMITTED",
            ReservationStatus::Released => "RELEASED",
            ReservationStatus::Expired => "EXPIRED",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        use ReservationStatus::*;
        [Active, Committed, Released, Expired]
            .into_iter()
            .find(|v| v.as_db() == s)
    }
}

/// Why stock on hand changed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "StockMovementKind")]
pub enum MovementKind {
    /// A batch was received.
    Received,
    /// Staff corrected stock (damage, loss, count, write-off).
    Adjusted,
    /// An order's reservation was committed.
    Sold,
    /// A committed order was cancelled and its packs returned.
    Returned,
    /// A customer returned delivered packs (an approved return): they are
    /// quarantined, not back on hand, and never sold again.
    ReturnedToQuarantine,
    /// The sweeper took an expired batch's remaining packs off stock on
    /// hand into quarantine; they are never sold.
    ExpiredToQuarantine,
}

impl MovementKind {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            MovementKind::Received => "RECEIVED",
            MovementKind::Adjusted => "ADJUSTED",
            MovementKind::Sold => "SOLD",
            MovementKind::Returned => "RETURNED",
            MovementKind::ReturnedToQuarantine => "RETURNED_TO_QUARANTINE",
            MovementKind::ExpiredToQuarantine => "EXPIRED_TO_QUARANTINE",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        use MovementKind::*;
        [
            Received,
            Adjusted,
            Sold,
            Returned,
            ReturnedToQuarantine,
            ExpiredToQuarantine,
        ]
        .into_iter()
        .find(|v| v.as_db() == s)
    }
}

/// Today's date in India: a batch expiring today is no longer sellable, and
/// a tax slab effective today applies.
pub fn today() -> NaiveDate {
    janta_platform::india::today()
}

/// A batch is sellable strictly before its expiry date.
pub fn is_sellable(expires_on: NaiveDate, today: NaiveDate) -> bool {
    expires_on > today
}

/// Trims and collapses whitespace; checks length in characters.
pub fn parse_text(raw: &str, field: &str, min: usize, max: usize) -> ApiResult<String> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = text.chars().count();
    if len < min {
        return Err(ApiError::bad_input(format!(
            "{field} must have at least {min} characters"
        )));
    }
    if len > max {
        return Err(ApiError::bad_input(format!(
            "{field} must have at most {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(format!(
            "{field} contains control characters"
        )));
    }
    Ok(text)
}

/// An HSN code of a medicine: 4, 6 or 8 digits (spaces ignored).
pub fn parse_medicine_hsn(raw: &str) -> ApiResult<String> {
    parse_hsn(raw, "hsnCode", &[4, 6, 8])
}

/// The HSN code (prefix) a tax slab applies to: 2, 4, 6 or 8 digits.
pub fn parse_slab_hsn(raw: &str) -> ApiResult<String> {
    parse_hsn(raw, "hsnCode", &[2, 4, 6, 8])
}

fn parse_hsn(raw: &str, field: &str, lengths: &[usize]) -> ApiResult<String> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.chars().all(|c| c.is_ascii_digit()) && lengths.contains(&code.len()) {
        Ok(code)
    } else {
        let lengths: Vec<String> = lengths.iter().map(ToString::to_string).collect();
        Err(ApiError::bad_input(format!(
            "{field} must be an HSN code of {} digits",
            lengths.join(", ")
        )))
    }
}

/// Every prefix of `hsn` a tax slab may be keyed on (2, 4, 6, 8 digits).
pub fn hsn_prefixes(hsn: &str) -> Vec<String> {
    [2, 4, 6, 8]
        .iter()
        .filter(|n| **n <= hsn.len())
        .filter_map(|n| hsn.get(..*n).map(str::to_string))
        .collect()
}

/// A tax slab as far as rate selection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlabRate {
    /// HSN prefix the slab applies to.
    pub hsn_code: String,
    /// Rate in basis points (500 = 5 %).
    pub rate_bp: i64,
    /// First day the rate applies ("YYYY-MM-DD").
    pub effective_from: String,
}

/// The rate in force on `on` (YYYY-MM-DD) for `hsn`: the longest matching
/// prefix wins; among its slabs, the latest one already in effect. The
/// store applies the same rule in SQL when it reads medicines.
pub fn rate_in_force(hsn: &str, on: &str, slabs: &[SlabRate]) -> Option<i64> {
    slabs
        .iter()
        .filter(|s| hsn.starts_with(&s.hsn_code) && s.effective_from.as_str() <= on)
        .max_by(|a, b| {
            (a.hsn_code.len(), &a.effective_from).cmp(&(b.hsn_code.len(), &b.effective_from))
        })
        .map(|s| s.rate_bp)
}

/// Parses a GST rate percentage such as "5", "12.00" or "0.25" into basis points.
pub fn parse_gst_rate(raw: &str) -> ApiResult<i64> {
    let invalid =
        || ApiError::bad_input("rate must be a percentage between 0 and 100 like \"5\" or \"2.5\"");
    let text = raw.trim().trim_end_matches('%').trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
    {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let bp = whole * 100 + fraction;
    if bp > 10_000 {
        return Err(invalid());
    }
    Ok(bp)
}

/// A rate in basis points as the API shows it: a percentage without
/// trailing zeros ("5", "12", "2.5", "0").
pub fn format_rate(bp: i64) -> String {
    let whole = bp / 100;
    let fraction = bp % 100;
    if fraction == 0 {
        whole.to_string()
    } else if fraction % 10 == 0 {
        format!("{whole}.{}", fraction / 10)
    } else {
        format!("{whole}.{fraction:02}")
    }
}

/// A validated sale price and MRP (both tax-inclusive paise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// What the customer pays per pack.
    pub price: Paise,
    /// Maximum retail price printed on the pack.
    pub mrp: Paise,
}

impl Prices {
    /// Parses decimal rupee strings; the price must be positive and at most the MRP.
    pub fn parse(price: &str, mrp: &str) -> ApiResult<Self> {
        let price = janta_platform::money::parse_rupees(price, "price")?;
        let mrp = janta_platform::money::parse_rupees(mrp, "mrp")?;
        if price == 0 {
            return Err(ApiError::bad_input("price must be more than zero"));
        }
        if price > mrp {
            return Err(ApiError::bad_input(
                "price must not exceed the MRP (maximum retail price)",
            ));
        }
        Ok(Prices {
            price: Paise(price),
            mrp: Paise(mrp),
        })
    }
}

/// A batch number as printed on the pack, upper-cased: letters, digits, `-`, `/`, `.`.
pub fn parse_batch_number(raw: &str) -> ApiResult<String> {
    let number = raw.trim().to_uppercase();
    let valid = (1..=32).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.'));
    if valid {
        Ok(number)
    } else {
        Err(ApiError::bad_input(
            "batchNumber must be 1-32 letters, digits, '-', '/' or '.'",
        ))
    }
}

/// Largest quantity one batch receipt or adjustment may carry.
pub const MAX_STOCK_CHANGE: i64 = 100_000;
/// Largest quantity of one reservation line.
pub const MAX_LINE_QUANTITY: i64 = 1_000;
/// Most lines one reservation may have.
pub const MAX_RESERVATION_LINES: usize = 50;

/// A positive quantity not above `max`.
pub fn parse_quantity(quantity: i32, field: &str, max: i64) -> ApiResult<i64> {
    let quantity = i64::from(quantity);
    if quantity <= 0 {
        return Err(ApiError::bad_input(format!("{field} must be positive")));
    }
    if quantity > max {
        return Err(ApiError::bad_input(format!(
            "{field} must be at most {max}"
        )));
    }
    Ok(quantity)
}

/// A non-zero stock adjustment within bounds.
pub fn parse_delta(delta: i32) -> ApiResult<i64> {
    let delta = i64::from(delta);
    if delta == 0 {
        return Err(ApiError::bad_input("delta must not be zero"));
    }
    if delta.abs() > MAX_STOCK_CHANGE {
        return Err(ApiError::bad_input(format!(
            "delta must be between -{MAX_STOCK_CHANGE} and {MAX_STOCK_CHANGE}"
        )));
    }
    Ok(delta)
}

/// A received batch must expire after today and within ten years.
pub fn check_receivable_expiry(expires_on: NaiveDate, today: NaiveDate) -> ApiResult<()> {
    if !is_sellable(expires_on, today) {
        return Err(ApiError::bad_input(
            "expiresOn must be in the future: expired stock cannot be received",
        ));
    }
    if expires_on > today + chrono::Days::new(3653) {
        return Err(ApiError::bad_input("expiresOn is more than ten years away"));
    }
    Ok(())
}

/// Vendor staff manage only their own vendor's listings.
pub fn can_manage_listing(principal: &Principal, vendor_id: &str) -> bool {
    principal.is_staff_of(vendor_id)
}

/// Vendor staff of the listing's vendor and platform admins see its
/// batches and ledger, and so does a partner app of that vendor with
/// `catalog:read` (or `stock:write`, which needs the batches it changes).
pub fn can_view_stock_details(principal: &Principal, vendor_id: &str) -> bool {
    principal.is_admin()
        || principal.acts_for_vendor(vendor_id, PartnerScope::CatalogRead)
        || principal.acts_for_vendor(vendor_id, PartnerScope::StockWrite)
}

/// Whose listings a reader sees besides those of vendors that sell (verified
/// and not suspended): customers and anonymous callers see only those, so an
/// unverified or suspended pharmacy is never offered to them; a vendor's
/// staff also see their own vendor's, admins everyone's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListingAudience {
    /// Customers, anonymous callers, partners and services.
    Public,
    /// Staff of this vendor.
    Staff(String),
    /// Platform admins.
    Admin,
}

impl ListingAudience {
    /// The audience of a caller.
    pub fn of(principal: Option<&Principal>) -> Self {
        match principal {
            Some(p) if p.is_admin() => ListingAudience::Admin,
            Some(p) => match p.vendor_id.as_deref() {
                Some(vendor) if p.acts_for_vendor(vendor, PartnerScope::CatalogRead) => {
                    ListingAudience::Staff(vendor.to_string())
                }
                _ => ListingAudience::Public,
            },
            None => ListingAudience::Public,
        }
    }

    /// Whether it sees a listing of `vendor_id` whose vendor sells (`sellable`) or not.
    pub fn sees(&self, vendor_id: &str, sellable: bool) -> bool {
        match self {
            ListingAudience::Public => sellable,
            ListingAudience::Staff(own) => sellable || own == vendor_id,
            ListingAudience::Admin => true,
        }
    }
}

/// Why a vendor's listing is refused to customers and checkout.
pub const NOT_SELLING: &str = "this pharmacy is not selling right now";

/// `StockLow` fires when available stock falls below the threshold, not on
/// every sale while it stays low.
pub fn crossed_below(before: i64, after: i64, threshold: i64) -> bool {
    before >= threshold && after < threshold
}

/// A requested reservation line, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    /// The listing to reserve from.
    pub listing_id: String,
    /// Units wanted.
    pub quantity: i64,
}

/// Checks the shape of a reservation request: 1-50 lines, positive bounded
/// quantities, each listing once.
pub fn check_reservation_lines(lines: &[LineRequest]) -> ApiResult<()> {
    if lines.is_empty() {
        return Err(ApiError::bad_input("lines must not be empty"));
    }
    if lines.len() > MAX_RESERVATION_LINES {
        return Err(ApiError::bad_input(format!(
            "a reservation has at most {MAX_RESERVATION_LINES} lines"
        )));
    }
    let mut seen = HashSet::new();
    for line in lines {
        if !seen.insert(line.listing_id.as_str()) {
            return Err(ApiError::bad_input(
                "each listing may appear only once in lines",
            ));
        }
    }
    Ok(())
}

/// A batch that can give units to an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableBatch {
    /// Batch ID.
    pub batch_id: String,
    /// Expiry ("YYYY-MM-DD", sorts as text).
    pub expires_on: String,
    /// Units neither sold nor held.
    pub available: i64,
}

/// First-expiry-first-out: takes `need` units from the batches expiring
/// soonest (ties by batch ID). Returns (batch index, units) pairs, or the
/// total available when it is not enough.
pub fn allocate_fefo(batches: &[AvailableBatch], need: i64) -> Result<Vec<(usize, i64)>, i64> {
    let mut order: Vec<usize> = (0..batches.len())
        .filter(|i| batches[*i].available > 0)
        .collect();
    order.sort_by(|a, b| {
        (&batches[*a].expires_on, &batches[*a].batch_id)
            .cmp(&(&batches[*b].expires_on, &batches[*b].batch_id))
    });
    let total: i64 = order.iter().map(|i| batches[*i].available).sum();
    if total < need {
        return Err(total);
    }
    let mut left = need;
    let mut taken = Vec::new();
    for i in order {
        if left == 0 {
            break;
        }
        let take = left.min(batches[i].available);
        taken.push((i, take));
        left -= take;
    }
    Ok(taken)
}

/// Most words a search query may have.
pub const MAX_SEARCH_TERMS: usize = 8;
/// Longest search word kept (longer ones are cut).
pub const MAX_TERM_LEN: usize = 32;

/// The words of a search query: lower-case runs of letters and digits.
/// Everything else separates words, so nothing reaches either index's query
/// syntax unescaped.
pub fn search_terms(raw: &str) -> Vec<String> {
    words(raw)
        .into_iter()
        .map(|w| w.chars().take(MAX_TERM_LEN).collect::<String>())
        .take(MAX_SEARCH_TERMS)
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Distinct words (3+ characters) of a medicine's searchable text, for the
/// trigram vocabulary used to correct misspelt queries.
pub fn vocabulary_words(texts: &[&str]) -> Vec<String> {
    let mut seen = HashSet::new();
    texts
        .iter()
        .flat_map(|t| words(t))
        .filter(|w| w.chars().count() >= 3 && w.chars().count() <= MAX_TERM_LEN)
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// The leading trigrams of a word, padded with two spaces in front like
/// pg_trgm ("  p", " pa", "par", …), with their positions. No trailing
/// trigram: queries are prefixes.
pub fn trigrams(word: &str) -> Vec<(String, i64)> {
    let mut padded: Vec<char> = vec![' ', ' '];
    padded.extend(word.chars());
    let mut seen = HashSet::new();
    padded
        .windows(3)
        .enumerate()
        .filter_map(|(i, w)| {
            let t: String = w.iter().collect();
            seen.insert(t.clone()).then_some((t, i as i64))
        })
        .collect()
}

/// Typos tolerated in a search word of `len` characters: none below four,
/// one up to five, two beyond.
pub fn max_typos(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=5 => 1,
        _ => 2,
    }
}

/// How far `term` is from being a prefix of `word`: the smallest edit
/// distance (with transpositions) between `term` and a prefix of `word` of
/// about the same length.
pub fn prefix_distance(term: &str, word: &str) -> usize {
    let t: Vec<char> = term.chars().collect();
    let w: Vec<char> = word.chars().collect();
    let lo = t.len().saturating_sub(2);
    let hi = (t.len() + 2).min(w.len());
    if lo > hi {
        return osa_distance(&t, &w);
    }
    (lo..=hi)
        .map(|k| osa_distance(&t, &w[..k]))
        .min()
        .unwrap_or(usize::MAX)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and adjacent transpositions.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// An FTS5 query: every group must match (AND); a group matches when any
/// of its words matches as a prefix (OR). Words are alphanumeric (see
/// [`search_terms`]), quoted anyway.
pub fn fts5_query(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| {
            let alternatives: Vec<String> = g.iter().map(|w| format!("\"{w}\"*")).collect();
            format!("({})", alternatives.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The same query for PostgreSQL's `to_tsquery('simple', …)`.
pub fn ts_query(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| {
            let alternatives: Vec<String> = g.iter().map(|w| format!("{w}:*")).collect();
            format!("({})", alternatives.join(" | "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Validated medicine master fields (one version's worth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicineFields {
    /// Brand or product name as sold, e.g. "Dolo 650 tablet".
    pub name: String,
    /// Salt composition, e.g. "Paracetamol".
    pub generic_name: String,
    /// Marketing company.
    pub manufacturer: String,
    /// Strength, e.g. "650 mg".
    pub strength: String,
    /// Dosage form.
    pub form: DosageForm,
    /// Pack, e.g. "strip of 15 tablets".
    pub pack_size: String,
    /// Drug schedule.
    pub schedule: Schedule,
    /// HSN code (4, 6 or 8 digits).
    pub hsn_code: String,
    /// Category ID (validated as an ID, existence checked by the store).
    pub category_id: String,
}

/// Raw medicine fields as a client sends them.
pub struct RawMedicine<'a> {
    pub name: &'a str,
    pub generic_name: &'a str,
    pub manufacturer: &'a str,
    pub strength: &'a str,
    pub form: DosageForm,
    pub pack_size: &'a str,
    pub schedule: Schedule,
    pub hsn_code: &'a str,
    pub category_id: &'a str,
}

impl MedicineFields {
    /// Validates every field.
    pub fn parse(raw: RawMedicine<'_>) -> ApiResult<Self> {
        Ok(MedicineFields {
            name: parse_text(raw.name, "name", 2, 120)?,
            generic_name: parse_text(raw.generic_name, "genericName", 2, 200)?,
            manufacturer: parse_text(raw.manufacturer, "manufacturer", 2, 120)?,
            strength: parse_text(raw.strength, "strength", 1, 60)?,
            form: raw.form,
            pack_size: parse_text(raw.pack_size, "packSize", 1, 60)?,
            schedule: raw.schedule,
            hsn_code: parse_medicine_hsn(raw.hsn_code)?,
            category_id: janta_platform::ids::parse_id(raw.category_id, "categoryId")?,
        })
    }
}

/// Changes to a medicine; omitted fields stay as they are.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "UpdateMedicineInput")]
pub struct MedicinePatch {
    /// New product name.
    pub name: Option<String>,
    /// New salt composition.
    pub generic_name: Option<String>,
    /// New manufacturer.
    pub manufacturer: Option<String>,
    /// New strength.
    pub strength: Option<String>,
    /// New dosage form.
    pub form: Option<DosageForm>,
    /// New pack.
    pub pack_size: Option<String>,
    /// New schedule.
    pub schedule: Option<Schedule>,
    /// New HSN code.
    pub hsn_code: Option<String>,
    /// New category.
    pub category_id: Option<ID>,
}

impl MedicinePatch {
    /// The fields of `current` with this patch applied, validated.
    pub fn apply(&self, current: &MedicineFields) -> ApiResult<MedicineFields> {
        MedicineFields::parse(RawMedicine {
            name: self.name.as_deref().unwrap_or(&current.name),
            generic_name: self
                .generic_name
                .as_deref()
                .unwrap_or(&current.generic_name),
            manufacturer: self
                .manufacturer
                .as_deref()
                .unwrap_or(&current.manufacturer),
            strength: self.strength.as_deref().unwrap_or(&current.strength),
            form: self.form.unwrap_or(current.form),
            pack_size: self.pack_size.as_deref().unwrap_or(&current.pack_size),
            schedule: self.schedule.unwrap_or(current.schedule),
            hsn_code: self.hsn_code.as_deref().unwrap_or(&current.hsn_code),
            category_id: self
                .category_id
                .as_ref()
                .map_or(&current.category_id, |c| &c.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str, expires_on: &str, available: i64) -> AvailableBatch {
        AvailableBatch {
            batch_id: id.into(),
            expires_on: expires_on.into(),
            available,
        }
    }

    #[test]
    fn schedules_other_than_otc_need_a_prescription() {
        assert!(!Schedule::Otc.requires_prescription());
        for s in [Schedule::H, Schedule::H1, Schedule::X] {
            assert!(s.requires_prescription());
            assert_eq!(Schedule::parse(s.as_db()), Some(s));
        }
    }

    #[test]
    fn only_staff_and_admins_see_listings_of_vendors_that_do_not_sell() {
        use janta_platform::auth::Role;
        let who = |roles: &[Role], vendor: Option<&str>| Principal {
            subject: "u".into(),
            roles: roles.to_vec(),
            vendor_id: vendor.map(str::to_string),
            scopes: vec![],
        };
        let customer = ListingAudience::of(Some(&who(&[Role::Customer], None)));
        let staff = ListingAudience::of(Some(&who(&[Role::Pharmacist], Some("v1"))));
        let admin = ListingAudience::of(Some(&who(&[Role::Admin], None)));
        assert_eq!(ListingAudience::of(None), ListingAudience::Public);
        assert_eq!(customer, ListingAudience::Public);
        assert_eq!(
            ListingAudience::of(Some(&who(&[Role::Customer], Some("v1")))),
            ListingAudience::Public,
            "a vendor ID without a staff role is no staff"
        );
        for audience in [&customer, &staff, &admin] {
            assert!(audience.sees("v2", true));
        }
        assert!(!customer.sees("v1", false));
        assert!(staff.sees("v1", false));
        assert!(!staff.sees("v2", false));
        assert!(admin.sees("v2", false));
    }

    #[test]
    fn fefo_takes_the_earliest_expiry_first() {
        let batches = [
            batch("b", "2027-06-30", 5),
            batch("a", "2026-12-31", 3),
            batch("c", "2026-12-31", 0),
        ];
        assert_eq!(allocate_fefo(&batches, 4), Ok(vec![(1, 3), (0, 1)]));
        assert_eq!(allocate_fefo(&batches, 2), Ok(vec![(1, 2)]));
        assert_eq!(allocate_fefo(&batches, 9), Err(8));
    }

    #[test]
    fn prices_must_not_exceed_the_mrp() {
        assert_eq!(
            Prices::parse("90.00", "100").unwrap(),
            Prices {
                price: Paise(9000),
                mrp: Paise(10000)
            }
        );
        assert!(Prices::parse("100.01", "100").is_err());
        assert!(Prices::parse("0", "100").is_err());
        assert!(Prices::parse("-1", "100").is_err());
    }

    #[test]
    fn gst_rates_round_trip() {
        for (text, bp, shown) in [
            ("5", 500, "5"),
            ("12.00", 1200, "12"),
            ("2.5", 250, "2.5"),
            ("0", 0, "0"),
            ("0.25", 25, "0.25"),
        ] {
            assert_eq!(parse_gst_rate(text).unwrap(), bp);
            assert_eq!(format_rate(bp), shown);
        }
        for bad in ["-5", "101", "5.123", "five", ""] {
            assert!(parse_gst_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn longest_prefix_and_latest_effective_slab_wins() {
        let slabs = vec![
            SlabRate {
                hsn_code: "3004".into(),
                rate_bp: 1200,
                effective_from: "2017-07-01".into(),
            },
            SlabRate {
                hsn_code: "3004".into(),
                rate_bp: 500,
                effective_from: "2025-09-22".into(),
            },
            SlabRate {
                hsn_code: "40141010".into(),
                rate_bp: 0,
                effective_from: "2017-07-01".into(),
            },
            SlabRate {
                hsn_code: "4014".into(),
                rate_bp: 1200,
                effective_from: "2017-07-01".into(),
            },
        ];
        assert_eq!(rate_in_force("30049099", "2025-09-21", &slabs), Some(1200));
        assert_eq!(rate_in_force("30049099", "2025-09-22", &slabs), Some(500));
        assert_eq!(rate_in_force("40141010", "2026-01-01", &slabs), Some(0));
        assert_eq!(rate_in_force("40149000", "2026-01-01", &slabs), Some(1200));
        assert_eq!(rate_in_force("9018", "2026-01-01", &slabs), None);
        assert_eq!(
            hsn_prefixes("30049099"),
            vec!["30", "3004", "300490", "30049099"]
        );
    }

    #[test]
    fn search_terms_are_safe_words() {
        assert_eq!(
            search_terms("  Parace\"tamol* OR 500mg "),
            vec!["parace", "tamol", "or", "500mg"]
        );
        assert_eq!(
            fts5_query(&[vec!["parace".into()], vec!["5".into(), "50".into()]]),
            "(\"parace\"*) AND (\"5\"* OR \"50\"*)"
        );
        assert_eq!(ts_query(&[vec!["parace".into()]]), "(parace:*)");
        assert!(search_terms("';--").is_empty());
    }

    #[test]
    fn misspelt_prefixes_are_near() {
        assert_eq!(prefix_distance("parace", "paracetamol"), 0);
        assert_eq!(prefix_distance("paracitamol", "paracetamol"), 1);
        assert_eq!(prefix_distance("parcetamol", "paracetamol"), 1);
        assert_eq!(prefix_distance("amoxycillin", "amoxicillin"), 1);
        assert!(prefix_distance("ibuprofen", "paracetamol") > 2);
        assert_eq!(
            trigrams("par")[..3],
            [
                ("  p".to_string(), 0),
                (" pa".to_string(), 1),
                ("par".to_string(), 2)
            ]
        );
    }

    #[test]
    fn batch_numbers_and_quantities_are_checked() {
        assert_eq!(parse_batch_number(" dl-23/a1 ").unwrap(), "DL-23/A1");
        assert!(parse_batch_number("").is_err());
        assert!(parse_batch_number("has space").is_err());
        assert!(parse_quantity(0, "quantity", 10).is_err());
        assert!(parse_quantity(-3, "quantity", 10).is_err());
        assert!(parse_quantity(11, "quantity", 10).is_err());
        assert_eq!(parse_quantity(10, "quantity", 10).unwrap(), 10);
        assert!(parse_delta(0).is_err());
    }

    #[test]
    fn expiry_must_be_after_today() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        assert!(check_receivable_expiry(today, today).is_err());
        assert!(check_receivable_expiry(today.pred_opt().unwrap(), today).is_err());
        assert!(check_receivable_expiry(today.succ_opt().unwrap(), today).is_ok());
        assert!(!is_sellable(today, today));
    }

    #[test]
    fn stock_low_fires_on_crossing_only() {
        assert!(crossed_below(10, 9, 10));
        assert!(!crossed_below(9, 8, 10));
        assert!(!crossed_below(12, 10, 10));
    }
}
