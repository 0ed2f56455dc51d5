-- Search that costs what the page asks for, not what the catalog holds
-- (issue 16). One row per indexed medicine with the current version's
-- fields the `medicines` filters and the by-name order read, so neither has
-- to join every match to medicines and their versions. On SQLite the row's
-- rowid is the medicine's rowid in the FTS5 table `medicine_search`: a
-- match joins its facets by integer key, and re-indexing a medicine finds
-- its FTS row without scanning the (unindexed) medicine_id column.
CREATE TABLE medicine_search_facets (
    medicine_id TEXT PRIMARY KEY,
    schedule    TEXT NOT NULL,
    category_id TEXT NOT NULL,
    -- LOWER(name): the by-name order and its cursor key.
    sort_name   TEXT NOT NULL
);

INSERT INTO medicine_search_facets (rowid, medicine_id, schedule, category_id, sort_name)
SELECT s.rowid, s.medicine_id, v.schedule, v.category_id, LOWER(v.name)
FROM medicine_search s
JOIN medicines m ON m.id = s.medicine_id
JOIN medicine_versions v ON v.medicine_id = m.id AND v.version = m.current_version;

CREATE INDEX medicine_search_facets_schedule ON medicine_search_facets (schedule);
CREATE INDEX medicine_search_facets_sort_name ON medicine_search_facets (sort_name, medicine_id);
