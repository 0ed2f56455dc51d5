-- Notifications subgraph: notifications (the in-app channel), per-viewer
-- read marks, channel preferences, partner webhook subscriptions, and the
-- deliveries of e-mail, SMS and webhooks with one row per attempt.

-- One notification per (event, audience): a redelivered event cannot make
-- a second one. `audience` is `user:<id>`, `vendor:<id>` or `role:<ROLE>`.
CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    audience     TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_event_audience_key ON notifications (event_id, audience);
CREATE INDEX notifications_inbox ON notifications (audience, created_at, id);

-- Read state is per viewer: a vendor's or pharmacists' shared notification
-- is read by each staff member separately.
CREATE TABLE notification_reads (
    notification_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    read_at         TEXT NOT NULL,
    PRIMARY KEY (notification_id, user_id)
);
CREATE INDEX notification_reads_user ON notification_reads (user_id);

-- Channel switches per person and kind; absent = the kind's default.
CREATE TABLE notification_preferences (
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    email_enabled INTEGER NOT NULL,
    sms_enabled   INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE webhook_subscriptions (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner_id, created_at);

CREATE TABLE webhook_subscription_events (
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
    event_type      TEXT NOT NULL,
    PRIMARY KEY (subscription_id, event_type)
);
CREATE INDEX webhook_subscription_events_type ON webhook_subscription_events (event_type);

-- One delivery per (event, recipient, channel); `recipient` is the user ID
-- (e-mail, SMS) or the subscription ID (webhook). `attempts` counts the
-- current round (an admin replay starts a new one), `total_attempts` all.
CREATE TABLE deliveries (
    id                 TEXT PRIMARY KEY,
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    channel            TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    notification_id    TEXT REFERENCES notifications (id),
    subscription_id    TEXT REFERENCES webhook_subscriptions (id),
    payload            TEXT,
    status             TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    total_attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    lease_until        TEXT,
    last_error         TEXT,
    last_response_code INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    delivered_at       TEXT
);
CREATE UNIQUE INDEX deliveries_event_recipient_channel_key ON deliveries (event_id, recipient, channel);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_notification ON deliveries (notification_id);
CREATE INDEX deliveries_listing ON deliveries (created_at, id);

CREATE TABLE delivery_attempts (
    id             TEXT PRIMARY KEY,
    delivery_id    TEXT NOT NULL REFERENCES deliveries (id),
    attempt_number INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    duration_ms    INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    error          TEXT,
    response_code  INTEGER
);
CREATE UNIQUE INDEX delivery_attempts_delivery_attempt_number_key ON delivery_attempts (delivery_id, attempt_number);
