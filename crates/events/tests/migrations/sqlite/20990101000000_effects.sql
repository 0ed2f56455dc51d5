-- Test-only table: the "effect" of the test handlers, one row per handling,
-- deliberately without a unique key so that a duplicate would show.
CREATE TABLE effects (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT NOT NULL,
    consumer       TEXT NOT NULL,
    replica        TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    label          TEXT NOT NULL,
    correlation_id TEXT
);
