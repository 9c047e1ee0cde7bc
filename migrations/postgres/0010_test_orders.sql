-- Test orders are kept apart from real ones (decisions.md, "Test orders kept apart"): made by
-- the test checkout, or reported by a provider as a test-mode payment (Stripe livemode false).
-- They are left out of counts and revenue and can be deleted together.
ALTER TABLE orders ADD COLUMN test BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE orders SET test = TRUE WHERE provider = 'test';
CREATE INDEX orders_merchant_test ON orders(merchant_id, test, created_at);
