//! Demo data for dev mode: GST slabs, eleven categories, 78 real medicines
//! (real salts, manufacturers and HSN codes) and listings with batches at
//! both demo vendors. The rows live in `subgraphs/catalog/demo/*.csv` (see
//! [`data`]); this module keeps the fixed IDs other subgraphs' demo data and
//! tests refer to, and seeds the rows once (it checks for the paracetamol
//! medicine first); production never calls it.
//!
//! Notable rows: "Paracetamol 500 mg tablet" (OTC) at both vendors with 200
//! and 150 packs; "Amoxicillin 500 mg capsule" (schedule H) at both;
//! "Cefixime 200 mg tablet" (schedule H1) at the KA vendor only; the MH
//! listing of Allegra 120 mg has exactly one pack; the KA listing of
//! Benadryl cough syrup has only an expired batch (stock 0; the expiry
//! sweeper moves it to quarantine). Compliance: Addwize (methylphenidate,
//! Schedule X) is in the master but listed nowhere; the KA Crocin listing's
//! first batch expires inside the 30-day shelf-life margin (sales take the
//! next batch); the KA Calpol listing demands 90 days of shelf life and one
//! of its batches carries an older, lower MRP. Both demo vendors are
//! recorded as verified, so their listings sell.

mod data;
pub mod scale;

use crate::store::{self, stock, ReadClock};
use data::DemoData;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_platform::money::Paise;
use janta_platform::store::Store;
use sqlx::AnyConnection;

/// "Paracetamol 500 mg tablet" (OTC).
pub const PARACETAMOL_500_ID: &str = "019a0000-0000-7000-8001-000000000001";
/// "Amoxicillin 500 mg capsule" (schedule H).
pub const AMOXICILLIN_500_ID: &str = "019a0000-0000-7000-8001-000000000002";
/// "Cefixime 200 mg tablet" (schedule H1).
pub const CEFIXIME_200_ID: &str = "019a0000-0000-7000-8001-000000000003";
/// "Allegra 120 mg tablet" (schedule H).
pub const ALLEGRA_120_ID: &str = "019a0000-0000-7000-8001-000000000004";
/// "Benadryl cough syrup" (OTC).
pub const BENADRYL_ID: &str = "019a0000-0000-7000-8001-000000000005";
/// "Addwize 10 tablet" (methylphenidate, schedule X).
pub const ADDWIZE_10_ID: &str = "019a0000-0000-7000-8001-00000000004e";

/// Paracetamol 500 mg at the KA vendor: 200 packs in two batches.
pub const PARACETAMOL_500_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000001";
/// Paracetamol 500 mg at the MH vendor: 150 packs.
pub const PARACETAMOL_500_MH_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000001";
/// Amoxicillin 500 mg at the KA vendor: 100 packs in two batches.
pub const AMOXICILLIN_500_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000002";
/// Amoxicillin 500 mg at the MH vendor: 50 packs.
pub const AMOXICILLIN_500_MH_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000002";
/// Cefixime 200 mg at the KA vendor (the only one): 60 packs.
pub const CEFIXIME_200_KA_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000003";
/// Allegra 120 mg at the MH vendor: exactly one pack in stock.
pub const SINGLE_UNIT_LISTING_ID: &str = "019a0000-0000-7000-8002-200000000004";
/// Benadryl cough syrup at the KA vendor: only an expired batch (stock 0).
pub const EXPIRED_ONLY_LISTING_ID: &str = "019a0000-0000-7000-8002-100000000005";

/// "Pain & Fever".
pub const CATEGORY_PAIN_FEVER_ID: &str = "019a0000-0000-7000-8003-000000000001";
/// "Antibiotics & Anti-infectives".
pub const CATEGORY_ANTIBIOTICS_ID: &str = "019a0000-0000-7000-8003-000000000002";

/// The ID of demo medicine number `n` (1-based: its row in `medicines.csv`).
pub fn medicine_id(n: u32) -> String {
    format!("019a0000-0000-7000-8001-{n:012x}")
}

/// The ID of the listing of demo medicine `n` at the KA (`ka = true`) or MH vendor.
pub fn listing_id(n: u32, ka: bool) -> String {
    format!("019a0000-0000-7000-8002-{}{n:011x}", if ka { 1 } else { 2 })
}

/// Records both demo vendors as verified, as users' demo data has them
/// (users seeds its rows directly, so no `VendorVerified` is published).
/// Idempotent, and run on every seed so that a demo database made before
/// catalog kept vendor status still shows its listings.
async fn seed_vendor_status(store: &Store) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let at = chrono::Utc::now();
    for vendor in [VENDOR_KA_ID, VENDOR_MH_ID] {
        store::vendors::record_verified(&mut tx, vendor, at).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Seeds the demo data if it is not there yet. Returns whether it seeded.
/// The files are parsed first, so a bad row fails before anything is written.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let data = DemoData::load()?;
    seed_vendor_status(store).await?;
    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM medicines WHERE id = $1")
        .bind(PARACETAMOL_500_ID)
        .fetch_optional(store.pool())
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    let mut tx = store.begin().await?;
    seed_medicines(&mut tx, store, &data).await?;
    seed_stock(&mut tx, &data).await?;
    tx.commit().await?;
    Ok(true)
}

/// Who the seed's audit rows name.
const ACTOR: &str = "system";

/// Categories, tax slabs, medicines and their alternatives.
async fn seed_medicines(
    conn: &mut AnyConnection,
    store: &Store,
    data: &DemoData,
) -> anyhow::Result<()> {
    for category in &data.categories {
        let description = Some(category.description.as_str());
        store::insert_category(conn, Some(&category.id), &category.name, description)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for slab in &data.tax_slabs {
        let (hsn, from) = (&slab.hsn_code, slab.effective_from);
        store::insert_tax_slab(conn, hsn, slab.rate_bp, from, &slab.description)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for medicine in &data.medicines {
        let id = Some(medicine.id.as_str());
        store::insert_medicine(conn, store.backend(), id, &medicine.fields, ACTOR).await?;
    }
    for alternatives in &data.alternatives {
        let (id, ranked) = (&alternatives.medicine_id, &alternatives.ranked);
        store::set_alternatives(conn, id, ranked, ACTOR).await?;
    }
    Ok(())
}

/// Listings at the demo vendors and their batches.
async fn seed_stock(conn: &mut AnyConnection, data: &DemoData) -> anyhow::Result<()> {
    let clock = ReadClock::now();
    for listing in &data.listings {
        let (id, medicine) = (Some(listing.id.as_str()), &listing.medicine_id);
        let change = store::ListingChange {
            prices: listing.prices,
            active: Some(true),
            min_shelf_life_days: listing.min_shelf_life_days,
            expected_version: None,
        };
        store::upsert_listing(conn, id, listing.vendor_id, medicine, change, &clock)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let today = crate::domain::today();
    for batch in &data.batches {
        let listing = data.listings.iter().find(|l| l.id == batch.listing_id);
        let receipt = stock::BatchReceipt {
            id: Some(batch.id.as_str()),
            listing_id: &batch.listing_id,
            batch_number: &batch.number,
            expires_on: batch.expires.date(today),
            quantity: batch.quantity,
            mrp: batch.mrp,
            default_mrp: listing.map_or(Paise(0), |l| l.prices.mrp),
            actor: ACTOR,
        };
        stock::receive_batch(conn, &receipt)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::data::{Expiry, Files, EMBEDDED};
    use super::*;
    use crate::domain::Schedule;

    fn load() -> DemoData {
        DemoData::load().unwrap_or_else(|e| panic!("{e}"))
    }

    fn units(data: &DemoData, listing: &str) -> Vec<(i64, Expiry)> {
        let batches = data.batches.iter().filter(|b| b.listing_id == listing);
        batches.map(|b| (b.quantity, b.expires)).collect()
    }

    #[test]
    fn every_fixed_id_is_in_the_data() {
        let data = load();
        let medicine = |id: &str| {
            let found = data.medicines.iter().find(|m| m.id == id);
            let fields = &found.unwrap_or_else(|| panic!("{id}")).fields;
            (fields.name.as_str(), fields.schedule)
        };
        assert_eq!(
            medicine(PARACETAMOL_500_ID),
            ("Paracetamol 500 mg tablet", Schedule::Otc)
        );
        assert_eq!(
            medicine(AMOXICILLIN_500_ID),
            ("Amoxicillin 500 mg capsule", Schedule::H)
        );
        assert_eq!(
            medicine(CEFIXIME_200_ID),
            ("Cefixime 200 mg tablet", Schedule::H1)
        );
        assert_eq!(
            medicine(ALLEGRA_120_ID),
            ("Allegra 120 mg tablet", Schedule::H)
        );
        assert_eq!(
            medicine(BENADRYL_ID),
            ("Benadryl cough syrup", Schedule::Otc)
        );
        assert_eq!(medicine(ADDWIZE_10_ID), ("Addwize 10 tablet", Schedule::X));
        let listing = |id: &str| {
            let found = data.listings.iter().find(|l| l.id == id);
            let listing = found.unwrap_or_else(|| panic!("{id}"));
            (listing.vendor_id, listing.medicine_id.as_str())
        };
        let (ka, mh) = (VENDOR_KA_ID, VENDOR_MH_ID);
        assert_eq!(
            listing(PARACETAMOL_500_KA_LISTING_ID),
            (ka, PARACETAMOL_500_ID)
        );
        assert_eq!(
            listing(PARACETAMOL_500_MH_LISTING_ID),
            (mh, PARACETAMOL_500_ID)
        );
        assert_eq!(
            listing(AMOXICILLIN_500_KA_LISTING_ID),
            (ka, AMOXICILLIN_500_ID)
        );
        assert_eq!(
            listing(AMOXICILLIN_500_MH_LISTING_ID),
            (mh, AMOXICILLIN_500_ID)
        );
        assert_eq!(listing(CEFIXIME_200_KA_LISTING_ID), (ka, CEFIXIME_200_ID));
        assert_eq!(listing(SINGLE_UNIT_LISTING_ID), (mh, ALLEGRA_120_ID));
        assert_eq!(listing(EXPIRED_ONLY_LISTING_ID), (ka, BENADRYL_ID));
        let category = |id: &str| data.categories.iter().find(|c| c.id == id).map(|c| &c.name);
        assert_eq!(category(CATEGORY_PAIN_FEVER_ID).unwrap(), "Pain & Fever");
        assert_eq!(
            category(CATEGORY_ANTIBIOTICS_ID).unwrap(),
            "Antibiotics & Anti-infectives"
        );
    }

    #[test]
    fn the_demo_shows_the_compliance_rules() {
        let data = load();
        let schedule_x: Vec<&str> = data
            .medicines
            .iter()
            .filter(|m| m.fields.schedule == Schedule::X)
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(schedule_x, [ADDWIZE_10_ID], "kept in the master");
        assert!(
            data.listings.iter().all(|l| l.medicine_id != ADDWIZE_10_ID),
            "no Schedule X listing"
        );
        let crocin_ka = listing_id(7, true);
        let days = Expiry::DaysAfterSeeding;
        assert_eq!(units(&data, &crocin_ka), [(69, days(20)), (31, days(500))]);
        let calpol_ka = listing_id(8, true);
        let calpol = data.listings.iter().find(|l| l.id == calpol_ka).unwrap();
        assert_eq!(calpol.min_shelf_life_days, Some(90));
        let mrps: Vec<Option<i64>> = data
            .batches
            .iter()
            .filter(|b| b.listing_id == calpol_ka)
            .map(|b| b.mrp.map(Paise::get))
            .collect();
        assert_eq!(mrps, [None, Some(5800)]);
        for batch in data.batches.iter().filter(|b| b.mrp.is_some()) {
            let listing = data.listings.iter().find(|l| l.id == batch.listing_id);
            let price = listing.unwrap().prices.price;
            assert!(batch.mrp.unwrap().get() >= price.get(), "{}", batch.id);
        }
    }

    #[test]
    fn the_id_helpers_follow_the_files() {
        let data = load();
        for (i, medicine) in data.medicines.iter().enumerate() {
            assert_eq!(medicine.id, medicine_id(i as u32 + 1));
        }
        for listing in &data.listings {
            let n = data
                .medicines
                .iter()
                .position(|m| m.id == listing.medicine_id);
            let ka = listing.vendor_id == VENDOR_KA_ID;
            assert_eq!(listing.id, listing_id(n.unwrap() as u32 + 1, ka));
        }
    }

    #[test]
    fn the_data_is_the_catalog_it_always_was() {
        let data = load();
        assert_eq!(data.categories.len(), 11);
        assert_eq!(data.tax_slabs.len(), 13);
        assert_eq!(data.medicines.len(), 78);
        assert_eq!(data.listings.len(), 148);
        assert_eq!(data.batches.len(), 221);
        assert_eq!(data.batches.iter().map(|b| b.quantity).sum::<i64>(), 9307);
        let ranked: usize = data.alternatives.iter().map(|a| a.ranked.len()).sum();
        assert_eq!((data.alternatives.len(), ranked), (6, 9));
        let days = Expiry::DaysAfterSeeding;
        let paracetamol_ka = units(&data, PARACETAMOL_500_KA_LISTING_ID);
        assert_eq!(paracetamol_ka, [(120, days(200)), (80, days(600))]);
        assert_eq!(
            units(&data, PARACETAMOL_500_MH_LISTING_ID),
            [(150, days(420))]
        );
        assert_eq!(units(&data, SINGLE_UNIT_LISTING_ID), [(1, days(260))]);
        let expired = Expiry::On(chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
        assert_eq!(units(&data, EXPIRED_ONLY_LISTING_ID), [(12, expired)]);
        let allegra = data
            .listings
            .iter()
            .find(|l| l.id == SINGLE_UNIT_LISTING_ID);
        let prices = allegra.unwrap().prices;
        assert_eq!((prices.price.get(), prices.mrp.get()), (21185, 22300));
        let insulin = data
            .tax_slabs
            .iter()
            .find(|s| s.hsn_code == "300431")
            .unwrap();
        assert_eq!(
            (insulin.rate_bp, insulin.effective_from.to_string()),
            (500, "2017-07-01".to_string())
        );
        let used: std::collections::HashSet<_> = data
            .medicines
            .iter()
            .map(|m| &m.fields.category_id)
            .collect();
        assert!(used.len() >= 8);
    }

    #[test]
    fn a_bad_row_is_an_error_naming_its_file_and_line() {
        let line = EMBEDDED
            .medicines
            .lines()
            .position(|l| l.contains(",TABLETS,"));
        assert!(line.is_none());
        // The fourth medicine's form misspelt.
        let medicines = EMBEDDED.medicines.replacen(",TABLET,", ",TABLETS,", 4);
        let medicines = medicines.replacen(",TABLETS,", ",TABLET,", 3);
        let bad = Files {
            medicines: &medicines,
            ..EMBEDDED
        };
        let line = bad
            .medicines
            .lines()
            .position(|l| l.contains(",TABLETS,"))
            .unwrap()
            + 1;
        let error = DemoData::parse(&bad)
            .err()
            .expect("a bad form is refused")
            .to_string();
        assert_eq!(
            error,
            format!("demo/medicines.csv line {line}: unknown form \"TABLETS\"")
        );
        let dangling = Files {
            listings: "id,vendor,medicine_id,price,mrp\n\
                019a0000-0000-7000-8002-100000000001,KA,019a0000-0000-7000-8001-0000000000ff,1,2\n",
            ..EMBEDDED
        };
        let error = DemoData::parse(&dangling)
            .err()
            .expect("a dangling reference is refused");
        assert!(
            error
                .to_string()
                .starts_with("demo/listings.csv line 2: unknown medicine_id"),
            "{error}"
        );
        let short = Files {
            tax_slabs: "hsn_code,rate,effective_from,description\n3003,12,2017-07-01\n",
            ..EMBEDDED
        };
        let error = DemoData::parse(&short)
            .err()
            .expect("a short row is refused");
        assert!(
            error.to_string().starts_with("demo/tax_slabs.csv"),
            "{error}"
        );
        assert!(error.to_string().contains("line: 2"), "{error}");
    }
}
