-- Orders (PostgreSQL only): every status and enum column accepts only the
-- values the code writes, and money and quantities cannot go negative.
-- (Orders has no flag columns; timestamps stay fixed-width RFC 3339 text.)

ALTER TABLE checkouts
    ADD CONSTRAINT checkouts_status_check CHECK (status IN ('IN_PROGRESS', 'DONE'));

ALTER TABLE orders
    ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'PACKED',
        'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED', 'RETURNED')),
    ADD CONSTRAINT orders_payment_method_check
        CHECK (payment_method IN ('UPI', 'CARD', 'NETBANKING', 'CASH_ON_DELIVERY')),
    ADD CONSTRAINT orders_supply_check CHECK (supply IN ('INTRA_STATE', 'INTER_STATE')),
    ADD CONSTRAINT orders_stock_action_check CHECK (stock_action IN ('COMMIT', 'RELEASE')),
    ADD CONSTRAINT orders_rx_action_check CHECK (rx_action IN ('CONSUME', 'RESTORE')),
    ADD CONSTRAINT orders_amounts_check CHECK (total >= 0 AND taxable_total >= 0
        AND cgst_total >= 0 AND sgst_total >= 0 AND igst_total >= 0),
    ADD CONSTRAINT orders_version_check CHECK (version >= 1),
    ADD CONSTRAINT orders_followup_attempts_check CHECK (followup_attempts >= 0);

ALTER TABLE order_lines
    ADD CONSTRAINT order_lines_schedule_check CHECK (schedule IN ('OTC', 'H', 'H1', 'X')),
    ADD CONSTRAINT order_lines_gst_rate_check CHECK (gst_rate_bp BETWEEN 0 AND 4000),
    ADD CONSTRAINT order_lines_amounts_check CHECK (unit_price >= 0 AND mrp >= 0
        AND line_total >= 0 AND taxable_value >= 0 AND cgst >= 0 AND sgst >= 0 AND igst >= 0),
    ADD CONSTRAINT order_lines_position_check CHECK (position >= 1);

ALTER TABLE order_status_history
    ADD CONSTRAINT order_status_history_status_check CHECK (status IN ('PENDING_PAYMENT',
        'CONFIRMED', 'PACKED', 'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED', 'RETURNED')),
    ADD CONSTRAINT order_status_history_seq_check CHECK (seq >= 1);
