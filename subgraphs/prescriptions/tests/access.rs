//! Whose prescriptions a pharmacy sees, over HTTP to the subgraph on both
//! backends: a prescription is submitted to one pharmacy, and only that
//! pharmacy's pharmacists see it in their queue, open it and its document,
//! and review it; staff of a pharmacy whose order dispenses against it may
//! read it; a platform admin only with a reason; every document read is in
//! the audit trail and a document link opens once; a family member must be
//! the customer's own (asked of the real users subgraph).

mod support;

use janta_platform::auth::Role;
use janta_platform::demo::{CUSTOMER_ID, VENDOR_KA_ADMIN_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};
use support::*;

/// A third pharmacy, with no part in any prescription below.
const VENDOR_TN: &str = "019a0000-0000-7000-8000-0000000000a3";
const ENTITY: &str =
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Prescription { id } } }";
const USER_PRESCRIPTIONS: &str = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { prescriptions { totalCount } } } }";
const REASON: &str = "complaint #4711 about a refused order";
const ACCESS_LOG: &str = "query($id: ID!) { prescriptionAccessLog(prescriptionId: $id) { actor action ground reason at } }";

fn approve(id: &str) -> Value {
    json!({"input": {"prescriptionId": id, "decision": "APPROVE",
        "lines": [{"medicineId": new_id(), "maxQuantity": 1}]}})
}

fn reject(id: &str) -> Value {
    json!({"input": {"prescriptionId": id, "decision": "REJECT", "notes": "the dosage is illegible"}})
}

fn queued(queue: &Value) -> Vec<String> {
    queue["prescriptionsToReview"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
    async fn only_the_chosen_pharmacy_sees_opens_and_reviews_it(db) {
        let env = start(&db).await;
        let owner = env.customer(&new_id());
        let rx = env.submit_to(&owner, Some(VENDOR_KA)).await;
        let mh = env.pharmacist(&new_id(), VENDOR_MH);

        // Another pharmacy's pharmacist: not in their queue, and refused
        // opening it, its document or reviewing it, by every route.
        let queue = env.gql.data(Some(&mh), QUEUE, json!({"first": 50})).await;
        assert!(queued(&queue).is_empty(), "{queue}");
        let attempts = [
            (ONE, json!({"id": rx})),
            (DOC_URL, json!({"id": rx})),
            (ENTITY, json!({"r": [{"__typename": "Prescription", "id": rx}]})),
            (REVIEW, approve(&rx)),
            (REVIEW, reject(&rx)),
        ];
        for (query, vars) in attempts {
            let body = env.gql.send(Some(&mh), query, vars).await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{query}: {body}");
        }
        // Nor another customer, nor the chosen pharmacy's vendor admin.
        for token in [env.customer(&new_id()), env.vendor_admin(&new_id(), VENDOR_KA)] {
            for query in [ONE, DOC_URL] {
                let body = env.gql.send(Some(&token), query, json!({"id": rx})).await;
                assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
            }
        }
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions WHERE status <> 'SUBMITTED'").await, 0);
        assert_eq!(env.count("SELECT COUNT(*) FROM prescription_document_links").await, 0);

        // The chosen pharmacy's pharmacist sees, opens and reviews it.
        let ka = env.pharmacist(&new_id(), VENDOR_KA);
        let queue = env.gql.data(Some(&ka), QUEUE, json!({"first": 50})).await;
        assert_eq!(queued(&queue), vec![rx.clone()]);
        let one = env.gql.data(Some(&ka), ONE, json!({"id": rx})).await;
        assert_eq!(one["prescription"]["pharmacy"]["id"], VENDOR_KA);
        let (status, _) = env.open_document(&ka, &rx, None).await;
        assert_eq!(status, 200);
        let reviewed = env.gql.data(Some(&ka), REVIEW, approve(&rx)).await;
        assert_eq!(reviewed["reviewPrescription"]["status"], "APPROVED");
        // Reviewed, it stays closed to the other pharmacy.
        let after = env.gql.send(Some(&mh), ONE, json!({"id": rx})).await;
        assert_eq!(error_code(&after).as_deref(), Some("FORBIDDEN"));
    }

    async fn without_a_pharmacy_no_pharmacist_sees_it_until_the_customer_picks_one(db) {
        let env = start(&db).await;
        let owner = env.customer(&new_id());
        let rx = env.submit_to(&owner, None).await;
        let ka = env.pharmacist(&new_id(), VENDOR_KA);
        let mh = env.pharmacist(&new_id(), VENDOR_MH);
        for pharmacist in [&ka, &mh] {
            let queue = env.gql.data(Some(pharmacist), QUEUE, json!({})).await;
            assert!(queued(&queue).is_empty(), "{queue}");
            for (query, vars) in [(ONE, json!({"id": rx})), (REVIEW, reject(&rx))] {
                let body = env.gql.send(Some(pharmacist), query, vars).await;
                assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
            }
        }
        // Only its owner picks the pharmacy.
        let stranger = env.gql.send(Some(&env.customer(&new_id())), ASSIGN, json!({"id": rx, "v": VENDOR_MH})).await;
        assert_eq!(error_code(&stranger).as_deref(), Some("NOT_FOUND"), "{stranger}");
        let assigned = env.gql.data(Some(&owner), ASSIGN, json!({"id": rx, "v": VENDOR_MH})).await;
        assert_eq!(assigned["assignPrescriptionPharmacy"]["pharmacy"]["id"], VENDOR_MH);
        assert_eq!(queued(&env.gql.data(Some(&mh), QUEUE, json!({})).await), vec![rx.clone()]);
        assert!(queued(&env.gql.data(Some(&ka), QUEUE, json!({})).await).is_empty());
        // Moved to KA before review, MH loses it.
        env.gql.data(Some(&owner), ASSIGN, json!({"id": rx, "v": VENDOR_KA})).await;
        let moved = env.gql.send(Some(&mh), REVIEW, reject(&rx)).await;
        assert_eq!(error_code(&moved).as_deref(), Some("FORBIDDEN"));
        env.gql.data(Some(&ka), REVIEW, reject(&rx)).await;
        // Reviewed, it cannot move.
        let late = env.gql.send(Some(&owner), ASSIGN, json!({"id": rx, "v": VENDOR_MH})).await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "{late}");
        let one = env.gql.data(Some(&owner), ONE, json!({"id": rx})).await;
        assert_eq!(one["prescription"]["pharmacy"]["id"], VENDOR_KA);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'pharmacy_assigned'").await, 2);
        let (with_vendor,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'PrescriptionSubmitted' AND payload LIKE $1")
            .bind(format!("%{VENDOR_KA}%"))
            .fetch_one(env.store.pool()).await.unwrap();
        assert_eq!(with_vendor, 1, "the pharmacy it moved to is told");
    }

    async fn a_pharmacy_dispensing_against_it_may_read_it(db) {
        let env = start(&db).await;
        let customer_id = new_id();
        let customer = env.customer(&customer_id);
        let medicine = new_id();
        let rx = env.approved(&customer, &[(&medicine, 10)]).await;
        let mh_admin_id = new_id();
        let mh_admin = env.vendor_admin(&mh_admin_id, VENDOR_MH);
        let mh_pharmacist = env.pharmacist(&new_id(), VENDOR_MH);
        let before = env.gql.send(Some(&mh_admin), ONE, json!({"id": rx})).await;
        assert_eq!(error_code(&before).as_deref(), Some("FORBIDDEN"), "no order yet");

        // An MH order is paid: orders consumes from the prescription for MH.
        let order = new_id();
        let service = env.service();
        env.gql.data(Some(&service), CONSUME, json!({"o": order, "c": customer_id, "p": [rx],
            "l": [line(&medicine, 2, "H")], "v": VENDOR_MH})).await;
        for token in [&mh_admin, &mh_pharmacist] {
            let one = env.gql.data(Some(token), ONE, json!({"id": rx})).await;
            assert_eq!(one["prescription"]["id"], rx.as_str());
            let (status, _) = env.open_document(token, &rx, None).await;
            assert_eq!(status, 200);
        }
        let issued = env.audited(&rx, "document_link_issued", &mh_admin_id).await;
        assert_eq!(issued[0]["ground"], "DISPENSING_PHARMACY");
        let third = env.vendor_admin(&new_id(), VENDOR_TN);
        let refused = env.gql.send(Some(&third), DOC_URL, json!({"id": rx})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));

        // Once the order is cancelled and its quantities restored, no longer.
        env.gql.data(Some(&service), "mutation($o: ID!) { restore(orderId: $o) { status } }", json!({"o": order})).await;
        let after = env.gql.send(Some(&mh_admin), ONE, json!({"id": rx})).await;
        assert_eq!(error_code(&after).as_deref(), Some("FORBIDDEN"));
    }

    async fn admins_read_only_with_a_reason_and_it_is_audited(db) {
        let env = start(&db).await;
        let owner_id = new_id();
        let owner = env.customer(&owner_id);
        let rx = env.submit_to(&owner, Some(VENDOR_KA)).await;
        let admin_id = new_id();
        let admin = env.issuer.token_for(&admin_id, &[Role::Admin], None);

        for query in [ONE, DOC_URL] {
            for reason in [Value::Null, json!("   ")] {
                let body = env.gql.send(Some(&admin), query, json!({"id": rx, "reason": reason})).await;
                assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
            }
            let curt = env.gql.send(Some(&admin), query, json!({"id": rx, "reason": "why"})).await;
            assert_eq!(error_code(&curt).as_deref(), Some("BAD_USER_INPUT"), "{curt}");
        }
        let entity = env.gql.send(Some(&admin), ENTITY, json!({"r": [{"__typename": "Prescription", "id": rx}]})).await;
        assert_eq!(error_code(&entity).as_deref(), Some("FORBIDDEN"));
        let listed = env.gql.send(Some(&admin), USER_PRESCRIPTIONS, json!({"r": [{"__typename": "User", "id": owner_id}]})).await;
        assert_eq!(error_code(&listed).as_deref(), Some("FORBIDDEN"));
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE actor = '{admin_id}'");
        assert_eq!(env.count(&sql).await, 0, "a refused read records nothing");

        let one = env.gql.data(Some(&admin), ONE, json!({"id": rx, "reason": REASON})).await;
        assert_eq!(one["prescription"]["id"], rx.as_str());
        assert_eq!(env.audited(&rx, "read_for_audit", &admin_id).await,
            vec![json!({"ground": "AUDIT", "reason": REASON})]);
        let (status, _) = env.open_document(&admin, &rx, Some(REASON)).await;
        assert_eq!(status, 200);
        let issued = env.audited(&rx, "document_link_issued", &admin_id).await;
        assert_eq!(issued.len(), 1);
        assert_eq!((&issued[0]["ground"], &issued[0]["reason"]), (&json!("AUDIT"), &json!(REASON)));
        let downloaded = env.audited(&rx, "document_downloaded", &admin_id).await;
        assert_eq!(downloaded.len(), 1);
        assert_eq!(downloaded[0]["linkId"], issued[0]["linkId"]);
    }

    async fn every_document_read_is_audited_and_a_link_opens_once(db) {
        let env = start(&db).await;
        let owner_id = new_id();
        let owner = env.customer(&owner_id);
        let medicine = new_id();
        let rx = env.approved(&owner, &[(&medicine, 5)]).await;
        env.gql.data(Some(&env.service()), CONSUME, json!({"o": new_id(), "c": owner_id, "p": [rx],
            "l": [line(&medicine, 1, "H")], "v": VENDOR_MH})).await;
        let (ka_id, mh_id, admin_id) = (new_id(), new_id(), new_id());
        let readers = [
            (owner_id.clone(), owner.clone(), None, "OWNER"),
            (ka_id.clone(), env.pharmacist(&ka_id, VENDOR_KA), None, "PHARMACY"),
            (mh_id.clone(), env.vendor_admin(&mh_id, VENDOR_MH), None, "DISPENSING_PHARMACY"),
            (admin_id.clone(), env.issuer.token_for(&admin_id, &[Role::Admin], None), Some(REASON), "AUDIT"),
        ];
        for (actor, token, reason, ground) in &readers {
            let (status, url) = env.open_document(token, &rx, *reason).await;
            assert_eq!(status, 200, "{ground}");
            let issued = env.audited(&rx, "document_link_issued", actor).await;
            assert_eq!((issued.len(), &issued[0]["ground"]), (1, &json!(ground)));
            assert!(issued[0]["expiresAt"].as_str().is_some());
            // A link opens once: forwarded or replayed, it is refused.
            let again = env.http.get(&url).send().await.unwrap();
            assert_eq!(again.status(), 410, "{ground}");
            let body: Value = again.json().await.unwrap();
            assert_eq!(body["error"]["code"], "LINK_USED");
            assert_eq!(env.audited(&rx, "document_downloaded", actor).await.len(), 1, "{ground}");
        }
        // A link past its recorded expiry is refused and not counted as read.
        let link = env.gql.data(Some(&owner), DOC_URL, json!({"id": rx})).await;
        let url = env.local(link["prescriptionDocumentUrl"]["url"].as_str().unwrap());
        sqlx::query("UPDATE prescription_document_links SET expires_at = $1 WHERE used_at IS NULL")
            .bind(janta_platform::scalars::to_db_time(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(env.store.pool()).await.unwrap();
        assert_eq!(env.http.get(&url).send().await.unwrap().status(), 410);
        // Two downloads of one link at once: exactly one gets the document.
        let link = env.gql.data(Some(&owner), DOC_URL, json!({"id": rx})).await;
        let url = env.local(link["prescriptionDocumentUrl"]["url"].as_str().unwrap());
        let racers = (0..4).map(|_| {
            let (http, url) = (env.http.clone(), url.clone());
            async move { http.get(&url).send().await.unwrap().status().as_u16() }
        });
        let mut statuses = futures::future::join_all(racers).await;
        statuses.sort();
        assert_eq!(statuses, vec![200, 410, 410, 410]);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'document_link_issued'").await, 6);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'document_downloaded'").await, 5);

        // The customer (and admins) see who opened it, on what ground and why.
        let log = env.gql.data(Some(&owner), ACCESS_LOG, json!({"id": rx})).await;
        let entries = log["prescriptionAccessLog"].as_array().unwrap();
        assert_eq!(entries.len(), 11, "{log}");
        let admin_download = entries.iter().find(|e| e["actor"] == admin_id.as_str() && e["action"] == "DOCUMENT_DOWNLOADED").unwrap();
        assert_eq!((&admin_download["ground"], &admin_download["reason"]), (&json!("AUDIT"), &json!(REASON)));
        assert!(entries.iter().any(|e| e["actor"] == mh_id.as_str() && e["ground"] == "DISPENSING_PHARMACY"));
        let (_, admin, _, _) = &readers[3];
        let seen = env.gql.data(Some(admin), ACCESS_LOG, json!({"id": rx})).await;
        assert_eq!(seen["prescriptionAccessLog"].as_array().unwrap().len(), 11);
        for token in [env.pharmacist(&new_id(), VENDOR_KA), env.customer(&new_id())] {
            let refused = env.gql.send(Some(&token), ACCESS_LOG, json!({"id": rx})).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
    }

    async fn a_family_member_must_be_the_customers_own(db) {
        let (env, users) = start_with_users(&db).await;
        let mine = users.add_family_member(CUSTOMER_ID, "Meera Customer").await;
        let theirs = users.add_family_member(VENDOR_KA_ADMIN_ID, "Someone Else").await;
        let customer = env.customer(CUSTOMER_ID);
        let (upload_id, url) = env.create_upload(&customer).await;
        let (status, body) = env.put(&url, pdf(), Some("application/pdf")).await;
        assert_eq!(status, 200, "{body}");
        for foreign in [theirs.clone(), new_id()] {
            let body = env.gql.send(Some(&customer), SUBMIT, submit_vars(&upload_id, Some(&foreign))).await;
            assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body}");
        }
        assert_eq!(env.count("SELECT COUNT(*) FROM prescriptions").await, 0, "nothing stored");
        assert_eq!(env.upload_status(&upload_id).await, "UPLOADED", "the upload is still usable");
        assert_eq!(env.count("SELECT COUNT(*) FROM outbox").await, 0);
        assert_eq!(env.count("SELECT COUNT(*) FROM audit_log WHERE action = 'submitted'").await, 0);

        let submitted = env.gql.data(Some(&customer), SUBMIT, submit_vars(&upload_id, Some(&mine))).await;
        let id = submitted["submitPrescription"]["id"].as_str().unwrap();
        let one = env.gql.data(Some(&customer), ONE, json!({"id": id})).await;
        assert_eq!(one["prescription"]["familyMemberId"], mine.as_str());
    }
}
