-- Transactional outbox: events written with the change that caused them.
CREATE TABLE IF NOT EXISTS outbox (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    event_version  BIGINT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    actor          TEXT NOT NULL,
    correlation_id TEXT,
    payload        TEXT NOT NULL,
    published_at   TEXT,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (published_at, seq);
