-- A prescription is submitted to one pharmacy (vendor of the users
-- subgraph, stored by ID): only that pharmacy's pharmacists see it in their
-- queue, open it and review it. NULL until the customer picks one.
ALTER TABLE prescriptions ADD COLUMN vendor_id TEXT;
-- Prescriptions reviewed before this column existed belong to the pharmacy
-- that reviewed them.
UPDATE prescriptions SET vendor_id = reviewer_vendor_id WHERE vendor_id IS NULL;
CREATE INDEX prescriptions_pharmacy_queue ON prescriptions (vendor_id, status, submitted_at, id);

-- Every signed document link handed out: who asked, on what ground, why
-- (admins must say), and its single use. A link opens the document once,
-- before it expires; each issue and each download is also in the audit log.
CREATE TABLE prescription_document_links (
    id              TEXT PRIMARY KEY,
    prescription_id TEXT NOT NULL REFERENCES prescriptions (id),
    actor           TEXT NOT NULL,
    -- OWNER | PHARMACY | DISPENSING_PHARMACY | AUDIT
    ground          TEXT NOT NULL,
    reason          TEXT,
    issued_at       TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX prescription_document_links_prescription ON prescription_document_links (prescription_id, issued_at);
