-- Machine credentials and attempt throttling (issue 11).
--
-- OAuth 2.0 clients of the token endpoint (client-credentials grant): one
-- per Janta service, registered from configuration at start-up, and partner
-- apps (owned by a vendor, or by the platform when owner_vendor_id is NULL).
-- Secrets are stored as SHA-256 hashes (they carry >= 32 bytes of entropy).
-- A rotated secret keeps working until previous_secret_valid_until.
CREATE TABLE oauth_clients (
    client_id                   TEXT PRIMARY KEY,
    kind                        TEXT NOT NULL CHECK (kind IN ('SERVICE', 'PARTNER')),
    name                        TEXT NOT NULL,
    owner_vendor_id             TEXT REFERENCES vendors (id),
    scopes                      TEXT NOT NULL,
    secret_hash                 TEXT NOT NULL,
    previous_secret_hash        TEXT,
    previous_secret_valid_until TEXT,
    revoked_at                  TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);
CREATE INDEX oauth_clients_owner_vendor ON oauth_clients (owner_vendor_id);

-- Counts of failed attempts to present a secret (sign-in, token endpoint),
-- per key: "account:<email>", "client:<id>" or "ip:<address>", hashed.
CREATE TABLE attempt_throttle (
    key_hash      TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    blocked_until TEXT,
    updated_at    TEXT NOT NULL
);

-- The lockout it replaces read its count before and wrote it after the
-- password check, and five failures by anyone locked the owner out.
DROP TABLE login_failures;
