//! Pharmacy compliance in users, through the router exactly as the
//! contract writes it: branch GSTINs are checked (a wrong check character
//! and a wrong state prefix are refused, each named), a Maharashtra
//! vendor's Karnataka branch ships under its 29… GSTIN with invoice series
//! KA01 and becomes the default; an expired drug licence stops the pharmacy
//! selling after one sweep (its listings leave the storefront) and a
//! renewal brings it back; the orders service alone reads pharmacist
//! appointments; a stale `expectedVersion` is a CONFLICT.

mod support;

use chrono::{Days, Utc};
use janta_catalog::demo::{PARACETAMOL_500_ID, PARACETAMOL_500_MH_LISTING_ID};
use janta_platform::demo::{PHARMACIST_MH_ID, VENDOR_MH_ID};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform};

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn branch(name: &str, state: &str, gstin: &str) -> Value {
    json!({"name": name, "line1": "12 Residency Road", "city": "Bengaluru", "state": state,
        "pincode": "560025", "gstin": gstin})
}

#[tokio::test]
async fn branch_gstins_are_checked_and_a_karnataka_branch_of_a_maharashtra_vendor_ships() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let vendor = p
        .gql
        .data(
            Some(&admin),
            &operation("CreateVendor"),
            json!({"input": {"name": "Konkan Medicals", "legalName": "Konkan Medicals LLP",
                "gstin": "27AAPFU0939F1ZV", "drugLicenceNumber": "MH-MUM-20B-9", "state": "MH",
                "branch": {"name": "Dadar", "line1": "7 Ranade Road", "city": "Mumbai",
                    "state": "MH", "pincode": "400028"}}}),
        )
        .await["createVendor"]
        .clone();
    let vendor_id = vendor["id"].clone();
    let add = |input: Value| {
        let vars = json!({"vendorId": vendor_id, "input": input});
        let (gql, admin) = (&p.gql, &admin);
        async move {
            gql.send(Some(admin), &operation("AddVendorBranch"), vars)
                .await
        }
    };

    // One character changed from the valid 29AAPFU0939F1ZR.
    let wrong_check = add(branch("Residency Road", "KA", "29AAPFU0939F1ZS")).await;
    assert_eq!(code(&wrong_check).as_deref(), Some("BAD_USER_INPUT"));
    assert!(
        message(&wrong_check).contains("wrong check character"),
        "{wrong_check}"
    );
    // A valid Maharashtra GSTIN is not a Karnataka one.
    let wrong_state = add(branch("Residency Road", "KA", "27AAPFU0939F1ZV")).await;
    assert_eq!(code(&wrong_state).as_deref(), Some("BAD_USER_INPUT"));
    assert!(
        message(&wrong_state).contains("wrong state prefix")
            && message(&wrong_state).contains("29"),
        "{wrong_state}"
    );

    let ka = add(branch("Residency Road", "KA", "29AAPFU0939F1ZR")).await;
    let ka = ka["data"]["addVendorBranch"].clone();
    assert_eq!(
        ka,
        json!({"id": ka["id"], "name": "Residency Road", "state": "KA",
            "gstin": "29AAPFU0939F1ZR", "ships": true, "invoiceSeries": "KA01"})
    );
    let moved = p
        .gql
        .data(
            Some(&admin),
            &operation("SetShippingBranch"),
            json!({"vendorId": vendor_id, "branchId": ka["id"]}),
        )
        .await;
    assert_eq!(
        moved["setShippingBranch"]["shippingBranch"]["invoiceSeries"],
        "KA01"
    );

    let seen = p
        .gql
        .data(None, &operation("VendorBranches"), json!({"id": vendor_id}))
        .await["vendor"]
        .clone();
    assert_eq!(seen["state"], "MH");
    assert_eq!(seen["shippingBranch"]["gstin"], "29AAPFU0939F1ZR");
    let series: Vec<(&str, &str)> = seen["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["gstin"].as_str().unwrap(),
                b["invoiceSeries"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        series,
        [("27AAPFU0939F1ZV", "MH01"), ("29AAPFU0939F1ZR", "KA01")]
    );

    // Registration checks the vendor's own GSTIN the same way.
    let bad_vendor = p
        .gql
        .send(
            Some(&admin),
            &operation("CreateVendor"),
            json!({"input": {"name": "Deccan Drugs", "legalName": "Deccan Drugs LLP",
                "gstin": "29AAPFU0939F1ZR", "drugLicenceNumber": "MH-PUN-20B-99", "state": "MH",
                "branch": {"name": "Camp", "line1": "2 MG Road", "city": "Pune",
                    "state": "MH", "pincode": "411001"}}}),
        )
        .await;
    assert_eq!(code(&bad_vendor).as_deref(), Some("BAD_USER_INPUT"));
    assert!(
        message(&bad_vendor).contains("wrong state prefix"),
        "{bad_vendor}"
    );
}

/// Waits until the vendor's status is `status` (the sweeper runs every second).
async fn wait_for_status(p: &Platform, vendor_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let vendor = p
            .gql
            .data(
                None,
                &operation("VendorCompliance"),
                json!({"id": vendor_id}),
            )
            .await["vendor"]
            .clone();
        if vendor["status"] == status {
            return vendor;
        }
        assert!(
            Instant::now() < deadline,
            "still {vendor}, expected {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the MH vendor's paracetamol listing is on the storefront.
async fn mh_listing_shown(p: &Platform) -> bool {
    let detail = p
        .gql
        .data(
            None,
            &operation("MedicineDetail"),
            json!({"id": PARACETAMOL_500_ID}),
        )
        .await;
    detail["medicine"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == PARACETAMOL_500_MH_LISTING_ID)
}

async fn wait_for_listing(p: &Platform, shown: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while mh_listing_shown(p).await != shown {
        assert!(Instant::now() < deadline, "MH listing never shown={shown}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_expired_licence_stops_selling_after_one_sweep_and_a_renewal_restores_it() {
    let p = Platform::start_with(&[("JANTA_LICENCE_SWEEP_SECS", "1")]).await;
    let vendor_admin = p.login("vendor.mh@janta.test").await;
    let admin = p.login("admin@janta.test").await;
    wait_for_listing(&p, true).await;
    let before = wait_for_status(&p, VENDOR_MH_ID, "ACTIVE").await;
    assert_eq!(before["drugLicences"].as_array().unwrap().len(), 2);

    let lapsed_on = (Utc::now().date_naive() - Days::new(2)).to_string();
    let lapsed = p
        .gql
        .data(
            Some(&vendor_admin),
            &operation("RecordDrugLicence"),
            json!({"vendorId": VENDOR_MH_ID, "form": "FORM_21",
                "number": "MH-PUN-21B-004567", "validUntil": lapsed_on}),
        )
        .await;
    assert_eq!(lapsed["recordDrugLicence"]["expired"], true);
    let expiring = p
        .gql
        .data(
            Some(&admin),
            &operation("DrugLicencesExpiring"),
            json!({"withinDays": 30}),
        )
        .await;
    assert_eq!(
        expiring["drugLicencesExpiring"][0]["vendor"]["id"],
        VENDOR_MH_ID
    );

    let suspended = wait_for_status(&p, VENDOR_MH_ID, "SUSPENDED").await;
    assert_eq!(suspended["suspended"], true);
    assert_eq!(
        suspended["drugLicences"].as_array().unwrap().len(),
        3,
        "history kept"
    );
    wait_for_listing(&p, false).await;
    let reason = p
        .gql
        .data(
            Some(&admin),
            "query($id: ID!) { vendor(id: $id) { suspensionReason } }",
            json!({"id": VENDOR_MH_ID}),
        )
        .await;
    let reason = reason["vendor"]["suspensionReason"].as_str().unwrap();
    assert!(
        reason.contains("MH-PUN-21B-004567") && reason.contains("FORM_21"),
        "{reason}"
    );

    let renewed_until = (Utc::now().date_naive() + Days::new(365)).to_string();
    p.gql
        .data(
            Some(&vendor_admin),
            &operation("RecordDrugLicence"),
            json!({"vendorId": VENDOR_MH_ID, "form": "FORM_21",
                "number": "MH-PUN-21B-004567", "validUntil": renewed_until}),
        )
        .await;
    wait_for_status(&p, VENDOR_MH_ID, "ACTIVE").await;
    wait_for_listing(&p, true).await;
    let reinstated = p
        .count(
            "users",
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'VendorReinstated'",
        )
        .await;
    assert_eq!(reinstated, 1);
}

#[tokio::test]
async fn only_the_orders_service_reads_pharmacist_appointments_and_stale_edits_conflict() {
    let p = Platform::start().await;
    let query = "query($u: ID!, $v: ID!) { pharmacistAppointment(userId: $u, vendorId: $v) { userId fullName registrationNumber verifiedAt } }";
    let vars = json!({"u": PHARMACIST_MH_ID, "v": VENDOR_MH_ID});
    let admin = p.login("admin@janta.test").await;
    let hidden = p.gql.send(Some(&admin), query, vars.clone()).await;
    assert!(hidden["data"].is_null(), "not through the router: {hidden}");
    let users = janta_testkit::Gql::new(p.subgraph_url("users"));
    let direct = users.send(Some(&admin), query, vars.clone()).await;
    assert_eq!(code(&direct).as_deref(), Some("FORBIDDEN"), "{direct}");
    let orders = p.service_token("orders").await;
    let found = users.data(Some(&orders), query, vars).await;
    assert_eq!(
        found["pharmacistAppointment"]["registrationNumber"],
        "MSPC/2017/118842"
    );
    assert_eq!(
        found["pharmacistAppointment"]["fullName"],
        "Dr. Meera Joshi"
    );

    let customer = p.login("customer@janta.test").await;
    let read = p
        .gql
        .data(Some(&customer), &operation("MyVersions"), json!({}))
        .await;
    let version = read["me"]["version"].as_i64().unwrap();
    let update = |name: &str, v: i64| {
        let vars = json!({"input": {"fullName": name}, "expectedVersion": v});
        let (gql, customer) = (&p.gql, &customer);
        async move {
            gql.send(Some(customer), &operation("UpdateProfile"), vars)
                .await
        }
    };
    let first = update("Chitra Customer-Rao", version).await;
    assert_eq!(first["data"]["updateProfile"]["version"], version + 1);
    let stale = update("Chitra Rao", version).await;
    assert_eq!(code(&stale).as_deref(), Some("CONFLICT"), "{stale}");

    let address = read["me"]["addresses"][0].clone();
    let at = address["version"].as_i64().unwrap();
    let edit = |v: i64| {
        let vars = json!({"id": address["id"], "expectedVersion": v, "input": {
            "line1": "221 Indiranagar 100 Feet Road", "city": "Bengaluru", "state": "KA",
            "pincode": "560038"}});
        let (gql, customer) = (&p.gql, &customer);
        async move {
            gql.send(Some(customer), &operation("UpdateAddress"), vars)
                .await
        }
    };
    let edited = edit(at).await;
    assert_eq!(edited["data"]["updateAddress"]["version"], at + 1);
    let stale = edit(at).await;
    assert_eq!(code(&stale).as_deref(), Some("CONFLICT"), "{stale}");
}
