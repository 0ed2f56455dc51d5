//! Prescriptions' rules, free of I/O: what a prescription document may be
//! (recognised by content, not name), validated submission and review input,
//! the state machine `SUBMITTED → APPROVED | REJECTED`, `APPROVED → EXPIRED`,
//! who may read what, and how dispensing requests are matched against
//! approved lines (including the schedule-X one-prescription-per-order rule).

use chrono::{Duration, NaiveDate};
use janta_platform::auth::{Principal, Role};
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};
use std::collections::{HashMap, HashSet};

/// Largest accepted document: 10 MB (10 × 1024 × 1024 bytes).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;
/// How long an upload URL stays usable.
pub const UPLOAD_URL_TTL_SECONDS: i64 = 10 * 60;
/// How long a document URL stays usable.
pub const DOCUMENT_URL_TTL_SECONDS: i64 = 5 * 60;
/// A prescription older than this (by issue date) is not accepted.
pub const MAX_PRESCRIPTION_AGE_DAYS: i64 = 183;
/// Longest validity a pharmacist may grant, counted from the issue date.
pub const MAX_VALIDITY_DAYS: i64 = 365;
/// Largest quantity of one medicine a pharmacist may approve.
pub const MAX_LINE_QUANTITY: i64 = 10_000;
/// Most lines one approval may carry.
pub const MAX_APPROVED_LINES: usize = 50;
/// Most upload slots a customer may hold open (unexpired, not yet uploaded).
pub const MAX_OPEN_UPLOADS: i64 = 20;
/// Most prescriptions and lines one dispensing request may name.
pub const MAX_DISPENSE_PRESCRIPTIONS: usize = 20;
/// Most lines one dispensing request may carry.
pub const MAX_DISPENSE_LINES: usize = 100;

/// Today's date in India (IST, UTC+05:30): issue dates and validity are
/// Indian calendar dates, so "expired" flips at Indian midnight.
pub fn today() -> NaiveDate {
    janta_platform::india::today()
}

// ---------- documents ----------

/// The document formats accepted, recognised by their content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A PDF file (`%PDF-` … `%%EOF`).
    Pdf,
    /// A JPEG photo (SOI `FFD8FF` … EOI `FFD9`).
    Jpeg,
    /// A PNG image (signature, `IHDR` first, `IEND` last).
    Png,
}

impl DocumentKind {
    /// The MIME type stored and served.
    pub fn content_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Png => "image/png",
        }
    }

    /// File extension used for stored objects and download names.
    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Jpeg => "jpg",
            DocumentKind::Png => "png",
        }
    }

    /// The kind a stored MIME type names.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type {
            "application/pdf" => Some(DocumentKind::Pdf),
            "image/jpeg" => Some(DocumentKind::Jpeg),
            "image/png" => Some(DocumentKind::Png),
            _ => None,
        }
    }
}

/// Why an uploaded file is refused (each maps to a clear HTTP error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentProblem {
    /// No bytes at all.
    Empty,
    /// More than [`MAX_DOCUMENT_BYTES`].
    TooLarge,
    /// Not a PDF, JPEG or PNG by content.
    Unsupported,
    /// Starts like `kind` but is cut short or malformed.
    Truncated(DocumentKind),
    /// The declared `Content-Type` is not an accepted type.
    DeclaredTypeNotAccepted(String),
    /// The declared `Content-Type` disagrees with the content.
    Mismatch {
        /// What the client said.
        declared: String,
        /// What the bytes are.
        actual: DocumentKind,
    },
}

impl DocumentProblem {
    /// A message that tells the client what to fix.
    pub fn message(&self) -> String {
        match self {
            DocumentProblem::Empty => "the file is empty".into(),
            DocumentProblem::TooLarge => format!(
                "the file is larger than {} MB",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
            DocumentProblem::Unsupported => {
                "the file is not a PDF, JPEG or PNG (checked by its content, not its name)".into()
            }
            DocumentProblem::Truncated(kind) => format!(
                "the file looks like a {} but is incomplete or damaged; upload it again",
                kind.extension().to_uppercase()
            ),
            DocumentProblem::DeclaredTypeNotAccepted(declared) => format!(
                "Content-Type {declared} is not accepted; send application/pdf, image/jpeg or image/png"
            ),
            DocumentProblem::Mismatch { declared, actual } => format!(
                "Content-Type says {declared} but the file is {}",
                actual.content_type()
            ),
        }
    }
}

/// Normalises a declared `Content-Type` to its lower-case base type;
/// `None` when absent or generic (then the content alone decides).
pub fn declared_type(header: Option<&str>) -> Option<String> {
    let base = header?.split(';').next()?.trim().to_ascii_lowercase();
    match base.as_str() {
        "" | "application/octet-stream" => None,
        "image/jpg" | "image/pjpeg" => Some("image/jpeg".into()),
        _ => Some(base),
    }
}

/// Recognises a document by its bytes and checks its structure; the
/// declared type (if any, see [`declared_type`]) must agree.
pub fn inspect_document(
    bytes: &[u8],
    declared: Option<&str>,
) -> Result<DocumentKind, DocumentProblem> {
    if bytes.is_empty() {
        return Err(DocumentProblem::Empty);
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentProblem::TooLarge);
    }
    if let Some(declared) = declared {
        if DocumentKind::from_content_type(declared).is_none() {
            return Err(DocumentProblem::DeclaredTypeNotAccepted(declared.into()));
        }
    }
    let kind = sniff(bytes).ok_or(DocumentProblem::Unsupported)?;
    let sound = match kind {
        DocumentKind::Pdf => pdf_is_complete(bytes),
        DocumentKind::Jpeg => jpeg_is_complete(bytes),
        DocumentKind::Png => png_is_complete(bytes),
    };
    if !sound {
        return Err(DocumentProblem::Truncated(kind));
    }
    match declared {
        Some(d) if d != kind.content_type() => Err(DocumentProblem::Mismatch {
            declared: d.into(),
            actual: kind,
        }),
        _ => Ok(kind),
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(DocumentKind::Pdf)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(DocumentKind::Jpeg)
    } else if bytes.starts_with(&PNG_SIGNATURE) {
        Some(DocumentKind::Png)
    } else {
        None
    }
}

/// `%PDF-<digit>.<digit>` and an `%%EOF` marker in the last kilobyte.
fn pdf_is_complete(bytes: &[u8]) -> bool {
    let version_ok = bytes.len() > 8
        && bytes[5].is_ascii_digit()
        && bytes[6] == b'.'
        && bytes[7].is_ascii_digit();
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    version_ok && tail.windows(5).any(|w| w == b"%%EOF")
}

/// SOI at the start, EOI at the end (tolerating a little trailing padding).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if bytes.len() < 4 {
        return false;
    }
    let tail_start = bytes.len().saturating_sub(32).max(3);
    bytes[tail_start..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Walks the chunks: `IHDR` (13 bytes) first, `IEND` last, exactly at the end.
fn png_is_complete(bytes: &[u8]) -> bool {
    let mut pos = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return false;
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        if first && (kind != b"IHDR" || len != 13) {
            return false;
        }
        first = false;
        let Some(end) = pos.checked_add(12).and_then(|p| p.checked_add(len)) else {
            return false;
        };
        if end > bytes.len() {
            return false;
        }
        if kind == b"IEND" {
            return end == bytes.len();
        }
        pos = end;
    }
}

// ---------- submission ----------

/// A person's name (patient or doctor): 2–120 characters, no control characters.
pub fn parse_name(raw: &str, what: &str) -> ApiResult<String> {
    parse_text(raw, what, 2, 120)
}

/// Trimmed free text within a length window, no control characters.
pub fn parse_text(raw: &str, what: &str, min: usize, max: usize) -> ApiResult<String> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = text.chars().count();
    if len < min || len > max || text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(format!(
            "{what} must be {min} to {max} characters"
        )));
    }
    Ok(text)
}

/// A doctor's registration number with a State Medical Council or the NMC,
/// e.g. "KMC 12345" or "MH/2019/04567": 3–32 letters, digits, spaces, `/`, `-`, `.`.
pub fn parse_registration_number(raw: &str) -> ApiResult<String> {
    let text = raw.trim().to_uppercase();
    let len = text.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '/' | '-' | '.');
    if (3..=32).contains(&len)
        && text.chars().all(allowed)
        && text.chars().any(|c| c.is_ascii_digit())
    {
        Ok(text)
    } else {
        Err(ApiError::bad_input(
            "doctorRegistrationNumber must be 3 to 32 letters, digits, spaces, '/', '-' or '.', with at least one digit",
        ))
    }
}

/// An issue date may not lie in the future nor be older than about six months.
pub fn check_issued_on(issued_on: NaiveDate, today: NaiveDate) -> ApiResult<()> {
    if issued_on > today {
        return Err(ApiError::bad_input("issuedOn cannot be in the future"));
    }
    if (today - issued_on).num_days() > MAX_PRESCRIPTION_AGE_DAYS {
        return Err(ApiError::bad_input(
            "the prescription is older than 6 months; ask the doctor for a new one",
        ));
    }
    Ok(())
}

// ---------- state machine ----------

/// Where a prescription is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a pharmacist.
    Submitted,
    /// Approved with lines, usable until `valid_until`.
    Approved,
    /// Refused by a pharmacist, with a reason.
    Rejected,
    /// Approved once, but `valid_until` has passed.
    Expired,
}

impl Status {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Approved => "APPROVED",
            Status::Rejected => "REJECTED",
            Status::Expired => "EXPIRED",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        use Status::*;
        [Submitted, Approved, Rejected, Expired]
            .into_iter()
            .find(|v| v.as_db() == s)
    }

    /// The status as of `today`: an approved prescription past its
    /// `valid_until` is expired (computed on read, nothing to sweep).
    pub fn effective(stored: Status, valid_until: Option<NaiveDate>, today: NaiveDate) -> Self {
        match stored {
            Status::Approved if valid_until.is_none_or(|v| v < today) => Status::Expired,
            other => other,
        }
    }
}

/// Where an upload slot stands: PENDING until a PUT claims it (RECEIVING),
/// UPLOADED once the file is stored, USED once submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStatus {
    Pending,
    Receiving,
    Uploaded,
    Used,
}

impl UploadStatus {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            UploadStatus::Pending => "PENDING",
            UploadStatus::Receiving => "RECEIVING",
            UploadStatus::Uploaded => "UPLOADED",
            UploadStatus::Used => "USED",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        use UploadStatus::*;
        [Pending, Receiving, Uploaded, Used]
            .into_iter()
            .find(|v| v.as_db() == s)
    }
}

/// Whether an order's prescriptions are consumed or were given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispenseStatus {
    Consumed,
    Restored,
}

impl DispenseStatus {
    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            DispenseStatus::Consumed => "CONSUMED",
            DispenseStatus::Restored => "RESTORED",
        }
    }

    /// Reads the storage form (None for anything else).
    pub fn parse(s: &str) -> Option<Self> {
        [DispenseStatus::Consumed, DispenseStatus::Restored]
            .into_iter()
            .find(|v| v.as_db() == s)
    }
}

/// Only a submitted prescription can be reviewed; anything else is `CONFLICT`.
pub fn check_reviewable(current: Status) -> ApiResult<()> {
    match current {
        Status::Submitted => Ok(()),
        other => Err(ApiError::conflict(format!(
            "this prescription was already reviewed (it is {})",
            other.as_db()
        ))),
    }
}

// ---------- review ----------

/// One approved medicine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedLine {
    /// Catalog medicine ID.
    pub medicine_id: String,
    /// Most that orders may consume in total.
    pub max_quantity: i64,
}

/// A validated review decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    /// Approve these lines until `valid_until`.
    Approve {
        /// What may be dispensed.
        lines: Vec<ApprovedLine>,
        /// Last day (inclusive) orders may use it.
        valid_until: NaiveDate,
        /// Optional pharmacist notes.
        notes: Option<String>,
    },
    /// Refuse, with the reason the customer is told.
    Reject {
        /// Why.
        reason: String,
    },
}

/// The raw review input as received.
pub struct ReviewInput<'a> {
    /// True for APPROVE, false for REJECT.
    pub approve: bool,
    /// (medicine ID, maximum quantity) pairs.
    pub lines: &'a [(String, i64)],
    /// Requested validity end, if any.
    pub valid_until: Option<NaiveDate>,
    /// Notes (the reason, for rejections).
    pub notes: Option<&'a str>,
}

/// Validates a review against the prescription's issue date and the
/// default validity policy (`validity_days` from issue).
pub fn parse_review(
    input: ReviewInput<'_>,
    issued_on: NaiveDate,
    today: NaiveDate,
    validity_days: u32,
) -> ApiResult<Review> {
    let notes = input
        .notes
        .filter(|n| !n.trim().is_empty())
        .map(|n| parse_text(n, "notes", 3, 1000))
        .transpose()?;
    if !input.approve {
        if !input.lines.is_empty() {
            return Err(ApiError::bad_input("a rejection carries no lines"));
        }
        if input.valid_until.is_some() {
            return Err(ApiError::bad_input("a rejection has no validUntil"));
        }
        let reason = notes.ok_or_else(|| {
            ApiError::bad_input("say why in notes: the customer is told the reason")
        })?;
        return Ok(Review::Reject { reason });
    }
    if input.lines.is_empty() {
        return Err(ApiError::bad_input(
            "an approval needs at least one line (medicineId and maxQuantity)",
        ));
    }
    if input.lines.len() > MAX_APPROVED_LINES {
        return Err(ApiError::bad_input(format!(
            "at most {MAX_APPROVED_LINES} lines per prescription"
        )));
    }
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(input.lines.len());
    for (raw_id, quantity) in input.lines {
        let medicine_id = parse_id(raw_id, "lines.medicineId")?;
        if !(1..=MAX_LINE_QUANTITY).contains(quantity) {
            return Err(ApiError::bad_input(format!(
                "lines.maxQuantity must be between 1 and {MAX_LINE_QUANTITY}"
            )));
        }
        if !seen.insert(medicine_id.clone()) {
            return Err(ApiError::bad_input(
                "each medicine may appear only once in lines",
            ));
        }
        lines.push(ApprovedLine {
            medicine_id,
            max_quantity: *quantity,
        });
    }
    let valid_until = match input.valid_until {
        Some(v) => v,
        None => {
            let default = issued_on + Duration::days(i64::from(validity_days));
            if default < today {
                return Err(ApiError::bad_input(format!(
                    "the default validity ({validity_days} days from issue) has already passed; give validUntil"
                )));
            }
            default
        }
    };
    if valid_until < today {
        return Err(ApiError::bad_input("validUntil cannot be in the past"));
    }
    if valid_until < issued_on {
        return Err(ApiError::bad_input("validUntil cannot be before issuedOn"));
    }
    if (valid_until - issued_on).num_days() > MAX_VALIDITY_DAYS {
        return Err(ApiError::bad_input(
            "validUntil can be at most one year after issuedOn",
        ));
    }
    Ok(Review::Approve {
        lines,
        valid_until,
        notes,
    })
}

// ---------- prescriber ----------

/// The prescriber an approval records: the doctor's name and medical
/// council registration number. Every medicine a prescription is needed for
/// is scheduled (H or H1; X is never sold online), and the Drugs Rules ask
/// that such a sale name its prescriber (the H1 register records both), so
/// an approval without them is refused (`BAD_USER_INPUT`). The pharmacist
/// may give them (`given_*`, read from the document); otherwise the doctor
/// the customer named at submission is taken.
pub fn approval_prescriber(
    given_name: Option<&str>,
    given_registration: Option<&str>,
    doctor_name: &str,
    doctor_registration: Option<&str>,
) -> ApiResult<(String, String)> {
    let blank = |v: &Option<&str>| v.is_none_or(|t| t.trim().is_empty());
    let name = match given_name {
        Some(n) if !blank(&Some(n)) => parse_name(n, "prescriberName")?,
        _ => doctor_name.to_string(),
    };
    let registration = match (given_registration, doctor_registration) {
        (g, _) if !blank(&g) => parse_registration_number(g.unwrap_or_default())
            .map_err(|_| ApiError::bad_input(
                "prescriberRegistration must be 3 to 32 letters, digits, spaces, '/', '-' or '.', with at least one digit",
            ))?,
        (_, Some(d)) if !d.trim().is_empty() => d.to_string(),
        _ => {
            return Err(ApiError::bad_input(
                "schedule H and H1 medicines need the prescriber's medical council registration number: \
                 give prescriberRegistration (as written on the prescription)",
            ))
        }
    };
    Ok((name, registration))
}

// ---------- access ----------

/// What the reader needs to know about a prescription to decide access.
pub struct AccessFacts<'a> {
    /// The customer who submitted it.
    pub owner_id: &'a str,
    /// The pharmacy (vendor) it was submitted to; `None` until the customer
    /// picks one.
    pub pharmacy_id: Option<&'a str>,
    /// Vendors whose orders currently hold quantities of it (consumed, not
    /// restored).
    pub dispensing_vendors: &'a [String],
}

/// Why a caller may read a prescription. Recorded with every document
/// link handed out, so the audit trail says on what ground it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadGround {
    /// The customer who submitted it.
    Owner,
    /// A pharmacist of the pharmacy it was submitted to.
    Pharmacy,
    /// Staff of a pharmacy whose order dispenses against it.
    DispensingPharmacy,
    /// A platform admin who gave a reason.
    Audit,
}

impl ReadGround {
    const ALL: [ReadGround; 4] = [
        ReadGround::Owner,
        ReadGround::Pharmacy,
        ReadGround::DispensingPharmacy,
        ReadGround::Audit,
    ];

    /// Stored and audited form.
    pub fn as_db(self) -> &'static str {
        match self {
            ReadGround::Owner => "OWNER",
            ReadGround::Pharmacy => "PHARMACY",
            ReadGround::DispensingPharmacy => "DISPENSING_PHARMACY",
            ReadGround::Audit => "AUDIT",
        }
    }

    /// The ground stored as `raw`, if it is one.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_db() == raw)
    }
}

/// The reads of a prescription the audit trail records (its access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    /// A platform admin read the record, with a reason.
    ReadForAudit,
    /// A signed document link was handed out.
    DocumentLinkIssued,
    /// A document link was used: the document was downloaded.
    DocumentDownloaded,
}

impl AccessAction {
    /// Every access action, for queries over the audit trail.
    pub const ALL: [AccessAction; 3] = [
        AccessAction::ReadForAudit,
        AccessAction::DocumentLinkIssued,
        AccessAction::DocumentDownloaded,
    ];

    /// The audit trail's `action`.
    pub fn as_db(self) -> &'static str {
        match self {
            AccessAction::ReadForAudit => "read_for_audit",
            AccessAction::DocumentLinkIssued => "document_link_issued",
            AccessAction::DocumentDownloaded => "document_downloaded",
        }
    }

    /// The access action recorded as `raw`, if it is one.
    pub fn from_db(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_db() == raw)
    }
}

/// Most access-log entries one request returns.
pub const MAX_ACCESS_LOG_ENTRIES: i64 = 500;
/// Access-log entries returned when the caller does not say.
pub const DEFAULT_ACCESS_LOG_ENTRIES: i64 = 100;

/// How many access-log entries to return: 1 to
/// [`MAX_ACCESS_LOG_ENTRIES`], [`DEFAULT_ACCESS_LOG_ENTRIES`] by default.
pub fn access_log_limit(requested: Option<i32>) -> ApiResult<i64> {
    match requested.map(i64::from) {
        None => Ok(DEFAULT_ACCESS_LOG_ENTRIES),
        Some(n) if (1..=MAX_ACCESS_LOG_ENTRIES).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_input(format!(
            "limit must be between 1 and {MAX_ACCESS_LOG_ENTRIES}"
        ))),
    }
}

/// Who may see who read a prescription: its owner and platform admins.
pub fn check_access_log_reader(p: &Principal, owner_id: &str) -> ApiResult<()> {
    if p.subject == owner_id || p.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the customer and platform admins see who read this prescription",
        ))
    }
}

/// Shortest reason an admin may give for reading a prescription.
pub const MIN_REASON_CHARS: usize = 10;
/// Longest reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason given for a read, if any: blank is none; otherwise
/// [`MIN_REASON_CHARS`] to [`MAX_REASON_CHARS`] characters.
pub fn parse_reason(raw: Option<&str>) -> ApiResult<Option<String>> {
    raw.filter(|r| !r.trim().is_empty())
        .map(|r| parse_text(r, "reason", MIN_REASON_CHARS, MAX_REASON_CHARS))
        .transpose()
}

/// A pharmacist attached to a vendor (the users subgraph grants the role
/// only once a platform admin verified the pharmacist's registration).
fn pharmacist_vendor(p: &Principal) -> Option<&str> {
    p.has_role(Role::Pharmacist)
        .then_some(p.vendor_id.as_deref())
        .flatten()
}

/// On what ground `p` may read the prescription and its document: its
/// owner, the pharmacists of the pharmacy it was submitted to, staff of a
/// pharmacy dispensing against it, and platform admins only with a `reason`
/// (already parsed by [`parse_reason`]). Anyone else, services included
/// (none needs it): `FORBIDDEN`.
pub fn read_ground(
    p: &Principal,
    rx: &AccessFacts<'_>,
    reason: Option<&str>,
) -> ApiResult<ReadGround> {
    if p.subject == rx.owner_id {
        return Ok(ReadGround::Owner);
    }
    if pharmacist_vendor(p).is_some_and(|v| rx.pharmacy_id == Some(v)) {
        return Ok(ReadGround::Pharmacy);
    }
    if rx.dispensing_vendors.iter().any(|v| p.is_staff_of(v)) {
        return Ok(ReadGround::DispensingPharmacy);
    }
    match (p.is_admin(), reason) {
        (true, Some(_)) => Ok(ReadGround::Audit),
        (true, None) => Err(ApiError::forbidden(
            "platform admins read a prescription only with a reason: pass `reason`",
        )),
        (false, _) => Err(ApiError::forbidden(
            "only the customer, the pharmacy it was submitted to and a pharmacy dispensing against it can see this prescription",
        )),
    }
}

/// The vendor of a pharmacist who may review, else `FORBIDDEN`.
pub fn reviewer_vendor(p: &Principal) -> ApiResult<&str> {
    if !p.has_role(Role::Pharmacist) {
        return Err(ApiError::forbidden("only pharmacists review prescriptions"));
    }
    pharmacist_vendor(p)
        .ok_or_else(|| ApiError::forbidden("your account is not attached to a vendor"))
}

/// A pharmacist of vendor `reviewer` may review only what was submitted to
/// their pharmacy.
pub fn check_review_pharmacy(reviewer: &str, pharmacy_id: Option<&str>) -> ApiResult<()> {
    if pharmacy_id == Some(reviewer) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this prescription was not submitted to your pharmacy",
        ))
    }
}

// ---------- dispensing ----------

/// Why a dispensing line is not covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    /// No prescription was offered for a medicine that needs one.
    NoPrescription,
    /// None of the offered prescriptions lists this medicine.
    NotPrescribed,
    /// An offered prescription is unknown or belongs to someone else.
    NotCustomers,
    /// The prescription is still awaiting review or was rejected.
    NotApproved,
    /// The prescription does not name its prescriber's registration
    /// (approved before approvals required it): schedule H and H1 sales
    /// are registered with it.
    NoPrescriber,
    /// The prescription's validity has passed.
    Expired,
    /// Schedule X: the prescription was already used by another order.
    AlreadyUsed,
    /// Not enough approved quantity left.
    InsufficientQuantity,
}

impl Refusal {
    /// A sentence for the customer.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NoPrescription => "this medicine needs a prescription",
            Refusal::NotPrescribed => "none of the given prescriptions lists this medicine",
            Refusal::NotCustomers => "a given prescription is not one of this customer's",
            Refusal::NotApproved => "the prescription has not been approved",
            Refusal::NoPrescriber => {
                "the prescription does not name its prescriber's registration number; ask the pharmacy to review a new one"
            }
            Refusal::Expired => "the prescription has expired",
            Refusal::AlreadyUsed => {
                "a schedule X medicine needs a prescription that no other order has used"
            }
            Refusal::InsufficientQuantity => {
                "the prescription does not leave enough approved quantity"
            }
        }
    }
}

/// One medicine an order wants, with the total quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// Catalog medicine ID.
    pub medicine_id: String,
    /// Total quantity wanted.
    pub quantity: i64,
    /// Schedule X: a prescription per order.
    pub schedule_x: bool,
    /// False for OTC medicines (covered without a prescription).
    pub needs_prescription: bool,
}

/// An approved line as it stands now.
#[derive(Debug, Clone)]
pub struct CandidateLine {
    /// Line ID.
    pub id: String,
    /// Catalog medicine ID.
    pub medicine_id: String,
    /// Approved maximum.
    pub max_quantity: i64,
    /// Consumed so far.
    pub consumed: i64,
}

/// An offered prescription and its lines.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Prescription ID.
    pub id: String,
    /// Its owner.
    pub owner_id: String,
    /// Effective status today.
    pub status: Status,
    /// Validity end (approved ones).
    pub valid_until: Option<NaiveDate>,
    /// Whether it names its prescriber's registration number (every
    /// medicine sold against a prescription is scheduled, and schedule H
    /// and H1 sales are registered with the prescriber).
    pub names_prescriber: bool,
    /// Approved lines.
    pub lines: Vec<CandidateLine>,
}

impl Candidate {
    /// Untouched: no order has consumed anything from it.
    fn fresh(&self) -> bool {
        self.lines.iter().all(|l| l.consumed == 0)
    }
}

/// The answer for one demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// No prescription needed (OTC).
    NotRequired,
    /// Covered by this line of this prescription.
    Covered {
        /// Prescription ID.
        prescription_id: String,
        /// Line ID.
        line_id: String,
        /// True when the whole prescription is spent on this order (schedule X).
        whole_prescription: bool,
    },
    /// Not covered, and why.
    Refused(Refusal),
}

/// Matches each demand to an approved, unexpired line of the customer's
/// offered prescriptions with enough left. Schedule-X demands take a fresh
/// prescription entirely (nothing consumed by any other order); other
/// demands may then share it. Earliest-expiring prescriptions are used first.
/// Demands must name distinct medicines (merge them first).
pub fn allocate(customer_id: &str, offered: &[Candidate], demands: &[Demand]) -> Vec<Allocation> {
    let mut result = vec![Allocation::NotRequired; demands.len()];
    let mut taken: HashSet<&str> = HashSet::new();
    let usable = |c: &Candidate| {
        c.owner_id == customer_id && c.status == Status::Approved && c.names_prescriber
    };
    let mut order: Vec<&Candidate> = offered.iter().filter(|c| usable(c)).collect();
    order.sort_by(|a, b| (a.valid_until, &a.id).cmp(&(b.valid_until, &b.id)));
    // Schedule X first, so that other demands can share a prescription it takes.
    let mut indices: Vec<usize> = (0..demands.len()).collect();
    indices.sort_by_key(|&i| !demands[i].schedule_x);
    for i in indices {
        let demand = &demands[i];
        if !demand.needs_prescription {
            continue;
        }
        let line_of = |c: &Candidate| -> Option<CandidateLine> {
            c.lines
                .iter()
                .find(|l| l.medicine_id == demand.medicine_id)
                .cloned()
        };
        let mut chosen = None;
        if demand.schedule_x {
            for c in &order {
                if let Some(line) = line_of(c) {
                    let available = taken.contains(c.id.as_str()) || c.fresh();
                    if available && line.max_quantity >= demand.quantity {
                        chosen = Some((*c, line));
                        break;
                    }
                }
            }
            if let Some((c, _)) = &chosen {
                taken.insert(c.id.as_str());
            }
        } else {
            // Prefer a prescription this order already takes whole (free), then earliest expiry.
            let mut candidates: Vec<&&Candidate> = order.iter().collect();
            candidates.sort_by_key(|c| !taken.contains(c.id.as_str()));
            for c in candidates {
                if let Some(line) = line_of(c) {
                    let left = if taken.contains(c.id.as_str()) {
                        line.max_quantity
                    } else {
                        line.max_quantity - line.consumed
                    };
                    if left >= demand.quantity {
                        chosen = Some((*c, line));
                        break;
                    }
                }
            }
        }
        result[i] = match chosen {
            Some((c, line)) => Allocation::Covered {
                prescription_id: c.id.clone(),
                line_id: line.id,
                whole_prescription: taken.contains(c.id.as_str()),
            },
            None => Allocation::Refused(refusal_for(customer_id, offered, demand)),
        };
    }
    // A non-X demand allocated before an X demand took the same prescription
    // is part of that whole-prescription take too.
    for alloc in &mut result {
        if let Allocation::Covered {
            prescription_id,
            whole_prescription,
            ..
        } = alloc
        {
            *whole_prescription = taken.contains(prescription_id.as_str());
        }
    }
    result
}

/// The most telling reason none of `offered` covers `demand`.
fn refusal_for(customer_id: &str, offered: &[Candidate], demand: &Demand) -> Refusal {
    if offered.is_empty() {
        return Refusal::NoPrescription;
    }
    let mut worst = Refusal::NotPrescribed;
    for c in offered {
        let reason = if c.owner_id != customer_id {
            Refusal::NotCustomers
        } else {
            match c.status {
                Status::Submitted | Status::Rejected => Refusal::NotApproved,
                _ => match c.lines.iter().find(|l| l.medicine_id == demand.medicine_id) {
                    None => Refusal::NotPrescribed,
                    Some(_) if !c.names_prescriber => Refusal::NoPrescriber,
                    Some(_) if c.status == Status::Expired => Refusal::Expired,
                    Some(_) if demand.schedule_x && !c.fresh() => Refusal::AlreadyUsed,
                    Some(_) => Refusal::InsufficientQuantity,
                },
            }
        };
        worst = worst.max(reason);
    }
    worst
}

/// Merges request lines by medicine (quantities add up; schedule X if any
/// line says so; needing a prescription if any line does). Returns the
/// demands and, for each input line, the index of its demand.
pub fn merge_demands(lines: &[Demand]) -> (Vec<Demand>, Vec<usize>) {
    let mut demands: Vec<Demand> = Vec::new();
    let mut by_medicine: HashMap<String, usize> = HashMap::new();
    let mut index_of_line = Vec::with_capacity(lines.len());
    for line in lines {
        let index = *by_medicine
            .entry(line.medicine_id.clone())
            .or_insert_with(|| {
                demands.push(Demand {
                    quantity: 0,
                    schedule_x: false,
                    needs_prescription: false,
                    ..line.clone()
                });
                demands.len() - 1
            });
        let d = &mut demands[index];
        d.quantity += line.quantity;
        d.schedule_x |= line.schedule_x;
        d.needs_prescription |= line.needs_prescription;
        index_of_line.push(index);
    }
    (demands, index_of_line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_testkit::principal;

    fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        for (kind, data) in chunks {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(*kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0, 0, 0, 0]);
        }
        out
    }

    #[test]
    fn documents_are_recognised_by_content() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
        assert_eq!(inspect_document(&pdf, None), Ok(DocumentKind::Pdf));
        assert_eq!(
            inspect_document(&pdf, Some("application/pdf")),
            Ok(DocumentKind::Pdf)
        );
        let good_png = png(&[(b"IHDR", &[0; 13]), (b"IDAT", &[1, 2, 3]), (b"IEND", &[])]);
        assert_eq!(inspect_document(&good_png, None), Ok(DocumentKind::Png));
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', 0xFF, 0xD9];
        assert_eq!(
            inspect_document(&jpeg, Some("image/jpeg")),
            Ok(DocumentKind::Jpeg)
        );

        assert_eq!(inspect_document(b"", None), Err(DocumentProblem::Empty));
        assert_eq!(
            inspect_document(b"just some text, honest", Some("application/pdf")),
            Err(DocumentProblem::Unsupported)
        );
        assert_eq!(
            inspect_document(&pdf[..20], None),
            Err(DocumentProblem::Truncated(DocumentKind::Pdf))
        );
        assert_eq!(
            inspect_document(&good_png[..good_png.len() - 3], None),
            Err(DocumentProblem::Truncated(DocumentKind::Png))
        );
        let no_ihdr = png(&[(b"IDAT", &[1]), (b"IEND", &[])]);
        assert!(inspect_document(&no_ihdr, None).is_err());
        assert_eq!(
            inspect_document(&jpeg[..6], None),
            Err(DocumentProblem::Truncated(DocumentKind::Jpeg))
        );
        assert!(matches!(
            inspect_document(&pdf, Some("image/png")),
            Err(DocumentProblem::Mismatch { .. })
        ));
        assert!(matches!(
            inspect_document(&pdf, Some("text/plain")),
            Err(DocumentProblem::DeclaredTypeNotAccepted(_))
        ));
        let mut huge = pdf.clone();
        huge.resize(MAX_DOCUMENT_BYTES + 1, b' ');
        assert_eq!(
            inspect_document(&huge, None),
            Err(DocumentProblem::TooLarge)
        );
    }

    #[test]
    fn declared_types_normalise() {
        assert_eq!(declared_type(None), None);
        assert_eq!(declared_type(Some("application/octet-stream")), None);
        assert_eq!(
            declared_type(Some("Application/PDF; charset=binary")).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            declared_type(Some("image/jpg")).as_deref(),
            Some("image/jpeg")
        );
    }

    #[test]
    fn submission_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert!(check_issued_on(today, today).is_ok());
        assert!(check_issued_on(today + Duration::days(1), today).is_err());
        assert!(check_issued_on(today - Duration::days(200), today).is_err());
        assert_eq!(
            parse_registration_number(" kmc 12345 ").unwrap(),
            "KMC 12345"
        );
        assert!(parse_registration_number("ABC").is_err());
        assert!(parse_registration_number("12; DROP").is_err());
        assert_eq!(
            parse_name("  Dr.  Anil   Rao ", "doctorName").unwrap(),
            "Dr. Anil Rao"
        );
        assert!(parse_name("A", "patientName").is_err());
    }

    #[test]
    fn statuses_expire_on_read() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let yesterday = today - Duration::days(1);
        assert_eq!(
            Status::effective(Status::Approved, Some(today), today),
            Status::Approved
        );
        assert_eq!(
            Status::effective(Status::Approved, Some(yesterday), today),
            Status::Expired
        );
        assert_eq!(
            Status::effective(Status::Rejected, Some(yesterday), today),
            Status::Rejected
        );
        assert!(check_reviewable(Status::Submitted).is_ok());
        for s in [Status::Approved, Status::Rejected, Status::Expired] {
            assert_eq!(
                check_reviewable(s).unwrap_err().code(),
                janta_platform::ErrorCode::Conflict
            );
        }
    }

    #[test]
    fn reviews_validate() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let issued = today - Duration::days(3);
        let med = uuid::Uuid::now_v7().to_string();
        let lines = vec![(med.clone(), 10)];
        let approve = |lines: &[(String, i64)], valid_until| {
            parse_review(
                ReviewInput {
                    approve: true,
                    lines,
                    valid_until,
                    notes: None,
                },
                issued,
                today,
                30,
            )
        };
        match approve(&lines, None).unwrap() {
            Review::Approve { valid_until, .. } => {
                assert_eq!(valid_until, issued + Duration::days(30))
            }
            other => panic!("{other:?}"),
        }
        assert!(approve(&[], None).is_err());
        assert!(approve(&[(med.clone(), 0)], None).is_err());
        assert!(approve(&[(med.clone(), 1), (med.clone(), 2)], None).is_err());
        assert!(approve(&[("garbage".into(), 1)], None).is_err());
        assert!(approve(&lines, Some(today - Duration::days(1))).is_err());
        assert!(approve(&lines, Some(issued + Duration::days(400))).is_err());
        let old = parse_review(
            ReviewInput {
                approve: true,
                lines: &lines,
                valid_until: None,
                notes: None,
            },
            today - Duration::days(40),
            today,
            30,
        );
        assert!(old.is_err(), "default validity already passed");
        let reject = |notes| {
            parse_review(
                ReviewInput {
                    approve: false,
                    lines: &[],
                    valid_until: None,
                    notes,
                },
                issued,
                today,
                30,
            )
        };
        assert!(reject(None).is_err());
        assert!(reject(Some("  ")).is_err());
        assert_eq!(
            reject(Some("illegible dosage")).unwrap(),
            Review::Reject {
                reason: "illegible dosage".into()
            }
        );
    }

    #[test]
    fn approvals_name_the_prescriber() {
        let code = |r: ApiResult<(String, String)>| r.unwrap_err().code();
        assert_eq!(
            approval_prescriber(None, None, "Dr. Anil Rao", Some("KMC 45678")).unwrap(),
            ("Dr. Anil Rao".to_string(), "KMC 45678".to_string())
        );
        assert_eq!(
            approval_prescriber(Some(" Dr. A.  Rao "), Some("kmc 1"), "Dr. Anil Rao", None)
                .unwrap(),
            ("Dr. A. Rao".to_string(), "KMC 1".to_string())
        );
        assert_eq!(
            code(approval_prescriber(None, None, "Dr. Anil Rao", None)),
            janta_platform::ErrorCode::BadUserInput
        );
        assert_eq!(
            code(approval_prescriber(
                None,
                Some("  "),
                "Dr. Anil Rao",
                Some("")
            )),
            janta_platform::ErrorCode::BadUserInput
        );
        assert!(approval_prescriber(None, Some("no digits"), "Dr. Rao", None).is_err());
        assert!(approval_prescriber(Some("X"), Some("KMC 1"), "Dr. Rao", None).is_err());
    }

    #[test]
    fn who_reads_what() {
        let owner = principal("c1", &[Role::Customer], None);
        let other = principal("c2", &[Role::Customer], None);
        let ka = principal("p1", &[Role::Pharmacist], Some("ka"));
        let mh = principal("p2", &[Role::Pharmacist], Some("mh"));
        let ka_admin = principal("a1", &[Role::VendorAdmin], Some("ka"));
        let mh_admin = principal("a2", &[Role::VendorAdmin], Some("mh"));
        let admin = principal("x", &[Role::Admin], None);
        let service = principal("service:orders", &[Role::Service], None);
        let dispensed_by_mh = ["mh".to_string()];
        let at_ka = AccessFacts {
            owner_id: "c1",
            pharmacy_id: Some("ka"),
            dispensing_vendors: &dispensed_by_mh,
        };
        let unassigned = AccessFacts {
            owner_id: "c1",
            pharmacy_id: None,
            dispensing_vendors: &[],
        };
        let ground = |p: &Principal, rx: &AccessFacts<'_>, reason: Option<&str>| {
            read_ground(p, rx, reason).ok()
        };
        assert_eq!(ground(&owner, &unassigned, None), Some(ReadGround::Owner));
        assert_eq!(ground(&ka, &at_ka, None), Some(ReadGround::Pharmacy));
        assert_eq!(ground(&ka, &unassigned, None), None, "nobody's queue");
        assert_eq!(ground(&ka_admin, &at_ka, None), None, "pharmacists review");
        assert_eq!(
            ground(&mh, &at_ka, None),
            Some(ReadGround::DispensingPharmacy)
        );
        assert_eq!(
            ground(&mh_admin, &at_ka, None),
            Some(ReadGround::DispensingPharmacy)
        );
        assert_eq!(ground(&mh, &unassigned, None), None);
        assert_eq!(ground(&other, &at_ka, Some("curious about it")), None);
        assert_eq!(ground(&admin, &at_ka, None), None, "admins need a reason");
        assert_eq!(
            ground(&admin, &at_ka, Some("complaint 4711")),
            Some(ReadGround::Audit)
        );
        assert_eq!(ground(&service, &at_ka, None), None, "no service needs it");
        assert!(check_access_log_reader(&owner, "c1").is_ok());
        assert!(check_access_log_reader(&admin, "c1").is_ok());
        assert!(check_access_log_reader(&ka, "c1").is_err());
        assert!(reviewer_vendor(&ka_admin).is_err());
        assert!(reviewer_vendor(&owner).is_err());
        assert_eq!(reviewer_vendor(&ka).unwrap(), "ka");
        assert!(check_review_pharmacy("ka", Some("ka")).is_ok());
        assert!(check_review_pharmacy("mh", Some("ka")).is_err());
        assert!(check_review_pharmacy("ka", None).is_err());
    }

    #[test]
    fn stored_names_round_trip() {
        for ground in ReadGround::ALL {
            assert_eq!(ReadGround::parse(ground.as_db()), Some(ground));
        }
        for action in AccessAction::ALL {
            assert_eq!(AccessAction::from_db(action.as_db()), Some(action));
        }
        assert_eq!(ReadGround::parse("SERVICE"), None);
        assert_eq!(AccessAction::from_db("submitted"), None);
    }

    #[test]
    fn reasons_say_why() {
        assert_eq!(parse_reason(None).unwrap(), None);
        assert_eq!(parse_reason(Some("   ")).unwrap(), None);
        assert!(parse_reason(Some("why")).is_err());
        assert!(parse_reason(Some(&"x".repeat(501))).is_err());
        assert_eq!(
            parse_reason(Some("  complaint   4711 "))
                .unwrap()
                .as_deref(),
            Some("complaint 4711")
        );
    }

    fn candidate(id: &str, owner: &str, status: Status, lines: &[(&str, i64, i64)]) -> Candidate {
        Candidate {
            id: id.into(),
            owner_id: owner.into(),
            status,
            valid_until: NaiveDate::from_ymd_opt(2026, 12, 1),
            names_prescriber: true,
            lines: lines
                .iter()
                .map(|(m, max, consumed)| CandidateLine {
                    id: format!("{id}-{m}"),
                    medicine_id: (*m).into(),
                    max_quantity: *max,
                    consumed: *consumed,
                })
                .collect(),
        }
    }

    fn demand(m: &str, q: i64, x: bool) -> Demand {
        Demand {
            medicine_id: m.into(),
            quantity: q,
            schedule_x: x,
            needs_prescription: true,
        }
    }

    #[test]
    fn dispensing_matches_lines_and_explains_refusals() {
        let offered = vec![
            candidate(
                "rx1",
                "c1",
                Status::Approved,
                &[("m1", 10, 8), ("m2", 5, 0)],
            ),
            candidate("rx2", "c1", Status::Expired, &[("m3", 5, 0)]),
            candidate("rx3", "c2", Status::Approved, &[("m4", 5, 0)]),
            candidate("rx4", "c1", Status::Submitted, &[]),
        ];
        let result = allocate(
            "c1",
            &offered,
            &[
                demand("m1", 2, false),
                demand("m1x", 1, false),
                demand("m3", 1, false),
                demand("m2", 9, false),
            ],
        );
        assert!(
            matches!(&result[0], Allocation::Covered { prescription_id, .. } if prescription_id == "rx1")
        );
        assert_eq!(result[1], Allocation::Refused(Refusal::NotApproved));
        assert_eq!(result[2], Allocation::Refused(Refusal::Expired));
        assert_eq!(
            result[3],
            Allocation::Refused(Refusal::InsufficientQuantity)
        );
        let foreign = allocate("c1", &offered[2..3], &[demand("m4", 1, false)]);
        assert_eq!(foreign[0], Allocation::Refused(Refusal::NotCustomers));
        let none = allocate("c1", &[], &[demand("m4", 1, false)]);
        assert_eq!(none[0], Allocation::Refused(Refusal::NoPrescription));
        let unnamed = Candidate {
            names_prescriber: false,
            ..offered[0].clone()
        };
        let no_prescriber = allocate("c1", &[unnamed], &[demand("m1", 1, false)]);
        assert_eq!(no_prescriber[0], Allocation::Refused(Refusal::NoPrescriber));
        let otc = allocate(
            "c1",
            &[],
            &[Demand {
                needs_prescription: false,
                ..demand("m9", 1, false)
            }],
        );
        assert_eq!(otc[0], Allocation::NotRequired);
    }

    #[test]
    fn schedule_x_takes_a_fresh_prescription_per_order() {
        let used = candidate(
            "rx1",
            "c1",
            Status::Approved,
            &[("x1", 10, 1), ("m2", 5, 0)],
        );
        let fresh = candidate(
            "rx2",
            "c1",
            Status::Approved,
            &[("x1", 10, 0), ("m2", 5, 0)],
        );
        let only_used = allocate("c1", std::slice::from_ref(&used), &[demand("x1", 1, true)]);
        assert_eq!(only_used[0], Allocation::Refused(Refusal::AlreadyUsed));
        let both = allocate(
            "c1",
            &[used, fresh],
            &[demand("m2", 5, false), demand("x1", 2, true)],
        );
        for a in &both {
            assert!(
                matches!(a, Allocation::Covered { prescription_id, whole_prescription: true, .. } if prescription_id == "rx2"),
                "{a:?}"
            );
        }
    }

    #[test]
    fn demands_merge_by_medicine() {
        let (demands, index) = merge_demands(&[
            demand("m1", 2, false),
            demand("m2", 1, false),
            demand("m1", 3, true),
        ]);
        assert_eq!(index, vec![0, 1, 0]);
        assert_eq!(demands[0].quantity, 5);
        assert!(demands[0].schedule_x);
        assert_eq!(demands.len(), 2);
    }
}
