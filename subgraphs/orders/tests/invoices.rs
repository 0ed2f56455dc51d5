//! Tax invoices in the store, on SQLite and PostgreSQL: 50 orders of one
//! seller confirmed at the same moment (racing transactions) take the
//! invoice numbers 1 to 50 of the seller's GSTIN and financial year, each
//! once, with no gaps; a confirmation that rolls back gives its number
//! back; issued documents refuse UPDATE and DELETE; cancelling a confirmed
//! order issues a credit note for every line in its own series, and
//! approved returns credit their units in the same series; the demo
//! order comes with its invoice.

use janta_orders::domain::invoices::{FinancialYear, Seller};
use janta_orders::domain::returns::{ReturnReason, ReturnStatus};
use janta_orders::domain::{
    line_tax, GstRate, Mover, PaymentMethod, Schedule, Status, Supply, Totals,
};
use janta_orders::service::invoices::{credit_return_in, issue_invoice_in};
use janta_orders::service::lifecycle::{cancel_in, confirm_in, Payment};
use janta_orders::store::{
    self, AddressSnapshot, LineRow, OrderParties, OrderRow, Owed, ReturnLineRow, ReturnRow,
};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::scalars::DateTime;
use janta_platform::store::Store;
use janta_testkit::both_backends;

const GSTIN: &str = "29AAFCS5678B1Z3";

fn seller() -> Seller {
    Seller {
        legal_name: "Sahyadri Medicos LLP".into(),
        branch_id: new_id(),
        branch_name: "Sahyadri Medicos, Indiranagar".into(),
        line1: "100 Feet Road".into(),
        city: "Bengaluru".into(),
        state: "KA".into(),
        pincode: "560038".into(),
        gstin: GSTIN.into(),
        invoice_series: "KA01".into(),
    }
}

/// A `PENDING_PAYMENT` order of one line (1 × ₹18.00 at 12 %, within
/// Karnataka) with its seller recorded, as checkout writes it.
async fn pending_order(store: &Store) -> String {
    pending_order_of(store, 1800, 1).await
}

/// [`pending_order`] of `quantity` units at `unit` paise.
async fn pending_order_of(store: &Store, unit: i64, quantity: i64) -> String {
    let id = new_id();
    let rate = GstRate::from_basis_points(1200).unwrap();
    let tax = line_tax(unit, quantity, rate, Supply::IntraState);
    let totals = Totals::of([&tax]);
    let now = DateTime::now();
    let order = OrderRow {
        id: id.clone(),
        checkout_id: new_id(),
        customer_id: new_id(),
        vendor_id: new_id(),
        vendor_state: "KA".into(),
        status: Status::PendingPayment,
        payment_method: Some(PaymentMethod::CashOnDelivery),
        supply: Supply::IntraState,
        currency: "INR".into(),
        total: Paise(totals.total),
        taxable_total: Paise(totals.taxable),
        cgst_total: Paise(totals.cgst),
        sgst_total: Paise(totals.sgst),
        igst_total: Paise(totals.igst),
        address: AddressSnapshot {
            id: new_id(),
            label: None,
            line1: "7 Residency Road".into(),
            line2: None,
            city: "Bengaluru".into(),
            state: "KA".into(),
            pincode: "560025".into(),
        },
        prescription_ids: vec![],
        cancellation_reason: None,
        placed_at: now,
        payment_due_at: now,
        updated_at: now,
        version: 1,
        owed: Owed::default(),
    };
    let line = LineRow {
        id: new_id(),
        order_id: id.clone(),
        position: 1,
        listing_id: new_id(),
        medicine_id: new_id(),
        medicine_version: 1,
        medicine_name: "Paracetamol 500 mg tablet".into(),
        schedule: Schedule::Otc,
        hsn_code: "30049099".into(),
        gst_rate: GstRate::from_basis_points(1200).unwrap(),
        quantity,
        unit_price: Paise(unit),
        mrp: Paise(2000),
        line_total: Paise(tax.gross),
        taxable_value: Paise(tax.taxable),
        cgst: Paise(tax.cgst),
        sgst: Paise(tax.sgst),
        igst: Paise(tax.igst),
        prescription_id: None,
        batches: vec![],
    };
    let mut tx = store.begin().await.unwrap();
    store::insert_order(&mut tx, &order).await.unwrap();
    store::insert_line(&mut tx, &line).await.unwrap();
    let parties = OrderParties {
        order_id: id.clone(),
        seller: seller(),
        buyer_name: Some("Chitra Customer".into()),
    };
    store::insert_parties(&mut tx, &order.vendor_id, &parties)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn store_on(db: &janta_testkit::TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate(&store::migrations()).await.unwrap();
    store
}

/// Confirms `id` in its own transaction.
async fn confirm(store: &Store, id: &str) -> bool {
    let cause = Cause::system(None);
    let mut tx = store.begin().await.unwrap();
    let done = confirm_in(&mut tx, id, &cause, Payment::CASH_ON_DELIVERY)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    done
}

fn year() -> String {
    FinancialYear::of(chrono::Utc::now()).label()
}

both_backends! {
    async fn fifty_concurrent_confirmations_take_fifty_consecutive_numbers(db) {
        let store = store_on(&db).await;
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(pending_order(&store).await);
        }
        // A confirmation whose transaction rolls back takes no number.
        {
            let cause = Cause::system(None);
            let mut tx = store.begin().await.unwrap();
            assert!(confirm_in(&mut tx, &ids[0], &cause, Payment::CASH_ON_DELIVERY)
                .await
                .unwrap());
            tx.rollback().await.unwrap();
        }
        let confirmed = futures::future::join_all(ids.iter().map(|id| confirm(&store, id))).await;
        assert!(confirmed.iter().all(|c| *c), "every order confirms once");

        let numbers: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, number, order_id FROM tax_documents WHERE kind = 'INVOICE' \
             AND seller_gstin = $1 ORDER BY seq",
        )
        .bind(GSTIN)
        .fetch_all(store.pool())
        .await
        .unwrap();
        let seqs: Vec<i64> = numbers.iter().map(|n| n.0).collect();
        assert_eq!(seqs, (1..=50).collect::<Vec<i64>>(), "no duplicates, no gaps");
        let fy = year();
        for (seq, number, _) in &numbers {
            assert_eq!(number, &format!("KA01/{fy}/{seq:05}"));
            assert!(number.len() <= 16);
        }
        let mut orders: Vec<&String> = numbers.iter().map(|n| &n.2).collect();
        orders.sort();
        orders.dedup();
        assert_eq!(orders.len(), 50, "one invoice per order");
        let (last,): (i64,) = sqlx::query_as(
            "SELECT last_seq FROM invoice_counters WHERE seller_gstin = $1 AND kind = 'INVOICE'",
        )
        .bind(GSTIN)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(last, 50);
        // Confirming again changes nothing and issues nothing.
        assert!(!confirm(&store, &ids[0]).await);
        let mut tx = store.begin().await.unwrap();
        let order = store::order_by_id(&mut tx, &ids[0]).await.unwrap().unwrap();
        let again = issue_invoice_in(&mut tx, &order, &Cause::system(None)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(again.unwrap().number, numbers.iter().find(|n| n.2 == ids[0]).unwrap().1);
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tax_documents")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(count, 50);
        // Every issue is audited.
        let (audited,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'tax_document' AND action = 'invoice_issued'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 50);
    }

    async fn issued_documents_never_change_and_cancellation_credits_every_line(db) {
        let store = store_on(&db).await;
        let id = pending_order(&store).await;
        assert!(confirm(&store, &id).await);
        let mut tx = store.begin().await.unwrap();
        let docs = store::documents_of_order(&mut tx, &id).await.unwrap();
        tx.commit().await.unwrap();
        let invoice = &docs[0];
        // 1 × ₹18.00 at 12 % within Karnataka: CGST = SGST = ₹0.96, taxable ₹16.08.
        assert_eq!(
            (invoice.totals.taxable, invoice.totals.cgst, invoice.totals.sgst, invoice.totals.igst),
            (1608, 96, 96, 0)
        );
        assert_eq!(invoice.buyer.name.as_deref(), Some("Chitra Customer"));
        assert_eq!(invoice.seller, seller_with_branch(&invoice.seller.branch_id));

        for sql in [
            "UPDATE tax_documents SET total = 0 WHERE id = $1",
            "DELETE FROM tax_documents WHERE id = $1",
            "UPDATE tax_document_lines SET cgst = 0 WHERE document_id = $1",
            "DELETE FROM tax_document_lines WHERE document_id = $1",
        ] {
            let refused = sqlx::query(sql).bind(&invoice.id).execute(store.pool()).await;
            assert!(refused.is_err(), "{sql} must be refused");
        }

        let cause = Cause::system(None);
        let mut tx = store.begin().await.unwrap();
        cancel_in(&mut tx, &id, &cause, Mover::Admin, "customer changed their mind")
            .await
            .unwrap();
        let docs = store::documents_of_order(&mut tx, &id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(docs.len(), 2);
        let note = &docs[1];
        assert_eq!(note.number, format!("KA01/{}/C0001", year()));
        assert_eq!(note.invoice_number.as_deref(), Some(invoice.number.as_str()));
        assert_eq!(note.totals, invoice.totals);
        assert_eq!(note.lines[0].quantity, 1);
    }
}

both_backends! {
    async fn the_demo_order_has_its_invoice(db) {
        let store = store_on(&db).await;
        assert!(janta_orders::demo::seed(&store).await.unwrap());
        assert!(!janta_orders::demo::seed(&store).await.unwrap(), "seeded once");
        let mut tx = store.begin().await.unwrap();
        let docs = store::documents_of_order(&mut tx, "019a0000-0000-7000-8005-000000000001")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(docs.len(), 1);
        let invoice = &docs[0];
        assert!(invoice.number.starts_with("KA01/") && invoice.number.ends_with("/00001"));
        // 2 × ₹18.00 and ₹30.24 at 5 %, ₹80.10 at 18 %, within Karnataka:
        // halves 0.86 + 0.72 + 6.11 = 7.69 each; taxable 34.28 + 28.80 + 67.88.
        let t = &invoice.totals;
        assert_eq!((t.total, t.taxable, t.cgst, t.sgst, t.igst), (14634, 13096, 769, 769, 0));
        assert_eq!(invoice.seller.gstin, "29AAACJ1234A1Z7");
    }
}

both_backends! {
    async fn returns_are_credited_in_their_own_gapless_series(db) {
        let store = store_on(&db).await;
        // 3 × ₹33.34 = ₹100.02 at 12 % within Karnataka: CGST = SGST =
        // round(10002 × 6 / 112 = 535.82) = 5.36.
        let id = pending_order_of(&store, 3334, 3).await;
        assert!(confirm(&store, &id).await);
        let cause = Cause::system(None);
        let mut tx = store.begin().await.unwrap();
        let invoice = store::documents_of_order(&mut tx, &id).await.unwrap().remove(0);
        tx.commit().await.unwrap();
        assert_eq!(invoice.totals.cgst, 536);
        let line_id = invoice.lines[0].order_line_id.clone();
        let mut notes = Vec::new();
        for (units, refund) in [(1, 3334), (2, 6668)] {
            let ret = ReturnRow {
                id: new_id(),
                order_id: id.clone(),
                customer_id: invoice.customer_id.clone(),
                vendor_id: invoice.vendor_id.clone(),
                status: ReturnStatus::Approved,
                reason: ReturnReason::Damaged,
                note: None,
                refund_total: Paise(refund),
                requested_at: DateTime::now(),
                reviewed_at: None,
                reviewed_by: None,
                review_note: None,
            };
            let line = ReturnLineRow {
                id: new_id(),
                return_id: ret.id.clone(),
                order_line_id: line_id.clone(),
                position: 1,
                listing_id: new_id(),
                quantity: units,
                refund: Paise(refund),
                refund_tax: Paise(0),
            };
            let mut tx = store.begin().await.unwrap();
            let note = credit_return_in(&mut tx, &ret, &[line], "damaged in transit", &cause)
                .await
                .unwrap()
                .unwrap();
            tx.commit().await.unwrap();
            notes.push(note);
        }
        let fy = year();
        assert_eq!(notes[0].number, format!("KA01/{fy}/C0001"));
        assert_eq!(notes[1].number, format!("KA01/{fy}/C0002"));
        // 536 × 1/3 = 178.67 → 1.78 each on the first; the rest, 3.58, on the second.
        let t = (&notes[0].totals, &notes[1].totals);
        assert_eq!((t.0.total, t.0.cgst, t.0.sgst, t.0.taxable), (3334, 178, 178, 2978));
        assert_eq!((t.1.total, t.1.cgst, t.1.sgst, t.1.taxable), (6668, 358, 358, 5952));
        assert_eq!(t.0.cgst + t.1.cgst, invoice.totals.cgst);
        assert_eq!(t.0.taxable + t.1.taxable, invoice.totals.taxable);
        assert_eq!(notes[1].invoice_number.as_deref(), Some(invoice.number.as_str()));
    }
}

fn seller_with_branch(branch_id: &str) -> Seller {
    Seller {
        branch_id: branch_id.to_string(),
        ..seller()
    }
}
