//! The rules of GST tax invoices and credit notes, free of I/O: the
//! financial year of a moment (April–March, India time), document numbers
//! (`<series>/<yy-yy>/<seq>`, at most 16 characters as GST rule 46 allows),
//! the seller and buyer on a document, its lines, HSN summary and totals,
//! the share of a line's tax that a credit note gives back, and the
//! rendering of a document as text or HTML for the customer to download.

use super::{GstRate, LineTax, Supply, Totals};
use async_graphql::Enum;
use chrono::{Datelike, Utc};
use janta_platform::money::format_paise;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Longest document number GST allows (rule 46(b)).
pub const MAX_NUMBER_CHARS: usize = 16;
/// Highest invoice sequence number in one financial year (5 digits).
pub const MAX_INVOICE_SEQ: i64 = 99_999;
/// Highest credit-note sequence number in one financial year (`C` + 4 digits).
pub const MAX_CREDIT_NOTE_SEQ: i64 = 9_999;

/// What a tax document is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(name = "TaxDocumentKind")]
pub enum DocumentKind {
    /// A GST tax invoice, issued when the order is confirmed.
    TaxInvoice,
    /// A credit note against an invoice (cancellation or approved return).
    CreditNote,
}

impl DocumentKind {
    /// Storage form (also the counter's kind).
    pub fn as_db(self) -> &'static str {
        match self {
            DocumentKind::TaxInvoice => "INVOICE",
            DocumentKind::CreditNote => "CREDIT_NOTE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        [DocumentKind::TaxInvoice, DocumentKind::CreditNote]
            .into_iter()
            .find(|k| k.as_db() == s)
    }

    /// The document's title.
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::TaxInvoice => "Tax Invoice",
            DocumentKind::CreditNote => "Credit Note",
        }
    }
}

/// An Indian financial year, April to March, named by the year it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FinancialYear {
    /// The calendar year of its 1 April.
    pub start: i32,
}

impl FinancialYear {
    /// The year of a moment, in India time (UTC+05:30): 31 March 23:59 IST
    /// belongs to the year ending then, 1 April 00:00 IST to the next.
    pub fn of(at: chrono::DateTime<Utc>) -> Self {
        let local = at.with_timezone(&janta_platform::india::IST);
        let start = if local.month() >= 4 {
            local.year()
        } else {
            local.year() - 1
        };
        FinancialYear { start }
    }

    /// The short form used in document numbers: "26-27".
    pub fn label(self) -> String {
        format!(
            "{:02}-{:02}",
            self.start.rem_euclid(100),
            (self.start + 1).rem_euclid(100)
        )
    }
}

/// A branch's invoice series prefix: 1–4 uppercase letters or digits (e.g.
/// `KA01`), so that every number fits in [`MAX_NUMBER_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSeries(String);

impl InvoiceSeries {
    /// Validates a series; `CONFLICT` when the branch cannot invoice with it.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let ok = (1..=4).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(InvoiceSeries(raw.to_string()))
        } else {
            Err(ApiError::conflict(
                "this branch has no valid invoice series (1 to 4 capital letters or digits) and cannot invoice yet",
            ))
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The number of the `seq`-th document of `kind` in `year` of `series`:
/// `KA01/26-27/00042` (invoices), `KA01/26-27/C0001` (credit notes). A
/// sequence beyond the year's capacity is `CONFLICT`.
pub fn document_number(
    series: &InvoiceSeries,
    year: FinancialYear,
    kind: DocumentKind,
    seq: i64,
) -> ApiResult<String> {
    let (max, number) = match kind {
        DocumentKind::TaxInvoice => (MAX_INVOICE_SEQ, format!("{seq:05}")),
        DocumentKind::CreditNote => (MAX_CREDIT_NOTE_SEQ, format!("C{seq:04}")),
    };
    if !(1..=max).contains(&seq) {
        return Err(ApiError::conflict(format!(
            "the {} series {} is exhausted for this financial year",
            kind.title().to_lowercase(),
            series.as_str()
        )));
    }
    let text = format!("{}/{}/{number}", series.as_str(), year.label());
    debug_assert!(text.len() <= MAX_NUMBER_CHARS);
    Ok(text)
}

/// Validates a document number a client looks up: 1–16 printable characters.
pub fn parse_number(raw: &str) -> ApiResult<String> {
    let number = raw.trim();
    let ok = (1..=MAX_NUMBER_CHARS).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(number.to_string())
    } else {
        Err(ApiError::bad_input(
            "number must be a document number of at most 16 characters, like KA01/26-27/00042",
        ))
    }
}

/// Validates a seller GSTIN's shape (users checks the rest when a branch
/// is registered).
pub fn parse_gstin(raw: &str) -> ApiResult<String> {
    janta_platform::gstin::parse_shape(raw, "sellerGstin")
}

/// The seller on an order and its documents: the vendor's legal name and
/// the fulfilling branch, as they were at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    /// The vendor's registered legal name.
    pub legal_name: String,
    /// The fulfilling branch (users' ID).
    pub branch_id: String,
    /// Its name.
    pub branch_name: String,
    /// Its street address.
    pub line1: String,
    /// Its city.
    pub city: String,
    /// Its state (ISO 3166-2:IN code): decides CGST + SGST or IGST.
    pub state: String,
    /// Its PIN code.
    pub pincode: String,
    /// Its GSTIN.
    pub gstin: String,
    /// Its invoice series prefix.
    pub invoice_series: String,
}

/// The recipient on a document: the buyer's name (when users knows it) and
/// the delivery address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    /// Full name.
    pub name: Option<String>,
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State code: the place of supply.
    pub state: String,
    /// PIN code.
    pub pincode: String,
}

/// One line of a tax document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    /// The order line it is for.
    pub order_line_id: String,
    /// Description (medicine name in the version sold).
    pub description: String,
    /// HSN code.
    pub hsn_code: String,
    /// Units.
    pub quantity: i64,
    /// Price per unit, tax included, in paise.
    pub unit_price: i64,
    /// GST rate.
    pub rate: GstRate,
    /// Gross, taxable value and tax of the line.
    pub tax: LineTax,
}

/// A GST tax invoice or credit note, complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxDocument {
    /// Document ID.
    pub id: String,
    /// Invoice or credit note.
    pub kind: DocumentKind,
    /// Its number, unique per seller GSTIN.
    pub number: String,
    /// Financial year label ("26-27").
    pub financial_year: String,
    /// Sequence number in its series and year.
    pub seq: i64,
    /// The order.
    pub order_id: String,
    /// The buyer's user ID.
    pub customer_id: String,
    /// The vendor.
    pub vendor_id: String,
    /// Credit notes: the invoice they reduce.
    pub invoice_id: Option<String>,
    /// Credit notes: that invoice's number.
    pub invoice_number: Option<String>,
    /// Credit notes for returns: the return.
    pub return_id: Option<String>,
    /// Credit notes: why.
    pub reason: Option<String>,
    /// When issued.
    pub issued_at: DateTime,
    /// The seller.
    pub seller: Seller,
    /// The recipient.
    pub buyer: Buyer,
    /// Place of supply (state code of the delivery address).
    pub place_of_supply: String,
    /// CGST + SGST or IGST.
    pub supply: Supply,
    /// ISO 4217 currency ("INR").
    pub currency: String,
    /// Sums of the lines.
    pub totals: Totals,
    /// The lines, in order.
    pub lines: Vec<DocumentLine>,
}

/// Per HSN code and rate: the totals GST returns ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsnSummaryLine {
    /// HSN code.
    pub hsn_code: String,
    /// GST rate.
    pub rate: GstRate,
    /// Units.
    pub quantity: i64,
    /// Sums of the lines' amounts.
    pub totals: Totals,
}

/// The lines grouped by (HSN code, rate), in that order.
pub fn hsn_summary(lines: &[DocumentLine]) -> Vec<HsnSummaryLine> {
    let mut groups: BTreeMap<(String, GstRate), (i64, Vec<LineTax>)> = BTreeMap::new();
    for line in lines {
        let entry = groups
            .entry((line.hsn_code.clone(), line.rate))
            .or_default();
        entry.0 += line.quantity;
        entry.1.push(line.tax);
    }
    groups
        .into_iter()
        .map(|((hsn_code, rate), (quantity, taxes))| HsnSummaryLine {
            hsn_code,
            rate,
            quantity,
            totals: Totals::of(&taxes),
        })
        .collect()
}

/// A line's invoiced amounts and how much of it was credited already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditBalance {
    /// The line's amounts on the invoice.
    pub invoiced: LineTax,
    /// Units invoiced.
    pub quantity: i64,
    /// Units on earlier credit notes.
    pub credited: i64,
}

/// The tax a credit note gives back for `quantity` more units of a line
/// whose refund is `gross`: each tax is the line's tax × units / units
/// invoiced as a difference of cumulative floors (so crediting every unit
/// gives back exactly the invoiced tax), CGST equal to SGST, and the taxable
/// value the rest of `gross`. More units than are left is `BAD_USER_INPUT`.
pub fn credit_line_tax(line: CreditBalance, quantity: i64, gross: i64) -> ApiResult<LineTax> {
    if quantity < 1 || line.credited + quantity > line.quantity {
        return Err(ApiError::bad_input(
            "a credit note cannot credit more units than were invoiced",
        ));
    }
    let share = |total: i64| {
        let upto = |units: i64| {
            i64::try_from(i128::from(total) * i128::from(units) / i128::from(line.quantity.max(1)))
                .unwrap_or(i64::MAX)
        };
        upto(line.credited + quantity) - upto(line.credited)
    };
    let half = share(line.invoiced.cgst);
    let igst = share(line.invoiced.igst);
    let tax = (2 * half + igst).min(gross.max(0));
    let (cgst, igst) = if line.invoiced.igst > 0 {
        (0, tax)
    } else {
        (tax / 2, 0)
    };
    Ok(LineTax {
        gross,
        taxable: gross - 2 * cgst - igst,
        cgst,
        sgst: cgst,
        igst,
    })
}

/// GST state codes and names, by ISO 3166-2:IN code.
const STATES: [(&str, &str, &str); 37] = [
    ("JK", "01", "Jammu and Kashmir"),
    ("HP", "02", "Himachal Pradesh"),
    ("PB", "03", "Punjab"),
    ("CH", "04", "Chandigarh"),
    ("UK", "05", "Uttarakhand"),
    ("HR", "06", "Haryana"),
    ("DL", "07", "Delhi"),
    ("RJ", "08", "Rajasthan"),
    ("UP", "09", "Uttar Pradesh"),
    ("BR", "10", "Bihar"),
    ("SK", "11", "Sikkim"),
    ("AR", "12", "Arunachal Pradesh"),
    ("NL", "13", "Nagaland"),
    ("MN", "14", "Manipur"),
    ("MZ", "15", "Mizoram"),
    ("TR", "16", "Tripura"),
    ("ML", "17", "Meghalaya"),
    ("AS", "18", "Assam"),
    ("WB", "19", "West Bengal"),
    ("JH", "20", "Jharkhand"),
    ("OD", "21", "Odisha"),
    ("CT", "22", "Chhattisgarh"),
    ("MP", "23", "Madhya Pradesh"),
    ("GJ", "24", "Gujarat"),
    ("DH", "26", "Dadra and Nagar Haveli and Daman and Diu"),
    ("MH", "27", "Maharashtra"),
    ("KA", "29", "Karnataka"),
    ("GA", "30", "Goa"),
    ("LD", "31", "Lakshadweep"),
    ("KL", "32", "Kerala"),
    ("TN", "33", "Tamil Nadu"),
    ("PY", "34", "Puducherry"),
    ("AN", "35", "Andaman and Nicobar Islands"),
    ("TG", "36", "Telangana"),
    ("AP", "37", "Andhra Pradesh"),
    ("LA", "38", "Ladakh"),
    ("OR", "21", "Odisha"),
];

/// How a place of supply is printed: "Karnataka (29)", or the code itself
/// when it is not a known state.
pub fn place_of_supply(state: &str) -> String {
    let code = state.trim().to_ascii_uppercase();
    STATES
        .iter()
        .find(|(iso, _, _)| *iso == code)
        .map(|(_, gst, name)| format!("{name} ({gst})"))
        .unwrap_or(code)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn rupees(paise: i64) -> String {
    format!("₹{}", format_paise(paise))
}

/// The addresses and references of a document, one line each, in print order.
fn header(doc: &TaxDocument) -> Vec<(String, String)> {
    let s = &doc.seller;
    let b = &doc.buyer;
    let mut rows = vec![
        (format!("{} No.", doc.kind.title()), doc.number.clone()),
        (
            "Date".into(),
            doc.issued_at.0.format("%Y-%m-%d").to_string(),
        ),
        ("Order".into(), doc.order_id.clone()),
    ];
    if let Some(invoice) = &doc.invoice_number {
        rows.push(("Against invoice".into(), invoice.clone()));
    }
    if let Some(reason) = &doc.reason {
        rows.push(("Reason".into(), reason.clone()));
    }
    rows.extend([
        ("Seller".into(), s.legal_name.clone()),
        (
            "Dispatched from".into(),
            format!(
                "{}, {}, {}, {} {}",
                s.branch_name, s.line1, s.city, s.state, s.pincode
            ),
        ),
        ("Seller GSTIN".into(), s.gstin.clone()),
        (
            "Recipient".into(),
            b.name.clone().unwrap_or_else(|| "Customer".into()),
        ),
        (
            "Delivery address".into(),
            [
                Some(b.line1.as_str()),
                b.line2.as_deref(),
                Some(b.city.as_str()),
                Some(&format!("{} {}", b.state, b.pincode)),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
        ),
        (
            "Place of supply".into(),
            place_of_supply(&doc.place_of_supply),
        ),
        (
            "Tax".into(),
            match doc.supply {
                Supply::IntraState => "CGST + SGST (intra-state)".into(),
                Supply::InterState => "IGST (inter-state)".into(),
            },
        ),
    ]);
    rows
}

const LINE_HEADINGS: [&str; 10] = [
    "#",
    "Description",
    "HSN",
    "Qty",
    "Rate",
    "Taxable value",
    "CGST",
    "SGST",
    "IGST",
    "Total",
];

fn line_cells(position: usize, l: &DocumentLine) -> [String; 10] {
    [
        position.to_string(),
        l.description.clone(),
        l.hsn_code.clone(),
        l.quantity.to_string(),
        format!("{}%", l.rate.percent_string()),
        rupees(l.tax.taxable),
        rupees(l.tax.cgst),
        rupees(l.tax.sgst),
        rupees(l.tax.igst),
        rupees(l.tax.gross),
    ]
}

fn summary_cells(h: &HsnSummaryLine) -> [String; 10] {
    [
        String::new(),
        "HSN summary".into(),
        h.hsn_code.clone(),
        h.quantity.to_string(),
        format!("{}%", h.rate.percent_string()),
        rupees(h.totals.taxable),
        rupees(h.totals.cgst),
        rupees(h.totals.sgst),
        rupees(h.totals.igst),
        rupees(h.totals.total),
    ]
}

fn total_cells(t: &Totals) -> [String; 10] {
    [
        String::new(),
        "Total".into(),
        String::new(),
        String::new(),
        String::new(),
        rupees(t.taxable),
        rupees(t.cgst),
        rupees(t.sgst),
        rupees(t.igst),
        rupees(t.total),
    ]
}

/// The document as plain text.
pub fn render_text(doc: &TaxDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", doc.kind.title().to_uppercase());
    for (label, value) in header(doc) {
        let _ = writeln!(out, "{label}: {value}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", LINE_HEADINGS.join(" | "));
    for (i, line) in doc.lines.iter().enumerate() {
        let _ = writeln!(out, "{}", line_cells(i + 1, line).join(" | "));
    }
    let _ = writeln!(out);
    for h in hsn_summary(&doc.lines) {
        let _ = writeln!(out, "{}", summary_cells(&h)[1..].join(" | "));
    }
    let _ = writeln!(out);
    let t = &doc.totals;
    let _ = writeln!(out, "Taxable value: {}", rupees(t.taxable));
    let _ = writeln!(out, "CGST: {}", rupees(t.cgst));
    let _ = writeln!(out, "SGST: {}", rupees(t.sgst));
    let _ = writeln!(out, "IGST: {}", rupees(t.igst));
    let _ = writeln!(out, "Total (tax included): {}", rupees(t.total));
    out
}

fn html_row(out: &mut String, cell: &str, cells: &[String]) {
    out.push_str("<tr>");
    for c in cells {
        let _ = write!(out, "<{cell}>{}</{cell}>", escape_html(c));
    }
    out.push_str("</tr>\n");
}

/// The document as a complete HTML page, every value escaped.
pub fn render_html(doc: &TaxDocument) -> String {
    let title = format!("{} {}", doc.kind.title(), doc.number);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:4px}}</style></head>\n<body>\n<h1>{}</h1>\n<table>\n",
        escape_html(&title),
        escape_html(doc.kind.title())
    );
    for (label, value) in header(doc) {
        html_row(&mut out, "td", &[label, value]);
    }
    out.push_str("</table>\n<h2>Lines</h2>\n<table>\n");
    let headings: Vec<String> = LINE_HEADINGS.iter().map(|h| h.to_string()).collect();
    html_row(&mut out, "th", &headings);
    for (i, line) in doc.lines.iter().enumerate() {
        html_row(&mut out, "td", &line_cells(i + 1, line));
    }
    html_row(&mut out, "th", &total_cells(&doc.totals));
    out.push_str("</table>\n<h2>HSN summary</h2>\n<table>\n");
    html_row(&mut out, "th", &headings[1..]);
    for h in hsn_summary(&doc.lines) {
        html_row(&mut out, "td", &summary_cells(&h)[1..]);
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{split_gross, GstRate};
    use chrono::TimeZone;

    fn rate(percent: i64) -> GstRate {
        GstRate::from_basis_points(percent * 100).unwrap()
    }

    #[test]
    fn the_financial_year_turns_on_1_april_india_time() {
        let utc = |y, m, d, h, min| Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
        // 31 March 23:59 IST is 18:29 UTC: still 2026-27.
        assert_eq!(FinancialYear::of(utc(2027, 3, 31, 18, 29)).label(), "26-27");
        // 1 April 00:00 IST is 31 March 18:30 UTC: already 2027-28.
        assert_eq!(FinancialYear::of(utc(2027, 3, 31, 18, 30)).label(), "27-28");
        assert_eq!(FinancialYear::of(utc(2026, 4, 1, 0, 0)).start, 2026);
        assert_eq!(FinancialYear::of(utc(2027, 1, 15, 12, 0)).start, 2026);
        assert_eq!(FinancialYear { start: 2099 }.label(), "99-00");
    }

    #[test]
    fn numbers_follow_the_series_and_fit_in_sixteen_characters() {
        let series = InvoiceSeries::parse("KA01").unwrap();
        let fy = FinancialYear { start: 2026 };
        let n = document_number(&series, fy, DocumentKind::TaxInvoice, 42).unwrap();
        assert_eq!(n, "KA01/26-27/00042");
        assert_eq!(n.len(), 16);
        let last = document_number(&series, fy, DocumentKind::TaxInvoice, MAX_INVOICE_SEQ);
        assert_eq!(last.unwrap(), "KA01/26-27/99999");
        let c = document_number(&series, fy, DocumentKind::CreditNote, 1).unwrap();
        assert_eq!(c, "KA01/26-27/C0001");
        assert!(c.len() <= MAX_NUMBER_CHARS);
        assert!(document_number(&series, fy, DocumentKind::TaxInvoice, 100_000).is_err());
        assert!(document_number(&series, fy, DocumentKind::CreditNote, 10_000).is_err());
        assert!(document_number(&series, fy, DocumentKind::TaxInvoice, 0).is_err());
        for bad in ["", "KA012", "ka01", "K/1", "KA 1"] {
            assert!(InvoiceSeries::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_number(&"x".repeat(17)).is_err());
        assert_eq!(
            parse_number(" KA01/26-27/00042 ").unwrap(),
            "KA01/26-27/00042"
        );
    }

    #[test]
    fn gstins_are_checked_for_shape() {
        assert_eq!(parse_gstin("29aaacj1234a1z5").unwrap(), "29AAACJ1234A1Z5");
        assert!(parse_gstin("29AAACJ1234A1X5").is_err());
        assert!(parse_gstin("2AAACJ1234A1Z5").is_err());
    }

    fn line(id: &str, hsn: &str, percent: i64, unit: i64, qty: i64) -> DocumentLine {
        DocumentLine {
            order_line_id: id.into(),
            description: id.into(),
            hsn_code: hsn.into(),
            quantity: qty,
            unit_price: unit,
            rate: rate(percent),
            tax: split_gross(unit * qty, rate(percent), Supply::IntraState),
        }
    }

    #[test]
    fn the_hsn_summary_groups_by_code_and_rate() {
        let lines = [
            line("a", "3004", 12, 1800, 1),
            line("b", "3004", 12, 3000, 2),
            line("c", "3004", 5, 107, 1),
        ];
        let summary = hsn_summary(&lines);
        assert_eq!(summary.len(), 2);
        // 3004 at 5 % first (rates ascend within a code).
        assert_eq!((summary[0].rate, summary[0].quantity), (rate(5), 1));
        let twelve = &summary[1];
        assert_eq!(twelve.quantity, 3);
        // 1800 → half 96; 6000 → half round(6000 × 6 / 112 = 321.43) = 321.
        assert_eq!(twelve.totals.cgst, 96 + 321);
        assert_eq!(twelve.totals.sgst, twelve.totals.cgst);
        assert_eq!(twelve.totals.taxable, 1608 + 5358);
        assert_eq!(twelve.totals.total, 7800);
    }

    #[test]
    fn credit_notes_give_back_the_line_tax_exactly() {
        // 3 units at ₹33.34 = ₹100.02 at 12 % within a state: half =
        // round(10002 × 6 / 112 = 535.82) = 536.
        let invoiced = split_gross(10_002, rate(12), Supply::IntraState);
        assert_eq!(invoiced.cgst, 536);
        let balance = |credited| CreditBalance {
            invoiced,
            quantity: 3,
            credited,
        };
        let first = credit_line_tax(balance(0), 1, 3_334).unwrap();
        // 536 / 3 = 178.67 → 178 each.
        assert_eq!((first.cgst, first.sgst, first.taxable), (178, 178, 2_978));
        let rest = credit_line_tax(balance(1), 2, 6_668).unwrap();
        assert_eq!(rest.cgst, 536 - 178);
        assert_eq!(first.cgst + rest.cgst, invoiced.cgst);
        assert_eq!(first.taxable + rest.taxable, invoiced.taxable);
        assert!(credit_line_tax(balance(2), 2, 6_668).is_err());
        // IGST lines stay IGST.
        let igst = split_gross(1_800, rate(12), Supply::InterState);
        let all = CreditBalance {
            invoiced: igst,
            quantity: 1,
            credited: 0,
        };
        assert_eq!(credit_line_tax(all, 1, 1_800).unwrap(), igst);
    }

    #[test]
    fn html_is_escaped_and_complete() {
        let doc = TaxDocument {
            id: "d".into(),
            kind: DocumentKind::TaxInvoice,
            number: "KA01/26-27/00001".into(),
            financial_year: "26-27".into(),
            seq: 1,
            order_id: "o".into(),
            customer_id: "c".into(),
            vendor_id: "v".into(),
            invoice_id: None,
            invoice_number: None,
            return_id: None,
            reason: None,
            issued_at: DateTime(Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap()),
            seller: Seller {
                legal_name: "A & B <Pharma>".into(),
                branch_id: "b".into(),
                branch_name: "Main".into(),
                line1: "1 \"Road\"".into(),
                city: "Bengaluru".into(),
                state: "KA".into(),
                pincode: "560001".into(),
                gstin: "29AAACJ1234A1Z5".into(),
                invoice_series: "KA01".into(),
            },
            buyer: Buyer {
                name: Some("<script>alert(1)</script>".into()),
                line1: "2 Lane".into(),
                line2: None,
                city: "Bengaluru".into(),
                state: "KA".into(),
                pincode: "560002".into(),
            },
            place_of_supply: "KA".into(),
            supply: Supply::IntraState,
            currency: "INR".into(),
            totals: Totals::of(&[line("a", "3004", 12, 1800, 1).tax]),
            lines: vec![line("Crocin 500 <tab>", "3004", 12, 1800, 1)],
        };
        let html = render_html(&doc);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("A &amp; B &lt;Pharma&gt;"));
        assert!(html.contains("Crocin 500 &lt;tab&gt;"));
        assert!(html.contains("Karnataka (29)"));
        let text = render_text(&doc);
        assert!(text.contains("Tax Invoice No.: KA01/26-27/00001"));
        assert!(text.contains("Taxable value: ₹16.08"));
        assert!(text.contains("CGST: ₹0.96"));
        assert!(text.contains("Total (tax included): ₹18.00"));
    }
}
