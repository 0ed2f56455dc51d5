-- Personal data (issue 18): what erasure needs to know and to record.
-- The schedule of what each consumption sold, so that an erasure keeps
-- exactly the Schedule H1 register entries (Drugs and Cosmetics Rules 1945,
-- Rule 65(9)(d): prescriber, patient, drug and quantity, 3 years) and
-- pseudonymises the rest. true = Schedule H1, false = another schedule,
-- NULL = recorded before schedules were (erasure treats it as H1: it
-- cannot tell).
ALTER TABLE prescription_consumptions ADD COLUMN schedule_h1 boolean;
-- When the customer's erasure reached this prescription: its document file
-- is gone, it covers no order any more, and what the law does not keep is
-- pseudonymised. NULL = not erased.
ALTER TABLE prescriptions ADD COLUMN erased_at TEXT;
CREATE INDEX prescriptions_owner_erased ON prescriptions (owner_id, erased_at);
