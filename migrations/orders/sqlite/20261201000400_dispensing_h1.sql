-- Pharmacy compliance II: who dispensed a prescription order, and the
-- schedule H1 register every pharmacy keeps (Drugs Rules, rule 65(3A)).

-- The patient and prescriber of each prescription line, snapshotted at
-- checkout from the covering prescription (prescriptions' answer).
CREATE TABLE order_line_prescribers (
    order_line_id           TEXT PRIMARY KEY REFERENCES order_lines (id),
    order_id                TEXT NOT NULL REFERENCES orders (id),
    prescription_id         TEXT,
    patient_name            TEXT,
    prescriber_name         TEXT,
    prescriber_registration TEXT
);
CREATE INDEX order_line_prescribers_order ON order_line_prescribers (order_id);

-- One dispensing per order: the vendor's verified pharmacist who checked
-- the prescription lines' batches before the order left PACKED. Never
-- changed once recorded.
CREATE TABLE order_dispensings (
    order_id                TEXT PRIMARY KEY REFERENCES orders (id),
    vendor_id               TEXT NOT NULL,
    pharmacist_id           TEXT NOT NULL,
    pharmacist_name         TEXT NOT NULL,
    pharmacist_registration TEXT NOT NULL,
    -- JSON array of the batch numbers checked (exactly those allocated).
    batches_checked         TEXT NOT NULL,
    note                    TEXT,
    dispensed_at            TEXT NOT NULL
);
CREATE TRIGGER order_dispensings_no_update BEFORE UPDATE ON order_dispensings
BEGIN SELECT RAISE(ABORT, 'a recorded dispensing is never changed'); END;
CREATE TRIGGER order_dispensings_no_delete BEFORE DELETE ON order_dispensings
BEGIN SELECT RAISE(ABORT, 'a recorded dispensing is never changed'); END;

-- The H1 register: one row per batch of every H1 line sold, written when
-- the order is dispatched (OUT_FOR_DELIVERY). Append-only.
CREATE TABLE h1_register (
    id                      TEXT PRIMARY KEY,
    vendor_id               TEXT NOT NULL,
    order_id                TEXT NOT NULL REFERENCES orders (id),
    order_line_id           TEXT NOT NULL REFERENCES order_lines (id),
    -- Indian date of the sale (dispatch), "YYYY-MM-DD".
    sold_on                 TEXT NOT NULL,
    dispatched_at           TEXT NOT NULL,
    patient_name            TEXT,
    prescriber_name         TEXT,
    prescriber_registration TEXT,
    medicine_id             TEXT NOT NULL,
    medicine_name           TEXT NOT NULL,
    batch_number            TEXT NOT NULL,
    batch_expires_on        TEXT NOT NULL,
    quantity                INTEGER NOT NULL CHECK (quantity > 0),
    pharmacist_id           TEXT NOT NULL,
    pharmacist_name         TEXT NOT NULL,
    pharmacist_registration TEXT NOT NULL
);
CREATE INDEX h1_register_vendor_day ON h1_register (vendor_id, sold_on, id);
CREATE UNIQUE INDEX h1_register_line_batch_key ON h1_register (order_line_id, batch_number);
CREATE TRIGGER h1_register_no_update BEFORE UPDATE ON h1_register
BEGIN SELECT RAISE(ABORT, 'the H1 register is append-only'); END;
CREATE TRIGGER h1_register_no_delete BEFORE DELETE ON h1_register
BEGIN SELECT RAISE(ABORT, 'the H1 register is append-only'); END;
