//! Cart and checkout against the real users, catalog and prescriptions
//! subgraphs (orders on SQLite and PostgreSQL): subtotals from catalog
//! prices, GST within a state and across states with hand-checked paise,
//! and every refusal a customer meets, each leaving nothing behind —
//! no order, no reservation, the cart as it was.

mod common;

use common::{catalog_demo, Stack, ADD_TO_CART, CART, PLACE_ORDER};
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, CUSTOMER_ID, VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

fn amount(v: &Value) -> &str {
    v["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

/// KA paracetamol at ₹30.00 and MH paracetamol at ₹41.00 (MRP ₹45.00).
async fn price_paracetamol(s: &Stack) -> (String, String) {
    let ka = s
        .set_price(
            &s.ka_staff(),
            catalog_demo::PARACETAMOL_500_ID,
            "30.00",
            "45.00",
        )
        .await;
    let mh = s
        .set_price(
            &s.mh_staff(),
            catalog_demo::PARACETAMOL_500_ID,
            "41.00",
            "45.00",
        )
        .await;
    assert_eq!(ka, catalog_demo::PARACETAMOL_500_KA_LISTING_ID);
    assert_eq!(mh, catalog_demo::PARACETAMOL_500_MH_LISTING_ID);
    (ka, mh)
}

both_backends! {
    async fn cart_lines_add_up_at_catalog_prices(db) {
        let s = Stack::start(db).await;
        let (ka, mh) = price_paracetamol(&s).await;
        let me = s.customer();
        let cart = s.add(&me, &ka, 2).await;
        assert_eq!(cart["lines"][0]["quantity"], 2);
        assert_eq!(amount(&cart["lines"][0]["unitPrice"]), "30.00");
        assert_eq!(amount(&cart["subtotal"]), "60.00");
        assert_eq!(cart["subtotal"]["currency"], "INR");
        // Adding the same listing again adds units to its line.
        let cart = s.add(&me, &ka, 1).await;
        assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
        assert_eq!(amount(&cart["subtotal"]), "90.00");
        let cart = s.add(&me, &mh, 3).await;
        assert_eq!(amount(&cart["subtotal"]), "213.00");
        assert_eq!(cart["itemCount"], 6);
        let ka_line = cart["lines"][0]["id"].clone();
        let mh_line = cart["lines"][1]["id"].clone();

        let updated = s.orders.data(Some(&me),
            "mutation($id: ID!) { updateCartLine(lineId: $id, quantity: 5) { subtotal { amount } lines { quantity } } }",
            json!({"id": ka_line})).await;
        assert_eq!(amount(&updated["updateCartLine"]["subtotal"]), "273.00");
        let removed = s.orders.data(Some(&me),
            "mutation($id: ID!) { removeCartLine(lineId: $id) { subtotal { amount } lines { id } } }",
            json!({"id": mh_line})).await;
        assert_eq!(amount(&removed["removeCartLine"]["subtotal"]), "150.00");

        // A price change in the catalog shows at once: nothing is cached in the cart.
        s.set_price(&s.ka_staff(), catalog_demo::PARACETAMOL_500_ID, "31.00", "45.00").await;
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(amount(&cart["cart"]["subtotal"]), "155.00");

        // Refusals.
        for quantity in [0, -1, 101] {
            let body = s.orders.send(Some(&me), ADD_TO_CART, json!({"listingId": ka, "quantity": quantity})).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "quantity {quantity}");
        }
        let over = s.orders.send(Some(&me), ADD_TO_CART, json!({"listingId": ka, "quantity": 96})).await;
        assert_eq!(error_code(&over).as_deref(), Some("BAD_USER_INPUT"), "a line holds at most 100");
        let unknown = s.orders.send(Some(&me), ADD_TO_CART,
            json!({"listingId": janta_platform::ids::new_id(), "quantity": 1})).await;
        assert_eq!(error_code(&unknown).as_deref(), Some("NOT_FOUND"));
        let garbage = s.orders.send(Some(&me), ADD_TO_CART, json!({"listingId": "nope", "quantity": 1})).await;
        assert_eq!(error_code(&garbage).as_deref(), Some("BAD_USER_INPUT"));
        let (other, _, _) = s.register_customer("KA").await;
        let foreign = s.orders.send(Some(&other),
            "mutation($id: ID!) { removeCartLine(lineId: $id) { id } }", json!({"id": ka_line})).await;
        assert_eq!(error_code(&foreign).as_deref(), Some("NOT_FOUND"));
        let anonymous = s.orders.send(None, CART, json!({})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let staff = s.orders.send(Some(&s.ka_staff()), CART, json!({})).await;
        assert_eq!(error_code(&staff).as_deref(), Some("FORBIDDEN"));

        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(cart["cart"]["lines"][0]["quantity"], 5);
        assert_eq!(s.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'cart'").await, 5);
    }

    async fn an_order_within_the_state_pays_cgst_and_sgst(db) {
        let s = Stack::start(db).await;
        let (ka, _) = price_paracetamol(&s).await;
        // Dolo 650 at the KA vendor at ₹10.70: an odd tax amount.
        let dolo = s.set_price(&s.ka_staff(), &catalog_demo::medicine_id(6), "10.70", "33.60").await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        s.add(&me, &dolo, 1).await;
        let stock_before = s.available(&ka).await;

        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "within-state-1").await;
        assert!(body["errors"].is_null(), "{body}");
        let orders = body["data"]["placeOrder"]["orders"].as_array().unwrap().clone();
        assert_eq!(orders.len(), 1, "one vendor, one order");
        let o = &orders[0];
        assert_eq!(o["status"], "PENDING_PAYMENT");
        assert_eq!(o["supply"], "INTRA_STATE");
        assert_eq!(o["vendor"]["id"], VENDOR_KA_ID);
        assert_eq!(o["buyer"]["id"], CUSTOMER_ID);
        // Paracetamol: 2 × ₹30.00 = 6000 paise at 5% → taxable round(6000 × 100 / 105)
        // = 5714, tax 286 → CGST 143 + SGST 143.
        let p = &o["lines"][0];
        assert_eq!(p["medicineName"], "Paracetamol 500 mg tablet");
        assert_eq!((p["quantity"].as_i64(), p["schedule"].as_str(), p["gstRate"].as_str()), (Some(2), Some("OTC"), Some("5")));
        assert_eq!(p["hsnCode"], "30049099");
        assert_eq!(p["medicineVersion"], 1);
        assert_eq!(p["medicine"]["id"], catalog_demo::PARACETAMOL_500_ID);
        assert_eq!(p["listing"]["id"], ka.as_str());
        assert_eq!(amount(&p["unitPrice"]), "30.00");
        assert_eq!(amount(&p["mrp"]), "45.00");
        assert_eq!(amount(&p["lineTotal"]), "60.00");
        assert_eq!(amount(&p["taxableValue"]), "57.14");
        assert_eq!((amount(&p["cgst"]), amount(&p["sgst"]), amount(&p["igst"])), ("1.43", "1.43", "0.00"));
        let batched: i64 = p["batches"].as_array().unwrap().iter().map(|b| b["quantity"].as_i64().unwrap()).sum();
        assert_eq!(batched, 2, "the allocated batches hold the line's units");
        // Dolo: 1 × ₹10.70 = 1070 at 5%: CGST and SGST are each half the rate
        // on the same taxable value, so equal: half = round(1070 × 2.5 / 105
        // = 25.48) = 25, taxable 1070 − 50 = 1020.
        let d = &o["lines"][1];
        assert_eq!(amount(&d["taxableValue"]), "10.20");
        assert_eq!((amount(&d["cgst"]), amount(&d["sgst"]), amount(&d["igst"])), ("0.25", "0.25", "0.00"));
        // Order: 7070 = taxable 6734 + CGST 168 + SGST 168.
        assert_eq!(amount(&o["total"]), "70.70");
        assert_eq!(amount(&o["taxableValue"]), "67.34");
        assert_eq!(amount(&o["taxTotal"]), "3.36");
        assert_eq!((amount(&o["cgstTotal"]), amount(&o["sgstTotal"]), amount(&o["igstTotal"])), ("1.68", "1.68", "0.00"));
        assert_eq!(o["deliveryAddress"]["state"], "KA");
        assert_eq!(o["deliveryAddress"]["pincode"], "560038");
        assert_eq!(o["statusHistory"][0]["status"], "PENDING_PAYMENT");
        assert_eq!(o["statusHistory"][0]["actor"], CUSTOMER_ID);

        // Stock is reserved, the cart is empty, the events and audit are written.
        assert_eq!(s.reserved(&ka).await, 2);
        assert_eq!(s.available(&ka).await, stock_before - 2);
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert!(cart["cart"]["lines"].as_array().unwrap().is_empty());
        assert_eq!(amount(&cart["cart"]["subtotal"]), "0.00");
        assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'OrderPlaced'").await, 1);
        assert_eq!(s.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'order' AND action = 'placed'").await, 1);
        let (payload,): (String,) = sqlx::query_as("SELECT payload FROM outbox WHERE event_type = 'OrderPlaced'")
            .fetch_one(s.store().pool()).await.unwrap();
        let placed: janta_events::types::OrderPlaced = serde_json::from_str(&payload).unwrap();
        assert_eq!((placed.total_paise, placed.lines.len()), (7070, 2));
    }

    async fn a_cart_from_two_states_makes_two_orders_one_with_igst(db) {
        let s = Stack::start(db).await;
        let (ka, mh) = price_paracetamol(&s).await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        s.add(&me, &mh, 3).await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "two-vendors").await;
        assert!(body["errors"].is_null(), "{body}");
        let orders = body["data"]["placeOrder"]["orders"].as_array().unwrap().clone();
        assert_eq!(orders.len(), 2);
        let by_vendor = |v: &str| orders.iter().find(|o| o["vendor"]["id"] == v).unwrap().clone();
        let ka_order = by_vendor(VENDOR_KA_ID);
        assert_eq!(ka_order["supply"], "INTRA_STATE");
        assert_eq!((amount(&ka_order["cgstTotal"]), amount(&ka_order["sgstTotal"])), ("1.43", "1.43"));
        // The KA customer buys from the MH vendor: 3 × ₹41.00 = 12300 at 5% →
        // taxable round(11714.29) = 11714, tax 586, all IGST.
        let mh_order = by_vendor(VENDOR_MH_ID);
        assert_eq!(mh_order["supply"], "INTER_STATE");
        assert_eq!(amount(&mh_order["total"]), "123.00");
        assert_eq!(amount(&mh_order["taxableValue"]), "117.14");
        assert_eq!(amount(&mh_order["taxTotal"]), "5.86");
        assert_eq!((amount(&mh_order["cgstTotal"]), amount(&mh_order["sgstTotal"]), amount(&mh_order["igstTotal"])), ("0.00", "0.00", "5.86"));
        let line = &mh_order["lines"][0];
        assert_eq!((amount(&line["igst"]), amount(&line["cgst"])), ("5.86", "0.00"));
        assert_eq!(s.reserved(&ka).await, 2);
        assert_eq!(s.reserved(&mh).await, 3);
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 2);
        assert_eq!(s.count("SELECT COUNT(*) FROM order_status_history").await, 2);
    }

    async fn a_schedule_h_medicine_without_prescription_is_refused_and_nothing_is_reserved(db) {
        let s = Stack::start(db).await;
        let (ka, _) = price_paracetamol(&s).await;
        let amox = catalog_demo::AMOXICILLIN_500_KA_LISTING_ID;
        let me = s.customer();
        s.add(&me, &ka, 1).await;
        s.add(&me, amox, 2).await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "rx-1").await;
        assert_eq!(error_code(&body).as_deref(), Some("PRESCRIPTION_REQUIRED"), "{body}");
        let details = &body["errors"][0]["extensions"]["details"]["lines"];
        assert_eq!(details.as_array().unwrap().len(), 1, "only the scheduled line is named: {details}");
        assert_eq!(details[0]["medicineName"], "Amoxicillin 500 mg capsule");
        assert_eq!(details[0]["listingId"], amox);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("Amoxicillin"));
        // A prescription that is not the customer's does not help either.
        let body = s.orders.send(Some(&me), PLACE_ORDER, json!({"input": {
            "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "rx-2",
            "prescriptionIds": [janta_platform::ids::new_id()]}})).await;
        assert_eq!(error_code(&body).as_deref(), Some("PRESCRIPTION_REQUIRED"), "{body}");

        assert_eq!(s.reserved(amox).await, 0);
        assert_eq!(s.reserved(&ka).await, 0);
        let (reservations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM reservations")
            .fetch_one(s.catalog_store.pool()).await.unwrap();
        assert_eq!(reservations, 0, "checked before any stock was held");
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 0);
        assert_eq!(s.count("SELECT COUNT(*) FROM checkouts").await, 0, "failed keys are freed");
        assert_eq!(s.count("SELECT COUNT(*) FROM outbox").await, 0);
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(cart["cart"]["lines"].as_array().unwrap().len(), 2, "the cart is untouched");
        // The same key may be retried (the failure left nothing).
        let again = s.place(&me, CUSTOMER_ADDRESS_ID, "rx-1").await;
        assert_eq!(error_code(&again).as_deref(), Some("PRESCRIPTION_REQUIRED"));
    }

    async fn more_than_the_stock_is_out_of_stock_and_other_reservations_are_released(db) {
        let s = Stack::start(db).await;
        let (ka, mh) = price_paracetamol(&s).await;
        s.set_stock(&s.mh_staff(), &mh, 4).await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        s.add(&me, &mh, 5).await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "too-many").await;
        assert_eq!(error_code(&body).as_deref(), Some("OUT_OF_STOCK"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["details"]["lines"][0]["listingId"], mh.as_str());
        // The KA order's reservation (made alongside) was released.
        assert_eq!(s.reserved(&ka).await, 0);
        assert_eq!(s.reserved(&mh).await, 0);
        assert_eq!(s.available(&mh).await, 4);
        let (active,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM reservations WHERE status = 'ACTIVE'")
            .fetch_one(s.catalog_store.pool()).await.unwrap();
        assert_eq!(active, 0);
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 0);
        assert_eq!(s.count("SELECT COUNT(*) FROM checkouts").await, 0);
        // An expired-only listing is out of stock too.
        s.orders.data(Some(&me), "mutation($id: ID!) { updateCartLine(lineId: $id, quantity: 4) { id } }",
            json!({"id": s.orders.data(Some(&me), CART, json!({})).await["cart"]["lines"][1]["id"]})).await;
        s.add(&me, catalog_demo::EXPIRED_ONLY_LISTING_ID, 1).await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "expired").await;
        assert_eq!(error_code(&body).as_deref(), Some("OUT_OF_STOCK"), "{body}");
        assert_eq!(s.reserved(&mh).await, 0);
    }

    async fn totals_come_from_the_catalog_never_from_the_client(db) {
        let s = Stack::start(db).await;
        let (ka, _) = price_paracetamol(&s).await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        // There is no way to send a price: the input type has no such field.
        let forged = s.orders.send(Some(&me), PLACE_ORDER, json!({"input": {
            "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "forged", "price": "0.01", "total": "0.01"}})).await;
        assert!(forged["errors"].is_array(), "{forged}");
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 0);
        // The vendor raises the price after the item went into the cart: the
        // order is priced by the catalog at checkout.
        s.set_price(&s.ka_staff(), catalog_demo::PARACETAMOL_500_ID, "32.50", "45.00").await;
        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "priced").await;
        let order = &body["data"]["placeOrder"]["orders"][0];
        assert_eq!(amount(&order["total"]), "65.00", "{body}");
        assert_eq!(amount(&order["lines"][0]["unitPrice"]), "32.50");
    }

    async fn another_users_address_or_an_empty_cart_is_refused(db) {
        let s = Stack::start(db).await;
        let (ka, _) = price_paracetamol(&s).await;
        let (other, _, other_address) = s.register_customer("MH").await;
        let me = s.customer();
        let empty = s.place(&me, CUSTOMER_ADDRESS_ID, "empty").await;
        assert_eq!(error_code(&empty).as_deref(), Some("BAD_USER_INPUT"), "{empty}");
        s.add(&me, &ka, 1).await;
        let stolen = s.place(&me, &other_address, "stolen-address").await;
        assert_eq!(error_code(&stolen).as_deref(), Some("NOT_FOUND"), "{stolen}");
        let unknown = s.place(&me, &janta_platform::ids::new_id(), "unknown-address").await;
        assert_eq!(error_code(&unknown).as_deref(), Some("NOT_FOUND"));
        let garbage = s.place(&me, "not-an-id", "garbage-address").await;
        assert_eq!(error_code(&garbage).as_deref(), Some("BAD_USER_INPUT"));
        let bad_key = s.place(&me, CUSTOMER_ADDRESS_ID, "has spaces").await;
        assert_eq!(error_code(&bad_key).as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(s.reserved(&ka).await, 0);
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 0);
        // The other customer's own cart is empty: BAD_USER_INPUT for them too.
        let theirs = s.place(&other, &other_address, "theirs").await;
        assert_eq!(error_code(&theirs).as_deref(), Some("BAD_USER_INPUT"));
        let staff = s.place(&s.ka_staff(), CUSTOMER_ADDRESS_ID, "staff").await;
        assert_eq!(error_code(&staff).as_deref(), Some("FORBIDDEN"));
    }

    async fn a_replayed_idempotency_key_returns_the_same_orders_and_reserves_once(db) {
        let s = Stack::start(db).await;
        let (ka, mh) = price_paracetamol(&s).await;
        let me = s.customer();
        s.add(&me, &ka, 2).await;
        s.add(&me, &mh, 1).await;
        // Five identical requests at once, then one more afterwards.
        let requests = (0..5).map(|_| s.place(&me, CUSTOMER_ADDRESS_ID, "same-key"));
        let bodies = futures::future::join_all(requests).await;
        let ids = |body: &Value| -> Vec<String> {
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["placeOrder"]["orders"].as_array().unwrap().iter()
                .map(|o| o["id"].as_str().unwrap().to_string()).collect()
        };
        let first = ids(&bodies[0]);
        assert_eq!(first.len(), 2);
        for body in &bodies {
            assert_eq!(ids(body), first);
        }
        let later = s.place(&me, CUSTOMER_ADDRESS_ID, "same-key").await;
        assert_eq!(ids(&later), first);
        assert_eq!(s.reserved(&ka).await, 2, "reserved once");
        assert_eq!(s.reserved(&mh).await, 1);
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 2);
        assert_eq!(s.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'OrderPlaced'").await, 2);
        // The key belongs to that request: another address with it is refused.
        let (_, _, other_address) = s.register_customer("KA").await;
        let reused = s.place(&me, &other_address, "same-key").await;
        assert_eq!(error_code(&reused).as_deref(), Some("CONFLICT"), "{reused}");
        // A new key with an empty cart (everything was ordered) is refused.
        let fresh = s.place(&me, CUSTOMER_ADDRESS_ID, "new-key").await;
        assert_eq!(error_code(&fresh).as_deref(), Some("BAD_USER_INPUT"));
    }

    async fn users_see_their_carts_and_orders_through_their_entities(db) {
        let s = Stack::start(db).await;
        let (ka, _) = price_paracetamol(&s).await;
        let me = s.customer();
        for key in ["one", "two", "three"] {
            s.add(&me, &ka, 1).await;
            let body = s.place(&me, CUSTOMER_ADDRESS_ID, key).await;
            assert!(body["errors"].is_null(), "{body}");
        }
        let page1 = s.orders.data(Some(&me),
            "{ myOrders(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status total { amount } } } } }",
            json!({})).await;
        assert_eq!(page1["myOrders"]["totalCount"], 3);
        assert_eq!(page1["myOrders"]["pageInfo"]["hasNextPage"], true);
        let cursor = page1["myOrders"]["pageInfo"]["endCursor"].clone();
        let page2 = s.orders.data(Some(&me),
            "query($after: String) { myOrders(first: 2, after: $after) { pageInfo { hasNextPage } edges { node { id } } } }",
            json!({"after": cursor})).await;
        assert_eq!(page2["myOrders"]["edges"].as_array().unwrap().len(), 1);
        assert_eq!(page2["myOrders"]["pageInfo"]["hasNextPage"], false);
        let filtered = s.orders.data(Some(&me), "{ myOrders(status: CONFIRMED) { totalCount } }", json!({})).await;
        assert_eq!(filtered["myOrders"]["totalCount"], 0);

        let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id cart { id } orders(first: 5) { totalCount } } } }";
        let reps = json!({"r": [{"__typename": "User", "id": CUSTOMER_ID}]});
        let mine = s.orders.data(Some(&me), entities, reps.clone()).await;
        assert_eq!(mine["_entities"][0]["orders"]["totalCount"], 3);
        let (other, _, _) = s.register_customer("KA").await;
        let theirs = s.orders.send(Some(&other), entities, reps).await;
        assert_eq!(error_code(&theirs).as_deref(), Some("FORBIDDEN"));
        let bad_cursor = s.orders.send(Some(&me), "{ myOrders(after: \"forged\") { totalCount } }", json!({})).await;
        assert_eq!(error_code(&bad_cursor).as_deref(), Some("BAD_USER_INPUT"));
    }
}
