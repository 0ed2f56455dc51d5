//! Pharmacy compliance II, catalog part, on both backends over HTTP: Schedule
//! X is never listed nor sold; allocation skips batches inside the shelf-life
//! margin and batches whose MRP is below the price; prices stay within batch
//! MRPs; stale listing versions are CONFLICT; expired batches are swept into
//! quarantine (and by the sweeper itself); GST slabs keep their history and
//! the database refuses to change them; staff see their expiring batches.

mod support;

use janta_catalog::demo::*;
use janta_catalog::CatalogSettings;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{quiet_settings, snapshot, Catalog};

const UPSERT: &str = "mutation($input: UpsertListingInput!, $v: Int) { upsertListing(input: $input, expectedVersion: $v) { \
    id version minShelfLifeDays price { amount } stock } }";
const RECEIVE: &str =
    "mutation($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id stock } }";
const RESERVE: &str =
    "mutation($o: ID!, $l: [ReservationLineInput!]!) { reserveStock(orderId: $o, lines: $l) { \
    lines { quantity batches { batchNumber expiresOn quantity mrp { amount currency } } } } }";
const BATCHES: &str = "query($id: ID!) { listing(id: $id) { quarantined batches { batchNumber quantity mrp { amount } } \
    stockMovements(first: 1) { edges { node { kind delta reason } } } } }";

fn in_days(days: i64) -> String {
    (janta_catalog::domain::today() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn order() -> String {
    janta_platform::ids::new_id()
}

fn line(listing: &str, quantity: i64) -> Value {
    json!([{ "listingId": listing, "quantity": quantity }])
}

/// A KA listing of demo medicine `n` (not listed by KA in the demo) at
/// ₹100 (MRP ₹120); returns its ID.
async fn new_listing(c: &Catalog, n: u32) -> String {
    let input = json!({"input": {"medicineId": medicine_id(n), "price": "100", "mrp": "120"}});
    c.gql.data(Some(&c.staff_ka()), UPSERT, input).await["upsertListing"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Receives `quantity` packs of batch `number` expiring in `days`, at `mrp` (None: default).
async fn receive(
    c: &Catalog,
    listing: &str,
    number: &str,
    days: i64,
    quantity: i64,
    mrp: Option<&str>,
) -> Value {
    let mut input = json!({"listingId": listing, "batchNumber": number, "expiresOn": in_days(days), "quantity": quantity});
    if let Some(mrp) = mrp {
        input["mrp"] = json!(mrp);
    }
    c.gql
        .send(Some(&c.staff_ka()), RECEIVE, json!({ "input": input }))
        .await
}

/// A batch recorded straight in the store (states the API cannot make: expired, MRP below price).
async fn raw_batch(
    c: &Catalog,
    listing: &str,
    number: &str,
    expires_on: &str,
    quantity: i64,
    mrp_paise: i64,
) {
    sqlx::query(
        "INSERT INTO batches (id, listing_id, batch_number, expires_on, quantity, reserved, received_at, mrp_paise) \
         VALUES ($1, $2, $3, $4, $5, 0, '2025-01-01T00:00:00.000000Z', $6)",
    )
    .bind(janta_platform::ids::new_id())
    .bind(listing)
    .bind(number)
    .bind(expires_on)
    .bind(quantity)
    .bind(mrp_paise)
    .execute(c.store.pool())
    .await
    .unwrap();
}

both_backends! {
    async fn schedule_x_is_never_listed_nor_sold(db) {
        let c = Catalog::seeded(&db).await;
        let before = snapshot(&c.store).await;
        let refused = c.gql.send(Some(&c.staff_ka()), UPSERT,
            json!({"input": {"medicineId": ADDWIZE_10_ID, "price": "55.80", "mrp": "62.00"}})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(refused["errors"][0]["message"], "Schedule X (narcotic and psychotropic) medicines are not sold online");
        assert_eq!(snapshot(&c.store).await, before, "nothing was written");

        // A listing whose medicine became Schedule X afterwards is never sellable.
        let listing = new_listing(&c, 19).await;
        receive(&c, &listing, "ZX1", 200, 10, None).await;
        let medicine = medicine_id(19);
        c.gql.data(Some(&c.admin()), "mutation($id: ID!) { updateMedicine(id: $id, input: {schedule: X}) { version } }",
            json!({"id": medicine})).await;
        let service = c.service();
        let quote = c.gql.data(Some(&service), "query($ids: [ID!]!) { priceListings(ids: $ids) { listingId sellable available } }",
            json!({"ids": [listing]})).await;
        assert_eq!(quote["priceListings"], json!([{"listingId": listing, "sellable": false, "available": false}]));
        let reserve = c.gql.send(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 1)})).await;
        assert_eq!(error_code(&reserve).as_deref(), Some("BAD_USER_INPUT"));
        assert!(reserve["errors"][0]["message"].as_str().unwrap().contains("Schedule X"), "{reserve}");
        assert_eq!(reserve["errors"][0]["extensions"]["details"]["listingIds"], json!([listing]));
        assert_eq!(c.count("reservations").await, 0, "nothing held");
        let public = c.gql.data(None, "query($id: ID!) { medicine(id: $id) { schedule listings(first: 10) { id } } }",
            json!({"id": medicine})).await;
        assert_eq!(public["medicine"]["schedule"], "X", "still in the master");
        assert!(public["medicine"]["listings"].as_array().unwrap().iter().all(|l| l["id"] != listing.as_str()),
            "hidden from customers: {public}");
        let hidden = c.gql.send(None, "query($id: ID!) { listing(id: $id) { id } }", json!({"id": listing})).await;
        assert_eq!(error_code(&hidden).as_deref(), Some("NOT_FOUND"));
        let own = c.gql.data(Some(&c.staff_ka()), "query($id: ID!) { listing(id: $id) { sellable inStock } }", json!({"id": listing})).await;
        assert_eq!(own["listing"], json!({"sellable": false, "inStock": false}), "its staff see why");
        let found = c.gql.data(None, "{ medicines(search: \"methylphenidate\") { totalCount } }", json!({})).await;
        assert_eq!(found["medicines"]["totalCount"], 0, "search does not show Schedule X");
        let admin = c.gql.data(Some(&c.admin()), "{ medicines(search: \"methylphenidate\") { totalCount } }", json!({})).await;
        assert_eq!(admin["medicines"]["totalCount"], 1);
    }

    async fn allocation_skips_batches_inside_the_shelf_life_margin(db) {
        let c = Catalog::seeded(&db).await;
        let listing = new_listing(&c, 26).await;
        receive(&c, &listing, "NEAR", 20, 5, None).await;
        receive(&c, &listing, "EDGE", 30, 2, None).await;
        receive(&c, &listing, "FAR", 200, 5, None).await;
        let service = c.service();
        let first = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 3)})).await;
        assert_eq!(first["reserveStock"]["lines"][0]["batches"], json!([
            {"batchNumber": "EDGE", "expiresOn": in_days(30), "quantity": 2, "mrp": {"amount": "120.00", "currency": "INR"}},
            {"batchNumber": "FAR", "expiresOn": in_days(200), "quantity": 1, "mrp": {"amount": "120.00", "currency": "INR"}}]),
            "NEAR (20 days) is inside the 30-day margin; EDGE (30 days) is not");
        let short = c.gql.send(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 5)})).await;
        assert_eq!(error_code(&short).as_deref(), Some("OUT_OF_STOCK"));
        assert_eq!(short["errors"][0]["extensions"]["details"]["lines"][0]["available"], 4);

        // The listing asks for more: 250 days rules FAR out too; less than the platform minimum is refused.
        let staff = c.staff_ka();
        let lower = c.gql.send(Some(&staff), UPSERT, json!({"input": {"medicineId": medicine_id(26), "price": "100", "mrp": "120",
            "minShelfLifeDays": 10}})).await;
        assert_eq!(error_code(&lower).as_deref(), Some("BAD_USER_INPUT"));
        let longer = c.gql.data(Some(&staff), UPSERT, json!({"input": {"medicineId": medicine_id(26), "price": "100", "mrp": "120",
            "minShelfLifeDays": 250}})).await;
        assert_eq!(longer["upsertListing"]["minShelfLifeDays"], 250);
        let none = c.gql.send(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 1)})).await;
        assert_eq!(error_code(&none).as_deref(), Some("OUT_OF_STOCK"));
    }

    async fn allocation_skips_batches_whose_mrp_is_below_the_price(db) {
        let c = Catalog::seeded(&db).await;
        let listing = new_listing(&c, 29).await;
        raw_batch(&c, &listing, "CHEAP", &in_days(60), 4, 9000).await;
        receive(&c, &listing, "DEAR", 300, 6, Some("110.00")).await;
        let service = c.service();
        let held = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 2)})).await;
        assert_eq!(held["reserveStock"]["lines"][0]["batches"], json!([
            {"batchNumber": "DEAR", "expiresOn": in_days(300), "quantity": 2, "mrp": {"amount": "110.00", "currency": "INR"}}]),
            "CHEAP (MRP ₹90) expires first but would sell above its MRP");
        let (cheap,): (i64,) = sqlx::query_as("SELECT reserved FROM batches WHERE batch_number = 'CHEAP'")
            .fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(cheap, 0);
    }

    async fn prices_stay_within_batch_mrps_and_versions_guard_listings(db) {
        let c = Catalog::seeded(&db).await;
        let staff = c.staff_ka();
        let listing = new_listing(&c, 19).await;
        let low = receive(&c, &listing, "B1", 200, 5, Some("99.00")).await;
        assert_eq!(error_code(&low).as_deref(), Some("BAD_USER_INPUT"));
        assert!(low["errors"][0]["message"].as_str().unwrap().contains("lower the price first"), "{low}");
        receive(&c, &listing, "B1", 200, 5, Some("110")).await;
        let batches = c.gql.data(Some(&staff), BATCHES, json!({"id": listing})).await;
        assert_eq!(batches["listing"]["batches"], json!([{"batchNumber": "B1", "quantity": 5, "mrp": {"amount": "110.00"}}]));
        let clash = receive(&c, &listing, "B1", 200, 1, Some("120")).await;
        assert_eq!(error_code(&clash).as_deref(), Some("CONFLICT"), "same batch, another MRP");
        let more = receive(&c, &listing, "B1", 200, 1, None).await;
        assert_eq!(more["data"]["receiveBatch"]["stock"], 6, "no MRP: the batch's own");

        let zifi = medicine_id(19);
        let above = c.gql.send(Some(&staff), UPSERT, json!({"input": {"medicineId": zifi, "price": "115", "mrp": "120"}})).await;
        assert_eq!(error_code(&above).as_deref(), Some("BAD_USER_INPUT"), "above batch B1's MRP ₹110");
        let read = c.gql.data(Some(&staff), UPSERT, json!({"input": {"medicineId": zifi, "price": "105", "mrp": "120"}})).await;
        let version = read["upsertListing"]["version"].as_i64().unwrap();
        assert_eq!(version, 2);
        let fresh = c.gql.data(Some(&staff), UPSERT, json!({"v": version, "input": {"medicineId": zifi, "price": "104", "mrp": "120"}})).await;
        assert_eq!(fresh["upsertListing"]["version"], 3);
        let before = snapshot(&c.store).await;
        let stale = c.gql.send(Some(&staff), UPSERT, json!({"v": version, "input": {"medicineId": zifi, "price": "103", "mrp": "120"}})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"));
        let unborn = c.gql.send(Some(&staff), UPSERT, json!({"v": 1, "input": {"medicineId": medicine_id(26), "price": "1", "mrp": "2"}})).await;
        assert_eq!(error_code(&unborn).as_deref(), Some("CONFLICT"), "no listing to be at that version");
        assert_eq!(snapshot(&c.store).await, before, "nothing was written");
    }

    async fn expired_batches_are_swept_into_quarantine(db) {
        let c = Catalog::seeded(&db).await;
        let staff = c.staff_ka();
        let listing = new_listing(&c, 19).await;
        receive(&c, &listing, "GOOD", 200, 5, None).await;
        raw_batch(&c, &listing, "GONE", &in_days(-1), 7, 12000).await;
        sqlx::query("UPDATE batches SET reserved = 2 WHERE batch_number = 'GONE'").execute(c.store.pool()).await.unwrap();

        let today = janta_catalog::domain::today();
        let swept = janta_catalog::service::quarantine::sweep_expired(&c.store, today, 500).await.unwrap();
        assert_eq!(swept, 2, "GONE and the demo's expired Benadryl batch");
        let after = c.gql.data(Some(&staff), BATCHES, json!({"id": listing})).await;
        assert_eq!(after["listing"]["quarantined"], 5, "held packs stay until their reservation ends");
        let gone = after["listing"]["batches"].as_array().unwrap().iter().find(|b| b["batchNumber"] == "GONE").unwrap().clone();
        assert_eq!(gone["quantity"], 2);
        assert_eq!(after["listing"]["stockMovements"]["edges"][0]["node"],
            json!({"kind": "EXPIRED_TO_QUARANTINE", "delta": -5, "reason": "expired"}));
        let benadryl = c.gql.data(Some(&staff), BATCHES, json!({"id": EXPIRED_ONLY_LISTING_ID})).await;
        assert_eq!(benadryl["listing"]["quarantined"], 12);
        let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = 'StockQuarantined'")
            .fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(events, 2);
        let (payload,): (String,) = sqlx::query_as(
            "SELECT CAST(payload AS TEXT) FROM outbox WHERE event_type = 'StockQuarantined' AND aggregate_id = $1")
            .bind(&listing).fetch_one(c.store.pool()).await.unwrap();
        let payload: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload, json!({"listingId": listing, "vendorId": VENDOR_KA_ID, "batchNumber": "GONE", "quantity": 5, "reason": "EXPIRED"}));
        assert_eq!(c.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'quarantined'").await, 2);
        let again = janta_catalog::service::quarantine::sweep_expired(&c.store, today, 500).await.unwrap();
        assert_eq!(again, 0, "nothing left to sweep");
        let reserve = c.gql.send(Some(&c.service()), RESERVE, json!({"o": order(), "l": line(&listing, 6)})).await;
        assert_eq!(error_code(&reserve).as_deref(), Some("OUT_OF_STOCK"), "only GOOD's 5 packs sell");
    }

    async fn the_sweeper_quarantines_by_itself(db) {
        let settings = CatalogSettings { expiry_sweep_interval: Duration::from_millis(200), ..quiet_settings() };
        let c = Catalog::start_with(&db, settings).await;
        assert!(janta_catalog::demo::seed(&c.store).await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.count("expired_quarantine").await == 0 {
            assert!(Instant::now() < deadline, "the sweeper never ran");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (on_hand,): (i64,) = sqlx::query_as("SELECT quantity FROM batches WHERE listing_id = $1")
            .bind(EXPIRED_ONLY_LISTING_ID).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(on_hand, 0, "the expired Benadryl batch left stock on hand");
    }

    async fn gst_slabs_keep_their_history(db) {
        let c = Catalog::seeded(&db).await;
        let admin = c.admin();
        let upsert = "mutation($input: TaxSlabInput!) { upsertTaxSlab(input: $input) { id rate effectiveFrom } }";
        let rate_on = "query($h: String!, $d: Date!) { gstRateOn(hsnCode: $h, date: $d) { hsnCode rate effectiveFrom } }";
        let on = |d: &str| json!({"h": "30049099", "d": d});
        assert_eq!(c.gql.data(None, rate_on, on("2025-09-21")).await["gstRateOn"],
            json!({"hsnCode": "3004", "rate": "12", "effectiveFrom": "2017-07-01"}));
        assert_eq!(c.gql.data(None, rate_on, on("2025-09-22")).await["gstRateOn"]["rate"], "5");
        assert!(c.gql.data(None, rate_on, json!({"h": "9403", "d": "2026-01-01"})).await["gstRateOn"].is_null());

        let again = c.gql.send(Some(&admin), upsert, json!({"input": {"hsnCode": "3004", "rate": "18",
            "effectiveFrom": "2025-09-22", "description": "rewrite"}})).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"), "a slab is never rewritten");
        let correction = c.gql.data(Some(&admin), upsert, json!({"input": {"hsnCode": "3004", "rate": "0",
            "effectiveFrom": "2026-04-01", "description": "correction from April"}})).await;
        assert_eq!(correction["upsertTaxSlab"]["rate"], "0");
        assert_eq!(c.gql.data(None, rate_on, on("2026-03-31")).await["gstRateOn"]["rate"], "5", "the past does not move");
        assert_eq!(c.gql.data(None, rate_on, on("2026-04-01")).await["gstRateOn"]["rate"], "0");
        let history = c.gql.data(None, "{ taxSlabs(hsnCode: \"3004\") { rate effectiveFrom } }", json!({})).await;
        assert_eq!(history["taxSlabs"], json!([
            {"rate": "12", "effectiveFrom": "2017-07-01"}, {"rate": "5", "effectiveFrom": "2025-09-22"},
            {"rate": "0", "effectiveFrom": "2026-04-01"}, {"rate": "5", "effectiveFrom": "2017-07-01"}]),
            "by code (3004, then insulin's 300431), then date");

        let update = sqlx::query("UPDATE tax_slabs SET rate_bp = 1800").execute(c.store.pool()).await;
        assert!(update.is_err(), "the database refuses to change a slab");
        let delete = sqlx::query("DELETE FROM tax_slabs").execute(c.store.pool()).await;
        assert!(delete.is_err(), "the database refuses to remove a slab");
        assert_eq!(c.count("tax_slabs").await, 14);
    }

    async fn staff_see_their_expiring_batches(db) {
        let c = Catalog::seeded(&db).await;
        let query = "query($d: Int!, $v: ID) { expiringBatches(withinDays: $d, vendorId: $v) { listingId vendorId batchNumber quantity daysLeft mrp { amount } } }";
        let ka = c.gql.data(Some(&c.staff_ka()), query, json!({"d": 30})).await;
        let rows = ka["expiringBatches"].as_array().unwrap();
        let numbers: Vec<&str> = rows.iter().map(|r| r["batchNumber"].as_str().unwrap()).collect();
        assert_eq!(numbers, ["KA005A", "KA007A"], "the expired Benadryl batch, then Crocin's in 20 days");
        assert_eq!(rows[1], json!({"listingId": listing_id(7, true), "vendorId": VENDOR_KA_ID, "batchNumber": "KA007A",
            "quantity": 69, "daysLeft": 20, "mrp": {"amount": "20.00"}}));
        let mh = c.gql.data(Some(&c.staff_mh()), query, json!({"d": 30})).await;
        assert_eq!(mh["expiringBatches"], json!([]));
        let other = c.gql.send(Some(&c.staff_mh()), query, json!({"d": 30, "v": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"));
        let customer = c.gql.send(Some(&c.customer()), query, json!({"d": 30})).await;
        assert_eq!(error_code(&customer).as_deref(), Some("FORBIDDEN"));
        let anonymous = c.gql.send(None, query, json!({"d": 30})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let admin = c.gql.data(Some(&c.admin()), query, json!({"d": 30, "v": VENDOR_MH_ID})).await;
        assert_eq!(admin["expiringBatches"], json!([]));
        let all = c.gql.data(Some(&c.admin()), query, json!({"d": 30})).await;
        assert_eq!(all["expiringBatches"].as_array().unwrap().len(), 2);
        let bad = c.gql.send(Some(&c.staff_ka()), query, json!({"d": -1})).await;
        assert_eq!(error_code(&bad).as_deref(), Some("BAD_USER_INPUT"));
    }
}
