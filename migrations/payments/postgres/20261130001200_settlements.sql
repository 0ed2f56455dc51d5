-- Vendor settlements: what the marketplace owes each vendor for a period.

-- When a payment captured its money (settlements count captures by date).
ALTER TABLE payments ADD COLUMN captured_at TEXT;
UPDATE payments SET captured_at = updated_at WHERE captured > 0;

-- A vendor's commission rate from a date on (basis points of net sales).
-- Rates are never edited: a change is a new row with its own date, so the
-- rate of any past period can always be read.
CREATE TABLE vendor_commissions (
    vendor_id      TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    rate_bps       INTEGER NOT NULL CHECK (rate_bps >= 0 AND rate_bps <= 10000),
    set_by         TEXT NOT NULL,
    set_at         TEXT NOT NULL,
    PRIMARY KEY (vendor_id, effective_from)
);

-- An issued settlement statement: immutable once written.
CREATE TABLE settlements (
    id                  TEXT PRIMARY KEY,
    vendor_id           TEXT NOT NULL,
    period_start        TEXT NOT NULL,
    period_end          TEXT NOT NULL,
    payments_count      INTEGER NOT NULL CHECK (payments_count >= 0),
    captured            INTEGER NOT NULL CHECK (captured >= 0),
    refunded            INTEGER NOT NULL CHECK (refunded >= 0),
    commission_rate_bps INTEGER NOT NULL CHECK (commission_rate_bps >= 0),
    commission          INTEGER NOT NULL,
    tcs_rate_bps        INTEGER NOT NULL CHECK (tcs_rate_bps >= 0),
    tcs                 INTEGER NOT NULL,
    tds_rate_bps        INTEGER NOT NULL CHECK (tds_rate_bps >= 0),
    tds                 INTEGER NOT NULL,
    payout              INTEGER NOT NULL,
    issued_by           TEXT NOT NULL,
    issued_at           TEXT NOT NULL,
    CHECK (period_start <= period_end)
);
CREATE UNIQUE INDEX settlements_vendor_period_key ON settlements (vendor_id, period_start);
CREATE OR REPLACE FUNCTION settlements_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued settlement is immutable';
END;
$$;
CREATE TRIGGER settlements_no_change BEFORE UPDATE OR DELETE ON settlements
FOR EACH ROW EXECUTE FUNCTION settlements_immutable();
CREATE OR REPLACE FUNCTION vendor_commissions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a commission rate is never changed: add one with a later date';
END;
$$;
CREATE TRIGGER vendor_commissions_no_update BEFORE UPDATE ON vendor_commissions
FOR EACH ROW EXECUTE FUNCTION vendor_commissions_append_only();
