//! `janta seed --scale 1` on SQLite and on PostgreSQL: the real binary
//! fills users, catalog and orders (one database each) with the plan's
//! records on top of the demo; the counts are the plan's, a seeded
//! medicine is found by catalog's own search, every line of the named
//! customer's orders points at a listing catalog sells at the order's
//! vendor (the subgraphs agree without talking), the same scale again adds
//! nothing, and another scale is refused.

use janta_catalog::store::search::{search_medicines, MedicineFilter};
use janta_platform::pagination::PageRequest;
use janta_platform::scale::{scale_id, Kind, ScalePlan, NAMED_CUSTOMER_EMAIL};
use janta_platform::store::Store;
use janta_testkit::{Backend, TestDb};
use std::process::{Command, Output};

const JANTA: &str = env!("CARGO_BIN_EXE_janta");

/// Runs `janta seed --scale <n> --domain <domain>` on `db`.
fn seed(db: &TestDb, n: u64, domain: &str) -> Output {
    Command::new(JANTA)
        .args(["seed", "--scale", &n.to_string(), "--domain", domain])
        .env("DATABASE_URL", &db.url)
        .env("JANTA_DATA_DIR", &db.dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run janta seed")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn count(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    n
}

/// The three databases, seeded at scale 1.
struct Seeded {
    users: Store,
    catalog: Store,
    orders: Store,
}

async fn seed_all(dbs: &[TestDb; 3]) -> Seeded {
    for (db, domain) in dbs.iter().zip(["users", "catalog", "orders"]) {
        let out = seed(db, 1, domain);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{domain}: {err}");
        assert!(
            stdout(&out).contains(&format!("{domain}: seeded scale 1")),
            "{}",
            stdout(&out)
        );
    }
    Seeded {
        users: Store::connect(&dbs[0].url).await.unwrap(),
        catalog: Store::connect(&dbs[1].url).await.unwrap(),
        orders: Store::connect(&dbs[2].url).await.unwrap(),
    }
}

async fn assert_counts(s: &Seeded, plan: &ScalePlan) {
    let scaled = |table: &str, column: &str| {
        format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE '019b5ca1-%'")
    };
    let customers = count(
        &s.users,
        "SELECT COUNT(*) FROM users WHERE roles = 'CUSTOMER'",
    )
    .await;
    assert_eq!(
        customers,
        plan.customers as i64 + 1,
        "the plan's and the demo's"
    );
    assert_eq!(
        count(&s.users, &scaled("vendors", "id")).await,
        plan.vendors as i64
    );
    assert_eq!(
        count(
            &s.users,
            "SELECT COUNT(*) FROM pharmacist_appointments WHERE status = 'VERIFIED'"
        )
        .await,
        plan.vendors as i64 + 2
    );
    assert_eq!(
        count(&s.catalog, &scaled("medicines", "id")).await,
        plan.medicines as i64
    );
    assert_eq!(
        count(&s.catalog, "SELECT COUNT(*) FROM medicines").await,
        plan.medicines as i64 + 78
    );
    assert_eq!(
        count(&s.catalog, &scaled("listings", "id")).await,
        plan.listings() as i64
    );
    let batches = count(&s.catalog, &scaled("batches", "id")).await;
    assert_eq!(
        batches,
        count(&s.catalog, &scaled("stock_movements", "id")).await
    );
    assert_eq!(
        batches,
        plan.listings() as i64 * 5 / 4,
        "one in four listings has two"
    );
    let named = scale_id(Kind::Customer, 0);
    let orders = format!("SELECT COUNT(*) FROM orders WHERE customer_id = '{named}'");
    assert_eq!(count(&s.orders, &orders).await, plan.orders as i64);
}

/// Catalog's search finds a generated medicine by its brand, with stock on sale.
async fn assert_searchable(s: &Seeded, plan: &ScalePlan) {
    let medicine = plan.medicine(0);
    let brand = medicine.name.split(' ').next().unwrap().to_string();
    let filter = MedicineFilter {
        search: Some(brand.clone()),
        include_schedule_x: false,
        ..MedicineFilter::default()
    };
    let page = PageRequest::new(Some(50), None).unwrap();
    let (hits, total) = search_medicines(&s.catalog, &filter, &page).await.unwrap();
    let id = scale_id(Kind::Medicine, 0);
    assert!(total >= 1, "{brand}");
    assert!(
        hits.iter().any(|h| h.medicine.id == id),
        "{brand} finds {id}"
    );
    let sellable = format!(
        "SELECT CAST(SUM(b.quantity) AS BIGINT) FROM batches b JOIN listings l ON l.id = b.listing_id \
         JOIN vendor_status vs ON vs.vendor_id = l.vendor_id \
         WHERE l.medicine_id = '{id}' AND vs.verified = TRUE AND b.expires_on > '{}'",
        chrono::Utc::now().date_naive()
    );
    assert!(
        count(&s.catalog, &sellable).await > 0,
        "in stock at a verified vendor"
    );
}

/// Every order line of the named customer is a listing catalog has, at the order's vendor.
async fn assert_orders_refer_to_catalog(s: &Seeded) {
    let lines: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT l.listing_id, l.medicine_id, o.vendor_id FROM order_lines l \
         JOIN orders o ON o.id = l.order_id WHERE o.id LIKE '019b5ca1-%'",
    )
    .fetch_all(s.orders.pool())
    .await
    .unwrap();
    assert!(!lines.is_empty());
    for (listing, medicine, vendor) in lines {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT medicine_id, vendor_id FROM listings WHERE id = $1")
                .bind(&listing)
                .fetch_optional(s.catalog.pool())
                .await
                .unwrap();
        assert_eq!(found, Some((medicine, vendor)), "{listing}");
    }
    let email: (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(scale_id(Kind::Customer, 0))
        .fetch_one(s.users.pool())
        .await
        .unwrap();
    assert_eq!(email.0, NAMED_CUSTOMER_EMAIL);
}

async fn scale_one(backend: Backend) {
    let dbs = [
        TestDb::new(backend).await,
        TestDb::new(backend).await,
        TestDb::new(backend).await,
    ];
    let plan = ScalePlan::new(1);
    let seeded = seed_all(&dbs).await;
    assert_counts(&seeded, &plan).await;
    assert_searchable(&seeded, &plan).await;
    assert_orders_refer_to_catalog(&seeded).await;

    let again = seed(&dbs[1], 1, "catalog");
    assert!(again.status.success());
    assert!(stdout(&again).contains("catalog: scale 1 already seeded"));
    assert_counts(&seeded, &plan).await;

    let other = seed(&dbs[2], 2, "orders");
    assert!(!other.status.success(), "another scale is refused");
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("seeded at scale 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_seed_on_sqlite() {
    scale_one(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_seed_on_postgres() {
    scale_one(Backend::Postgres).await;
}
