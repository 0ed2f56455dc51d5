-- Prescriptions subgraph: uploads, prescriptions, approved lines and their
-- consumption by orders. Order, customer, vendor and medicine IDs belong to
-- other subgraphs and are stored as plain IDs (no foreign keys across).

-- A one-time upload slot: created by createPrescriptionUpload, filled by the
-- signed PUT, used by submitPrescription.
CREATE TABLE prescription_uploads (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL,
    -- PENDING → RECEIVING (a PUT is streaming) → UPLOADED → USED
    status       TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    content_type TEXT,
    size_bytes   BIGINT,
    sha256       TEXT,
    storage_key  TEXT,
    created_at   TEXT NOT NULL,
    uploaded_at  TEXT,
    used_at      TEXT
);
CREATE INDEX prescription_uploads_owner ON prescription_uploads (owner_id, status);

CREATE TABLE prescriptions (
    id                          TEXT PRIMARY KEY,
    owner_id                    TEXT NOT NULL,
    upload_id                   TEXT NOT NULL REFERENCES prescription_uploads (id),
    patient_name                TEXT NOT NULL,
    family_member_id            TEXT,
    doctor_name                 TEXT NOT NULL,
    doctor_registration_number  TEXT,
    issued_on                   TEXT NOT NULL,
    -- SUBMITTED | APPROVED | REJECTED | EXPIRED (APPROVED past valid_until reads as EXPIRED)
    status                      TEXT NOT NULL,
    document_key                TEXT NOT NULL,
    document_content_type       TEXT NOT NULL,
    document_size_bytes         BIGINT NOT NULL,
    document_sha256             TEXT NOT NULL,
    submitted_at                TEXT NOT NULL,
    valid_until                 TEXT,
    reviewed_at                 TEXT,
    reviewer_id                 TEXT,
    reviewer_vendor_id          TEXT,
    review_notes                TEXT,
    version                     BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX prescriptions_upload_id_key ON prescriptions (upload_id);
CREATE INDEX prescriptions_owner ON prescriptions (owner_id, submitted_at, id);
CREATE INDEX prescriptions_queue ON prescriptions (status, submitted_at, id);

-- What a pharmacist approved: a medicine and how much of it, and how much
-- orders have consumed so far (never more than the maximum).
CREATE TABLE prescription_lines (
    id              TEXT PRIMARY KEY,
    prescription_id TEXT NOT NULL REFERENCES prescriptions (id),
    position        BIGINT NOT NULL,
    medicine_id     TEXT NOT NULL,
    max_quantity    BIGINT NOT NULL CHECK (max_quantity > 0),
    consumed        BIGINT NOT NULL DEFAULT 0 CHECK (consumed >= 0 AND consumed <= max_quantity)
);
CREATE UNIQUE INDEX prescription_lines_medicine_key ON prescription_lines (prescription_id, medicine_id);

-- One row per order that consumed (or was restored): the idempotency key of
-- consume/restore.
CREATE TABLE dispense_orders (
    order_id    TEXT PRIMARY KEY,
    customer_id TEXT,
    vendor_id   TEXT,
    -- CONSUMED | RESTORED
    status      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    consumed_at TEXT,
    restored_at TEXT
);

CREATE TABLE prescription_consumptions (
    id                 TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL REFERENCES dispense_orders (order_id),
    prescription_id    TEXT NOT NULL REFERENCES prescriptions (id),
    line_id            TEXT NOT NULL REFERENCES prescription_lines (id),
    medicine_id        TEXT NOT NULL,
    quantity           BIGINT NOT NULL CHECK (quantity > 0),
    -- 1 when a schedule-X medicine spent the whole prescription on this order
    whole_prescription BIGINT NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL
);
CREATE INDEX prescription_consumptions_order ON prescription_consumptions (order_id);
CREATE INDEX prescription_consumptions_prescription ON prescription_consumptions (prescription_id);
