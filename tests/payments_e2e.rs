//! Money through the router, when things go wrong: a platform killed the
//! moment after the customer paid still confirms the order exactly once.

mod support;

use serde_json::json;
use support::{operation, Platform};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";

/// Places an order of two strips of paracetamol and starts paying it by
/// UPI; returns the order ID and the checkout URL.
async fn order_awaiting_payment(p: &Platform, customer: &str, key: &str) -> (String, String) {
    p.gql
        .data(
            Some(customer),
            &operation("AddToCart"),
            json!({"listingId": KA_PARACETAMOL, "quantity": 2}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": key}}),
        )
        .await;
    let order_id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .expect("order ID")
        .to_string();
    let paid = p
        .gql
        .data(
            Some(customer),
            &operation("PayOrder"),
            json!({"orderId": order_id, "method": "UPI"}),
        )
        .await;
    let checkout = paid["payOrder"]["checkoutUrl"]
        .as_str()
        .expect("a checkout URL")
        .to_string();
    (order_id, checkout)
}

#[tokio::test]
async fn a_crash_right_after_the_customer_paid_still_confirms_the_order_once() {
    let mut p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let (order_id, checkout) = order_awaiting_payment(&p, &customer, "crash-after-pay").await;

    let submitted = reqwest::Client::new()
        .post(&checkout)
        .form(&[("outcome", "success")])
        .send()
        .await
        .expect("checkout answers");
    assert!(
        submitted.status().is_success(),
        "checkout refused: {}",
        submitted.status()
    );
    // The customer saw "paid"; the power goes out before the gateway's
    // webhook could possibly have arrived.
    p.crash_and_restart().await;

    let order = p
        .order_when(&customer, &order_id, |o| o["status"] == "CONFIRMED")
        .await;
    assert_eq!(order["payments"][0]["status"], "SUCCEEDED");
    let succeeded = p
        .count(
            "payments",
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'PaymentSucceeded'",
        )
        .await;
    assert_eq!(succeeded, 1, "exactly one PaymentSucceeded");
}
