-- Account codes (issue 18): the one-time secret of an ACCOUNT_CODE
-- notification (verification code or reset token), kept apart from its text
-- for its e-mail or SMS delivery only and deleted once it expires (minutes
-- later). SQLite has no CHECK on kinds to widen.
CREATE TABLE account_codes (
    notification_id TEXT PRIMARY KEY REFERENCES notifications (id),
    secret_text     TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE INDEX account_codes_expires ON account_codes (expires_at);
