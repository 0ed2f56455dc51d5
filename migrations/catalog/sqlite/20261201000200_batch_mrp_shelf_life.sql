-- Pharmacy compliance II (catalog part): every batch carries the MRP printed
-- on its packs (existing batches take their listing's MRP), and reserved
-- batches keep it; a listing may ask for a longer shelf life at sale than
-- the platform minimum (NULL: the minimum); expired stock moves to a
-- quarantine of its own (one row per sweep of a batch, never sold again);
-- GST slabs are never changed or removed (a correction is a new row with
-- its own effective date).

ALTER TABLE batches ADD COLUMN mrp_paise INTEGER NOT NULL DEFAULT 0;
UPDATE batches SET mrp_paise = (SELECT l.mrp_paise FROM listings l WHERE l.id = batches.listing_id);

ALTER TABLE reservation_allocations ADD COLUMN mrp_paise INTEGER NOT NULL DEFAULT 0;
UPDATE reservation_allocations
SET mrp_paise = (SELECT b.mrp_paise FROM batches b WHERE b.id = reservation_allocations.batch_id);

ALTER TABLE listings ADD COLUMN min_shelf_life_days INTEGER;

-- Units of expired batches taken off stock on hand by the sweeper.
CREATE TABLE expired_quarantine (
    id           TEXT PRIMARY KEY,
    listing_id   TEXT NOT NULL REFERENCES listings (id),
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    batch_number TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    actor        TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX expired_quarantine_listing ON expired_quarantine (listing_id);

CREATE TRIGGER tax_slabs_no_update BEFORE UPDATE ON tax_slabs
BEGIN SELECT RAISE(ABORT, 'a GST slab is never changed: add one with a later effective date'); END;
CREATE TRIGGER tax_slabs_no_delete BEFORE DELETE ON tax_slabs
BEGIN SELECT RAISE(ABORT, 'a GST slab is never removed: add one with a later effective date'); END;
