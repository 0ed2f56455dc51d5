//! Pharmacy compliance II through the router, with the contract's
//! operations exactly as written: a prescription for a schedule H1 medicine
//! is approved only once it names its prescriber; the order placed against
//! it cannot be dispatched until a verified pharmacist of the selling
//! pharmacy records dispensing (the vendor admin, another pharmacy's
//! pharmacist and a pharmacist naming the wrong batches are refused; a
//! second dispensing is a conflict); once dispatched, the sale is in the
//! pharmacy's H1 register — one entry per batch, with patient, prescriber
//! and pharmacist — and in its CSV; and a listing of a medicine reclassified
//! to schedule X cannot be put in a cart.

mod support;

use janta_catalog::demo::{ALLEGRA_120_ID, CEFIXIME_200_ID, CEFIXIME_200_KA_LISTING_ID};
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, VENDOR_KA_ID};
use serde_json::{json, Value};
use support::{code, operation, Platform};

/// Allegra 120 at the KA pharmacy (listings.csv).
const ALLEGRA_120_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000004";
/// Units ordered: more than the first batch holds (KA003A: 40), so the
/// order takes two batches, first expiry first (KA003B gives the rest).
const UNITS: i64 = 45;

/// The register keeps Indian calendar days.
fn today() -> chrono::NaiveDate {
    janta_platform::india::today()
}

/// A prescription submitted without the doctor's registration number: its
/// approval is refused until the pharmacist gives one. Returns its ID.
async fn approved_with_prescriber(p: &Platform, customer: &str, pharmacist: &str) -> String {
    let upload = p.upload_prescription(customer).await;
    let submitted = p
        .gql
        .data(
            Some(customer),
            &operation("SubmitPrescription"),
            json!({"input": {
                "uploadId": upload.id, "patientName": "Chitra Customer",
                "doctorName": "Dr. Arvind Menon", "issuedOn": today().to_string(),
                "vendorId": VENDOR_KA_ID
            }}),
        )
        .await;
    let id = submitted["submitPrescription"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lines = json!([{"medicineId": CEFIXIME_200_ID, "maxQuantity": UNITS}]);
    let valid_until = (today() + chrono::Duration::days(20)).to_string();
    let refused = p
        .gql
        .send(
            Some(pharmacist),
            &operation("ApprovePrescriptionWithPrescriber"),
            json!({"input": {"prescriptionId": id, "decision": "APPROVE", "lines": lines,
                "validUntil": valid_until}}),
        )
        .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("prescriberRegistration"),
        "{refused}"
    );
    let approved = p
        .gql
        .data(
            Some(pharmacist),
            &operation("ApprovePrescriptionWithPrescriber"),
            json!({"input": {"prescriptionId": id, "decision": "APPROVE", "lines": lines,
                "validUntil": valid_until, "prescriberRegistration": "tcmc 77120"}}),
        )
        .await;
    let rx = &approved["reviewPrescription"];
    assert_eq!(rx["status"], "APPROVED");
    assert_eq!(rx["prescriberName"], "Dr. Arvind Menon");
    assert_eq!(rx["prescriberRegistration"], "TCMC 77120");
    id
}

/// Places a cash-on-delivery order of Cefixime against `prescription`
/// (confirmed at once) and packs it as the vendor admin. Returns its ID.
async fn packed_order(p: &Platform, customer: &str, vendor_admin: &str, rx: &str) -> String {
    p.gql
        .data(
            Some(customer),
            &operation("AddToCart"),
            json!({"listingId": CEFIXIME_200_KA_LISTING_ID, "quantity": UNITS}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS_ID, "prescriptionIds": [rx],
                "idempotencyKey": "h1-order-1", "paymentMethod": "CASH_ON_DELIVERY"}}),
        )
        .await;
    let id = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.order_when(customer, &id, |o| o["status"] == "CONFIRMED")
        .await;
    let packed = p
        .gql
        .data(
            Some(vendor_admin),
            &operation("AdvanceOrder"),
            json!({"id": id, "to": "PACKED"}),
        )
        .await;
    assert_eq!(packed["advanceOrder"]["status"], "PACKED");
    id
}

async fn dispense(p: &Platform, token: &str, order: &str, batches: &[&str]) -> Value {
    p.gql
        .send(
            Some(token),
            &operation("DispenseOrder"),
            json!({"orderId": order, "batchesChecked": batches, "note": "counselled the patient"}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_h1_sale_is_dispensed_by_a_pharmacist_and_registered_at_dispatch() {
    let p = Platform::start().await;
    let customer = p.login("customer@janta.test").await;
    let pharmacist = p.login("pharmacist.ka@janta.test").await;
    let other_pharmacist = p.login("pharmacist.mh@janta.test").await;
    let vendor_admin = p.login("vendor.ka@janta.test").await;

    let rx = approved_with_prescriber(&p, &customer, &pharmacist).await;
    let order = packed_order(&p, &customer, &vendor_admin, &rx).await;

    // The batches it got, first expiry first, each with its MRP (₹109.00).
    let detail = p
        .gql
        .data(
            Some(&vendor_admin),
            &operation("OrderDispensing"),
            json!({"id": order}),
        )
        .await;
    let batches = detail["order"]["lines"][0]["batches"].clone();
    assert_eq!(
        batches
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (
                b["batchNumber"].as_str().unwrap(),
                b["quantity"].as_i64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("KA003A", 40), ("KA003B", 5)]
    );
    assert_eq!(
        batches[0]["mrp"],
        json!({"amount": "109.00", "currency": "INR"})
    );
    assert_eq!(detail["order"]["dispensing"], Value::Null);
    // The line keeps who it is for and who prescribed it.
    assert_eq!(
        detail["order"]["lines"][0]["prescription"],
        json!({"prescriptionId": rx, "patientName": "Chitra Customer",
               "prescriberName": "Dr. Arvind Menon", "prescriberRegistration": "TCMC 77120"})
    );

    // Not dispatched before a pharmacist dispensed it.
    let early = p
        .gql
        .send(
            Some(&vendor_admin),
            &operation("AdvanceOrder"),
            json!({"id": order, "to": "OUT_FOR_DELIVERY"}),
        )
        .await;
    assert_eq!(code(&early).as_deref(), Some("BAD_USER_INPUT"), "{early}");
    assert!(early.to_string().contains("dispenseOrder"), "{early}");

    // Only a verified pharmacist of this pharmacy, with exactly its batches.
    for (who, token) in [
        ("the vendor admin", &vendor_admin),
        ("another pharmacy's pharmacist", &other_pharmacist),
        ("the customer", &customer),
    ] {
        let refused = dispense(&p, token, &order, &["KA003A", "KA003B"]).await;
        assert_eq!(
            code(&refused).as_deref(),
            Some("FORBIDDEN"),
            "{who}: {refused}"
        );
    }
    let wrong = dispense(&p, &pharmacist, &order, &["KA003A"]).await;
    assert_eq!(code(&wrong).as_deref(), Some("BAD_USER_INPUT"), "{wrong}");
    assert_eq!(
        wrong["errors"][0]["extensions"]["details"]["missing"],
        json!(["KA003B"])
    );
    let done = dispense(&p, &pharmacist, &order, &["KA003B", "KA003A"]).await;
    assert!(done["errors"].is_null(), "{done}");
    let dispensing = &done["data"]["dispenseOrder"]["dispensing"];
    assert_eq!(dispensing["pharmacist"]["fullName"], "Dr. Kavya Rao");
    assert_eq!(
        dispensing["pharmacist"]["registrationNumber"],
        "KSPC/2019/04127"
    );
    assert_eq!(dispensing["batchesChecked"], json!(["KA003A", "KA003B"]));
    let again = dispense(&p, &pharmacist, &order, &["KA003A", "KA003B"]).await;
    assert_eq!(code(&again).as_deref(), Some("CONFLICT"), "{again}");

    // Now it ships, and the sale is in the register: one entry per batch.
    let shipped = p
        .gql
        .data(
            Some(&vendor_admin),
            &operation("AdvanceOrder"),
            json!({"id": order, "to": "OUT_FOR_DELIVERY"}),
        )
        .await;
    assert_eq!(shipped["advanceOrder"]["status"], "OUT_FOR_DELIVERY");
    let day = today().to_string();
    let period = json!({"vendorId": VENDOR_KA_ID, "from": day, "to": day});
    let register = p
        .gql
        .data(Some(&pharmacist), &operation("H1Register"), period.clone())
        .await;
    let entries = register["h1Register"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2, "{register}");
    for (entry, (batch, quantity)) in entries.iter().zip([("KA003A", 40), ("KA003B", 5)]) {
        assert_eq!(entry["date"], day.as_str());
        assert_eq!(entry["orderId"], order.as_str());
        assert_eq!(entry["patientName"], "Chitra Customer");
        assert_eq!(entry["prescriberName"], "Dr. Arvind Menon");
        assert_eq!(entry["prescriberRegistration"], "TCMC 77120");
        assert_eq!(entry["medicineId"], CEFIXIME_200_ID);
        assert_eq!(entry["medicineName"], "Cefixime 200 mg tablet");
        assert_eq!(entry["batchNumber"], batch);
        assert_eq!(entry["quantity"], quantity);
        assert_eq!(entry["pharmacist"]["fullName"], "Dr. Kavya Rao");
        assert_eq!(entry["pharmacist"]["registrationNumber"], "KSPC/2019/04127");
    }
    let admin_view = p
        .gql
        .data(
            Some(&vendor_admin),
            &operation("H1Register"),
            period.clone(),
        )
        .await;
    assert_eq!(admin_view["h1Register"].as_array().unwrap().len(), 2);
    let outsider = p
        .gql
        .send(
            Some(&other_pharmacist),
            &operation("H1Register"),
            period.clone(),
        )
        .await;
    assert_eq!(code(&outsider).as_deref(), Some("FORBIDDEN"), "{outsider}");

    let csv = p
        .gql
        .data(Some(&pharmacist), &operation("H1RegisterCsv"), period)
        .await;
    let csv = csv["h1RegisterCsv"].as_str().unwrap().to_string();
    let rows: Vec<&str> = csv.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with(
        "Date,Order ID,Patient name,Prescriber name,Prescriber registration,Medicine,"
    ));
    assert!(
        rows[1].starts_with(&format!(
            "{day},{order},Chitra Customer,Dr. Arvind Menon,TCMC 77120,Cefixime 200 mg tablet,{CEFIXIME_200_ID},40,KA003A,"
        )),
        "{csv}"
    );
    assert!(rows[1].contains(",Dr. Kavya Rao,KSPC/2019/04127,"), "{csv}");
    assert!(rows[2].contains(",5,KA003B,"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedule_x_is_not_sold_online() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let customer = p.login("customer@janta.test").await;
    let reclassified = p
        .gql
        .data(
            Some(&admin),
            &operation("ReclassifyMedicine"),
            json!({"id": ALLEGRA_120_ID, "schedule": "X"}),
        )
        .await;
    assert_eq!(reclassified["updateMedicine"]["schedule"], "X");
    let refused = p
        .gql
        .send(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": ALLEGRA_120_KA_LISTING_ID, "quantity": 1}),
        )
        .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Schedule X") && message.contains("not sold online"),
        "{refused}"
    );
    assert_eq!(
        p.count("orders", "SELECT COUNT(*) FROM cart_lines").await,
        0,
        "nothing was added"
    );
}
