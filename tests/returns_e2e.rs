//! Returns through the router, exactly as the contract writes them: a
//! two-line order paid on the sandbox and delivered; returning one line
//! refunds exactly its paid amount (tax included, figures from the order's
//! lines) to the original payment, quarantines the units (stock on sale
//! unchanged) and shows PARTIALLY_RETURNED; returning the other line shows
//! RETURNED; more than was delivered, and a return after the window, are
//! refused.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";
const KA_DOLO: &str = "019a0000-0000-7000-8002-100000000006";
const PARACETAMOL: &str = "019a0000-0000-7000-8001-000000000001";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";

/// "54.00" → 5400 paise.
fn paise(money: &Value) -> i64 {
    let text = money["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {money}"));
    let (rupees, fraction) = text.split_once('.').expect("two decimals");
    rupees.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

fn rupees(paise: i64) -> String {
    format!("{}.{:02}", paise / 100, paise % 100)
}

/// Paracetamol × 3 and Dolo 650 × 2 from the KA vendor, paid (sandbox UPI)
/// or cash on delivery, and delivered by the vendor. Returns the order as
/// `OrderDetail` shows it.
async fn delivered_order(
    p: &Platform,
    customer: &str,
    vendor: &str,
    key: &str,
    cod: bool,
) -> Value {
    for (listing, quantity) in [(KA_PARACETAMOL, 3), (KA_DOLO, 2)] {
        p.gql
            .data(
                Some(customer),
                &operation("AddToCart"),
                json!({"listingId": listing, "quantity": quantity}),
            )
            .await;
    }
    let mut input = json!({"addressId": CUSTOMER_ADDRESS, "idempotencyKey": key});
    if cod {
        input["paymentMethod"] = json!("CASH_ON_DELIVERY");
    }
    let placed = p
        .gql
        .data(
            Some(customer),
            &operation("PlaceOrder"),
            json!({ "input": input }),
        )
        .await;
    let order_id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    if !cod {
        let checkout = p.checkout_url(customer, &order_id, "UPI").await;
        let submitted = reqwest::Client::new()
            .post(&checkout)
            .form(&[("outcome", "success")])
            .send()
            .await
            .expect("checkout answers");
        assert!(submitted.status().is_success());
    }
    p.order_when(customer, &order_id, |o| o["status"] == "CONFIRMED")
        .await;
    for to in ["PACKED", "OUT_FOR_DELIVERY", "DELIVERED"] {
        p.gql
            .data(
                Some(vendor),
                &operation("AdvanceOrder"),
                json!({"id": order_id, "to": to}),
            )
            .await;
    }
    p.order_when(customer, &order_id, |o| {
        o["status"] == "DELIVERED" && o["payments"][0]["status"] == "SUCCEEDED"
    })
    .await
}

fn request(order: &Value, line: &Value, quantity: i64) -> Value {
    json!({"input": {
        "orderId": order["id"], "reason": "DAMAGED", "note": "blister pack crushed",
        "lines": [{"lineId": line["id"], "quantity": quantity}],
    }})
}

/// Sellable stock of the KA paracetamol listing (`MedicineDetail`).
async fn paracetamol_on_sale(p: &Platform, token: &str) -> i64 {
    let body = p
        .gql
        .data(
            Some(token),
            &operation("MedicineDetail"),
            json!({"id": PARACETAMOL}),
        )
        .await;
    body["medicine"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == KA_PARACETAMOL)
        .expect("KA listing")["stock"]
        .as_i64()
        .unwrap()
}

/// The payment once `done` holds (refunds arrive asynchronously).
async fn payment_when(p: &Platform, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = p
            .gql
            .send(Some(token), &operation("Payment"), json!({"id": id}))
            .await;
        if done(&body["data"]["payment"]) {
            return body["data"]["payment"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the payment never got there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn returns_refund_exactly_the_lines_quarantine_the_units_and_close_the_order() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let vendor = p.login("vendor.ka@janta.test").await;
    let order = delivered_order(&p, &customer, &vendor, "returns-e2e-1", false).await;
    let lines = order["lines"].as_array().unwrap().clone();
    let line_of = |name: &str| {
        lines
            .iter()
            .find(|l| l["medicineName"].as_str().unwrap().starts_with(name))
            .unwrap()
            .clone()
    };
    let (para, dolo) = (line_of("Paracetamol"), line_of("Dolo"));
    // Prices are tax-inclusive: a line's paid total is unit price × quantity,
    // GST included, and the lines add up to the order's total.
    let para_paid = paise(&para["unitPrice"]) * 3;
    let dolo_paid = paise(&dolo["unitPrice"]) * 2;
    assert_eq!(para_paid + dolo_paid, paise(&order["total"]));
    assert!(
        paise(&para["cgst"]) + paise(&para["sgst"]) > 0,
        "the refund includes tax"
    );
    let payment_id = order["payments"][0]["id"].as_str().unwrap().to_string();
    let on_sale = paracetamol_on_sale(&p, &customer).await;

    // More than was delivered is refused.
    let body = p
        .gql
        .send(
            Some(&customer),
            &operation("RequestReturn"),
            request(&order, &dolo, 3),
        )
        .await;
    assert_eq!(code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");

    // Return the paracetamol line: its whole paid amount.
    let asked = p
        .gql
        .data(
            Some(&customer),
            &operation("RequestReturn"),
            request(&order, &para, 3),
        )
        .await;
    let asked = &asked["requestReturn"];
    assert_eq!(asked["status"], "REQUESTED");
    assert_eq!(asked["refundAmount"]["amount"], rupees(para_paid));
    let return_id = asked["id"].as_str().unwrap().to_string();
    let listed = p
        .gql
        .data(
            Some(&vendor),
            &operation("VendorReturns"),
            json!({"status": "REQUESTED", "first": 10}),
        )
        .await;
    assert_eq!(
        listed["vendorReturns"]["edges"][0]["node"]["id"],
        return_id.as_str()
    );
    let body = p
        .gql
        .send(
            Some(&customer),
            &operation("ReviewReturn"),
            json!({"input": {"returnId": return_id, "approve": true, "note": "ok"}}),
        )
        .await;
    assert_eq!(
        code(&body).as_deref(),
        Some("FORBIDDEN"),
        "customers do not review"
    );
    let reviewed = p
        .gql
        .data(Some(&vendor), &operation("ReviewReturn"),
            json!({"input": {"returnId": return_id, "approve": true, "note": "strips were crushed"}}))
        .await;
    assert_eq!(reviewed["reviewReturn"]["status"], "APPROVED");
    assert_eq!(
        reviewed["reviewReturn"]["order"]["status"],
        "PARTIALLY_RETURNED"
    );

    let payment = payment_when(&p, &customer, &payment_id, |pay| {
        pay["refunds"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    assert_eq!(payment["status"], "PARTIALLY_REFUNDED");
    assert_eq!(payment["refunds"][0]["amount"]["amount"], rupees(para_paid));
    assert_eq!(
        paracetamol_on_sale(&p, &customer).await,
        on_sale,
        "nothing back on sale"
    );
    let quarantined = p
        .gql
        .data(
            Some(&vendor),
            "query($id: ID!) { listing(id: $id) { quarantined } }",
            json!({"id": KA_PARACETAMOL}),
        )
        .await;
    assert_eq!(quarantined["listing"]["quarantined"], 3);

    // Return the other line: the order is RETURNED and fully refunded.
    let asked = p
        .gql
        .data(
            Some(&customer),
            &operation("RequestReturn"),
            request(&order, &dolo, 2),
        )
        .await;
    assert_eq!(
        asked["requestReturn"]["refundAmount"]["amount"],
        rupees(dolo_paid)
    );
    let second = asked["requestReturn"]["id"].as_str().unwrap().to_string();
    p.gql
        .data(
            Some(&vendor),
            &operation("ReviewReturn"),
            json!({"input": {"returnId": second, "approve": true, "note": "accepted"}}),
        )
        .await;
    let done = p
        .order_when(&customer, order["id"].as_str().unwrap(), |o| {
            o["status"] == "RETURNED"
        })
        .await;
    assert_eq!(
        done["statusHistory"].as_array().unwrap().last().unwrap()["status"],
        "RETURNED"
    );
    let payment = payment_when(&p, &customer, &payment_id, |pay| {
        pay["status"] == "REFUNDED"
    })
    .await;
    let refunded: i64 = payment["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| paise(&r["amount"]))
        .sum();
    assert_eq!(refunded, para_paid + dolo_paid);
    let mine = p
        .gql
        .data(
            Some(&customer),
            &operation("MyReturns"),
            json!({"first": 10}),
        )
        .await;
    assert_eq!(mine["myReturns"]["totalCount"], 2);
    let body = p
        .gql
        .send(
            Some(&customer),
            &operation("RequestReturn"),
            request(&order, &dolo, 1),
        )
        .await;
    assert_eq!(
        code(&body).as_deref(),
        Some("BAD_USER_INPUT"),
        "nothing left to return"
    );
    drop(p);

    // A platform whose return window closes at delivery refuses any return.
    let p = Platform::start_with(&[("JANTA_RETURN_WINDOW_DAYS", "0")]).await;
    let customer = p.login("customer@janta.test").await;
    let vendor = p.login("vendor.ka@janta.test").await;
    let order = delivered_order(&p, &customer, &vendor, "returns-e2e-2", true).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let body = p
        .gql
        .send(
            Some(&customer),
            &operation("RequestReturn"),
            request(&order, &order["lines"][0], 1),
        )
        .await;
    assert_eq!(code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
}
