//! The scale generator's shared half (`janta seed --scale N`): the plan of
//! how many of each record N asks for, deterministic IDs and attributes
//! derived from an index (so users, catalog and orders each seed their own
//! tables independently and still agree on every cross-subgraph
//! reference), a small seeded RNG, and the batched multi-row `INSERT`
//! every subgraph's bulk seeding writes through. Each subgraph's own
//! `demo::scale` module turns the plan into its rows.
//!
//! N = 1 is about the demo's size (100 medicines, 2 vendors, 200 listings,
//! 100 customers, 5 orders of the named customer); N = 1000 is 100 000
//! medicines, 500 vendors, 1 000 000 listings, 100 000 customers and
//! 5 000 orders.

use crate::store::{Backend, Store};
use futures::future::BoxFuture;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments};

/// One subgraph's bulk seeding, as the launcher calls it: fills its tables
/// for the plan and returns whether it wrote anything (false: this scale
/// was seeded already).
pub type ScaleSeedFn = fn(&Store, ScalePlan) -> BoxFuture<'_, anyhow::Result<bool>>;

/// E-mail of the one customer with a long order history.
pub const NAMED_CUSTOMER_EMAIL: &str = "scale.customer@janta.test";

// ---------- RNG ----------

/// A xorshift64* generator: deterministic, tiny, and good enough for
/// synthetic data (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for item `index` of `kind`: the same pair always gives
    /// the same sequence, in every subgraph and on every run.
    pub fn for_item(kind: Kind, index: u64) -> Self {
        let mut z = (kind as u64) << 48 ^ index ^ 0x9E37_79B9_7F4A_7C15;
        // splitmix64 finaliser, so neighbouring indexes start far apart.
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------- IDs ----------

/// The kinds of generated record; each has its own ID range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    Medicine = 1,
    Listing = 2,
    Batch = 3,
    StockMovement = 4,
    Vendor = 5,
    Branch = 6,
    Licence = 7,
    VendorAdmin = 8,
    Pharmacist = 9,
    Appointment = 10,
    Customer = 11,
    Address = 12,
    Order = 13,
    OrderLine = 14,
    OrderStatus = 15,
    Checkout = 16,
}

/// The UUID of record `index` of `kind`: a fixed UUIDv7-shaped prefix
/// (distinct from the demo's `019a…`), the kind, then the index, e.g.
/// `019b5ca1-0000-7000-8001-00000000002a` for medicine 42.
pub fn scale_id(kind: Kind, index: u64) -> String {
    format!("019b5ca1-0000-7000-8{:03x}-{index:012x}", kind as u16)
}

// ---------- the plan ----------

/// How many of each record scale N makes, and which record refers to which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalePlan {
    /// The scale factor.
    pub n: u64,
    /// Medicines in the master (100 per N).
    pub medicines: u64,
    /// Verified vendors (N / 2, at least 2).
    pub vendors: u64,
    /// Listings per medicine (10, or every vendor when there are fewer).
    pub listings_per_medicine: u64,
    /// Customers, the named one (index 0) included (100 per N).
    pub customers: u64,
    /// Orders of the named customer (5 per N).
    pub orders: u64,
}

/// A generated medicine's facts, the same in catalog and in orders' line snapshots.
#[derive(Debug, Clone)]
pub struct MedicineSpec {
    pub name: String,
    pub generic_name: &'static str,
    pub manufacturer: &'static str,
    pub strength: &'static str,
    /// The API's dosage form enum name (`TABLET`, `SYRUP`, …).
    pub form: &'static str,
    pub pack_size: &'static str,
    /// `OTC`, `H` or `H1` (no Schedule X: it is never sold online).
    pub schedule: &'static str,
    pub hsn_code: &'static str,
    /// GST rate in basis points in force today for the HSN code.
    pub gst_rate_bp: i64,
    /// Number (1-based) of the demo category it belongs to.
    pub category: u64,
    /// MRP per pack in paise.
    pub mrp_paise: i64,
}

/// A generated listing: which medicine at which vendor, at what price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingSpec {
    pub medicine: u64,
    pub vendor: u64,
    pub price_paise: i64,
    pub mrp_paise: i64,
    /// Stock batches it has (1 or 2).
    pub batches: u64,
}

/// A generated order of the named customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    pub vendor: u64,
    /// (listing index, quantity), all at `vendor`, all OTC.
    pub lines: Vec<(u64, i64)>,
    /// How long before the seeding it was placed, in minutes.
    pub placed_minutes_ago: i64,
    /// Delivered, or (one in ten) cancelled before payment.
    pub delivered: bool,
}

/// A place vendors and customers are in: (ISO state, city, pincode prefix).
pub const PLACES: [(&str, &str, &str); 10] = [
    ("KA", "Bengaluru", "560"),
    ("MH", "Pune", "411"),
    ("TN", "Chennai", "600"),
    ("DL", "New Delhi", "110"),
    ("GJ", "Ahmedabad", "380"),
    ("TG", "Hyderabad", "500"),
    ("WB", "Kolkata", "700"),
    ("UP", "Lucknow", "226"),
    ("RJ", "Jaipur", "302"),
    ("KL", "Kochi", "682"),
];

impl ScalePlan {
    /// The plan for scale `n` (at least 1).
    pub fn new(n: u64) -> Self {
        let n = n.max(1);
        let vendors = (n / 2).max(2);
        ScalePlan {
            n,
            medicines: 100 * n,
            vendors,
            listings_per_medicine: vendors.min(10),
            customers: 100 * n,
            orders: 5 * n,
        }
    }

    /// Listings in all.
    pub fn listings(&self) -> u64 {
        self.medicines * self.listings_per_medicine
    }

    /// The `index`-th medicine.
    pub fn medicine(&self, index: u64) -> MedicineSpec {
        let mut rng = Rng::for_item(Kind::Medicine, index);
        // Three in four medicines are over the counter.
        let salt = if rng.below(4) < 3 {
            *rng.pick(&SALTS[..OTC_SALTS])
        } else {
            *rng.pick(&SALTS[OTC_SALTS..])
        };
        let strength = *rng.pick(salt.strengths);
        let brand = format!("{}{}", rng.pick(&BRAND_HEADS), rng.pick(&BRAND_TAILS));
        MedicineSpec {
            name: format!("{brand} {strength} {}", form_word(salt.form)),
            generic_name: salt.generic,
            manufacturer: MANUFACTURERS[rng.below(MANUFACTURERS.len() as u64) as usize],
            strength,
            form: salt.form,
            pack_size: pack_size(salt.form),
            schedule: salt.schedule,
            hsn_code: salt.hsn,
            gst_rate_bp: salt.rate_bp,
            category: salt.category,
            mrp_paise: self.medicine_mrp(index),
        }
    }

    /// The `index`-th medicine's MRP alone (listings need only that, and
    /// it is much cheaper than the whole [`MedicineSpec`]).
    pub fn medicine_mrp(&self, index: u64) -> i64 {
        let mut rng = Rng::for_item(Kind::Medicine, index | 1 << 47);
        rng.between(15, 900) * 100 + 50 * rng.between(0, 1)
    }

    /// The `index`-th listing: medicine `index % medicines` at one of
    /// `listings_per_medicine` distinct vendors.
    pub fn listing(&self, index: u64) -> ListingSpec {
        let medicine = index % self.medicines;
        let slot = index / self.medicines;
        let mrp = self.medicine_mrp(medicine);
        let mut rng = Rng::for_item(Kind::Listing, index);
        ListingSpec {
            medicine,
            vendor: (medicine + slot) % self.vendors,
            price_paise: (mrp * rng.between(80, 100) / 100).max(1),
            mrp_paise: mrp,
            batches: 1 + u64::from(index.is_multiple_of(4)),
        }
    }

    /// Batch `b` (0-based) of listing `listing`: (batch number, days from
    /// today to its expiry, quantity). Every batch expires in the future,
    /// past the platform's 30-day shelf-life margin.
    pub fn batch(&self, listing: u64, b: u64) -> (String, i64, i64) {
        let mut rng = Rng::for_item(Kind::Batch, listing * 2 + b);
        let number = format!("SC{listing:08X}{}", (b'A' + b as u8) as char);
        (number, rng.between(120, 900), rng.between(20, 400))
    }

    /// The `index`-th order of the named customer: one to three OTC
    /// listings of one vendor, placed up to two years ago, oldest first.
    pub fn order(&self, index: u64) -> OrderSpec {
        let mut rng = Rng::for_item(Kind::Order, index);
        let vendor = rng.below(self.vendors);
        let slot = rng.below(self.listings_per_medicine);
        // Medicines m with (m + slot) % vendors == vendor are listed at the vendor in `slot`.
        let first = (vendor + self.vendors - slot) % self.vendors;
        let per_vendor = (self.medicines - first).div_ceil(self.vendors);
        let wanted = rng.between(1, 3) as usize;
        let mut lines: Vec<(u64, i64)> = Vec::new();
        for _ in 0..12 {
            let medicine = first + self.vendors * rng.below(per_vendor);
            let listing = slot * self.medicines + medicine;
            let otc = self.medicine(medicine).schedule == "OTC";
            if otc && lines.iter().all(|(l, _)| *l != listing) {
                lines.push((listing, rng.between(1, 4)));
            }
            if lines.len() == wanted {
                break;
            }
        }
        let span = 2 * 365 * 24 * 60;
        let step = span / self.orders.max(1) as i64;
        OrderSpec {
            vendor,
            lines,
            placed_minutes_ago: span - step * index as i64 + 60,
            delivered: index % 10 != 7,
        }
    }

    /// Where vendor `index` is: its place in [`PLACES`].
    pub fn vendor_place(&self, index: u64) -> (&'static str, &'static str, &'static str) {
        PLACES[(index % PLACES.len() as u64) as usize]
    }

    /// Where customer `index` lives (the named customer, index 0, in Bengaluru).
    pub fn customer_place(&self, index: u64) -> (&'static str, &'static str, &'static str) {
        let mut rng = Rng::for_item(Kind::Customer, index);
        if index == 0 {
            PLACES[0]
        } else {
            *rng.pick(&PLACES)
        }
    }

    /// Customer `index`'s default address: (line 1, city, state, pincode).
    pub fn customer_address(&self, index: u64) -> (String, &'static str, &'static str, String) {
        let (state, city, pin) = self.customer_place(index);
        let line1 = format!("{} Cross Street", 1 + index % 500);
        (line1, city, state, format!("{pin}{:03}", 1 + index % 99))
    }

    /// Customer `index`'s e-mail: the named one's, or a numbered one.
    pub fn customer_email(&self, index: u64) -> String {
        if index == 0 {
            NAMED_CUSTOMER_EMAIL.to_string()
        } else {
            format!("customer{index}@scale.janta.test")
        }
    }

    /// Customer `index`'s full name.
    pub fn customer_name(&self, index: u64) -> String {
        let mut rng = Rng::for_item(Kind::Customer, index);
        format!("{} {}", rng.pick(&GIVEN_NAMES), rng.pick(&FAMILY_NAMES))
    }

    /// Vendor `index`'s trading name.
    pub fn vendor_name(&self, index: u64) -> String {
        let (_, city, _) = self.vendor_place(index);
        let mut rng = Rng::for_item(Kind::Vendor, index);
        format!("{} {} Pharmacy {index}", rng.pick(&FAMILY_NAMES), city)
    }
}

/// A generic salt the generator builds medicines from.
#[derive(Debug, Clone, Copy)]
struct Salt {
    generic: &'static str,
    strengths: &'static [&'static str],
    form: &'static str,
    schedule: &'static str,
    category: u64,
    hsn: &'static str,
    rate_bp: i64,
}

const fn salt(
    generic: &'static str,
    strengths: &'static [&'static str],
    form: &'static str,
    schedule: &'static str,
    category: u64,
) -> Salt {
    Salt {
        generic,
        strengths,
        form,
        schedule,
        category,
        hsn: "30049099",
        rate_bp: 500,
    }
}

/// How many of [`SALTS`] (the first ones) are over the counter.
const OTC_SALTS: usize = 14;

/// Real salts with their usual strengths, forms, schedules and demo
/// category numbers (see the catalog's `demo/categories.csv`); chapter 30
/// medicines pay 5 % GST since 22 Sep 2025, insulin always did.
const SALTS: [Salt; 26] = [
    salt("Paracetamol", &["500 mg", "650 mg"], "TABLET", "OTC", 1),
    salt("Ibuprofen", &["200 mg", "400 mg"], "TABLET", "OTC", 1),
    salt("Cetirizine", &["10 mg"], "TABLET", "OTC", 6),
    salt("Loratadine", &["10 mg"], "TABLET", "OTC", 6),
    salt("Dextromethorphan", &["10 mg/5 ml"], "SYRUP", "OTC", 6),
    salt("Xylometazoline", &["0.1 %"], "DROPS", "OTC", 6),
    salt(
        "Magnesium hydroxide",
        &["400 mg/5 ml"],
        "SUSPENSION",
        "OTC",
        5,
    ),
    salt("Oral rehydration salts", &["21 g"], "POWDER", "OTC", 5),
    salt("Ispaghula husk", &["3.5 g"], "POWDER", "OTC", 5),
    salt("Ascorbic acid", &["500 mg"], "TABLET", "OTC", 7),
    salt("Calcium carbonate", &["500 mg"], "TABLET", "OTC", 7),
    salt("Ferrous ascorbate", &["100 mg"], "TABLET", "OTC", 7),
    salt("Clotrimazole", &["1 %"], "CREAM", "OTC", 8),
    salt("Povidone iodine", &["5 %"], "SOLUTION", "OTC", 8),
    salt("Amoxicillin", &["250 mg", "500 mg"], "CAPSULE", "H", 2),
    salt("Azithromycin", &["250 mg", "500 mg"], "TABLET", "H", 2),
    salt("Cefixime", &["200 mg"], "TABLET", "H1", 2),
    salt("Metformin", &["500 mg", "1000 mg"], "TABLET", "H", 3),
    salt("Glimepiride", &["1 mg", "2 mg"], "TABLET", "H", 3),
    Salt {
        hsn: "300431",
        ..salt("Insulin glargine", &["100 IU/ml"], "INJECTION", "H", 3)
    },
    salt("Amlodipine", &["5 mg", "10 mg"], "TABLET", "H", 4),
    salt("Atorvastatin", &["10 mg", "20 mg"], "TABLET", "H", 4),
    salt("Telmisartan", &["40 mg"], "TABLET", "H", 4),
    salt("Pantoprazole", &["40 mg"], "TABLET", "H", 5),
    salt("Salbutamol", &["100 mcg"], "INHALER", "H", 6),
    salt("Alprazolam", &["0.25 mg"], "TABLET", "H1", 11),
];

const BRAND_HEADS: [&str; 24] = [
    "Zy", "Cal", "Neo", "Vel", "Ara", "Dolo", "Meta", "Pan", "Lev", "Ori", "Sun", "Tri", "Ace",
    "Bio", "Cip", "Glen", "Max", "Nova", "Ome", "Rex", "Tor", "Uni", "Vita", "Xen",
];

const BRAND_TAILS: [&str; 16] = [
    "cin", "dol", "fen", "lin", "max", "nac", "pro", "rin", "sil", "tab", "tor", "vex", "zen",
    "mox", "gard", "plus",
];

const MANUFACTURERS: [&str; 16] = [
    "Cipla Ltd",
    "Sun Pharmaceutical Industries Ltd",
    "Dr. Reddy's Laboratories Ltd",
    "Lupin Ltd",
    "Alkem Laboratories Ltd",
    "Mankind Pharma Ltd",
    "Torrent Pharmaceuticals Ltd",
    "Zydus Lifesciences Ltd",
    "Glenmark Pharmaceuticals Ltd",
    "Intas Pharmaceuticals Ltd",
    "Micro Labs Ltd",
    "Abbott India Ltd",
    "Ipca Laboratories Ltd",
    "Macleods Pharmaceuticals Ltd",
    "Aristo Pharmaceuticals Pvt Ltd",
    "Emcure Pharmaceuticals Ltd",
];

const GIVEN_NAMES: [&str; 16] = [
    "Aarav", "Asha", "Vikram", "Priya", "Rahul", "Ananya", "Karthik", "Meera", "Arjun", "Divya",
    "Rohan", "Lakshmi", "Imran", "Fatima", "Suresh", "Neha",
];

const FAMILY_NAMES: [&str; 12] = [
    "Sharma", "Rao", "Iyer", "Patel", "Reddy", "Nair", "Gupta", "Khan", "Das", "Menon", "Joshi",
    "Singh",
];

fn form_word(form: &str) -> &'static str {
    match form {
        "TABLET" => "tablet",
        "CAPSULE" => "capsule",
        "SYRUP" => "syrup",
        "SUSPENSION" => "suspension",
        "DROPS" => "nasal drops",
        "POWDER" => "powder",
        "CREAM" => "cream",
        "SOLUTION" => "solution",
        "INJECTION" => "injection",
        "INHALER" => "inhaler",
        _ => "pack",
    }
}

fn pack_size(form: &str) -> &'static str {
    match form {
        "TABLET" => "strip of 10 tablets",
        "CAPSULE" => "strip of 10 capsules",
        "SYRUP" | "SUSPENSION" => "bottle of 100 ml",
        "DROPS" => "bottle of 10 ml",
        "POWDER" => "sachet",
        "CREAM" => "tube of 20 g",
        "SOLUTION" => "bottle of 100 ml",
        "INJECTION" => "vial of 10 ml",
        "INHALER" => "200 doses",
        _ => "pack",
    }
}

// ---------- batched inserts ----------

/// A bind value of a generated row.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Bool(bool),
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::OptText(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// SQLite's limit on bound parameters in one statement.
const MAX_PARAMS: usize = 32_766;
/// Most rows in one statement.
const MAX_ROWS: usize = 1_000;
/// Rows written per transaction by [`fill`].
const ROWS_PER_TX: usize = 50_000;

/// A multi-row `INSERT` of one table: rows are sent
/// `min(1000, 32766 / columns)` to a statement, skipping rows whose key
/// exists (so an interrupted seed can run again).
#[derive(Debug, Clone)]
pub struct Bulk {
    head: String,
    tail: &'static str,
    columns: usize,
    row: fn(&[String]) -> String,
}

fn tuple(placeholders: &[String]) -> String {
    format!("({})", placeholders.join(", "))
}

impl Bulk {
    /// `INSERT INTO table (columns…) VALUES … ON CONFLICT DO NOTHING`.
    pub fn new(table: &str, columns: &[&str]) -> Self {
        Bulk {
            head: format!("INSERT INTO {table} ({})", columns.join(", ")),
            tail: " ON CONFLICT DO NOTHING",
            columns: columns.len(),
            row: tuple,
        }
    }

    /// Replaces the statement's start and end, e.g. `INSERT OR REPLACE
    /// INTO …` with no end for an FTS table (it has no `ON CONFLICT`), or
    /// other target columns when [`Bulk::with_row`] computes them.
    pub fn with_head(mut self, head: String, tail: &'static str) -> Self {
        self.head = head;
        self.tail = tail;
        self
    }

    /// Writes each row as `row(placeholders)` instead of a plain tuple,
    /// for values computed in SQL (e.g. a `tsvector`).
    pub fn with_row(mut self, row: fn(&[String]) -> String) -> Self {
        self.row = row;
        self
    }

    /// Rows per statement.
    pub fn rows_per_statement(&self) -> usize {
        (MAX_PARAMS / self.columns.max(1)).min(MAX_ROWS)
    }

    /// Inserts `rows` (each with one value per column) in as few
    /// statements as the limits allow. Returns the rows written.
    pub async fn execute(
        &self,
        conn: &mut AnyConnection,
        rows: &[Vec<Value>],
    ) -> sqlx::Result<u64> {
        let mut written = 0;
        for chunk in rows.chunks(self.rows_per_statement()) {
            let mut args = AnyArguments::default();
            let mut tuples = Vec::with_capacity(chunk.len());
            let mut next = 1;
            for row in chunk {
                debug_assert_eq!(row.len(), self.columns, "{}", self.head);
                let marks: Vec<String> =
                    (next..next + row.len()).map(|i| format!("${i}")).collect();
                next += row.len();
                tuples.push((self.row)(&marks));
                for value in row {
                    bind(&mut args, value);
                }
            }
            let sql = format!("{} VALUES {}{}", self.head, tuples.join(", "), self.tail);
            written += sqlx::query_with(&sql, args)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        Ok(written)
    }
}

fn bind(args: &mut AnyArguments<'_>, value: &Value) {
    // Adding only fails for values that cannot encode, which execute reports.
    let _ = match value {
        Value::Text(v) => args.add(v.clone()),
        Value::OptText(v) => args.add(v.clone()),
        Value::Int(v) => args.add(*v),
        Value::Bool(v) => args.add(*v),
    };
}

/// Writes the rows that `make` produces for items `0..count` (zero or more
/// rows each, pushed onto the vector it is given) through `bulk`, in
/// transactions of about 50 000 rows. Returns the rows written.
pub async fn fill<F>(store: &Store, bulk: &Bulk, count: u64, mut make: F) -> anyhow::Result<u64>
where
    F: FnMut(u64, &mut Vec<Vec<Value>>),
{
    let mut written = 0;
    let mut rows = Vec::with_capacity(ROWS_PER_TX);
    let mut item = 0;
    while item < count {
        rows.clear();
        while item < count && rows.len() < ROWS_PER_TX {
            make(item, &mut rows);
            item += 1;
        }
        let mut tx = store.begin().await?;
        written += bulk.execute(&mut tx, &rows).await?;
        tx.commit().await?;
    }
    Ok(written)
}

// ---------- the completion mark ----------

/// What the audit trail calls a finished scale seed.
const MARK_TYPE: &str = "scale_seed";

/// The scale this store was seeded at, if a seed finished (it leaves one
/// audit row when done).
pub async fn seeded_scale(store: &Store) -> anyhow::Result<Option<u64>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT after_json FROM audit_log WHERE entity_type = $1 ORDER BY at DESC LIMIT 1",
    )
    .bind(MARK_TYPE)
    .fetch_optional(store.pool())
    .await?;
    let Some((json,)) = row else { return Ok(None) };
    let value: serde_json::Value = serde_json::from_str(&json)?;
    Ok(value["n"].as_u64())
}

/// Whether to seed: false when scale `plan.n` is seeded already; an error
/// when another scale is (its IDs would collide with this one's records).
pub async fn should_seed(store: &Store, plan: &ScalePlan) -> anyhow::Result<bool> {
    match seeded_scale(store).await? {
        None => Ok(true),
        Some(n) if n == plan.n => Ok(false),
        Some(n) => anyhow::bail!(
            "this database was seeded at scale {n}; seed a fresh one for scale {}",
            plan.n
        ),
    }
}

/// Records that scale `plan.n` is seeded in full (an audit row by `system`).
pub async fn mark_seeded(store: &Store, plan: &ScalePlan, subgraph: &str) -> anyhow::Result<()> {
    let after = serde_json::json!({ "n": plan.n, "subgraph": subgraph }).to_string();
    sqlx::query(
        "INSERT INTO audit_log (id, actor, entity_type, entity_id, action, before_json, after_json, at) \
         VALUES ($1, 'system', $2, $3, 'SEEDED', NULL, $4, $5)",
    )
    .bind(crate::ids::new_id())
    .bind(MARK_TYPE)
    .bind(subgraph)
    .bind(after)
    .bind(crate::scalars::now_db())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// `sqlite` or `postgres`, for progress lines.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_proportional_to_n() {
        let big = ScalePlan::new(1000);
        assert_eq!(
            (
                big.medicines,
                big.vendors,
                big.listings(),
                big.customers,
                big.orders
            ),
            (100_000, 500, 1_000_000, 100_000, 5_000)
        );
        let small = ScalePlan::new(1);
        assert_eq!(
            (small.medicines, small.vendors, small.listings()),
            (100, 2, 200)
        );
    }

    #[test]
    fn listings_are_unique_per_vendor_and_medicine() {
        for n in [1, 7, 100] {
            let plan = ScalePlan::new(n);
            let mut seen = std::collections::HashSet::new();
            for i in 0..plan.listings() {
                let l = plan.listing(i);
                assert!(seen.insert((l.vendor, l.medicine)), "n={n} listing {i}");
                assert!(l.price_paise <= l.mrp_paise && l.price_paise > 0);
            }
        }
    }

    #[test]
    fn orders_buy_otc_listings_of_their_own_vendor() {
        let plan = ScalePlan::new(3);
        for o in 0..plan.orders {
            let order = plan.order(o);
            assert!(!order.lines.is_empty(), "order {o}");
            for (listing, quantity) in &order.lines {
                let l = plan.listing(*listing);
                assert_eq!(l.vendor, order.vendor);
                assert_eq!(plan.medicine(l.medicine).schedule, "OTC");
                assert!((1..=4).contains(quantity));
            }
        }
    }

    #[test]
    fn the_same_index_gives_the_same_record() {
        let plan = ScalePlan::new(10);
        assert_eq!(plan.medicine(42).name, plan.medicine(42).name);
        assert_eq!(plan.order(3), plan.order(3));
        assert_eq!(
            scale_id(Kind::Medicine, 42),
            "019b5ca1-0000-7000-8001-00000000002a"
        );
        assert!(uuid::Uuid::parse_str(&scale_id(Kind::Checkout, u32::MAX as u64)).is_ok());
    }

    #[test]
    fn statements_stay_under_sqlites_parameter_limit() {
        let wide = Bulk::new("t", &["c"; 40]);
        assert!(wide.rows_per_statement() * 40 <= MAX_PARAMS);
        assert_eq!(Bulk::new("t", &["a", "b"]).rows_per_statement(), MAX_ROWS);
    }
}
