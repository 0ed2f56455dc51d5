-- Orders subgraph: carts, checkouts (idempotency), orders with their lines,
-- tax and delivery-address snapshots, and status history. Customer, vendor,
-- listing, medicine and prescription IDs belong to other subgraphs and are
-- stored as plain IDs (no foreign keys across subgraphs).

-- One cart per customer.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX carts_customer_id_key ON carts (customer_id);

-- A listing (catalog) and how many units of it; prices are never stored here.
CREATE TABLE cart_lines (
    id         TEXT PRIMARY KEY,
    cart_id    TEXT NOT NULL REFERENCES carts (id),
    listing_id TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    added_at   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX cart_lines_listing_id_key ON cart_lines (cart_id, listing_id);

-- A placeOrder attempt, claimed by (customer, idempotency key) before any
-- work: IN_PROGRESS while the saga runs (order_ids = the orders it plans,
-- whose reservations it may hold), DONE with the placed orders. A failed
-- attempt deletes its row, so the key may be retried.
CREATE TABLE checkouts (
    customer_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    id              TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          TEXT NOT NULL,
    order_ids       TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotency_key)
);
CREATE INDEX checkouts_status ON checkouts (status, updated_at);

CREATE TABLE orders (
    id                   TEXT PRIMARY KEY,
    checkout_id          TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    vendor_id            TEXT NOT NULL,
    vendor_state         TEXT NOT NULL,
    -- PENDING_PAYMENT | CONFIRMED | PACKED | OUT_FOR_DELIVERY | DELIVERED | CANCELLED | RETURNED
    status               TEXT NOT NULL,
    payment_method       TEXT,
    supply               TEXT NOT NULL,
    currency             TEXT NOT NULL,
    total                BIGINT NOT NULL,
    taxable_total        BIGINT NOT NULL,
    cgst_total           BIGINT NOT NULL,
    sgst_total           BIGINT NOT NULL,
    igst_total           BIGINT NOT NULL,
    address_id           TEXT NOT NULL,
    address_label        TEXT,
    address_line1        TEXT NOT NULL,
    address_line2        TEXT,
    address_city         TEXT NOT NULL,
    address_state        TEXT NOT NULL,
    address_pincode      TEXT NOT NULL,
    -- Comma-separated prescription IDs the customer offered.
    prescription_ids     TEXT NOT NULL DEFAULT '',
    cancellation_reason  TEXT,
    placed_at            TEXT NOT NULL,
    payment_due_at       TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    version              BIGINT NOT NULL DEFAULT 1,
    -- Calls to other subgraphs still owed for the current status
    -- (idempotent, retried by the sweeper): COMMIT | RELEASE, CONSUME | RESTORE.
    stock_action         TEXT,
    rx_action            TEXT,
    followup_lease_until TEXT,
    followup_attempts    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX orders_customer ON orders (customer_id, placed_at, id);
CREATE INDEX orders_vendor ON orders (vendor_id, placed_at, id);
CREATE INDEX orders_status_due ON orders (status, payment_due_at);
CREATE INDEX orders_checkout ON orders (checkout_id);

-- One line per listing, with everything needed to print the invoice later:
-- the medicine version bought, prices, tax and allocated batches (JSON).
CREATE TABLE order_lines (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders (id),
    position         BIGINT NOT NULL,
    listing_id       TEXT NOT NULL,
    medicine_id      TEXT NOT NULL,
    medicine_version BIGINT NOT NULL,
    medicine_name    TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    hsn_code         TEXT NOT NULL,
    gst_rate_bp      BIGINT NOT NULL,
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price       BIGINT NOT NULL,
    mrp              BIGINT NOT NULL,
    line_total       BIGINT NOT NULL,
    taxable_value    BIGINT NOT NULL,
    cgst             BIGINT NOT NULL,
    sgst             BIGINT NOT NULL,
    igst             BIGINT NOT NULL,
    prescription_id  TEXT,
    batches          TEXT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);

-- Every transition: status, who, when, why.
CREATE TABLE order_status_history (
    id       TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    seq      BIGINT NOT NULL,
    status   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    note     TEXT,
    at       TEXT NOT NULL
);
CREATE UNIQUE INDEX order_status_history_seq_key ON order_status_history (order_id, seq);
