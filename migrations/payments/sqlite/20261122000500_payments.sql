-- Payments subgraph (SQLite). Money is integer paise; timestamps are RFC 3339
-- UTC text; IDs are UUIDv7 text. Orders, customers and vendors are other
-- subgraphs' IDs: stored, never joined.

-- One attempt to pay one order through one gateway (or cash on delivery).
CREATE TABLE payments (
    id                 TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    vendor_id          TEXT NOT NULL,
    method             TEXT NOT NULL,
    gateway            TEXT NOT NULL,
    gateway_payment_id TEXT NOT NULL,
    checkout_url       TEXT,
    status             TEXT NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    captured           INTEGER NOT NULL DEFAULT 0,
    refunded           INTEGER NOT NULL DEFAULT 0,
    -- The order's ID while this payment is open (CREATED or PENDING), else NULL:
    -- its unique index allows one open payment per order.
    open_order_id      TEXT,
    -- The order's ID once this payment captured money, for ever: its unique
    -- index allows one successful capture per order.
    captured_order_id  TEXT,
    failure_reason     TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (captured >= 0 AND captured <= amount),
    CHECK (refunded >= 0 AND refunded <= captured)
);
CREATE UNIQUE INDEX payments_gateway_payment_id_key ON payments (gateway, gateway_payment_id);
CREATE UNIQUE INDEX payments_open_order_id_key ON payments (open_order_id);
CREATE UNIQUE INDEX payments_captured_order_id_key ON payments (captured_order_id);
CREATE INDEX payments_order ON payments (order_id, created_at);

-- Money returned on a captured payment. PENDING refunds already count in
-- payments.refunded (reserved), so concurrent refunds can never exceed the capture.
CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    reason            TEXT NOT NULL,
    status            TEXT NOT NULL,
    idempotency_key   TEXT,
    gateway_refund_id TEXT,
    requested_by      TEXT NOT NULL,
    failure_reason    TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX refunds_idempotency_key_key ON refunds (payment_id, idempotency_key);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

-- Every authenticated webhook a gateway sent, once per gateway event ID
-- (a replay is recognised and changes nothing), with what it did.
CREATE TABLE webhook_events (
    id                 TEXT PRIMARY KEY,
    gateway            TEXT NOT NULL,
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    gateway_payment_id TEXT,
    payment_id         TEXT,
    payload            TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    received_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_events_event_id_key ON webhook_events (gateway, event_id);
CREATE INDEX webhook_events_payment ON webhook_events (payment_id, received_at);
