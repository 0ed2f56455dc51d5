-- The gateway's ID of the money movement that captured a payment, when it
-- differs from the payment's reference there (Razorpay: the order_… is the
-- reference, the pay_… captured it). Refunds name it.
ALTER TABLE payments ADD COLUMN gateway_charge_id TEXT;
