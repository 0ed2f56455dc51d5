//! A customer's whole journey through the router, with the contract's
//! operations exactly as written: a prescription uploaded and approved by a
//! pharmacist, a checkout of a schedule-H medicine paid online through the
//! sandbox gateway (asynchronous, signed webhooks), a partial refund, a failed
//! payment that cancels its order and releases the stock, and finally the
//! `Dashboard` query that spans all six subgraphs.

mod support;

use janta_catalog::demo::{
    AMOXICILLIN_500_ID, AMOXICILLIN_500_KA_LISTING_ID, PARACETAMOL_500_ID,
    PARACETAMOL_500_KA_LISTING_ID,
};
use janta_platform::demo::CUSTOMER_ADDRESS_ID;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, put_pdf, Platform};

async fn ka_stock(p: &Platform, medicine: &str, listing: &str) -> i64 {
    let detail = p
        .gql
        .data(None, &operation("MedicineDetail"), json!({"id": medicine}))
        .await;
    detail["medicine"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == listing)
        .and_then(|l| l["stock"].as_i64())
        .expect("listing in MedicineDetail")
}

async fn approved_prescription(p: &Platform, customer: &str) -> String {
    let (id, upload) = p.submit_prescription(customer).await;
    let reused = put_pdf(&upload.url).await;
    assert!(
        reused.status().is_client_error(),
        "a one-time URL worked twice"
    );
    let today = janta_platform::india::today();

    let pharmacist = p.login("pharmacist.ka@janta.test").await;
    let queue = p
        .gql
        .data(
            Some(&pharmacist),
            &operation("PrescriptionsToReview"),
            json!({"first": 50}),
        )
        .await;
    let entry = queue["prescriptionsToReview"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .expect("in the review queue")
        .clone();
    assert_eq!(entry["node"]["owner"]["fullName"], "Chitra Customer");

    let customer_review = p.gql.send(Some(customer), &operation("ReviewPrescription"), json!({"input": {
        "prescriptionId": id, "decision": "APPROVE", "lines": [{"medicineId": AMOXICILLIN_500_ID, "maxQuantity": 5}]
    }})).await;
    assert_eq!(code(&customer_review).as_deref(), Some("FORBIDDEN"));

    let reviewed = p.gql.data(Some(&pharmacist), &operation("ReviewPrescription"), json!({"input": {
        "prescriptionId": id, "decision": "APPROVE",
        "lines": [{"medicineId": AMOXICILLIN_500_ID, "maxQuantity": 2}],
        "validUntil": (today + chrono::Duration::days(20)).to_string(), "notes": "5 days course"
    }})).await;
    let review = &reviewed["reviewPrescription"];
    assert_eq!(review["status"], "APPROVED");
    assert_eq!(
        review["lines"][0]["medicine"]["name"],
        "Amoxicillin 500 mg capsule"
    );
    assert_eq!(review["lines"][0]["remainingQuantity"], 2);

    let mine = p
        .gql
        .data(
            Some(customer),
            &operation("MyPrescriptions"),
            json!({"first": 10}),
        )
        .await;
    assert!(mine["myPrescriptions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["id"] == id.as_str() && e["node"]["status"] == "APPROVED"));
    id
}

async fn place(
    p: &Platform,
    customer: &str,
    listing: &str,
    quantity: i64,
    prescriptions: &[&str],
    key: &str,
) -> Value {
    p.gql
        .data(
            Some(customer),
            &operation("AddToCart"),
            json!({"listingId": listing, "quantity": quantity}),
        )
        .await;
    let placed = p.gql.data(Some(customer), &operation("PlaceOrder"), json!({"input": {
        "addressId": CUSTOMER_ADDRESS_ID, "prescriptionIds": prescriptions, "idempotencyKey": key
    }})).await;
    placed["placeOrder"]["orders"][0].clone()
}

async fn pay(p: &Platform, customer: &str, order_id: &str, method: &str, outcome: &str) -> Value {
    let paid = p
        .gql
        .data(
            Some(customer),
            &operation("PayOrder"),
            json!({"orderId": order_id, "method": method}),
        )
        .await;
    let checkout = paid["payOrder"]["checkoutUrl"]
        .as_str()
        .expect("online payments have a checkout URL");
    let submitted = reqwest::Client::new()
        .post(checkout)
        .form(&[("outcome", outcome)])
        .send()
        .await
        .unwrap();
    assert!(
        submitted.status().is_success(),
        "checkout refused: {}",
        submitted.status()
    );
    paid["payOrder"]["payment"].clone()
}

#[tokio::test]
async fn prescription_checkout_payment_refund_failure_and_dashboard() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let prescription = approved_prescription(&p, &customer).await;

    // Without the prescription the schedule-H line is refused; with it the order is placed.
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": AMOXICILLIN_500_KA_LISTING_ID, "quantity": 2}),
        )
        .await;
    let refused = p
        .gql
        .send(
            Some(&customer),
            &operation("PlaceOrder"),
            json!({"input": {
        "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "journey-no-rx"}}),
        )
        .await;
    assert_eq!(code(&refused).as_deref(), Some("PRESCRIPTION_REQUIRED"));
    let amox_before = ka_stock(&p, AMOXICILLIN_500_ID, AMOXICILLIN_500_KA_LISTING_ID).await;
    let placed = p.gql.data(Some(&customer), &operation("PlaceOrder"), json!({"input": {
        "addressId": CUSTOMER_ADDRESS_ID, "prescriptionIds": [prescription], "idempotencyKey": "journey-1"
    }})).await;
    let order = placed["placeOrder"]["orders"][0].clone();
    let order_id = order["id"].as_str().unwrap().to_string();
    assert_eq!(order["status"], "PENDING_PAYMENT");

    // Online payment: the sandbox confirms asynchronously through a signed webhook.
    let payment = pay(&p, &customer, &order_id, "UPI", "success").await;
    assert_eq!(payment["amount"], order["total"]);
    let confirmed = p
        .order_when(&customer, &order_id, |o| {
            o["status"] == "CONFIRMED"
                && o["payments"][0]["status"] == "SUCCEEDED"
                && o["prescriptions"][0]["id"].is_string()
        })
        .await;
    assert_eq!(confirmed["prescriptions"][0]["id"], prescription.as_str());
    assert_eq!(confirmed["buyer"]["fullName"], "Chitra Customer");
    assert_eq!(confirmed["vendor"]["name"], "Janta Demo Pharmacy");
    assert_eq!(
        ka_stock(&p, AMOXICILLIN_500_ID, AMOXICILLIN_500_KA_LISTING_ID).await,
        amox_before - 2,
        "stock committed once"
    );

    // Refund part of it as the vendor's admin; more than what is left is refused.
    let payment_id = confirmed["payments"][0]["id"].as_str().unwrap().to_string();
    let vendor = p.login("vendor.ka@janta.test").await;
    let refunded = p
        .gql
        .data(
            Some(&vendor),
            &operation("RefundPayment"),
            json!({"paymentId": payment_id, "amount": "1.00", "reason": "one strip damaged"}),
        )
        .await;
    assert_eq!(refunded["refundPayment"]["status"], "PARTIALLY_REFUNDED");
    let too_much = p
        .gql
        .send(
            Some(&vendor),
            &operation("RefundPayment"),
            json!({"paymentId": payment_id, "amount": "100000.00", "reason": "oops"}),
        )
        .await;
    assert_eq!(code(&too_much).as_deref(), Some("BAD_USER_INPUT"));
    let read = p
        .gql
        .data(
            Some(&customer),
            &operation("Payment"),
            json!({"id": payment_id}),
        )
        .await;
    assert_eq!(read["payment"]["refunds"][0]["amount"]["amount"], "1.00");

    // A failed payment cancels its order and gives the stock back.
    let para_before = ka_stock(&p, PARACETAMOL_500_ID, PARACETAMOL_500_KA_LISTING_ID).await;
    let second = place(
        &p,
        &customer,
        PARACETAMOL_500_KA_LISTING_ID,
        3,
        &[],
        "journey-2",
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_eq!(
        ka_stock(&p, PARACETAMOL_500_ID, PARACETAMOL_500_KA_LISTING_ID).await,
        para_before - 3,
        "reserved"
    );
    pay(&p, &customer, &second_id, "CARD", "failure").await;
    let cancelled = p
        .order_when(&customer, &second_id, |o| o["status"] == "CANCELLED")
        .await;
    assert_eq!(cancelled["payments"][0]["status"], "FAILED");
    assert_eq!(
        ka_stock(&p, PARACETAMOL_500_ID, PARACETAMOL_500_KA_LISTING_ID).await,
        para_before,
        "released"
    );

    // One query across all six subgraphs; notifications arrive through events.
    let deadline = Instant::now() + Duration::from_secs(30);
    let dashboard = loop {
        let d = p
            .gql
            .data(Some(&customer), &operation("Dashboard"), json!({}))
            .await;
        let kinds_ready = d["me"]["notifications"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() >= 3);
        if kinds_ready || Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let me = &dashboard["me"];
    assert_eq!(me["fullName"], "Chitra Customer");
    let orders = me["orders"]["edges"].as_array().unwrap();
    let first = orders
        .iter()
        .find(|e| e["node"]["id"] == order_id.as_str())
        .expect("order on the dashboard");
    assert_eq!(
        first["node"]["lines"][0]["medicine"]["name"],
        "Amoxicillin 500 mg capsule"
    );
    assert_eq!(first["node"]["payments"][0]["status"], "PARTIALLY_REFUNDED");
    assert_eq!(first["node"]["prescriptions"][0]["status"], "APPROVED");
    assert!(me["prescriptions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["id"] == prescription.as_str()));
    let titles: Vec<&str> = me["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["node"]["title"].as_str())
        .collect();
    assert!(titles.len() >= 3, "notifications missing: {dashboard}");

    let unread = p
        .gql
        .data(
            Some(&customer),
            &operation("MyNotifications"),
            json!({"first": 20, "unreadOnly": true}),
        )
        .await;
    assert!(unread["myNotifications"]["totalCount"].as_i64().unwrap() >= 3);
}
