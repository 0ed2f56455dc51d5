-- Units customers returned (approved returns): kept apart from stock on
-- hand, never sold again. One row per return and listing (idempotency).
CREATE TABLE quarantine (
    id         TEXT PRIMARY KEY,
    listing_id TEXT NOT NULL REFERENCES listings (id),
    return_id  TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE UNIQUE INDEX quarantine_return_listing_key ON quarantine (return_id, listing_id);
CREATE INDEX quarantine_listing ON quarantine (listing_id);
