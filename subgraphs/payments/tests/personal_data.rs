//! A customer's data rights in the payments store (issue 18), on SQLite and
//! PostgreSQL: their export lists their payments, refunds and the gateway's
//! webhooks about them, and nobody else's; erasure removes their payer
//! details (e-mail, phone, UPI VPA, card holder) from the stored webhooks,
//! keeps every payment and refund as it was and, run again, changes nothing.

use janta_kit::personal_data::{ErasureReport, PersonalData};
use janta_payments::domain::{PaymentEvent, PaymentMethod};
use janta_payments::service::personal_data::{PaymentsPersonalData, PAYMENT_RECORDS_RULE};
use janta_payments::store::{self, NewPaymentRow, NewRefundRow};
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::store::Store;
use janta_testkit::both_backends;
use janta_testkit::tables::{dump, occurrences, tables_with};
use serde_json::{json, Value};

/// A payer as Razorpay reports them: e-mail, phone, UPI VPA, card holder.
struct Payer {
    customer_id: String,
    email: &'static str,
    contact: &'static str,
    vpa: &'static str,
    card_holder: &'static str,
}

fn chitra() -> Payer {
    Payer {
        customer_id: new_id(),
        email: "chitra.k@example.com",
        contact: "+919845012345",
        vpa: "chitra.k@okhdfc",
        card_holder: "Chitra Kulkarni",
    }
}

fn bala() -> Payer {
    Payer {
        customer_id: new_id(),
        email: "bala.s@example.com",
        contact: "+919000012345",
        vpa: "bala.s@oksbi",
        card_holder: "Bala Subramanian",
    }
}

/// A `payment.captured` webhook about `gateway_ref` paid by `payer`.
fn captured_webhook(gateway_ref: &str, payer: &Payer) -> String {
    json!({
        "entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": format!("pay_{}", &gateway_ref[6..]), "entity": "payment", "amount": 50000,
            "currency": "INR", "status": "captured", "order_id": gateway_ref, "method": "upi",
            "email": payer.email, "contact": payer.contact, "vpa": payer.vpa,
            "upi": {"vpa": payer.vpa}, "card": {"name": payer.card_holder, "last4": "1111"},
            "notes": {"payment_id": "p", "order_id": "o"}
        }}}
    })
    .to_string()
}

/// A Razorpay payment of ₹500 by `payer`, captured, with the capture's
/// webhook stored and ₹100 refunded. Returns the payment's ID.
async fn paid_and_refunded(store: &Store, payer: &Payer) -> String {
    let id = new_id();
    let gateway_ref = format!("order_{}", new_id().replace('-', ""));
    let mut tx = store.begin().await.unwrap();
    let payment = NewPaymentRow {
        id: &id,
        order_id: &new_id(),
        customer_id: &payer.customer_id,
        vendor_id: &new_id(),
        method: PaymentMethod::Upi,
        gateway: "razorpay",
        gateway_payment_id: &gateway_ref,
        checkout_url: None,
        amount: Paise(50_000),
        tax: Paise(5_357),
        currency: "INR",
    };
    assert!(store::insert_payment(&mut tx, &payment).await.unwrap());
    let record = store::record_webhook(
        &mut tx,
        "razorpay",
        &format!("evt_{}", new_id()),
        "payment.captured",
        &gateway_ref,
        &captured_webhook(&gateway_ref, payer),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        store::apply_event(&mut tx, &id, PaymentEvent::Captured, None)
            .await
            .unwrap()
    );
    store::set_webhook_outcome(&mut tx, &record, Some(&id), "applied")
        .await
        .unwrap();
    assert!(store::reserve_refund(&mut tx, &id, Paise(10_000))
        .await
        .unwrap());
    let refund = NewRefundRow {
        id: &new_id(),
        payment_id: &id,
        amount: Paise(10_000),
        tax: Paise(1_071),
        reason: "strip was damaged",
        idempotency_key: Some("return-1"),
        requested_by: "service:orders",
    };
    assert!(store::insert_refund(&mut tx, &refund).await.unwrap());
    tx.commit().await.unwrap();
    id
}

async fn store_on(db: &janta_testkit::TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate(&store::migrations()).await.unwrap();
    store
}

async fn export(store: &Store, customer_id: &str) -> Value {
    let mut tx = store.begin().await.unwrap();
    let part = PaymentsPersonalData
        .export(&mut tx, customer_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    part
}

async fn erase(store: &Store, customer_id: &str) -> ErasureReport {
    let mut tx = store.begin().await.unwrap();
    let report = PaymentsPersonalData
        .erase(&mut tx, customer_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    report
}

fn details(payer: &Payer) -> [&'static str; 4] {
    [payer.email, payer.contact, payer.vpa, payer.card_holder]
}

both_backends! {
    async fn export_has_the_customers_payments_and_nobody_elses(db) {
        let store = store_on(&db).await;
        let (chitra, bala) = (chitra(), bala());
        let chitras = paid_and_refunded(&store, &chitra).await;
        let balas = paid_and_refunded(&store, &bala).await;

        let part = export(&store, &chitra.customer_id).await;
        let payments = part["payments"].as_array().unwrap();
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0]["id"], chitras.as_str());
        assert_eq!(payments[0]["status"], "PARTIALLY_REFUNDED");
        assert_eq!(payments[0]["amount"], 50_000);
        assert_eq!(payments[0]["refunded"], 10_000);
        assert_eq!(part["refunds"][0]["payment_id"], chitras.as_str());
        assert_eq!(part["refunds"][0]["amount"], 10_000);
        let webhooks = part["gatewayWebhooks"].as_array().unwrap();
        assert_eq!(webhooks.len(), 1);
        assert!(webhooks[0]["payload"].as_str().unwrap().contains(chitra.email));
        let text = part.to_string();
        assert!(!text.contains(&balas), "another customer's payment");
        for detail in details(&bala) {
            assert!(!text.contains(detail), "{detail} is another customer's");
        }

        let nobody = export(&store, &new_id()).await;
        let parts = nobody.as_object().unwrap();
        assert_eq!(parts.len(), 3);
        assert!(parts.values().all(|rows| rows.as_array().is_some_and(|r| r.is_empty())));
    }

    async fn erasure_removes_payer_details_keeps_payments_and_is_idempotent(db) {
        let store = store_on(&db).await;
        let (chitra, bala) = (chitra(), bala());
        paid_and_refunded(&store, &chitra).await;
        paid_and_refunded(&store, &bala).await;
        let before = dump(&store).await;
        for detail in details(&chitra) {
            assert_eq!(tables_with(&before, detail), ["webhook_events"], "{detail}");
        }

        let report = erase(&store, &chitra.customer_id).await;
        let after = dump(&store).await;
        for detail in details(&chitra) {
            assert!(tables_with(&after, detail).is_empty(), "{detail} is still held");
        }
        for detail in details(&bala) {
            assert_eq!(occurrences(&after, detail), occurrences(&before, detail), "{detail}");
        }
        for kept in ["payments", "refunds", "settlements"] {
            assert_eq!(before[kept], after[kept], "{kept} changed");
        }
        // The webhook record itself stays, with what it was about.
        let (event_type, outcome, payload): (String, String, String) = sqlx::query_as(
            "SELECT event_type, outcome, payload FROM webhook_events WHERE payment_id IN \
             (SELECT id FROM payments WHERE customer_id = $1)",
        )
        .bind(&chitra.customer_id)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!((event_type.as_str(), outcome.as_str()), ("payment.captured", "applied"));
        let payload: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["payload"]["payment"]["entity"]["amount"], 50000);
        assert_eq!(payload["payload"]["payment"]["entity"]["email"], "erased");

        assert_eq!(report.erased.len(), 1);
        assert!(report.erased[0].contains("in 1 gateway webhook records"), "{:?}", report.erased);
        assert_eq!(report.kept.len(), 1);
        assert_eq!(report.kept[0].rule, PAYMENT_RECORDS_RULE);
        assert!(report.kept[0].record.starts_with("1 payment(s) and 1 refund(s)"));

        let again = erase(&store, &chitra.customer_id).await;
        assert_eq!(dump(&store).await, after, "a second erasure changes nothing");
        assert!(again.erased.is_empty());
        assert_eq!(again.kept, report.kept);

        // Someone payments never saw gets an empty report.
        assert_eq!(erase(&store, &new_id()).await, ErasureReport::default());
    }
}
