//! Reading payments on both backends: `payment(id)` and `Order.payments`
//! (through `_entities`, as the router asks) for exactly the buyer, the
//! vendor's staff and admins; the SDL the supergraph composes from.

mod common;

use common::start;
use janta_payments::domain::PaymentMethod;
use janta_testkit::{both_backends, error_code};
use serde_json::json;

const PAYMENT: &str = "query($id: ID!) { payment(id: $id) {
    id status method amount { amount currency } refunds { id amount { amount } }
    capturedAmount { amount } order { id } createdAt } }";

const ORDER_PAYMENTS: &str = "query($r: [_Any!]!) { _entities(representations: $r) {
    ... on Order { id payments { id status method amount { amount currency } } } } }";

#[test]
fn the_sdl_declares_the_entities_and_operations() {
    let sdl = janta_payments::sdl();
    for needle in [
        "type Payment @key(fields: \"id\")",
        "type Order @key(fields: \"id\")",
        "payments: [Payment!]!",
        "payOrder(",
        "): PayOrderPayload!",
        "refundPayment(",
        "idempotencyKey: String\n",
        "payment(",
        "): Payment!",
        "checkoutUrl: String",
        "PARTIALLY_REFUNDED",
        "CASH_ON_DELIVERY",
    ] {
        assert!(sdl.contains(needle), "missing {needle} in\n{sdl}");
    }
}

both_backends! {
    async fn a_payment_is_visible_to_its_buyer_vendor_staff_and_admins_only(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(12_345).await;
        for token in [h.customer(), h.vendor_admin(), h.pharmacist(), h.admin()] {
            let data = h.gql.data(Some(&token), PAYMENT, json!({ "id": payment.id })).await;
            let p = &data["payment"];
            assert_eq!(p["status"], "SUCCEEDED");
            assert_eq!(p["method"], "CARD");
            assert_eq!(p["amount"], json!({ "amount": "123.45", "currency": "INR" }));
            assert_eq!(p["capturedAmount"]["amount"], "123.45");
            assert_eq!(p["order"]["id"], payment.order_id);
            assert_eq!(p["refunds"], json!([]));
        }
        for token in [h.other_customer(), h.other_vendor_admin()] {
            let body = h.gql.send(Some(&token), PAYMENT, json!({ "id": payment.id })).await;
            assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
        }
        let anonymous = h.gql.send(None, PAYMENT, json!({ "id": payment.id })).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let missing = h.gql.send(Some(&h.admin()), PAYMENT, json!({ "id": janta_platform::ids::new_id() })).await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"));
        let garbage = h.gql.send(Some(&h.admin()), PAYMENT, json!({ "id": "1 OR 1=1" })).await;
        assert_eq!(error_code(&garbage).as_deref(), Some("BAD_USER_INPUT"));
    }

    async fn order_payments_resolve_through_entities_for_allowed_viewers(db) {
        let h = start(&db).await;
        let order_id = janta_platform::ids::new_id();
        let failed = h.payment_for_order(&order_id, PaymentMethod::Upi, 5_000).await;
        assert_eq!(h.webhook(&h.event(&failed, "payment.failed")).await, 200);
        let cod = h.payment_for_order(&order_id, PaymentMethod::CashOnDelivery, 5_000).await;
        let empty_order = janta_platform::ids::new_id();
        let reps = json!({ "r": [
            { "__typename": "Order", "id": order_id },
            { "__typename": "Order", "id": empty_order },
        ]});
        let data = h.gql.data(Some(&h.customer()), ORDER_PAYMENTS, reps.clone()).await;
        let payments = &data["_entities"][0]["payments"];
        assert_eq!(payments.as_array().unwrap().len(), 2, "{data}");
        assert_eq!(payments[0]["id"], failed.id);
        assert_eq!(payments[0]["status"], "FAILED");
        assert_eq!(payments[1]["id"], cod.id);
        assert_eq!(payments[1]["status"], "PENDING");
        assert_eq!(payments[1]["method"], "CASH_ON_DELIVERY");
        assert_eq!(data["_entities"][1]["payments"], json!([]));
        h.gql.data(Some(&h.pharmacist()), ORDER_PAYMENTS, reps.clone()).await;
        let other = h.gql.send(Some(&h.other_customer()), ORDER_PAYMENTS, reps.clone()).await;
        assert_eq!(error_code(&other).as_deref(), Some("FORBIDDEN"), "{other}");
        let payment_entity = h.gql.data(Some(&h.customer()),
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id status } } }",
            json!({ "r": [{ "__typename": "Payment", "id": cod.id }] })).await;
        assert_eq!(payment_entity["_entities"][0]["status"], "PENDING");
    }
}
