-- Recurring billing, customers and refunds (issue 13). See the SQLite twin for the reasons.
ALTER TABLE orders ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE orders ADD COLUMN customer_id TEXT REFERENCES customers (id);
-- An order's events go to its webhook profile (the session's, for a session's order).
ALTER TABLE orders ADD COLUMN webhook_profile_id TEXT REFERENCES webhook_profiles (id);
UPDATE orders SET webhook_profile_id =
    (SELECT s.webhook_profile_id FROM payment_sessions s WHERE s.id = orders.session_id);

ALTER TABLE transactions ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE transactions ADD COLUMN subscription_id TEXT REFERENCES subscriptions (id);
ALTER TABLE transactions ADD COLUMN billing_period DATE;
ALTER TABLE transactions ADD COLUMN billing_attempt INTEGER;
ALTER TABLE transactions ADD COLUMN refund_of TEXT REFERENCES transactions (id);
ALTER TABLE transactions ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN description TEXT;
CREATE INDEX transactions_order ON transactions (order_id, id);
-- One collection per subscription, period and attempt, whatever the number of billing workers.
CREATE UNIQUE INDEX transactions_billing_period
    ON transactions (subscription_id, billing_period, billing_attempt);
CREATE INDEX transactions_refund_of ON transactions (refund_of) WHERE refund_of IS NOT NULL;

ALTER TABLE subscriptions ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE subscriptions ADD COLUMN campaign_id TEXT REFERENCES campaigns (id);
ALTER TABLE subscriptions ADD COLUMN plan_name TEXT;
ALTER TABLE subscriptions ADD COLUMN anchor_date DATE;
UPDATE subscriptions SET anchor_date = next_billing_date;
ALTER TABLE subscriptions ALTER COLUMN anchor_date SET NOT NULL;
ALTER TABLE subscriptions ADD COLUMN periods_billed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN collect_on DATE;
ALTER TABLE subscriptions ADD COLUMN dunning_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN dunning_ladder TEXT NOT NULL DEFAULT '3,5,7';
ALTER TABLE subscriptions ADD COLUMN notice_days INTEGER NOT NULL DEFAULT 5;
ALTER TABLE subscriptions ADD COLUMN notice_on DATE;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD COLUMN paused_at TIMESTAMP;
ALTER TABLE subscriptions ADD COLUMN ended_at TIMESTAMP;
UPDATE subscriptions SET collect_on = next_billing_date, notice_on = next_billing_date - 5
WHERE status = 'ACTIVE';
-- The billing run's scans: only subscriptions with something scheduled are in these indexes.
CREATE INDEX subscriptions_collect_on ON subscriptions (collect_on) WHERE collect_on IS NOT NULL;
CREATE INDEX subscriptions_notice_on ON subscriptions (notice_on) WHERE notice_on IS NOT NULL;
CREATE INDEX subscriptions_customer ON subscriptions (customer_id) WHERE customer_id IS NOT NULL;

-- Customers: the mandate charges go to, the gateway it was signed for, and deletion.
ALTER TABLE customers ADD COLUMN session_id TEXT;
ALTER TABLE customers ADD COLUMN gateway_id TEXT;
ALTER TABLE customers ADD COLUMN mandate_id TEXT;
ALTER TABLE customers ADD COLUMN status TEXT NOT NULL DEFAULT 'ACTIVE';
ALTER TABLE customers ADD COLUMN deleted_at TIMESTAMP;
UPDATE customers SET
    mandate_id = (SELECT m.id FROM mandates m WHERE m.customer_id = customers.id
                  ORDER BY m.signed_at DESC LIMIT 1),
    session_id = (SELECT s.id FROM payment_sessions s WHERE s.customer_id = customers.id
                  ORDER BY s.created_at LIMIT 1);
UPDATE customers SET gateway_id =
    (SELECT s.gateway_id FROM payment_sessions s WHERE s.id = customers.session_id);

-- Mandates: the gateway's reference of the first collection (the `reference_id` of later RCUR
-- debits) and revocation.
ALTER TABLE mandates ADD COLUMN gateway_reference TEXT;
ALTER TABLE mandates ADD COLUMN revoked_at TIMESTAMP;
UPDATE mandates SET gateway_reference =
    (SELECT t.gateway_reference FROM transactions t WHERE t.mandate_id = mandates.id
       AND t.status = 'approved' ORDER BY t.created_at LIMIT 1);

-- Campaigns: the dunning ladder (days between retries) and the pre-notification lead time.
ALTER TABLE campaigns ADD COLUMN dunning_ladder TEXT;
ALTER TABLE campaigns ADD COLUMN prenotification_days INTEGER;
