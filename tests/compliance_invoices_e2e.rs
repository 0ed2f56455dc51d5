//! GST tax invoices through the router, exactly as the contract writes
//! them. Sahyadri Medicos is registered in Maharashtra; its admin opens a
//! Karnataka branch (with the Karnataka GSTIN of the same PAN). An order
//! fulfilled from that branch to the demo customer's Bengaluru address is
//! intra-state (CGST = SGST), and its 3-line invoice (two rates, two HSN
//! codes) matches a hand computation; the same branch shipping to a Pune
//! address is inter-state (IGST) and takes the next number of the branch's
//! series; cancelling that confirmed order issues a credit note of every
//! line. Strangers cannot read invoices; the buyer and the vendor's staff
//! can, by number (with the seller's GSTIN when the number is ambiguous:
//! the demo order's invoice of another seller has the same one), and
//! download them.

mod support;

use serde_json::{json, Value};
use support::{code, operation, Platform};

const MH_VENDOR: &str = "019a0000-0000-7000-8000-0000000000a2";
const CUSTOMER_ADDRESS: &str = "019a0000-0000-7000-8000-0000000000b1";
/// MH listings: Paracetamol ₹19.00 (HSN 30049099, 5 %), Benadryl ₹137.75
/// (30049099, 5 %), Dettol ₹84.55 (38089400, 18 %).
const MH_PARACETAMOL: &str = "019a0000-0000-7000-8002-200000000001";
const MH_BENADRYL: &str = "019a0000-0000-7000-8002-200000000005";
const MH_DETTOL: &str = "019a0000-0000-7000-8002-200000000045";
/// The demo's delivered order (orders' demo data).
const DEMO_ORDER: &str = "019a0000-0000-7000-8005-000000000001";
/// The Karnataka registration of Sahyadri Medicos' PAN (check character 3).
const KA_GSTIN: &str = "29AAFCS5678B1Z3";

fn amount(v: &Value) -> &str {
    v["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

/// The current financial year as in document numbers ("26-27").
fn financial_year() -> String {
    let ist = chrono::Utc::now() + chrono::Duration::minutes(330);
    let year = chrono::Datelike::year(&ist);
    let start = if chrono::Datelike::month(&ist) >= 4 {
        year
    } else {
        year - 1
    };
    format!("{:02}-{:02}", start % 100, (start + 1) % 100)
}

async fn add_to_cart(p: &Platform, token: &str, lines: &[(&str, i64)]) {
    for (listing, quantity) in lines {
        p.gql
            .data(
                Some(token),
                &operation("AddToCart"),
                json!({"listingId": listing, "quantity": quantity}),
            )
            .await;
    }
}

/// Places the cart as cash on delivery (confirmed at once) from `branch`.
async fn place_from(p: &Platform, token: &str, address: &str, branch: &str, key: &str) -> Value {
    p.gql
        .send(
            Some(token),
            &operation("PlaceOrder"),
            json!({"input": {
                "addressId": address, "idempotencyKey": key, "paymentMethod": "CASH_ON_DELIVERY",
                "fulfilFrom": [{"vendorId": MH_VENDOR, "branchId": branch}],
            }}),
        )
        .await
}

async fn order_invoice(p: &Platform, token: &str, id: &str) -> Value {
    let body = p
        .gql
        .data(Some(token), &operation("OrderInvoice"), json!({"id": id}))
        .await;
    body["order"].clone()
}

async fn by_number(
    p: &Platform,
    token: &str,
    number: &str,
    seller_gstin: Option<&str>,
    format: &str,
) -> Value {
    p.gql
        .send(
            Some(token),
            &operation("InvoiceByNumber"),
            json!({"number": number, "sellerGstin": seller_gstin, "format": format}),
        )
        .await
}

#[tokio::test]
async fn invoices_follow_the_fulfilling_branch_and_credit_notes_reverse_them() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let mh_admin = p.login("vendor.mh@janta.test").await;
    let ka_admin = p.login("vendor.ka@janta.test").await;

    // A Karnataka branch of the Maharashtra vendor.
    let branch = p
        .gql
        .data(
            Some(&mh_admin),
            &operation("InvoicesAddBranch"),
            json!({"vendorId": MH_VENDOR, "input": {
                "name": "Sahyadri Medicos, Indiranagar", "line1": "100 Feet Road",
                "city": "Bengaluru", "state": "KA", "pincode": "560038",
                "gstin": KA_GSTIN, "ships": true,
            }}),
        )
        .await;
    let branch = &branch["addVendorBranch"];
    assert_eq!(branch["invoiceSeries"], "KA01", "{branch}");
    let branch_id = branch["id"].as_str().unwrap().to_string();

    // A branch that is not the vendor's is refused.
    add_to_cart(&p, &customer, &[(MH_PARACETAMOL, 2)]).await;
    let refused = place_from(
        &p,
        &customer,
        CUSTOMER_ADDRESS,
        "019a0000-0000-7000-8000-0000000000ff",
        "invoices-e2e-refused",
    )
    .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );

    // Three lines from the Karnataka branch to Bengaluru: CGST + SGST.
    add_to_cart(&p, &customer, &[(MH_BENADRYL, 1), (MH_DETTOL, 3)]).await;
    let placed = place_from(
        &p,
        &customer,
        CUSTOMER_ADDRESS,
        &branch_id,
        "invoices-e2e-1",
    )
    .await;
    let order_id = placed["data"]["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("placed: {placed}"))
        .to_string();
    let order = order_invoice(&p, &customer, &order_id).await;
    assert_eq!(order["status"], "CONFIRMED");
    assert_eq!(order["supply"], "INTRA_STATE");
    assert_eq!(order["seller"]["state"], "KA");
    assert_eq!(order["seller"]["gstin"], KA_GSTIN);
    assert_eq!(order["seller"]["legalName"], "Sahyadri Medicos LLP");
    let invoice = &order["invoice"];
    let fy = financial_year();
    assert_eq!(invoice["kind"], "TAX_INVOICE");
    assert_eq!(invoice["number"], format!("KA01/{fy}/00001"));
    assert_eq!(invoice["placeOfSupply"], "KA");
    assert_eq!(invoice["seller"]["gstin"], KA_GSTIN);
    assert_eq!(invoice["buyer"]["name"], "Chitra Customer");
    // By hand (prices include GST; half = round(gross × rate/2 ÷ (1 + rate))):
    //   Paracetamol 2 × 19.00 = 38.00 at 5 %:  half round(0.9048) = 0.90, taxable 36.20
    //   Benadryl 1 × 137.75 at 5 %:            half round(3.2798) = 3.28, taxable 131.19
    //   Dettol 3 × 84.55 = 253.65 at 18 %:     half round(19.3461) = 19.35, taxable 214.95
    let expected = [
        ("30049099", 2, "5", "36.20", "0.90", "38.00"),
        ("30049099", 1, "5", "131.19", "3.28", "137.75"),
        ("38089400", 3, "18", "214.95", "19.35", "253.65"),
    ];
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    for (line, (hsn, qty, rate, taxable, half, total)) in lines.iter().zip(expected) {
        assert_eq!(line["hsnCode"], hsn);
        assert_eq!(line["quantity"], qty);
        assert_eq!(line["gstRate"], rate);
        assert_eq!(amount(&line["taxableValue"]), taxable);
        assert_eq!(amount(&line["cgst"]), half);
        assert_eq!(amount(&line["sgst"]), half, "CGST and SGST are equal");
        assert_eq!(amount(&line["igst"]), "0.00");
        assert_eq!(amount(&line["total"]), total);
    }
    // Totals: 36.20 + 131.19 + 214.95 = 382.34; CGST = SGST = 0.90 + 3.28 +
    // 19.35 = 23.53; 382.34 + 2 × 23.53 = 429.40 = 38.00 + 137.75 + 253.65.
    assert_eq!(amount(&invoice["taxableValue"]), "382.34");
    assert_eq!(amount(&invoice["cgstTotal"]), "23.53");
    assert_eq!(amount(&invoice["sgstTotal"]), "23.53");
    assert_eq!(amount(&invoice["igstTotal"]), "0.00");
    assert_eq!(amount(&invoice["taxTotal"]), "47.06");
    assert_eq!(amount(&invoice["total"]), "429.40");
    assert_eq!(amount(&order["total"]), "429.40");
    let summary = invoice["hsnSummary"].as_array().unwrap();
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (
            summary[0]["hsnCode"].as_str(),
            summary[0]["quantity"].as_i64()
        ),
        (Some("30049099"), Some(3))
    );
    assert_eq!(amount(&summary[0]["taxableValue"]), "167.39");
    assert_eq!(amount(&summary[0]["cgst"]), "4.18");
    assert_eq!(amount(&summary[1]["taxableValue"]), "214.95");
    assert_eq!(amount(&summary[1]["sgst"]), "19.35");
    let number = invoice["number"].as_str().unwrap().to_string();

    // The buyer and the vendor's staff find it by number and download it.
    // The demo customer also holds the demo order's invoice of Janta Demo
    // Pharmacy's own KA01 series, with the same number: the seller's GSTIN
    // tells them apart.
    let ambiguous = by_number(&p, &customer, &number, None, "HTML").await;
    assert_eq!(
        code(&ambiguous).as_deref(),
        Some("BAD_USER_INPUT"),
        "{ambiguous}"
    );
    let html = by_number(&p, &customer, &number, Some(KA_GSTIN), "HTML").await;
    let html = html["data"]["invoice"]["rendered"]
        .as_str()
        .unwrap_or_else(|| panic!("{html}"))
        .to_string();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains(&number) && html.contains(KA_GSTIN));
    assert!(html.contains("Karnataka (29)"));
    let text = by_number(&p, &mh_admin, &number, None, "TEXT").await;
    let text = text["data"]["invoice"]["rendered"].as_str().unwrap();
    assert!(text.contains("Total (tax included): ₹429.40"), "{text}");
    // Another vendor's staff and another customer are refused; an unknown
    // number is not found.
    p.register("stranger.invoices@janta.test", "Sunil Stranger")
        .await;
    let stranger = p
        .login_with("stranger.invoices@janta.test", support::TEST_PASSWORD)
        .await;
    for token in [&ka_admin, &stranger] {
        let body = by_number(&p, token, &number, Some(KA_GSTIN), "TEXT").await;
        assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
        let body = p
            .gql
            .send(
                Some(token),
                &operation("OrderInvoice"),
                json!({"id": order_id}),
            )
            .await;
        assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
    }
    let body = by_number(&p, &customer, &format!("KA01/{fy}/09999"), None, "TEXT").await;
    assert_eq!(code(&body).as_deref(), Some("NOT_FOUND"), "{body}");

    // The same branch shipping to Maharashtra: IGST, the next number.
    let pune = p
        .gql
        .data(
            Some(&customer),
            &operation("AddAddress"),
            json!({"input": {"line1": "45 FC Road", "city": "Pune", "state": "MH", "pincode": "411004"}}),
        )
        .await;
    let pune = pune["addAddress"]["id"].as_str().unwrap().to_string();
    add_to_cart(&p, &customer, &[(MH_PARACETAMOL, 1)]).await;
    let placed = place_from(&p, &customer, &pune, &branch_id, "invoices-e2e-2").await;
    let second = placed["data"]["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("placed: {placed}"))
        .to_string();
    let order = order_invoice(&p, &customer, &second).await;
    assert_eq!(order["supply"], "INTER_STATE");
    let invoice = order["invoice"].clone();
    assert_eq!(invoice["number"], format!("KA01/{fy}/00002"));
    assert_eq!(invoice["placeOfSupply"], "MH");
    // 19.00 at 5 % across states: IGST round(0.9048) = 0.90, taxable 18.10.
    let line = &invoice["lines"][0];
    assert_eq!(
        (
            amount(&line["taxableValue"]),
            amount(&line["cgst"]),
            amount(&line["sgst"]),
            amount(&line["igst"])
        ),
        ("18.10", "0.00", "0.00", "0.90")
    );

    // Cancelling the confirmed order credits every line.
    p.gql
        .data(
            Some(&customer),
            &operation("CancelOrder"),
            json!({"id": second, "reason": "ordered to the wrong address"}),
        )
        .await;
    let order = order_invoice(&p, &customer, &second).await;
    assert_eq!(order["status"], "CANCELLED");
    let notes = order["creditNotes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{order}");
    let note = &notes[0];
    assert_eq!(note["kind"], "CREDIT_NOTE");
    assert_eq!(note["number"], format!("KA01/{fy}/C0001"));
    assert_eq!(note["invoiceNumber"], invoice["number"]);
    assert_eq!(note["reason"], "ordered to the wrong address");
    assert_eq!(amount(&note["total"]), "19.00");
    assert_eq!(amount(&note["igstTotal"]), "0.90");
    assert_eq!(amount(&note["taxableValue"]), "18.10");
    // The invoice itself is unchanged.
    assert_eq!(order["invoice"], invoice);
    let credit = by_number(&p, &customer, &format!("KA01/{fy}/C0001"), None, "TEXT").await;
    assert_eq!(credit["data"]["invoice"]["kind"], "CREDIT_NOTE", "{credit}");

    // The demo's delivered order came with its invoice.
    let demo = order_invoice(&p, &customer, DEMO_ORDER).await;
    assert_eq!(demo["status"], "DELIVERED");
    assert_eq!(demo["invoice"]["number"], format!("KA01/{fy}/00001"));
    assert_eq!(demo["invoice"]["seller"]["gstin"], "29AAACJ1234A1Z7");
    assert_eq!(amount(&demo["invoice"]["total"]), amount(&demo["total"]));
}
