//! Invoice numbers under a burst of confirmations, through the router:
//! fifty orders of one pharmacy branch are paid on the sandbox checkout at
//! the same moment, so fifty `PaymentSucceeded` events confirm fifty orders
//! as fast as the events flow; the fifty tax invoices get fifty
//! consecutive numbers of the branch's series, none duplicated, none
//! skipped. (One consumer per process applies its events in turn; that the
//! numbering also holds when confirmations truly run at once — two replicas
//! of orders — is raced directly in `subgraphs/orders/tests/invoices.rs`
//! on both backends.)

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use support::{operation, Platform};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";
const ORDERS: usize = 50;

/// One order of one pack awaiting payment; returns (order ID, checkout URL).
async fn order_awaiting_payment(p: &Platform, token: &str, n: usize) -> (String, String) {
    p.gql
        .data(
            Some(token),
            &operation("AddToCart"),
            json!({"listingId": KA_PARACETAMOL, "quantity": 1}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(token),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS, "idempotencyKey": format!("race-{n}")}}),
        )
        .await;
    let id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .expect("an order")
        .to_string();
    let checkout = p.checkout_url(token, &id, "UPI").await;
    (id, checkout)
}

/// The sequence number of an invoice number `KA01/26-27/00042` → 42.
fn sequence(number: &str) -> u32 {
    number
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an invoice number: {number}"))
}

#[tokio::test]
async fn fifty_racing_confirmations_get_fifty_consecutive_invoice_numbers() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let mut orders = Vec::with_capacity(ORDERS);
    for n in 0..ORDERS {
        orders.push(order_awaiting_payment(&p, &customer, n).await);
    }

    let http = reqwest::Client::new();
    let payments = orders
        .iter()
        .map(|(_, checkout)| http.post(checkout).form(&[("outcome", "success")]).send());
    for paid in futures::future::join_all(payments).await {
        assert!(paid.expect("checkout answers").status().is_success());
    }

    let mut numbers = Vec::with_capacity(ORDERS);
    let mut series = BTreeSet::new();
    for (id, _) in &orders {
        p.order_when(&customer, id, |o| o["status"] == "CONFIRMED")
            .await;
        let order = p
            .gql
            .data(
                Some(&customer),
                &operation("OrderInvoice"),
                json!({"id": id}),
            )
            .await;
        let number = order["order"]["invoice"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("a confirmed order has its invoice: {order}"))
            .to_string();
        assert!(number.len() <= 16, "{number}");
        series.insert(number.rsplit_once('/').unwrap().0.to_string());
        numbers.push(sequence(&number));
    }
    assert_eq!(series.len(), 1, "one branch, one series: {series:?}");
    numbers.sort_unstable();
    let first = numbers[0];
    let expected: Vec<u32> = (first..first + ORDERS as u32).collect();
    assert_eq!(numbers, expected, "consecutive, no duplicate, no gap");
}
