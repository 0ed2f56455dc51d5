//! Catalog's part of `janta seed --scale N`: the plan's medicines (with
//! their first version, their search index rows and facets, the vocabulary the
//! misspelling fallback reads), every plan vendor recorded as verified,
//! the listings, and their batches with the `RECEIVED` stock movements
//! that account for them. Rows are written in multi-row statements
//! ([`janta_platform::scale::Bulk`]) and are searchable exactly like
//! medicines created through the API: the same FTS5 table (SQLite) or
//! weighted `tsvector` (PostgreSQL), and the same trigram vocabulary.
//!
//! The demo is seeded first (its categories and GST slabs are the ones the
//! generated medicines use). A finished seed leaves an audit row; running
//! the same scale again does nothing, another scale is refused.

use super::seed as seed_demo;
use crate::domain;
use janta_platform::scalars::{now_db, Date};
use janta_platform::scale::{
    fill, mark_seeded, scale_id, should_seed, Bulk, Kind, ScalePlan, Value,
};
use janta_platform::store::{Backend, Store};
use std::collections::BTreeSet;

/// Who the generated rows name.
const ACTOR: &str = "system";

/// FTS5 rowids of generated medicines start here, far above those the
/// API assigns, so a re-run replaces its own rows instead of adding rows.
const FTS_ROWID_BASE: i64 = 4_000_000_000;

/// Seeds scale `plan` unless it is there; returns whether it wrote anything.
pub async fn seed(store: &Store, plan: ScalePlan) -> anyhow::Result<bool> {
    seed_demo(store).await?;
    if !should_seed(store, &plan).await? {
        return Ok(false);
    }
    let rows = seed_medicines(store, &plan).await?;
    tracing::info!(rows, "catalog scale seed: medicines");
    let rows = seed_search(store, &plan).await?;
    tracing::info!(rows, "catalog scale seed: search index");
    let rows = seed_vendor_status(store, &plan).await?;
    tracing::info!(rows, "catalog scale seed: vendor statuses");
    let rows = seed_listings(store, &plan).await?;
    tracing::info!(rows, "catalog scale seed: listings");
    let rows = seed_batches(store, &plan).await?;
    tracing::info!(
        rows,
        "catalog scale seed: batches and their stock movements"
    );
    mark_seeded(store, &plan, "catalog").await?;
    Ok(true)
}

/// The ID of demo category `n` (see `demo/categories.csv`).
fn category_id(n: u64) -> String {
    format!("019a0000-0000-7000-8003-{n:012x}")
}

/// Medicines and their first versions.
async fn seed_medicines(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let medicines = Bulk::new(
        "medicines",
        &["id", "current_version", "created_at", "updated_at"],
    );
    fill(store, &medicines, plan.medicines, |m, rows| {
        let id = scale_id(Kind::Medicine, m);
        rows.push(vec![
            id.into(),
            1_i64.into(),
            now.as_str().into(),
            now.as_str().into(),
        ]);
    })
    .await?;
    let versions = Bulk::new(
        "medicine_versions",
        &[
            "medicine_id",
            "version",
            "name",
            "generic_name",
            "manufacturer",
            "strength",
            "form",
            "pack_size",
            "schedule",
            "hsn_code",
            "category_id",
            "created_by",
            "created_at",
        ],
    );
    fill(store, &versions, plan.medicines, |m, rows| {
        let s = plan.medicine(m);
        rows.push(vec![
            scale_id(Kind::Medicine, m).into(),
            1_i64.into(),
            s.name.into(),
            s.generic_name.into(),
            s.manufacturer.into(),
            s.strength.into(),
            s.form.into(),
            s.pack_size.into(),
            s.schedule.into(),
            s.hsn_code.into(),
            category_id(s.category).into(),
            ACTOR.into(),
            now.as_str().into(),
        ]);
    })
    .await
}

/// The search index rows and the vocabulary of every generated medicine.
async fn seed_search(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let columns = ["medicine_id", "name", "generic_name", "manufacturer"];
    let index = match store.backend() {
        // FTS5 has no ON CONFLICT; fixed rowids make a re-run replace its rows.
        Backend::Sqlite => Bulk::new("medicine_search", &["rowid", columns[0], columns[1], columns[2], columns[3]])
            .with_head(
                "INSERT OR REPLACE INTO medicine_search (rowid, medicine_id, name, generic_name, manufacturer)"
                    .to_string(),
                "",
            ),
        Backend::Postgres => Bulk::new("medicine_search", &columns)
            .with_head(
                "INSERT INTO medicine_search (medicine_id, document)".to_string(),
                " ON CONFLICT (medicine_id) DO NOTHING",
            )
            .with_row(|p| {
                format!(
                    "({}, setweight(to_tsvector('simple', {}), 'A') || setweight(to_tsvector('simple', {}), 'B') \
                     || setweight(to_tsvector('simple', {}), 'C'))",
                    p[0], p[1], p[2], p[3]
                )
            }),
    };
    let sqlite = store.backend() == Backend::Sqlite;
    let mut vocabulary = BTreeSet::new();
    let written = fill(store, &index, plan.medicines, |m, rows| {
        let s = plan.medicine(m);
        vocabulary.extend(domain::vocabulary_words(&[
            &s.name,
            s.generic_name,
            s.manufacturer,
        ]));
        let mut row: Vec<Value> = Vec::with_capacity(5);
        if sqlite {
            row.push((FTS_ROWID_BASE + m as i64).into());
        }
        row.extend([
            scale_id(Kind::Medicine, m).into(),
            s.name.into(),
            s.generic_name.into(),
            s.manufacturer.into(),
        ]);
        rows.push(row);
    })
    .await?;
    seed_search_facets(store, plan).await?;
    let words: Vec<String> = vocabulary.into_iter().collect();
    let trigrams = Bulk::new("search_trigrams", &["trigram", "word", "pos"]);
    fill(store, &trigrams, words.len() as u64, |w, rows| {
        let word = &words[w as usize];
        for (trigram, pos) in domain::trigrams(word) {
            rows.push(vec![trigram.into(), word.as_str().into(), pos.into()]);
        }
    })
    .await?;
    Ok(written)
}

/// The search facets of every generated medicine (on SQLite under the
/// rowid of its FTS row, as `search::index_medicine` keeps them).
async fn seed_search_facets(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let sqlite = store.backend() == Backend::Sqlite;
    let mut columns = vec!["medicine_id", "schedule", "category_id", "sort_name"];
    if sqlite {
        columns.insert(0, "rowid");
    }
    let facets = Bulk::new("medicine_search_facets", &columns).with_row(|p| {
        let (name, rest) = p.split_last().expect("facet columns");
        format!("({}, LOWER({name}))", rest.join(", "))
    });
    fill(store, &facets, plan.medicines, |m, rows| {
        let s = plan.medicine(m);
        let mut row: Vec<Value> = Vec::with_capacity(5);
        if sqlite {
            row.push((FTS_ROWID_BASE + m as i64).into());
        }
        row.extend([
            scale_id(Kind::Medicine, m).into(),
            s.schedule.into(),
            category_id(s.category).into(),
            s.name.into(),
        ]);
        rows.push(row);
    })
    .await
}

/// Every plan vendor, verified (users seeds them verified, without events).
async fn seed_vendor_status(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let status = Bulk::new(
        "vendor_status",
        &[
            "vendor_id",
            "verified",
            "suspended",
            "verified_at",
            "suspension_changed_at",
            "updated_at",
        ],
    );
    fill(store, &status, plan.vendors, |v, rows| {
        rows.push(vec![
            scale_id(Kind::Vendor, v).into(),
            true.into(),
            false.into(),
            now.as_str().into(),
            Value::OptText(None),
            now.as_str().into(),
        ]);
    })
    .await
}

/// The listings, active, at the plan's prices.
async fn seed_listings(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let listings = Bulk::new(
        "listings",
        &[
            "id",
            "vendor_id",
            "medicine_id",
            "price_paise",
            "mrp_paise",
            "active",
            "version",
            "created_at",
            "updated_at",
        ],
    );
    fill(store, &listings, plan.listings(), |i, rows| {
        let l = plan.listing(i);
        rows.push(vec![
            scale_id(Kind::Listing, i).into(),
            scale_id(Kind::Vendor, l.vendor).into(),
            scale_id(Kind::Medicine, l.medicine).into(),
            l.price_paise.into(),
            l.mrp_paise.into(),
            true.into(),
            1_i64.into(),
            now.as_str().into(),
            now.as_str().into(),
        ]);
    })
    .await
}

/// Each listing's batches (all expiring well in the future) and the
/// stock movement that received each.
async fn seed_batches(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let today = domain::today();
    let batches = Bulk::new(
        "batches",
        &[
            "id",
            "listing_id",
            "batch_number",
            "expires_on",
            "quantity",
            "reserved",
            "received_at",
            "mrp_paise",
        ],
    );
    let written = fill(store, &batches, plan.listings(), |i, rows| {
        let l = plan.listing(i);
        for b in 0..l.batches {
            let (number, days, quantity) = plan.batch(i, b);
            let expires = Date(today + chrono::Duration::days(days)).to_db();
            rows.push(vec![
                scale_id(Kind::Batch, i * 2 + b).into(),
                scale_id(Kind::Listing, i).into(),
                number.into(),
                expires.into(),
                quantity.into(),
                0_i64.into(),
                now.as_str().into(),
                l.mrp_paise.into(),
            ]);
        }
    })
    .await?;
    let movements = Bulk::new(
        "stock_movements",
        &[
            "id",
            "listing_id",
            "batch_id",
            "delta",
            "kind",
            "actor",
            "at",
        ],
    );
    fill(store, &movements, plan.listings(), |i, rows| {
        for b in 0..plan.listing(i).batches {
            let (_, _, quantity) = plan.batch(i, b);
            rows.push(vec![
                scale_id(Kind::StockMovement, i * 2 + b).into(),
                scale_id(Kind::Listing, i).into(),
                scale_id(Kind::Batch, i * 2 + b).into(),
                quantity.into(),
                "RECEIVED".into(),
                ACTOR.into(),
                now.as_str().into(),
            ]);
        }
    })
    .await?;
    Ok(written)
}
