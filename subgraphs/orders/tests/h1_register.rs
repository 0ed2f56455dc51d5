//! The H1 register and dispensing records in the store, on SQLite and
//! PostgreSQL: entries go in and read back by vendor and Indian date, a
//! second dispensing of an order is not recorded, and both tables refuse
//! every UPDATE and DELETE (database triggers), so no code path can rewrite
//! the register.

use chrono::NaiveDate;
use janta_orders::domain::dispensing::{H1Entry, Pharmacist, Prescriber};
use janta_orders::domain::{GstRate, PaymentMethod, Schedule, Status, Supply};
use janta_orders::store::{self, AddressSnapshot, DispensingRow, LineRow, OrderRow, Owed};
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::scalars::{Date, DateTime};
use janta_platform::store::Store;
use janta_testkit::both_backends;

fn order(vendor_id: &str) -> OrderRow {
    OrderRow {
        id: new_id(),
        checkout_id: new_id(),
        customer_id: new_id(),
        vendor_id: vendor_id.to_string(),
        vendor_state: "KA".into(),
        status: Status::Packed,
        payment_method: Some(PaymentMethod::CashOnDelivery),
        supply: Supply::IntraState,
        currency: "INR".into(),
        total: Paise(10_000),
        taxable_total: Paise(8_929),
        cgst_total: Paise(535),
        sgst_total: Paise(536),
        igst_total: Paise(0),
        address: AddressSnapshot {
            id: new_id(),
            label: None,
            line1: "12 MG Road".into(),
            line2: None,
            city: "Bengaluru".into(),
            state: "KA".into(),
            pincode: "560001".into(),
        },
        prescription_ids: vec![],
        cancellation_reason: None,
        placed_at: DateTime::now(),
        payment_due_at: DateTime::now(),
        updated_at: DateTime::now(),
        version: 1,
        owed: Owed::default(),
    }
}

fn line(order_id: &str) -> LineRow {
    LineRow {
        id: new_id(),
        order_id: order_id.to_string(),
        position: 1,
        listing_id: new_id(),
        medicine_id: new_id(),
        medicine_version: 1,
        medicine_name: "Cefixime 200 mg tablet".into(),
        schedule: Schedule::H1,
        hsn_code: "300420".into(),
        gst_rate: GstRate::from_basis_points(1200).unwrap(),
        quantity: 2,
        unit_price: Paise(5_000),
        mrp: Paise(5_500),
        line_total: Paise(10_000),
        taxable_value: Paise(8_929),
        cgst: Paise(535),
        sgst: Paise(536),
        igst: Paise(0),
        prescription_id: None,
        batches: vec![],
    }
}

fn pharmacist() -> Pharmacist {
    Pharmacist {
        id: new_id(),
        name: "Priya Pharmacist".into(),
        registration: "KSPC/2019/04127".into(),
    }
}

fn entry(o: &OrderRow, l: &LineRow, batch: &str, sold_on: NaiveDate) -> H1Entry {
    H1Entry {
        id: new_id(),
        vendor_id: o.vendor_id.clone(),
        order_id: o.id.clone(),
        order_line_id: l.id.clone(),
        sold_on,
        dispatched_at: "2026-12-01T05:00:00.000000Z".into(),
        prescriber: Prescriber {
            prescription_id: None,
            patient_name: Some("Chitra Customer".into()),
            prescriber_name: Some("Dr. Anil Rao".into()),
            prescriber_registration: Some("KMC 45678".into()),
        },
        medicine_id: l.medicine_id.clone(),
        medicine_name: l.medicine_name.clone(),
        batch_number: batch.into(),
        batch_expires_on: "2027-06-30".into(),
        quantity: 1,
        pharmacist: pharmacist(),
    }
}

both_backends! {
    async fn the_h1_register_and_dispensings_are_append_only(db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate(&store::migrations()).await.unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let ka = new_id();
        let mh = new_id();
        let (o, o_mh) = (order(&ka), order(&mh));
        let (l, l_mh) = (line(&o.id), line(&o_mh.id));
        let mut tx = store.begin().await.unwrap();
        for (o, l) in [(&o, &l), (&o_mh, &l_mh)] {
            store::insert_order(&mut tx, o).await.unwrap();
            store::insert_line(&mut tx, l).await.unwrap();
        }
        let (b1, b2) = (entry(&o, &l, "CF2401", day), entry(&o, &l, "CF2402", day));
        let later = entry(&o, &l, "CF2403", day + chrono::Days::new(2));
        for e in [&b1, &b2, &later, &entry(&o_mh, &l_mh, "MH1", day)] {
            store::insert_h1_entry(&mut tx, e).await.unwrap();
        }
        let dispensing = DispensingRow {
            order_id: o.id.clone(),
            vendor_id: ka.clone(),
            pharmacist: pharmacist(),
            batches_checked: vec!["CF2401".into(), "CF2402".into()],
            note: Some("checked against the prescription".into()),
            dispensed_at: DateTime::now(),
        };
        assert!(store::insert_dispensing(&mut tx, &dispensing).await.unwrap());
        assert!(
            !store::insert_dispensing(&mut tx, &dispensing).await.unwrap(),
            "one dispensing per order"
        );
        tx.commit().await.unwrap();

        // Read back by vendor and period, oldest first, with every field.
        let read = store::h1_register(&store, &ka, Date(day), Date(day)).await.unwrap();
        assert_eq!(read, vec![b1.clone(), b2.clone()]);
        let wider = store::h1_register(&store, &ka, Date(day), Date(day + chrono::Days::new(7)))
            .await
            .unwrap();
        assert_eq!(wider.len(), 3);
        assert_eq!(wider[2].batch_number, "CF2403");
        let stored = store::dispensings_of_orders(&store, std::slice::from_ref(&o.id))
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].batches_checked, ["CF2401", "CF2402"]);
        assert_eq!(stored[0].pharmacist.registration, "KSPC/2019/04127");

        // Append-only: the database itself refuses changes and deletions.
        let pool = store.pool();
        for sql in [
            "UPDATE h1_register SET quantity = 5",
            "UPDATE h1_register SET prescriber_name = 'someone else'",
            "DELETE FROM h1_register",
            "UPDATE order_dispensings SET pharmacist_name = 'someone else'",
            "DELETE FROM order_dispensings",
        ] {
            assert!(sqlx::query(sql).execute(pool).await.is_err(), "{sql} went through");
        }
        // The same line and batch cannot be registered twice.
        let mut tx = store.begin().await.unwrap();
        let twice = entry(&o, &l, "CF2401", day);
        assert!(store::insert_h1_entry(&mut tx, &twice).await.is_err());
        drop(tx);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM h1_register")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 4);
    }
}
