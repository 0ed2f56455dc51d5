//! 100 customers check out at the same moment for a listing with 10 units:
//! exactly 10 units are ordered, the 90 losers get `OUT_OF_STOCK`, and
//! nothing stays reserved for them (orders on SQLite and PostgreSQL, the
//! real catalog doing the reserving).

mod common;

use common::{catalog_demo, Stack};
use janta_testkit::{both_backends, error_code};

both_backends! {
    async fn hundred_concurrent_checkouts_for_ten_units_sell_exactly_ten(db) {
        let s = Stack::start(db).await;
        let listing = s
            .set_price(&s.mh_staff(), catalog_demo::PARACETAMOL_500_ID, "30.00", "45.00")
            .await;
        s.set_stock(&s.mh_staff(), &listing, 10).await;

        // Sign-ups ten at a time (password hashing is deliberately slow);
        // the checkouts below are what runs all at once.
        let mut customers = Vec::new();
        for _ in 0..10 {
            customers.extend(
                futures::future::join_all((0..10).map(|_| async {
                    let (token, _, address) = s.register_customer("KA").await;
                    s.add(&token, &listing, 1).await;
                    (token, address)
                }))
                .await,
            );
        }

        let bodies = futures::future::join_all(
            customers
                .iter()
                .map(|(token, address)| s.place(token, address, "race")),
        )
        .await;
        let mut won = 0;
        let mut sold_out = 0;
        for body in &bodies {
            match error_code(body).as_deref() {
                None => won += 1,
                Some("OUT_OF_STOCK") => sold_out += 1,
                other => panic!("unexpected outcome {other:?}: {body}"),
            }
        }
        assert_eq!((won, sold_out), (10, 90));
        assert_eq!(s.count("SELECT COUNT(*) FROM orders").await, 10);
        assert_eq!(s.count("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines").await, 10);
        assert_eq!(s.count("SELECT COUNT(*) FROM checkouts").await, 10, "losers' keys are freed");
        // Catalog holds exactly the winners' units, nothing for the losers.
        assert_eq!(s.reserved(&listing).await, 10);
        assert_eq!(s.available(&listing).await, 0);
        let (active, units): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(DISTINCT r.order_id), COALESCE(SUM(i.quantity), 0) FROM reservations r \
             JOIN reservation_items i ON i.order_id = r.order_id WHERE r.status = 'ACTIVE'",
        )
        .fetch_one(s.catalog_store.pool())
        .await
        .unwrap();
        assert_eq!((active, units), (10, 10));
        let order_ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM orders")
            .fetch_all(s.store().pool())
            .await
            .unwrap();
        for (id,) in &order_ids {
            assert_eq!(s.reservation_status(id).await.as_deref(), Some("ACTIVE"));
        }
    }
}
