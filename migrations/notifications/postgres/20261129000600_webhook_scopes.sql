-- Partner webhooks receive only what their owner may read. A subscription
-- is scoped when created: `PLATFORM` (an admin's: every event of its
-- types), `VENDOR` (a vendor admin's integration: only events whose payload
-- names `vendor_id`), or `PARTNER` (a platform partner's: only the event
-- types an admin granted the partner, checked again at every event).
-- Rows from before scoping are treated as partner subscriptions.
ALTER TABLE webhook_subscriptions ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'PARTNER';
ALTER TABLE webhook_subscriptions ADD COLUMN vendor_id TEXT;
CREATE INDEX webhook_subscriptions_vendor ON webhook_subscriptions (vendor_id, created_at);

-- Event types an admin granted a platform partner (by the partner's token
-- subject), with who granted them and when.
CREATE TABLE webhook_event_grants (
    partner_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (partner_id, event_type)
);

-- Signing secrets are sealed by the service at start-up and on creation
-- (`v1:` + XChaCha20-Poly1305); the column keeps its name and type.
CREATE INDEX deliveries_subscription_status ON deliveries (subscription_id, status);
