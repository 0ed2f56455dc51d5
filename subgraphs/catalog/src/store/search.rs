//! Medicine search: one function, two engines. SQLite uses an FTS5 table
//! ranked with bm25 (name weighs most, then generic name, then
//! manufacturer); PostgreSQL a weighted `tsvector` with a GIN index ranked
//! with `ts_rank`. Every query word matches as a prefix ("parace" finds
//! Paracetamol). When nothing matches, misspelt words are corrected against
//! the index's own vocabulary (trigram candidates, then an edit distance on
//! prefixes, e.g. "paracitamol", "amoxycillin") and the search runs again.
//! Scores are integers, so keyset cursors (score, id) are exact and pages stable.

use super::{medicine_columns, Sql, CURRENT_VERSION};
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
    /// Cursor key: the integer score when searching (on SQLite followed by
    /// `.` and the FTS rowid that breaks ties), the lower-cased name otherwise.
    pub key: String,
}

#[derive(FromRow)]
struct ScoredRow {
    #[sqlx(flatten)]
    medicine: MedicineRow,
    score: i64,
    /// SQLite: the FTS rowid that breaks ties; PostgreSQL: NULL (the ID does).
    tie: Option<i64>,
}

#[derive(FromRow)]
struct NamedRow {
    #[sqlx(flatten)]
    medicine: MedicineRow,
    sort_key: String,
}

/// Refreshes the search index, its facets and the vocabulary for a
/// medicine's current fields; `fresh` when the medicine was never indexed
/// (a new one).
pub async fn index_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
    f: &MedicineFields,
    fresh: bool,
) -> sqlx::Result<()> {
    let medicine = Indexed {
        id,
        fields: f,
        fresh,
    };
    index_medicines(conn, backend, &[medicine]).await
}

/// One medicine to (re)index: its ID, current fields, and whether it was
/// never indexed before (a new one).
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    pub id: &'a str,
    pub fields: &'a MedicineFields,
    pub fresh: bool,
}

/// Medicines indexed per statement (4 bind values each).
const INDEXED_PER_STATEMENT: usize = 500;
/// Vocabulary rows per statement (3 bind values each).
const TRIGRAMS_PER_STATEMENT: usize = 1_000;

/// [`index_medicine`] for many medicines at once (a bulk import's chunk):
/// a few statements for all of them instead of a few for each.
pub async fn index_medicines(
    conn: &mut AnyConnection,
    backend: Backend,
    medicines: &[Indexed<'_>],
) -> sqlx::Result<()> {
    for chunk in medicines.chunks(INDEXED_PER_STATEMENT) {
        write_facets(conn, chunk).await?;
        match backend {
            Backend::Sqlite => write_fts_rows(conn, chunk).await?,
            Backend::Postgres => write_documents(conn, chunk).await?,
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<(String, String, i64)> = Vec::new();
    for m in medicines {
        let f = m.fields;
        for w in domain::vocabulary_words(&[&f.name, &f.generic_name, &f.manufacturer]) {
            for (t, pos) in domain::trigrams(&w) {
                if seen.insert((t.clone(), w.clone())) {
                    rows.push((t, w.clone(), pos));
                }
            }
        }
    }
    for chunk in rows.chunks(TRIGRAMS_PER_STATEMENT) {
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

/// Upserts the facets of `medicines`. An upsert keeps the row (and on
/// SQLite its rowid, the FTS row's).
async fn write_facets(conn: &mut AnyConnection, medicines: &[Indexed<'_>]) -> sqlx::Result<()> {
    let mut sql = Sql::new();
    let rows: Vec<String> = medicines
        .iter()
        .map(|m| {
            let f = m.fields;
            let id = sql.arg_text(m.id);
            let schedule = sql.arg_text(f.schedule.as_db());
            let category = sql.arg_text(f.category_id.clone());
            let name = sql.arg_text(f.name.clone());
            format!("({id}, {schedule}, {category}, LOWER(CAST({name} AS TEXT)))")
        })
        .collect();
    sql.push(&format!(
        "INSERT INTO medicine_search_facets (medicine_id, schedule, category_id, sort_name) \
         VALUES {} ON CONFLICT (medicine_id) DO UPDATE SET schedule = excluded.schedule, \
         category_id = excluded.category_id, sort_name = excluded.sort_name",
        rows.join(", ")
    ));
    sql.query().execute(&mut *conn).await.map(|_| ())
}

/// SQLite: (re)writes the FTS rows of `medicines`. Each shares its facets'
/// rowid, so an old one is found by key, not by scanning.
async fn write_fts_rows(conn: &mut AnyConnection, medicines: &[Indexed<'_>]) -> sqlx::Result<()> {
    let stale: Vec<String> = medicines
        .iter()
        .filter(|m| !m.fresh)
        .map(|m| m.id.to_string())
        .collect();
    if !stale.is_empty() {
        let mut delete = Sql::new();
        let list = delete.arg_list(&stale);
        delete.push(&format!(
            "DELETE FROM medicine_search WHERE rowid IN \
             (SELECT rowid FROM medicine_search_facets WHERE medicine_id IN ({list}))"
        ));
        delete.query().execute(&mut *conn).await?;
    }
    let mut sql = Sql::new();
    let rows: Vec<String> = medicines
        .iter()
        .map(|m| {
            let f = m.fields;
            let id = sql.arg_text(m.id);
            let name = sql.arg_text(f.name.clone());
            let generic = sql.arg_text(f.generic_name.clone());
            let maker = sql.arg_text(f.manufacturer.clone());
            format!("({id}, {name}, {generic}, {maker})")
        })
        .collect();
    sql.push(&format!(
        "INSERT INTO medicine_search (rowid, medicine_id, name, generic_name, manufacturer) \
         SELECT f.rowid, f.medicine_id, x.column2, x.column3, x.column4 \
         FROM (VALUES {}) x JOIN medicine_search_facets f ON f.medicine_id = x.column1",
        rows.join(", ")
    ));
    sql.query().execute(&mut *conn).await.map(|_| ())
}

/// PostgreSQL: upserts the weighted documents of `medicines`.
async fn write_documents(conn: &mut AnyConnection, medicines: &[Indexed<'_>]) -> sqlx::Result<()> {
    let mut sql = Sql::new();
    let rows: Vec<String> = medicines
        .iter()
        .map(|m| {
            let f = m.fields;
            let id = sql.arg_text(m.id);
            let name = sql.arg_text(f.name.clone());
            let generic = sql.arg_text(f.generic_name.clone());
            let maker = sql.arg_text(f.manufacturer.clone());
            format!(
                "({id}, setweight(to_tsvector('simple', {name}), 'A') || \
                 setweight(to_tsvector('simple', {generic}), 'B') || \
                 setweight(to_tsvector('simple', {maker}), 'C'))"
            )
        })
        .collect();
    sql.push(&format!(
        "INSERT INTO medicine_search (medicine_id, document) VALUES {} \
         ON CONFLICT (medicine_id) DO UPDATE SET document = EXCLUDED.document",
        rows.join(", ")
    ));
    sql.query().execute(&mut *conn).await.map(|_| ())
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

/// The `medicines` filters as conditions on the facets `f` of a medicine.
fn push_filters(sql: &mut Sql, filter: &MedicineFilter) {
    if let Some(category) = &filter.category_id {
        let c = sql.arg_text(category.clone());
        sql.push(&format!(" AND f.category_id = {c}"));
    }
    if let Some(rx) = filter.requires_prescription {
        let otc = sql.arg_text("OTC");
        let op = if rx { "<>" } else { "=" };
        sql.push(&format!(" AND f.schedule {op} {otc}"));
    }
    if !filter.include_schedule_x {
        let x = sql.arg_text("X");
        sql.push(&format!(" AND f.schedule <> {x}"));
    }
}

/// Whether the filters are at most the Schedule X exclusion, which drops
/// (almost) nothing: then ranking can take a window of the best matches
/// before looking at their facets.
fn only_hides_schedule_x(filter: &MedicineFilter) -> bool {
    filter.category_id.is_none() && filter.requires_prescription.is_none()
}

/// SQLite's relevance score of an FTS5 match as an integer (higher is better).
const SQLITE_SCORE: &str = "CAST(-bm25(medicine_search, 0.0, 10.0, 4.0, 1.0) * 1000000 AS INTEGER)";

/// Where a ranked page starts: after the hit with this score and tie-breaker
/// (SQLite: the FTS rowid, carried in the cursor key as `score.rowid`;
/// PostgreSQL: the medicine ID, the cursor's own ID).
enum After {
    Sqlite(i64, i64),
    Postgres(i64, String),
}

fn parse_after(backend: Backend, page: &PageRequest) -> ApiResult<Option<After>> {
    let Some(cursor) = &page.after else {
        return Ok(None);
    };
    let bad = || ApiError::bad_input("after is not a cursor of this search");
    let after = match backend {
        Backend::Sqlite => {
            let (score, rowid) = cursor.key.split_once('.').ok_or_else(bad)?;
            After::Sqlite(
                score.parse().map_err(|_| bad())?,
                rowid.parse().map_err(|_| bad())?,
            )
        }
        Backend::Postgres => {
            After::Postgres(cursor.key.parse().map_err(|_| bad())?, cursor.id.clone())
        }
    };
    Ok(Some(after))
}

/// A ranked page plus the total. The ranking and the keyset stay inside
/// the search index (SQLite: the FTS5 table; PostgreSQL: the tsvector
/// table and the facets), and only the page's rows are joined to their
/// medicine, version and GST rate, so the per-match cost is the score and
/// nothing else.
async fn ranked(
    store: &Store,
    groups: &[Vec<String>],
    filter: &MedicineFilter,
    page: &PageRequest,
) -> ApiResult<(Vec<Hit>, i64)> {
    let after = parse_after(store.backend(), page)?;
    let rows = match store.backend() {
        Backend::Sqlite => {
            let query = domain::fts5_query(groups);
            let limit = page.fetch_limit();
            // A window of the best matches, then their facets: exact unless
            // the window runs out before the page fills (then no window).
            let window = only_hides_schedule_x(filter).then_some(limit * 2 + 16);
            let rows = sqlite_ranked(store, &query, filter, after.as_ref(), limit, window).await?;
            if window.is_some() && (rows.len() as i64) < limit {
                sqlite_ranked(store, &query, filter, after.as_ref(), limit, None).await?
            } else {
                rows
            }
        }
        Backend::Postgres => {
            postgres_ranked(
                store,
                &domain::ts_query(groups),
                filter,
                after.as_ref(),
                page,
            )
            .await?
        }
    };
    let total = page.total(count_matches(store, groups, filter)).await?;
    let hits = rows
        .into_iter()
        .map(|r| Hit {
            key: match r.tie {
                Some(rowid) => format!("{}.{rowid}", r.score),
                None => r.score.to_string(),
            },
            medicine: r.medicine,
        })
        .collect();
    Ok((hits, total))
}

/// SQLite's ranked page: matches ordered by score, then FTS rowid; with a
/// `window`, only that many of the best matches (after the cursor) are
/// looked up in the facets, else every match is.
async fn sqlite_ranked(
    store: &Store,
    query: &str,
    filter: &MedicineFilter,
    after: Option<&After>,
    limit: i64,
    window: Option<i64>,
) -> ApiResult<Vec<ScoredRow>> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let q = sql.arg_text(query);
    let mut keyset = String::new();
    if let Some(After::Sqlite(score, rowid)) = after {
        let (s1, s2, r) = (
            sql.arg_int(*score),
            sql.arg_int(*score),
            sql.arg_int(*rowid),
        );
        keyset = format!(" AND (h.score < {s1} OR (h.score = {s2} AND h.r > {r}))");
    }
    let matches = format!(
        "SELECT rowid AS r, {SQLITE_SCORE} AS score FROM medicine_search WHERE medicine_search MATCH {q}"
    );
    let hits = match window {
        Some(window) => {
            let w = sql.arg_int(window);
            format!("SELECT h.r AS r, h.score AS score FROM ({matches}) h WHERE 1 = 1{keyset} ORDER BY h.score DESC, h.r LIMIT {w}")
        }
        None => matches,
    };
    sql.push(&format!(
        "SELECT {columns}, p.score AS score, p.r AS tie FROM (\
         SELECT f.medicine_id AS medicine_id, h.score AS score, h.r AS r FROM ({hits}) h \
         JOIN medicine_search_facets f ON f.rowid = h.r WHERE 1 = 1"
    ));
    push_filters(&mut sql, filter);
    if window.is_none() {
        sql.push(&keyset);
    }
    let l = sql.arg_int(limit);
    sql.push(&format!(
        " ORDER BY h.score DESC, h.r LIMIT {l}) p \
         JOIN medicines m ON m.id = p.medicine_id {CURRENT_VERSION} ORDER BY p.score DESC, p.r"
    ));
    Ok(sql.query_as().fetch_all(store.pool()).await?)
}

/// PostgreSQL's ranked page: matches with their facets ordered by score,
/// then medicine ID.
async fn postgres_ranked(
    store: &Store,
    query: &str,
    filter: &MedicineFilter,
    after: Option<&After>,
    page: &PageRequest,
) -> ApiResult<Vec<ScoredRow>> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    let q = sql.arg_text(query);
    sql.push(&format!(
        "SELECT {columns}, p.score AS score, CAST(NULL AS BIGINT) AS tie FROM (\
         SELECT h.medicine_id, h.score FROM (\
         SELECT s.medicine_id, CAST(ts_rank(s.document, to_tsquery('simple', {q})) * 1000000 AS BIGINT) AS score \
         FROM medicine_search s JOIN medicine_search_facets f ON f.medicine_id = s.medicine_id \
         WHERE s.document @@ to_tsquery('simple', {q})"
    ));
    push_filters(&mut sql, filter);
    sql.push(") h WHERE 1 = 1");
    if let Some(After::Postgres(score, id)) = after {
        let (s1, s2, id) = (
            sql.arg_int(*score),
            sql.arg_int(*score),
            sql.arg_text(id.clone()),
        );
        sql.push(&format!(
            " AND (h.score < {s1} OR (h.score = {s2} AND h.medicine_id > {id}))"
        ));
    }
    let l = sql.arg_int(page.fetch_limit());
    sql.push(&format!(
        " ORDER BY h.score DESC, h.medicine_id LIMIT {l}) p \
         JOIN medicines m ON m.id = p.medicine_id {CURRENT_VERSION} ORDER BY p.score DESC, m.id"
    ));
    Ok(sql.query_as().fetch_all(store.pool()).await?)
}

/// How many medicines match `groups` and pass the filters. On SQLite,
/// with at most the Schedule X exclusion, the index counts its matches
/// alone and the few Schedule X ones among them are taken off, so no match
/// is looked up one by one.
async fn count_matches(
    store: &Store,
    groups: &[Vec<String>],
    filter: &MedicineFilter,
) -> Result<(i64,), sqlx::Error> {
    let mut sql = Sql::new();
    match store.backend() {
        Backend::Sqlite if only_hides_schedule_x(filter) => {
            let q = sql.arg_text(domain::fts5_query(groups));
            let matches =
                format!("SELECT rowid FROM medicine_search WHERE medicine_search MATCH {q}");
            sql.push(&format!("SELECT (SELECT COUNT(*) FROM ({matches}))"));
            if !filter.include_schedule_x {
                let q2 = sql.arg_text(domain::fts5_query(groups));
                let x = sql.arg_text("X");
                sql.push(&format!(
                    " - (SELECT COUNT(*) FROM medicine_search_facets f WHERE f.schedule = {x} AND f.rowid IN \
                     (SELECT rowid FROM medicine_search WHERE medicine_search MATCH {q2}))"
                ));
            }
        }
        Backend::Sqlite => {
            let q = sql.arg_text(domain::fts5_query(groups));
            sql.push(&format!(
                "SELECT COUNT(*) FROM medicine_search h JOIN medicine_search_facets f ON f.rowid = h.rowid \
                 WHERE h.medicine_search MATCH {q}"
            ));
            push_filters(&mut sql, filter);
        }
        Backend::Postgres => {
            let q = sql.arg_text(domain::ts_query(groups));
            sql.push(&format!(
                "SELECT COUNT(*) FROM medicine_search s JOIN medicine_search_facets f ON f.medicine_id = s.medicine_id \
                 WHERE s.document @@ to_tsquery('simple', {q})"
            ));
            push_filters(&mut sql, filter);
        }
    }
    sql.query_as().fetch_one(store.pool()).await
}

/// Medicines by name: the facets' `(sort_name, medicine_id)` index gives
/// the page in order, and only its rows are joined to their medicine.
async fn by_name(
    store: &Store,
    filter: &MedicineFilter,
    page: &PageRequest,
) -> sqlx::Result<(Vec<Hit>, i64)> {
    let mut sql = Sql::new();
    let columns = medicine_columns(&mut sql);
    sql.push(&format!(
        "SELECT {columns}, p.sort_key AS sort_key FROM (\
         SELECT f.medicine_id AS medicine_id, f.sort_name AS sort_key FROM medicine_search_facets f WHERE 1 = 1"
    ));
    push_filters(&mut sql, filter);
    if let Some(after) = &page.after {
        let k1 = sql.arg_text(after.key.clone());
        let k2 = sql.arg_text(after.key.clone());
        let id = sql.arg_text(after.id.clone());
        sql.push(&format!(
            " AND (f.sort_name > {k1} OR (f.sort_name = {k2} AND f.medicine_id > {id}))"
        ));
    }
    let limit = sql.arg_int(page.fetch_limit());
    sql.push(&format!(
        " ORDER BY f.sort_name, f.medicine_id LIMIT {limit}) p \
         JOIN medicines m ON m.id = p.medicine_id {CURRENT_VERSION} ORDER BY p.sort_key, m.id"
    ));
    let rows: Vec<NamedRow> = sql.query_as().fetch_all(store.pool()).await?;

    let mut count = Sql::new();
    count.push("SELECT COUNT(*) FROM medicine_search_facets f WHERE 1 = 1");
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
