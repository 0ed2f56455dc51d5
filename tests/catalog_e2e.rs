//! The catalog part of the client contract through the router over HTTP:
//! `SearchMedicines`, `MedicineDetail` (vendor names and states resolved by
//! the users subgraph), `UpsertListing` and `ReceiveBatch` as a vendor, and
//! the refusals a client meets there, each with nothing written.

mod support;

use janta_catalog::demo::*;
use serde_json::json;
use support::{code, operation, Platform};

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn search_and_detail_with_vendor_names_from_users() {
    let p = Platform::start().await;
    let found = p
        .gql
        .data(
            None,
            &operation("SearchMedicines"),
            json!({"search": "parace", "first": 3}),
        )
        .await;
    let medicines = &found["medicines"];
    assert_eq!(medicines["totalCount"], 7);
    assert_eq!(medicines["pageInfo"]["hasNextPage"], true);
    let top = &medicines["edges"][0]["node"];
    assert_eq!(top["name"], "Paracetamol 500 mg tablet");
    assert_eq!(top["requiresPrescription"], false);
    assert_eq!(top["listings"][0]["vendor"]["name"], "Janta Demo Pharmacy");
    assert_eq!(top["listings"][1]["vendor"]["name"], "Sahyadri Medicos");
    let next = p
        .gql
        .data(
            None,
            &operation("SearchMedicines"),
            json!({"search": "parace", "first": 3, "after": medicines["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(next["medicines"]["edges"].as_array().unwrap().len(), 3);

    let detail = p
        .gql
        .data(
            None,
            &operation("MedicineDetail"),
            json!({"id": CEFIXIME_200_ID}),
        )
        .await;
    let m = &detail["medicine"];
    assert_eq!(m["schedule"], "H1");
    assert_eq!(m["requiresPrescription"], true);
    assert_eq!(m["gstRate"], "5");
    assert_eq!(m["category"]["name"], "Antibiotics & Anti-infectives");
    assert_eq!(m["alternatives"].as_array().unwrap().len(), 2);
    assert_eq!(
        m["listings"],
        json!([{
            "id": CEFIXIME_200_KA_LISTING_ID,
            "price": {"amount": "98.10", "currency": "INR"},
            "mrp": {"amount": "109.00", "currency": "INR"},
            "stock": 60,
            "vendor": {"id": janta_platform::demo::VENDOR_KA_ID, "name": "Janta Demo Pharmacy", "state": "KA"}
        }])
    );
}

#[tokio::test]
async fn vendor_lists_and_receives_stock_through_the_router() {
    let p = Platform::start().await;
    let vendor = p.login("vendor.ka@janta.test").await;
    let zifi = medicine_id(19); // listed by the MH vendor only
    let listed = p
        .gql
        .data(
            Some(&vendor),
            &operation("UpsertListing"),
            json!({"input": {"medicineId": zifi, "price": "110.00", "mrp": "120.00"}}),
        )
        .await;
    assert_eq!(listed["upsertListing"]["price"]["amount"], "110.00");
    assert_eq!(listed["upsertListing"]["stock"], 0);
    let listing = listed["upsertListing"]["id"].as_str().unwrap().to_string();
    let received = p
        .gql
        .data(
            Some(&vendor),
            &operation("ReceiveBatch"),
            json!({"input": {"listingId": listing, "batchNumber": "ZF-0425", "expiresOn": in_days(240), "quantity": 25}}),
        )
        .await;
    assert_eq!(
        received["receiveBatch"],
        json!({"id": listing, "stock": 25})
    );
    let detail = p
        .gql
        .data(None, &operation("MedicineDetail"), json!({"id": zifi}))
        .await;
    let names: Vec<&str> = detail["medicine"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["vendor"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Janta Demo Pharmacy", "Sahyadri Medicos"],
        "cheapest first"
    );

    let batches = "SELECT COUNT(*) FROM batches";
    let listings = "SELECT COUNT(*) FROM listings";
    let (batches_before, listings_before) = (
        p.count("catalog", batches).await,
        p.count("catalog", listings).await,
    );
    let customer = p.login("customer@janta.test").await;
    let other_vendor = p.login("vendor.mh@janta.test").await;
    let refusals = [
        (
            Some(&vendor),
            "UpsertListing",
            json!({"input": {"medicineId": zifi, "price": "130.00", "mrp": "120.00"}}),
            "BAD_USER_INPUT",
        ),
        (
            Some(&customer),
            "UpsertListing",
            json!({"input": {"medicineId": zifi, "price": "1", "mrp": "2"}}),
            "FORBIDDEN",
        ),
        (
            Some(&vendor),
            "UpsertListing",
            json!({"input": {"medicineId": "019a0000-0000-7000-8fff-000000000000", "price": "1", "mrp": "2"}}),
            "NOT_FOUND",
        ),
        (
            Some(&vendor),
            "ReceiveBatch",
            json!({"input": {"listingId": listing, "batchNumber": "ZF-1", "expiresOn": in_days(-1), "quantity": 5}}),
            "BAD_USER_INPUT",
        ),
        (
            Some(&vendor),
            "ReceiveBatch",
            json!({"input": {"listingId": listing, "batchNumber": "ZF-1", "expiresOn": in_days(90), "quantity": 0}}),
            "BAD_USER_INPUT",
        ),
        (
            Some(&other_vendor),
            "ReceiveBatch",
            json!({"input": {"listingId": listing, "batchNumber": "ZF-1", "expiresOn": in_days(90), "quantity": 5}}),
            "FORBIDDEN",
        ),
        (
            Some(&customer),
            "ReceiveBatch",
            json!({"input": {"listingId": listing, "batchNumber": "ZF-1", "expiresOn": in_days(90), "quantity": 5}}),
            "FORBIDDEN",
        ),
        (
            None,
            "ReceiveBatch",
            json!({"input": {"listingId": listing, "batchNumber": "ZF-1", "expiresOn": in_days(90), "quantity": 5}}),
            "UNAUTHENTICATED",
        ),
    ];
    for (token, name, vars, expected) in refusals {
        let body = p
            .gql
            .send(token.map(String::as_str), &operation(name), vars.clone())
            .await;
        assert_eq!(
            code(&body).as_deref(),
            Some(expected),
            "{name} {vars}: {body}"
        );
    }
    let unknown = p
        .gql
        .send(
            None,
            &operation("MedicineDetail"),
            json!({"id": "not-an-id"}),
        )
        .await;
    assert_eq!(code(&unknown).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(p.count("catalog", batches).await, batches_before);
    assert_eq!(p.count("catalog", listings).await, listings_before);
}
