-- Typed storage (issue 12): the schedule-X flag becomes a boolean, and
-- every status and ground column accepts only the values the code knows;
-- sizes cannot be negative. Timestamps stay fixed-width RFC 3339 TEXT (the
-- Any driver's common ground).

ALTER TABLE prescription_consumptions
    ALTER COLUMN whole_prescription DROP DEFAULT,
    ALTER COLUMN whole_prescription TYPE boolean USING whole_prescription <> 0,
    ALTER COLUMN whole_prescription SET DEFAULT false;

ALTER TABLE prescription_uploads ADD CONSTRAINT prescription_uploads_status_known
    CHECK (status IN ('PENDING', 'RECEIVING', 'UPLOADED', 'USED'));
ALTER TABLE prescription_uploads ADD CONSTRAINT prescription_uploads_size_not_negative
    CHECK (size_bytes IS NULL OR size_bytes >= 0);

ALTER TABLE prescriptions ADD CONSTRAINT prescriptions_status_known
    CHECK (status IN ('SUBMITTED', 'APPROVED', 'REJECTED', 'EXPIRED'));
ALTER TABLE prescriptions ADD CONSTRAINT prescriptions_document_size_not_negative
    CHECK (document_size_bytes >= 0);
ALTER TABLE prescriptions ADD CONSTRAINT prescriptions_version_positive CHECK (version >= 1);

ALTER TABLE prescription_lines ADD CONSTRAINT prescription_lines_position_not_negative
    CHECK (position >= 0);

ALTER TABLE dispense_orders ADD CONSTRAINT dispense_orders_status_known
    CHECK (status IN ('CONSUMED', 'RESTORED'));

ALTER TABLE prescription_document_links ADD CONSTRAINT prescription_document_links_ground_known
    CHECK (ground IN ('OWNER', 'PHARMACY', 'DISPENSING_PHARMACY', 'AUDIT'));
