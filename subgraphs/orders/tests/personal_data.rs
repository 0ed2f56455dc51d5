//! A customer's data rights in the orders store (issue 18), on SQLite and
//! PostgreSQL: their export lists their orders, lines, cart, returns, tax
//! invoices and H1 entries and nobody else's; erasure leaves their name and
//! address lines in no table but the tax invoices and the H1 register
//! (which stay exactly as issued, so the vendor still sees its invoice),
//! deletes their cart, leaves other customers alone and, run again,
//! changes nothing; open orders are counted for users' account closure.

mod common;

use chrono::NaiveDate;
use janta_kit::personal_data::PersonalData;
use janta_orders::domain::dispensing::{H1Entry, Pharmacist, Prescriber};
use janta_orders::domain::invoices::Seller;
use janta_orders::domain::returns::{ReturnReason, ReturnStatus};
use janta_orders::domain::{
    line_tax, GstRate, Mover, PaymentMethod, Schedule, Status, Supply, Totals,
};
use janta_orders::service::lifecycle::{cancel_in, confirm_in, Payment};
use janta_orders::service::personal_data::{
    OrdersPersonalData, H1_REGISTER_RULE, TAX_INVOICE_RULE,
};
use janta_orders::store::{
    self, AddressSnapshot, LineRow, OrderParties, OrderRow, Owed, ReturnRow,
};
use janta_platform::cause::Cause;
use janta_platform::ids::new_id;
use janta_platform::money::Paise;
use janta_platform::scalars::DateTime;
use janta_platform::store::{Backend, Store};
use janta_testkit::both_backends;
use janta_testkit::tables::{dump, occurrences, tables_with};
use serde_json::Value;

/// One customer's personal details, as they reach orders at checkout.
struct Person {
    id: String,
    name: &'static str,
    line1: &'static str,
    line2: &'static str,
    label: &'static str,
}

const CHITRA: (&str, &str, &str, &str) = (
    "Chitra Kulkarni",
    "7 Residency Road",
    "Flat 4B, Lotus Apartments",
    "Chitra's home",
);
const BALA: (&str, &str, &str, &str) = (
    "Bala Subramanian",
    "9 Brigade Road",
    "Near the clock tower",
    "Bala's office",
);

fn person(
    (name, line1, line2, label): (&'static str, &'static str, &'static str, &'static str),
) -> Person {
    Person {
        id: new_id(),
        name,
        line1,
        line2,
        label,
    }
}

fn seller() -> Seller {
    Seller {
        legal_name: "Sahyadri Medicos LLP".into(),
        branch_id: new_id(),
        branch_name: "Sahyadri Medicos, Indiranagar".into(),
        line1: "100 Feet Road".into(),
        city: "Bengaluru".into(),
        state: "KA".into(),
        pincode: "560038".into(),
        gstin: "29AAFCS5678B1Z3".into(),
        invoice_series: "KA01".into(),
    }
}

/// A PENDING_PAYMENT order of one H1 line by `who` from `vendor`, with its
/// parties and prescriber, as checkout writes it. Returns (order, line).
async fn place(store: &Store, who: &Person, vendor: &str) -> (String, String) {
    let id = new_id();
    let rate = GstRate::from_basis_points(1200).unwrap();
    let tax = line_tax(1800, 1, rate, Supply::IntraState);
    let totals = Totals::of([&tax]);
    let now = DateTime::now();
    let order = OrderRow {
        id: id.clone(),
        checkout_id: new_id(),
        customer_id: who.id.clone(),
        vendor_id: vendor.to_string(),
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
            label: Some(who.label.into()),
            line1: who.line1.into(),
            line2: Some(who.line2.into()),
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
        medicine_name: "Cefixime 200 mg tablet".into(),
        schedule: Schedule::H1,
        hsn_code: "30042019".into(),
        gst_rate: rate,
        quantity: 1,
        unit_price: Paise(1800),
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
        buyer_name: Some(who.name.into()),
    };
    store::insert_parties(&mut tx, vendor, &parties)
        .await
        .unwrap();
    store::insert_line_prescriber(&mut tx, &line.id, &id, &prescriber(who))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (id, line.id)
}

fn prescriber(who: &Person) -> Prescriber {
    Prescriber {
        prescription_id: None,
        patient_name: Some(who.name.into()),
        prescriber_name: Some("Dr. Anil Rao".into()),
        prescriber_registration: Some("KMC 45678".into()),
    }
}

/// Confirms `order` (issuing its tax invoice), dispatches it (writing its
/// H1 entry) and marks it delivered.
async fn deliver(store: &Store, who: &Person, vendor: &str, order: &str, line: &str) {
    let mut tx = store.begin().await.unwrap();
    assert!(confirm_in(
        &mut tx,
        order,
        &Cause::system(None),
        Payment::CASH_ON_DELIVERY
    )
    .await
    .unwrap());
    let entry = H1Entry {
        id: new_id(),
        vendor_id: vendor.to_string(),
        order_id: order.to_string(),
        order_line_id: line.to_string(),
        sold_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        dispatched_at: "2026-12-01T05:00:00.000000Z".into(),
        prescriber: prescriber(who),
        medicine_id: new_id(),
        medicine_name: "Cefixime 200 mg tablet".into(),
        batch_number: "CF2401".into(),
        batch_expires_on: "2027-06-30".into(),
        quantity: 1,
        pharmacist: Pharmacist {
            id: new_id(),
            name: "Priya Pharmacist".into(),
            registration: "KSPC/2019/04127".into(),
        },
    };
    store::insert_h1_entry(&mut tx, &entry).await.unwrap();
    sqlx::query("UPDATE orders SET status = 'DELIVERED' WHERE id = $1")
        .bind(order)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A return of `order` by `who` in `status`, with the customer's note.
async fn ask_return(store: &Store, who: &Person, vendor: &str, order: &str, status: ReturnStatus) {
    let mut tx = store.begin().await.unwrap();
    let ret = ReturnRow {
        id: new_id(),
        order_id: order.to_string(),
        customer_id: who.id.clone(),
        vendor_id: vendor.to_string(),
        status,
        reason: ReturnReason::Other,
        note: Some(format!("{} asks: collect it from {}", who.name, who.line1)),
        refund_total: Paise(0),
        requested_at: DateTime::now(),
        reviewed_at: None,
        reviewed_by: None,
        review_note: None,
    };
    store::insert_return(&mut tx, &ret).await.unwrap();
    tx.commit().await.unwrap();
}

/// What a customer writes when they cancel in these tests. (The audit trail
/// and the OrderCancelled event keep a reason too: the audit trail is kept
/// by law, events carry no contact details.)
fn reason(who: &Person) -> String {
    format!(
        "ordered the wrong strength by mistake (customer {})",
        who.id
    )
}

/// Everything a customer leaves in orders: an order delivered (invoice, H1
/// entry, a rejected return), an order they cancelled themselves with their
/// reason, a cart with a line. Returns the delivered order's ID.
async fn customer_history(store: &Store, who: &Person, vendor: &str) -> String {
    let (delivered, line) = place(store, who, vendor).await;
    deliver(store, who, vendor, &delivered, &line).await;
    ask_return(store, who, vendor, &delivered, ReturnStatus::Rejected).await;
    let (cancelled, _) = place(store, who, vendor).await;
    let mut tx = store.begin().await.unwrap();
    cancel_in(
        &mut tx,
        &cancelled,
        &Cause::new(who.id.clone(), None),
        Mover::Buyer,
        &reason(who),
    )
    .await
    .unwrap();
    let cart = store::ensure_cart(&mut tx, &who.id).await.unwrap();
    assert!(store::add_to_cart(&mut tx, &cart.id, &new_id(), 2, 10)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    delivered
}

async fn store_on(db: &janta_testkit::TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate(&store::migrations()).await.unwrap();
    store
}

async fn erase(store: &Store, who: &Person) -> janta_kit::personal_data::ErasureReport {
    let mut tx = store.begin().await.unwrap();
    let report = OrdersPersonalData.erase(&mut tx, &who.id).await.unwrap();
    tx.commit().await.unwrap();
    report
}

async fn export(store: &Store, who: &Person) -> Value {
    let mut tx = store.begin().await.unwrap();
    let part = OrdersPersonalData.export(&mut tx, &who.id).await.unwrap();
    tx.commit().await.unwrap();
    part
}

both_backends! {
    async fn export_has_the_customers_rows_and_nobody_elses(db) {
        let store = store_on(&db).await;
        let vendor = new_id();
        let (chitra, bala) = (person(CHITRA), person(BALA));
        let chitras = customer_history(&store, &chitra, &vendor).await;
        let balas = customer_history(&store, &bala, &vendor).await;

        let part = export(&store, &chitra).await;
        let text = part.to_string();
        let orders = part["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 2);
        assert!(orders.iter().any(|o| o["id"] == chitras.as_str() && o["status"] == "DELIVERED"));
        assert!(orders
            .iter()
            .any(|o| o["status"] == "CANCELLED" && o["cancellation_reason"] == reason(&chitra)));
        assert_eq!(orders[0]["address_line1"], CHITRA.1);
        assert_eq!(orders[0]["total"], 1800, "money as stored, in paise");
        assert_eq!(part["orderLines"].as_array().unwrap().len(), 2);
        assert_eq!(part["cartLines"][0]["quantity"], 2);
        assert_eq!(part["returns"][0]["order_id"], chitras.as_str());
        let invoice = &part["taxDocuments"][0];
        assert_eq!(part["taxDocuments"].as_array().unwrap().len(), 1);
        assert_eq!(invoice["kind"], "INVOICE");
        assert_eq!(invoice["buyer_name"], CHITRA.0);
        assert_eq!(part["taxDocumentLines"][0]["document_id"], invoice["id"]);
        assert_eq!(part["h1Register"][0]["patient_name"], CHITRA.0);
        assert_eq!(part["prescriptionLines"].as_array().unwrap().len(), 2);
        assert!(!text.contains(&bala.id) && !text.contains(&balas), "another customer's rows");
        for detail in [BALA.0, BALA.1, BALA.2, BALA.3] {
            assert!(!text.contains(detail), "{detail} is another customer's");
        }
        assert!(!text.contains("Priya Pharmacist"), "the pharmacist's details are not the customer's");

        // Someone orders never saw gets every part, empty.
        let nobody = export(&store, &person(("Nobody", "-", "-", "-"))).await;
        let parts = nobody.as_object().unwrap();
        assert_eq!(parts.len(), 12);
        assert!(parts.values().all(|rows| rows.as_array().is_some_and(|r| r.is_empty())));
    }

    async fn erasure_keeps_the_invoices_as_issued_and_is_idempotent(db) {
        let store = store_on(&db).await;
        let vendor = new_id();
        let (chitra, bala) = (person(CHITRA), person(BALA));
        let chitras = customer_history(&store, &chitra, &vendor).await;
        customer_history(&store, &bala, &vendor).await;
        let before = dump(&store).await;
        assert!(tables_with(&before, CHITRA.1).contains(&"orders".to_string()));
        assert!(tables_with(&before, CHITRA.0).contains(&"order_parties".to_string()));

        let report = erase(&store, &chitra).await;
        let after = dump(&store).await;

        // The legally kept records are exactly as issued.
        for kept in ["tax_documents", "tax_document_lines", "h1_register", "order_dispensings"] {
            assert_eq!(before[kept], after[kept], "{kept} changed");
        }
        // The customer's name and address lines are nowhere else, nor what
        // they wrote on their orders.
        for detail in [CHITRA.0, CHITRA.1, CHITRA.2, CHITRA.3] {
            let mut found = tables_with(&after, detail);
            found.retain(|t| t != "tax_documents" && t != "h1_register");
            assert!(found.is_empty(), "{detail} is still in {found:?}");
        }
        let said = reason(&chitra);
        for table in ["orders", "order_status_history"] {
            assert!(before[table].iter().any(|row| row.contains(&said)), "{table}");
            assert!(!after[table].iter().any(|row| row.contains(&said)), "{table}");
        }
        // Another customer's rows are untouched, cart included.
        for detail in [BALA.0, BALA.1, BALA.2, BALA.3, bala.id.as_str()] {
            assert_eq!(occurrences(&after, detail), occurrences(&before, detail), "{detail}");
        }
        // The vendor still sees the invoice, with the buyer as invoiced; the
        // order it sold is still there, without the address lines.
        let mut tx = store.begin().await.unwrap();
        let docs = store::documents_of_order(&mut tx, &chitras).await.unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].buyer.name.as_deref(), Some(CHITRA.0));
        assert_eq!(docs[0].buyer.line1, CHITRA.1);
        let order = store::order_by_id(&mut tx, &chitras).await.unwrap().unwrap();
        assert_eq!(order.address.line1, store::ERASED);
        assert_eq!((order.address.line2, order.address.label), (None, None));
        assert_eq!(order.address.state, "KA", "the place of supply stays");
        assert_eq!(store::lines_of_order(&mut tx, &chitras).await.unwrap().len(), 1);
        assert!(store::find_cart(&mut tx, &chitra.id).await.unwrap().is_none());
        assert!(store::find_cart(&mut tx, &bala.id).await.unwrap().is_some());
        tx.commit().await.unwrap();

        assert_eq!(report.erased, [
            "delivery address lines of 2 orders",
            "the buyer's name kept for invoicing 2 orders",
            "patient names on 2 prescription lines",
            "2 cancellation reasons and status notes the customer wrote",
            "the customer's notes on 1 returns",
            "1 cart (deleted)",
        ]);
        let rules: Vec<&str> = report.kept.iter().map(|k| k.rule.as_str()).collect();
        assert_eq!(&rules[..2], [TAX_INVOICE_RULE, H1_REGISTER_RULE]);
        assert!(report.kept[0].record.starts_with("1 tax invoices"));

        // Again: nothing changes, nothing more is erased, the same is kept.
        let again = erase(&store, &chitra).await;
        assert_eq!(dump(&store).await, after);
        assert!(again.erased.is_empty(), "{:?}", again.erased);
        assert_eq!(again.kept, report.kept);
    }

    async fn open_orders_are_those_still_under_way(db) {
        let store = store_on(&db).await;
        let vendor = new_id();
        let (chitra, bala) = (person(CHITRA), person(BALA));
        let delivered = customer_history(&store, &chitra, &vendor).await;
        let count = |who: String| {
            let store = store.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                store::open_order_count(&mut tx, &who).await.unwrap()
            }
        };
        assert_eq!(count(chitra.id.clone()).await, 0, "delivered and cancelled orders are over");
        ask_return(&store, &chitra, &vendor, &delivered, ReturnStatus::Requested).await;
        assert_eq!(count(chitra.id.clone()).await, 1, "a return awaiting review keeps it open");

        let (pending, _) = place(&store, &bala, &vendor).await;
        assert_eq!(count(bala.id.clone()).await, 1);
        for status in ["CONFIRMED", "PACKED", "OUT_FOR_DELIVERY"] {
            sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(&pending)
                .execute(store.pool())
                .await
                .unwrap();
            assert_eq!(count(bala.id.clone()).await, 1, "{status}");
        }
        for status in ["DELIVERED", "RETURNED", "PARTIALLY_RETURNED", "CANCELLED"] {
            sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(&pending)
                .execute(store.pool())
                .await
                .unwrap();
            assert_eq!(count(bala.id.clone()).await, 0, "{status}");
        }
        assert_eq!(count(new_id()).await, 0);
    }
}

/// `openOrderCount` over HTTP: the users service gets the count of a
/// customer's orders under way; any other caller is FORBIDDEN.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_order_count_answers_the_users_service_only() {
    use janta_platform::demo::{CUSTOMER_ADDRESS_ID, CUSTOMER_ID};
    use janta_testkit::{error_code, TestDb};
    use serde_json::json;

    let s = common::Stack::start(TestDb::new(Backend::Sqlite).await).await;
    let query = "query($id: ID!) { openOrderCount(customerId: $id) }";
    let ask = |token: String, id: &str| {
        let (orders, id) = (&s.orders, json!({ "id": id }));
        async move { orders.send(Some(&token), query, id).await }
    };
    let count = ask(s.service("users"), CUSTOMER_ID).await;
    assert_eq!(count["data"]["openOrderCount"], 0, "{count}");

    let listing = s
        .set_price(
            &s.ka_staff(),
            common::catalog_demo::PARACETAMOL_500_ID,
            "30.00",
            "45.00",
        )
        .await;
    s.add(&s.customer(), &listing, 1).await;
    let placed = s
        .place(&s.customer(), CUSTOMER_ADDRESS_ID, "open-orders")
        .await;
    assert!(placed["errors"].is_null(), "{placed}");
    let count = ask(s.service("users"), CUSTOMER_ID).await;
    assert_eq!(count["data"]["openOrderCount"], 1, "{count}");

    for token in [s.service("payments"), s.customer(), s.admin()] {
        let refused = ask(token, CUSTOMER_ID).await;
        assert_eq!(
            error_code(&refused).as_deref(),
            Some("FORBIDDEN"),
            "{refused}"
        );
    }
    let garbage = ask(s.service("users"), "not-an-id").await;
    assert_eq!(
        error_code(&garbage).as_deref(),
        Some("BAD_USER_INPUT"),
        "{garbage}"
    );
}
