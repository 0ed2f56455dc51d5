-- Typed storage (issue 12): flags become booleans, and every enum column
-- accepts only the values the code knows. Timestamps stay fixed-width
-- RFC 3339 TEXT (the Any driver's common ground).

ALTER TABLE notification_preferences
    ALTER COLUMN email_enabled TYPE boolean USING email_enabled <> 0,
    ALTER COLUMN sms_enabled TYPE boolean USING sms_enabled <> 0;

ALTER TABLE webhook_subscriptions
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE boolean USING active <> 0,
    ALTER COLUMN active SET DEFAULT true;

ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known CHECK (kind IN (
    'WELCOME', 'ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_SHIPPED', 'ORDER_DELIVERED',
    'ORDER_CANCELLED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PRESCRIPTION_APPROVED',
    'PRESCRIPTION_REJECTED', 'NEW_ORDER', 'STOCK_LOW', 'PRESCRIPTION_SUBMITTED',
    'VENDOR_VERIFIED', 'REGISTRATION_ATTEMPTED'));

ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_kind_known CHECK (kind IN (
    'WELCOME', 'ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_SHIPPED', 'ORDER_DELIVERED',
    'ORDER_CANCELLED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PRESCRIPTION_APPROVED',
    'PRESCRIPTION_REJECTED', 'NEW_ORDER', 'STOCK_LOW', 'PRESCRIPTION_SUBMITTED',
    'VENDOR_VERIFIED', 'REGISTRATION_ATTEMPTED'));

ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_owner_role_known
    CHECK (owner_role IN ('PLATFORM', 'PARTNER', 'VENDOR'));

ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_channel_known CHECK (channel IN ('IN_APP', 'EMAIL', 'SMS', 'WEBHOOK')),
    ADD CONSTRAINT deliveries_status_known
        CHECK (status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED', 'DEAD', 'CANCELLED')),
    ADD CONSTRAINT deliveries_attempts_not_negative CHECK (attempts >= 0 AND total_attempts >= attempts);

ALTER TABLE delivery_attempts
    ADD CONSTRAINT delivery_attempts_outcome_known
        CHECK (outcome IN ('DELIVERED', 'RETRYABLE_FAILURE', 'PERMANENT_FAILURE')),
    ADD CONSTRAINT delivery_attempts_number_positive CHECK (attempt_number >= 1),
    ADD CONSTRAINT delivery_attempts_duration_not_negative CHECK (duration_ms >= 0);
