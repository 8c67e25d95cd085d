-- The three work queues (sessions due to expire, transactions pending at the gateway, webhook
-- deliveries due) get partial indexes on the rows they scan, instead of indexes that start with
-- the status column.
--
-- Why: with an index that starts with `status`, a statement such as
--   UPDATE payment_sessions SET … WHERE id = $1 AND status = $2 AND version = $3
-- has two candidate indexes, and PostgreSQL's generic plan for it, when made while the table
-- was nearly empty, can pick the status index and filter on id: a scan over every session that
-- ever had that status, kept for as long as the connection keeps the prepared statement. A
-- partial index cannot serve `status = $2` (a parameter), so the primary key is the only plan.
-- The queue queries write the status as a literal, which is what lets them use these indexes.
-- Partial indexes are also smaller: only the rows still waiting are in them.
DROP INDEX payment_sessions_due;
CREATE INDEX payment_sessions_due ON payment_sessions (expires_at) WHERE status = 'PENDING';
DROP INDEX transactions_pending;
CREATE INDEX transactions_pending ON transactions (created_at) WHERE status = 'pending';
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
