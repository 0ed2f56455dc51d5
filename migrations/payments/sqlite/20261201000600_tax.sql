-- The GST inside each payment and refund, so that settlements withhold TCS
-- (GST section 52) and TDS (income-tax section 194-O) on the value before
-- tax, and a settlement states the GST in the period's net sales.
ALTER TABLE payments ADD COLUMN tax BIGINT NOT NULL DEFAULT 0 CHECK (tax >= 0);
ALTER TABLE refunds ADD COLUMN tax BIGINT NOT NULL DEFAULT 0 CHECK (tax >= 0);
ALTER TABLE settlements ADD COLUMN gst BIGINT NOT NULL DEFAULT 0;
