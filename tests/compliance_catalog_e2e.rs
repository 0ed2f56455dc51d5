//! Pharmacy compliance II, catalog part, through the router exactly as the
//! contract writes it, on the demo data: a Schedule X listing is refused; an
//! order of KA Crocin skips the demo batch that expires inside the 30-day
//! shelf-life margin and takes the next one; a price above the batches' MRP
//! is refused; a stale listing version is CONFLICT; the expiry sweeper
//! (every second here) quarantines the demo's expired Benadryl batch, which
//! is then never sold; and past GST rates stay readable.

mod support;

use janta_catalog::demo::{listing_id, medicine_id, ADDWIZE_10_ID, EXPIRED_ONLY_LISTING_ID};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform};

const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";

/// Today plus `days`, in India (where expiry dates are read), as the API writes dates.
fn in_days(days: i64) -> String {
    (janta_catalog::domain::today() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// `ListingStock` as `token`, once `done` holds; fails the test after 30 s.
async fn listing_when(p: &Platform, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = p
            .gql
            .data(Some(token), &operation("ListingStock"), json!({ "id": id }))
            .await;
        if done(&body["listing"]) {
            return body["listing"].clone();
        }
        assert!(Instant::now() < deadline, "never got there: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn catalog_compliance_through_the_router() {
    let p = Platform::start_with(&[("JANTA_EXPIRY_SWEEP_SECS", "1")]).await;
    let vendor = p.login("vendor.ka@janta.test").await;
    let customer = p.login("customer@janta.test").await;

    // Schedule X is not listed.
    let refused = p
        .gql
        .send(
            Some(&vendor),
            &operation("UpsertListing"),
            json!({"input": {"medicineId": ADDWIZE_10_ID, "price": "55.80", "mrp": "62.00"}}),
        )
        .await;
    assert_eq!(code(&refused).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(
        refused["errors"][0]["message"],
        "Schedule X (narcotic and psychotropic) medicines are not sold online"
    );

    // KA Crocin: KA007A (69 packs) expires in 20 days, inside the margin; KA007B in 500.
    let crocin = listing_id(7, true);
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": crocin, "quantity": 3}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": "compliance-catalog-1"}}),
        )
        .await;
    let order_id = placed["placeOrder"]["orders"][0]["id"].as_str().unwrap();
    let order = p
        .gql
        .data(
            Some(&customer),
            &operation("OrderLineBatches"),
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        order["order"]["lines"][0]["batches"],
        json!([{"batchNumber": "KA007B", "expiresOn": in_days(500), "quantity": 3}]),
        "the batch inside the 30-day margin is skipped for the next one"
    );

    // A price above the batches' MRP (₹20.00) is refused, whatever the listing's MRP says.
    let crocin_medicine = medicine_id(7);
    let above = p
        .gql
        .send(
            Some(&vendor),
            &operation("UpsertListingAtVersion"),
            json!({"input": {"medicineId": crocin_medicine, "price": "20.50", "mrp": "22.00"}}),
        )
        .await;
    assert_eq!(code(&above).as_deref(), Some("BAD_USER_INPUT"), "{above}");

    // Optimistic locking.
    let read = listing_when(&p, &vendor, &crocin, |_| true).await;
    let version = read["version"].as_i64().unwrap();
    let fresh = p
        .gql
        .data(
            Some(&vendor),
            &operation("UpsertListingAtVersion"),
            json!({"expectedVersion": version,
                   "input": {"medicineId": crocin_medicine, "price": "17.50", "mrp": "20.00", "minShelfLifeDays": 45}}),
        )
        .await;
    let updated = &fresh["upsertListing"];
    assert_eq!(updated["version"].as_i64(), Some(version + 1));
    assert_eq!(updated["minShelfLifeDays"], 45);
    assert_eq!(updated["price"]["amount"], "17.50");
    let stale = p
        .gql
        .send(
            Some(&vendor),
            &operation("UpsertListingAtVersion"),
            json!({"expectedVersion": version,
                   "input": {"medicineId": crocin_medicine, "price": "17.00", "mrp": "20.00"}}),
        )
        .await;
    assert_eq!(code(&stale).as_deref(), Some("CONFLICT"), "{stale}");

    // The sweeper quarantines the expired Benadryl batch (12 packs).
    let swept = listing_when(&p, &vendor, EXPIRED_ONLY_LISTING_ID, |l| {
        l["quarantined"] == 12
    })
    .await;
    assert_eq!(swept["stock"], 0);
    assert_eq!(swept["batches"][0]["quantity"], 0);
    assert_eq!(swept["batches"][0]["expired"], true);
    let expiring = p
        .gql
        .data(
            Some(&vendor),
            &operation("ExpiringBatches"),
            json!({"withinDays": 30}),
        )
        .await;
    let numbers: Vec<&str> = expiring["expiringBatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batchNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["KA007A"],
        "the quarantined batch has no packs left"
    );
    assert_eq!(expiring["expiringBatches"][0]["daysLeft"], 20);
    let added = p
        .gql
        .send(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": EXPIRED_ONLY_LISTING_ID, "quantity": 1}),
        )
        .await;
    let never = if code(&added).is_some() {
        added
    } else {
        p.gql
            .send(
                Some(&customer),
                &operation("PlaceOrder"),
                json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": "compliance-catalog-2"}}),
            )
            .await
    };
    assert_eq!(code(&never).as_deref(), Some("OUT_OF_STOCK"), "{never}");

    // Past GST rates stay readable: chapter 30 went from 12 % to 5 % on 22 Sep 2025.
    for (date, rate) in [("2025-09-21", "12"), ("2025-09-22", "5")] {
        let slab = p
            .gql
            .data(
                None,
                &operation("GstRateOn"),
                json!({"hsnCode": "30049099", "date": date}),
            )
            .await;
        assert_eq!(slab["gstRateOn"]["rate"], rate, "{date}");
    }
}
