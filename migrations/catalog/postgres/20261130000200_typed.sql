-- Typed storage (issue 12): flags become booleans, and every status, kind
-- and enum column accepts only the values the code knows; quantities and
-- amounts that cannot be negative say so. Timestamps stay fixed-width
-- RFC 3339 TEXT (the Any driver's common ground).

ALTER TABLE listings
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE boolean USING active <> 0,
    ALTER COLUMN active SET DEFAULT true;

ALTER TABLE vendor_status DROP CONSTRAINT vendor_status_verified_check;
ALTER TABLE vendor_status DROP CONSTRAINT vendor_status_suspended_check;
ALTER TABLE vendor_status
    ALTER COLUMN verified DROP DEFAULT,
    ALTER COLUMN verified TYPE boolean USING verified <> 0,
    ALTER COLUMN verified SET DEFAULT false,
    ALTER COLUMN suspended DROP DEFAULT,
    ALTER COLUMN suspended TYPE boolean USING suspended <> 0,
    ALTER COLUMN suspended SET DEFAULT false;

ALTER TABLE medicine_versions ADD CONSTRAINT medicine_versions_form_known
    CHECK (form IN ('TABLET', 'CAPSULE', 'SYRUP', 'SUSPENSION', 'INJECTION', 'INHALER', 'RESPULES',
                    'DROPS', 'CREAM', 'OINTMENT', 'GEL', 'LOTION', 'POWDER', 'SOLUTION', 'SPRAY',
                    'LOZENGE', 'DRESSING', 'DEVICE', 'OTHER'));
ALTER TABLE medicine_versions ADD CONSTRAINT medicine_versions_version_positive
    CHECK (version >= 1);

ALTER TABLE reservations ADD CONSTRAINT reservations_status_known
    CHECK (status IN ('ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'));
ALTER TABLE reservation_items ADD CONSTRAINT reservation_items_schedule_known
    CHECK (schedule IN ('OTC', 'H', 'H1', 'X'));
ALTER TABLE reservation_items ADD CONSTRAINT reservation_items_amounts_valid
    CHECK (quantity > 0 AND unit_price_paise >= 0 AND mrp_paise >= unit_price_paise);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_kind_known
    CHECK (kind IN ('RECEIVED', 'ADJUSTED', 'SOLD', 'RETURNED'));
ALTER TABLE listings ADD CONSTRAINT listings_version_positive CHECK (version >= 1);
