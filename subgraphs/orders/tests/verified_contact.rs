//! Placing an order when the deployment requires a verified contact
//! (`require_verified_contact`, on in production), against the real users
//! subgraph (orders on SQLite and PostgreSQL): a customer who has not
//! proved their e-mail or phone is refused with nothing reserved, and can
//! order once they enter the code users sent them.

mod common;

use common::{catalog_demo, test_settings, Stack};
use janta_orders::OrdersSettings;
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

/// The e-mail code users published for `user_id` (what notifications sends).
async fn email_code(s: &Stack, user_id: &str) -> String {
    let (payload,): (String,) = sqlx::query_as(
        "SELECT payload FROM outbox WHERE event_type = 'AccountCodeIssued' AND aggregate_id = $1",
    )
    .bind(user_id)
    .fetch_one(s.users_store.pool())
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["purpose"], "VERIFY_EMAIL");
    payload["code"].as_str().unwrap().to_string()
}

both_backends! {
    async fn an_unverified_customer_orders_only_after_verifying(db) {
        let settings = OrdersSettings { require_verified_contact: true, ..test_settings() };
        let s = Stack::start_with(db, settings).await;
        let listing = s
            .set_price(&s.ka_staff(), catalog_demo::PARACETAMOL_500_ID, "30.00", "45.00")
            .await;
        let (token, user_id, address) = s.register_customer("KA").await;
        s.add(&token, &listing, 2).await;
        let refused = s.place(&token, &address, "unverified-1").await;
        assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["details"]["reason"], "CONTACT_NOT_VERIFIED", "{refused}");
        assert_eq!(s.reserved(&listing).await, 0, "nothing held for a refused order");
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 0);

        let code = email_code(&s, &user_id).await;
        let verified = s
            .users
            .data(Some(&token), "mutation($c: String!) { verifyEmail(code: $c) { emailVerified } }", json!({ "c": code }))
            .await;
        assert_eq!(verified["verifyEmail"]["emailVerified"], true);
        let placed = s.place(&token, &address, "verified-1").await;
        assert!(placed["errors"].is_null(), "{placed}");
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 1);
    }
}
