-- Webhooks and refunds find a payment by its gateway reference or by the
-- charge that captured it: both lookups use an index.
CREATE INDEX payments_gateway_charge ON payments (gateway, gateway_charge_id);
