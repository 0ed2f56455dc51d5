//! Carts and checkout refuse pharmacies that do not sell (orders on SQLite
//! and PostgreSQL, with the real users and catalog; users' vendor events
//! reach catalog's consumer through the event bus when the test delivers
//! them): an unverified vendor's listing cannot be added to a cart until
//! `VendorVerified` arrives; a line whose vendor was suspended after it was
//! added stops counting in the cart and makes checkout FORBIDDEN, with no
//! order, no reservation and the cart as it was, also while the suspension
//! is still on its way to catalog; once reinstated, the same cart checks out.

mod common;

use common::{catalog_demo, Stack, ADD_TO_CART, CART};
use janta_events::types::{VendorReinstated, VendorSuspended};

const SUSPEND: &str =
    "mutation($id: ID!) { suspendVendor(id: $id, reason: \"licence lapsed\") { id } }";
const REINSTATE: &str = "mutation($id: ID!) { reinstateVendor(id: $id) { id } }";
use janta_platform::auth::Role;
use janta_platform::demo::CUSTOMER_ADDRESS_ID;
use janta_platform::ids::new_id;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

/// A new pharmacy (registered in users, not verified) offering paracetamol
/// at ₹12.00 with 30 packs; returns (vendor ID, listing ID).
async fn new_vendor(s: &Stack) -> (String, String) {
    let vendor = s.create_vendor().await;
    let staff = s.token(&new_id(), &[Role::VendorAdmin], Some(&vendor));
    let listing = s
        .set_price(&staff, catalog_demo::PARACETAMOL_500_ID, "12.00", "20.00")
        .await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(300))
        .format("%Y-%m-%d")
        .to_string();
    s.catalog
        .data(
            Some(&staff),
            "mutation($input: ReceiveBatchInput!) { receiveBatch(input: $input) { id } }",
            json!({"input": {"listingId": listing, "batchNumber": "NEW1", "expiresOn": expires, "quantity": 30}}),
        )
        .await;
    (vendor, listing)
}

/// A verified new vendor (see [`new_vendor`]) and the customer's cart with
/// one pack from the KA pharmacy and `quantity` from the new vendor.
struct MixedCart {
    vendor: String,
    listing: String,
    /// The customer's token.
    me: String,
    /// The cart after the second line was added.
    cart: Value,
}

async fn mixed_cart(s: &Stack, quantity: i64) -> MixedCart {
    let (vendor, listing) = new_vendor(s).await;
    s.verify_vendor(&vendor).await;
    let me = s.customer();
    s.add(&me, catalog_demo::PARACETAMOL_500_KA_LISTING_ID, 1)
        .await;
    let cart = s.add(&me, &listing, quantity).await;
    MixedCart {
        vendor,
        listing,
        me,
        cart,
    }
}

/// The `VendorSuspended` users publishes for [`SUSPEND`].
fn suspended(vendor: &str) -> VendorSuspended {
    VendorSuspended {
        vendor_id: vendor.to_string(),
        reason: "licence lapsed".into(),
    }
}

/// Asserts a refusal because `vendor` does not sell now.
fn assert_not_selling(body: &Value, vendor: &str) {
    assert_eq!(error_code(body).as_deref(), Some("FORBIDDEN"), "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["message"], "this pharmacy is not selling right now");
    assert_eq!(error["extensions"]["details"]["vendorIds"], json!([vendor]));
}

/// Asserts that a refused checkout left nothing: no order, no reservation,
/// the key free and the cart's `lines` lines still there.
async fn assert_nothing_left(s: &Stack, me: &str, listings: &[&str], lines: usize) {
    assert_eq!(
        s.count("SELECT COUNT(*) FROM orders").await,
        0,
        "no order written"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM order_lines").await, 0);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM checkouts").await,
        0,
        "the key is freed"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox").await,
        0,
        "no OrderPlaced"
    );
    assert_eq!(
        catalog_count(s, "SELECT COUNT(*) FROM reservations").await,
        0,
        "nothing reserved"
    );
    for listing in listings {
        assert_eq!(s.reserved(listing).await, 0);
    }
    let cart = s.orders.data(Some(me), CART, json!({})).await;
    assert_eq!(
        cart["cart"]["lines"].as_array().unwrap().len(),
        lines,
        "the cart is untouched"
    );
}

async fn catalog_count(s: &Stack, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(s.catalog_store.pool())
        .await
        .unwrap();
    n
}

both_backends! {
    async fn an_unverified_vendors_listing_cannot_be_added_to_a_cart(db) {
        let s = Stack::start(db).await;
        let (vendor, listing) = new_vendor(&s).await;
        let me = s.customer();
        let body = s.orders.send(Some(&me), ADD_TO_CART, json!({"listingId": listing, "quantity": 1})).await;
        assert_not_selling(&body, &vendor);
        assert_eq!(s.count("SELECT COUNT(*) FROM cart_lines").await, 0);
        assert_eq!(s.count("SELECT COUNT(*) FROM audit_log").await, 0, "nothing recorded");

        s.verify_vendor(&vendor).await;
        let cart = s.add(&me, &listing, 2).await;
        assert_eq!(cart["subtotal"]["amount"], "24.00");
    }

    async fn checkout_refuses_a_vendor_suspended_after_its_line_was_added(db) {
        let s = Stack::start(db).await;
        let MixedCart { vendor, listing, me, cart } = mixed_cart(&s, 3).await;
        let ka = catalog_demo::PARACETAMOL_500_KA_LISTING_ID;
        let before = cart["subtotal"]["amount"].clone();

        s.admin_on_vendor(SUSPEND, &vendor).await;
        s.deliver_users_event(&suspended(&vendor)).await;
        // The cart still shows the line (to remove it), priced at nothing.
        let cart = s.orders.data(Some(&me),
            "{ cart { subtotal { amount } lines { listing { id } unitPrice { amount } lineTotal { amount } } } }",
            json!({})).await["cart"].clone();
        assert_eq!(cart["lines"][1]["listing"]["id"], listing.as_str());
        assert_eq!(cart["lines"][1]["unitPrice"], Value::Null);
        assert_eq!(cart["lines"][1]["lineTotal"], Value::Null);
        assert_eq!(cart["subtotal"], cart["lines"][0]["lineTotal"], "only the KA line counts");
        let more = s.orders.send(Some(&me), ADD_TO_CART, json!({"listingId": listing, "quantity": 1})).await;
        assert_not_selling(&more, &vendor);

        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "suspended-1").await;
        assert_not_selling(&body, &vendor);
        assert_eq!(body["errors"][0]["extensions"]["details"]["listingIds"], json!([listing]));
        assert_nothing_left(&s, &me, &[ka, &listing], 2).await;

        // Reinstated: the same cart checks out, one order per vendor.
        s.admin_on_vendor(REINSTATE, &vendor).await;
        s.deliver_users_event(&VendorReinstated { vendor_id: vendor.clone() }).await;
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(cart["cart"]["subtotal"]["amount"], before);
        let placed = s.place(&me, CUSTOMER_ADDRESS_ID, "suspended-1").await;
        assert!(placed.get("errors").is_none(), "{placed}");
        assert_eq!(placed["data"]["placeOrder"]["orders"].as_array().unwrap().len(), 2);
        assert_eq!(s.reserved(&listing).await, 3);
    }
}

both_backends! {
    async fn checkout_refuses_a_suspension_still_on_its_way_to_catalog(db) {
        let s = Stack::start(db).await;
        let MixedCart { vendor, listing, me, cart } = mixed_cart(&s, 2).await;
        let ka = catalog_demo::PARACETAMOL_500_KA_LISTING_ID;
        let ka_only = cart["lines"][0]["lineTotal"]["amount"].clone();
        let both = cart["subtotal"]["amount"].clone();
        // Users suspends the vendor; its VendorSuspended has not reached catalog.
        s.admin_on_vendor(SUSPEND, &vendor).await;
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(cart["cart"]["subtotal"]["amount"], both, "catalog still prices the line");

        let body = s.place(&me, CUSTOMER_ADDRESS_ID, "in-flight").await;
        assert_not_selling(&body, &vendor);
        assert_eq!(body["errors"][0]["extensions"]["details"]["listingIds"], json!([listing]));
        assert_nothing_left(&s, &me, &[ka, &listing], 2).await;

        // The event arrives late: the line stops counting.
        s.deliver_users_event(&suspended(&vendor)).await;
        let cart = s.orders.data(Some(&me), CART, json!({})).await;
        assert_eq!(cart["cart"]["subtotal"]["amount"], ka_only);
    }
}
