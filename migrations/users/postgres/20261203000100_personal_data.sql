-- Personal data (issue 18): exports of everything the platform holds about
-- a customer, and account deletions with each subgraph's erasure report.
-- Timestamps are fixed-width RFC 3339 TEXT like the rest of this schema.

-- When the account was closed at its owner's request (NULL: open). A closed
-- account's personal fields are pseudonymised and it cannot sign in.
ALTER TABLE users ADD COLUMN closed_at TEXT;

-- One export request. READY once every subgraph answered (ready_at), for
-- 24 hours (expires_at); then the sweeper deletes its parts.
CREATE TABLE data_exports (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    requested_at TEXT NOT NULL,
    ready_at     TEXT,
    expires_at   TEXT
);
CREATE INDEX data_exports_user ON data_exports (user_id, requested_at);
CREATE INDEX data_exports_expiry ON data_exports (expires_at);

-- Each subgraph's part of an export (JSON text), as it answered.
CREATE TABLE data_export_parts (
    export_id   TEXT NOT NULL REFERENCES data_exports (id),
    subgraph    TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (export_id, subgraph)
);

-- One account deletion: COMPLETED once every subgraph reported.
CREATE TABLE account_deletions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    requested_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX account_deletions_user ON account_deletions (user_id);

-- Each subgraph's ErasureCompleted report: what it erased and what it keeps
-- by law (JSON text of janta_kit::personal_data::ErasureReport).
CREATE TABLE erasure_reports (
    deletion_id TEXT NOT NULL REFERENCES account_deletions (id),
    subgraph    TEXT NOT NULL,
    report      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (deletion_id, subgraph)
);
