//! Who may do what, as one table: every role (anonymous, a customer,
//! another customer, each pharmacy's pharmacist and admin, a pharmacist
//! whose registration nobody verified yet, the platform admin, a partner,
//! the KA pharmacy's partner app holding every pharmacy scope, and a
//! service principal) against every kind of object (profile, address,
//! cart, order, prescription and its document, payment, refund, listing and
//! stock, notification, webhook subscription, audit trail) and operation.
//!
//! Each cell is sent twice with the same document: through the router and
//! straight to the subgraph that owns the object, and both must answer
//! alike — a subgraph port is not a way around the router. "Allowed" means
//! the request was not refused (a probe that is deliberately invalid, such as
//! a zero quantity, may still fail validation); "refused" means
//! `UNAUTHENTICATED` for anonymous callers and `FORBIDDEN` or `NOT_FOUND`
//! (an object one may not see does not exist for them) for everyone else.

mod support;

use janta_catalog::demo::{PARACETAMOL_500_KA_LISTING_ID, PARACETAMOL_500_MH_LISTING_ID};
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, CUSTOMER_ID, VENDOR_KA_ID};
use serde_json::{json, Value};
use std::collections::HashMap;
use support::{code, operation, Platform, TEST_PASSWORD};

/// Declares [`Who`] and [`EVERYONE`] (all of its variants, in order) from
/// one list, so that no role can be added to one and missed in the other.
macro_rules! roles {
    ($($who:ident),* $(,)?) => {
        /// Everyone who may knock.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        enum Who {
            $($who),*
        }

        /// Every [`Who`], each asked every cell.
        const EVERYONE: &[Who] = &[$(Who::$who),*];
    };
}

roles!(
    Anonymous,
    Customer,
    OtherCustomer,
    PharmacistKa,
    VendorAdminKa,
    PharmacistMh,
    VendorAdminMh,
    UnverifiedPharmacist,
    Admin,
    Partner,
    PartnerAppKa,
    Service,
);

use Who::*;

/// How a cell's answer is judged.
#[derive(Clone, Copy)]
enum Judge {
    /// Allowed: no refusal code, and `data.<field>` present when no error.
    /// Refused: a refusal code.
    Access,
    /// A list field: allowed callers find the object's ID in it; refused
    /// callers either are refused or do not find it.
    Listed,
}

/// One operation on one object.
struct Cell {
    object: &'static str,
    operation: &'static str,
    /// The subgraph that owns the object.
    domain: &'static str,
    /// A document valid on the router and on the owning subgraph alike.
    query: String,
    variables: Value,
    /// Top-level response field.
    field: &'static str,
    allowed: Vec<Who>,
    judge: Judge,
    /// The ID a [`Judge::Listed`] cell looks for.
    id: String,
}

const REFUSALS: [&str; 3] = ["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"];

fn verdict(cell: &Cell, who: Who, body: &Value) -> Result<(), String> {
    let allowed = cell.allowed.contains(&who);
    let error = code(body);
    let refused = error.as_deref().is_some_and(|c| REFUSALS.contains(&c));
    match (cell.judge, allowed) {
        (Judge::Access, true) if refused => Err(format!("refused: {body}")),
        (Judge::Access, true) if error.is_none() && body["data"][cell.field].is_null() => {
            Err(format!("no data: {body}"))
        }
        (Judge::Access, true) => Ok(()),
        (Judge::Access, false) => refusal(who, error.as_deref(), body),
        (Judge::Listed, true) if listed(cell, body) => Ok(()),
        (Judge::Listed, true) => Err(format!("not listed: {body}")),
        (Judge::Listed, false) if listed(cell, body) => Err(format!("listed: {body}")),
        (Judge::Listed, false) if error.is_some() => refusal(who, error.as_deref(), body),
        (Judge::Listed, false) => Ok(()),
    }
}

fn refusal(who: Who, error: Option<&str>, body: &Value) -> Result<(), String> {
    let expected: &[&str] = if who == Anonymous {
        &["UNAUTHENTICATED"]
    } else {
        &["FORBIDDEN", "NOT_FOUND"]
    };
    match error {
        Some(c) if expected.contains(&c) => Ok(()),
        _ => Err(format!("expected one of {expected:?}: {body}")),
    }
}

fn listed(cell: &Cell, body: &Value) -> bool {
    body["data"][cell.field].to_string().contains(&cell.id)
}

/// The tokens of everyone in [`Who`] and the objects they act on.
struct World {
    tokens: HashMap<Who, Option<String>>,
    ids: HashMap<&'static str, String>,
}

impl World {
    fn id(&self, name: &str) -> &str {
        self.ids
            .get(name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
    }
}

/// The string at `pointer` in a response's data: an ID a cell acts on.
fn id_at(data: &Value, pointer: &str) -> String {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {data}"))
        .to_string()
}

/// Signs in everyone in [`Who`], registering (and promoting) those who are
/// not demo accounts; returns their tokens and the partner's user ID.
async fn sign_in_everyone(p: &Platform) -> (HashMap<Who, Option<String>>, String) {
    let mut tokens = HashMap::from([
        (Anonymous, None),
        (Service, Some(p.service_token("orders").await)),
    ]);
    for (who, email) in [
        (Customer, "customer@janta.test"),
        (Admin, "admin@janta.test"),
        (VendorAdminKa, "vendor.ka@janta.test"),
        (PharmacistKa, "pharmacist.ka@janta.test"),
        (VendorAdminMh, "vendor.mh@janta.test"),
        (PharmacistMh, "pharmacist.mh@janta.test"),
    ] {
        tokens.insert(who, Some(p.login(email).await));
    }
    let token = |who: Who| tokens[&who].clone().expect("signed in");
    let (admin, vendor_ka) = (token(Admin), token(VendorAdminKa));

    p.register("other@janta.test", "Olga Other").await;
    // A pharmacist the KA pharmacy proposed but no admin verified yet.
    p.register("unverified.rx@janta.test", "Uma Unverified")
        .await;
    let proposed = p
        .gql
        .send(
            Some(&vendor_ka),
            "mutation($input: ProposePharmacistInput!) { proposePharmacist(input: $input) { id } }",
            json!({"input": {"email": "unverified.rx@janta.test",
                             "registrationNumber": "KSPC-99120", "council": "Karnataka State Pharmacy Council"}}),
        )
        .await;
    assert!(proposed["errors"].is_null(), "proposal failed: {proposed}");

    // The platform's partner: a partner app managing its webhooks.
    let (partner_id, partner_token) = webhook_partner(p, &admin).await;
    tokens.insert(Partner, Some(partner_token));
    for (who, email) in [
        (OtherCustomer, "other@janta.test"),
        (UnverifiedPharmacist, "unverified.rx@janta.test"),
    ] {
        tokens.insert(who, Some(p.login_with(email, TEST_PASSWORD).await));
    }
    tokens.insert(PartnerAppKa, Some(partner_app_token(p, &vendor_ka).await));
    (tokens, partner_id)
}

/// A token of the KA pharmacy's integration holding every pharmacy scope
/// but `webhooks:manage` (client credentials, as docs/partners.md says).
async fn partner_app_token(p: &Platform, vendor_ka: &str) -> String {
    let scopes = [
        "CATALOG_READ",
        "LISTINGS_WRITE",
        "STOCK_WRITE",
        "ORDERS_READ",
        "ORDERS_WRITE",
    ];
    let registered = p
        .gql
        .data(
            Some(vendor_ka),
            &operation("RegisterPartnerApp"),
            json!({"input": {"name": "KA integration", "scopes": scopes}}),
        )
        .await;
    let app = &registered["registerPartnerApp"];
    let granted: Value = reqwest::Client::new()
        .post(p.subgraph_url("users").replace("/graphql", "/oauth/token"))
        .basic_auth(
            app["clientId"].as_str().expect("client ID"),
            app["clientSecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token endpoint answers")
        .json()
        .await
        .expect("token JSON");
    granted["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no partner token: {granted}"))
        .to_string()
}

async fn build_world(p: &Platform) -> World {
    let (tokens, partner_id) = sign_in_everyone(p).await;
    let customer = tokens[&Customer].as_deref();
    let admin = tokens[&Admin].as_deref();
    let mut ids = HashMap::from([
        ("customer", CUSTOMER_ID.to_string()),
        ("address", CUSTOMER_ADDRESS_ID.to_string()),
    ]);

    // Cart, then an order from KA paid cash on delivery.
    p.gql
        .data(
            customer,
            &operation("AddToCart"),
            json!({"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 2}),
        )
        .await;
    let placed = p
        .gql
        .data(
            customer,
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": "matrix-order-1"}}),
        )
        .await;
    let order = id_at(&placed, "/placeOrder/orders/0/id");
    let paid = p
        .gql
        .data(
            customer,
            &operation("PayOrder"),
            json!({"orderId": order, "method": "CASH_ON_DELIVERY"}),
        )
        .await;
    ids.insert("payment", id_at(&paid, "/payOrder/payment/id"));
    ids.insert("order", order);

    // A cart line left in the cart.
    let cart = p
        .gql
        .data(
            customer,
            &operation("AddToCart"),
            json!({"listingId": PARACETAMOL_500_KA_LISTING_ID, "quantity": 1}),
        )
        .await;
    ids.insert("cartLine", id_at(&cart, "/addToCart/lines/0/id"));

    // A prescription submitted to the KA pharmacy.
    let upload = p.upload_prescription(customer.expect("customer")).await;
    let submitted = p
        .gql
        .data(
            customer,
            "mutation($input: SubmitPrescriptionInput!) { submitPrescription(input: $input) { id } }",
            json!({"input": {
                "uploadId": upload.id,
                "patientName": "Chitra Customer", "doctorName": "Dr. Arvind Menon",
                "issuedOn": chrono::Utc::now().date_naive().to_string(),
                "vendorId": VENDOR_KA_ID
            }}),
        )
        .await;
    ids.insert("prescription", id_at(&submitted, "/submitPrescription/id"));

    // One of the customer's notifications.
    let notifications = p
        .gql
        .data(customer, &operation("MyNotifications"), json!({"first": 1}))
        .await;
    ids.insert(
        "notification",
        id_at(&notifications, "/myNotifications/edges/0/node/id"),
    );

    // The partner's webhook subscription, to an event type an admin granted
    // and that this test never causes (so nothing is ever sent to it).
    let granted = p
        .gql
        .send(
            admin,
            "mutation($id: ID!) { grantWebhookEventTypes(partnerId: $id, eventTypes: [\"VendorReinstated\"]) }",
            json!({"id": partner_id}),
        )
        .await;
    assert!(granted["errors"].is_null(), "grant: {granted}");
    let subscription = p
        .gql
        .data(
            tokens[&Partner].as_deref(),
            "mutation { createWebhookSubscription(url: \"https://203.0.114.10/janta\", events: [\"VendorReinstated\"]) { subscription { id } } }",
            json!({}),
        )
        .await;
    ids.insert(
        "subscription",
        id_at(&subscription, "/createWebhookSubscription/subscription/id"),
    );
    World { tokens, ids }
}

fn cell(
    object: &'static str,
    operation: &'static str,
    domain: &'static str,
    field: &'static str,
    query: &str,
    variables: Value,
    allowed: &[Who],
) -> Cell {
    Cell {
        object,
        operation,
        domain,
        query: query.to_string(),
        variables,
        field,
        allowed: allowed.to_vec(),
        judge: Judge::Access,
        id: String::new(),
    }
}

fn listed_cell(mut cell: Cell, id: &str) -> Cell {
    cell.judge = Judge::Listed;
    cell.id = id.to_string();
    cell
}

/// A real receipt of one unit into the listing `$id`.
const RECEIVE_ONE_UNIT: &str = "mutation($id: ID!) { receiveBatch(input: {listingId: $id, batchNumber: \"MX-1\", expiresOn: \"2030-01-01\", quantity: 1}) { id } }";

fn table(w: &World) -> Vec<Cell> {
    vec![
        cell("profile", "read", "users", "user",
             "query($id: ID!) { user(id: $id) { id email } }",
             json!({"id": w.id("customer")}), &[Customer, Admin]),
        cell("address", "update", "users", "updateAddress",
             "mutation($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { id } }",
             json!({"id": w.id("address"), "input": {"label": "Home", "line1": "12, 4th Cross, Indiranagar",
                    "city": "Bengaluru", "state": "KA", "pincode": "560038"}}),
             &[Customer]),
        cell("cart", "update line", "orders", "updateCartLine",
             "mutation($id: ID!) { updateCartLine(lineId: $id, quantity: 1) { id } }",
             json!({"id": w.id("cartLine")}), &[Customer]),
        cell("order", "read", "orders", "order",
             "query($id: ID!) { order(id: $id) { id status } }",
             json!({"id": w.id("order")}), &[Customer, PharmacistKa, VendorAdminKa, Admin, PartnerAppKa]),
        // An invalid transition: allowed callers get CONFLICT, others a refusal.
        cell("order", "advance", "orders", "advanceOrder",
             "mutation($id: ID!) { advanceOrder(id: $id, to: PENDING_PAYMENT) { id } }",
             json!({"id": w.id("order")}), &[VendorAdminKa, PharmacistKa, Admin, PartnerAppKa]),
        // Dispensing an order that is not packed: the pharmacy's verified
        // pharmacist gets CONFLICT, everyone else a refusal.
        cell("order", "dispense", "orders", "dispenseOrder",
             "mutation($id: ID!) { dispenseOrder(orderId: $id, batchesChecked: []) { id } }",
             json!({"id": w.id("order")}), &[PharmacistKa]),
        cell("h1 register", "read", "orders", "h1Register",
             "query($v: ID!) { h1Register(vendorId: $v, from: \"2026-01-01\", to: \"2026-01-31\") { id } }",
             json!({"v": VENDOR_KA_ID}), &[PharmacistKa, VendorAdminKa, Admin]),
        cell("prescription", "read", "prescriptions", "prescription",
             "query($id: ID!) { prescription(id: $id) { id status } }",
             json!({"id": w.id("prescription")}), &[Customer, PharmacistKa]),
        cell("prescription document", "read", "prescriptions", "prescriptionDocumentUrl",
             "query($id: ID!) { prescriptionDocumentUrl(id: $id) { expiresAt } }",
             json!({"id": w.id("prescription")}), &[Customer, PharmacistKa]),
        listed_cell(cell("prescription", "review queue", "prescriptions", "prescriptionsToReview",
             "{ prescriptionsToReview(first: 100) { edges { node { id } } } }",
             json!({}), &[PharmacistKa]), w.id("prescription")),
        // Approving with no lines is invalid: allowed reviewers get BAD_USER_INPUT.
        cell("prescription", "review", "prescriptions", "reviewPrescription",
             "mutation($id: ID!) { reviewPrescription(input: {prescriptionId: $id, decision: APPROVE, lines: []}) { id } }",
             json!({"id": w.id("prescription")}), &[PharmacistKa]),
        cell("payment", "read", "payments", "payment",
             "query($id: ID!) { payment(id: $id) { id status } }",
             json!({"id": w.id("payment")}), &[Customer, VendorAdminKa, PharmacistKa, Admin]),
        // A zero refund is invalid: allowed callers get BAD_USER_INPUT.
        cell("refund", "create", "payments", "refundPayment",
             "mutation($id: ID!) { refundPayment(paymentId: $id, amount: \"0\", reason: \"probe\") { id } }",
             json!({"id": w.id("payment")}), &[VendorAdminKa, Admin]),
        // A real receipt of one unit: allowed staff add it, others are refused.
        cell("listing", "update stock", "catalog", "receiveBatch",
             RECEIVE_ONE_UNIT,
             json!({"id": PARACETAMOL_500_KA_LISTING_ID}), &[PharmacistKa, VendorAdminKa, PartnerAppKa]),
        cell("listing", "update stock (other pharmacy)", "catalog", "receiveBatch",
             RECEIVE_ONE_UNIT,
             json!({"id": PARACETAMOL_500_MH_LISTING_ID}), &[PharmacistMh, VendorAdminMh]),
        cell("notification", "delivery attempts", "notifications", "deliveryAttempts",
             "query($id: ID!) { deliveryAttempts(notificationId: $id) { id } }",
             json!({"id": w.id("notification")}), &[Admin]),
        listed_cell(cell("webhook subscription", "list", "notifications", "webhookSubscriptions",
             "{ webhookSubscriptions { id } }", json!({}), &[Partner, Admin]), w.id("subscription")),
        // Read marks are per person: nobody marks the customer's for them.
        cell("notification", "mark read", "notifications", "markNotificationsRead",
             "mutation($id: ID!) { markNotificationsRead(ids: [$id]) }",
             json!({"id": w.id("notification")}), &[Customer]),
        // Last for the subscription: the owner's call deactivates it.
        cell("webhook subscription", "deactivate", "notifications", "deactivateWebhookSubscription",
             "mutation($id: ID!) { deactivateWebhookSubscription(id: $id) { id } }",
             json!({"id": w.id("subscription")}), &[Partner, Admin]),
        cell("audit", "read", "prescriptions", "prescriptionAccessLog",
             "query($id: ID!) { prescriptionAccessLog(prescriptionId: $id) { actor action } }",
             json!({"id": w.id("prescription")}), &[Customer, Admin]),
        // Service-only operations: the router does not even know them.
        cell("address", "read for delivery (service)", "users", "addressForService",
             "query($id: ID!) { addressForService(id: $id) { id } }",
             json!({"id": w.id("address")}), &[Service]),
        cell("listing", "price for checkout (service)", "catalog", "priceListings",
             "query($ids: [ID!]!) { priceListings(ids: $ids) { listingId } }",
             json!({"ids": [PARACETAMOL_500_KA_LISTING_ID]}), &[Service]),
    ]
}

#[tokio::test]
async fn every_role_meets_every_object_through_the_router_and_directly() {
    let p = Platform::start().await;
    let world = build_world(&p).await;
    let cells = table(&world);
    let mut failures = Vec::new();
    let mut checked = 0;
    for cell in &cells {
        let service_only = cell.allowed == [Service];
        for &who in EVERYONE {
            let token = world.tokens[&who].as_deref();
            let direct = janta_testkit::Gql::new(p.subgraph_url(cell.domain));
            let via_router = p.gql.send(token, &cell.query, cell.variables.clone()).await;
            let straight = direct
                .send(token, &cell.query, cell.variables.clone())
                .await;
            checked += 2;
            let router_verdict = if service_only {
                hidden_from_router(&via_router)
            } else {
                verdict(cell, who, &via_router)
            };
            if let Err(why) = router_verdict {
                failures.push(format!(
                    "{} {} as {who:?} via router: {why}",
                    cell.object, cell.operation
                ));
            }
            if let Err(why) = verdict(cell, who, &straight) {
                failures.push(format!(
                    "{} {} as {who:?} directly: {why}",
                    cell.object, cell.operation
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Service-only fields are `@inaccessible`: the router refuses any
/// document naming them, whoever sends it.
fn hidden_from_router(body: &Value) -> Result<(), String> {
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    if body["data"].is_null() && !message.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "service-only field reachable through the router: {body}"
        ))
    }
}

/// A platform partner app holding `webhooks:manage` (registered by `admin`):
/// its token subject (`partner:<client ID>`, what grants name) and a token
/// from the users token endpoint.
async fn webhook_partner(p: &Platform, admin: &str) -> (String, String) {
    let registered = p
        .gql
        .data(
            Some(admin),
            &operation("RegisterPartnerApp"),
            json!({"input": {"name": "Pixel Partner", "scopes": ["WEBHOOKS_MANAGE"]}}),
        )
        .await;
    let app = &registered["registerPartnerApp"];
    let client = app["clientId"].as_str().expect("client ID");
    let granted: Value = p
        .request_service_token(client, app["clientSecret"].as_str().expect("secret"))
        .await
        .json()
        .await
        .expect("token JSON");
    let token = granted["access_token"].as_str().expect("a partner token");
    (format!("partner:{client}"), token.to_string())
}
