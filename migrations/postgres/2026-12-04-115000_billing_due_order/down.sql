DROP INDEX transactions_subscription_pending;
DROP INDEX subscriptions_notice_on;
CREATE INDEX subscriptions_notice_on ON subscriptions (notice_on) WHERE notice_on IS NOT NULL;
DROP INDEX subscriptions_collect_on;
CREATE INDEX subscriptions_collect_on ON subscriptions (collect_on) WHERE collect_on IS NOT NULL;
