//! Medicine search: one function, two engines. SQLite uses an FTS5 table
//! ranked with bm25 (name weighs most, then generic name, then
//! manufacturer); PostgreSQL a weighted `tsvector` with a GIN index ranked
//! with `ts_rank`. Every query word matches as a prefix ("parace" finds
//! Paracetamol). When nothing matches, misspelt words are corrected against
//! the index's own vocabulary (trigram candidates, then an edit distance on
//! prefixes, e.g. "paracitamol", "amoxycillin") and the search runs again.
//! Scores are integers, so keyset cursors (score, id) are exact and pages stable.

use super::{medicine_columns, Sql, CURRENT_MEDICINES, CURRENT_VERSION};
use crate::domain::{self, MedicineFields};
use crate::store::MedicineRow;
use janta_platform::pagination::PageRequest;
use janta_platform::store::{Backend, Store};
use janta_platform::{ApiError, ApiResult};
use sqlx::{AnyConnection, FromRow};

/// Filters of the `medicines` query.
#[derive(Debug, Clone, Default)]
pub struct MedicineFilter {
    /// Free text; None or blank lists by name.
    pub search: Option<String>,
    /// Only this category.
    pub category_id: Option<String>,
    /// Only prescription (true) or over-the-counter (false) medicines.
    pub requires_prescription: Option<bool>,
    /// Include Schedule X medicines (admins); they are not sold online, so
    /// others do not find them.
    pub include_schedule_x: bool,
}

/// A medicine in a result page with its keyset position.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The medicine (current version).
    pub medicine: MedicineRow,
    /// Cursor key: the integer score when searching, the lower-cased name otherwise.
    pub key: String,
}

#[derive(FromRow)]
struct ScoredRow {
    #[sqlx(flatten)]
    medicine: MedicineRow,
    score: i64,
}

#[derive(FromRow)]
struct NamedRow {
    #[sqlx(flatten)]
    medicine: MedicineRow,
    sort_key: String,
}

/// Refreshes the search index and vocabulary for a medicine's current
/// fields; `fresh` when the medicine was never indexed (a new one).
pub async fn index_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
    f: &MedicineFields,
    fresh: bool,
) -> sqlx::Result<()> {
    match backend {
        Backend::Sqlite => {
            // `medicine_id` is UNINDEXED in FTS5: this scans the index, so
            // it runs only for a medicine indexed before (not per new one).
            if !fresh {
                sqlx::query("DELETE FROM medicine_search WHERE medicine_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO medicine_search (medicine_id, name, generic_name, manufacturer) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&f.name)
            .bind(&f.generic_name)
            .bind(&f.manufacturer)
            .execute(&mut *conn)
            .await?;
        }
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO medicine_search (medicine_id, document) VALUES ($1, \
                 setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B') \
                 || setweight(to_tsvector('simple', $4), 'C')) \
                 ON CONFLICT (medicine_id) DO UPDATE SET document = EXCLUDED.document",
            )
            .bind(id)
            .bind(&f.name)
            .bind(&f.generic_name)
            .bind(&f.manufacturer)
            .execute(&mut *conn)
            .await?;
        }
    }
    let words = domain::vocabulary_words(&[&f.name, &f.generic_name, &f.manufacturer]);
    let rows: Vec<(String, String, i64)> = words
        .iter()
        .flat_map(|w| {
            domain::trigrams(w)
                .into_iter()
                .map(move |(t, pos)| (t, w.clone(), pos))
        })
        .collect();
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new();
        let values: Vec<String> = chunk
            .iter()
            .map(|(t, w, pos)| {
                let t = sql.arg_text(t.clone());
                let w = sql.arg_text(w.clone());
                let p = sql.arg_int(*pos);
                format!("({t}, {w}, {p})")
            })
            .collect();
        let text = format!(
            "INSERT INTO search_trigrams (trigram, word, pos) VALUES {} ON CONFLICT (trigram, word) DO NOTHING",
            values.join(", ")
        );
        sql.push(&text);
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// A page of medicines: relevance-ranked when `filter.search` has words,
/// by name otherwise. Returns the page (one extra row, see
/// [`PageRequest::fetch_limit`]) and the total number of matches.
pub async fn search_medicines(
    store: &Store,
    filter: &MedicineFilter,
    page: &PageRequest,
) -> ApiResult<(Vec<Hit>, i64)> {
    let terms = domain::search_terms(filter.search.as_deref().unwrap_or(""));
    if terms.is_empty() {
        return Ok(by_name(store, filter, page).await?);
    }
    let exact: Vec<Vec<String>> = terms.iter().map(|t| vec![t.clone()]).collect();
    let (hits, total) = ranked(store, &exact, filter, page).await?;
    if exact_matches(store, &exact, filter, page, &hits, total).await? {
        return Ok((hits, total));
    }
    let corrected = corrected_groups(store, &terms).await?;
    if corrected == exact {
        return Ok((hits, total));
    }
    ranked(store, &corrected, filter, page).await
}

/// Whether the words as typed match anything (then misspellings are not
/// corrected), given their page `hits` and `total`. The total is only
/// counted when the client selected it, and an empty page after a cursor
/// may just be past the last match, so that case looks for one match.
async fn exact_matches(
    store: &Store,
    exact: &[Vec<String>],
    filter: &MedicineFilter,
    page: &PageRequest,
    hits: &[Hit],
    total: i64,
) -> ApiResult<bool> {
    if !hits.is_empty() || page.count_total || page.after.is_none() {
        return Ok(!hits.is_empty() || total > 0);
    }
    let first_match = PageRequest {
        first: 0,
        after: None,
        count_total: false,
    };
    let (any, _) = ranked(store, exact, filter, &first_match).await?;
    Ok(!any.is_empty())
}

/// For each word, itself plus up to five vocabulary words it is probably a
/// misspelt prefix of.
async fn corrected_groups(store: &Store, terms: &[String]) -> ApiResult<Vec<Vec<String>>> {
    let mut groups = Vec::with_capacity(terms.len());
    for term in terms {
        let len = term.chars().count();
        let typos = domain::max_typos(len);
        let mut group = vec![term.clone()];
        if typos > 0 {
            let trigrams: Vec<String> =
                domain::trigrams(term).into_iter().map(|(t, _)| t).collect();
            let mut sql = Sql::new();
            let list = sql.arg_list(&trigrams);
            let max_pos = sql.arg_int(len as i64 + 1);
            let limit = sql.arg_int(50);
            sql.push(&format!(
                "SELECT word, COUNT(*) AS shared FROM search_trigrams WHERE trigram IN ({list}) AND pos <= {max_pos} \
                 GROUP BY word ORDER BY COUNT(*) DESC, word LIMIT {limit}"
            ));
            let rows: Vec<(String, i64)> = sql.query_as().fetch_all(store.pool()).await?;
            let mut near: Vec<(usize, String)> = rows
                .into_iter()
                .map(|(word, _)| (domain::prefix_distance(term, &word), word))
                .filter(|(distance, word)| *distance <= typos && word != term)
                .collect();
            near.sort();
            group.extend(near.into_iter().take(5).map(|(_, w)| w));
        }
        groups.push(group);
    }
    Ok(groups)
}

fn push_filters(sql: &mut Sql, filter: &MedicineFilter) {
    if let Some(category) = &filter.category_id {
        let c = sql.arg_text(category.clone());
        sql.push(&format!(" AND v.category_id = {c}"));
    }
    if let Some(rx) = filter.requires_prescription {
        let otc = sql.arg_text("OTC");
        let op = if rx { "<>" } else { "=" };
        sql.push(&format!(" AND v.schedule {op} {otc}"));
    }
    if !filter.include_schedule_x {
        let x = sql.arg_text("X");
        sql.push(&format!(" AND v.schedule <> {x}"));
    }
}

async fn ranked(
    store: &Store,
    groups: &[Vec<String>],
    filter: &MedicineFilter,
    page: &PageRequest,
) -> ApiResult<(Vec<Hit>, i64)> {
    let (match_query, hits_sql): (String, fn(&str) -> String) = match store.backend() {
        Backend::Sqlite => (domain::fts5_query(groups), |q| {
            format!(
                "SELECT medicine_id, CAST(-bm25(medicine_search, 0.0, 10.0, 4.0, 1.0) * 1000000 AS INTEGER) AS score \
                 FROM medicine_search WHERE medicine_search MATCH {q}"
            )
        }),
        Backend::Postgres => (domain::ts_query(groups), |q| {
            format!(
                "SELECT medicine_id, CAST(ts_rank(document, to_tsquery('simple', {q})) * 1000000 AS BIGINT) AS score \
                 FROM medicine_search WHERE document @@ to_tsquery('simple', {q})"
            )
        }),
    };
    let after = page
        .after
        .as_ref()
        .map(|c| {
            c.key
                .parse::<i64>()
                .map(|score| (score, c.id.clone()))
                .map_err(|_| ApiError::bad_input("after is not a cursor of this search"))
        })
        .transpose()?;

    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let q = sql.arg_text(match_query.clone());
    sql.push(&format!(
        "SELECT {columns}, h.score AS score FROM ({}) h JOIN medicines m ON m.id = h.medicine_id {CURRENT_VERSION} WHERE 1 = 1",
        hits_sql(&q)
    ));
    push_filters(&mut sql, filter);
    if let Some((score, id)) = after {
        let s1 = sql.arg_int(score);
        let s2 = sql.arg_int(score);
        let id = sql.arg_text(id);
        sql.push(&format!(
            " AND (h.score < {s1} OR (h.score = {s2} AND m.id > {id}))"
        ));
    }
    let limit = sql.arg_int(page.fetch_limit());
    sql.push(&format!(" ORDER BY h.score DESC, m.id LIMIT {limit}"));
    let rows: Vec<ScoredRow> = sql.query_as().fetch_all(store.pool()).await?;

    let mut count = Sql::new();
    let q = count.arg_text(match_query);
    count.push(&format!(
        "SELECT COUNT(*) FROM ({}) h JOIN medicines m ON m.id = h.medicine_id {CURRENT_VERSION} WHERE 1 = 1",
        hits_sql(&q)
    ));
    push_filters(&mut count, filter);
    let total = page.total(count.query_as().fetch_one(store.pool())).await?;
    let hits = rows
        .into_iter()
        .map(|r| Hit {
            key: r.score.to_string(),
            medicine: r.medicine,
        })
        .collect();
    Ok((hits, total))
}

async fn by_name(
    store: &Store,
    filter: &MedicineFilter,
    page: &PageRequest,
) -> sqlx::Result<(Vec<Hit>, i64)> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    sql.push(&format!(
        "SELECT {columns}, LOWER(v.name) AS sort_key FROM {CURRENT_MEDICINES} WHERE 1 = 1"
    ));
    push_filters(&mut sql, filter);
    if let Some(after) = &page.after {
        let k1 = sql.arg_text(after.key.clone());
        let k2 = sql.arg_text(after.key.clone());
        let id = sql.arg_text(after.id.clone());
        sql.push(&format!(
            " AND (LOWER(v.name) > {k1} OR (LOWER(v.name) = {k2} AND m.id > {id}))"
        ));
    }
    let limit = sql.arg_int(page.fetch_limit());
    sql.push(&format!(" ORDER BY LOWER(v.name), m.id LIMIT {limit}"));
    let rows: Vec<NamedRow> = sql.query_as().fetch_all(store.pool()).await?;

    let mut count = Sql::new();
    count.push(&format!(
        "SELECT COUNT(*) FROM {CURRENT_MEDICINES} WHERE 1 = 1"
    ));
    push_filters(&mut count, filter);
    let total = page.total(count.query_as().fetch_one(store.pool())).await?;
    let hits = rows
        .into_iter()
        .map(|r| Hit {
            key: r.sort_key,
            medicine: r.medicine,
        })
        .collect();
    Ok((hits, total))
}
