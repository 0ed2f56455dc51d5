-- Users subgraph: identity, credentials, addresses, family members, vendors.
CREATE TABLE vendors (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    legal_name          TEXT NOT NULL,
    gstin               TEXT NOT NULL,
    drug_licence_number TEXT NOT NULL,
    state               TEXT NOT NULL,
    verified_at         TEXT,
    created_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX vendors_gstin_key ON vendors (gstin);
CREATE UNIQUE INDEX vendors_drug_licence_number_key ON vendors (drug_licence_number);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    phone         TEXT,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    vendor_id     TEXT REFERENCES vendors (id),
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_phone_key ON users (phone);

CREATE TABLE vendor_branches (
    id         TEXT PRIMARY KEY,
    vendor_id  TEXT NOT NULL REFERENCES vendors (id),
    name       TEXT NOT NULL,
    line1      TEXT NOT NULL,
    city       TEXT NOT NULL,
    state      TEXT NOT NULL,
    pincode    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX vendor_branches_vendor ON vendor_branches (vendor_id);

CREATE TABLE addresses (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    label      TEXT,
    line1      TEXT NOT NULL,
    line2      TEXT,
    city       TEXT NOT NULL,
    state      TEXT NOT NULL,
    pincode    TEXT NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX addresses_user ON addresses (user_id);
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1;

CREATE TABLE family_members (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    full_name     TEXT NOT NULL,
    relation      TEXT NOT NULL,
    date_of_birth TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX family_members_user ON family_members (user_id);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE login_failures (
    id       TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key_hash, at);
