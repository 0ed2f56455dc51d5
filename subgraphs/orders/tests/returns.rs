//! Returns of delivered lines (orders on SQLite and PostgreSQL): the window,
//! over-quantity, who may ask and review, concurrent reviews, refund amounts
//! (hand-checked, tax included) and the order's status as lines come back.

mod common;

use common::{catalog_demo, Stack, ORDER};
use janta_orders::OrdersSettings;
use janta_platform::demo::CUSTOMER_ADDRESS_ID;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

/// Dolo 650 at the KA vendor (OTC, ₹30.24 a strip in the demo data).
const DOLO_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000006";

const ADVANCE: &str =
    "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { id status } }";
const REQUEST: &str = "mutation($input: RequestReturnInput!) { requestReturn(input: $input) { \
    id status reason note refundAmount { amount } order { id } \
    lines { lineId quantity refundAmount { amount } orderLine { id quantity } } } }";
const REVIEW: &str = "mutation($input: ReviewReturnInput!) { reviewReturn(input: $input) { \
    id status reviewNote reviewedAt refundAmount { amount } } }";
const MY_RETURNS: &str = "{ myReturns(first: 10) { totalCount edges { node { id status } } } }";
const VENDOR_RETURNS: &str =
    "query($status: ReturnStatus) { vendorReturns(status: $status, first: 10) { \
    totalCount edges { node { id status } } } }";
const ORDER_RETURNS: &str = "query($id: ID!) { order(id: $id) { status returns { id status } } }";

/// A cash-on-delivery order of 3 × paracetamol (₹18.00) and 2 × Dolo 650
/// (₹30.24) at the KA vendor, delivered. Returns (order ID, paracetamol
/// line ID, Dolo line ID).
async fn delivered_order(s: &Stack, key: &str) -> (String, String, String) {
    let me = s.customer();
    s.add(&me, catalog_demo::PARACETAMOL_500_KA_LISTING_ID, 3)
        .await;
    s.add(&me, DOLO_KA_LISTING_ID, 2).await;
    let body = s
        .orders
        .data(
            Some(&me),
            common::PLACE_ORDER,
            json!({ "input": { "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": key,
                               "paymentMethod": "CASH_ON_DELIVERY" } }),
        )
        .await;
    let order = &body["placeOrder"]["orders"][0];
    let id = order["id"].as_str().unwrap().to_string();
    let line = |listing: &str| {
        let line = order["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["listing"]["id"] == listing)
            .unwrap();
        // Prices are tax-inclusive: the line total is the taxable value plus GST.
        let cents = |v: &Value| {
            let amount = v["amount"].as_str().unwrap().replace('.', "");
            amount.parse::<i64>().unwrap()
        };
        assert_eq!(
            cents(&line["lineTotal"]),
            cents(&line["taxableValue"])
                + cents(&line["cgst"])
                + cents(&line["sgst"])
                + cents(&line["igst"])
        );
        (
            line["id"].as_str().unwrap().to_string(),
            cents(&line["lineTotal"]),
        )
    };
    let (para, para_total) = line(catalog_demo::PARACETAMOL_500_KA_LISTING_ID);
    let (dolo, dolo_total) = line(DOLO_KA_LISTING_ID);
    assert_eq!((para_total, dolo_total), (5400, 6048));
    let staff = s.ka_staff();
    for to in ["PACKED", "OUT_FOR_DELIVERY", "DELIVERED"] {
        s.orders
            .data(Some(&staff), ADVANCE, json!({ "id": id, "to": to }))
            .await;
    }
    (id, para, dolo)
}

fn request(order: &str, lines: &[(&str, i64)]) -> Value {
    json!({ "input": {
        "orderId": order, "reason": "DAMAGED", "note": "crushed box",
        "lines": lines.iter().map(|(id, q)| json!({ "lineId": id, "quantity": q })).collect::<Vec<_>>(),
    } })
}

fn review(id: &str, approve: bool, note: &str) -> Value {
    json!({ "input": { "returnId": id, "approve": approve, "note": note } })
}

both_backends! {
    async fn returns_refund_the_lines_and_move_the_order(db) {
        let s = Stack::start(db).await;
        let me = s.customer();
        let staff = s.ka_staff();
        let (order, para, dolo) = delivered_order(&s, "ret-1").await;

        // More than delivered, an unknown line, nothing, and someone else's order.
        for lines in [vec![(para.as_str(), 4)], vec![(order.as_str(), 1)], vec![], vec![(para.as_str(), 0)]] {
            let body = s.orders.send(Some(&me), REQUEST, request(&order, &lines)).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{lines:?}: {body}");
        }
        let (other, _, _) = s.register_customer("KA").await;
        let body = s.orders.send(Some(&other), REQUEST, request(&order, &[(&para, 1)])).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let body = s.orders.send(Some(&staff), REQUEST, request(&order, &[(&para, 1)])).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "staff do not return");

        // 2 of 3 paracetamol: ₹54.00 × 2 / 3 = ₹36.00 (GST included).
        let first = s.orders.data(Some(&me), REQUEST, request(&order, &[(&para, 2)])).await["requestReturn"].clone();
        assert_eq!(first["status"], "REQUESTED");
        assert_eq!(first["reason"], "DAMAGED");
        assert_eq!(first["refundAmount"]["amount"], "36.00");
        assert_eq!(first["lines"][0]["refundAmount"]["amount"], "36.00");
        assert_eq!(first["lines"][0]["orderLine"]["quantity"], 3);
        let first_id = first["id"].as_str().unwrap().to_string();
        // Units already asked back cannot be asked again.
        let body = s.orders.send(Some(&me), REQUEST, request(&order, &[(&para, 2)])).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));

        // Reviews: not the buyer, not another vendor; a note is required.
        for token in [me.clone(), s.mh_staff()] {
            let body = s.orders.send(Some(&token), REVIEW, review(&first_id, true, "ok")).await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        }
        let body = s.orders.send(Some(&staff), REVIEW, review(&first_id, true, " ")).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));

        // Two concurrent reviews: exactly one wins.
        let pharmacist = s.ka_pharmacist();
        let (a, b) = tokio::join!(
            s.orders.send(Some(&staff), REVIEW, review(&first_id, true, "box was crushed")),
            s.orders.send(Some(&pharmacist), REVIEW, review(&first_id, false, "looks fine")),
        );
        let codes = [error_code(&a), error_code(&b)];
        assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{a} {b}");
        assert!(codes.contains(&Some("CONFLICT".to_string())), "{a} {b}");
        let won = if codes[0].is_none() { &a } else { &b };
        let approved = won["data"]["reviewReturn"]["status"] == "APPROVED";
        let count = |t: &str| format!("SELECT COUNT(*) FROM outbox WHERE event_type = '{t}'");
        let outcome = if approved { "ReturnApproved" } else { "ReturnRejected" };
        assert_eq!(s.count(&count(outcome)).await, 1);
        assert_eq!(s.count(&count("ReturnRequested")).await, 1);

        let after = s.orders.data(Some(&me), ORDER_RETURNS, json!({ "id": order })).await;
        assert_eq!(after["order"]["returns"].as_array().unwrap().len(), 1);
        if approved {
            assert_eq!(after["order"]["status"], "PARTIALLY_RETURNED");
        } else {
            assert_eq!(after["order"]["status"], "DELIVERED");
            // Rejected units may be asked back again; this time approved.
            let again = s.orders.data(Some(&me), REQUEST, request(&order, &[(&para, 2)])).await;
            let id = again["requestReturn"]["id"].as_str().unwrap().to_string();
            s.orders.data(Some(&staff), REVIEW, review(&id, true, "ok")).await;
            let after = s.orders.data(Some(&me), ORDER, json!({ "id": order })).await;
            assert_eq!(after["order"]["status"], "PARTIALLY_RETURNED");
        }
        let body = s.orders.send(Some(&staff), REVIEW, review(&first_id, true, "again")).await;
        assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"), "reviewed returns stay reviewed");

        // The rest: 1 paracetamol (₹18.00) and 2 Dolo (₹60.48) = ₹78.48.
        let rest = s.orders.data(Some(&me), REQUEST, request(&order, &[(&para, 1), (&dolo, 2)])).await;
        assert_eq!(rest["requestReturn"]["refundAmount"]["amount"], "78.48");
        let rest_id = rest["requestReturn"]["id"].as_str().unwrap().to_string();
        let done = s.orders.data(Some(&s.admin()), REVIEW, review(&rest_id, true, "refunded")).await;
        assert_eq!(done["reviewReturn"]["status"], "APPROVED");
        assert_eq!(done["reviewReturn"]["reviewNote"], "refunded");
        let after = s.orders.data(Some(&me), ORDER, json!({ "id": order })).await;
        assert_eq!(after["order"]["status"], "RETURNED");
        let history: Vec<&str> = after["order"]["statusHistory"].as_array().unwrap().iter()
            .map(|h| h["status"].as_str().unwrap()).collect();
        assert_eq!(&history[history.len() - 2..], ["PARTIALLY_RETURNED", "RETURNED"]);
        let body = s.orders.send(Some(&me), REQUEST, request(&order, &[(&dolo, 1)])).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "nothing left");

        // Lists: the customer's, the vendor's (filtered), another vendor's.
        let mine = s.orders.data(Some(&me), MY_RETURNS, json!({})).await;
        let total = mine["myReturns"]["totalCount"].as_i64().unwrap();
        assert!(total == 2 || total == 3, "{mine}");
        let theirs = s.orders.data(Some(&staff), VENDOR_RETURNS, json!({ "status": "APPROVED" })).await;
        assert_eq!(theirs["vendorReturns"]["totalCount"], 2);
        let all = s.orders.data(Some(&s.admin()), VENDOR_RETURNS, json!({})).await;
        assert_eq!(all["vendorReturns"]["totalCount"], total);
        let none = s.orders.data(Some(&s.mh_staff()), VENDOR_RETURNS, json!({})).await;
        assert_eq!(none["vendorReturns"]["totalCount"], 0);
        let body = s.orders.send(Some(&me), VENDOR_RETURNS, json!({})).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        assert!(s.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'order_return'").await >= 4);
    }

    async fn returns_close_with_the_window_and_need_a_delivery(db) {
        let settings = OrdersSettings { return_window_days: 0, ..common::test_settings() };
        let s = Stack::start_with(db, settings).await;
        let (order, para, _) = delivered_order(&s, "ret-2").await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let body = s.orders.send(Some(&s.customer()), REQUEST, request(&order, &[(&para, 1)])).await;
        assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("window"));
    }
}
