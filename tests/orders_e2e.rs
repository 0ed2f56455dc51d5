//! The orders part of the client contract through the router, exactly as
//! written: cart, checkout into a within-state order (CGST + SGST) and an
//! inter-state one (IGST) with hand-checked figures, reading, the vendor's
//! list and moves, cash on delivery through payments, cancellation, and the
//! refusals a client meets.

mod support;

use serde_json::{json, Value};
use support::{code, operation, Platform};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";
const MH_PARACETAMOL: &str = "019a0000-0000-7000-8002-200000000001";
const PARACETAMOL: &str = "019a0000-0000-7000-8001-000000000001";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";

fn amount(v: &Value) -> &str {
    v["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

#[tokio::test]
async fn checkout_through_the_router_with_gst_within_and_across_states() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let ka = p.login("vendor.ka@janta.test").await;
    let mh = p.login("vendor.mh@janta.test").await;
    for (token, price) in [(&ka, "30.00"), (&mh, "41.00")] {
        p.gql
            .data(
                Some(token),
                &operation("UpsertListing"),
                json!({"input": {"medicineId": PARACETAMOL, "price": price, "mrp": "45.00"}}),
            )
            .await;
    }

    let added = p
        .gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": KA_PARACETAMOL, "quantity": 2}),
        )
        .await;
    let line = &added["addToCart"]["lines"][0];
    assert_eq!(amount(&line["listing"]["price"]), "30.00");
    assert_eq!(line["listing"]["medicine"]["requiresPrescription"], false);
    assert_eq!(amount(&added["addToCart"]["subtotal"]), "60.00");
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": MH_PARACETAMOL, "quantity": 3}),
        )
        .await;
    let cart = p
        .gql
        .data(Some(&customer), &operation("Cart"), json!({}))
        .await;
    assert_eq!(amount(&cart["cart"]["subtotal"]), "183.00");

    let placed = p
        .gql
        .data(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": "e2e-1"}}),
        )
        .await;
    let orders = placed["placeOrder"]["orders"].as_array().unwrap().clone();
    assert_eq!(orders.len(), 2, "one order per vendor");
    let replay = p
        .gql
        .data(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": "e2e-1"}}),
        )
        .await;
    assert_eq!(
        replay["placeOrder"]["orders"],
        placed["placeOrder"]["orders"]
    );
    let cart = p
        .gql
        .data(Some(&customer), &operation("Cart"), json!({}))
        .await;
    assert!(cart["cart"]["lines"].as_array().unwrap().is_empty());

    let detail = |id: Value, token: String| {
        let gql = p.gql.clone();
        async move {
            gql.send(Some(&token), &operation("OrderDetail"), json!({ "id": id }))
                .await
        }
    };
    let mut ka_order = Value::Null;
    let mut mh_order = Value::Null;
    for o in &orders {
        let body = detail(o["id"].clone(), customer.clone()).await;
        assert!(body["errors"].is_null(), "{body}");
        let order = body["data"]["order"].clone();
        assert_eq!(order["status"], "PENDING_PAYMENT");
        assert_eq!(order["buyer"]["fullName"], "Chitra Customer");
        assert_eq!(order["deliveryAddress"]["state"], "KA");
        assert_eq!(
            order["lines"][0]["medicine"]["name"],
            "Paracetamol 500 mg tablet"
        );
        assert!(order["payments"].as_array().unwrap().is_empty());
        match order["vendor"]["name"].as_str() {
            Some("Janta Demo Pharmacy") => ka_order = order,
            Some("Sahyadri Medicos") => mh_order = order,
            other => panic!("unexpected vendor {other:?}"),
        }
    }
    // KA customer, KA vendor: 2 × ₹30.00 = 6000 paise at 5% → taxable 5714,
    // tax 286 = CGST 143 + SGST 143.
    assert_eq!(amount(&ka_order["total"]), "60.00");
    assert_eq!(amount(&ka_order["taxTotal"]), "2.86");
    let l = &ka_order["lines"][0];
    assert_eq!(
        (amount(&l["cgst"]), amount(&l["sgst"]), amount(&l["igst"])),
        ("1.43", "1.43", "0.00")
    );
    // KA customer, MH vendor: 3 × ₹41.00 = 12300 at 5% → taxable 11714, IGST 586.
    assert_eq!(amount(&mh_order["total"]), "123.00");
    assert_eq!(amount(&mh_order["taxTotal"]), "5.86");
    let l = &mh_order["lines"][0];
    assert_eq!(
        (amount(&l["cgst"]), amount(&l["sgst"]), amount(&l["igst"])),
        ("0.00", "0.00", "5.86")
    );

    let mine = p
        .gql
        .data(
            Some(&customer),
            &operation("MyOrders"),
            json!({"first": 10}),
        )
        .await;
    // The two just placed, and the demo's delivered (invoiced) order.
    assert_eq!(mine["myOrders"]["totalCount"], 3);

    // Each vendor sees its own order only; nobody else reads it.
    let ka_list = p
        .gql
        .data(
            Some(&ka),
            &operation("VendorOrders"),
            json!({"status": "PENDING_PAYMENT", "first": 10}),
        )
        .await;
    let ka_ids: Vec<&Value> = ka_list["vendorOrders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["id"])
        .collect();
    assert_eq!(ka_ids, [&ka_order["id"]]);
    assert_eq!(
        ka_list["vendorOrders"]["edges"][0]["node"]["buyer"]["fullName"],
        "Chitra Customer"
    );
    let body = detail(ka_order["id"].clone(), mh.clone()).await;
    assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"));
    let stranger = p
        .gql
        .data(
            None,
            &operation("Register"),
            json!({"input": {
        "email": format!("e2e-{}@example.com", uuid::Uuid::new_v4().simple()),
        "password": "a long password", "fullName": "Nosy Neighbour"}}),
        )
        .await["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let body = detail(ka_order["id"].clone(), stranger).await;
    assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"));

    // Not paid yet: the vendor cannot pack it.
    let body = p
        .gql
        .send(
            Some(&ka),
            &operation("AdvanceOrder"),
            json!({"id": ka_order["id"], "to": "PACKED"}),
        )
        .await;
    assert_eq!(code(&body).as_deref(), Some("CONFLICT"));
    // Cash on delivery through payments confirms it (PaymentSucceeded → orders).
    p.gql
        .data(
            Some(&customer),
            &operation("PayOrder"),
            json!({"orderId": ka_order["id"], "method": "CASH_ON_DELIVERY"}),
        )
        .await;
    let mut status = Value::Null;
    for _ in 0..100 {
        let body = detail(ka_order["id"].clone(), customer.clone()).await;
        status = body["data"]["order"]["status"].clone();
        if status == "CONFIRMED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "CONFIRMED");
    let packed = p
        .gql
        .data(
            Some(&ka),
            &operation("AdvanceOrder"),
            json!({"id": ka_order["id"], "to": "PACKED"}),
        )
        .await;
    assert_eq!(packed["advanceOrder"]["status"], "PACKED");

    let cancelled = p
        .gql
        .data(
            Some(&customer),
            &operation("CancelOrder"),
            json!({"id": mh_order["id"], "reason": "bought it nearby"}),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["status"], "CANCELLED");
    let body = detail(mh_order["id"].clone(), customer.clone()).await;
    let history: Vec<&str> = body["data"]["order"]["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["PENDING_PAYMENT", "CANCELLED"]);
}

#[tokio::test]
async fn checkout_refusals_through_the_router() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let place =
        |key: &str| json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": key}});
    let empty = p
        .gql
        .send(Some(&customer), &operation("PlaceOrder"), place("empty"))
        .await;
    assert_eq!(code(&empty).as_deref(), Some("BAD_USER_INPUT"));
    // Amoxicillin (schedule H) without a prescription.
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": "019a0000-0000-7000-8002-100000000002", "quantity": 1}),
        )
        .await;
    let body = p
        .gql
        .send(Some(&customer), &operation("PlaceOrder"), place("rx"))
        .await;
    assert_eq!(
        code(&body).as_deref(),
        Some("PRESCRIPTION_REQUIRED"),
        "{body}"
    );
    // Only the demo's delivered order.
    assert_eq!(p.count("orders", "SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        p.count("catalog", "SELECT COUNT(*) FROM reservations")
            .await,
        0,
        "nothing reserved"
    );
}
