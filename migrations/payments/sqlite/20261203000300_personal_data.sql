-- A customer's payments, found by customer: the export of their data and
-- the erasure of the payer details in the gateways' webhooks about them
-- (issue 18) read payments by customer_id, which no index covered.
CREATE INDEX payments_customer ON payments (customer_id, created_at);
