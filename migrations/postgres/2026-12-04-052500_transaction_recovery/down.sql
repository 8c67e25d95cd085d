ALTER TABLE transactions DROP COLUMN next_recovery_at;
ALTER TABLE transactions DROP COLUMN recovery_attempts;
