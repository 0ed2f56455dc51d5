-- Returns of delivered order lines: the customer's request (reason, note),
-- the vendor's review, and the units and refund of each line.
CREATE TABLE order_returns (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    customer_id  TEXT NOT NULL,
    vendor_id    TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    note         TEXT,
    refund_total INTEGER NOT NULL CHECK (refund_total >= 0),
    requested_at TEXT NOT NULL,
    reviewed_at  TEXT,
    reviewed_by  TEXT,
    review_note  TEXT
);
CREATE INDEX order_returns_order ON order_returns (order_id);
CREATE INDEX order_returns_customer ON order_returns (customer_id, requested_at);
CREATE INDEX order_returns_vendor ON order_returns (vendor_id, status, requested_at);

CREATE TABLE order_return_lines (
    id            TEXT PRIMARY KEY,
    return_id     TEXT NOT NULL REFERENCES order_returns (id),
    order_line_id TEXT NOT NULL REFERENCES order_lines (id),
    position      INTEGER NOT NULL,
    listing_id    TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    refund        INTEGER NOT NULL CHECK (refund >= 0)
);
CREATE INDEX order_return_lines_return ON order_return_lines (return_id, position);
CREATE INDEX order_return_lines_line ON order_return_lines (order_line_id);
