//! A fresh distributed deployment put to work by hand, end to end through
//! the production router (issue 17): every subgraph a `janta serve`
//! process with its own empty PostgreSQL database, events over NATS
//! JetStream. The operator creates the first admin with `janta admin
//! create` (password on standard input); the admin signs in, sets the GST
//! slab of medicines and imports a master of 10 000 medicines from CSV in
//! one request, in seconds, with one malformed row, reported by its line
//! and reason and of which nothing is written; the admin registers and
//! verifies a pharmacy and makes a registered account its vendor admin,
//! who imports the pharmacy's stock CSV; a customer then buys one of the
//! imported medicines, cash on delivery, and the order is confirmed.
//!
//! Needs PostgreSQL at `JANTA_TEST_POSTGRES_URL` and NATS with JetStream at
//! `JANTA_NATS_URL` (default `nats://127.0.0.1:4222`).

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::distributed::Deployment;
use support::{operation, registration, TEST_PASSWORD};

const ADMIN_EMAIL: &str = "ops@pharmacy.example";
const ADMIN_PASSWORD: &str = "first-admin-pass-5512";
const MEDICINES: usize = 10_000;
/// The malformed row's line in the file (the header is line 1).
const BAD_LINE: i64 = 5_002;

/// A master file of [`MEDICINES`] medicines with one malformed row (an
/// unknown schedule) at [`BAD_LINE`].
fn master_csv() -> String {
    let mut csv =
        String::from("name,generic,manufacturer,strength,form,pack,schedule,hsn,category\n");
    for i in 1..=MEDICINES {
        if i as i64 == BAD_LINE - 1 {
            csv.push_str("Wrongsched 5 tablet,Paracetamol,Fresh Labs Ltd,5 mg,TABLET,strip of 10,Q,30049099,Pain relief\n");
        }
        csv.push_str(&format!(
            "Freshmed {i} tablet,\"Freshamine {}, Paracetamol\",Fresh Labs {} Ltd,{} mg,TABLET,strip of 10,OTC,30049099,Fresh category {}\n",
            i % 500,
            i % 40,
            i % 900 + 100,
            i % 12
        ));
    }
    csv
}

/// What the generated master says of medicine `i`: name, strength, manufacturer.
fn medicine(i: usize) -> (String, String, String) {
    (
        format!("Freshmed {i} tablet"),
        format!("{} mg", i % 900 + 100),
        format!("Fresh Labs {} Ltd", i % 40),
    )
}

fn data<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field}: {body}");
    &body["data"][field]
}

/// Signs in through the router; the access token.
async fn login(d: &Deployment, email: &str, password: &str) -> String {
    let body = d
        .gql
        .send(
            None,
            &operation("Login"),
            json!({"email": email, "password": password}),
        )
        .await;
    data(&body, "login")["accessToken"]
        .as_str()
        .expect("token")
        .to_string()
}

/// The admin's part: a pharmacy in Karnataka, verified, with the account
/// `email` (registered by its owner) as its vendor admin. Returns its ID.
async fn set_up_vendor(d: &Deployment, admin: &str, email: &str) -> String {
    let created = d
        .gql
        .send(
            Some(admin),
            &operation("CreateVendor"),
            json!({"input": {"name": "Fresh Pharmacy", "legalName": "Fresh Pharmacy LLP",
                "gstin": "29AAPFU0939F1ZR", "drugLicenceNumber": "KA-BLR-20B-77", "state": "KA",
                "branch": {"name": "Indiranagar", "line1": "12 CMH Road", "city": "Bengaluru",
                    "state": "KA", "pincode": "560038"}}}),
        )
        .await;
    let vendor_id = data(&created, "createVendor")["id"]
        .as_str()
        .expect("vendor id")
        .to_string();
    let verified = d
        .gql
        .send(
            Some(admin),
            "mutation($id: ID!) { verifyVendor(id: $id) { id verified } }",
            json!({"id": vendor_id}),
        )
        .await;
    assert_eq!(data(&verified, "verifyVendor")["verified"], true);
    d.gql
        .data(
            None,
            &operation("Register"),
            registration(email, "Farah Khan"),
        )
        .await;
    let staff = d
        .gql
        .send(
            Some(admin),
            "mutation($v: ID!, $e: String!) { addVendorStaff(vendorId: $v, email: $e, role: VENDOR_ADMIN) { id roles } }",
            json!({"v": vendor_id, "e": email}),
        )
        .await;
    assert!(data(&staff, "addVendorStaff")["roles"]
        .as_array()
        .unwrap()
        .contains(&json!("VENDOR_ADMIN")));
    vendor_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_deployment_is_bootstrapped_stocked_by_csv_and_sells() {
    let d = Deployment::start().await;

    // The operator creates the first admin; the password never appears
    // on the command line.
    let created = d.janta(
        "users",
        &[
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Ops Admin",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success() && stdout.contains("created platform admin"),
        "{stdout}{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let admin = login(&d, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let slab = d
        .gql
        .send(
            Some(&admin),
            "mutation($input: TaxSlabInput!) { upsertTaxSlab(input: $input) { id } }",
            json!({"input": {"hsnCode": "3004", "rate": "12", "effectiveFrom": "2017-07-01",
                "description": "Medicaments in measured doses"}}),
        )
        .await;
    data(&slab, "upsertTaxSlab");

    // 10 000 medicines in one request through the router (which gives a
    // subgraph 10 s), the malformed row reported and not written.
    let started = Instant::now();
    let body = d
        .gql
        .send(
            Some(&admin),
            &operation("ImportMedicines"),
            json!({"csv": master_csv()}),
        )
        .await;
    let took = started.elapsed();
    let report = data(&body, "importMedicines");
    assert_eq!(report["rowsRead"], MEDICINES + 1, "{report}");
    assert_eq!(report["created"], MEDICINES, "{report}");
    assert_eq!(
        report["rejected"],
        json!([{"line": BAD_LINE, "reason": "schedule \"Q\" must be one of OTC, H, H1, X"}])
    );
    eprintln!("imported {MEDICINES} medicines through the router in {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let counts = [
        ("medicines", "SELECT COUNT(*) FROM medicines"),
        ("versions", "SELECT COUNT(*) FROM medicine_versions"),
        (
            "audit entries",
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'medicine' AND action = 'created'",
        ),
    ];
    for (what, sql) in counts {
        assert_eq!(d.scalar("catalog", sql).await, MEDICINES as i64, "{what}");
    }
    let bad = "SELECT COUNT(*) FROM medicine_versions WHERE name LIKE 'Wrongsched%'";
    assert_eq!(d.scalar("catalog", bad).await, 0, "nothing of the bad row");
    let bad_category = "SELECT COUNT(*) FROM categories WHERE name = 'Pain relief'";
    assert_eq!(d.scalar("catalog", bad_category).await, 0);

    // A pharmacy, and its stock by CSV from its vendor admin.
    let owner = format!("owner-{}@pharmacy.example", uuid::Uuid::new_v4().simple());
    let vendor_id = set_up_vendor(&d, &admin, &owner).await;
    let vendor = login(&d, &owner, TEST_PASSWORD).await;
    let expiry = (chrono::Utc::now().date_naive() + chrono::Days::new(500)).to_string();
    let mut stock =
        String::from("name,strength,form,manufacturer,price,mrp,batch,expiry,quantity\n");
    for i in [7, 4_242, 9_999] {
        let (name, strength, maker) = medicine(i);
        stock.push_str(&format!(
            "{name},{strength},TABLET,{maker},45.00,50.00,FP-{i},{expiry},40\n"
        ));
    }
    let body = d
        .gql
        .send(
            Some(&vendor),
            &operation("ImportListings"),
            json!({"vendorId": vendor_id, "csv": stock}),
        )
        .await;
    let report = data(&body, "importListings");
    assert_eq!(
        (&report["created"], &report["rejected"]),
        (&json!(3), &json!([])),
        "{report}"
    );

    // A customer finds the imported medicine on sale (once catalog has
    // heard, over NATS, that the pharmacy is verified) and buys it.
    let customer_email = format!("buyer-{}@example.com", uuid::Uuid::new_v4().simple());
    d.gql
        .data(
            None,
            &operation("Register"),
            registration(&customer_email, "Ravi Kumar"),
        )
        .await;
    let customer = login(&d, &customer_email, TEST_PASSWORD).await;
    let listing = on_sale(&d, "Freshmed 4242 tablet", 40).await;
    assert_eq!(listing["price"]["amount"], "45.00");
    let address = d
        .gql
        .data(
            Some(&customer),
            &operation("AddAddress"),
            json!({"input": {"line1": "4 Church Street", "city": "Bengaluru", "state": "KA",
                "pincode": "560001", "isDefault": true}}),
        )
        .await["addAddress"]["id"]
        .clone();
    d.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": listing["id"], "quantity": 2}),
        )
        .await;
    let placed = d
        .gql
        .send(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": address, "idempotencyKey": "fresh-1"}}),
        )
        .await;
    let order = data(&placed, "placeOrder")["orders"][0].clone();
    assert_eq!(order["lines"][0]["medicineName"], "Freshmed 4242 tablet");
    assert_eq!(order["total"]["amount"], "90.00", "{order}");
    let paid = d
        .gql
        .send(
            Some(&customer),
            &operation("PayOrder"),
            json!({"orderId": order["id"], "method": "CASH_ON_DELIVERY"}),
        )
        .await;
    data(&paid, "payOrder");
    let order_id = order["id"].as_str().expect("order id");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let vars = json!({"id": order_id});
        let body = d
            .gql
            .send(Some(&customer), &operation("OrderDetail"), vars)
            .await;
        if body["data"]["order"]["status"] == "CONFIRMED" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the order was not confirmed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The listing of the medicine named `name` with `stock` packs, once
/// search offers it (catalog hears over NATS that its pharmacy is
/// verified); fails the test after 60 s.
async fn on_sale(d: &Deployment, name: &str, stock: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let vars = json!({"search": name, "first": 5});
        let body = d.gql.send(None, &operation("SearchMedicines"), vars).await;
        let offered = body["data"]["medicines"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["node"]["name"] == name)
            .flat_map(|e| {
                e["node"]["listings"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|l| l["stock"] == stock);
        if let Some(listing) = offered {
            return listing;
        }
        assert!(Instant::now() < deadline, "{name} is not on sale: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
