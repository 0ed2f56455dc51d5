-- Pharmacy compliance II (catalog part): every batch carries the MRP printed
-- on its packs (existing batches take their listing's MRP), and reserved
-- batches keep it; a listing may ask for a longer shelf life at sale than
-- the platform minimum (NULL: the minimum); expired stock moves to a
-- quarantine of its own (one row per sweep of a batch, never sold again);
-- GST slabs are never changed or removed (a correction is a new row with
-- its own effective date).

ALTER TABLE batches ADD COLUMN mrp_paise BIGINT;
UPDATE batches b SET mrp_paise = l.mrp_paise FROM listings l WHERE l.id = b.listing_id;
ALTER TABLE batches
    ALTER COLUMN mrp_paise SET NOT NULL,
    ADD CONSTRAINT batches_mrp_positive CHECK (mrp_paise > 0);

ALTER TABLE reservation_allocations ADD COLUMN mrp_paise BIGINT;
UPDATE reservation_allocations a SET mrp_paise = b.mrp_paise FROM batches b WHERE b.id = a.batch_id;
ALTER TABLE reservation_allocations ALTER COLUMN mrp_paise SET NOT NULL;

ALTER TABLE listings ADD COLUMN min_shelf_life_days BIGINT
    CONSTRAINT listings_min_shelf_life_positive CHECK (min_shelf_life_days IS NULL OR min_shelf_life_days >= 1);

-- Units of expired batches taken off stock on hand by the sweeper.
CREATE TABLE expired_quarantine (
    id           TEXT PRIMARY KEY,
    listing_id   TEXT NOT NULL REFERENCES listings (id),
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    batch_number TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    actor        TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX expired_quarantine_listing ON expired_quarantine (listing_id);

ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_kind_known,
    ADD CONSTRAINT stock_movements_kind_known
        CHECK (kind IN ('RECEIVED', 'ADJUSTED', 'SOLD', 'RETURNED', 'RETURNED_TO_QUARANTINE',
                        'EXPIRED_TO_QUARANTINE'));

CREATE OR REPLACE FUNCTION tax_slabs_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a GST slab is never changed or removed: add one with a later effective date';
END;
$$;
CREATE TRIGGER tax_slabs_no_change BEFORE UPDATE OR DELETE ON tax_slabs
FOR EACH ROW EXECUTE FUNCTION tax_slabs_immutable();
