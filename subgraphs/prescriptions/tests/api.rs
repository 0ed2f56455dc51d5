//! The prescriptions subgraph over HTTP, directly (not through the router),
//! on both SQLite and PostgreSQL: the whole flow with a real PDF and PNG
//! (signed upload, submit, queue, review, reading, document links), then the
//! refusals a real client meets — each with nothing stored.

mod support;

use janta_prescriptions::documents::UrlSigner;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::*;

/// (what, bytes, declared Content-Type, expected HTTP status, expected error code)
type BadFile = (
    &'static str,
    Vec<u8>,
    Option<&'static str>,
    u16,
    &'static str,
);

both_backends! {
    async fn whole_flow_with_a_pdf_and_a_png(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);

        // PDF for the customer themself.
        let (pdf_upload, pdf_url) = env.create_upload(&customer).await;
        let original = pdf();
        let (status, body) = env.put(&pdf_url, original.clone(), Some("application/pdf")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["contentType"], "application/pdf");
        assert_eq!(body["sizeBytes"], original.len());
        let first = env.gql.data(Some(&customer), SUBMIT, submit_vars(&pdf_upload, None)).await;
        let first = first["submitPrescription"].clone();
        assert_eq!(first["status"], "SUBMITTED");
        assert!(first["submittedAt"].as_str().is_some());

        // A PNG too (family members: see tests/access.rs, with users).
        let (png_upload, png_url) = env.create_upload(&customer).await;
        let (status, body) = env.put(&png_url, png(), Some("image/png")).await;
        assert_eq!(status, 200, "{body}");
        let second = env.gql.data(Some(&customer), SUBMIT, submit_vars(&png_upload, None)).await;
        let second = second["submitPrescription"].clone();
        assert_eq!(env.files(), 2);

        // The queue: oldest first, with the owner for the router to resolve.
        let ka_pharmacist = env.pharmacist(&new_id(), VENDOR_KA);
        let queue = env.gql.data(Some(&ka_pharmacist), QUEUE, json!({"first": 10})).await;
        let edges = queue["prescriptionsToReview"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[0]["node"]["id"], first["id"]);
        assert_eq!(edges[1]["node"]["id"], second["id"]);
        assert_eq!(edges[0]["node"]["owner"]["id"], customer_id.as_str());
        assert_eq!(edges[0]["node"]["patientName"], "Chitra Customer");

        // The pharmacy they were submitted to may look at a queued document;
        // another pharmacy's pharmacist sees neither the queue entry nor the document.
        let link = env.gql.data(Some(&ka_pharmacist), DOC_URL, json!({"id": second["id"]})).await;
        assert_eq!(link["prescriptionDocumentUrl"]["contentType"], "image/png");
        let mh_pharmacist = env.pharmacist(&new_id(), VENDOR_MH);
        let mh_queue = env.gql.data(Some(&mh_pharmacist), QUEUE, json!({"first": 10})).await;
        assert_eq!(mh_queue["prescriptionsToReview"]["edges"], json!([]));
        let refused = env.gql.send(Some(&mh_pharmacist), DOC_URL, json!({"id": second["id"]})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));

        // Approve the PDF with lines; reject the PNG with a reason.
        let (m1, m2) = (new_id(), new_id());
        let approved = env.gql.data(Some(&ka_pharmacist), REVIEW, json!({"input": {
            "prescriptionId": first["id"], "decision": "APPROVE",
            "lines": [{"medicineId": m1, "maxQuantity": 10}, {"medicineId": m2, "maxQuantity": 2}],
            "notes": "twice daily after food"
        }})).await["reviewPrescription"].clone();
        assert_eq!(approved["status"], "APPROVED");
        let issued = janta_prescriptions::domain::today() - chrono::Duration::days(2);
        let default_validity = issued + chrono::Duration::days(30);
        assert_eq!(approved["validUntil"], default_validity.format("%Y-%m-%d").to_string());
        assert_eq!(approved["lines"], json!([
            {"maxQuantity": 10, "remainingQuantity": 10, "medicine": {"id": m1}},
            {"maxQuantity": 2, "remainingQuantity": 2, "medicine": {"id": m2}},
        ]));
        let rejected = env.gql.data(Some(&ka_pharmacist), REVIEW, json!({"input": {
            "prescriptionId": second["id"], "decision": "REJECT", "notes": "the dosage is illegible"
        }})).await["reviewPrescription"].clone();
        assert_eq!(rejected["status"], "REJECTED");
        assert_eq!(rejected["lines"], json!([]));

        // The customer's view.
        let mine = env.gql.data(Some(&customer), MINE, json!({"first": 10})).await;
        let nodes: Vec<&Value> = mine["myPrescriptions"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0]["id"], second["id"], "newest first");
        assert_eq!(nodes[0]["status"], "REJECTED");
        assert_eq!(nodes[1]["status"], "APPROVED");
        let only_approved = env.gql.data(Some(&customer),
            "{ myPrescriptions(status: APPROVED) { totalCount edges { node { id } } } }", json!({})).await;
        assert_eq!(only_approved["myPrescriptions"]["totalCount"], 1);
        let one = env.gql.data(Some(&customer), ONE, json!({"id": second["id"]})).await["prescription"].clone();
        assert_eq!(one["familyMemberId"], Value::Null);
        assert_eq!(one["pharmacy"]["id"], VENDOR_KA);
        assert_eq!(one["reviewNotes"], "the dosage is illegible");
        assert_eq!(one["reviewingVendor"]["id"], VENDOR_KA);
        assert_eq!(one["doctorRegistrationNumber"], "KMC 45678");
        assert_eq!(one["document"]["contentType"], "image/png");
        let users_view = env.gql.data(Some(&customer),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { prescriptions(first: 5) { edges { node { id status } } } } } }",
            json!({"r": [{"__typename": "User", "id": customer_id}]})).await;
        assert_eq!(users_view["_entities"][0]["prescriptions"]["edges"].as_array().unwrap().len(), 2);

        // Documents: the owner and the reviewing vendor's pharmacist get the exact bytes.
        for token in [&customer, &ka_pharmacist] {
            let link = env.gql.data(Some(token), DOC_URL, json!({"id": first["id"]})).await;
            let url = env.local(link["prescriptionDocumentUrl"]["url"].as_str().unwrap());
            let response = env.http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "application/pdf");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
            assert_eq!(response.bytes().await.unwrap().to_vec(), original);
        }
        // After review, another vendor's pharmacist may no longer see it.
        let refused = env.gql.send(Some(&mh_pharmacist), DOC_URL, json!({"id": first["id"]})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));

        // Events and the audit trail.
        for (event, n) in [("PrescriptionSubmitted", 2), ("PrescriptionApproved", 1), ("PrescriptionRejected", 1)] {
            let sql = format!("SELECT COUNT(*) FROM outbox WHERE event_type = '{event}'");
            assert_eq!(env.count(&sql).await, n, "{event}");
        }
        for (action, n) in [("submitted", 2), ("approved", 1), ("rejected", 1),
            ("document_link_issued", 3), ("document_downloaded", 2)] {
            let sql = format!("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'prescription' AND action = '{action}'");
            assert_eq!(env.count(&sql).await, n, "{action}");
        }
    }

    async fn bad_files_are_refused_and_nothing_is_stored(db) {
        let env = start(&db).await;
        let customer = env.customer(&new_id());
        let (upload_id, url) = env.create_upload(&customer).await;
        let truncated_pdf = pdf()[..60].to_vec();
        let mut truncated_png = png();
        truncated_png.truncate(truncated_png.len() - 6);
        let mut too_big = pdf();
        too_big.resize(10 * 1024 * 1024 + 1, b' ');
        let cases: Vec<BadFile> = vec![
            ("text named .pdf", b"Please give me antibiotics.\n".to_vec(), Some("application/pdf"), 415, "UNSUPPORTED_FILE_TYPE"),
            ("empty", vec![], Some("application/pdf"), 400, "EMPTY_FILE"),
            ("truncated pdf", truncated_pdf, Some("application/pdf"), 400, "DAMAGED_FILE"),
            ("truncated png", truncated_png, Some("image/png"), 400, "DAMAGED_FILE"),
            ("png declared as pdf", png(), Some("application/pdf"), 415, "TYPE_MISMATCH"),
            ("pdf declared as text", pdf(), Some("text/plain"), 415, "UNSUPPORTED_FILE_TYPE"),
            ("10 MB + 1 byte", too_big, Some("application/pdf"), 413, "FILE_TOO_LARGE"),
        ];
        for (what, bytes, content_type, status, code) in cases {
            let (got, body) = env.put(&url, bytes, content_type).await;
            assert_eq!(got, status, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
            assert_eq!(env.files(), 0, "{what}: nothing stored");
            assert_eq!(env.upload_status(&upload_id).await, "PENDING", "{what}");
        }
        // Streamed without a Content-Length, the limit holds while reading.
        let mut streamed = pdf();
        streamed.resize(10 * 1024 * 1024 + 1, b' ');
        let (status, body) = env.put_chunked(&url, &streamed, "application/pdf").await;
        assert_eq!((status, body["error"]["code"].as_str()), (413, Some("FILE_TOO_LARGE")), "{body}");
        let (status, body) = env.put_chunked(&url, b"not a prescription", "application/pdf").await;
        assert_eq!((status, body["error"]["code"].as_str()), (415, Some("UNSUPPORTED_FILE_TYPE")), "{body}");
        assert_eq!(env.files(), 0, "streamed: nothing stored");
        assert_eq!(env.upload_status(&upload_id).await, "PENDING");
        // Submitting before a file arrived is refused.
        let early = env.gql.send(Some(&customer), SUBMIT, submit_vars(&upload_id, None)).await;
        assert_eq!(error_code(&early).as_deref(), Some("BAD_USER_INPUT"));
        // Exactly 10 MB is fine, and the link still works after the refusals.
        let mut exactly_max = pdf();
        let eof = exactly_max.split_off(exactly_max.len() - 6);
        exactly_max.resize(10 * 1024 * 1024 - eof.len(), b' ');
        exactly_max.extend_from_slice(&eof);
        let (status, body) = env.put(&url, exactly_max, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["contentType"], "application/pdf", "sniffed without Content-Type");
        // A reused link is refused, and stores nothing more.
        let (status, body) = env.put(&url, png(), Some("image/png")).await;
        assert_eq!(status, 410, "{body}");
        assert_eq!(body["error"]["code"], "LINK_USED");
        assert_eq!(env.files(), 1);
        env.gql.data(Some(&customer), SUBMIT, submit_vars(&upload_id, None)).await;
        let twice = env.gql.send(Some(&customer), SUBMIT, submit_vars(&upload_id, None)).await;
        assert_eq!(error_code(&twice).as_deref(), Some("CONFLICT"));
        let (status, _) = env.put(&url, pdf(), Some("application/pdf")).await;
        assert_eq!(status, 410, "used after submission");
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions").await, 1);
        assert_eq!(env.files(), 1);
        // Somebody else's upload cannot be submitted.
        let (other_upload, other_url) = env.create_upload(&customer).await;
        env.put(&other_url, pdf(), Some("application/pdf")).await;
        let thief = env.customer(&new_id());
        let stolen = env.gql.send(Some(&thief), SUBMIT, submit_vars(&other_upload, None)).await;
        assert_eq!(error_code(&stolen).as_deref(), Some("NOT_FOUND"));
        // Bad submission details write nothing.
        let mut future = submit_vars(&other_upload, None);
        future["input"]["issuedOn"] = json!((janta_prescriptions::domain::today() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string());
        let mut ancient = submit_vars(&other_upload, None);
        ancient["input"]["issuedOn"] = json!("2020-01-01");
        let mut bad_member = submit_vars(&other_upload, None);
        bad_member["input"]["familyMemberId"] = json!("not-an-id");
        for vars in [future, ancient, bad_member] {
            let body = env.gql.send(Some(&customer), SUBMIT, vars).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
        }
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions").await, 1);
        // Only customers create uploads.
        let refused = env.gql.send(Some(&env.pharmacist(&new_id(), VENDOR_KA)), CREATE_UPLOAD, json!({})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
        let anonymous = env.gql.send(None, CREATE_UPLOAD, json!({})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
    }

    async fn expired_and_forged_upload_links_are_refused(db) {
        let env = start(&db).await;
        let customer = env.customer(&new_id());
        let (upload_id, url) = env.create_upload(&customer).await;
        let base_url = url.split('?').next().unwrap().to_string();
        // A forged signature.
        let (status, body) = env.put(&format!("{base_url}?token=9999999999.AAAA"), pdf(), Some("application/pdf")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
        // No token at all.
        let (status, _) = env.put(&base_url, pdf(), Some("application/pdf")).await;
        assert_eq!(status, 403);
        // A token signed with another key.
        let stranger = UrlSigner::new("some other secret").upload_token(&upload_id, 9_999_999_999);
        let (status, _) = env.put(&format!("{base_url}?token={stranger}"), pdf(), Some("application/pdf")).await;
        assert_eq!(status, 403);
        // A correctly signed but expired token.
        let signer = UrlSigner::new(janta_platform::config::DEV_URL_SIGNING_SECRET);
        let past = chrono::Utc::now().timestamp() - 1;
        let expired = signer.upload_token(&upload_id, past);
        let (status, body) = env.put(&format!("{base_url}?token={expired}"), pdf(), Some("application/pdf")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (410, Some("LINK_EXPIRED")), "{body}");
        // The slot itself expired (the link's own token still looks valid).
        sqlx::query("UPDATE prescription_uploads SET expires_at = $1 WHERE id = $2")
            .bind(janta_platform::scalars::to_db_time(chrono::Utc::now() - chrono::Duration::seconds(5)))
            .bind(&upload_id)
            .execute(env.store.pool()).await.unwrap();
        let (status, body) = env.put(&url, pdf(), Some("application/pdf")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (410, Some("LINK_EXPIRED")), "{body}");
        assert_eq!(env.files(), 0);
        assert_eq!(env.upload_status(&upload_id).await, "PENDING");
        // A link for one upload does not open another.
        let (other_id, _) = env.create_upload(&customer).await;
        let token = url.split("token=").nth(1).unwrap();
        let (status, _) = env.put(&format!("{}/uploads/{other_id}?token={token}", env.base), pdf(), Some("application/pdf")).await;
        assert_eq!(status, 403);
        assert_eq!(env.files(), 0);
    }

    async fn other_people_cannot_read_a_prescription_or_its_document(db) {
        let env = start(&db).await;
        let owner_id = new_id();
        let owner = env.customer(&owner_id);
        let rx = env.submit_file(&owner, png(), "image/png").await;
        let id = rx["id"].as_str().unwrap();
        let other_id = new_id();
        let other = env.customer(&other_id);
        let vendor_admin = env.vendor_admin(&new_id(), VENDOR_KA);
        for token in [&other, &vendor_admin] {
            let read = env.gql.send(Some(token), ONE, json!({"id": id})).await;
            assert_eq!(error_code(&read).as_deref(), Some("FORBIDDEN"), "{read}");
            let link = env.gql.send(Some(token), DOC_URL, json!({"id": id})).await;
            assert_eq!(error_code(&link).as_deref(), Some("FORBIDDEN"), "{link}");
        }
        let entity = env.gql.send(Some(&other),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Prescription { id } } }",
            json!({"r": [{"__typename": "Prescription", "id": id}]})).await;
        assert_eq!(error_code(&entity).as_deref(), Some("FORBIDDEN"));
        let theirs = env.gql.send(Some(&other),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { prescriptions { totalCount } } } }",
            json!({"r": [{"__typename": "User", "id": owner_id}]})).await;
        assert_eq!(error_code(&theirs).as_deref(), Some("FORBIDDEN"));
        let mine = env.gql.data(Some(&other), MINE, json!({})).await;
        assert_eq!(mine["myPrescriptions"]["edges"], json!([]));
        let anonymous = env.gql.send(None, ONE, json!({"id": id})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        // Admins read neither without a reason (see tests/access.rs for with).
        let admin = env.admin();
        let admin_read = env.gql.send(Some(&admin), ONE, json!({"id": id})).await;
        assert_eq!(error_code(&admin_read).as_deref(), Some("FORBIDDEN"));
        let admin_doc = env.gql.send(Some(&admin), DOC_URL, json!({"id": id})).await;
        assert_eq!(error_code(&admin_doc).as_deref(), Some("FORBIDDEN"));

        // Document links: tampering or expiry refuses them.
        let link = env.gql.data(Some(&owner), DOC_URL, json!({"id": id})).await;
        let url = env.local(link["prescriptionDocumentUrl"]["url"].as_str().unwrap());
        assert_eq!(env.http.get(&url).send().await.unwrap().status(), 200);
        let later = url.replace("expires=", "expires=9");
        assert_eq!(env.http.get(&later).send().await.unwrap().status(), 403, "expiry is signed");
        let unsigned = url.split('&').next().unwrap().to_string();
        assert_eq!(env.http.get(&unsigned).send().await.unwrap().status(), 403);
        let signer = UrlSigner::new(janta_platform::config::DEV_URL_SIGNING_SECRET);
        let past = chrono::Utc::now().timestamp() - 1;
        let link_id = new_id();
        let expired = format!("{}/documents/{id}?link={link_id}&expires={past}&sig={}", env.base, signer.document_sig(id, &link_id, past));
        let response = env.http.get(&expired).send().await.unwrap();
        assert_eq!(response.status(), 410);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "LINK_EXPIRED");
        let other_doc = format!("{}/documents/{}?{}", env.base, new_id(), url.split('?').nth(1).unwrap());
        assert_eq!(env.http.get(&other_doc).send().await.unwrap().status(), 403, "a link opens one document");
    }

    async fn only_other_pharmacists_review_and_decisions_are_final(db) {
        let env = start(&db).await;
        let customer = env.customer(&new_id());
        let rx = env.submit_file(&customer, pdf(), "application/pdf").await;
        let id = rx["id"].as_str().unwrap();
        let approve = json!({"input": {"prescriptionId": id, "decision": "APPROVE",
            "lines": [{"medicineId": new_id(), "maxQuantity": 3}]}});
        for token in [customer.clone(), env.vendor_admin(&new_id(), VENDOR_KA), env.admin(), env.issuer.token_for(&new_id(), &[janta_platform::auth::Role::Pharmacist], None)] {
            let body = env.gql.send(Some(&token), REVIEW, approve.clone()).await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
            let queue = env.gql.send(Some(&token), QUEUE, json!({})).await;
            assert_eq!(error_code(&queue).as_deref(), Some("FORBIDDEN"), "{queue}");
        }
        // A pharmacist who is also a customer never reviews (or sees queued) their own.
        let both_id = new_id();
        let both = env.issuer.token_for(&both_id, &[janta_platform::auth::Role::Customer, janta_platform::auth::Role::Pharmacist], Some(VENDOR_KA));
        let own = env.submit_file(&both, png(), "image/png").await;
        let own_review = env.gql.send(Some(&both), REVIEW, json!({"input": {"prescriptionId": own["id"], "decision": "REJECT", "notes": "looks fine to me"}})).await;
        assert_eq!(error_code(&own_review).as_deref(), Some("FORBIDDEN"));
        let queue = env.gql.data(Some(&both), QUEUE, json!({})).await;
        let ids: Vec<&Value> = queue["prescriptionsToReview"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
        assert_eq!(ids, vec![&rx["id"]]);
        // Bad decisions.
        let pharmacist = env.pharmacist(&new_id(), VENDOR_KA);
        let bad = [
            json!({"prescriptionId": id, "decision": "REJECT"}),
            json!({"prescriptionId": id, "decision": "APPROVE", "lines": []}),
            json!({"prescriptionId": id, "decision": "APPROVE", "lines": [{"medicineId": new_id(), "maxQuantity": 0}]}),
            json!({"prescriptionId": id, "decision": "APPROVE", "lines": [{"medicineId": new_id(), "maxQuantity": 1}], "validUntil": "2020-01-01"}),
            json!({"prescriptionId": "nope", "decision": "REJECT", "notes": "unreadable"}),
        ];
        for input in bad {
            let body = env.gql.send(Some(&pharmacist), REVIEW, json!({"input": input})).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{input}: {body}");
        }
        let missing = env.gql.send(Some(&pharmacist), REVIEW, json!({"input": {"prescriptionId": new_id(), "decision": "REJECT", "notes": "unreadable"}})).await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"));
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions WHERE status <> 'SUBMITTED'").await, 0);
        // Reject, then approving the rejected one conflicts and changes nothing.
        env.gql.data(Some(&pharmacist), REVIEW, json!({"input": {"prescriptionId": id, "decision": "REJECT", "notes": "the patient's name is missing"}})).await;
        let again = env.gql.send(Some(&env.pharmacist(&new_id(), VENDOR_KA)), REVIEW, approve).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"), "{again}");
        assert_eq!(env.count("SELECT COUNT(*) FROM prescription_lines").await, 0);
        let one = env.gql.data(Some(&customer), ONE, json!({"id": id})).await;
        assert_eq!(one["prescription"]["status"], "REJECTED");
        assert_eq!(one["prescription"]["reviewingVendor"]["id"], VENDOR_KA);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('approved', 'rejected')").await, 1);
    }

    async fn authorize_dispense_answers_line_by_line(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let (a, b, x) = (new_id(), new_id(), new_id());
        let rx = env.approved(&customer, &[(&a, 10), (&b, 2)]).await;
        let pending = env.submit_file(&customer, png(), "image/png").await;
        let service = env.service();
        let ask = |c: &str, p: Vec<&str>, l: Vec<Value>| json!({"c": c, "p": p, "l": l});

        let refused = env.gql.send(Some(&customer), AUTHORIZE, ask(&customer_id, vec![&rx], vec![line(&a, 1, "H")])).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "service principals only");

        let answer = env.gql.data(Some(&service), AUTHORIZE, ask(&customer_id, vec![&rx, pending["id"].as_str().unwrap()],
            vec![line(&a, 5, "H"), line(&b, 3, "H1"), line(&x, 1, "H"), line(&new_id(), 4, "OTC")])).await["authorizeDispense"].clone();
        assert_eq!(answer["covered"], false);
        let lines = answer["lines"].as_array().unwrap();
        assert_eq!((lines[0]["covered"].as_bool(), lines[0]["prescriptionId"].as_str()), (Some(true), Some(rx.as_str())));
        assert_eq!(lines[1]["reason"], "INSUFFICIENT_QUANTITY");
        assert_eq!(lines[2]["reason"], "NOT_APPROVED", "the other offered one awaits review");
        assert_eq!((lines[3]["covered"].as_bool(), &lines[3]["prescriptionId"]), (Some(true), &Value::Null));

        let stranger = env.gql.data(Some(&service), AUTHORIZE, ask(&new_id(), vec![&rx], vec![line(&a, 1, "H")])).await;
        assert_eq!(stranger["authorizeDispense"]["lines"][0]["reason"], "NOT_CUSTOMERS");
        let none = env.gql.data(Some(&service), AUTHORIZE, ask(&customer_id, vec![], vec![line(&a, 1, "H")])).await;
        assert_eq!(none["authorizeDispense"]["lines"][0]["reason"], "NO_PRESCRIPTION");
        let bad = env.gql.send(Some(&service), AUTHORIZE, ask(&customer_id, vec![&rx], vec![line(&a, 0, "H")])).await;
        assert_eq!(error_code(&bad).as_deref(), Some("BAD_USER_INPUT"));

        // Past its validity the prescription reads EXPIRED and covers nothing.
        let yesterday = janta_prescriptions::domain::today() - chrono::Duration::days(1);
        sqlx::query("UPDATE prescriptions SET valid_until = $1 WHERE id = $2")
            .bind(yesterday.format("%Y-%m-%d").to_string()).bind(&rx)
            .execute(env.store.pool()).await.unwrap();
        let expired = env.gql.data(Some(&service), AUTHORIZE, ask(&customer_id, vec![&rx], vec![line(&a, 1, "H")])).await;
        assert_eq!(expired["authorizeDispense"]["covered"], false);
        assert_eq!(expired["authorizeDispense"]["lines"][0]["reason"], "EXPIRED");
        let consume = env.gql.send(Some(&service), CONSUME, json!({"o": new_id(), "c": customer_id, "p": [rx], "l": [line(&a, 1, "H")]})).await;
        assert_eq!(error_code(&consume).as_deref(), Some("PRESCRIPTION_REQUIRED"));
        assert_eq!(consume["errors"][0]["extensions"]["details"]["lines"][0]["reason"], "EXPIRED");
        assert_eq!(env.count("SELECT COUNT(*) FROM prescription_consumptions").await, 0);
        assert_eq!(env.count("SELECT CAST(COALESCE(SUM(consumed), 0) AS BIGINT) FROM prescription_lines").await, 0);
        let status = env.gql.data(Some(&customer), ONE, json!({"id": rx})).await;
        assert_eq!(status["prescription"]["status"], "EXPIRED");
        let filtered = env.gql.data(Some(&customer), "{ myPrescriptions(status: EXPIRED) { totalCount } }", json!({})).await;
        assert_eq!(filtered["myPrescriptions"]["totalCount"], 1);
    }

    async fn consume_is_idempotent_per_order_and_restore_gives_back(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let a = new_id();
        let rx = env.approved(&customer, &[(&a, 10)]).await;
        let service = env.service();
        let order = new_id();
        let vars = json!({"o": order, "c": customer_id, "p": [rx], "l": [line(&a, 4, "H")], "v": VENDOR_MH});
        let first = env.gql.data(Some(&service), CONSUME, vars.clone()).await["consume"].clone();
        assert_eq!(first["status"], "CONSUMED");
        assert_eq!(first["lines"], json!([{"prescriptionId": rx, "medicineId": a, "quantity": 4, "wholePrescription": false}]));
        let retried = env.gql.data(Some(&service), CONSUME, vars.clone()).await["consume"].clone();
        assert_eq!(retried, first);
        let remaining = |body: &Value| body["prescription"]["lines"][0]["remainingQuantity"].as_i64();
        let one = env.gql.data(Some(&customer), ONE, json!({"id": rx})).await;
        assert_eq!(remaining(&one), Some(6), "consumed once");
        let denied = env.gql.send(Some(&customer), CONSUME, vars.clone()).await;
        assert_eq!(error_code(&denied).as_deref(), Some("FORBIDDEN"));

        // Order.prescriptions: the order's customer and its vendor's staff see it.
        let order_query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id prescriptions { id status } } } }";
        let reps = json!({"r": [{"__typename": "Order", "id": order}, {"__typename": "Order", "id": new_id()}]});
        for token in [&customer, &env.vendor_admin(&new_id(), VENDOR_MH)] {
            let seen = env.gql.data(Some(token), order_query, reps.clone()).await;
            assert_eq!(seen["_entities"][0]["prescriptions"], json!([{"id": rx, "status": "APPROVED"}]));
            assert_eq!(seen["_entities"][1]["prescriptions"], json!([]));
        }
        let outsider = env.gql.data(Some(&env.customer(&new_id())), order_query, reps).await;
        assert_eq!(outsider["_entities"][0]["prescriptions"], json!([]));

        // More than is left is refused as a whole.
        let greedy = env.gql.send(Some(&service), CONSUME, json!({"o": new_id(), "c": customer_id, "p": [rx], "l": [line(&a, 7, "H")]})).await;
        assert_eq!(error_code(&greedy).as_deref(), Some("PRESCRIPTION_REQUIRED"));

        // Restore gives the quantity back, once.
        let restored = env.gql.data(Some(&service), RESTORE, json!({"o": order})).await["restore"].clone();
        assert_eq!(restored["status"], "RESTORED");
        assert_eq!(restored["lines"][0]["quantity"], 4);
        let again = env.gql.data(Some(&service), RESTORE, json!({"o": order})).await["restore"].clone();
        assert_eq!(again, restored);
        let one = env.gql.data(Some(&customer), ONE, json!({"id": rx})).await;
        assert_eq!(remaining(&one), Some(10));
        let late = env.gql.send(Some(&service), CONSUME, vars).await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "a cancelled order does not consume again");
        let never = new_id();
        let tombstone = env.gql.data(Some(&service), RESTORE, json!({"o": never})).await;
        assert_eq!(tombstone["restore"]["lines"], json!([]));
        let after_cancel = env.gql.send(Some(&service), CONSUME, json!({"o": never, "c": customer_id, "p": [rx], "l": [line(&a, 1, "H")]})).await;
        assert_eq!(error_code(&after_cancel).as_deref(), Some("CONFLICT"));
        let one = env.gql.data(Some(&customer), ONE, json!({"id": rx})).await;
        assert_eq!(remaining(&one), Some(10));
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'consumed'").await, 1);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'restored'").await, 1);
    }

    async fn schedule_x_needs_a_prescription_per_order(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let (x, other) = (new_id(), new_id());
        let rx = env.approved(&customer, &[(&x, 10), (&other, 5)]).await;
        let service = env.service();
        let first = env.gql.data(Some(&service), CONSUME,
            json!({"o": new_id(), "c": customer_id, "p": [rx], "l": [line(&x, 2, "X")]})).await["consume"].clone();
        let lines = first["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "the whole prescription is spent: {first}");
        assert!(lines.iter().all(|l| l["wholePrescription"] == true));
        let one = env.gql.data(Some(&customer), ONE, json!({"id": rx})).await;
        for l in one["prescription"]["lines"].as_array().unwrap() {
            assert_eq!(l["remainingQuantity"], 0);
        }
        for (medicine, schedule) in [(&x, "X"), (&other, "H")] {
            let second = env.gql.send(Some(&service), CONSUME,
                json!({"o": new_id(), "c": customer_id, "p": [rx], "l": [line(medicine, 1, schedule)]})).await;
            assert_eq!(error_code(&second).as_deref(), Some("PRESCRIPTION_REQUIRED"), "{second}");
        }
        let why = env.gql.data(Some(&service), AUTHORIZE,
            json!({"c": customer_id, "p": [rx], "l": [line(&x, 1, "X")]})).await;
        assert_eq!(why["authorizeDispense"]["lines"][0]["reason"], "ALREADY_USED");
        // A partly used prescription cannot serve schedule X either.
        let fresh = env.approved(&customer, &[(&x, 10), (&other, 5)]).await;
        env.gql.data(Some(&service), CONSUME, json!({"o": new_id(), "c": customer_id, "p": [fresh], "l": [line(&other, 1, "H")]})).await;
        let used = env.gql.data(Some(&service), AUTHORIZE, json!({"c": customer_id, "p": [fresh], "l": [line(&x, 1, "X")]})).await;
        assert_eq!(used["authorizeDispense"]["lines"][0]["reason"], "ALREADY_USED");
    }

    async fn concurrent_orders_never_consume_more_than_approved(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let a = new_id();
        let rx = env.approved(&customer, &[(&a, 5)]).await;
        let service = env.service();
        let attempts = (0..20).map(|_| {
            let gql = env.gql.clone();
            let vars = json!({"o": new_id(), "c": customer_id, "p": [rx], "l": [line(&a, 1, "H")]});
            let token = service.clone();
            async move { gql.send(Some(&token), CONSUME, vars).await }
        });
        let mut succeeded = 0;
        for body in futures::future::join_all(attempts).await {
            match error_code(&body).as_deref() {
                None => succeeded += 1,
                Some("PRESCRIPTION_REQUIRED") => {}
                other => panic!("unexpected {other:?}: {body}"),
            }
        }
        assert_eq!(succeeded, 5);
        assert_eq!(env.count("SELECT CAST(COALESCE(SUM(consumed), 0) AS BIGINT) FROM prescription_lines").await, 5);
        assert_eq!(env.count("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM prescription_consumptions").await, 5);

        // Two orders of 3 on a line of 5: exactly one wins.
        let b = new_id();
        let rx2 = env.approved(&customer, &[(&b, 5)]).await;
        let pair = (0..2).map(|_| {
            let gql = env.gql.clone();
            let vars = json!({"o": new_id(), "c": customer_id, "p": [rx2], "l": [line(&b, 3, "H")]});
            let token = service.clone();
            async move { gql.send(Some(&token), CONSUME, vars).await }
        });
        let mut wins = 0;
        for body in futures::future::join_all(pair).await {
            if error_code(&body).is_none() {
                wins += 1;
            }
        }
        assert_eq!(wins, 1);
        let (consumed,): (i64,) = sqlx::query_as("SELECT consumed FROM prescription_lines WHERE prescription_id = $1")
            .bind(&rx2).fetch_one(env.store.pool()).await.unwrap();
        assert_eq!(consumed, 3);

        // The same order retried concurrently consumes once.
        let c = new_id();
        let rx3 = env.approved(&customer, &[(&c, 10)]).await;
        let order = new_id();
        let same = (0..8).map(|_| {
            let gql = env.gql.clone();
            let vars = json!({"o": order, "c": customer_id, "p": [rx3], "l": [line(&c, 2, "H")]});
            let token = service.clone();
            async move { gql.send(Some(&token), CONSUME, vars).await }
        });
        for body in futures::future::join_all(same).await {
            assert!(error_code(&body).is_none(), "{body}");
        }
        let (consumed,): (i64,) = sqlx::query_as("SELECT consumed FROM prescription_lines WHERE prescription_id = $1")
            .bind(&rx3).fetch_one(env.store.pool()).await.unwrap();
        assert_eq!(consumed, 2);
    }
}

#[tokio::test]
async fn production_refuses_the_development_link_secret() {
    let db = janta_testkit::TestDb::new(janta_testkit::Backend::Sqlite).await;
    let mut config = janta_testkit::config("prescriptions", &db, "http://127.0.0.1:9/unused");
    config.mode = janta_platform::config::Mode::Production;
    let Err(err) = janta_prescriptions::build(&config).await else {
        panic!("production started with the development secret");
    };
    assert!(
        format!("{err:#}").contains("JANTA_URL_SIGNING_SECRET"),
        "{err:#}"
    );
}
