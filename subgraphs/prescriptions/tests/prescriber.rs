//! The prescriber of a prescription, on SQLite and PostgreSQL: an approval
//! without the prescriber's registration number is refused and changes
//! nothing; the pharmacist may give it (and correct the name) when
//! approving; `authorizeDispense` tells orders the patient and prescriber
//! of the prescription covering each line, so the sale can be registered.

mod support;

use janta_testkit::{both_backends, error_code};
use serde_json::json;
use support::*;

const PRESCRIBER: &str = "mutation($input: ReviewPrescriptionInput!) { reviewPrescription(input: $input) { id status prescriberName prescriberRegistration doctorName } }";

both_backends! {
    async fn approvals_name_a_registered_prescriber_and_dispensing_reports_it(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let pharmacist_id = new_id();
        let pharmacist = env.pharmacist(&pharmacist_id, VENDOR_KA);

        // Submitted without the doctor's registration number.
        let (upload_id, url) = env.create_upload(&customer).await;
        let (status, body) = env.put(&url, pdf(), Some("application/pdf")).await;
        assert_eq!(status, 200, "{body}");
        let mut vars = submit_vars(&upload_id, None);
        vars["input"]["doctorRegistrationNumber"] = json!(null);
        let id = env.gql.data(Some(&customer), SUBMIT, vars).await["submitPrescription"]["id"]
            .as_str().unwrap().to_string();
        let medicine = new_id();
        let approve = |extra: serde_json::Value| {
            let mut input = json!({"prescriptionId": id, "decision": "APPROVE",
                "lines": [{"medicineId": medicine, "maxQuantity": 4}]});
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            json!({"input": input})
        };

        let refused = env.gql.send(Some(&pharmacist), PRESCRIBER, approve(json!({}))).await;
        assert_eq!(error_code(&refused).as_deref(), Some("BAD_USER_INPUT"), "{refused}");
        assert!(refused.to_string().contains("prescriberRegistration"), "{refused}");
        let bad = env.gql.send(Some(&pharmacist), PRESCRIBER,
            approve(json!({"prescriberRegistration": "no digits"}))).await;
        assert_eq!(error_code(&bad).as_deref(), Some("BAD_USER_INPUT"), "{bad}");
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions WHERE status = 'SUBMITTED'").await, 1);
        assert_eq!(env.count("SELECT COUNT(*) FROM prescription_lines").await, 0);

        let approved = env.gql.data(Some(&pharmacist), PRESCRIBER, approve(json!({
            "prescriberName": "Dr.  Anil  Rao, MD", "prescriberRegistration": " kmc 45678 "
        }))).await["reviewPrescription"].clone();
        assert_eq!(approved["status"], "APPROVED");
        assert_eq!(approved["prescriberName"], "Dr. Anil Rao, MD");
        assert_eq!(approved["prescriberRegistration"], "KMC 45678");
        assert_eq!(approved["doctorName"], "Dr. Anil Rao", "what the customer wrote stays");
        let audited = env.audited(&id, "approved", &pharmacist_id).await;
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0]["prescriberRegistration"], "KMC 45678");

        // Orders learns who the patient and prescriber are, per covered line.
        let answer = env.gql.data(Some(&env.service()), AUTHORIZE_WITH_PRESCRIBER, json!({
            "c": customer_id, "p": [id], "l": [line(&medicine, 2, "H1"), line(&new_id(), 1, "OTC")]
        })).await["authorizeDispense"].clone();
        assert_eq!(answer["covered"], true);
        let lines = answer["lines"].as_array().unwrap();
        assert_eq!(lines[0]["patientName"], "Chitra Customer");
        assert_eq!(lines[0]["prescriberName"], "Dr. Anil Rao, MD");
        assert_eq!(lines[0]["prescriberRegistration"], "KMC 45678");
        assert_eq!(lines[1]["prescriberName"], serde_json::Value::Null, "OTC: no prescription");

        // Given at submission, the doctor's number is the prescriber's.
        let second = env.approved(&customer, &[(&medicine, 1)]).await;
        let one = env.gql.data(Some(&customer), "query($id: ID!) { prescription(id: $id) { prescriberName prescriberRegistration } }",
            json!({"id": second})).await;
        assert_eq!(one["prescription"]["prescriberRegistration"], "KMC 45678");
        assert_eq!(one["prescription"]["prescriberName"], "Dr. Anil Rao");

        // One approved before approvals named the prescriber covers nothing.
        sqlx::query("UPDATE prescriptions SET prescriber_registration = NULL, \
                     doctor_registration_number = NULL WHERE id = $1")
            .bind(&second).execute(env.store.pool()).await.unwrap();
        let legacy = env.gql.data(Some(&env.service()), AUTHORIZE_WITH_PRESCRIBER, json!({
            "c": customer_id, "p": [second], "l": [line(&medicine, 1, "H")]
        })).await["authorizeDispense"].clone();
        assert_eq!(legacy["covered"], false);
        assert_eq!(legacy["lines"][0]["reason"], "NO_PRESCRIBER");
    }
}

const AUTHORIZE_WITH_PRESCRIBER: &str = "query($c: ID!, $p: [ID!]!, $l: [DispenseLineInput!]!) { authorizeDispense(customerId: $c, prescriptionIds: $p, lines: $l) { covered lines { medicineId covered prescriptionId reason patientName prescriberName prescriberRegistration } } }";
