//! A customer's export and erasure (issue 18) in the prescriptions
//! subgraph, on SQLite and PostgreSQL, with prescriptions made, reviewed,
//! dispensed and read through the API as usual: the export holds the
//! customer's prescriptions, lines, consumptions, document metadata and
//! access log and nothing of another customer; erasure deletes the files
//! and pseudonymises patient and doctor, except on prescriptions holding a
//! Schedule H1 register entry of the last three years, which keep patient,
//! prescriber, medicine and quantity (Rule 65(9)(d)); nothing erased covers
//! an order any more; a second erasure changes nothing.

mod support;

use janta_kit::personal_data::PersonalData;
use janta_prescriptions::documents::FsDocumentStore;
use janta_prescriptions::service::personal_data::{sweep_lapsed_h1, PrescriptionsData};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

/// A customer's approved prescription of one medicine (4 packs), 2 packs
/// dispensed by an order as `schedule`; returns (prescription, order,
/// medicine).
async fn dispensed(env: &Env, customer_id: &str, schedule: &str) -> (String, String, String) {
    let medicine = new_id();
    let rx = env
        .approved(&env.customer(customer_id), &[(&medicine, 4)])
        .await;
    let order = new_id();
    let vars = json!({"o": order, "c": customer_id, "p": [rx], "l": [line(&medicine, 2, schedule)], "v": VENDOR_KA});
    let consumed = env.gql.data(Some(&env.service()), CONSUME, vars).await;
    assert_eq!(consumed["consume"]["status"], "CONSUMED", "{consumed}");
    (rx, order, medicine)
}

fn data(env: &Env) -> PrescriptionsData {
    let files = FsDocumentStore::new(env.documents.clone()).expect("documents");
    PrescriptionsData::new(Arc::new(files))
}

async fn export(env: &Env, customer_id: &str) -> Value {
    let mut tx = env.store.begin().await.unwrap();
    let part = data(env).export(&mut tx, customer_id).await.unwrap();
    tx.commit().await.unwrap();
    part
}

async fn erase(env: &Env, customer_id: &str) -> janta_kit::personal_data::ErasureReport {
    let mut tx = env.store.begin().await.unwrap();
    let report = data(env).erase(&mut tx, customer_id).await.unwrap();
    tx.commit().await.unwrap();
    report
}

/// The columns of a prescription that erasure may touch.
#[derive(Debug, sqlx::FromRow)]
struct Erasable {
    patient_name: String,
    doctor_name: String,
    prescriber_name: Option<String>,
    prescriber_registration: Option<String>,
    status: String,
    document_key: String,
    erased_at: Option<String>,
}

async fn row(env: &Env, id: &str) -> Erasable {
    sqlx::query_as(
        "SELECT patient_name, doctor_name, prescriber_name, prescriber_registration, status, \
         document_key, erased_at FROM prescriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(env.store.pool())
    .await
    .unwrap()
}

fn ids(part: &Value) -> Vec<String> {
    part["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
    async fn the_export_is_the_customers_and_nobody_elses(db) {
        let env = start(&db).await;
        let (chitra, other) = (new_id(), new_id());
        let (rx, order, _) = dispensed(&env, &chitra, "H1").await;
        let submitted = env.submit_to(&env.customer(&chitra), Some(VENDOR_KA)).await;
        let (opened, _) = env.open_document(&env.admin(), &rx, Some("inspection of the H1 register")).await;
        assert_eq!(opened, 200);
        let (theirs, _, _) = dispensed(&env, &other, "H").await;

        let part = export(&env, &chitra).await;
        let mut mine = ids(&part);
        mine.sort();
        let mut expected = vec![rx.clone(), submitted.clone()];
        expected.sort();
        assert_eq!(mine, expected);
        let text = part.to_string();
        assert!(!text.contains(&theirs) && !text.contains(&other), "{text}");
        assert!(!text.contains("documentKey"), "storage keys are not the customer's data: {text}");

        let first = part["prescriptions"].as_array().unwrap().iter()
            .find(|p| p["id"] == rx.as_str()).unwrap();
        assert_eq!(first["patientName"], "Chitra Customer");
        assert_eq!(first["doctorName"], "Dr. Anil Rao");
        assert_eq!(first["documentContentType"], "application/pdf");
        assert!(first["documentSha256"].as_str().unwrap().len() == 64, "{first}");
        assert_eq!(first["lines"][0]["maxQuantity"], 4);
        assert_eq!(first["consumptions"][0]["orderId"], order.as_str());
        assert_eq!(first["consumptions"][0]["quantity"], 2);
        let access: Vec<&str> = first["accessLog"].as_array().unwrap().iter()
            .map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(access, vec!["document_link_issued", "document_downloaded"]);
        assert_eq!(first["accessLog"][0]["details"]["reason"], "inspection of the H1 register");
        assert_eq!(part["uploads"].as_array().unwrap().len(), 2, "{}", part["uploads"]);

        let nobody = export(&env, &new_id()).await;
        assert_eq!(nobody, json!({"prescriptions": [], "uploads": []}));
    }

    async fn erasure_keeps_recent_h1_entries_and_pseudonymises_the_rest(db) {
        let env = start(&db).await;
        let (chitra, other) = (new_id(), new_id());
        let (kept, _, medicine) = dispensed(&env, &chitra, "H1").await;
        let (old_h1, old_order, _) = dispensed(&env, &chitra, "H1").await;
        sqlx::query("UPDATE prescription_consumptions SET created_at = '2022-01-05T10:00:00.000000Z' WHERE order_id = $1")
            .bind(&old_order).execute(env.store.pool()).await.unwrap();
        let (schedule_h, _, _) = dispensed(&env, &chitra, "H").await;
        let (restored, restored_order, _) = dispensed(&env, &chitra, "H1").await;
        env.gql.data(Some(&env.service()), RESTORE, json!({"o": restored_order})).await;
        let submitted = env.submit_to(&env.customer(&chitra), Some(VENDOR_KA)).await;
        let (_, unused_url) = env.create_upload(&env.customer(&chitra)).await;
        assert_eq!(env.put(&unused_url, pdf(), Some("application/pdf")).await.0, 200);
        let (theirs, _, _) = dispensed(&env, &other, "H1").await;
        assert_eq!(env.files(), 7);

        let report = erase(&env, &chitra).await;
        assert_eq!(env.files(), 1, "only the other customer's document is left");
        assert_eq!(report.kept.len(), 2, "{report:?}");
        assert!(report.kept[0].record.contains("Schedule H1 register entries of 1 "), "{report:?}");
        assert!(report.kept[0].rule.contains("Rule 65(9)(d)"), "{report:?}");
        assert!(report.kept[1].record.contains("audit trail entries"), "{report:?}");
        assert!(report.erased.contains(&"6 prescription document file(s) deleted".to_string()), "{report:?}");
        assert!(report.erased.contains(&"4 prescription(s): patient, doctor and prescriber names pseudonymised".to_string()), "{report:?}");
        assert!(report.erased.contains(&"1 unused upload slot(s) deleted".to_string()), "{report:?}");

        // The H1 register entry: patient and prescriber stay, the rest goes.
        let h1 = row(&env, &kept).await;
        assert_eq!((h1.patient_name.as_str(), h1.doctor_name.as_str()), ("Chitra Customer", "Dr. Anil Rao"));
        assert_eq!(h1.prescriber_name.as_deref(), Some("Dr. Anil Rao"));
        assert_eq!(h1.prescriber_registration.as_deref(), Some("KMC 45678"));
        assert_eq!((h1.status.as_str(), h1.document_key.as_str()), ("EXPIRED", ""));
        assert!(h1.erased_at.is_some());
        assert_eq!(env.count(&format!("SELECT COUNT(*) FROM prescription_consumptions WHERE prescription_id = '{kept}'")).await, 1);

        // Older than three years, schedule H, or given back: pseudonymised.
        for id in [&old_h1, &schedule_h, &restored, &submitted] {
            let rx = row(&env, id).await;
            assert_eq!(rx.patient_name, format!("erased-{}", &id[..8]), "{rx:?}");
            assert_eq!(rx.doctor_name, "erased");
            assert_eq!((rx.prescriber_name, rx.prescriber_registration), (None, None));
            assert_eq!((rx.status.as_str(), rx.document_key.as_str()), ("EXPIRED", ""));
            assert!(rx.erased_at.is_some());
        }
        assert_eq!(env.count(&format!(
            "SELECT COUNT(*) FROM prescriptions WHERE owner_id = '{chitra}' AND (family_member_id IS NOT NULL \
             OR review_notes IS NOT NULL OR document_sha256 <> '')")).await, 0);
        assert_eq!(env.count(&format!(
            "SELECT COUNT(*) FROM prescription_uploads WHERE owner_id = '{chitra}' AND (storage_key IS NOT NULL \
             OR sha256 IS NOT NULL OR status <> 'USED')")).await, 0);

        // The other customer's prescription is untouched.
        let untouched = row(&env, &theirs).await;
        assert_eq!(untouched.patient_name, "Chitra Customer");
        assert_eq!((untouched.status.as_str(), untouched.erased_at), ("APPROVED", None));
        assert!(!untouched.document_key.is_empty());

        // Nothing erased covers an order, and no document link is handed out.
        let offer = json!({"c": chitra, "p": [kept], "l": [line(&medicine, 1, "H1")]});
        let answer = env.gql.data(Some(&env.service()), AUTHORIZE, offer).await;
        assert_eq!(answer["authorizeDispense"]["covered"], false, "{answer}");
        let link = env.gql.send(Some(&env.admin()), DOC_URL,
            json!({"id": kept, "reason": "inspection of the H1 register"})).await;
        assert_eq!(error_code(&link).as_deref(), Some("NOT_FOUND"), "{link}");

        // A second erasure changes nothing (the kit audits each request once:
        // crates/kit, catalog's personal_data test).
        let before = export(&env, &chitra).await;
        let again = erase(&env, &chitra).await;
        assert!(again.erased.is_empty(), "{again:?}");
        assert_eq!(again.kept, report.kept);
        assert_eq!(export(&env, &chitra).await, before);

        // Three years after the sale the H1 entry goes too, once.
        assert_eq!(sweep_lapsed_h1(&env.store).await.unwrap(), 0, "still within three years");
        sqlx::query("UPDATE prescription_consumptions SET created_at = '2022-01-05T10:00:00.000000Z' WHERE prescription_id = $1")
            .bind(&kept).execute(env.store.pool()).await.unwrap();
        assert_eq!(sweep_lapsed_h1(&env.store).await.unwrap(), 1);
        let lapsed = row(&env, &kept).await;
        assert_eq!(lapsed.patient_name, format!("erased-{}", &kept[..8]));
        assert_eq!((lapsed.prescriber_name, lapsed.prescriber_registration), (None, None));
        assert_eq!(sweep_lapsed_h1(&env.store).await.unwrap(), 0);
        assert!(erase(&env, &chitra).await.kept.iter().all(|k| !k.rule.contains("65(9)(d)")));
        assert_eq!(row(&env, &theirs).await.patient_name, "Chitra Customer");
    }
}
