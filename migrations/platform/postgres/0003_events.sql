-- Consumer side of events. `processed_events` gets a row in the same
-- transaction as a handler's effect, so a redelivered event is skipped
-- (at-least-once delivery, exactly-once effect). `parked_events` holds the
-- events a handler kept failing on, for an admin to inspect and replay.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS parked_events (
    consumer    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    source      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    error       TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    parked_at   TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS parked_events_open ON parked_events (consumer, resolved_at, parked_at);
