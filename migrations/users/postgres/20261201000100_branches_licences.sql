-- Pharmacy compliance II (users): branch GSTINs, invoice series and the
-- default shipping branch; retail drug licences (Form 20 / Form 21) with
-- their history; the source of a vendor's suspension (an admin, or an
-- expired licence, which the sweeper lifts on renewal); optimistic locking
-- of addresses.

-- The demo vendors were seeded with GSTINs whose check characters were
-- wrong; the rules now refuse those, so the demo rows get the right ones.
UPDATE vendors SET gstin = '29AAACJ1234A1Z7' WHERE gstin = '29AAACJ1234A1Z5';
UPDATE vendors SET gstin = '27AAFCS5678B1Z7' WHERE gstin = '27AAFCS5678B1Z3';

-- A branch that ships has its own GSTIN (the registration of its state);
-- its invoice series (state code + ordinal among the vendor's branches in
-- that state, e.g. KA01) is assigned once and never changes.
ALTER TABLE vendor_branches ADD COLUMN gstin TEXT;
ALTER TABLE vendor_branches ADD COLUMN ships boolean NOT NULL DEFAULT false;
ALTER TABLE vendor_branches ADD COLUMN invoice_series TEXT;

-- Existing branches in the vendor's own state take the vendor's GSTIN and
-- ship; the others have no GSTIN yet and do not ship until they get one.
UPDATE vendor_branches SET gstin = (
    SELECT v.gstin FROM vendors v
    WHERE v.id = vendor_branches.vendor_id AND v.state = vendor_branches.state
);
UPDATE vendor_branches SET ships = true WHERE gstin IS NOT NULL;
UPDATE vendor_branches SET invoice_series = state || lpad((
    SELECT COUNT(*) FROM vendor_branches b
    WHERE b.vendor_id = vendor_branches.vendor_id AND b.state = vendor_branches.state
      AND (b.created_at, b.id) <= (vendor_branches.created_at, vendor_branches.id)
)::text, 2, '0');
ALTER TABLE vendor_branches ALTER COLUMN invoice_series SET NOT NULL;
ALTER TABLE vendor_branches ADD CONSTRAINT vendor_branches_invoice_series_form
    CHECK (invoice_series ~ '^[A-Z]{2}[0-9]{2}$');
ALTER TABLE vendor_branches ADD CONSTRAINT vendor_branches_shipping_has_gstin
    CHECK (NOT ships OR gstin IS NOT NULL);
CREATE UNIQUE INDEX vendor_branches_invoice_series_key
    ON vendor_branches (vendor_id, invoice_series);

-- The branch orders ship from unless another is chosen: the first shipping one.
ALTER TABLE vendors ADD COLUMN shipping_branch_id TEXT REFERENCES vendor_branches (id);
UPDATE vendors SET shipping_branch_id = (
    SELECT b.id FROM vendor_branches b WHERE b.vendor_id = vendors.id AND b.ships
    ORDER BY b.created_at, b.id LIMIT 1
);

-- Who suspended a vendor: 'ADMIN' (only an admin lifts it) or 'LICENCE'
-- (the licence sweeper lifts it when the licence is renewed).
ALTER TABLE vendors ADD COLUMN suspended_by TEXT
    CHECK (suspended_by IN ('ADMIN', 'LICENCE'));
UPDATE vendors SET suspended_by = 'ADMIN' WHERE suspended_at IS NOT NULL;

-- Retail drug licences (Drugs and Cosmetics Rules, 1945: Form 20 for
-- non-scheduled, Form 21 for scheduled drugs). A renewal is a new row; the
-- latest recorded row of a form is the one in force.
CREATE TABLE drug_licences (
    id          TEXT PRIMARY KEY,
    vendor_id   TEXT NOT NULL REFERENCES vendors (id),
    form        TEXT NOT NULL CHECK (form IN ('FORM_20', 'FORM_21')),
    number      TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX drug_licences_vendor_form ON drug_licences (vendor_id, form, recorded_at, id);
CREATE INDEX drug_licences_valid_until ON drug_licences (valid_until);

-- Addresses are edited with the version they were read at.
ALTER TABLE addresses ADD COLUMN version BIGINT NOT NULL DEFAULT 1
    CHECK (version >= 1);
