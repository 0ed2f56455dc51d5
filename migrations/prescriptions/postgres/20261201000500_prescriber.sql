-- The prescriber of an approved prescription (pharmacy compliance II): the
-- doctor's name and medical council registration number as the reviewing
-- pharmacist confirmed them against the document. Schedule H and H1
-- medicines are dispensed only against a prescription that names both, and
-- the H1 register (orders) records them with every sale.
ALTER TABLE prescriptions ADD COLUMN prescriber_name TEXT;
ALTER TABLE prescriptions ADD COLUMN prescriber_registration TEXT;
-- Prescriptions approved before: the doctor the customer named.
UPDATE prescriptions SET prescriber_name = doctor_name,
    prescriber_registration = doctor_registration_number
WHERE status = 'APPROVED';
