-- Whether each vendor may sell, as catalog learns it from users' events
-- (VendorVerified, VendorSuspended, VendorReinstated). No row means no
-- VendorVerified seen yet: the vendor does not sell. A vendor sells when
-- verified = 1 and suspended = 0. Suspension and reinstatement apply in the
-- order they happened (suspension_changed_at, the event's occurred_at), not
-- the order they arrived; on a tie the suspension wins.
CREATE TABLE vendor_status (
    vendor_id             TEXT PRIMARY KEY,
    verified              BIGINT NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    suspended             BIGINT NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
    verified_at           TEXT,
    suspension_changed_at TEXT,
    updated_at            TEXT NOT NULL
);
