//! The event wiring on both backends, over the in-process bus exactly as
//! `janta dev` runs it: orders' events reach payments' consumer (exactly
//! once, refunds completed after the consumer's commit), and payments'
//! outbox reaches its consumers through the relay.

mod common;

use async_trait::async_trait;
use janta_events::types::{OrderCancelled, OrderStatus, OrderStatusChanged, PaymentSucceeded};
use janta_events::{EventBus, EventHandler, InProcessBus, Runtime};
use janta_payments::domain::PaymentMethod;
use janta_payments::gateway::Chaos;
use janta_platform::demo::*;
use janta_platform::events::Envelope;
use janta_platform::store::Store;
use janta_testkit::both_backends;
use sqlx::AnyConnection;
use std::time::Duration;
use tokio::sync::mpsc;

/// A listener standing in for any consumer of payments' events.
struct Capture(mpsc::UnboundedSender<(PaymentSucceeded, Envelope)>);

#[async_trait]
impl EventHandler<PaymentSucceeded> for Capture {
    async fn handle(
        &self,
        _conn: &mut AnyConnection,
        event: PaymentSucceeded,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        let _ = self.0.send((event, envelope.clone()));
        Ok(())
    }
}

/// A scratch database with the outbox tables, publishing as `orders`.
async fn orders_outbox(dir: &std::path::Path) -> Store {
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.join("orders-outbox.db").display()
    ))
    .await
    .unwrap();
    store
        .migrate(&janta_payments::store::migrations())
        .await
        .unwrap();
    store
}

async fn publish_as_orders<E: janta_events::Event>(store: &Store, event: &E) -> Envelope {
    let mut tx = store.begin().await.unwrap();
    let envelope = janta_events::publish(
        &mut tx,
        event,
        &janta_platform::cause::Cause::new("service:orders", Some("corr-1")),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    envelope
}

both_backends! {
    async fn orders_events_reach_payments_and_payments_events_leave(db) {
        let bus = InProcessBus::new();
        let h = common::start_on(&db, Chaos::default(), Runtime::new(bus.clone())).await;
        let events = EventBus::in_process(&bus);
        let orders = orders_outbox(&db.dir).await;
        let _orders_relay = events.start_relay(&orders, "orders");
        let (tx, mut received) = mpsc::unbounded_channel();
        let listener_store = orders_outbox(&db.dir).await;
        let _listener = events
            .consumer("test-listener", &listener_store)
            .on::<PaymentSucceeded>(Capture(tx))
            .start()
            .await;

        // A capture is published through payments' relay.
        let paid = h.captured_payment(30_000).await;
        let (event, envelope) = tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .expect("PaymentSucceeded delivered")
            .unwrap();
        assert_eq!(event.payment_id, paid.id);
        assert_eq!((event.order_id.as_str(), event.amount_paise), (paid.order_id.as_str(), 30_000));
        assert_eq!(envelope.payload["captured"], true);
        assert_eq!(envelope.aggregate_type, "payment");

        // Orders cancels the paid order: payments refunds it, once, even if
        // the event is published twice (same envelope ID).
        let cancelled = OrderCancelled {
            order_id: paid.order_id.clone(),
            customer_id: CUSTOMER_ID.into(),
            vendor_id: VENDOR_KA_ID.into(),
            from: OrderStatus::Confirmed,
            reason: "out of stock at the branch".into(),
            cancelled_by: VENDOR_KA_ADMIN_ID.into(),
        };
        let envelope = publish_as_orders(&orders, &cancelled).await;
        h.wait_for_status(&paid.id, "REFUNDED").await;
        // Redeliver: the relay sends the row again when it is pending again.
        sqlx::query("UPDATE outbox SET published_at = NULL WHERE id = $1")
            .bind(&envelope.id)
            .execute(orders.pool())
            .await
            .unwrap();
        janta_events::outbox_written();
        for _ in 0..100 {
            let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(orders.pool()).await.unwrap();
            if pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(h.count("SELECT COUNT(*) FROM refunds").await, 1);
        assert_eq!(h.outbox("PaymentRefunded").await, 1);
        assert!(janta_events::is_processed(&h.state.store, "payments", &envelope.id).await.unwrap());

        // Cash on delivery: delivered → collected.
        let cod = h.payment(PaymentMethod::CashOnDelivery, 12_000).await;
        publish_as_orders(&orders, &OrderStatusChanged {
            order_id: cod.order_id.clone(),
            customer_id: CUSTOMER_ID.into(),
            vendor_id: VENDOR_KA_ID.into(),
            from: OrderStatus::OutForDelivery,
            to: OrderStatus::Delivered,
        })
        .await;
        let cod = h.wait_for_status(&cod.id, "SUCCEEDED").await;
        assert_eq!(cod.captured.get(), 12_000);
    }
}
