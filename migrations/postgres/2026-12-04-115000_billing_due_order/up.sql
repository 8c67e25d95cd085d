-- Billing speed (issue 13). The due scans order by (date, id) and stop at a batch: an index on
-- the same pair lets them read the head of the index instead of sorting every due row per
-- batch. The in-flight check looks up the pending renewal of one subscription: a partial index
-- on exactly that keeps it one probe (the general `transactions_pending` index holds an entry,
-- dead or alive, for every transaction that was ever pending, and a scan of it grows with them).
DROP INDEX subscriptions_collect_on;
CREATE INDEX subscriptions_collect_on ON subscriptions (collect_on, id) WHERE collect_on IS NOT NULL;
DROP INDEX subscriptions_notice_on;
CREATE INDEX subscriptions_notice_on ON subscriptions (notice_on, id) WHERE notice_on IS NOT NULL;
CREATE INDEX transactions_subscription_pending ON transactions (subscription_id)
    WHERE status = 'pending' AND subscription_id IS NOT NULL;
