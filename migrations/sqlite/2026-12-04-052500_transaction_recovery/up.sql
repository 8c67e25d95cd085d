-- The recovery worker's schedule per pending transaction: how often it has reconciled it, and
-- when it may take it again. `next_recovery_at` is also its claim: a worker that takes a
-- transaction moves it past its lease, so no other instance takes it meanwhile; the outcome
-- then sets it to the back-off time (exponential, capped).
ALTER TABLE transactions ADD COLUMN recovery_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN next_recovery_at TIMESTAMP;
