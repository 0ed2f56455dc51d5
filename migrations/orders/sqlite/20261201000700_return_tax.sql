-- The GST inside each returned line's refund, so payments can settle
-- vendors on the value before tax (GST section 52 TCS).
ALTER TABLE order_return_lines ADD COLUMN refund_tax BIGINT NOT NULL DEFAULT 0 CHECK (refund_tax >= 0);
