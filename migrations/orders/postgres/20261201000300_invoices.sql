-- GST tax invoices and credit notes. An order is fulfilled from one branch
-- of its vendor; the seller as it was at checkout (legal name, branch
-- address, state, GSTIN, invoice series) and the buyer's name, when known,
-- are kept in order_parties. Every confirmed order gets one tax invoice, numbered without gaps per seller
-- GSTIN and financial year (invoice_counters, incremented in the
-- confirming transaction); refunds issue credit notes in their own series.
-- Issued documents never change: triggers refuse UPDATE and DELETE.

CREATE TABLE order_parties (
    order_id         TEXT PRIMARY KEY REFERENCES orders (id),
    vendor_id        TEXT NOT NULL,
    legal_name       TEXT NOT NULL,
    branch_id        TEXT NOT NULL,
    branch_name      TEXT NOT NULL,
    line1            TEXT NOT NULL,
    city             TEXT NOT NULL,
    state            TEXT NOT NULL,
    pincode          TEXT NOT NULL,
    gstin            TEXT NOT NULL,
    invoice_series   TEXT NOT NULL,
    buyer_name       TEXT
);

-- The last number issued per seller GSTIN, financial year ("26-27") and
-- kind (INVOICE | CREDIT_NOTE).
CREATE TABLE invoice_counters (
    seller_gstin   TEXT NOT NULL,
    financial_year TEXT NOT NULL,
    kind           TEXT NOT NULL,
    last_seq       BIGINT NOT NULL CHECK (last_seq > 0),
    PRIMARY KEY (seller_gstin, financial_year, kind)
);

-- Tax invoices (kind INVOICE) and credit notes (kind CREDIT_NOTE, which
-- reference their invoice and, for returns, the return).
CREATE TABLE tax_documents (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('INVOICE', 'CREDIT_NOTE')),
    number            TEXT NOT NULL CHECK (char_length(number) <= 16),
    seller_gstin      TEXT NOT NULL,
    financial_year    TEXT NOT NULL,
    seq               BIGINT NOT NULL CHECK (seq > 0),
    order_id          TEXT NOT NULL REFERENCES orders (id),
    customer_id       TEXT NOT NULL,
    vendor_id         TEXT NOT NULL,
    invoice_id        TEXT REFERENCES tax_documents (id),
    invoice_number    TEXT,
    return_id         TEXT,
    reason            TEXT,
    issued_at         TEXT NOT NULL,
    seller_legal_name TEXT NOT NULL,
    branch_id         TEXT NOT NULL,
    invoice_series    TEXT NOT NULL,
    branch_name       TEXT NOT NULL,
    branch_line1      TEXT NOT NULL,
    branch_city       TEXT NOT NULL,
    branch_state      TEXT NOT NULL,
    branch_pincode    TEXT NOT NULL,
    buyer_name        TEXT,
    address_line1     TEXT NOT NULL,
    address_line2     TEXT,
    address_city      TEXT NOT NULL,
    address_state     TEXT NOT NULL,
    address_pincode   TEXT NOT NULL,
    place_of_supply   TEXT NOT NULL,
    supply            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    taxable_total     BIGINT NOT NULL CHECK (taxable_total >= 0),
    cgst_total        BIGINT NOT NULL CHECK (cgst_total >= 0),
    sgst_total        BIGINT NOT NULL CHECK (sgst_total >= 0),
    igst_total        BIGINT NOT NULL CHECK (igst_total >= 0),
    total             BIGINT NOT NULL CHECK (total >= 0)
);
CREATE UNIQUE INDEX tax_documents_number_key ON tax_documents (seller_gstin, number);
CREATE UNIQUE INDEX tax_documents_seq_key ON tax_documents (seller_gstin, financial_year, kind, seq);
CREATE UNIQUE INDEX tax_documents_one_invoice ON tax_documents (order_id) WHERE kind = 'INVOICE';
CREATE UNIQUE INDEX tax_documents_one_per_return ON tax_documents (return_id) WHERE return_id IS NOT NULL;
CREATE INDEX tax_documents_order ON tax_documents (order_id, issued_at);
CREATE INDEX tax_documents_number ON tax_documents (number);

CREATE TABLE tax_document_lines (
    id             TEXT PRIMARY KEY,
    document_id    TEXT NOT NULL REFERENCES tax_documents (id),
    position       BIGINT NOT NULL,
    order_line_id  TEXT NOT NULL REFERENCES order_lines (id),
    description    TEXT NOT NULL,
    hsn_code       TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    unit_price     BIGINT NOT NULL CHECK (unit_price >= 0),
    gst_rate_bp    BIGINT NOT NULL CHECK (gst_rate_bp BETWEEN 0 AND 4000),
    taxable_value  BIGINT NOT NULL CHECK (taxable_value >= 0),
    cgst           BIGINT NOT NULL CHECK (cgst >= 0),
    sgst           BIGINT NOT NULL CHECK (sgst >= 0),
    igst           BIGINT NOT NULL CHECK (igst >= 0),
    total          BIGINT NOT NULL CHECK (total >= 0)
);
CREATE UNIQUE INDEX tax_document_lines_position_key ON tax_document_lines (document_id, position);
CREATE INDEX tax_document_lines_order_line ON tax_document_lines (order_line_id);

CREATE OR REPLACE FUNCTION tax_documents_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued tax document is immutable';
END;
$$;
CREATE TRIGGER tax_documents_no_change BEFORE UPDATE OR DELETE ON tax_documents
FOR EACH ROW EXECUTE FUNCTION tax_documents_immutable();
CREATE TRIGGER tax_document_lines_no_change BEFORE UPDATE OR DELETE ON tax_document_lines
FOR EACH ROW EXECUTE FUNCTION tax_documents_immutable();
