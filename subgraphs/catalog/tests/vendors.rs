//! Only vendors that users verified and did not suspend sell, on both
//! backends, with users' events delivered through the real in-process bus
//! to catalog's consumer: an unverified pharmacy's cheaper offer is hidden
//! from customers and anonymous callers (search, medicine detail, listing
//! lookup, vendor page) but not from its own staff and admins, appears once
//! `VendorVerified` arrives, leaves on `VendorSuspended`, returns on
//! `VendorReinstated`; events applied in the order they happened, not the
//! order they arrived; reservations refused with nothing held.

mod support;

use chrono::{DateTime, Duration, Utc};
use janta_catalog::demo::*;
use janta_catalog::store::Flag;
use janta_events::types::{Event, VendorReinstated, VendorSuspended, VendorVerified};
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_platform::ids::new_id;
use janta_platform::scalars::to_db_time;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::{snapshot, Catalog};

/// The contract's `MedicineDetail` offers, with what says whether they sell.
const DETAIL: &str = "query($id: ID!) { medicine(id: $id) { listings(first: 10) { id sellable inStock price { amount } } } }";
/// The contract's `SearchMedicines`, its first hit's offers.
const SEARCH: &str = "query($s: String) { medicines(search: $s, first: 1) { edges { node { id listings(first: 3) { id } } } } }";
const LISTING: &str = "query($id: ID!) { listing(id: $id) { id sellable inStock } }";
const VENDOR_PAGE: &str = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Vendor { listings { totalCount nodes { id } } } } }";
const ENTITY: &str = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Listing { id sellable inStock } } }";
const RESERVE: &str = "mutation($o: ID!, $l: [ReservationLineInput!]!) { reserveStock(orderId: $o, lines: $l) { orderId status } }";
const PRICE: &str =
    "query($ids: [ID!]!) { priceListings(ids: $ids) { listingId sellable available } }";

/// A new pharmacy with a paracetamol offer cheaper than both demo vendors'
/// (in stock); returns (vendor ID, its admin's token, listing ID).
async fn new_vendor_with_cheap_paracetamol(c: &Catalog) -> (String, String, String) {
    let vendor = new_id();
    let staff = c.staff_of(&vendor);
    let listing = c
        .gql
        .data(
            Some(&staff),
            "mutation($input: UpsertListingInput!) { upsertListing(input: $input) { id } }",
            json!({"input": {"medicineId": PARACETAMOL_500_ID, "price": "9.00", "mrp": "20.00"}}),
        )
        .await["upsertListing"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let expires = (Utc::now() + Duration::days(200))
        .format("%Y-%m-%d")
        .to_string();
    c.gql
        .data(
            Some(&staff),
            "mutation($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id } }",
            json!({"input": {"listingId": listing, "batchNumber": "NV1", "expiresOn": expires, "quantity": 40}}),
        )
        .await;
    (vendor, staff, listing)
}

fn ids(listings: &Value) -> Vec<String> {
    listings
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// Paracetamol's offers as `token` sees them on the medicine page.
async fn offers(c: &Catalog, token: Option<&str>) -> Value {
    c.gql
        .data(token, DETAIL, json!({"id": PARACETAMOL_500_ID}))
        .await["medicine"]["listings"]
        .clone()
}

/// The offers of the first hit when `token` searches "paracetamol 500".
async fn searched(c: &Catalog, token: Option<&str>) -> Vec<String> {
    let data = c
        .gql
        .data(token, SEARCH, json!({"s": "paracetamol 500"}))
        .await;
    let hit = &data["medicines"]["edges"][0]["node"];
    assert_eq!(hit["id"], PARACETAMOL_500_ID);
    ids(&hit["listings"])
}

/// The vendor's page (`Vendor.listings`) as `token` sees it.
async fn vendor_page(c: &Catalog, token: Option<&str>, vendor: &str) -> Vec<String> {
    let r = json!([{"__typename": "Vendor", "id": vendor}]);
    let data = c.gql.data(token, VENDOR_PAGE, json!({"r": r})).await;
    ids(&data["_entities"][0]["listings"]["nodes"])
}

/// Asserts what customers and anonymous callers see of `listing`: shown as
/// the cheapest offer everywhere, or nowhere.
async fn assert_public(c: &Catalog, vendor: &str, listing: &str, shown: bool) {
    let customer = c.customer();
    for token in [None, Some(customer.as_str())] {
        let offers = offers(c, token).await;
        let found = ids(&offers);
        if shown {
            assert_eq!(found[0], listing, "cheapest first: {offers}");
            assert_eq!(offers[0]["sellable"], true);
            assert_eq!(offers[0]["inStock"], true);
            assert_eq!(found.len(), 3);
            assert_eq!(searched(c, token).await[0], listing);
            assert_eq!(vendor_page(c, token, vendor).await, [listing]);
            let got = c.gql.data(token, LISTING, json!({"id": listing})).await;
            assert_eq!(got["listing"]["sellable"], true);
        } else {
            assert_eq!(
                found,
                [PARACETAMOL_500_KA_LISTING_ID, PARACETAMOL_500_MH_LISTING_ID],
                "the verified vendors' offers only"
            );
            assert!(!searched(c, token).await.contains(&listing.to_string()));
            assert!(vendor_page(c, token, vendor).await.is_empty());
            let refused = c.gql.send(token, LISTING, json!({"id": listing})).await;
            assert_eq!(
                error_code(&refused).as_deref(),
                Some("NOT_FOUND"),
                "{refused}"
            );
        }
    }
}

/// Whether a customer can look `listing` up.
async fn customer_sees(c: &Catalog, listing: &str) -> bool {
    let got = c
        .gql
        .send(Some(&c.customer()), LISTING, json!({"id": listing}))
        .await;
    match error_code(&got).as_deref() {
        None => true,
        Some("NOT_FOUND") => false,
        other => panic!("unexpected {other:?}: {got}"),
    }
}

/// Delivers `event` as having happened at `at`.
async fn deliver_at<E: Event>(c: &Catalog, event: &E, at: DateTime<Utc>) {
    let mut envelope =
        janta_events::envelope(event, &janta_platform::cause::Cause::new("admin", None));
    envelope.occurred_at = to_db_time(at);
    c.deliver_envelope(envelope).await;
}

fn reserve_lines(lines: &[(&str, i64)]) -> Value {
    lines
        .iter()
        .map(|(l, q)| json!({"listingId": l, "quantity": q}))
        .collect()
}

/// Asserts that reserving `lines` is refused because `vendor` does not
/// sell, with nothing held or written.
async fn assert_refused(c: &Catalog, vendor: &str, lines: Value) {
    let before = snapshot(&c.store).await;
    let refused = c
        .gql
        .send(
            Some(&c.service()),
            RESERVE,
            json!({"o": new_id(), "l": lines}),
        )
        .await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("FORBIDDEN"),
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["message"],
        "this pharmacy is not selling right now"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["details"]["vendorIds"],
        json!([vendor])
    );
    assert_eq!(snapshot(&c.store).await, before, "nothing held or written");
}

both_backends! {
    async fn unverified_and_suspended_vendors_are_hidden_from_customers(db) {
        let c = Catalog::seeded(&db).await;
        let (vendor, staff, listing) = new_vendor_with_cheap_paracetamol(&c).await;
        assert_public(&c, &vendor, &listing, false).await;

        // Its own staff and admins still see it, marked as not selling.
        for token in [staff.clone(), c.admin()] {
            let offers = offers(&c, Some(&token)).await;
            let own = offers.as_array().unwrap().iter().find(|o| o["id"] == listing.as_str())
                .unwrap_or_else(|| panic!("staff and admins see it: {offers}"));
            assert_eq!(own["sellable"], false);
            assert_eq!(own["inStock"], false);
            assert_eq!(offers[0]["id"], PARACETAMOL_500_KA_LISTING_ID, "buyable offers first");
            let got = c.gql.data(Some(&token), LISTING, json!({"id": listing})).await;
            assert_eq!(got["listing"], json!({"id": listing, "sellable": false, "inStock": false}));
            assert_eq!(vendor_page(&c, Some(&token), &vendor).await, [listing.as_str()]);
        }
        let other_staff = c.staff_ka();
        assert!(!ids(&offers(&c, Some(&other_staff)).await).contains(&listing), "another vendor's staff are customers here");
        // References from carts and orders that hold it still resolve, marked.
        let r = json!([{"__typename": "Listing", "id": listing}]);
        let entity = c.gql.data(None, ENTITY, json!({"r": r})).await;
        assert_eq!(entity["_entities"][0], json!({"id": listing, "sellable": false, "inStock": false}));

        c.deliver(&VendorVerified { vendor_id: vendor.clone() }).await;
        assert_public(&c, &vendor, &listing, true).await;
        c.deliver(&VendorSuspended { vendor_id: vendor.clone(), reason: "licence lapsed".into() }).await;
        assert_public(&c, &vendor, &listing, false).await;
        let got = c.gql.data(Some(&staff), LISTING, json!({"id": listing})).await;
        assert_eq!(got["listing"]["sellable"], false, "staff still see it while suspended");
        c.deliver(&VendorReinstated { vendor_id: vendor.clone() }).await;
        assert_public(&c, &vendor, &listing, true).await;

        let audited = c.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'vendor_status' AND entity_id = '{vendor}'"
        )).await;
        assert_eq!(audited, 3, "verified, suspended, reinstated");
        // The demo vendors sell: seeding recorded them as verified.
        assert_eq!(c.scalar("SELECT COUNT(*) FROM vendor_status WHERE verified = TRUE AND suspended = FALSE").await, 3);
        assert_eq!(vendor_page(&c, None, VENDOR_MH_ID).await.len(), 20, "a full first page");
    }

    async fn vendor_events_apply_in_the_order_they_happened(db) {
        let c = Catalog::seeded(&db).await;
        let (vendor, _, listing) = new_vendor_with_cheap_paracetamol(&c).await;
        let t0 = Utc::now() - Duration::minutes(10);
        let at = |minutes: i64| t0 + Duration::minutes(minutes);
        let suspended = VendorSuspended { vendor_id: vendor.clone(), reason: "complaint under review".into() };
        let reinstated = VendorReinstated { vendor_id: vendor.clone() };

        // Suspended at 2, then verified at 1 arrives late: suspension wins.
        deliver_at(&c, &suspended, at(2)).await;
        deliver_at(&c, &VendorVerified { vendor_id: vendor.clone() }, at(1)).await;
        assert!(!customer_sees(&c, &listing).await, "verified but suspended");
        // A reinstatement made before the suspension changes nothing.
        deliver_at(&c, &reinstated, at(0)).await;
        assert!(!customer_sees(&c, &listing).await, "the older reinstatement is ignored");
        // The real reinstatement sells again; the same event delivered twice changes nothing more.
        let mut envelope = janta_events::envelope(&reinstated, &janta_platform::cause::Cause::new("admin", None));
        envelope.occurred_at = to_db_time(at(3));
        c.deliver_envelope(envelope.clone()).await;
        assert!(customer_sees(&c, &listing).await);
        let audited = "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'vendor_status'";
        let before = c.scalar(audited).await;
        c.deliver_envelope(envelope).await;
        assert_eq!(c.scalar(audited).await, before, "a redelivery has no effect");
        // A suspension older than that reinstatement arrives late: ignored;
        // one at the very same moment wins.
        deliver_at(&c, &suspended, at(2) + Duration::seconds(30)).await;
        assert!(customer_sees(&c, &listing).await);
        deliver_at(&c, &suspended, at(3)).await;
        assert!(!customer_sees(&c, &listing).await, "on a tie the suspension wins");

        // A reinstatement never verifies: a vendor never verified stays hidden.
        let (never, _, hidden) = new_vendor_with_cheap_paracetamol(&c).await;
        deliver_at(&c, &VendorReinstated { vendor_id: never.clone() }, at(5)).await;
        assert!(!customer_sees(&c, &hidden).await);
        let (verified, suspended): (Flag, Flag) = sqlx::query_as("SELECT verified, suspended FROM vendor_status WHERE vendor_id = $1")
            .bind(&never).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!((verified, suspended), (Flag(false), Flag(false)));
        assert_eq!(janta_events::processed_count(&c.store, "catalog").await.unwrap(), 7, "seven events, one redelivered");
    }

    async fn reservations_refuse_vendors_that_do_not_sell(db) {
        let c = Catalog::seeded(&db).await;
        let (vendor, _, listing) = new_vendor_with_cheap_paracetamol(&c).await;
        let service = c.service();
        assert_refused(&c, &vendor, reserve_lines(&[(&listing, 2)])).await;
        assert_refused(&c, &vendor, reserve_lines(&[(PARACETAMOL_500_KA_LISTING_ID, 1), (&listing, 2)])).await;
        let price = c.gql.data(Some(&service), PRICE, json!({"ids": [listing, PARACETAMOL_500_KA_LISTING_ID]})).await;
        assert_eq!(price["priceListings"], json!([
            {"listingId": listing, "sellable": false, "available": false},
            {"listingId": PARACETAMOL_500_KA_LISTING_ID, "sellable": true, "available": true},
        ]));

        c.verify_vendor(&vendor).await;
        let reserved = c.gql.data(Some(&service), RESERVE, json!({"o": new_id(), "l": reserve_lines(&[(&listing, 2)])})).await;
        assert_eq!(reserved["reserveStock"]["status"], "ACTIVE");
        deliver_at(&c, &VendorSuspended { vendor_id: vendor.clone(), reason: "licence lapsed".into() }, Utc::now()).await;
        assert_refused(&c, &vendor, reserve_lines(&[(&listing, 1)])).await;
        assert_eq!(c.scalar(&format!("SELECT COUNT(*) FROM vendor_status WHERE vendor_id = '{VENDOR_KA_ID}'")).await, 1);
    }
}
