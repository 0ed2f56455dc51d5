//! Bulk import through the router, with the contract's operations: an admin
//! loads medicines from CSV (a malformed row is reported with its line and
//! reason and nothing of it is written; the same file again changes
//! nothing), the Karnataka vendor loads its listing and a batch for one of
//! them, and a customer finds the new medicine offered at that price; a
//! customer may not import.

mod support;

use janta_platform::demo::VENDOR_KA_ID;
use serde_json::{json, Value};
use support::{code, operation, Platform};

const MASTER: &str = "name,generic,manufacturer,strength,form,pack,schedule,hsn,category\n\
Ragiflam 400 tablet,Ibuprofen,Ragi Labs,400 mg,TABLET,strip of 10 tablets,OTC,30049099,Pain & Fever\n\
Ragimox 500 capsule,Amoxicillin,Ragi Labs,500 mg,CAPSULE,strip of 10 capsules,Z,300410,Antibiotics & Anti-infectives\n\
Ragicof syrup,Dextromethorphan,Ragi Labs,100 ml,SYRUP,bottle of 100 ml,OTC,30049099,Pain & Fever\n";

fn report(body: &Value, field: &str) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"][field].clone()
}

#[tokio::test]
async fn medicines_and_stock_arrive_by_csv_and_sell() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let import = |csv: String| {
        let (gql, admin) = (p.gql.clone(), admin.clone());
        async move {
            let vars = json!({ "csv": csv });
            gql.send(Some(&admin), &operation("ImportMedicines"), vars)
                .await
        }
    };
    let medicines_before = p.count("catalog", "SELECT COUNT(*) FROM medicines").await;
    let first = report(&import(MASTER.to_string()).await, "importMedicines");
    assert_eq!(
        (first["rowsRead"].as_i64(), first["created"].as_i64()),
        (Some(3), Some(2))
    );
    let rejected = first["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{first}");
    assert_eq!(rejected[0]["line"], 3);
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("schedule"),
        "{first}"
    );
    let search = |text: &'static str| {
        let gql = p.gql.clone();
        async move {
            let vars = json!({"search": text, "first": 5});
            gql.data(None, &operation("SearchMedicines"), vars).await
        }
    };
    let ragimox = search("ragimox").await;
    // Search corrects spelling, so it may offer a near name: never the bad row's.
    assert!(
        !ragimox.to_string().contains("Ragimox"),
        "nothing of the bad row: {ragimox}"
    );
    let again = report(&import(MASTER.to_string()).await, "importMedicines");
    assert_eq!(
        (again["created"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(2))
    );
    let medicines_after = p.count("catalog", "SELECT COUNT(*) FROM medicines").await;
    assert_eq!(medicines_after, medicines_before + 2);

    let vendor = p.login("vendor.ka@janta.test").await;
    let expiry = (chrono::Utc::now().date_naive() + chrono::Days::new(400)).to_string();
    let stock = format!(
        "name,strength,form,manufacturer,price,mrp,batch,expiry,quantity\n\
         Ragiflam 400 tablet,400 mg,TABLET,Ragi Labs,38.00,42.00,RF-01,{expiry},25\n"
    );
    let vars = json!({"vendorId": VENDOR_KA_ID, "csv": stock});
    let listed = p
        .gql
        .send(Some(&vendor), &operation("ImportListings"), vars.clone())
        .await;
    assert_eq!(report(&listed, "importListings")["created"], 1, "{listed}");
    let relisted = p
        .gql
        .send(Some(&vendor), &operation("ImportListings"), vars)
        .await;
    assert_eq!(
        report(&relisted, "importListings")["unchanged"],
        1,
        "{relisted}"
    );

    let customer = p.login("customer@janta.test").await;
    let found = search("ragiflam").await;
    let text = found.to_string();
    assert!(text.contains("Ragiflam 400 tablet"), "{found}");
    assert!(
        text.contains("38.00"),
        "the imported price is offered: {found}"
    );

    let customer_import = p
        .gql
        .send(
            Some(&customer),
            &operation("ImportMedicines"),
            json!({"csv": MASTER}),
        )
        .await;
    assert_eq!(code(&customer_import).as_deref(), Some("FORBIDDEN"));
}
