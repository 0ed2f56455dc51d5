-- Units customers returned (approved returns): kept apart from stock on
-- hand, never sold again. One row per return and listing (idempotency).
-- The ledger gains the RETURNED_TO_QUARANTINE kind.
CREATE TABLE quarantine (
    id         TEXT PRIMARY KEY,
    listing_id TEXT NOT NULL REFERENCES listings (id),
    return_id  TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE UNIQUE INDEX quarantine_return_listing_key ON quarantine (return_id, listing_id);
CREATE INDEX quarantine_listing ON quarantine (listing_id);

ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_kind_known,
    ADD CONSTRAINT stock_movements_kind_known
        CHECK (kind IN ('RECEIVED', 'ADJUSTED', 'SOLD', 'RETURNED', 'RETURNED_TO_QUARANTINE'));
