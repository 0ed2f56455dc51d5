-- Pharmacist is a licensed role. A vendor admin proposes a pharmacist for
-- their pharmacy with the State Pharmacy Council registration; the role takes
-- effect only once a platform admin verifies it. The PHARMACIST role of a user
-- is read from their VERIFIED appointment, never from users.roles.
CREATE TABLE pharmacist_appointments (
    id                  TEXT PRIMARY KEY,
    vendor_id           TEXT NOT NULL REFERENCES vendors (id),
    user_id             TEXT NOT NULL REFERENCES users (id),
    council             TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    status              TEXT NOT NULL,
    proposed_by         TEXT NOT NULL,
    proposed_at         TEXT NOT NULL,
    decided_by          TEXT,
    decided_at          TEXT,
    decision_reason     TEXT
);
CREATE INDEX pharmacist_appointments_listing ON pharmacist_appointments (proposed_at, id);
CREATE INDEX pharmacist_appointments_vendor ON pharmacist_appointments (vendor_id, proposed_at);
-- One live (pending or verified) appointment per person, and per registration.
CREATE UNIQUE INDEX pharmacist_appointments_user_id_key ON pharmacist_appointments (user_id)
    WHERE status IN ('PENDING', 'VERIFIED');
CREATE UNIQUE INDEX pharmacist_appointments_registration_number_key
    ON pharmacist_appointments (council, registration_number)
    WHERE status IN ('PENDING', 'VERIFIED');

-- Grants made before verification existed are not trusted: PHARMACIST leaves
-- users.roles, and a vendor attachment stays only with a VENDOR_ADMIN grant.
UPDATE users SET roles = TRIM(REPLACE(',' || roles || ',', ',PHARMACIST,', ','), ',')
    WHERE ',' || roles || ',' LIKE '%,PHARMACIST,%';
UPDATE users SET vendor_id = NULL
    WHERE vendor_id IS NOT NULL AND ',' || roles || ',' NOT LIKE '%,VENDOR_ADMIN,%';

-- Vendor suspension (licence lapsed, complaint under review): a suspended
-- vendor does not sell until an admin reinstates it.
ALTER TABLE vendors ADD COLUMN suspended_at TEXT;
ALTER TABLE vendors ADD COLUMN suspension_reason TEXT;

-- A phone number is contact data, not an identity (login is by e-mail, and
-- families share one mobile number). Keeping it unique could only be enforced
-- by telling a stranger that the number belongs to an account.
DROP INDEX users_phone_key;
