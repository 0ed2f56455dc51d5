//! Stock reservations over HTTP with service tokens, on both backends: no
//! oversell under 50 concurrent requests, idempotency per order, first
//! expiry first out across batches, expired batches never allocated,
//! all-or-nothing lines, commit/release, and expiry that gives stock back.

mod support;

use janta_catalog::demo::*;
use janta_catalog::CatalogSettings;
use janta_testkit::{both_backends, error_code, Gql};
use serde_json::{json, Value};
use std::time::Duration;
use support::Catalog;

const RESERVE: &str = "mutation($o: ID!, $l: [ReservationLineInput!]!) { reserveStock(orderId: $o, lines: $l) { \
    orderId status expiresAt lines { listingId vendorId quantity unitPrice { amount currency } mrp { amount } lineTotal { amount } \
    medicine { medicineId version name schedule requiresPrescription hsnCode gstRate } batches { batchNumber expiresOn quantity } } } }";
const COMMIT: &str = "mutation($o: ID!) { commitReservation(orderId: $o) { orderId status } }";
const RELEASE: &str = "mutation($o: ID!) { releaseReservation(orderId: $o) { orderId status } }";
const STOCK: &str = "query($id: ID!) { listing(id: $id) { stock } }";

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn order() -> String {
    janta_platform::ids::new_id()
}

fn line(listing: &str, quantity: i64) -> Value {
    json!([{ "listingId": listing, "quantity": quantity }])
}

/// A fresh KA listing of demo medicine `n` with the given batches (number, days to expiry, packs).
async fn listing_with(c: &Catalog, n: u32, batches: &[(&str, i64, i64)]) -> String {
    let ka = c.staff_ka();
    let listing = c
        .gql
        .data(
            Some(&ka),
            "mutation($input: UpsertListingInput!) { upsertListing(input: $input) { id } }",
            json!({"input": {"medicineId": medicine_id(n), "price": "100", "mrp": "120"}}),
        )
        .await["upsertListing"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (number, days, quantity) in batches {
        c.gql
            .data(
                Some(&ka),
                "mutation($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id } }",
                json!({"input": {"listingId": listing, "batchNumber": number, "expiresOn": in_days(*days), "quantity": quantity}}),
            )
            .await;
    }
    listing
}

async fn stock(gql: &Gql, listing: &str) -> i64 {
    gql.data(None, STOCK, json!({ "id": listing })).await["listing"]["stock"]
        .as_i64()
        .unwrap()
}

async fn held(c: &Catalog, listing: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM batches WHERE listing_id = $1",
    )
    .bind(listing)
    .fetch_one(c.store.pool())
    .await
    .unwrap();
    n
}

both_backends! {
    async fn fifty_concurrent_reservations_never_oversell(db) {
        let c = Catalog::seeded(&db).await;
        let listing = listing_with(&c, 19, &[("R1", 90, 10)]).await; // Zifi: MH-only in the demo
        let service = c.service();
        let orders: Vec<String> = (0..50).map(|_| order()).collect();
        let requests = orders.iter().map(|o| {
            let (gql, token, vars) = (c.gql.clone(), service.clone(), json!({"o": o, "l": line(&listing, 1)}));
            async move { gql.send(Some(&token), RESERVE, vars).await }
        });
        let bodies = futures::future::join_all(requests).await;
        let ok = bodies.iter().filter(|b| b["data"]["reserveStock"]["status"] == "ACTIVE").count();
        let out = bodies.iter().filter(|b| error_code(b).as_deref() == Some("OUT_OF_STOCK")).count();
        assert_eq!((ok, out), (10, 40), "{:?}", bodies.iter().find(|b| b.get("errors").is_some() && error_code(b).as_deref() != Some("OUT_OF_STOCK")));
        assert_eq!(held(&c, &listing).await, 10);
        assert_eq!(stock(&c.gql, &listing).await, 0);
        assert_eq!(c.scalar("SELECT COUNT(*) FROM reservations").await, 10);

        let winner = orders.iter().zip(&bodies).find(|(_, b)| b["data"]["reserveStock"]["status"] == "ACTIVE").unwrap();
        let retried = c.gql.data(Some(&service), RESERVE, json!({"o": winner.0, "l": line(&listing, 1)})).await;
        assert_eq!(retried["reserveStock"], winner.1["data"]["reserveStock"], "a retry returns the same reservation");
        let changed = c.gql.send(Some(&service), RESERVE, json!({"o": winner.0, "l": line(&listing, 2)})).await;
        assert_eq!(error_code(&changed).as_deref(), Some("CONFLICT"));
        assert_eq!(held(&c, &listing).await, 10, "retries reserve nothing more");
        assert_eq!(c.scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'StockLow'").await, 1);
    }

    async fn the_same_order_retried_concurrently_reserves_once(db) {
        let c = Catalog::seeded(&db).await;
        let listing = listing_with(&c, 26, &[("S1", 90, 10)]).await;
        let service = c.service();
        let o = order();
        let requests = (0..8).map(|_| {
            let (gql, token, vars) = (c.gql.clone(), service.clone(), json!({"o": o, "l": line(&listing, 3)}));
            async move { gql.send(Some(&token), RESERVE, vars).await }
        });
        let bodies = futures::future::join_all(requests).await;
        for body in &bodies {
            assert_eq!(body["data"]["reserveStock"]["orderId"], o.as_str(), "{body}");
        }
        assert_eq!(held(&c, &listing).await, 3);
        assert_eq!(c.scalar("SELECT COUNT(*) FROM reservation_items").await, 1);
    }

    async fn allocation_is_first_expiry_first_out_and_skips_expired_batches(db) {
        let c = Catalog::seeded(&db).await;
        let listing = listing_with(&c, 29, &[("LATE", 300, 5), ("SOON", 100, 3)]).await;
        sqlx::query("INSERT INTO batches (id, listing_id, batch_number, expires_on, quantity, reserved, received_at, mrp_paise) \
                     VALUES ($1, $2, 'OLD', '2024-01-31', 50, 0, '2024-01-01T00:00:00.000000Z', 12000)")
            .bind(janta_platform::ids::new_id()).bind(&listing).execute(c.store.pool()).await.unwrap();
        assert_eq!(stock(&c.gql, &listing).await, 8, "the expired batch is not stock");
        let service = c.service();
        let first = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 4)})).await;
        let line0 = &first["reserveStock"]["lines"][0];
        assert_eq!(line0["batches"], json!([
            {"batchNumber": "SOON", "expiresOn": in_days(100), "quantity": 3},
            {"batchNumber": "LATE", "expiresOn": in_days(300), "quantity": 1}]));
        assert_eq!(line0["unitPrice"], json!({"amount": "100.00", "currency": "INR"}));
        assert_eq!(line0["lineTotal"]["amount"], "400.00");
        assert_eq!(line0["vendorId"], janta_platform::demo::VENDOR_KA_ID);
        assert_eq!(line0["medicine"], json!({"medicineId": medicine_id(29), "version": 1, "name": "Huminsulin R 40 IU/ml injection",
            "schedule": "H", "requiresPrescription": true, "hsnCode": "30043110", "gstRate": "5"}));
        let short = c.gql.send(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 5)})).await;
        assert_eq!(error_code(&short).as_deref(), Some("OUT_OF_STOCK"));
        assert_eq!(short["errors"][0]["extensions"]["details"]["lines"][0]["available"], 4);
        let rest = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 4)})).await;
        assert_eq!(rest["reserveStock"]["lines"][0]["batches"], json!([{"batchNumber": "LATE", "expiresOn": in_days(300), "quantity": 4}]));
        let (old,): (i64,) = sqlx::query_as("SELECT reserved FROM batches WHERE batch_number = 'OLD' AND listing_id = $1")
            .bind(&listing).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(old, 0, "an expired batch is never allocated");
    }

    async fn all_lines_or_none(db) {
        let c = Catalog::seeded(&db).await;
        let service = c.service();
        let before = (held(&c, PARACETAMOL_500_KA_LISTING_ID).await, c.scalar("SELECT COUNT(*) FROM reservations").await);
        let body = c.gql.send(Some(&service), RESERVE, json!({"o": order(), "l": [
            {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 5},
            {"listingId": AMOXICILLIN_500_KA_LISTING_ID, "quantity": 101},
            {"listingId": SINGLE_UNIT_LISTING_ID, "quantity": 1}]})).await;
        assert_eq!(error_code(&body).as_deref(), Some("OUT_OF_STOCK"));
        assert_eq!(body["errors"][0]["extensions"]["details"]["lines"],
            json!([{"listingId": AMOXICILLIN_500_KA_LISTING_ID, "requested": 101, "available": 100}]));
        assert_eq!((held(&c, PARACETAMOL_500_KA_LISTING_ID).await, c.scalar("SELECT COUNT(*) FROM reservations").await), before);
        let ok = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": [
            {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 5},
            {"listingId": SINGLE_UNIT_LISTING_ID, "quantity": 1}]})).await;
        assert_eq!(ok["reserveStock"]["lines"].as_array().unwrap().len(), 2);
        assert_eq!(stock(&c.gql, SINGLE_UNIT_LISTING_ID).await, 0);
        assert_eq!(stock(&c.gql, PARACETAMOL_500_KA_LISTING_ID).await, 195);
    }

    async fn commit_and_release_are_idempotent(db) {
        let c = Catalog::seeded(&db).await;
        let listing = listing_with(&c, 19, &[("C1", 60, 12)]).await;
        let service = c.service();
        let o = order();
        c.gql.data(Some(&service), RESERVE, json!({"o": o, "l": line(&listing, 4)})).await;
        assert_eq!(c.scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'StockLow'").await, 1, "12 -> 8");
        for _ in 0..2 {
            let committed = c.gql.data(Some(&service), COMMIT, json!({"o": o})).await;
            assert_eq!(committed["commitReservation"]["status"], "COMMITTED");
        }
        assert_eq!(stock(&c.gql, &listing).await, 8);
        assert_eq!(held(&c, &listing).await, 0);
        assert_eq!(c.scalar("SELECT COUNT(*) FROM stock_movements WHERE kind = 'SOLD'").await, 1);
        assert_eq!(c.scalar("SELECT CAST(SUM(quantity) AS BIGINT) FROM batches WHERE batch_number = 'C1'").await, 8);
        for _ in 0..2 {
            let released = c.gql.data(Some(&service), RELEASE, json!({"o": o})).await;
            assert_eq!(released["releaseReservation"]["status"], "RELEASED");
        }
        assert_eq!(stock(&c.gql, &listing).await, 12, "a cancelled paid order returns its packs");
        assert_eq!(c.scalar("SELECT COUNT(*) FROM stock_movements WHERE kind = 'RETURNED'").await, 1);
        let again = c.gql.send(Some(&service), COMMIT, json!({"o": o})).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"));

        let o2 = order();
        c.gql.data(Some(&service), RESERVE, json!({"o": o2, "l": line(&listing, 2)})).await;
        let released = c.gql.data(Some(&service), RELEASE, json!({"o": o2})).await;
        assert_eq!(released["releaseReservation"]["status"], "RELEASED");
        assert_eq!(stock(&c.gql, &listing).await, 12);
        let read = c.gql.data(Some(&service), "query($o: ID!) { reservation(orderId: $o) { status lines { quantity } } }", json!({"o": o2})).await;
        assert_eq!(read["reservation"], json!({"status": "RELEASED", "lines": [{"quantity": 2}]}));
        assert_eq!(c.scalar("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'reservation'").await, 5);
    }

    async fn expired_reservations_give_stock_back(db) {
        let c = Catalog::seeded(&db).await;
        let listing = listing_with(&c, 26, &[("E1", 60, 10)]).await;
        let service = c.service();
        let o = order();
        c.gql.data(Some(&service), RESERVE, json!({"o": o, "l": line(&listing, 3)})).await;
        assert_eq!(stock(&c.gql, &listing).await, 7);
        let now = chrono::Utc::now();
        assert!(janta_catalog::service::reservations::expire_due(&c.store, now, 100).await.unwrap().is_empty(), "not due yet");
        let expired = janta_catalog::service::reservations::expire_due(&c.store, now + chrono::Duration::minutes(16), 100).await.unwrap();
        assert_eq!(expired, vec![o.clone()]);
        assert_eq!(stock(&c.gql, &listing).await, 10);
        assert_eq!(held(&c, &listing).await, 0);
        let late = c.gql.send(Some(&service), COMMIT, json!({"o": o})).await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"));
        let released = c.gql.data(Some(&service), RELEASE, json!({"o": o})).await;
        assert_eq!(released["releaseReservation"]["status"], "EXPIRED", "releasing an expired reservation is a no-op");
        assert_eq!(stock(&c.gql, &listing).await, 10);
    }

    async fn short_ttl_reservations_release_themselves(db) {
        let c = Catalog::start_with(&db, CatalogSettings {
            reservation_ttl: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(3600),
            ..CatalogSettings::default()
        }).await;
        janta_catalog::demo::seed(&c.store).await.unwrap();
        let listing = listing_with(&c, 19, &[("T1", 60, 5)]).await;
        let service = c.service();
        let first = order();
        c.gql.data(Some(&service), RESERVE, json!({"o": first, "l": line(&listing, 5)})).await;
        assert_eq!(stock(&c.gql, &listing).await, 0);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(stock(&c.gql, &listing).await, 5, "reads count an overdue hold as free");
        let late = c.gql.send(Some(&service), COMMIT, json!({"o": first})).await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "{late}");
        let second = c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(&listing, 5)})).await;
        assert_eq!(second["reserveStock"]["status"], "ACTIVE");
        assert_eq!(held(&c, &listing).await, 5);
        let status: (String,) = sqlx::query_as("SELECT status FROM reservations WHERE order_id = $1")
            .bind(&first).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(status.0, "EXPIRED");
    }

    async fn the_sweeper_runs_by_itself(db) {
        let c = Catalog::start_with(&db, CatalogSettings {
            reservation_ttl: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(1),
            ..CatalogSettings::default()
        }).await;
        janta_catalog::demo::seed(&c.store).await.unwrap();
        let service = c.service();
        c.gql.data(Some(&service), RESERVE, json!({"o": order(), "l": line(PARACETAMOL_500_MH_LISTING_ID, 7)})).await;
        assert_eq!(held(&c, PARACETAMOL_500_MH_LISTING_ID).await, 7);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while held(&c, PARACETAMOL_500_MH_LISTING_ID).await != 0 {
            assert!(std::time::Instant::now() < deadline, "the sweeper did not release the hold");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(c.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'").await, 1);
    }

    async fn price_listings_for_checkout(db) {
        let c = Catalog::seeded(&db).await;
        let query = "query($ids: [ID!]!) { priceListings(ids: $ids) { listingId vendorId price { amount } mrp { amount } stock available medicine { medicineId version name schedule gstRate } } }";
        let ids = json!({"ids": [CEFIXIME_200_KA_LISTING_ID, EXPIRED_ONLY_LISTING_ID, "019a0000-0000-7000-8fff-000000000000"]});
        let refused = c.gql.send(Some(&c.customer()), query, ids.clone()).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
        let quotes = c.gql.data(Some(&c.service()), query, ids).await["priceListings"].clone();
        assert_eq!(quotes.as_array().unwrap().len(), 2, "unknown IDs are left out");
        assert_eq!(quotes[0]["medicine"], json!({"medicineId": CEFIXIME_200_ID, "version": 1, "name": "Cefixime 200 mg tablet", "schedule": "H1", "gstRate": "5"}));
        assert_eq!(quotes[0]["stock"], 60);
        assert_eq!(quotes[1]["available"], false);
    }
}
