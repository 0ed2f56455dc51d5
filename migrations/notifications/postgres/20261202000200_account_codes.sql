-- Account codes (issue 18): notification kind ACCOUNT_CODE, and the
-- one-time secret of such a notification (verification code or reset
-- token), kept apart from its text for its e-mail or SMS delivery only and
-- deleted once it expires (minutes later).
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_known,
    ADD CONSTRAINT notifications_kind_known CHECK (kind IN (
        'WELCOME', 'ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_SHIPPED', 'ORDER_DELIVERED',
        'ORDER_CANCELLED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PRESCRIPTION_APPROVED',
        'PRESCRIPTION_REJECTED', 'NEW_ORDER', 'STOCK_LOW', 'PRESCRIPTION_SUBMITTED',
        'VENDOR_VERIFIED', 'REGISTRATION_ATTEMPTED', 'RETURN_REQUESTED', 'RETURN_APPROVED',
        'RETURN_REJECTED', 'SETTLEMENT_ISSUED', 'ACCOUNT_CODE'));

ALTER TABLE notification_preferences
    DROP CONSTRAINT notification_preferences_kind_known,
    ADD CONSTRAINT notification_preferences_kind_known CHECK (kind IN (
        'WELCOME', 'ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_SHIPPED', 'ORDER_DELIVERED',
        'ORDER_CANCELLED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PRESCRIPTION_APPROVED',
        'PRESCRIPTION_REJECTED', 'NEW_ORDER', 'STOCK_LOW', 'PRESCRIPTION_SUBMITTED',
        'VENDOR_VERIFIED', 'REGISTRATION_ATTEMPTED', 'RETURN_REQUESTED', 'RETURN_APPROVED',
        'RETURN_REJECTED', 'SETTLEMENT_ISSUED', 'ACCOUNT_CODE'));

CREATE TABLE account_codes (
    notification_id TEXT PRIMARY KEY REFERENCES notifications (id),
    secret_text     TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE INDEX account_codes_expires ON account_codes (expires_at);
