//! Partner apps are held to their scopes *and* their pharmacy on every
//! field, through the router and straight on the subgraphs alike (issue 15):
//! the KA pharmacy's integration with `orders:read` lists KA's orders but
//! never sees an MH order, changes no stock and no order; with `stock:write`
//! it receives stock into KA's listing but not into MH's; with
//! `orders:write` it moves KA's orders only; a platform app (no pharmacy)
//! reads the catalogue but no pharmacy's orders; and no partner token
//! reaches a customer's account or cart.

mod support;

use janta_catalog::demo::{
    PARACETAMOL_500_ID, PARACETAMOL_500_KA_LISTING_ID, PARACETAMOL_500_MH_LISTING_ID,
};
use janta_platform::demo::{CUSTOMER_ADDRESS_ID, VENDOR_KA_ID};
use janta_testkit::Gql;
use serde_json::{json, Value};
use support::{code, operation, Platform};

/// A token of a new partner app with `scopes` (GraphQL form), registered
/// by `registrar` for `vendor` (None: a platform app, admins only), from
/// the users token endpoint as `tests/partner_apps_e2e.rs` obtains it.
async fn app_token(p: &Platform, registrar: &str, vendor: Option<&str>, scopes: &[&str]) -> String {
    let input = json!({ "input": { "name": "Scope probe", "scopes": scopes, "vendorId": vendor } });
    let registered = p
        .gql
        .data(Some(registrar), &operation("RegisterPartnerApp"), input)
        .await["registerPartnerApp"]
        .clone();
    let (id, secret) = (
        registered["clientId"].as_str().expect("client ID"),
        registered["clientSecret"].as_str().expect("secret"),
    );
    let url = p.subgraph_url("users").replace("/graphql", "/oauth/token");
    let granted: Value = reqwest::Client::new()
        .post(url)
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token endpoint answers")
        .json()
        .await
        .expect("token JSON");
    granted["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {granted}"))
        .to_string()
}

/// One order of the demo customer from `listing`'s pharmacy.
async fn order_from(p: &Platform, customer: &str, listing: &str, key: &str) -> String {
    p.gql
        .data(
            Some(customer),
            &operation("AddToCart"),
            json!({"listingId": listing, "quantity": 1}),
        )
        .await;
    let placed = p
        .gql
        .data(
            Some(customer),
            &operation("PlaceOrder"),
            json!({"input": {"addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": key}}),
        )
        .await;
    placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no order: {placed}"))
        .to_string()
}

/// The demo customer's orders from KA and from MH.
async fn ka_and_mh_orders(p: &Platform) -> (String, String) {
    let customer = p.login("customer@janta.test").await;
    let ka = order_from(p, &customer, PARACETAMOL_500_KA_LISTING_ID, "scopes-ka").await;
    let mh = order_from(p, &customer, PARACETAMOL_500_MH_LISTING_ID, "scopes-mh").await;
    (ka, mh)
}

const ORDER: &str = "query($id: ID!) { order(id: $id) { id status vendor { id } } }";

/// A receipt of `quantity` packs into `listing`.
fn receipt(listing: &str, quantity: i32) -> Value {
    json!({"input": {"listingId": listing, "batchNumber": "PS-15",
                     "expiresOn": "2030-01-01", "quantity": quantity}})
}

/// Sellable stock of `listing`, as anyone reads it.
async fn stock(p: &Platform, listing: &str) -> i64 {
    let data = p
        .gql
        .data(
            None,
            "query($id: ID!) { listing(id: $id) { stock } }",
            json!({"id": listing}),
        )
        .await;
    data["listing"]["stock"].as_i64().expect("stock")
}

fn refused_with(body: &Value, expected: &str) {
    assert_eq!(code(body).as_deref(), Some(expected), "{body}");
}

#[tokio::test]
async fn an_orders_read_integration_sees_its_pharmacys_orders_only() {
    let p = Platform::start().await;
    let (ka_order, mh_order) = ka_and_mh_orders(&p).await;
    let ka_admin = p.login("vendor.ka@janta.test").await;
    let token = app_token(&p, &ka_admin, Some(VENDOR_KA_ID), &["ORDERS_READ"]).await;

    // Its pharmacy's orders, with the buyer's name as staff see it.
    let listed = p
        .gql
        .send(
            Some(&token),
            &operation("VendorOrders"),
            json!({"first": 50}),
        )
        .await;
    assert!(listed["errors"].is_null(), "{listed}");
    let edges = listed["data"]["vendorOrders"]["edges"].to_string();
    assert!(edges.contains(&ka_order), "{listed}");
    assert!(!edges.contains(&mh_order), "{listed}");
    let node = listed["data"]["vendorOrders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .find(|node| node["id"] == ka_order.as_str())
        .expect("KA's order listed");
    assert_eq!(node["buyer"]["fullName"], "Chitra Customer", "{listed}");
    let own = p
        .gql
        .data(Some(&token), ORDER, json!({"id": ka_order}))
        .await;
    assert_eq!(own["order"]["vendor"]["id"], VENDOR_KA_ID);

    // Another pharmacy's order: refused, through the router and directly.
    let orders = Gql::new(p.subgraph_url("orders"));
    for gql in [&p.gql, &orders] {
        let other = gql.send(Some(&token), ORDER, json!({"id": mh_order})).await;
        refused_with(&other, "FORBIDDEN");
        assert!(other["data"]["order"].is_null(), "{other}");
    }

    // Scopes it was not granted: moving orders, receiving stock.
    let advanced = p
        .gql
        .send(
            Some(&token),
            &operation("AdvanceOrder"),
            json!({"id": ka_order, "to": "PACKED"}),
        )
        .await;
    refused_with(&advanced, "FORBIDDEN");
    let received = p
        .gql
        .send(
            Some(&token),
            &operation("ReceiveBatch"),
            receipt(PARACETAMOL_500_KA_LISTING_ID, 1),
        )
        .await;
    refused_with(&received, "FORBIDDEN");

    // Customer-only fields.
    for name in ["Me", "Cart", "MyOrders"] {
        let body = p.gql.send(Some(&token), &operation(name), json!({})).await;
        assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"), "{name}: {body}");
    }
    let cart = orders
        .send(Some(&token), &operation("Cart"), json!({}))
        .await;
    refused_with(&cart, "FORBIDDEN");
}

#[tokio::test]
async fn a_stock_write_integration_changes_its_pharmacys_stock_only() {
    let p = Platform::start().await;
    let ka_admin = p.login("vendor.ka@janta.test").await;
    let token = app_token(&p, &ka_admin, Some(VENDOR_KA_ID), &["STOCK_WRITE"]).await;

    // Seven packs into its own listing: stock goes up by exactly seven.
    let before = stock(&p, PARACETAMOL_500_KA_LISTING_ID).await;
    let received = p
        .gql
        .data(
            Some(&token),
            &operation("ReceiveBatch"),
            receipt(PARACETAMOL_500_KA_LISTING_ID, 7),
        )
        .await;
    assert_eq!(received["receiveBatch"]["stock"], before + 7, "{received}");
    assert_eq!(stock(&p, PARACETAMOL_500_KA_LISTING_ID).await, before + 7);

    // MH's listing: refused through the router and on the catalog port,
    // and MH's stock does not move.
    let mh_before = stock(&p, PARACETAMOL_500_MH_LISTING_ID).await;
    let catalog = Gql::new(p.subgraph_url("catalog"));
    for gql in [&p.gql, &catalog] {
        let other = gql
            .send(
                Some(&token),
                &operation("ReceiveBatch"),
                receipt(PARACETAMOL_500_MH_LISTING_ID, 7),
            )
            .await;
        refused_with(&other, "FORBIDDEN");
    }
    assert_eq!(stock(&p, PARACETAMOL_500_MH_LISTING_ID).await, mh_before);

    // Not granted: listings and orders.
    let price = json!({"input": {"medicineId": PARACETAMOL_500_ID,
                                 "price": "10.00", "mrp": "12.00"}});
    let upsert = p
        .gql
        .send(Some(&token), &operation("UpsertListing"), price)
        .await;
    refused_with(&upsert, "FORBIDDEN");
    let listed = p
        .gql
        .send(
            Some(&token),
            &operation("VendorOrders"),
            json!({"first": 5}),
        )
        .await;
    refused_with(&listed, "FORBIDDEN");
}

#[tokio::test]
async fn an_orders_write_integration_moves_its_pharmacys_orders_only() {
    let p = Platform::start().await;
    let (ka_order, mh_order) = ka_and_mh_orders(&p).await;
    let ka_admin = p.login("vendor.ka@janta.test").await;
    let token = app_token(
        &p,
        &ka_admin,
        Some(VENDOR_KA_ID),
        &["ORDERS_READ", "ORDERS_WRITE"],
    )
    .await;
    let orders = Gql::new(p.subgraph_url("orders"));
    for gql in [&p.gql, &orders] {
        // An unpaid order cannot be packed: the allowed mover meets CONFLICT.
        let own = gql
            .send(
                Some(&token),
                &operation("AdvanceOrder"),
                json!({"id": ka_order, "to": "PACKED"}),
            )
            .await;
        refused_with(&own, "CONFLICT");
        let other = gql
            .send(
                Some(&token),
                &operation("AdvanceOrder"),
                json!({"id": mh_order, "to": "PACKED"}),
            )
            .await;
        refused_with(&other, "FORBIDDEN");
    }
}

#[tokio::test]
async fn a_platform_app_reads_the_catalogue_but_no_pharmacys_orders() {
    let p = Platform::start().await;
    let admin = p.login("admin@janta.test").await;
    let token = app_token(&p, &admin, None, &["CATALOG_READ", "ORDERS_READ"]).await;
    let medicines = p
        .gql
        .data(
            Some(&token),
            &operation("SearchMedicines"),
            json!({"search": "paracetamol", "first": 5}),
        )
        .await;
    assert!(
        medicines["medicines"]["totalCount"].as_i64().unwrap() >= 1,
        "{medicines}"
    );
    let named = p
        .gql
        .send(
            Some(&token),
            "query($v: ID!) { vendorOrders(vendorId: $v) { totalCount } }",
            json!({"v": VENDOR_KA_ID}),
        )
        .await;
    refused_with(&named, "FORBIDDEN");
    let own = p
        .gql
        .send(Some(&token), &operation("VendorOrders"), json!({}))
        .await;
    refused_with(&own, "FORBIDDEN");

    // Without catalog:read even the public catalogue is refused.
    let ka_admin = p.login("vendor.ka@janta.test").await;
    let stock_only = app_token(&p, &ka_admin, Some(VENDOR_KA_ID), &["STOCK_WRITE"]).await;
    let search = p
        .gql
        .send(
            Some(&stock_only),
            &operation("SearchMedicines"),
            json!({"search": "paracetamol", "first": 5}),
        )
        .await;
    refused_with(&search, "FORBIDDEN");
}
