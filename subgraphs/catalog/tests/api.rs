//! The catalog subgraph over HTTP, directly (not through the router), on
//! both SQLite and PostgreSQL: the contract's catalog reads and vendor
//! mutations on demo data, medicine versioning and tax slabs, and every
//! refusal a client meets, each with nothing written.

mod support;

use janta_catalog::demo::*;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::{snapshot, Catalog};

/// The contract's `MedicineDetail`, minus `vendor { name state }` (users
/// resolves those through the router).
const DETAIL: &str = "query($id: ID!) { medicine(id: $id) { id version name genericName manufacturer schedule \
    requiresPrescription hsnCode gstRate category { id name } alternatives { id name genericName } \
    listings(first: 20) { id price { amount currency } mrp { amount currency } stock vendor { id } } } }";
/// The contract's `UpsertListing`.
const UPSERT: &str =
    "mutation UpsertListing($input: UpsertListingInput!) { upsertListing(input: $input) { id price { amount } mrp { amount } stock } }";
/// The contract's `ReceiveBatch`.
const RECEIVE: &str =
    "mutation ReceiveBatch($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id stock } }";
const ADJUST: &str =
    "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { id stock } }";
const RESERVE: &str = "mutation($o: ID!, $l: [ReservationLineInput!]!) { reserveStock(orderId: $o, lines: $l) { orderId status } }";
const CREATE_MEDICINE: &str =
    "mutation($input: MedicineInput!) { createMedicine(input: $input) { id version name gstRate } }";

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn detail(c: &Catalog, id: &str) -> Value {
    c.gql.data(None, DETAIL, json!({ "id": id })).await["medicine"].clone()
}

both_backends! {
    async fn contract_reads_on_demo_data(db) {
        let c = Catalog::seeded(&db).await;
        let p = detail(&c, PARACETAMOL_500_ID).await;
        assert_eq!(p["name"], "Paracetamol 500 mg tablet");
        assert_eq!(p["version"], 1);
        assert_eq!(p["schedule"], "OTC");
        assert_eq!(p["requiresPrescription"], false);
        assert_eq!(p["hsnCode"], "30049099");
        assert_eq!(p["gstRate"], "5");
        assert_eq!(p["category"]["name"], "Pain & Fever");
        let alternatives: Vec<&str> = p["alternatives"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(alternatives, ["Crocin Advance 500 mg tablet", "Dolo 650 tablet"]);
        let listings = p["listings"].as_array().unwrap();
        assert_eq!(listings.len(), 2);
        assert_eq!(listings[0]["id"], PARACETAMOL_500_KA_LISTING_ID, "cheapest first");
        assert_eq!(listings[0]["price"], json!({"amount": "18.00", "currency": "INR"}));
        assert_eq!(listings[0]["mrp"]["amount"], "20.00");
        assert_eq!(listings[0]["stock"], 200);
        assert_eq!(listings[0]["vendor"]["id"], janta_platform::demo::VENDOR_KA_ID);
        assert_eq!(listings[1]["stock"], 150);

        let amox = detail(&c, AMOXICILLIN_500_ID).await;
        assert_eq!((amox["schedule"].as_str(), amox["requiresPrescription"].as_bool()), (Some("H"), Some(true)));
        assert_eq!(amox["listings"].as_array().unwrap().len(), 2);
        let cef = detail(&c, CEFIXIME_200_ID).await;
        assert_eq!((cef["schedule"].as_str(), cef["requiresPrescription"].as_bool()), (Some("H1"), Some(true)));
        assert_eq!(cef["listings"].as_array().unwrap().len(), 1, "KA vendor only");
        assert_eq!(detail(&c, ADDWIZE_10_ID).await["schedule"], "X");

        let benadryl = detail(&c, BENADRYL_ID).await;
        let listings = benadryl["listings"].as_array().unwrap();
        assert!(listings[0]["stock"].as_i64().unwrap() > 0, "in stock first, though dearer: {listings:?}");
        assert_eq!(listings[1]["id"], EXPIRED_ONLY_LISTING_ID);
        assert_eq!(listings[1]["stock"], 0, "an expired batch is not stock");
        let single = c.gql.data(None, "query($id: ID!) { listing(id: $id) { stock inStock medicine { name } } }",
            json!({"id": SINGLE_UNIT_LISTING_ID})).await;
        assert_eq!(single["listing"], json!({"stock": 1, "inStock": true, "medicine": {"name": "Allegra 120 mg tablet"}}));

        let rates = c.gql.data(None, "{ medicines(first: 100) { totalCount edges { node { name gstRate } } } }", json!({})).await;
        assert_eq!(rates["medicines"]["totalCount"], 77, "Schedule X is not sold online: only admins find it");
        let all = c.gql.data(Some(&c.admin()), "{ medicines(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(all["medicines"]["totalCount"], 78);
        let rate_of = |name: &str| rates["medicines"]["edges"].as_array().unwrap().iter()
            .find(|e| e["node"]["name"] == name).map(|e| e["node"]["gstRate"].clone()).unwrap();
        assert_eq!(rate_of("Manforce condoms"), "0", "nil-rated");
        assert_eq!(rate_of("Dettol antiseptic liquid"), "18");
        assert_eq!(rate_of("Huminsulin R 40 IU/ml injection"), "5");
        assert_eq!(rate_of("Band-Aid washproof strips"), "5");
        let categories = c.gql.data(None, "{ categories { id name } }", json!({})).await;
        assert!(categories["categories"].as_array().unwrap().len() >= 8);
        assert!(!janta_catalog::demo::seed(&c.store).await.unwrap(), "seeding twice does nothing");
    }

    async fn vendor_staff_list_receive_and_adjust(db) {
        let c = Catalog::seeded(&db).await;
        let ka = c.staff_ka();
        let zifi = medicine_id(19); // listed by the MH vendor only
        let created = c.gql.data(Some(&ka), UPSERT,
            json!({"input": {"medicineId": zifi, "price": "110", "mrp": "120.00"}})).await["upsertListing"].clone();
        assert_eq!(created["price"]["amount"], "110.00");
        assert_eq!(created["stock"], 0);
        let listing = created["id"].as_str().unwrap().to_string();
        let received = c.gql.data(Some(&ka), RECEIVE, json!({"input": {
            "listingId": listing, "batchNumber": "zf-2401", "expiresOn": in_days(200), "quantity": 12}})).await;
        assert_eq!(received["receiveBatch"], json!({"id": listing, "stock": 12}));
        let again = c.gql.data(Some(&ka), RECEIVE, json!({"input": {
            "listingId": listing, "batchNumber": "ZF-2401", "expiresOn": in_days(200), "quantity": 3}})).await;
        assert_eq!(again["receiveBatch"]["stock"], 15, "same batch and expiry adds up");
        let clash = c.gql.send(Some(&ka), RECEIVE, json!({"input": {
            "listingId": listing, "batchNumber": "ZF-2401", "expiresOn": in_days(300), "quantity": 3}})).await;
        assert_eq!(error_code(&clash).as_deref(), Some("CONFLICT"));

        let repriced = c.gql.data(Some(&ka), UPSERT,
            json!({"input": {"medicineId": zifi, "price": "105.50", "mrp": "120"}})).await;
        assert_eq!(repriced["upsertListing"]["id"], listing.as_str(), "one listing per vendor and medicine");
        assert_eq!(repriced["upsertListing"]["stock"], 15);
        assert_eq!(c.scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'ListingPriceChanged'").await, 2, "listed, repriced");

        let adjusted = c.gql.data(Some(&ka), ADJUST, json!({"input": {
            "listingId": listing, "delta": -6, "reason": "damaged in transit"}})).await;
        assert_eq!(adjusted["adjustStock"]["stock"], 9);
        assert_eq!(c.scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'StockLow'").await, 1, "15 -> 9 crosses 10");
        let too_many = c.gql.send(Some(&ka), ADJUST, json!({"input": {
            "listingId": listing, "delta": -10, "reason": "count correction"}})).await;
        assert_eq!(error_code(&too_many).as_deref(), Some("CONFLICT"));
        let no_batch = c.gql.send(Some(&ka), ADJUST, json!({"input": {
            "listingId": listing, "delta": 2, "reason": "found in store room"}})).await;
        assert_eq!(error_code(&no_batch).as_deref(), Some("BAD_USER_INPUT"));

        let ledger = c.gql.data(Some(&ka), "query($id: ID!) { listing(id: $id) { batches { batchNumber quantity available } \
            stockMovements(first: 10) { totalCount edges { node { delta kind reason } } } } }", json!({"id": listing})).await;
        assert_eq!(ledger["listing"]["batches"], json!([{"batchNumber": "ZF-2401", "quantity": 9, "available": 9}]));
        assert_eq!(ledger["listing"]["stockMovements"]["totalCount"], 3);
        assert_eq!(ledger["listing"]["stockMovements"]["edges"][0]["node"],
            json!({"delta": -6, "kind": "ADJUSTED", "reason": "damaged in transit"}));
        let hidden = c.gql.send(Some(&c.staff_mh()), "query($id: ID!) { listing(id: $id) { batches { quantity } } }",
            json!({"id": listing})).await;
        assert_eq!(error_code(&hidden).as_deref(), Some("FORBIDDEN"));
        let audits = c.scalar("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'listing'").await;
        assert_eq!(audits, 5, "created, 2 receipts, repriced, adjusted");
        let movements_immutable = sqlx::query("DELETE FROM stock_movements").execute(c.store.pool()).await;
        assert!(movements_immutable.is_err(), "the ledger is append-only");

        let vendor = c.gql.data(None, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Vendor { id listings(first: 100) { totalCount edges { node { id } } } } } }",
            json!({"r": [{"__typename": "Vendor", "id": janta_platform::demo::VENDOR_KA_ID}]})).await;
        let listings = &vendor["_entities"][0]["listings"];
        assert_eq!(listings["totalCount"], 75, "74 demo listings and the new one");
        assert!(listings["edges"].as_array().unwrap().len() == 75);
    }

    async fn medicines_are_versioned(db) {
        let c = Catalog::seeded(&db).await;
        let admin = c.admin();
        let created = c.gql.data(Some(&admin), CREATE_MEDICINE, json!({"input": {
            "name": "Pacimol 650 tablet", "genericName": "Paracetamol", "manufacturer": "Ipca Laboratories Ltd",
            "strength": "650 mg", "form": "TABLET", "packSize": "strip of 15 tablets", "schedule": "OTC",
            "hsnCode": "3004 90 99", "categoryId": CATEGORY_PAIN_FEVER_ID}})).await["createMedicine"].clone();
        assert_eq!(created["version"], 1);
        assert_eq!(created["gstRate"], "5");
        let id = created["id"].as_str().unwrap().to_string();
        let update = "mutation($id: ID!, $input: UpdateMedicineInput!, $v: Int) { updateMedicine(id: $id, input: $input, expectedVersion: $v) { id version name schedule requiresPrescription versions { version name previousVersion } } }";
        let v2 = c.gql.data(Some(&admin), update, json!({"id": id, "v": 1, "input": {"name": "Pacimol 650 mg tablet", "schedule": "H"}})).await["updateMedicine"].clone();
        assert_eq!((v2["id"].as_str(), v2["version"].as_i64()), (Some(id.as_str()), Some(2)), "the ID is stable across versions");
        assert_eq!(v2["requiresPrescription"], true);
        assert_eq!(v2["versions"], json!([
            {"version": 2, "name": "Pacimol 650 mg tablet", "previousVersion": 1},
            {"version": 1, "name": "Pacimol 650 tablet", "previousVersion": null}]));
        let same = c.gql.data(Some(&admin), update, json!({"id": id, "input": {"name": "Pacimol 650 mg tablet"}})).await;
        assert_eq!(same["updateMedicine"]["version"], 2, "no change, no version");
        let stale = c.gql.send(Some(&admin), update, json!({"id": id, "v": 1, "input": {"name": "Pacimol"}})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"));
        let old = c.gql.data(None, "query($id: ID!) { medicineVersion(id: $id, version: 1) { version name schedule } }", json!({"id": id})).await;
        assert_eq!(old["medicineVersion"], json!({"version": 1, "name": "Pacimol 650 tablet", "schedule": "OTC"}));
        let found = c.gql.data(None, "{ medicines(search: \"pacimol\") { totalCount edges { node { name version } } } }", json!({})).await;
        assert_eq!(found["medicines"]["edges"][0]["node"], json!({"name": "Pacimol 650 mg tablet", "version": 2}));

        let alternatives = c.gql.data(Some(&admin), "mutation($m: ID!, $a: [ID!]!) { setAlternatives(medicineId: $m, alternativeIds: $a) { alternatives { id } } }",
            json!({"m": id, "a": [medicine_id(6), PARACETAMOL_500_ID]})).await;
        assert_eq!(alternatives["setAlternatives"]["alternatives"], json!([{"id": medicine_id(6)}, {"id": PARACETAMOL_500_ID}]));

        let slab = c.gql.data(Some(&admin), "mutation($input: TaxSlabInput!) { upsertTaxSlab(input: $input) { hsnCode rate rateBasisPoints effectiveFrom } }",
            json!({"input": {"hsnCode": "30049099", "rate": "12", "effectiveFrom": "2020-01-01", "description": "test override"}})).await;
        assert_eq!(slab["upsertTaxSlab"], json!({"hsnCode": "30049099", "rate": "12", "rateBasisPoints": 1200, "effectiveFrom": "2020-01-01"}));
        assert_eq!(detail(&c, &id).await["gstRate"], "12", "the longest HSN prefix wins");
        let future = c.gql.data(Some(&admin), "mutation($input: TaxSlabInput!) { upsertTaxSlab(input: $input) { rate } }",
            json!({"input": {"hsnCode": "30049099", "rate": "0", "effectiveFrom": in_days(30), "description": "not yet"}})).await;
        assert_eq!(future["upsertTaxSlab"]["rate"], "0");
        assert_eq!(detail(&c, &id).await["gstRate"], "12", "a slab applies from its date on");
        assert_eq!(c.scalar("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'medicine'").await, 3);
        assert!(sqlx::query("UPDATE medicine_versions SET name = 'x'").execute(c.store.pool()).await.is_err(),
            "versions are immutable");
    }

    async fn refusals_write_nothing(db) {
        let c = Catalog::seeded(&db).await;
        let (ka, mh, customer, service) = (c.staff_ka(), c.staff_mh(), c.customer(), c.service());
        let unknown = "019a0000-0000-7000-8fff-000000000000";
        let receive = |listing: &str, number: &str, expires: String, quantity: i64| json!({"input": {
            "listingId": listing, "batchNumber": number, "expiresOn": expires, "quantity": quantity}});
        let upsert = |medicine: &str, price: &str, mrp: &str| json!({"input": {"medicineId": medicine, "price": price, "mrp": mrp}});
        let medicine_input = json!({"input": {"name": "X tablet", "genericName": "X", "manufacturer": "X Ltd", "strength": "1 mg",
            "form": "TABLET", "packSize": "strip of 10", "schedule": "OTC", "hsnCode": "3004", "categoryId": CATEGORY_PAIN_FEVER_ID}});
        let before = snapshot(&c.store).await;
        let cases: Vec<(&str, Option<&str>, &str, Value, &str)> = vec![
            ("price above MRP", Some(&ka), UPSERT, upsert(BENADRYL_ID, "150.00", "145.00"), "BAD_USER_INPUT"),
            ("price not a decimal", Some(&ka), UPSERT, upsert(BENADRYL_ID, "1e3", "145.00"), "BAD_USER_INPUT"),
            ("zero price", Some(&ka), UPSERT, upsert(BENADRYL_ID, "0", "145.00"), "BAD_USER_INPUT"),
            ("unknown medicine", Some(&ka), UPSERT, upsert(unknown, "1", "2"), "NOT_FOUND"),
            ("malformed medicine ID", Some(&ka), UPSERT, upsert("paracetamol", "1", "2"), "BAD_USER_INPUT"),
            ("customer lists", Some(&customer), UPSERT, upsert(BENADRYL_ID, "1", "2"), "FORBIDDEN"),
            ("anonymous lists", None, UPSERT, upsert(BENADRYL_ID, "1", "2"), "UNAUTHENTICATED"),
            ("zero quantity", Some(&ka), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(100), 0), "BAD_USER_INPUT"),
            ("negative quantity", Some(&ka), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(100), -5), "BAD_USER_INPUT"),
            ("expiry in the past", Some(&ka), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(-3), 5), "BAD_USER_INPUT"),
            ("expiry today", Some(&ka), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(0), 5), "BAD_USER_INPUT"),
            ("bad batch number", Some(&ka), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B 1", in_days(100), 5), "BAD_USER_INPUT"),
            ("unknown listing", Some(&ka), RECEIVE, receive(unknown, "B1", in_days(100), 5), "NOT_FOUND"),
            ("malformed listing ID", Some(&ka), RECEIVE, receive("42", "B1", in_days(100), 5), "BAD_USER_INPUT"),
            ("other vendor's listing", Some(&mh), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(100), 5), "FORBIDDEN"),
            ("customer receives", Some(&customer), RECEIVE, receive(PARACETAMOL_500_KA_LISTING_ID, "B1", in_days(100), 5), "FORBIDDEN"),
            ("other vendor adjusts", Some(&mh), ADJUST, json!({"input": {"listingId": PARACETAMOL_500_KA_LISTING_ID, "delta": -1, "reason": "theft"}}), "FORBIDDEN"),
            ("zero adjustment", Some(&ka), ADJUST, json!({"input": {"listingId": PARACETAMOL_500_KA_LISTING_ID, "delta": 0, "reason": "nothing"}}), "BAD_USER_INPUT"),
            ("unknown batch", Some(&ka), ADJUST, json!({"input": {"listingId": PARACETAMOL_500_KA_LISTING_ID, "batchId": unknown, "delta": -1, "reason": "lost"}}), "NOT_FOUND"),
            ("customer adjusts", Some(&customer), ADJUST, json!({"input": {"listingId": PARACETAMOL_500_KA_LISTING_ID, "delta": -1, "reason": "lost"}}), "FORBIDDEN"),
            ("customer creates a medicine", Some(&customer), CREATE_MEDICINE, medicine_input.clone(), "FORBIDDEN"),
            ("vendor creates a medicine", Some(&ka), CREATE_MEDICINE, medicine_input, "FORBIDDEN"),
            ("customer sets a tax slab", Some(&customer), "mutation { upsertTaxSlab(input: {hsnCode: \"3004\", rate: \"0\", effectiveFrom: \"2020-01-01\", description: \"free\"}) { id } }", json!({}), "FORBIDDEN"),
            ("anonymous reserves", None, RESERVE, json!({"o": unknown, "l": [{"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}]}), "UNAUTHENTICATED"),
            ("customer reserves", Some(&customer), RESERVE, json!({"o": unknown, "l": [{"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}]}), "FORBIDDEN"),
            ("vendor reserves", Some(&ka), RESERVE, json!({"o": unknown, "l": [{"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}]}), "FORBIDDEN"),
            ("customer commits", Some(&customer), "mutation($o: ID!) { commitReservation(orderId: $o) { status } }", json!({"o": unknown}), "FORBIDDEN"),
            ("customer releases", Some(&customer), "mutation($o: ID!) { releaseReservation(orderId: $o) { status } }", json!({"o": unknown}), "FORBIDDEN"),
            ("zero units reserved", Some(&service), RESERVE, json!({"o": unknown, "l": [{"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 0}]}), "BAD_USER_INPUT"),
            ("no lines", Some(&service), RESERVE, json!({"o": unknown, "l": []}), "BAD_USER_INPUT"),
            ("a listing twice", Some(&service), RESERVE, json!({"o": unknown, "l": [
                {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}, {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 2}]}), "BAD_USER_INPUT"),
            ("malformed order ID", Some(&service), RESERVE, json!({"o": "order-1", "l": [{"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}]}), "BAD_USER_INPUT"),
            ("unknown listing reserved", Some(&service), RESERVE, json!({"o": unknown, "l": [{"listingId": unknown, "quantity": 1}]}), "NOT_FOUND"),
            ("only an expired batch", Some(&service), RESERVE, json!({"o": unknown, "l": [{"listingId": EXPIRED_ONLY_LISTING_ID, "quantity": 1}]}), "OUT_OF_STOCK"),
            ("more than the single unit", Some(&service), RESERVE, json!({"o": unknown, "l": [
                {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}, {"listingId": SINGLE_UNIT_LISTING_ID, "quantity": 2}]}), "OUT_OF_STOCK"),
            ("commit without reservation", Some(&service), "mutation($o: ID!) { commitReservation(orderId: $o) { status } }", json!({"o": unknown}), "NOT_FOUND"),
            ("release without reservation", Some(&service), "mutation($o: ID!) { releaseReservation(orderId: $o) { status } }", json!({"o": unknown}), "NOT_FOUND"),
            ("unknown medicine read", None, "query($id: ID!) { medicine(id: $id) { id } }", json!({"id": unknown}), "NOT_FOUND"),
            ("malformed medicine read", None, "query($id: ID!) { medicine(id: $id) { id } }", json!({"id": "1 OR 1=1"}), "BAD_USER_INPUT"),
            ("unknown listing read", None, "query($id: ID!) { listing(id: $id) { id } }", json!({"id": unknown}), "NOT_FOUND"),
            ("forged cursor", None, "{ medicines(after: \"bm90IG1pbmU\") { totalCount } }", json!({}), "BAD_USER_INPUT"),
            ("page too large", None, "{ medicines(first: 1000) { totalCount } }", json!({}), "BAD_USER_INPUT"),
        ];
        for (what, token, query, vars, code) in cases {
            let body = c.gql.send(token, query, vars).await;
            assert_eq!(error_code(&body).as_deref(), Some(code), "{what}: {body}");
            assert!(!body.to_string().to_lowercase().contains("sql"), "{what} leaks internals: {body}");
        }
        let body = c.gql.send(Some(&service), RESERVE, json!({"o": unknown, "l": [
            {"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}, {"listingId": SINGLE_UNIT_LISTING_ID, "quantity": 2}]})).await;
        assert_eq!(body["errors"][0]["extensions"]["details"]["lines"],
            json!([{"listingId": SINGLE_UNIT_LISTING_ID, "requested": 2, "available": 1}]), "names the short line only");
        assert_eq!(snapshot(&c.store).await, before, "nothing was written");
    }
}
