-- Typed storage (issue 12): the default-address flag becomes a boolean, and
-- every enum column accepts only the values the code knows. Timestamps stay
-- fixed-width RFC 3339 TEXT (the Any driver's common ground).

DROP INDEX addresses_one_default;
ALTER TABLE addresses
    ALTER COLUMN is_default DROP DEFAULT,
    ALTER COLUMN is_default TYPE boolean USING is_default <> 0,
    ALTER COLUMN is_default SET DEFAULT false;
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;

-- Directly granted roles, comma-separated; PHARMACIST only ever comes from a
-- verified appointment and SERVICE is reserved for subgraphs.
ALTER TABLE users ADD CONSTRAINT users_roles_known
    CHECK (roles ~ '^((CUSTOMER|VENDOR_ADMIN|ADMIN|PARTNER)(,(CUSTOMER|VENDOR_ADMIN|ADMIN|PARTNER))*)?$');

ALTER TABLE family_members ADD CONSTRAINT family_members_relation_known
    CHECK (relation IN ('SPOUSE', 'CHILD', 'PARENT', 'SIBLING', 'OTHER'));

ALTER TABLE pharmacist_appointments ADD CONSTRAINT pharmacist_appointments_status_known
    CHECK (status IN ('PENDING', 'VERIFIED', 'REJECTED', 'REVOKED'));

ALTER TABLE attempt_throttle ADD CONSTRAINT attempt_throttle_failures_not_negative
    CHECK (failures >= 0);

ALTER TABLE users ADD CONSTRAINT users_version_positive CHECK (version >= 1);
