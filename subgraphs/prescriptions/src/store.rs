//! All SQL of the prescriptions subgraph, in one place. Functions that take a
//! connection run inside the caller's transaction; the rest use the pool.
//! Quantities change only through conditional updates (`… WHERE
//! max_quantity - consumed >= $q`), so concurrent orders can never consume
//! more than a pharmacist approved.

use crate::domain::{ApprovedLine, DispenseStatus, ReadGround, Status, UploadStatus};
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::ids::new_id;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{to_db_time, Date, DateTime as At};
use janta_platform::store::{placeholders, Migrations, Store};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

pub mod files;
pub mod personal_data;

/// The prescriptions subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/prescriptions/sqlite"),
        postgres: sqlx::migrate!("../../migrations/prescriptions/postgres"),
    }
}

fn date_db(d: NaiveDate) -> String {
    Date(d).to_db()
}

/// Reads an enum's storage text in rows (`#[sqlx(try_from = "String")]`):
/// an unknown value is a decode error of the store.
macro_rules! stored_as_text {
    ($($enum:ty),+) => {$(
        impl TryFrom<String> for $enum {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                <$enum>::parse(&text).ok_or_else(|| format!("unknown {} {text:?}", stringify!($enum)))
            }
        }
    )+};
}

stored_as_text!(Status, UploadStatus, DispenseStatus, ReadGround);

// ---------- uploads ----------

/// An upload slot as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: String,
    #[sqlx(try_from = "String")]
    pub status: UploadStatus,
    pub expires_at: At,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub storage_key: Option<String>,
}

const UPLOAD_COLUMNS: &str =
    "id, owner_id, status, expires_at, content_type, size_bytes, sha256, storage_key";

/// Upload slots of `owner` still waiting for their file.
pub async fn count_open_uploads(
    store: &Store,
    owner_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM prescription_uploads WHERE owner_id = $1 AND status = 'PENDING' AND expires_at > $2",
    )
    .bind(owner_id)
    .bind(to_db_time(now))
    .fetch_one(store.pool())
    .await?;
    Ok(n)
}

/// Opens an upload slot for `owner` until `expires_at`.
pub async fn insert_upload(
    conn: &mut AnyConnection,
    owner_id: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO prescription_uploads (id, owner_id, status, expires_at, created_at) \
         VALUES ($1, $2, 'PENDING', $3, $4)",
    )
    .bind(&id)
    .bind(owner_id)
    .bind(to_db_time(expires_at))
    .bind(At::now())
    .execute(conn)
    .await?;
    Ok(id)
}

/// One upload slot.
pub async fn upload_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<UploadRow>> {
    sqlx::query_as(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM prescription_uploads WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// What happened when a PUT tried to claim an upload slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The slot is ours until released or completed.
    Claimed,
    /// No such slot.
    NotFound,
    /// The slot's time is up.
    Expired,
    /// Another PUT is streaming into it.
    InProgress,
    /// It already holds a file (or was submitted).
    AlreadyUsed,
}

/// Claims a pending, unexpired slot for one PUT (PENDING → RECEIVING), so
/// that two PUTs to the same link cannot both store a file.
pub async fn claim_upload(
    store: &Store,
    id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<ClaimOutcome> {
    let claimed = sqlx::query(
        "UPDATE prescription_uploads SET status = 'RECEIVING' \
         WHERE id = $1 AND status = 'PENDING' AND expires_at > $2",
    )
    .bind(id)
    .bind(to_db_time(now))
    .execute(store.pool())
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(ClaimOutcome::Claimed);
    }
    let mut conn = store.pool().acquire().await?;
    Ok(match upload_by_id(&mut conn, id).await? {
        None => ClaimOutcome::NotFound,
        Some(row) => match row.status {
            UploadStatus::Pending => ClaimOutcome::Expired,
            UploadStatus::Receiving => ClaimOutcome::InProgress,
            UploadStatus::Uploaded | UploadStatus::Used => ClaimOutcome::AlreadyUsed,
        },
    })
}

/// Gives a claimed slot back (the file was refused; nothing was stored).
pub async fn release_upload(store: &Store, id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE prescription_uploads SET status = 'PENDING' WHERE id = $1 AND status = 'RECEIVING'",
    )
    .bind(id)
    .execute(store.pool())
    .await
    .map(|_| ())
}

/// Facts about a stored document.
pub struct UploadedDocument<'a> {
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
}

/// Records the stored file of a claimed slot (RECEIVING → UPLOADED).
pub async fn complete_upload(
    store: &Store,
    id: &str,
    doc: &UploadedDocument<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescription_uploads SET status = 'UPLOADED', content_type = $2, size_bytes = $3, \
         sha256 = $4, storage_key = $5, uploaded_at = $6 WHERE id = $1 AND status = 'RECEIVING'",
    )
    .bind(id)
    .bind(doc.content_type)
    .bind(doc.size_bytes)
    .bind(doc.sha256)
    .bind(doc.storage_key)
    .bind(At::now())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks an uploaded slot of `owner` as used by a submission (UPLOADED →
/// USED); false if it is not in that state.
pub async fn use_upload(conn: &mut AnyConnection, id: &str, owner_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescription_uploads SET status = 'USED', used_at = $3 \
         WHERE id = $1 AND owner_id = $2 AND status = 'UPLOADED'",
    )
    .bind(id)
    .bind(owner_id)
    .bind(At::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------- prescriptions ----------

/// A prescription as stored.
#[derive(Debug, Clone, FromRow)]
pub struct PrescriptionRow {
    pub id: String,
    pub owner_id: String,
    pub upload_id: String,
    pub patient_name: String,
    pub family_member_id: Option<String>,
    pub doctor_name: String,
    pub doctor_registration_number: Option<String>,
    pub issued_on: Date,
    /// Stored status; see [`PrescriptionRow::status`] for the effective one.
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub document_key: String,
    pub document_content_type: String,
    pub document_size_bytes: i64,
    pub document_sha256: String,
    pub submitted_at: At,
    pub valid_until: Option<Date>,
    pub reviewed_at: Option<At>,
    pub reviewer_id: Option<String>,
    pub reviewer_vendor_id: Option<String>,
    pub review_notes: Option<String>,
    /// The pharmacy (vendor) it is submitted to; `None` until chosen.
    pub vendor_id: Option<String>,
    /// The prescriber's name as the reviewing pharmacist confirmed it (approval).
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration, as confirmed at approval.
    pub prescriber_registration: Option<String>,
}

impl PrescriptionRow {
    /// `valid_until` as a date.
    pub fn valid_until_date(&self) -> Option<NaiveDate> {
        self.valid_until.map(|d| d.0)
    }

    /// The status as of `today` (approved past validity reads as expired).
    pub fn status(&self, today: NaiveDate) -> Status {
        Status::effective(self.status, self.valid_until_date(), today)
    }
}

const RX_COLUMNS: &str = "id, owner_id, upload_id, patient_name, family_member_id, doctor_name, \
     doctor_registration_number, issued_on, status, document_key, document_content_type, \
     document_size_bytes, document_sha256, submitted_at, valid_until, reviewed_at, reviewer_id, \
     reviewer_vendor_id, review_notes, vendor_id, prescriber_name, prescriber_registration";

/// The fields of a new submission.
pub struct NewPrescription<'a> {
    pub owner_id: &'a str,
    pub upload: &'a UploadRow,
    pub patient_name: &'a str,
    pub family_member_id: Option<&'a str>,
    pub doctor_name: &'a str,
    pub doctor_registration_number: Option<&'a str>,
    pub issued_on: NaiveDate,
    pub vendor_id: Option<&'a str>,
}

impl NewPrescription<'_> {
    /// Inserts it as SUBMITTED with the upload's document facts.
    pub async fn insert(&self, conn: &mut AnyConnection) -> anyhow::Result<PrescriptionRow> {
        let id = new_id();
        let upload = self.upload;
        let missing = || anyhow::anyhow!("uploaded document {} lacks its facts", upload.id);
        sqlx::query(
            "INSERT INTO prescriptions (id, owner_id, upload_id, patient_name, family_member_id, doctor_name, \
             doctor_registration_number, issued_on, status, document_key, document_content_type, \
             document_size_bytes, document_sha256, submitted_at, vendor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'SUBMITTED', $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(self.owner_id)
        .bind(&upload.id)
        .bind(self.patient_name)
        .bind(self.family_member_id)
        .bind(self.doctor_name)
        .bind(self.doctor_registration_number)
        .bind(Date(self.issued_on))
        .bind(upload.storage_key.as_deref().ok_or_else(missing)?)
        .bind(upload.content_type.as_deref().ok_or_else(missing)?)
        .bind(upload.size_bytes.ok_or_else(missing)?)
        .bind(upload.sha256.as_deref().ok_or_else(missing)?)
        .bind(At::now())
        .bind(self.vendor_id)
        .execute(&mut *conn)
        .await?;
        prescription_by_id(conn, &id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("prescription {id} vanished after insert"))
    }
}

/// One prescription.
pub async fn prescription_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<PrescriptionRow>> {
    sqlx::query_as(&format!(
        "SELECT {RX_COLUMNS} FROM prescriptions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Many prescriptions in one statement (entity batches, DataLoader).
pub async fn prescriptions_by_ids(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<Vec<PrescriptionRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {RX_COLUMNS} FROM prescriptions WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// The document of a prescription: where it is and what it is.
pub struct DocumentRef {
    pub key: String,
    pub content_type: String,
}

/// The stored document of prescription `id`.
pub async fn document_of(store: &Store, id: &str) -> sqlx::Result<Option<DocumentRef>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT document_key, document_content_type FROM prescriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|(key, content_type)| DocumentRef { key, content_type }))
}

/// Which of a customer's prescriptions to list.
#[derive(Debug, Clone, Copy)]
pub enum StatusFilter {
    /// Every status.
    Any,
    /// Only this effective status.
    Only(Status),
}

/// SQL condition for an effective status (approved past validity is expired).
/// Uses `$n` for today's date.
fn status_condition(status: Status, n: usize) -> String {
    match status {
        Status::Submitted => "status = 'SUBMITTED'".into(),
        Status::Rejected => "status = 'REJECTED'".into(),
        Status::Approved => format!("(status = 'APPROVED' AND valid_until >= ${n})"),
        Status::Expired => {
            format!("(status = 'EXPIRED' OR (status = 'APPROVED' AND valid_until < ${n}))")
        }
    }
}

/// A customer's prescriptions, newest first, one page and the total.
pub async fn list_owned(
    store: &Store,
    owner_id: &str,
    filter: StatusFilter,
    today: NaiveDate,
    page: &PageRequest,
) -> sqlx::Result<(Vec<PrescriptionRow>, i64)> {
    // $1 owner, $2 today, $3 after-key, $4 after-id, $5 limit
    let status = match filter {
        StatusFilter::Any => "($2 = $2)".to_string(),
        StatusFilter::Only(s) => status_condition(s, 2),
    };
    let (after_key, after_id) = page
        .after
        .as_ref()
        .map(|c| (c.key.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query_as(&format!(
        "SELECT {RX_COLUMNS} FROM prescriptions WHERE owner_id = $1 AND {status} \
         AND ($4 = '' OR (submitted_at, id) < ($3, $4)) \
         ORDER BY submitted_at DESC, id DESC LIMIT $5"
    ))
    .bind(owner_id)
    .bind(date_db(today))
    .bind(&after_key)
    .bind(&after_id)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let count_sql = format!("SELECT COUNT(*) FROM prescriptions WHERE owner_id = $1 AND {status}");
    let total = page
        .total(
            sqlx::query_as(&count_sql)
                .bind(owner_id)
                .bind(date_db(today))
                .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}

/// The review queue of one pharmacy: prescriptions submitted to
/// `vendor_id` and awaiting review, oldest first, except the reviewer's own.
pub async fn list_queue(
    store: &Store,
    reviewer_id: &str,
    vendor_id: &str,
    page: &PageRequest,
) -> sqlx::Result<(Vec<PrescriptionRow>, i64)> {
    // $1 reviewer, $2 vendor, $3 after-key, $4 after-id, $5 limit
    let (after_key, after_id) = page
        .after
        .as_ref()
        .map(|c| (c.key.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query_as(&format!(
        "SELECT {RX_COLUMNS} FROM prescriptions \
         WHERE vendor_id = $2 AND status = 'SUBMITTED' AND owner_id <> $1 \
         AND ($4 = '' OR (submitted_at, id) > ($3, $4)) \
         ORDER BY submitted_at, id LIMIT $5"
    ))
    .bind(reviewer_id)
    .bind(vendor_id)
    .bind(&after_key)
    .bind(&after_id)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let total = page
        .total(
            sqlx::query_as(
                "SELECT COUNT(*) FROM prescriptions \
                 WHERE vendor_id = $2 AND status = 'SUBMITTED' AND owner_id <> $1",
            )
            .bind(reviewer_id)
            .bind(vendor_id)
            .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}

/// Submits the owner's still-unreviewed prescription to pharmacy
/// `vendor_id`; false when it is not theirs or no longer awaiting review.
pub async fn assign_pharmacy(
    conn: &mut AnyConnection,
    id: &str,
    owner_id: &str,
    vendor_id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescriptions SET vendor_id = $3, version = version + 1 \
         WHERE id = $1 AND owner_id = $2 AND status = 'SUBMITTED'",
    )
    .bind(id)
    .bind(owner_id)
    .bind(vendor_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The recorded outcome of a review.
pub struct ReviewRecord<'a> {
    pub status: Status,
    pub valid_until: Option<NaiveDate>,
    pub notes: Option<&'a str>,
    pub reviewer_id: &'a str,
    pub reviewer_vendor_id: &'a str,
    /// The prescriber confirmed by the pharmacist (approvals), else `None`.
    pub prescriber: Option<(&'a str, &'a str)>,
}

/// Records a review if the prescription is still SUBMITTED to the
/// reviewer's pharmacy; false otherwise (someone reviewed it first, or the
/// customer moved it to another pharmacy meanwhile).
pub async fn record_review(
    conn: &mut AnyConnection,
    id: &str,
    review: &ReviewRecord<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescriptions SET status = $2, valid_until = $3, review_notes = $4, reviewer_id = $5, \
         reviewer_vendor_id = $6, reviewed_at = $7, prescriber_name = $8, \
         prescriber_registration = $9, version = version + 1 \
         WHERE id = $1 AND status = 'SUBMITTED' AND vendor_id = $6",
    )
    .bind(id)
    .bind(review.status.as_db())
    .bind(review.valid_until.map(Date))
    .bind(review.notes)
    .bind(review.reviewer_id)
    .bind(review.reviewer_vendor_id)
    .bind(At::now())
    .bind(review.prescriber.map(|p| p.0))
    .bind(review.prescriber.map(|p| p.1))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An approved line as stored.
#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub id: String,
    pub prescription_id: String,
    pub position: i64,
    pub medicine_id: String,
    pub max_quantity: i64,
    pub consumed: i64,
}

const LINE_COLUMNS: &str = "id, prescription_id, position, medicine_id, max_quantity, consumed";

/// Stores the approved lines of a prescription.
pub async fn insert_lines(
    conn: &mut AnyConnection,
    prescription_id: &str,
    lines: &[ApprovedLine],
) -> sqlx::Result<()> {
    for (position, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO prescription_lines (id, prescription_id, position, medicine_id, max_quantity, consumed) \
             VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(new_id())
        .bind(prescription_id)
        .bind(position as i64)
        .bind(&line.medicine_id)
        .bind(line.max_quantity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The lines of many prescriptions in one statement, in approval order.
pub async fn lines_of(
    conn: &mut AnyConnection,
    prescription_ids: &[String],
) -> sqlx::Result<Vec<LineRow>> {
    if prescription_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM prescription_lines WHERE prescription_id IN ({}) \
         ORDER BY prescription_id, position",
        placeholders(1, prescription_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in prescription_ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// The vendors whose orders currently hold quantities of each of
/// `prescription_ids` (consumed and not restored): (prescription, vendor)
/// pairs, in one statement. Staff of these pharmacies may read them.
pub async fn dispensing_vendors(
    conn: &mut AnyConnection,
    prescription_ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    if prescription_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT DISTINCT c.prescription_id, d.vendor_id FROM prescription_consumptions c \
         JOIN dispense_orders d ON d.order_id = c.order_id \
         WHERE d.status = 'CONSUMED' AND d.vendor_id IS NOT NULL AND c.prescription_id IN ({})",
        placeholders(1, prescription_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in prescription_ids {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

/// A prescription as readers get it: the record, its approved lines, and
/// the pharmacies dispensing against it (who may read it).
#[derive(Debug, Clone)]
pub struct LoadedPrescription {
    pub row: PrescriptionRow,
    pub lines: Vec<LineRow>,
    pub dispensing_vendors: Vec<String>,
}

/// Many prescriptions with their lines and dispensing pharmacies, in three
/// statements whatever their number (entity batches, DataLoader).
pub async fn load_prescriptions(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<Vec<LoadedPrescription>> {
    let rows = prescriptions_by_ids(conn, ids).await?;
    let found: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut lines = lines_of(conn, &found).await?;
    let mut vendors = dispensing_vendors(conn, &found).await?;
    Ok(rows
        .into_iter()
        .map(|row| LoadedPrescription {
            lines: lines
                .extract_if(.., |l| l.prescription_id == row.id)
                .collect(),
            dispensing_vendors: vendors
                .extract_if(.., |(rx, _)| *rx == row.id)
                .map(|(_, vendor)| vendor)
                .collect(),
            row,
        })
        .collect())
}

/// A prescription an order consumed from.
#[derive(Debug, Clone)]
pub struct OrderPrescription {
    pub order_id: String,
    pub prescription: LoadedPrescription,
}

/// The prescriptions (loaded as by [`load_prescriptions`]) that orders
/// consumed from, per order, in four statements whatever the number of
/// orders.
pub async fn prescriptions_of_orders(
    store: &Store,
    order_ids: &[String],
) -> sqlx::Result<Vec<OrderPrescription>> {
    if order_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT DISTINCT order_id, prescription_id FROM prescription_consumptions \
         WHERE order_id IN ({})",
        placeholders(1, order_ids.len())
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql);
    for id in order_ids {
        query = query.bind(id);
    }
    let mut conn = store.pool().acquire().await?;
    let links = query.fetch_all(&mut *conn).await?;
    let mut ids: Vec<String> = links.iter().map(|(_, rx)| rx.clone()).collect();
    ids.sort();
    ids.dedup();
    let loaded = load_prescriptions(&mut conn, &ids).await?;
    let mut out: Vec<OrderPrescription> = links
        .into_iter()
        .filter_map(|(order_id, rx)| {
            loaded
                .iter()
                .find(|p| p.row.id == rx)
                .map(|p| OrderPrescription {
                    order_id,
                    prescription: p.clone(),
                })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.order_id, &a.prescription.row.submitted_at)
            .cmp(&(&b.order_id, &b.prescription.row.submitted_at))
    });
    Ok(out)
}

// ---------- document links ----------

/// A signed document link about to be handed out.
pub struct NewDocumentLink<'a> {
    pub prescription_id: &'a str,
    pub actor: &'a str,
    pub ground: ReadGround,
    pub reason: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// Records a document link (its single use is claimed by the download);
/// returns its ID.
pub async fn insert_document_link(
    conn: &mut AnyConnection,
    link: &NewDocumentLink<'_>,
) -> sqlx::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO prescription_document_links \
         (id, prescription_id, actor, ground, reason, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(link.prescription_id)
    .bind(link.actor)
    .bind(link.ground.as_db())
    .bind(link.reason)
    .bind(At::now())
    .bind(At(link.expires_at))
    .execute(conn)
    .await?;
    Ok(id)
}

/// Who a claimed document link was issued to.
#[derive(Debug, Clone, FromRow)]
pub struct DocumentLinkRow {
    pub actor: String,
    #[sqlx(try_from = "String")]
    pub ground: ReadGround,
    pub reason: Option<String>,
    pub used_at: Option<At>,
}

/// What happened when a download tried to use a document link.
#[derive(Debug, Clone)]
pub enum LinkClaim {
    /// The link's one use is ours.
    Claimed(DocumentLinkRow),
    /// No such link for this prescription.
    NotFound,
    /// Its time is up.
    Expired,
    /// It was used already.
    Used,
}

/// Claims the single use of an unexpired document link of prescription
/// `prescription_id`, atomically (two concurrent downloads: one wins).
pub async fn claim_document_link(
    conn: &mut AnyConnection,
    id: &str,
    prescription_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<LinkClaim> {
    let claimed = sqlx::query(
        "UPDATE prescription_document_links SET used_at = $3 \
         WHERE id = $1 AND prescription_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(prescription_id)
    .bind(to_db_time(now))
    .execute(&mut *conn)
    .await?;
    let row: Option<DocumentLinkRow> = sqlx::query_as(
        "SELECT actor, ground, reason, used_at FROM prescription_document_links \
         WHERE id = $1 AND prescription_id = $2",
    )
    .bind(id)
    .bind(prescription_id)
    .fetch_optional(conn)
    .await?;
    Ok(match (claimed.rows_affected(), row) {
        (_, None) => LinkClaim::NotFound,
        (1, Some(link)) => LinkClaim::Claimed(link),
        (_, Some(link)) if link.used_at.is_some() => LinkClaim::Used,
        (_, Some(_)) => LinkClaim::Expired,
    })
}

/// One read of a prescription as the audit trail recorded it.
#[derive(Debug, Clone, FromRow)]
pub struct AccessRow {
    pub actor: String,
    pub action: String,
    /// The entry's details (ground, reason, link).
    pub after_json: Option<String>,
    pub at: At,
}

/// The newest `limit` reads of prescription `id` among `actions` (from the
/// audit trail, which this subgraph writes in its own database).
pub async fn access_log(
    store: &Store,
    id: &str,
    actions: &[&str],
    limit: i64,
) -> sqlx::Result<Vec<AccessRow>> {
    let sql = format!(
        "SELECT actor, action, after_json, at FROM audit_log \
         WHERE entity_type = 'prescription' AND entity_id = $1 AND action IN ({}) \
         ORDER BY at DESC, id DESC LIMIT $2",
        placeholders(3, actions.len())
    );
    let mut query = sqlx::query_as(&sql).bind(id).bind(limit);
    for action in actions {
        query = query.bind(*action);
    }
    query.fetch_all(store.pool()).await
}

// ---------- dispensing ----------

/// An order's consume/restore record (the idempotency key).
#[derive(Debug, Clone, FromRow)]
pub struct DispenseOrderRow {
    pub order_id: String,
    pub customer_id: Option<String>,
    pub vendor_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: DispenseStatus,
    pub consumed_at: Option<At>,
    pub restored_at: Option<At>,
}

/// One consumed quantity of one line by one order.
#[derive(Debug, Clone)]
pub struct ConsumptionRow {
    pub id: String,
    pub order_id: String,
    pub prescription_id: String,
    pub line_id: String,
    pub medicine_id: String,
    pub quantity: i64,
    /// A schedule-X medicine spent the whole prescription on this order.
    pub whole_prescription: bool,
}

impl FromRow<'_, AnyRow> for ConsumptionRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        // A flag: `boolean` on PostgreSQL, 0/1 on SQLite.
        let whole = match row.try_get::<bool, _>("whole_prescription") {
            Ok(flag) => flag,
            Err(_) => row.try_get::<i64, _>("whole_prescription")? != 0,
        };
        Ok(ConsumptionRow {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            prescription_id: row.try_get("prescription_id")?,
            line_id: row.try_get("line_id")?,
            medicine_id: row.try_get("medicine_id")?,
            quantity: row.try_get("quantity")?,
            whole_prescription: whole,
        })
    }
}

/// Claims `order_id` for consumption; false if the order already has a
/// record (consumed before, or restored).
pub async fn claim_order(
    conn: &mut AnyConnection,
    order_id: &str,
    customer_id: &str,
    vendor_id: Option<&str>,
    actor: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO dispense_orders (order_id, customer_id, vendor_id, status, actor, consumed_at) \
         VALUES ($1, $2, $3, 'CONSUMED', $4, $5) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order_id)
    .bind(customer_id)
    .bind(vendor_id)
    .bind(actor)
    .bind(At::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a restoration of an order that never consumed anything, so that
/// a late `consume` for it is refused; false if the order has a record.
pub async fn claim_restored(
    conn: &mut AnyConnection,
    order_id: &str,
    actor: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO dispense_orders (order_id, status, actor, restored_at) \
         VALUES ($1, 'RESTORED', $2, $3) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order_id)
    .bind(actor)
    .bind(At::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The record of an order.
pub async fn dispense_order(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Option<DispenseOrderRow>> {
    sqlx::query_as(
        "SELECT order_id, customer_id, vendor_id, status, consumed_at, restored_at \
         FROM dispense_orders WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(conn)
    .await
}

/// Marks a consumed order restored; false if it was not CONSUMED.
pub async fn mark_restored(conn: &mut AnyConnection, order_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE dispense_orders SET status = 'RESTORED', restored_at = $2 \
         WHERE order_id = $1 AND status = 'CONSUMED'",
    )
    .bind(order_id)
    .bind(At::now())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an order consumed.
pub async fn consumptions_of(
    conn: &mut AnyConnection,
    order_id: &str,
) -> sqlx::Result<Vec<ConsumptionRow>> {
    sqlx::query_as(
        "SELECT id, order_id, prescription_id, line_id, medicine_id, quantity, whole_prescription \
         FROM prescription_consumptions WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}

/// Consumes `quantity` of a line if that much is left; false otherwise.
/// The condition makes concurrent consumers safe without locks in Rust.
pub async fn consume_line(
    conn: &mut AnyConnection,
    line_id: &str,
    quantity: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescription_lines SET consumed = consumed + $2 \
         WHERE id = $1 AND max_quantity - consumed >= $2",
    )
    .bind(line_id)
    .bind(quantity)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Consumes a whole untouched line (schedule X: one prescription per order);
/// false if anything was consumed from it already.
pub async fn take_whole_line(conn: &mut AnyConnection, line_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescription_lines SET consumed = max_quantity WHERE id = $1 AND consumed = 0",
    )
    .bind(line_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `quantity` back to a line (order cancelled).
pub async fn return_to_line(
    conn: &mut AnyConnection,
    line_id: &str,
    quantity: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE prescription_lines SET consumed = consumed - $2 WHERE id = $1 AND consumed >= $2",
    )
    .bind(line_id)
    .bind(quantity)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A consumption to record.
pub struct NewConsumption<'a> {
    pub order_id: &'a str,
    pub prescription_id: &'a str,
    pub line_id: &'a str,
    pub medicine_id: &'a str,
    pub quantity: i64,
    pub whole_prescription: bool,
    /// The medicine is Schedule H1: this consumption is an H1 register entry.
    pub schedule_h1: bool,
}

/// Records what an order consumed from a line.
pub async fn insert_consumption(
    conn: &mut AnyConnection,
    c: &NewConsumption<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prescription_consumptions (id, order_id, prescription_id, line_id, medicine_id, \
         quantity, whole_prescription, created_at, schedule_h1) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(c.order_id)
    .bind(c.prescription_id)
    .bind(c.line_id)
    .bind(c.medicine_id)
    .bind(c.quantity)
    .bind(c.whole_prescription)
    .bind(At::now())
    .bind(c.schedule_h1)
    .execute(conn)
    .await
    .map(|_| ())
}
