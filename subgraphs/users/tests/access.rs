//! Trust boundaries of the users subgraph, over HTTP directly on the
//! subgraph, on both SQLite and PostgreSQL: who may appoint a pharmacist
//! (and when the role reaches a token), who may suspend a vendor, what a
//! viewer sees of another user, and registration that does not reveal
//! which e-mail addresses have accounts. Each attack is sent and refused.

use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::demo::{ADMIN_ID, DEMO_PASSWORD, VENDOR_KA_ID, VENDOR_MH_ID};
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
    assert!(
        janta_users::demo::seed(&store).await.unwrap(),
        "demo seeded"
    );
    let base = janta_testkit::serve(router).await;
    Users {
        gql: Gql::new(format!("{base}/graphql")),
        store,
    }
}

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresAt user { id email fullName roles } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }";
const PROPOSE: &str = "mutation($input: ProposePharmacistInput!) { proposePharmacist(input: $input) { id status council registrationNumber vendor { id } pharmacist { id fullName } } }";
const VERIFY: &str =
    "mutation($id: ID!) { verifyPharmacist(id: $id) { id status decidedBy decidedAt } }";
const APPOINTMENTS: &str = "query($status: PharmacistAppointmentStatus, $vendorId: ID) { pharmacistAppointments(status: $status, vendorId: $vendorId) { totalCount edges { node { id status vendor { id } } } } }";
const SET_ROLES: &str =
    "mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { roles } }";
const ENTITY: &str =
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }";
const ENTITY_EMAIL: &str =
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";

impl Users {
    async fn login(&self, email: &str, password: &str) -> String {
        let vars = json!({ "email": email, "password": password });
        let data = self.gql.data(None, LOGIN, vars).await;
        data["login"]["accessToken"].as_str().unwrap().to_string()
    }

    async fn demo(&self, who: &str) -> String {
        self.login(&format!("{who}@janta.test"), DEMO_PASSWORD)
            .await
    }

    async fn register(&self, email: &str, full_name: &str) -> Value {
        let input = json!({ "input": {
            "email": email, "password": "long enough pw", "fullName": full_name, "phone": null
        }});
        self.gql.send(None, REGISTER, input).await
    }

    async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        n
    }
}

fn dev_signer() -> TokenSigner {
    TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api").unwrap()
}

/// What the users subgraph put into an access token.
async fn claims_of(token: &str) -> Principal {
    dev_signer()
        .local_verifier()
        .unwrap()
        .verify(token)
        .await
        .unwrap()
}

fn service_token(service: &str) -> String {
    let principal = Principal {
        subject: format!("service:{service}"),
        roles: vec![Role::Service],
        vendor_id: None,
        scopes: vec![janta_platform::auth::service_scope(service)],
    };
    dev_signer()
        .sign(&principal, Duration::from_secs(300))
        .unwrap()
        .0
}

fn proposal(vendor: &str, email: &str, number: &str) -> Value {
    json!({ "input": {
        "vendorId": vendor, "email": email, "registrationNumber": number, "council": "KA"
    }})
}

fn user_reference(id: &Value) -> Value {
    json!({ "r": [{ "__typename": "User", "id": id }] })
}

/// The shape of a JSON value: its object keys, recursively, with leaves
/// reduced to their JSON type.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), shape(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Array(items) => items.iter().map(shape).collect(),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

both_backends! {
    async fn a_vendor_admin_cannot_make_a_pharmacist_without_admin_verification(db) {
        let u = start(&db).await;
        let vendor_ka = u.demo("vendor.ka").await;
        let candidate = u.register("new.pharmacist@example.com", "Nisha Pharmacist").await;
        let candidate_id = candidate["data"]["register"]["user"]["id"].clone();

        let direct = u.gql.send(Some(&vendor_ka),
            "mutation($v: ID!, $e: String!) { addVendorStaff(vendorId: $v, email: $e, role: PHARMACIST) { roles } }",
            json!({"v": VENDOR_KA_ID, "e": "new.pharmacist@example.com"})).await;
        assert_eq!(error_code(&direct).as_deref(), Some("BAD_USER_INPUT"), "{direct}");
        let elsewhere = u.gql.send(Some(&vendor_ka), PROPOSE,
            proposal(VENDOR_MH_ID, "new.pharmacist@example.com", "KSPC/2024/555")).await;
        assert_eq!(error_code(&elsewhere).as_deref(), Some("FORBIDDEN"), "{elsewhere}");

        let own_pharmacy = json!({ "input": { "email": "new.pharmacist@example.com",
            "registrationNumber": "kspc/2024/555", "council": "Karnataka State Pharmacy Council" }});
        let proposed = u.gql.data(Some(&vendor_ka), PROPOSE, own_pharmacy).await["proposePharmacist"].clone();
        assert_eq!(proposed["status"], "PENDING");
        assert_eq!(proposed["vendor"]["id"], VENDOR_KA_ID, "the proposer's own pharmacy");
        assert_eq!((proposed["council"].as_str(), proposed["registrationNumber"].as_str()),
            (Some("KA"), Some("KSPC/2024/555")));
        assert_eq!(proposed["pharmacist"]["fullName"], "Nisha Pharmacist");
        let twice = u.gql.send(Some(&vendor_ka), PROPOSE,
            proposal(VENDOR_KA_ID, "new.pharmacist@example.com", "KSPC/2024/556")).await;
        assert_eq!(error_code(&twice).as_deref(), Some("CONFLICT"), "{twice}");

        let pending = u.login("new.pharmacist@example.com", "long enough pw").await;
        let claims = claims_of(&pending).await;
        assert_eq!(claims.roles, vec![Role::Customer], "no PHARMACIST before verification");
        assert_eq!(claims.vendor_id, None);

        let id = json!({"id": proposed["id"]});
        let self_verified = u.gql.send(Some(&vendor_ka), VERIFY, id.clone()).await;
        assert_eq!(error_code(&self_verified).as_deref(), Some("FORBIDDEN"), "{self_verified}");
        let admin = u.demo("admin").await;
        let back_door = u.gql.send(Some(&admin), SET_ROLES,
            json!({"u": candidate_id, "r": ["CUSTOMER", "PHARMACIST"]})).await;
        assert_eq!(error_code(&back_door).as_deref(), Some("BAD_USER_INPUT"), "{back_door}");
        let still = claims_of(&u.login("new.pharmacist@example.com", "long enough pw").await).await;
        assert_eq!(still.roles, vec![Role::Customer]);

        let verified = u.gql.data(Some(&admin), VERIFY, id.clone()).await["verifyPharmacist"].clone();
        assert_eq!(verified["status"], "VERIFIED");
        assert_eq!(verified["decidedBy"], ADMIN_ID);
        let (actor, after): (String, String) = sqlx::query_as(
            "SELECT actor, after_json FROM audit_log WHERE entity_type = 'pharmacist_appointment' \
             AND entity_id = $1 AND action = 'verified'")
            .bind(proposed["id"].as_str().unwrap())
            .fetch_one(u.store.pool()).await.unwrap();
        assert_eq!(actor, ADMIN_ID);
        assert!(after.contains(ADMIN_ID), "{after}");
        let again = u.gql.send(Some(&admin), VERIFY, id).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"), "{again}");

        let active = claims_of(&u.login("new.pharmacist@example.com", "long enough pw").await).await;
        assert_eq!(active.roles, vec![Role::Customer, Role::Pharmacist]);
        assert_eq!(active.vendor_id.as_deref(), Some(VENDOR_KA_ID));

        u.gql.data(Some(&admin), SET_ROLES, json!({"u": candidate_id, "r": ["CUSTOMER"]})).await;
        let revoked = claims_of(&u.login("new.pharmacist@example.com", "long enough pw").await).await;
        assert_eq!(revoked.roles, vec![Role::Customer], "removing the role revokes the appointment");
        assert_eq!(revoked.vendor_id, None);
    }

    async fn appointments_are_listed_to_admins_and_their_own_vendor_only(db) {
        let u = start(&db).await;
        u.register("queued@example.com", "Queued Person").await;
        let vendor_ka = u.demo("vendor.ka").await;
        let queued = u.gql.data(Some(&vendor_ka), PROPOSE,
            proposal(VENDOR_KA_ID, "queued@example.com", "KSPC/77")).await["proposePharmacist"]["id"].clone();
        let pending = json!({"status": "PENDING"});

        let admin_token = u.demo("admin").await;
        let admin = u.gql.data(Some(&admin_token), APPOINTMENTS, pending.clone()).await;
        assert_eq!(admin["pharmacistAppointments"]["totalCount"], 1);
        let own = u.gql.data(Some(&vendor_ka), APPOINTMENTS, pending.clone()).await;
        assert_eq!(own["pharmacistAppointments"]["edges"][0]["node"]["vendor"]["id"], VENDOR_KA_ID);
        let verified = u.gql.data(Some(&vendor_ka), APPOINTMENTS, json!({"status": "VERIFIED"})).await;
        assert_eq!(verified["pharmacistAppointments"]["totalCount"], 1, "the demo pharmacist");

        let vendor_mh = u.demo("vendor.mh").await;
        let other = u.gql.data(Some(&vendor_mh), APPOINTMENTS, pending.clone()).await;
        assert_eq!(other["pharmacistAppointments"]["totalCount"], 0);
        let prying = u.gql.send(Some(&vendor_mh), APPOINTMENTS,
            json!({"status": "PENDING", "vendorId": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&prying).as_deref(), Some("FORBIDDEN"), "{prying}");
        let pharmacist = u.gql.send(Some(&u.demo("pharmacist.ka").await), APPOINTMENTS, pending.clone()).await;
        assert_eq!(error_code(&pharmacist).as_deref(), Some("FORBIDDEN"), "{pharmacist}");

        let reject = "mutation($id: ID!, $r: String!) { rejectPharmacist(id: $id, reason: $r) { status decidedBy decisionReason } }";
        let vars = json!({"id": queued, "r": "Not on the KSPC register"});
        let by_vendor = u.gql.send(Some(&vendor_ka), reject, vars.clone()).await;
        assert_eq!(error_code(&by_vendor).as_deref(), Some("FORBIDDEN"), "{by_vendor}");
        let rejected = u.gql.data(Some(&admin_token), reject, vars).await["rejectPharmacist"].clone();
        assert_eq!(rejected, json!({"status": "REJECTED", "decidedBy": ADMIN_ID,
            "decisionReason": "Not on the KSPC register"}));
        let late = u.gql.send(Some(&admin_token), VERIFY, json!({"id": queued})).await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "a rejected one stays rejected: {late}");
        let none = u.gql.data(Some(&admin_token), APPOINTMENTS, pending).await;
        assert_eq!(none["pharmacistAppointments"]["totalCount"], 0);
    }

    async fn only_admins_suspend_and_reinstate_vendors_and_each_change_is_published(db) {
        let u = start(&db).await;
        let suspend = "mutation($id: ID!, $r: String!) { suspendVendor(id: $id, reason: $r) { id suspended status } }";
        let reinstate = "mutation($id: ID!) { reinstateVendor(id: $id) { id suspended status } }";
        let vars = json!({"id": VENDOR_KA_ID, "r": "Drug licence lapsed"});
        let events = |t: &'static str| format!("SELECT COUNT(*) FROM outbox WHERE event_type = '{t}'");

        let anonymous = u.gql.send(None, suspend, vars.clone()).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let vendor_ka = u.demo("vendor.ka").await;
        let own_admin = u.gql.send(Some(&vendor_ka), suspend, vars.clone()).await;
        assert_eq!(error_code(&own_admin).as_deref(), Some("FORBIDDEN"), "{own_admin}");
        assert_eq!(u.count(&events("VendorSuspended")).await, 0);

        let admin = u.demo("admin").await;
        let suspended = u.gql.data(Some(&admin), suspend, vars.clone()).await["suspendVendor"].clone();
        assert_eq!((suspended["suspended"].clone(), suspended["status"].clone()), (json!(true), json!("SUSPENDED")));
        u.gql.data(Some(&admin), suspend, vars).await;
        assert_eq!(u.count(&events("VendorSuspended")).await, 1, "suspending twice publishes once");
        let (aggregate, payload): (String, String) = sqlx::query_as(
            "SELECT aggregate_id, payload FROM outbox WHERE event_type = 'VendorSuspended'")
            .fetch_one(u.store.pool()).await.unwrap();
        assert_eq!(aggregate, VENDOR_KA_ID);
        assert!(payload.contains("Drug licence lapsed"), "{payload}");
        let reason = "query($id: ID!) { vendor(id: $id) { suspensionReason } }";
        let customer = u.register("nosy@example.com", "Nosy Customer").await;
        let nosy = u.gql.send(customer["data"]["register"]["accessToken"].as_str(), reason,
            json!({"id": VENDOR_KA_ID})).await;
        assert_eq!(error_code(&nosy).as_deref(), Some("FORBIDDEN"), "{nosy}");
        let own = u.gql.data(Some(&vendor_ka), reason, json!({"id": VENDOR_KA_ID})).await;
        assert_eq!(own["vendor"]["suspensionReason"], "Drug licence lapsed");

        let id = json!({"id": VENDOR_KA_ID});
        let refused = u.gql.send(Some(&vendor_ka), reinstate, id.clone()).await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        assert_eq!(u.count(&events("VendorReinstated")).await, 0);
        let back = u.gql.data(Some(&admin), reinstate, id).await["reinstateVendor"].clone();
        assert_eq!((back["suspended"].clone(), back["status"].clone()), (json!(false), json!("ACTIVE")));
        assert_eq!(u.count(&events("VendorReinstated")).await, 1);
        assert_eq!(u.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'vendor' \
            AND action IN ('suspended', 'reinstated')").await, 2);
    }

    async fn user_references_show_only_what_the_viewer_may_see(db) {
        let u = start(&db).await;
        let alice = u.register("alice@example.com", "Alice Secretname").await["data"]["register"].clone();
        let bob = u.register("bob@example.com", "Bob Other").await["data"]["register"].clone();
        let alice_ref = user_reference(&alice["user"]["id"]);

        let anonymous = u.gql.send(None, ENTITY, alice_ref.clone()).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("FORBIDDEN"), "{anonymous}");
        assert!(!anonymous.to_string().contains("Secretname"), "{anonymous}");
        let unknown = u.gql.send(None, ENTITY, user_reference(&json!(janta_platform::ids::new_id()))).await;
        assert_eq!(shape(&unknown), shape(&anonymous), "an unknown ID looks the same");

        let other = u.gql.send(bob["accessToken"].as_str(), ENTITY_EMAIL, alice_ref.clone()).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"), "{other}");
        assert!(!other.to_string().contains("alice@"), "{other}");
        let other_name = u.gql.send(bob["accessToken"].as_str(), ENTITY, alice_ref.clone()).await;
        assert_eq!(error_code(&other_name).as_deref(), Some("FORBIDDEN"), "{other_name}");
        let by_id = u.gql.send(bob["accessToken"].as_str(), "query($id: ID!) { user(id: $id) { email } }",
            json!({"id": alice["user"]["id"]})).await;
        assert_eq!(error_code(&by_id).as_deref(), Some("FORBIDDEN"), "{by_id}");

        let pharmacist = u.demo("pharmacist.ka").await;
        let staff = u.gql.data(Some(&pharmacist), ENTITY, alice_ref.clone()).await;
        assert_eq!(staff["_entities"][0]["fullName"], "Alice Secretname", "vendor staff see the name");
        let staff_email = u.gql.send(Some(&pharmacist), ENTITY_EMAIL, alice_ref.clone()).await;
        assert_eq!(error_code(&staff_email).as_deref(), Some("FORBIDDEN"), "{staff_email}");

        let own = u.gql.data(alice["accessToken"].as_str(), ENTITY_EMAIL, alice_ref.clone()).await;
        assert_eq!(own["_entities"][0]["email"], "alice@example.com");
        let admin = u.gql.data(Some(&u.demo("admin").await), ENTITY_EMAIL, alice_ref.clone()).await;
        assert_eq!(admin["_entities"][0]["email"], "alice@example.com");
        let service = service_token("orders");
        let service_name = u.gql.data(Some(&service), ENTITY, alice_ref.clone()).await;
        assert_eq!(service_name["_entities"][0]["fullName"], "Alice Secretname");
        let service_email = u.gql.send(Some(&service), ENTITY_EMAIL, alice_ref).await;
        assert_eq!(error_code(&service_email).as_deref(), Some("FORBIDDEN"),
            "contact details only through contactForService: {service_email}");
    }

    async fn registering_a_taken_email_answers_like_a_new_one_and_tells_the_owner(db) {
        let u = start(&db).await;
        let owner = u.register("owner@example.com", "Olivia Owner").await;
        let owner_id = owner["data"]["register"]["user"]["id"].clone();
        let users_before = u.count("SELECT COUNT(*) FROM users").await;

        let probe = json!({ "input": { "email": "Owner@Example.com", "password": "mallory's password",
            "fullName": "Mallory Prober", "phone": null }});
        let taken = u.gql.send(None, REGISTER, probe).await;
        let fresh = u.register("fresh@example.com", "Mallory Prober").await;
        assert!(taken.get("errors").is_none(), "{taken}");
        assert_eq!(shape(&taken), shape(&fresh), "same fields either way");
        let (taken, fresh) = (&taken["data"]["register"], &fresh["data"]["register"]);
        assert_ne!(taken["user"]["id"], owner_id, "no data of the existing account");
        assert_eq!(taken["user"]["fullName"], "Mallory Prober");
        assert_eq!(taken["user"]["email"], "owner@example.com");
        assert_eq!(taken["user"]["roles"], fresh["user"]["roles"]);
        for payload in [taken, fresh] {
            let claims = claims_of(payload["accessToken"].as_str().unwrap()).await;
            assert_eq!(claims.roles, vec![Role::Customer]);
            assert_eq!(json!(claims.subject), payload["user"]["id"]);
            assert_eq!(payload["refreshToken"].as_str().unwrap().len(),
                fresh["refreshToken"].as_str().unwrap().len());
        }
        assert_eq!(u.count("SELECT COUNT(*) FROM users").await, users_before + 1, "only the fresh one");

        let (aggregate,): (String,) = sqlx::query_as(
            "SELECT aggregate_id FROM outbox WHERE event_type = 'RegistrationAttempted'")
            .fetch_one(u.store.pool()).await.unwrap();
        assert_eq!(json!(aggregate), owner_id, "the owner is told");
        assert_eq!(u.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'UserRegistered'").await, 2);
        let prober = u.gql.send(None, LOGIN,
            json!({"email": "owner@example.com", "password": "mallory's password"})).await;
        assert_eq!(error_code(&prober).as_deref(), Some("UNAUTHENTICATED"), "{prober}");
        u.login("owner@example.com", "long enough pw").await;
    }

    async fn a_phone_number_in_use_is_not_revealed(db) {
        let u = start(&db).await;
        let update = "mutation($p: String!) { updateProfile(input: {phone: $p}) { phone } }";
        let first = u.register("first@example.com", "First Person").await["data"]["register"].clone();
        let second = u.register("second@example.com", "Second Person").await["data"]["register"].clone();
        let phone = json!({"p": "+919876543210"});
        u.gql.data(first["accessToken"].as_str(), update, phone.clone()).await;
        let same = u.gql.data(second["accessToken"].as_str(), update, phone).await;
        assert_eq!(same["updateProfile"]["phone"], "+919876543210", "families share one number");
        let input = json!({ "input": { "email": "third@example.com", "password": "long enough pw",
            "fullName": "Third Person", "phone": "+919876543210" }});
        let third = u.gql.send(None, REGISTER, input).await;
        assert!(third.get("errors").is_none(), "{third}");
    }

    async fn only_services_ask_whose_family_member_it_is(db) {
        let u = start(&db).await;
        let add = "mutation { addFamilyMember(input: {fullName: \"Little One\", relation: CHILD}) { id } }";
        let query = "query($u: ID!, $f: ID!) { familyMemberOfForService(userId: $u, familyMemberId: $f) }";
        let parent = u.register("parent@example.com", "Parent Person").await["data"]["register"].clone();
        let stranger = u.register("stranger@example.com", "Stranger").await["data"]["register"].clone();
        let child = u.gql.data(parent["accessToken"].as_str(), add, json!({})).await["addFamilyMember"]["id"].clone();
        let own = json!({"u": parent["user"]["id"], "f": child});
        let foreign = json!({"u": stranger["user"]["id"], "f": child});

        let customer = u.gql.send(parent["accessToken"].as_str(), query, own.clone()).await;
        assert_eq!(error_code(&customer).as_deref(), Some("FORBIDDEN"), "{customer}");
        let service = service_token("prescriptions");
        let yes = u.gql.data(Some(&service), query, own).await;
        assert_eq!(yes["familyMemberOfForService"], true);
        let no = u.gql.data(Some(&service), query, foreign).await;
        assert_eq!(no["familyMemberOfForService"], false);
    }

    async fn the_demo_pharmacists_are_verified_and_seeding_twice_changes_nothing(db) {
        let u = start(&db).await;
        let ka = claims_of(&u.demo("pharmacist.ka").await).await;
        assert_eq!((ka.roles, ka.vendor_id.as_deref()), (vec![Role::Pharmacist], Some(VENDOR_KA_ID)));
        let mh = claims_of(&u.demo("pharmacist.mh").await).await;
        assert_eq!((mh.roles, mh.vendor_id.as_deref()), (vec![Role::Pharmacist], Some(VENDOR_MH_ID)));
        let vendor = claims_of(&u.demo("vendor.ka").await).await;
        assert_eq!((vendor.roles, vendor.vendor_id.as_deref()), (vec![Role::VendorAdmin], Some(VENDOR_KA_ID)));
        assert!(!janta_users::demo::seed(&u.store).await.unwrap());
        assert_eq!(u.count("SELECT COUNT(*) FROM pharmacist_appointments WHERE status = 'VERIFIED'").await, 2);
    }
}
