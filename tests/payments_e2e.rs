//! Money through the router, when things go wrong: a platform killed the
//! moment after the customer paid still confirms the order exactly once;
//! with Razorpay (the fake Razorpay server), duplicated, lost and forged
//! webhooks and refunds above the capture.

mod support;

use janta_testkit::razorpay::{razorpay_signature, FakeRazorpay, Faults};
use serde_json::{json, Value};
use support::{code, operation, Platform};

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
    let checkout = p.checkout_url(customer, &order_id, "UPI").await;
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

const KEY_ID: &str = "rzp_test_JantaE2e0001";
const KEY_SECRET: &str = "e2e-razorpay-key-secret";
/// `janta dev`'s webhook secret, which the fake signs with.
const WEBHOOK_SECRET: &str = "janta-dev-webhook-secret";

/// The platform with Razorpay (the fake) as its gateway, reconciling every second.
async fn platform_with_razorpay(fake: &FakeRazorpay) -> Platform {
    let p = Platform::start_with(&[
        ("JANTA_PAYMENT_GATEWAY", "razorpay"),
        ("JANTA_RAZORPAY_KEY_ID", KEY_ID),
        ("JANTA_RAZORPAY_KEY_SECRET", KEY_SECRET),
        ("JANTA_RAZORPAY_BASE_URL", &fake.url),
        ("JANTA_RECONCILE_AFTER_SECS", "1"),
        ("JANTA_RECONCILE_INTERVAL_SECS", "1"),
    ])
    .await;
    fake.set_webhook_url(&payments_url(&p, "/webhooks/razorpay"));
    p
}

fn payments_url(p: &Platform, path: &str) -> String {
    let graphql = p.subgraph_url("payments");
    format!("{}{path}", graphql.trim_end_matches("/graphql"))
}

/// The Razorpay order behind the checkout of an order awaiting payment.
fn razorpay_order(fake: &FakeRazorpay, checkout: &str) -> String {
    let payment_id = checkout.rsplit('/').next().expect("payment ID in the URL");
    fake.order_for_receipt(payment_id)
        .expect("payOrder created a Razorpay order with our payment ID as receipt")
}

#[tokio::test]
async fn razorpay_payments_confirm_orders_once_whatever_the_webhooks_do() {
    let fake = FakeRazorpay::start(KEY_ID, KEY_SECRET, WEBHOOK_SECRET).await;
    let p = platform_with_razorpay(&fake).await;
    let customer = p.login("customer@janta.test").await;

    // Paid at Razorpay, webhooks duplicated: confirmed, one capture.
    fake.set_faults(Faults {
        duplicates: 4,
        ..Faults::default()
    });
    let (first, checkout) = order_awaiting_payment(&p, &customer, "razorpay-1").await;
    let page = reqwest::get(&checkout).await.unwrap();
    assert_eq!(page.status(), 200, "the hand-off to Razorpay's checkout");
    let (charge, _) = fake.pay(&razorpay_order(&fake, &checkout), "upi").unwrap();
    let order = p
        .order_when(&customer, &first, |o| o["status"] == "CONFIRMED")
        .await;
    assert_eq!(order["payments"][0]["status"], "SUCCEEDED");

    // The same webhook twenty times at once: still one capture.
    let captured = serde_json::json!({
        "entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": fake.payment(&charge).unwrap()}},
    });
    let copies = (0..20).map(|_| fake.send_webhook(&captured, "evt_twenty"));
    assert!(futures::future::join_all(copies)
        .await
        .iter()
        .all(|s| *s == 200));
    let succeeded = "SELECT COUNT(*) FROM outbox WHERE event_type = 'PaymentSucceeded'";
    assert_eq!(p.count("payments", succeeded).await, 1);

    // A forged webhook: 401, nothing recorded.
    let before = p
        .count("payments", "SELECT COUNT(*) FROM webhook_events")
        .await;
    let forged = reqwest::Client::new()
        .post(payments_url(&p, "/webhooks/razorpay"))
        .header(
            "X-Razorpay-Signature",
            razorpay_signature("guessed", captured.to_string().as_bytes()),
        )
        .header("X-Razorpay-Event-Id", "evt_forged")
        .body(captured.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        p.count("payments", "SELECT COUNT(*) FROM webhook_events")
            .await,
        before
    );

    // Every webhook lost: reconciliation confirms the order within a sweep.
    fake.set_faults(Faults {
        drop_webhooks: true,
        ..Faults::default()
    });
    let (second, checkout) = order_awaiting_payment(&p, &customer, "razorpay-2").await;
    fake.pay(&razorpay_order(&fake, &checkout), "card").unwrap();
    p.order_when(&customer, &second, |o| o["status"] == "CONFIRMED")
        .await;
    assert_eq!(p.count("payments", succeeded).await, 2);

    // Automatic capture off at Razorpay: the payment is only authorized
    // (the bank would hand it back in a few days); we capture it, exactly
    // once, and the order confirms.
    fake.set_faults(Faults {
        manual_capture: true,
        duplicates: 2,
        ..Faults::default()
    });
    let (third, checkout) = order_awaiting_payment(&p, &customer, "razorpay-3").await;
    let (charge, _) = fake.pay(&razorpay_order(&fake, &checkout), "upi").unwrap();
    p.order_when(&customer, &third, |o| o["status"] == "CONFIRMED")
        .await;
    assert_eq!(fake.payment(&charge).unwrap()["status"], "captured");
    assert_eq!(p.count("payments", succeeded).await, 3);

    // A refund above the capture is refused before it reaches Razorpay.
    let vendor = p.login("vendor.ka@janta.test").await;
    let payment_id = order["payments"][0]["id"].as_str().unwrap();
    let total = order["total"]["amount"].as_str().unwrap();
    let paise: i64 = total.replace('.', "").parse().unwrap();
    let above = format!("{}.{:02}", (paise + 1) / 100, (paise + 1) % 100);
    let refused = p
        .gql
        .send(
            Some(&vendor),
            &operation("RefundPayment"),
            json!({"paymentId": payment_id, "amount": above, "reason": "too much"}),
        )
        .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );
    assert!(fake.refunds().is_empty());
}

const VENDOR_KA: &str = janta_platform::demo::VENDOR_KA_ID;

/// Paise of a decimal rupee string ("1657.45" → 165745).
fn paise(amount: &Value) -> i64 {
    amount["amount"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn settlements_through_the_router_add_up_are_read_by_the_vendor_and_issued_once() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let india = chrono::FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    let yesterday = chrono::Utc::now().with_timezone(&india).date_naive() - chrono::Days::new(1);
    let from = (yesterday - chrono::Days::new(7)).to_string();
    let day = yesterday.to_string();

    let rate = p
        .gql
        .data(
            Some(&admin),
            &operation("SetVendorCommission"),
            json!({"vendorId": VENDOR_KA, "ratePercent": "8", "effectiveFrom": from}),
        )
        .await;
    assert_eq!(rate["setVendorCommission"]["ratePercent"], "8.00");
    let period = json!({"vendorId": VENDOR_KA, "periodStart": day, "periodEnd": day});
    let issued = p
        .gql
        .data(Some(&admin), &operation("IssueSettlement"), period.clone())
        .await;
    let s = &issued["issueSettlement"];
    assert_eq!(s["commissionRatePercent"], "8.00");
    assert_eq!(
        paise(&s["payout"]),
        paise(&s["captured"])
            - paise(&s["refunded"])
            - paise(&s["commission"])
            - paise(&s["tcs"])
            - paise(&s["tds"]),
        "the statement adds up: {s}"
    );
    assert_eq!(
        paise(&s["taxableValue"]),
        paise(&s["captured"]) - paise(&s["refunded"]) - paise(&s["gstInSales"]),
        "TCS and TDS are on the value before GST: {s}"
    );
    let id = s["id"].as_str().unwrap();

    let vendor = p.login("vendor.ka@janta.test").await;
    let read = p
        .gql
        .data(Some(&vendor), &operation("Settlement"), json!({"id": id}))
        .await;
    assert_eq!(read["settlement"]["vendor"]["name"], "Janta Demo Pharmacy");
    assert_eq!(read["settlement"]["payout"], s["payout"]);
    let listed = p
        .gql
        .data(
            Some(&vendor),
            &operation("VendorSettlements"),
            json!({"first": 5}),
        )
        .await;
    assert_eq!(listed["vendorSettlements"]["totalCount"], 1);

    // The vendor's staff are told (SettlementIssued → notifications).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let inbox = p
            .gql
            .data(
                Some(&vendor),
                &operation("MyNotifications"),
                json!({"first": 20}),
            )
            .await;
        let told = inbox["myNotifications"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| {
                e["node"]["kind"] == "SETTLEMENT_ISSUED"
                    && e["node"]["body"]
                        .as_str()
                        .unwrap()
                        .contains(s["payout"]["amount"].as_str().unwrap())
            });
        if told {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the vendor was never told: {inbox}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let other = p.login("vendor.mh@janta.test").await;
    let refused = p
        .gql
        .send(Some(&other), &operation("Settlement"), json!({"id": id}))
        .await;
    assert_eq!(code(&refused).as_deref(), Some("NOT_FOUND"));
    let again = p
        .gql
        .send(Some(&admin), &operation("IssueSettlement"), period)
        .await;
    assert_eq!(
        code(&again).as_deref(),
        Some("CONFLICT"),
        "a period is settled once"
    );
}
