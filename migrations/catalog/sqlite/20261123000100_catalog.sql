-- Catalog subgraph: versioned medicine master, categories, generic
-- alternatives, GST slabs by HSN code, vendor listings, batches, the
-- append-only stock-movement ledger, stock reservations and the search index.

CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX categories_name_key ON categories (name);

-- The stable identity of a medicine; its fields live in versions.
CREATE TABLE medicines (
    id              TEXT PRIMARY KEY,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Every version ever published; orders keep pointing at the one they bought.
CREATE TABLE medicine_versions (
    medicine_id      TEXT NOT NULL REFERENCES medicines (id),
    version          INTEGER NOT NULL,
    previous_version INTEGER,
    name             TEXT NOT NULL,
    generic_name     TEXT NOT NULL,
    manufacturer     TEXT NOT NULL,
    strength         TEXT NOT NULL,
    form             TEXT NOT NULL,
    pack_size        TEXT NOT NULL,
    schedule         TEXT NOT NULL CHECK (schedule IN ('OTC', 'H', 'H1', 'X')),
    hsn_code         TEXT NOT NULL,
    category_id      TEXT NOT NULL REFERENCES categories (id),
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (medicine_id, version)
);
CREATE INDEX medicine_versions_category ON medicine_versions (category_id);
CREATE TRIGGER medicine_versions_no_update BEFORE UPDATE ON medicine_versions
BEGIN SELECT RAISE(ABORT, 'medicine versions are immutable'); END;
CREATE TRIGGER medicine_versions_no_delete BEFORE DELETE ON medicine_versions
BEGIN SELECT RAISE(ABORT, 'medicine versions are immutable'); END;

-- Admin-approved generic alternatives, ranked (1 = best).
CREATE TABLE medicine_alternatives (
    medicine_id    TEXT NOT NULL REFERENCES medicines (id),
    alternative_id TEXT NOT NULL REFERENCES medicines (id),
    ranking        INTEGER NOT NULL,
    approved_by    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (medicine_id, alternative_id)
);

-- GST rate by HSN code prefix (longest prefix wins), in force from a date.
CREATE TABLE tax_slabs (
    id             TEXT PRIMARY KEY,
    hsn_code       TEXT NOT NULL,
    rate_bp        INTEGER NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    effective_from TEXT NOT NULL,
    description    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX tax_slabs_hsn_code_key ON tax_slabs (hsn_code, effective_from);

-- A vendor's offer of a medicine. Prices are tax-inclusive paise.
CREATE TABLE listings (
    id          TEXT PRIMARY KEY,
    vendor_id   TEXT NOT NULL,
    medicine_id TEXT NOT NULL REFERENCES medicines (id),
    price_paise INTEGER NOT NULL CHECK (price_paise > 0),
    mrp_paise   INTEGER NOT NULL CHECK (mrp_paise >= price_paise),
    active      INTEGER NOT NULL DEFAULT 1,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX listings_vendor_id_key ON listings (vendor_id, medicine_id);
CREATE INDEX listings_medicine ON listings (medicine_id);

-- Stock on hand per batch; `reserved` units are held for unconfirmed orders.
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    listing_id   TEXT NOT NULL REFERENCES listings (id),
    batch_number TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    reserved     INTEGER NOT NULL DEFAULT 0,
    received_at  TEXT NOT NULL,
    CHECK (quantity >= 0 AND reserved >= 0 AND reserved <= quantity)
);
CREATE UNIQUE INDEX batches_listing_id_key ON batches (listing_id, batch_number);
CREATE INDEX batches_listing_expiry ON batches (listing_id, expires_on);

-- Append-only ledger of every change to stock on hand.
CREATE TABLE stock_movements (
    id         TEXT PRIMARY KEY,
    listing_id TEXT NOT NULL REFERENCES listings (id),
    batch_id   TEXT REFERENCES batches (id),
    delta      INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    reason     TEXT,
    reference  TEXT,
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX stock_movements_listing ON stock_movements (listing_id, id);
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END;

-- One reservation per order (idempotency key = order ID).
CREATE TABLE reservations (
    order_id   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX reservations_due ON reservations (status, expires_at);

-- Reserved lines with the snapshot orders keep (price, MRP, medicine version, tax).
CREATE TABLE reservation_items (
    order_id         TEXT NOT NULL REFERENCES reservations (order_id),
    line_no          INTEGER NOT NULL,
    listing_id       TEXT NOT NULL,
    vendor_id        TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_paise INTEGER NOT NULL,
    mrp_paise        INTEGER NOT NULL,
    medicine_id      TEXT NOT NULL,
    medicine_version INTEGER NOT NULL,
    medicine_name    TEXT NOT NULL,
    generic_name     TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    hsn_code         TEXT NOT NULL,
    gst_rate_bp      INTEGER,
    PRIMARY KEY (order_id, listing_id)
);

-- Which batches each reserved line was allocated from (first expiry first out).
CREATE TABLE reservation_allocations (
    order_id     TEXT NOT NULL REFERENCES reservations (order_id),
    listing_id   TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    batch_number TEXT NOT NULL,
    expires_on   TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, batch_id)
);
CREATE INDEX reservation_allocations_listing ON reservation_allocations (listing_id);

-- Full-text index of the current version of each medicine.
CREATE VIRTUAL TABLE medicine_search USING fts5(
    medicine_id UNINDEXED,
    name,
    generic_name,
    manufacturer,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);

-- Trigrams of every word in the index, for misspelt-query fallback.
CREATE TABLE search_trigrams (
    trigram TEXT NOT NULL,
    word    TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (trigram, word)
);
