-- The sandbox gateway's records: one row per transaction the in-process SANDBOX gateway decided
-- (debit or refund), so verification, refunds, renewals and reconciliation find it after a
-- restart and on every instance sharing this database. A debit's row is written in the
-- transaction that records its outcome. No payer's IBAN: test_iban holds only the public test
-- numbers of the sandbox table (API.md §8).
CREATE TABLE sandbox_ledger (
    transaction_id    TEXT PRIMARY KEY NOT NULL,
    reference         TEXT NOT NULL,
    is_refund         BOOLEAN NOT NULL,
    status            TEXT NOT NULL,
    verification_url  TEXT,
    decline_code      TEXT,
    gateway_code      TEXT,
    gateway_message   TEXT,
    verify_decline    TEXT,
    amount_minor      BIGINT NOT NULL,
    refunded_minor    BIGINT NOT NULL,
    test_iban         TEXT,
    renewal_of        TEXT,
    created_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sandbox_ledger_reference ON sandbox_ledger (reference);
CREATE INDEX sandbox_ledger_renewal_of ON sandbox_ledger (renewal_of) WHERE renewal_of IS NOT NULL;
