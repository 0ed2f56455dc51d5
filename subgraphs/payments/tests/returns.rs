//! Approved returns (orders' `ReturnApproved`) on both backends: exactly
//! the returned lines' amount is refunded to the order's payment, once even
//! when the event arrives twice; a cash-on-delivery order gets a cash refund.

mod common;

use common::start;
use janta_events::types::{OrderStatus, OrderStatusChanged, ReturnApproved, ReturnLine};
use janta_payments::domain::PaymentMethod;
use janta_payments::service::orders;
use janta_platform::cause::Cause;
use janta_platform::demo::*;
use janta_platform::ids::new_id;
use janta_testkit::both_backends;

fn approved(order_id: &str, refund_paise: i64) -> ReturnApproved {
    ReturnApproved {
        return_id: new_id(),
        order_id: order_id.to_string(),
        customer_id: CUSTOMER_ID.to_string(),
        vendor_id: VENDOR_KA_ID.to_string(),
        lines: vec![ReturnLine {
            order_line_id: new_id(),
            listing_id: new_id(),
            quantity: 2,
            refund_paise,
        }],
        refund_paise,
        refund_tax_paise: 0,
        note: "crushed box".to_string(),
    }
}

both_backends! {
    async fn an_approved_return_is_refunded_once(db) {
        let h = start(&db).await;
        let payment = h.captured_payment(10_000).await;
        let event = approved(&payment.order_id, 3_600);
        let cause = Cause::new("service:orders", None);
        orders::return_approved(&h.state, &event, &cause).await.unwrap();
        orders::return_approved(&h.state, &event, &cause).await.unwrap();
        let after = h.reload(&payment.id).await;
        assert_eq!((after.captured.get(), after.refunded.get()), (10_000, 3_600));
        assert_eq!(after.status.as_db(), "PARTIALLY_REFUNDED");
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds").await, 1);
        assert_eq!(h.outbox("PaymentRefunded").await, 1);
        assert_eq!(
            h.count(&format!("SELECT COUNT(*) FROM refunds WHERE idempotency_key = '{}' AND status = 'SUCCEEDED'", event.return_id)).await,
            1
        );
        // The rest of the order, in a second return: fully refunded.
        orders::return_approved(&h.state, &approved(&payment.order_id, 6_400), &cause).await.unwrap();
        let after = h.reload(&payment.id).await;
        assert_eq!((after.refunded.get(), after.status.as_db()), (10_000, "REFUNDED"));
        assert_eq!(h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'refund_requested'").await, 2);
    }

    async fn a_cash_on_delivery_return_records_a_cash_refund(db) {
        let h = start(&db).await;
        let cod = h.payment(PaymentMethod::CashOnDelivery, 45_000).await;
        let delivered = OrderStatusChanged {
            order_id: cod.order_id.clone(),
            customer_id: CUSTOMER_ID.to_string(),
            vendor_id: VENDOR_KA_ID.to_string(),
            from: OrderStatus::OutForDelivery,
            to: OrderStatus::Delivered,
        };
        orders::order_status_changed(&h.state, &delivered, &Cause::system(None)).await.unwrap();
        let event = approved(&cod.order_id, 15_000);
        orders::return_approved(&h.state, &event, &Cause::system(None)).await.unwrap();
        orders::return_approved(&h.state, &event, &Cause::system(None)).await.unwrap();
        let after = h.reload(&cod.id).await;
        assert_eq!((after.captured.get(), after.refunded.get()), (45_000, 15_000));
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds WHERE status = 'SUCCEEDED'").await, 1);
    }
}
