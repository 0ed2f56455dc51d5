-- The sandbox gateway keeps what a real gateway keeps on its own servers,
-- durably: which checkouts were submitted (once each), and the webhooks it
-- still owes the merchant, written before the checkout page answers and
-- sent (again, after a restart) until the merchant acknowledges them.
CREATE TABLE sandbox_checkouts (
    gateway_payment_id TEXT PRIMARY KEY,
    succeeded          BOOLEAN NOT NULL,
    submitted_at       TEXT NOT NULL
);

CREATE TABLE sandbox_webhooks (
    id           TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL,
    body         TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered_at TEXT,
    created_at   TEXT NOT NULL
);

CREATE INDEX sandbox_webhooks_owed ON sandbox_webhooks (due_at) WHERE delivered_at IS NULL;
