DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
DROP INDEX transactions_pending;
CREATE INDEX transactions_pending ON transactions (status, created_at);
DROP INDEX payment_sessions_due;
CREATE INDEX payment_sessions_due ON payment_sessions (status, expires_at);
