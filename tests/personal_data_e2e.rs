//! A customer's data rights through the router, with the contract's
//! operations (issue 18): an export gathers the customer's orders and
//! prescriptions from every subgraph and nobody else's, behind a signed
//! link; an open order blocks closing the account; once closed, the
//! customer's name, e-mail, phone and address lines are in no table of any
//! subgraph's database except the records the README says the law keeps,
//! sign-in fails, every subgraph reported its erasure, and the vendor still
//! sees its tax invoice.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::{code, operation, Platform, TEST_PASSWORD};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";

const NAME: &str = "Meera Pillai";
const EMAIL: &str = "meera.pillai@example.in";
const PHONE: &str = "+919812345678";
const LINE1: &str = "17 Jasmine Lane";
const LINE2: &str = "Opposite Lotus Pond";

/// The tables whose rows may still name the person after erasure: the
/// records the README's "Personal data" section lists as kept by law
/// (tax invoices and credit notes, the Schedule H1 register, the audit
/// trail), as `(database, table)`; `*` is any database.
const KEPT_BY_LAW: [(&str, &str); 4] = [
    ("orders", "tax_documents"),
    ("orders", "h1_register"),
    ("prescriptions", "h1_register"),
    ("*", "audit_log"),
];

/// Polls `query` as `token` until `done` holds on its data; fails after 60 s.
async fn until(
    p: &Platform,
    token: &str,
    name: &str,
    vars: Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = p
            .gql
            .send(Some(token), &operation(name), vars.clone())
            .await;
        if done(&body["data"]) {
            return body["data"].clone();
        }
        assert!(Instant::now() < deadline, "{name} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Registers the customer with a phone number; returns (user ID, access
/// token, refresh token).
async fn register(p: &Platform) -> (String, String, String) {
    let input = json!({"input": {"email": EMAIL, "password": TEST_PASSWORD,
        "fullName": NAME, "phone": PHONE}});
    let data = p.gql.data(None, &operation("Register"), input).await;
    let field = |f: &str| data["register"][f].as_str().expect(f).to_string();
    (
        data["register"]["user"]["id"].as_str().unwrap().to_string(),
        field("accessToken"),
        field("refreshToken"),
    )
}

/// A prescription the customer uploads and submits for themselves.
async fn submit_prescription(p: &Platform, token: &str) -> String {
    let upload = p.upload_prescription(token).await;
    let input = json!({"input": {
        "uploadId": upload.id, "patientName": NAME, "doctorName": "Dr. Kavya Menon",
        "doctorRegistrationNumber": "KMC-51234",
        "issuedOn": janta_platform::india::today().to_string(),
        "vendorId": janta_platform::demo::VENDOR_KA_ID
    }});
    let data = p
        .gql
        .data(Some(token), &operation("SubmitPrescription"), input)
        .await;
    data["submitPrescription"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One pack of paracetamol, cash on delivery, to `address`; returns the order ID.
async fn place_order(p: &Platform, token: &str, address: &str) -> String {
    let vars = json!({"listingId": KA_PARACETAMOL, "quantity": 1});
    p.gql.data(Some(token), &operation("AddToCart"), vars).await;
    let input = json!({"input": {"addressId": address, "idempotencyKey": "pd-e2e-1",
        "paymentMethod": "CASH_ON_DELIVERY"}});
    let placed = p
        .gql
        .data(Some(token), &operation("PlaceOrder"), input)
        .await;
    placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The vendor delivers `order_id`.
async fn deliver(p: &Platform, customer: &str, vendor: &str, order_id: &str) {
    p.order_when(customer, order_id, |o| o["status"] == "CONFIRMED")
        .await;
    for to in ["PACKED", "OUT_FOR_DELIVERY", "DELIVERED"] {
        let vars = json!({"id": order_id, "to": to});
        p.gql
            .data(Some(vendor), &operation("AdvanceOrder"), vars)
            .await;
    }
    p.order_when(customer, order_id, |o| o["status"] == "DELIVERED")
        .await;
}

/// IDs of the demo customer's orders and of a prescription they submit:
/// someone else's.
async fn someone_elses(p: &Platform) -> Vec<String> {
    let other = p.login("customer@janta.test").await;
    let (prescription, _) = p.submit_prescription(&other).await;
    let orders = p
        .gql
        .data(Some(&other), &operation("MyOrders"), json!({"first": 50}))
        .await;
    let mut ids: Vec<String> = orders["myOrders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.push(prescription);
    ids
}

/// Asks for an export, waits until it is READY and downloads it.
async fn export(p: &Platform, token: &str) -> (Value, String) {
    let asked = p
        .gql
        .data(Some(token), &operation("RequestDataExport"), json!({}))
        .await;
    let id = asked["requestDataExport"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(asked["requestDataExport"]["status"], "PENDING");
    let data = until(p, token, "MyDataExports", json!({}), |d| {
        d["myDataExports"][0]["status"] == "READY"
    })
    .await;
    let ready = &data["myDataExports"][0];
    assert_eq!(ready["id"], id.as_str());
    let answered: BTreeSet<&str> = ready["subgraphsAnswered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        answered,
        janta_platform::config::DOMAINS.into_iter().collect()
    );
    let url = ready["downloadUrl"]
        .as_str()
        .expect("a READY export has a link");
    let response = reqwest::get(url).await.expect("users answers");
    assert!(response.status().is_success(), "{}", response.status());
    let document: Value = response.json().await.expect("one JSON document");
    (document, url.to_string())
}

#[tokio::test]
async fn export_then_erasure_leaves_only_what_the_law_keeps() {
    let p = Platform::start().await;
    let (user_id, customer, refresh) = register(&p).await;
    let address = json!({"input": {"line1": LINE1, "line2": LINE2, "city": "Kochi",
        "state": "KL", "pincode": "682001"}});
    let address = p
        .gql
        .data(Some(&customer), &operation("AddAddress"), address)
        .await["addAddress"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prescription = submit_prescription(&p, &customer).await;
    let order = place_order(&p, &customer, &address).await;
    let others = someone_elses(&p).await;

    // The export: the customer's own orders and prescriptions, nobody else's.
    let (document, url) = export(&p, &customer).await;
    assert_eq!(document["userId"], user_id.as_str());
    for part in janta_platform::config::DOMAINS {
        assert!(
            document[part].is_object(),
            "{part} part missing: {document}"
        );
    }
    assert_eq!(document["users"]["profile"]["email"], EMAIL);
    assert_eq!(document["users"]["addresses"][0]["line1"], LINE1);
    let text = document.to_string();
    assert!(text.contains(&order), "the order is in the export");
    assert!(
        text.contains(&prescription),
        "the prescription is in the export"
    );
    for id in &others {
        assert!(
            !text.contains(id.as_str()),
            "someone else's {id} is in the export"
        );
    }
    assert!(
        !text.contains("Chitra"),
        "the demo customer's name is in the export"
    );
    let forged = url.replace("sig=", "sig=x");
    let refused = reqwest::get(&forged).await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);

    // An open order blocks the deletion; a wrong password is refused first.
    let wrong = p
        .gql
        .send(
            Some(&customer),
            &operation("RequestAccountDeletion"),
            json!({"password": "not-my-password-1"}),
        )
        .await;
    assert_eq!(code(&wrong).as_deref(), Some("BAD_USER_INPUT"), "{wrong}");
    let blocked = p
        .gql
        .send(
            Some(&customer),
            &operation("RequestAccountDeletion"),
            json!({"password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(code(&blocked).as_deref(), Some("CONFLICT"), "{blocked}");
    assert_eq!(
        blocked["errors"][0]["extensions"]["details"]["openOrders"],
        1
    );
    let vendor = p.login("vendor.ka@janta.test").await;
    deliver(&p, &customer, &vendor, &order).await;

    // Deletion: the account closes at once, every subgraph reports.
    let deleted = p
        .gql
        .data(
            Some(&customer),
            &operation("RequestAccountDeletion"),
            json!({"password": TEST_PASSWORD}),
        )
        .await;
    let deletion = deleted["requestAccountDeletion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let login = p
        .gql
        .send(
            None,
            &operation("Login"),
            json!({"email": EMAIL, "password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(code(&login).as_deref(), Some("UNAUTHENTICATED"), "{login}");
    let refreshed = p
        .gql
        .send(
            None,
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({"t": refresh}),
        )
        .await;
    assert_eq!(code(&refreshed).as_deref(), Some("UNAUTHENTICATED"));
    let admin = p.login("admin@janta.test").await;
    let done = until(
        &p,
        &admin,
        "AccountDeletion",
        json!({"id": deletion}),
        |d| d["accountDeletion"]["status"] == "COMPLETED",
    )
    .await;
    let reports = done["accountDeletion"]["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 6, "{done}");
    let orders_report = reports.iter().find(|r| r["subgraph"] == "orders").unwrap();
    let kept = orders_report["kept"].to_string();
    assert!(
        kept.contains("CGST"),
        "orders keeps the tax invoice: {kept}"
    );
    // Its requester may still look while their access token lasts.
    let own = p
        .gql
        .data(
            Some(&customer),
            &operation("AccountDeletion"),
            json!({"id": deletion}),
        )
        .await;
    assert_eq!(own["accountDeletion"]["status"], "COMPLETED");

    // The vendor still sees its invoice.
    let invoiced = p
        .gql
        .data(
            Some(&vendor),
            &operation("OrderInvoice"),
            json!({"id": order}),
        )
        .await;
    assert!(
        invoiced["order"]["invoice"]["number"].is_string(),
        "{invoiced}"
    );

    // Nothing else names the person in any subgraph's database.
    let found = scan(&p, &[NAME, EMAIL, PHONE, LINE1, LINE2]).await;
    eprintln!("kept after erasure (database, table, column, value): {found:?}");
    assert!(
        found
            .iter()
            .any(|(db, table, _, text)| db == "orders" && table == "tax_documents" && text == NAME),
        "the scan finds the name the tax invoice keeps: {found:?}"
    );
    let unexpected: Vec<&(String, String, String, String)> = found
        .iter()
        .filter(|(db, table, _, _)| {
            !KEPT_BY_LAW
                .iter()
                .any(|(d, t)| (*d == "*" || d == db) && t == table)
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "personal data left after erasure (database, table, column, value): {unexpected:?}"
    );
}

/// Every `(database, table, column, needle)` where a text of `needles`
/// appears, in every table of every subgraph's SQLite file.
async fn scan(p: &Platform, needles: &[&str]) -> Vec<(String, String, String, String)> {
    sqlx::any::install_default_drivers();
    let mut found = Vec::new();
    for db in janta_platform::config::DOMAINS {
        let path = p.data_dir.join(format!("{db}.db"));
        let url = format!("sqlite://{}?mode=ro", path.display());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("open store");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("tables");
        for table in tables {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&mut conn)
                    .await
                    .expect("columns");
            for column in columns {
                for needle in needles {
                    let sql = format!(
                        "SELECT COUNT(*) FROM \"{table}\" WHERE instr(lower(CAST(\"{column}\" AS TEXT)), lower($1)) > 0"
                    );
                    let n: i64 = sqlx::query_scalar(&sql)
                        .bind(*needle)
                        .fetch_one(&mut conn)
                        .await
                        .expect("search");
                    if n > 0 {
                        found.push((
                            db.to_string(),
                            table.clone(),
                            column.clone(),
                            needle.to_string(),
                        ));
                    }
                }
            }
        }
    }
    found
}
