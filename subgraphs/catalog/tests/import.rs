//! Bulk import over HTTP on both backends: the medicine master and a
//! vendor's listings and stock from CSV, row by row with rejected rows
//! reported by line (nothing of them written), idempotent on re-run (no new
//! versions, audit rows, events or stock), versioned and audited like the
//! changes made by hand, and only for those allowed to make them.

mod support;

use janta_catalog::demo::medicine_id;
use janta_platform::auth::Role;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code, principal};
use serde_json::{json, Value};
use support::{snapshot, Catalog};

const MEDICINES: &str =
    "mutation($csv: String!, $dry: Boolean) { importMedicines(csv: $csv, dryRun: $dry) { \
    rowsRead created updated unchanged dryRun ignoredColumns rejected { line reason } } }";
const LISTINGS: &str = "mutation($v: ID!, $csv: String!, $dry: Boolean) { importListings(vendorId: $v, csv: $csv, dryRun: $dry) { \
    rowsRead created updated unchanged dryRun ignoredColumns rejected { line reason } } }";

fn in_days(days: i64) -> String {
    (janta_catalog::domain::today() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn import_medicines(c: &Catalog, csv: &str) -> Value {
    c.gql
        .data(Some(&c.admin()), MEDICINES, json!({ "csv": csv }))
        .await["importMedicines"]
        .clone()
}

async fn import_listings(c: &Catalog, token: &str, vendor: &str, csv: &str) -> Value {
    c.gql
        .send(Some(token), LISTINGS, json!({ "v": vendor, "csv": csv }))
        .await
}

/// Counts of a report: (rowsRead, created, updated, unchanged, rejected lines).
fn counts(report: &Value) -> (i64, i64, i64, i64, Vec<i64>) {
    let n = |k: &str| {
        report[k]
            .as_i64()
            .unwrap_or_else(|| panic!("{k}: {report}"))
    };
    let lines = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    (
        n("rowsRead"),
        n("created"),
        n("updated"),
        n("unchanged"),
        lines,
    )
}

fn reason(report: &Value, line: i64) -> String {
    report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == line)
        .unwrap_or_else(|| panic!("no rejection of line {line}: {report}"))["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A master file: three new medicines (one in a new category), a demo
/// medicine with a new pack, and a demo medicine as it is. CRLF, a BOM,
/// columns in another order and case, a quoted comma, an extra column.
const MASTER: &str = "\u{FEFF}Category,NAME,generic,Manufacturer,strength,form,pack,schedule,HSN,notes\r\n\
Pain & Fever,Importol 650 tablet,Paracetamol,Import Labs,650 mg,Tablet,strip of 15 tablets,OTC,30049099,new\r\n\
Imported Tonics,Vitaboost syrup,\"Vitamin B12, Folic acid\",Import Labs,200 ml,SYRUP,bottle of 200 ml,otc,30045090,new category\r\n\
Antibiotics & Anti-infectives,Importcillin 250 capsule,Amoxicillin,Import Labs,250 mg,CAPSULE,strip of 10 capsules,H,300410,\r\n\
Pain & Fever,Paracetamol 500 mg tablet,Paracetamol,Cipla Ltd,500 mg,TABLET,strip of 15 tablets,OTC,30049099,new pack\r\n\
Antibiotics & Anti-infectives,amoxicillin  500 mg capsule,Amoxicillin,Alkem Laboratories Ltd,500 MG,CAPSULE,strip of 10 capsules,H,300410,same (name case differs)\r\n";

both_backends! {
    async fn a_master_file_imports_once_with_versions_and_audit(db) {
        let c = Catalog::seeded(&db).await;
        let (versions, audit) = (c.count("medicine_versions").await, c.count("audit_log").await);
        let report = import_medicines(&c, MASTER).await;
        // Row 6 matches demo medicine 2 by natural key but its name's case
        // differs, so it is a new version too (the key ignores case).
        assert_eq!(counts(&report), (5, 3, 2, 0, vec![]), "{report}");
        assert_eq!(report["ignoredColumns"], json!(["notes"]));
        assert_eq!(report["dryRun"], false);
        assert_eq!(c.count("medicine_versions").await, versions + 5, "3 new + 2 new versions");
        assert_eq!(c.count("audit_log").await, audit + 6, "5 medicine changes + 1 category");
        let created = c.scalar("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'category' AND action = 'created'").await;
        assert_eq!(created, 1, "the new category, audited");

        // As if made by hand: searchable, versioned, the new pack on version 2.
        let found = c.gql.data(None, "{ medicines(search: \"vitaboost\") { edges { node { genericName category { name } } } } }", json!({})).await;
        assert_eq!(found["medicines"]["edges"][0]["node"], json!({"genericName": "Vitamin B12, Folic acid", "category": {"name": "Imported Tonics"}}));
        let demo = c.gql.data(None, "query($id: ID!) { medicine(id: $id) { version packSize versions { version packSize } } }",
            json!({"id": medicine_id(1)})).await;
        assert_eq!(demo["medicine"]["version"], 2);
        assert_eq!(demo["medicine"]["packSize"], "strip of 15 tablets");
        assert_eq!(demo["medicine"]["versions"][1]["packSize"], "strip of 10 tablets", "history kept");

        // The same file again changes nothing at all.
        let before = snapshot(&c.store).await;
        let again = import_medicines(&c, MASTER).await;
        assert_eq!(counts(&again), (5, 0, 0, 5, vec![]), "{again}");
        assert_eq!(snapshot(&c.store).await, before, "no new medicine, version or audit row");

        // A dry run counts without writing.
        let changed = MASTER.replace("strip of 15 tablets,OTC,30049099,new pack", "strip of 20 tablets,OTC,30049099,x");
        let dry = c.gql.data(Some(&c.admin()), MEDICINES, json!({"csv": changed, "dry": true})).await["importMedicines"].clone();
        assert_eq!((counts(&dry), &dry["dryRun"]), ((5, 0, 1, 4, vec![]), &json!(true)));
        assert_eq!(snapshot(&c.store).await, before, "a dry run writes nothing");
    }

    async fn bad_medicine_rows_are_reported_by_line_and_not_written(db) {
        let c = Catalog::seeded(&db).await;
        let missing_category = janta_platform::ids::new_id();
        let csv = format!("name,generic,manufacturer,strength,form,pack,schedule,hsn,category\n\
            Goodol 500 tablet,Paracetamol,Good Labs,500 mg,TABLET,strip of 10,OTC,30049099,Pain & Fever\n\
            Badsched tablet,Paracetamol,Good Labs,500 mg,TABLET,strip of 10,Z,30049099,Pain & Fever\n\
            ,Paracetamol,Good Labs,500 mg,TABLET,strip of 10,OTC,30049099,Pain & Fever\n\
            \n\
            Badform,Paracetamol,Good Labs,500 mg,PILL,strip of 10,OTC,30049099,Pain & Fever\n\
            Badhsn tablet,Paracetamol,Good Labs,500 mg,TABLET,strip of 10,OTC,3004a,Pain & Fever\n\
            Nocat tablet,Paracetamol,Good Labs,500 mg,TABLET,strip of 10,OTC,30049099,{missing_category}\n\
            Short tablet,Paracetamol,Good Labs\n\
            GOODOL 500 tablet,Paracetamol,Good Labs,500 mg,TABLET,strip of 20,OTC,30049099,Pain & Fever\n");
        let (medicines, audit) = (c.count("medicines").await, c.count("audit_log").await);
        let report = import_medicines(&c, &csv).await;
        assert_eq!(counts(&report), (8, 1, 0, 0, vec![3, 4, 6, 7, 8, 9, 10]), "{report}");
        assert_eq!(reason(&report, 3), "schedule \"Z\" must be one of OTC, H, H1, X");
        assert_eq!(reason(&report, 4), "name must have at least 2 characters");
        assert!(reason(&report, 6).contains("form \"PILL\" is not a dosage form"), "{report}");
        assert_eq!(reason(&report, 7), "hsnCode must be an HSN code of 4, 6, 8 digits");
        assert_eq!(reason(&report, 8), format!("category {missing_category} does not exist"));
        assert!(reason(&report, 9).contains("has 3 fields but the header has 9"), "{report}");
        assert_eq!(reason(&report, 10), "the same medicine (name, strength, form, manufacturer) as line 2");
        assert_eq!(c.count("medicines").await, medicines + 1, "only the good row");
        assert_eq!(c.count("audit_log").await, audit + 1);
        let named = c.scalar("SELECT COUNT(*) FROM medicine_versions WHERE name IN ('Badsched tablet', 'Nocat tablet', 'Badhsn tablet')").await;
        assert_eq!(named, 0, "nothing of a rejected row");

        // Whole-file problems are refused outright.
        let before = snapshot(&c.store).await;
        let no_column = c.gql.send(Some(&c.admin()), MEDICINES, json!({"csv": "name,generic\nA,B\n"})).await;
        assert_eq!(error_code(&no_column).as_deref(), Some("BAD_USER_INPUT"));
        assert!(no_column["errors"][0]["message"].as_str().unwrap().contains("lacks the column(s) manufacturer"), "{no_column}");
        let huge = format!("{}\n{}", "name,generic,manufacturer,strength,form,pack,schedule,hsn,category", "x".repeat(1_900_001));
        let too_big = c.gql.send(Some(&c.admin()), MEDICINES, json!({"csv": huge})).await;
        assert_eq!(error_code(&too_big).as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(snapshot(&c.store).await, before);
    }

    async fn listings_and_batches_import_once(db) {
        let c = Catalog::seeded(&db).await;
        c.verify_vendor(VENDOR_KA_ID).await;
        let staff = c.staff_ka();
        let zifi = medicine_id(0x13);
        let csv = format!("medicine_id,name,strength,form,manufacturer,price,mrp,batch,expiry,quantity,batch_mrp\r\n\
            {zifi},,,,,100,120,zf-1,{e1},10,\r\n\
            {zifi},,,,,100,120,ZF-2,{e2},5,121\r\n\
            ,Janumet 50/500 tablet,50 mg/500 mg,tablet,MSD Pharmaceuticals Pvt Ltd,230,250,,,,\r\n",
            e1 = in_days(200), e2 = in_days(400));
        let (outbox, audit) = (c.count("outbox").await, c.count("audit_log").await);
        let body = import_listings(&c, &staff, VENDOR_KA_ID, &csv).await;
        let report = &body["data"]["importListings"];
        // Line 3 finds the listing line 2 created and adds a batch to it.
        assert_eq!(counts(report), (3, 2, 1, 0, vec![]), "{body}");
        assert_eq!(c.count("outbox").await, outbox + 2, "ListingPriceChanged for each new listing");
        assert_eq!(c.count("audit_log").await, audit + 4, "2 listings created + 2 batches received");
        let (id,): (String,) = sqlx::query_as("SELECT id FROM listings WHERE vendor_id = $1 AND medicine_id = $2")
            .bind(VENDOR_KA_ID).bind(&zifi).fetch_one(c.store.pool()).await.unwrap();
        let zifi_listing = c.gql.data(Some(&staff), "query($id: ID!) { listing(id: $id) { stock price { amount } batches { batchNumber quantity mrp { amount } } } }",
            json!({"id": id})).await["listing"].clone();
        assert_eq!(zifi_listing["price"]["amount"], "100.00");
        assert_eq!(zifi_listing["stock"], 15);
        assert_eq!(zifi_listing["batches"], json!([
            {"batchNumber": "ZF-1", "quantity": 10, "mrp": {"amount": "120.00"}},
            {"batchNumber": "ZF-2", "quantity": 5, "mrp": {"amount": "121.00"}}]));

        // Again: nothing changes, no packs are added twice.
        let before = snapshot(&c.store).await;
        let again = import_listings(&c, &staff, VENDOR_KA_ID, &csv).await;
        assert_eq!(counts(&again["data"]["importListings"]), (3, 0, 0, 3, vec![]), "{again}");
        assert_eq!(snapshot(&c.store).await, before, "no stock, ledger, audit or event added");

        // A changed price is an update; a recorded batch with other packs is refused.
        let changed = format!("medicine_id,price,mrp,batch,expiry,quantity\n{zifi},95,120,,,\n{zifi},95,120,ZF-1,{},12\n", in_days(200));
        let body = import_listings(&c, &staff, VENDOR_KA_ID, &changed).await;
        let report = &body["data"]["importListings"];
        assert_eq!(counts(report), (2, 0, 1, 0, vec![3]), "{body}");
        assert!(reason(report, 3).contains("batch ZF-1 was already received with 10 packs"), "{body}");
        let stock = c.scalar(&format!("SELECT CAST(SUM(b.quantity) AS BIGINT) FROM batches b JOIN listings l ON l.id = b.listing_id WHERE l.medicine_id = '{zifi}' AND l.vendor_id = '{VENDOR_KA_ID}'")).await;
        assert_eq!(stock, 15, "never added twice");
    }

    async fn bad_listing_rows_are_reported_and_not_written(db) {
        let c = Catalog::seeded(&db).await;
        let staff = c.staff_ka();
        let (zifi, janumet, addwize) = (medicine_id(0x13), medicine_id(0x1a), medicine_id(0x4e));
        let unknown = janta_platform::ids::new_id();
        let csv = format!("medicine_id,name,strength,form,manufacturer,price,mrp,batch,expiry,quantity,batch_mrp\n\
            {zifi},,,,,100,120,B1,{future},-5,\n\
            {zifi},,,,,100,120,B2,{past},5,\n\
            {unknown},,,,,100,120,,,,\n\
            ,Nosuch tablet,1 mg,TABLET,Nobody Ltd,100,120,,,,\n\
            {addwize},,,,,100,120,,,,\n\
            {janumet},,,,,130,120,,,,\n\
            {janumet},,,,,100,120,B3,{future},5,90\n\
            {zifi},,,,,,,B4,{future},5,\n",
            future = in_days(300), past = in_days(-1));
        let before = snapshot(&c.store).await;
        let body = import_listings(&c, &staff, VENDOR_KA_ID, &csv).await;
        let report = &body["data"]["importListings"];
        assert_eq!(counts(report), (8, 0, 0, 0, vec![2, 3, 4, 5, 6, 7, 8, 9]), "{body}");
        assert_eq!(reason(report, 2), "quantity must be positive");
        assert!(reason(report, 3).contains("expired stock cannot be received"), "{body}");
        assert_eq!(reason(report, 4), format!("medicine {unknown} is not in the master"));
        assert!(reason(report, 5).contains("no medicine in the master has this name"), "{body}");
        assert!(reason(report, 6).contains("Schedule X"), "{body}");
        assert!(reason(report, 7).contains("must not exceed the MRP"), "{body}");
        assert!(reason(report, 8).contains("lower the price first"), "the listing of the row is undone too: {body}");
        assert!(reason(report, 9).contains("no listing of this medicine yet"), "{body}");
        assert_eq!(snapshot(&c.store).await, before, "nothing of any rejected row");
    }

    async fn only_the_vendor_and_its_partner_apps_may_import(db) {
        let c = Catalog::seeded(&db).await;
        let zifi = medicine_id(0x13);
        let listing_only = format!("medicine_id,price,mrp\n{zifi},100,120\n");
        let with_batch = format!("medicine_id,price,mrp,batch,expiry,quantity\n{zifi},100,120,P1,{},3\n", in_days(300));
        let before = snapshot(&c.store).await;
        for token in [c.customer(), c.staff_ka()] {
            let refused = c.gql.send(Some(&token), MEDICINES, json!({"csv": MASTER})).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
        let anonymous = c.gql.send(None, MEDICINES, json!({"csv": MASTER})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        for (token, vendor) in [(c.customer(), VENDOR_KA_ID), (c.staff_mh(), VENDOR_KA_ID), (c.admin(), VENDOR_KA_ID)] {
            let refused = import_listings(&c, &token, vendor, &listing_only).await;
            assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        }
        let partner = |scopes: &[&str]| {
            let mut p = principal("partner:ka-erp", &[Role::Partner], Some(VENDOR_KA_ID));
            p.scopes = scopes.iter().map(|s| s.to_string()).collect();
            c.issuer.token(&p)
        };
        let unscoped = import_listings(&c, &partner(&["catalog:read"]), VENDOR_KA_ID, &listing_only).await;
        assert_eq!(error_code(&unscoped).as_deref(), Some("FORBIDDEN"));
        assert_eq!(unscoped["errors"][0]["message"], "this partner token lacks the scope listings:write");
        let no_stock = import_listings(&c, &partner(&["listings:write"]), VENDOR_KA_ID, &with_batch).await;
        assert_eq!(no_stock["errors"][0]["message"], "this partner token lacks the scope stock:write");
        let other_vendor = import_listings(&c, &partner(&["listings:write", "stock:write"]), VENDOR_MH_ID, &listing_only).await;
        assert_eq!(error_code(&other_vendor).as_deref(), Some("FORBIDDEN"));
        assert_eq!(snapshot(&c.store).await, before, "nothing written by a refused import");

        let allowed = import_listings(&c, &partner(&["listings:write", "stock:write"]), VENDOR_KA_ID, &with_batch).await;
        assert_eq!(counts(&allowed["data"]["importListings"]), (1, 1, 0, 0, vec![]), "{allowed}");
        let actor = c.scalar("SELECT COUNT(*) FROM audit_log WHERE actor = 'partner:ka-erp' AND action = 'batch_received'").await;
        assert_eq!(actor, 1, "audited as the partner app");
    }
}

/// A master file of `n` generated medicines across a dozen new categories.
fn generated_master(n: usize) -> String {
    let mut csv =
        String::from("name,generic,manufacturer,strength,form,pack,schedule,hsn,category\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "Benchmed {i} tablet,\"Benchamine {}, Paracetamol\",Bench Labs {} Ltd,{} mg,TABLET,strip of 10,OTC,30049099,Bench category {}\n",
            i % 500, i % 40, i % 900 + 100, i % 12
        ));
    }
    csv
}

both_backends! {
    async fn a_large_master_imports_in_chunks_and_again_unchanged(db) {
        let c = Catalog::start(&db).await;
        let csv = generated_master(2_000);
        let started = std::time::Instant::now();
        let report = import_medicines(&c, &csv).await;
        let first = started.elapsed();
        assert_eq!(counts(&report), (2_000, 2_000, 0, 0, vec![]));
        assert_eq!(c.count("medicines").await, 2_000, "every chunk committed");
        assert_eq!(c.count("categories").await, 12);
        let before = snapshot(&c.store).await;
        let started = std::time::Instant::now();
        let again = import_medicines(&c, &csv).await;
        let second = started.elapsed();
        assert_eq!(counts(&again), (2_000, 0, 0, 2_000, vec![]));
        assert_eq!(snapshot(&c.store).await, before);
        eprintln!("2 000 medicines: first run {first:?}, same file again {second:?} (bench/import.sh times 10 000 through the router)");
    }
}
