-- Accounts (issue 18): verified contact details, one-time codes for
-- verification and password reset, named sessions, and consent history.
-- Timestamps are fixed-width RFC 3339 TEXT like the rest of this schema.

-- When the e-mail address / phone number was proven to be the owner's
-- (NULL: not yet). Changing the phone number clears phone_verified_at.
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
ALTER TABLE users ADD COLUMN phone_verified_at TEXT;

-- One-time secrets sent to a person: 6-digit verification codes (stored as
-- SHA-256 of a per-code salt and the code) and password-reset tokens (long
-- random strings, stored as their SHA-256; salt empty). Only the newest live
-- code of a purpose counts; a code is spent (used_at), voided after too many
-- wrong attempts or when a newer one is issued (voided_at), or expires.
CREATE TABLE account_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('VERIFY_EMAIL', 'VERIFY_PHONE', 'PASSWORD_RESET')),
    salt       TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    voided_at  TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX account_codes_user_purpose ON account_codes (user_id, purpose, created_at);
CREATE INDEX account_codes_hash ON account_codes (code_hash);

-- The device a session (refresh-token family) was opened from, as the
-- client described it at sign-in; copied to every rotation of the family.
ALTER TABLE refresh_tokens ADD COLUMN device TEXT;
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, created_at);

-- What a person agreed to or withdrew, with the version of the text they
-- saw; append-only (the latest row of a kind is the person's current choice).
CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('TERMS', 'PRESCRIPTION_PROCESSING', 'MARKETING')),
    granted      INTEGER NOT NULL CHECK (granted IN (0, 1)),
    text_version TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX consents_user_kind ON consents (user_id, kind, recorded_at);
