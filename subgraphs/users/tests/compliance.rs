//! Pharmacy compliance in the users subgraph, over HTTP directly on the
//! subgraph and through its store, on both SQLite and PostgreSQL: branch
//! GSTINs, invoice series and the default shipping branch; drug licences
//! and the sweeper that suspends and reinstates selling; the orders
//! service's pharmacist lookup; optimistic locking of profile and address.

use chrono::{Days, Utc};
use janta_platform::auth::{service_scope, Principal, Role, TokenSigner};
use janta_platform::demo::{
    DEMO_PASSWORD, PHARMACIST_KA_ID, PHARMACIST_MH_ID, VENDOR_KA_ID, VENDOR_MH_ID,
};
use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

struct Users {
    gql: Gql,
    store: Store,
}

async fn start(db: &TestDb) -> Users {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let (router, store) = janta_users::build(&config).await.expect("users builds");
    janta_users::demo::seed(&store).await.unwrap();
    let base = janta_testkit::serve(router).await;
    Users {
        gql: Gql::new(format!("{base}/graphql")),
        store,
    }
}

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }";
const CREATE: &str = "mutation($input: CreateVendorInput!) { createVendor(input: $input) { id state gstin shippingBranch { id invoiceSeries } branches { id state gstin ships invoiceSeries } } }";
const ADD_BRANCH: &str = "mutation($v: ID!, $input: BranchInput!) { addVendorBranch(vendorId: $v, input: $input) { id state gstin ships invoiceSeries } }";
const SET_SHIPPING: &str = "mutation($v: ID!, $b: ID!) { setShippingBranch(vendorId: $v, branchId: $b) { id shippingBranch { id invoiceSeries } } }";
const RECORD: &str = "mutation($v: ID!, $f: DrugLicenceForm!, $n: String!, $d: Date!) { recordDrugLicence(vendorId: $v, form: $f, number: $n, validUntil: $d) { id form number validUntil expired } }";
const VENDOR: &str = "query($id: ID!) { vendor(id: $id) { status suspended drugLicences { form number validUntil } } }";
const APPOINTMENT: &str = "query($u: ID!, $v: ID!) { pharmacistAppointment(userId: $u, vendorId: $v) { userId fullName registrationNumber verifiedAt } }";

impl Users {
    async fn demo(&self, who: &str) -> String {
        let vars = json!({ "email": format!("{who}@janta.test"), "password": DEMO_PASSWORD });
        let data = self.gql.data(None, LOGIN, vars).await;
        data["login"]["accessToken"].as_str().unwrap().to_string()
    }

    async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        n
    }

    /// A Maharashtra vendor registered under the real GSTIN 27AAPFU0939F1ZV.
    async fn maharashtra_vendor(&self, admin: &str) -> Value {
        let input = json!({"input": {"name": "Konkan Medicals", "legalName": "Konkan Medicals LLP",
            "gstin": "27AAPFU0939F1ZV", "drugLicenceNumber": "MH-MUM-20B-9", "state": "MH",
            "branch": {"name": "Dadar", "line1": "7 Ranade Road", "city": "Mumbai", "state": "MH", "pincode": "400028"}}});
        self.gql.data(Some(admin), CREATE, input).await["createVendor"].clone()
    }
}

/// The orders service's token as the users token endpoint issues it.
fn service_token(service: &str) -> String {
    let signer = TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap();
    let caller = Principal {
        subject: format!("service:{service}"),
        roles: vec![Role::Service],
        vendor_id: None,
        scopes: vec![service_scope(service)],
    };
    signer.sign(&caller, Duration::from_secs(300)).unwrap().0
}

fn branch(name: &str, state: &str, gstin: Option<&str>, ships: Option<bool>) -> Value {
    json!({"name": name, "line1": "1 Main Road", "city": "Somewhere", "state": state,
        "pincode": "560001", "gstin": gstin, "ships": ships})
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

both_backends! {
    async fn branches_carry_checked_gstins_and_fixed_invoice_series(db) {
        let u = start(&db).await;
        let admin = u.demo("admin").await;
        let vendor = u.maharashtra_vendor(&admin).await;
        let first = &vendor["branches"][0];
        assert_eq!((first["gstin"].clone(), first["ships"].clone(), first["invoiceSeries"].clone()),
            (json!("27AAPFU0939F1ZV"), json!(true), json!("MH01")), "{vendor}");
        assert_eq!(vendor["shippingBranch"]["id"], first["id"], "the first shipping branch is the default");
        let v = vendor["id"].clone();

        let wrong_check = u.gql.send(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Jayanagar", "KA", Some("29AAPFU0939F1ZS"), None)})).await;
        assert_eq!(error_code(&wrong_check).as_deref(), Some("BAD_USER_INPUT"));
        assert!(message(&wrong_check).contains("check character"), "{wrong_check}");
        let wrong_state = u.gql.send(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Jayanagar", "KA", Some("27AAPFU0939F1ZV"), None)})).await;
        assert_eq!(error_code(&wrong_state).as_deref(), Some("BAD_USER_INPUT"));
        assert!(message(&wrong_state).contains("state prefix"), "{wrong_state}");
        let other_pan = u.gql.send(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Jayanagar", "KA", Some("29AAFCS5678B1Z3"), None)})).await;
        assert_eq!(error_code(&other_pan).as_deref(), Some("BAD_USER_INPUT"));
        assert!(message(&other_pan).contains("PAN"), "{other_pan}");
        let no_gstin = u.gql.send(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Jayanagar", "KA", None, Some(true))})).await;
        assert_eq!(error_code(&no_gstin).as_deref(), Some("BAD_USER_INPUT"), "{no_gstin}");

        let ka = u.gql.data(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Jayanagar", "KA", Some("29AAPFU0939F1ZR"), None)})).await["addVendorBranch"].clone();
        assert_eq!((ka["gstin"].clone(), ka["ships"].clone(), ka["invoiceSeries"].clone()),
            (json!("29AAPFU0939F1ZR"), json!(true), json!("KA01")));
        let store_room = u.gql.data(Some(&admin), ADD_BRANCH,
            json!({"v": v, "input": branch("Peenya store", "KA", None, None)})).await["addVendorBranch"].clone();
        assert_eq!((store_room["gstin"].clone(), store_room["ships"].clone(), store_room["invoiceSeries"].clone()),
            (Value::Null, json!(false), json!("KA02")));

        let moved = u.gql.data(Some(&admin), SET_SHIPPING, json!({"v": v, "b": ka["id"]})).await;
        assert_eq!(moved["setShippingBranch"]["shippingBranch"]["invoiceSeries"], "KA01");
        let not_shipping = u.gql.send(Some(&admin), SET_SHIPPING, json!({"v": v, "b": store_room["id"]})).await;
        assert_eq!(error_code(&not_shipping).as_deref(), Some("BAD_USER_INPUT"), "{not_shipping}");
        let other_vendors = u.gql.send(Some(&admin), SET_SHIPPING, json!({"v": VENDOR_KA_ID, "b": ka["id"]})).await;
        assert_eq!(error_code(&other_vendors).as_deref(), Some("NOT_FOUND"), "{other_vendors}");
        let stranger = u.demo("vendor.ka").await;
        let refused = u.gql.send(Some(&stranger), SET_SHIPPING, json!({"v": v, "b": ka["id"]})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
        let audited = u.count("SELECT COUNT(*) FROM audit_log WHERE action = 'shipping_branch_set'").await;
        assert_eq!(audited, 1);

        let bad_vendor = json!({"input": {"name": "Bad Check", "legalName": "Bad Check LLP",
            "gstin": "27AAPFU0939F1ZW", "drugLicenceNumber": "MH-MUM-20B-10", "state": "MH",
            "branch": {"name": "Dadar", "line1": "7 Ranade Road", "city": "Mumbai", "state": "MH", "pincode": "400028"}}});
        let refused = u.gql.send(Some(&admin), CREATE, bad_vendor).await;
        assert_eq!(error_code(&refused).as_deref(), Some("BAD_USER_INPUT"));
        assert!(message(&refused).contains("check character"), "{refused}");
    }

    async fn the_demo_vendors_ship_from_their_first_branch(db) {
        let u = start(&db).await;
        let query = "query($id: ID!) { vendor(id: $id) { gstin shippingBranch { gstin ships invoiceSeries state } drugLicences { form } } }";
        for (vendor, series) in [(VENDOR_KA_ID, "KA01"), (VENDOR_MH_ID, "MH01")] {
            let data = u.gql.data(None, query, json!({"id": vendor})).await["vendor"].clone();
            assert_eq!(data["shippingBranch"]["gstin"], data["gstin"]);
            assert_eq!(data["shippingBranch"]["invoiceSeries"], series);
            assert_eq!(data["drugLicences"].as_array().unwrap().len(), 2, "{data}");
        }
    }

    async fn an_expired_licence_suspends_selling_until_renewed_but_never_lifts_an_admins_suspension(db) {
        let u = start(&db).await;
        let vendor_ka = u.demo("vendor.ka").await;
        let yesterday = (Utc::now().date_naive() - Days::new(2)).to_string();
        let next_year = (Utc::now().date_naive() + Days::new(365)).to_string();
        let events = |t: &str| format!("SELECT COUNT(*) FROM outbox WHERE event_type = '{t}'");

        let customer = u.gql.send(None, RECORD,
            json!({"v": VENDOR_KA_ID, "f": "FORM_21", "n": "KA-BLR-21B-9", "d": yesterday})).await;
        assert_eq!(error_code(&customer).as_deref(), Some("UNAUTHENTICATED"));
        let mh_admin = u.demo("vendor.mh").await;
        let other = u.gql.send(Some(&mh_admin), RECORD,
            json!({"v": VENDOR_KA_ID, "f": "FORM_21", "n": "KA-BLR-21B-9", "d": yesterday})).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"));

        let lapsed = u.gql.data(Some(&vendor_ka), RECORD,
            json!({"v": VENDOR_KA_ID, "f": "FORM_21", "n": "KA-BLR-21B-9", "d": yesterday})).await;
        assert_eq!(lapsed["recordDrugLicence"]["expired"], true);
        let sweep = janta_users::service::licences::sweep(&u.store, Utc::now()).await.unwrap();
        assert_eq!(sweep, (1, 0));
        let data = u.gql.data(None, VENDOR, json!({"id": VENDOR_KA_ID})).await;
        assert_eq!(data["vendor"]["status"], "SUSPENDED");
        assert_eq!(data["vendor"]["drugLicences"].as_array().unwrap().len(), 3, "history kept");
        let (payload,): (String,) = sqlx::query_as(
            "SELECT payload FROM outbox WHERE event_type = 'VendorSuspended'")
            .fetch_one(u.store.pool()).await.unwrap();
        assert!(payload.contains("KA-BLR-21B-9"), "the reason names the licence: {payload}");
        let again = janta_users::service::licences::sweep(&u.store, Utc::now()).await.unwrap();
        assert_eq!(again, (0, 0), "a second sweep changes nothing");

        u.gql.data(Some(&vendor_ka), RECORD,
            json!({"v": VENDOR_KA_ID, "f": "FORM_21", "n": "KA-BLR-21B-10", "d": next_year})).await;
        let renewed = janta_users::service::licences::sweep(&u.store, Utc::now()).await.unwrap();
        assert_eq!(renewed, (0, 1));
        let data = u.gql.data(None, VENDOR, json!({"id": VENDOR_KA_ID})).await;
        assert_eq!(data["vendor"]["status"], "ACTIVE");
        assert_eq!(u.count(&events("VendorReinstated")).await, 1);

        // An admin's suspension stays when the licence is renewed.
        let admin = u.demo("admin").await;
        u.gql.data(Some(&mh_admin), RECORD,
            json!({"v": VENDOR_MH_ID, "f": "FORM_20", "n": "MH-PUN-20B-1", "d": yesterday})).await;
        assert_eq!(janta_users::service::licences::sweep(&u.store, Utc::now()).await.unwrap(), (1, 0));
        let suspend = "mutation($id: ID!) { suspendVendor(id: $id, reason: \"Complaint under review\") { status } }";
        u.gql.data(Some(&admin), suspend, json!({"id": VENDOR_MH_ID})).await;
        u.gql.data(Some(&mh_admin), RECORD,
            json!({"v": VENDOR_MH_ID, "f": "FORM_20", "n": "MH-PUN-20B-2", "d": next_year})).await;
        assert_eq!(janta_users::service::licences::sweep(&u.store, Utc::now()).await.unwrap(), (0, 0));
        let data = u.gql.data(None, VENDOR, json!({"id": VENDOR_MH_ID})).await;
        assert_eq!(data["vendor"]["status"], "SUSPENDED", "the admin's suspension stays");
        assert_eq!(u.count(&events("VendorReinstated")).await, 1);
        assert_eq!(u.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'drug_licence'").await, 4);

        let expiring = "query($d: Int) { drugLicencesExpiring(withinDays: $d) { number vendor { id } } }";
        let refused = u.gql.send(Some(&vendor_ka), expiring, json!({})).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        let soon = u.gql.data(Some(&admin), expiring, json!({})).await;
        assert_eq!(soon["drugLicencesExpiring"], json!([]), "renewed and demo licences are far off");
        let year = u.gql.data(Some(&admin), expiring, json!({"d": 366})).await;
        let numbers: Vec<&str> = year["drugLicencesExpiring"].as_array().unwrap().iter()
            .map(|l| l["number"].as_str().unwrap()).collect();
        assert_eq!(numbers.len(), 2, "{year}");
        assert!(numbers.contains(&"KA-BLR-21B-10") && numbers.contains(&"MH-PUN-20B-2"), "{year}");
    }

    async fn orders_learns_only_verified_appointments(db) {
        let u = start(&db).await;
        let orders = service_token("orders");
        let found = u.gql.data(Some(&orders), APPOINTMENT,
            json!({"u": PHARMACIST_KA_ID, "v": VENDOR_KA_ID})).await;
        let a = &found["pharmacistAppointment"];
        assert_eq!((a["userId"].clone(), a["fullName"].clone(), a["registrationNumber"].clone()),
            (json!(PHARMACIST_KA_ID), json!("Dr. Kavya Rao"), json!("KSPC/2019/04127")));
        assert!(a["verifiedAt"].is_string(), "{found}");
        let elsewhere = u.gql.data(Some(&orders), APPOINTMENT,
            json!({"u": PHARMACIST_MH_ID, "v": VENDOR_KA_ID})).await;
        assert_eq!(elsewhere["pharmacistAppointment"], Value::Null);
        let catalog = u.gql.send(Some(&service_token("catalog")), APPOINTMENT,
            json!({"u": PHARMACIST_KA_ID, "v": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&catalog).as_deref(), Some("FORBIDDEN"));
        let admin = u.demo("admin").await;
        let person = u.gql.send(Some(&admin), APPOINTMENT,
            json!({"u": PHARMACIST_KA_ID, "v": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&person).as_deref(), Some("FORBIDDEN"));

        let revoke = "mutation($u: ID!) { setUserRoles(userId: $u, roles: [CUSTOMER]) { roles } }";
        u.gql.data(Some(&admin), revoke, json!({"u": PHARMACIST_KA_ID})).await;
        let revoked = u.gql.data(Some(&orders), APPOINTMENT,
            json!({"u": PHARMACIST_KA_ID, "v": VENDOR_KA_ID})).await;
        assert_eq!(revoked["pharmacistAppointment"], Value::Null, "a revoked appointment does not count");

        let entity = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Vendor { id legalName verified suspended shippingBranch { id gstin ships invoiceSeries state } branches { id name line1 city state pincode gstin ships invoiceSeries } } } }";
        let vendor = u.gql.data(Some(&orders), entity,
            json!({"r": [{"__typename": "Vendor", "id": VENDOR_KA_ID}]})).await;
        let v = &vendor["_entities"][0];
        assert_eq!(v["legalName"], "Janta Demo Pharmacy Pvt Ltd");
        assert_eq!(v["shippingBranch"]["gstin"], "29AAACJ1234A1Z7");
        assert_eq!(v["branches"][0]["invoiceSeries"], "KA01");
    }

    async fn stale_profile_and_address_edits_are_conflicts(db) {
        let u = start(&db).await;
        let customer = u.demo("customer").await;
        let me = "query { me { version addresses { id version } } }";
        let read = u.gql.data(Some(&customer), me, json!({})).await;
        let version = read["me"]["version"].as_i64().unwrap();
        let update = "mutation($n: String!, $v: Int) { updateProfile(input: {fullName: $n}, expectedVersion: $v) { fullName version } }";
        let fresh = u.gql.data(Some(&customer), update, json!({"n": "Chitra C", "v": version})).await;
        assert_eq!(fresh["updateProfile"]["version"], version + 1);
        let stale = u.gql.send(Some(&customer), update, json!({"n": "Chitra D", "v": version})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"), "{stale}");
        let unguarded = u.gql.data(Some(&customer), update, json!({"n": "Chitra E", "v": null})).await;
        assert_eq!(unguarded["updateProfile"]["fullName"], "Chitra E");

        let address = read["me"]["addresses"][0].clone();
        let edit = "mutation($id: ID!, $v: Int) { updateAddress(id: $id, input: {line1: \"221 Indiranagar\", city: \"Bengaluru\", state: \"KA\", pincode: \"560038\"}, expectedVersion: $v) { version } }";
        let v = address["version"].as_i64().unwrap();
        let done = u.gql.data(Some(&customer), edit, json!({"id": address["id"], "v": v})).await;
        assert_eq!(done["updateAddress"]["version"], v + 1);
        let stale = u.gql.send(Some(&customer), edit, json!({"id": address["id"], "v": v})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"), "{stale}");

        let make_default = "mutation($id: ID!, $v: Int) { setDefaultAddress(id: $id, expectedVersion: $v) { isDefault version } }";
        let stale = u.gql.send(Some(&customer), make_default, json!({"id": address["id"], "v": v})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"), "{stale}");
        let kept = u.gql.data(Some(&customer), make_default, json!({"id": address["id"], "v": v + 1})).await;
        assert_eq!(kept["setDefaultAddress"]["isDefault"], true);
        let now_at = kept["setDefaultAddress"]["version"].as_i64().unwrap();
        let remove = "mutation($id: ID!, $v: Int) { removeAddress(id: $id, expectedVersion: $v) }";
        let stale = u.gql.send(Some(&customer), remove, json!({"id": address["id"], "v": v + 1})).await;
        assert_eq!(error_code(&stale).as_deref(), Some("CONFLICT"), "{stale}");
        let removed = u.gql.data(Some(&customer), remove, json!({"id": address["id"], "v": now_at})).await;
        assert_eq!(removed["removeAddress"], true);
    }
}
