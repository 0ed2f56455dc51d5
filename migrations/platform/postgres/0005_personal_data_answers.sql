-- A subgraph's answers to personal-data requests (issue 18; see
-- janta_kit::personal_data): written in the same transaction as the
-- handler of DataExportRequested / UserErasureRequested, delivered to users
-- after commit. A delivered EXPORT answer is deleted (no copy of personal
-- data lingers here); an ERASURE answer (the report: what was erased, what
-- the law keeps) stays as the subgraph's own record. `body` is JSON text.
CREATE TABLE IF NOT EXISTS personal_data_answers (
    request_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('EXPORT', 'ERASURE')),
    subgraph     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    PRIMARY KEY (request_id, kind, subgraph)
);
CREATE INDEX IF NOT EXISTS personal_data_answers_undelivered
    ON personal_data_answers (delivered_at, created_at);
CREATE INDEX IF NOT EXISTS personal_data_answers_user
    ON personal_data_answers (user_id, kind);
