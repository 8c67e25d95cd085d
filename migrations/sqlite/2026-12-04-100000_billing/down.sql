-- Reverts 2026-12-04-100000_billing. Rows that need the new shape (orders, transactions and
-- subscriptions without a session) cannot be kept and are dropped.
PRAGMA foreign_keys = OFF;
BEGIN;

ALTER TABLE campaigns DROP COLUMN prenotification_days;
ALTER TABLE campaigns DROP COLUMN dunning_ladder;
ALTER TABLE mandates DROP COLUMN revoked_at;
ALTER TABLE mandates DROP COLUMN gateway_reference;
ALTER TABLE customers DROP COLUMN deleted_at;
ALTER TABLE customers DROP COLUMN status;
ALTER TABLE customers DROP COLUMN mandate_id;
ALTER TABLE customers DROP COLUMN gateway_id;
ALTER TABLE customers DROP COLUMN session_id;

CREATE TABLE subscriptions_old (
    id                   TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    session_id           TEXT NOT NULL UNIQUE REFERENCES payment_sessions (id),
    order_id             TEXT NOT NULL REFERENCES orders (id),
    lead_id              TEXT NOT NULL REFERENCES leads (id),
    gateway_id           TEXT NOT NULL REFERENCES gateways (id),
    mandate_id           TEXT NOT NULL REFERENCES mandates (id),
    customer_id          TEXT REFERENCES customers (id),
    status               TEXT NOT NULL,
    billing_frequency    TEXT NOT NULL,
    amount_minor         BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    gateway_reference    TEXT,
    next_billing_date    DATE NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
INSERT INTO subscriptions_old SELECT id, tenant_id, session_id, order_id, lead_id, gateway_id,
    mandate_id, customer_id, status, billing_frequency, amount_minor, currency,
    gateway_reference, next_billing_date, created_at, updated_at
FROM subscriptions WHERE session_id IS NOT NULL;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_old RENAME TO subscriptions;
CREATE INDEX subscriptions_tenant_created ON subscriptions (tenant_id, created_at, id);

CREATE TABLE transactions_old (
    id                       TEXT PRIMARY KEY NOT NULL,
    tenant_id                TEXT NOT NULL REFERENCES tenants (id),
    session_id               TEXT NOT NULL REFERENCES payment_sessions (id),
    order_id                 TEXT NOT NULL REFERENCES orders (id),
    gateway_id               TEXT NOT NULL REFERENCES gateways (id),
    mandate_id               TEXT NOT NULL REFERENCES mandates (id),
    merchant_transaction_id  TEXT NOT NULL UNIQUE,
    tenant_reference_id      TEXT,
    kind                     TEXT NOT NULL,
    status                   TEXT NOT NULL,
    sequence_type            TEXT NOT NULL,
    amount_minor             BIGINT NOT NULL,
    currency                 TEXT NOT NULL,
    gateway_reference        TEXT,
    verification_url         TEXT,
    error_code               TEXT,
    error_message            TEXT,
    gateway_code             TEXT,
    gateway_message          TEXT,
    counts_as_attempt        BOOLEAN NOT NULL DEFAULT TRUE,
    processed_at             TIMESTAMP,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    recovery_attempts        INTEGER NOT NULL DEFAULT 0,
    next_recovery_at         TIMESTAMP
);
INSERT INTO transactions_old SELECT id, tenant_id, session_id, order_id, gateway_id, mandate_id,
    merchant_transaction_id, tenant_reference_id, kind, status, sequence_type, amount_minor,
    currency, gateway_reference, verification_url, error_code, error_message, gateway_code,
    gateway_message, counts_as_attempt, processed_at, created_at, updated_at, recovery_attempts,
    next_recovery_at
FROM transactions WHERE session_id IS NOT NULL;
DROP TABLE transactions;
ALTER TABLE transactions_old RENAME TO transactions;
CREATE UNIQUE INDEX transactions_tenant_reference ON transactions (tenant_id, tenant_reference_id);
CREATE INDEX transactions_session ON transactions (session_id, id);
CREATE INDEX transactions_pending ON transactions (created_at) WHERE status = 'pending';
CREATE INDEX transactions_processed ON transactions (tenant_id, processed_at, id);

CREATE TABLE orders_old (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    session_id    TEXT NOT NULL UNIQUE REFERENCES payment_sessions (id),
    lead_id       TEXT NOT NULL REFERENCES leads (id),
    order_number  TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
INSERT INTO orders_old SELECT id, tenant_id, session_id, lead_id, order_number, status,
    amount_minor, currency, created_at, updated_at
FROM orders WHERE session_id IS NOT NULL;
DROP TABLE orders;
ALTER TABLE orders_old RENAME TO orders;
CREATE INDEX orders_lead_status ON orders (lead_id, status);

COMMIT;
PRAGMA foreign_keys = ON;
