-- Recurring billing, customers and refunds (issue 13).
--
-- Orders, transactions and subscriptions no longer need a payment session: a customer charge
-- has its own order and transaction, and a subscription started on a saved customer has no
-- session. SQLite cannot drop NOT NULL in place, so the three tables are rebuilt (the 12-step
-- procedure of the SQLite manual: foreign keys off, outside diesel's transaction, one
-- transaction of our own).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE orders_new (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    session_id    TEXT UNIQUE REFERENCES payment_sessions (id),
    lead_id       TEXT NOT NULL REFERENCES leads (id),
    order_number  TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    customer_id   TEXT REFERENCES customers (id),
    webhook_profile_id TEXT REFERENCES webhook_profiles (id)
);
-- An order's events go to its webhook profile (the session's, for a session's order).
INSERT INTO orders_new (id, tenant_id, session_id, lead_id, order_number, status, amount_minor,
                        currency, created_at, updated_at, webhook_profile_id)
SELECT o.id, o.tenant_id, o.session_id, o.lead_id, o.order_number, o.status, o.amount_minor,
       o.currency, o.created_at, o.updated_at, s.webhook_profile_id
FROM orders o LEFT JOIN payment_sessions s ON s.id = o.session_id;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_lead_status ON orders (lead_id, status);

CREATE TABLE transactions_new (
    id                       TEXT PRIMARY KEY NOT NULL,
    tenant_id                TEXT NOT NULL REFERENCES tenants (id),
    session_id               TEXT REFERENCES payment_sessions (id),
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
    next_recovery_at         TIMESTAMP,
    subscription_id          TEXT REFERENCES subscriptions (id),
    billing_period           DATE,
    billing_attempt          INTEGER,
    refund_of                TEXT REFERENCES transactions (id),
    refunded_minor           BIGINT NOT NULL DEFAULT 0,
    description              TEXT
);
INSERT INTO transactions_new (id, tenant_id, session_id, order_id, gateway_id, mandate_id,
    merchant_transaction_id, tenant_reference_id, kind, status, sequence_type, amount_minor,
    currency, gateway_reference, verification_url, error_code, error_message, gateway_code,
    gateway_message, counts_as_attempt, processed_at, created_at, updated_at, recovery_attempts,
    next_recovery_at)
SELECT id, tenant_id, session_id, order_id, gateway_id, mandate_id, merchant_transaction_id,
    tenant_reference_id, kind, status, sequence_type, amount_minor, currency, gateway_reference,
    verification_url, error_code, error_message, gateway_code, gateway_message, counts_as_attempt,
    processed_at, created_at, updated_at, recovery_attempts, next_recovery_at FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE UNIQUE INDEX transactions_tenant_reference ON transactions (tenant_id, tenant_reference_id);
CREATE INDEX transactions_session ON transactions (session_id, id);
CREATE INDEX transactions_pending ON transactions (created_at) WHERE status = 'pending';
CREATE INDEX transactions_processed ON transactions (tenant_id, processed_at, id);
CREATE INDEX transactions_order ON transactions (order_id, id);
-- One collection per subscription, period and attempt, whatever the number of billing workers.
CREATE UNIQUE INDEX transactions_billing_period
    ON transactions (subscription_id, billing_period, billing_attempt);
CREATE INDEX transactions_refund_of ON transactions (refund_of) WHERE refund_of IS NOT NULL;

CREATE TABLE subscriptions_new (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    session_id            TEXT UNIQUE REFERENCES payment_sessions (id),
    order_id              TEXT NOT NULL REFERENCES orders (id),
    lead_id               TEXT NOT NULL REFERENCES leads (id),
    gateway_id            TEXT NOT NULL REFERENCES gateways (id),
    mandate_id            TEXT NOT NULL REFERENCES mandates (id),
    customer_id           TEXT REFERENCES customers (id),
    status                TEXT NOT NULL,
    billing_frequency     TEXT NOT NULL,
    amount_minor          BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    gateway_reference     TEXT,
    next_billing_date     DATE NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    campaign_id           TEXT REFERENCES campaigns (id),
    plan_name             TEXT,
    anchor_date           DATE NOT NULL,
    periods_billed        INTEGER NOT NULL DEFAULT 0,
    collect_on            DATE,
    dunning_attempts      INTEGER NOT NULL DEFAULT 0,
    dunning_ladder        TEXT NOT NULL DEFAULT '3,5,7',
    notice_days           INTEGER NOT NULL DEFAULT 5,
    notice_on             DATE,
    cancel_at_period_end  BOOLEAN NOT NULL DEFAULT FALSE,
    paused_at             TIMESTAMP,
    ended_at              TIMESTAMP
);
INSERT INTO subscriptions_new (id, tenant_id, session_id, order_id, lead_id, gateway_id,
    mandate_id, customer_id, status, billing_frequency, amount_minor, currency,
    gateway_reference, next_billing_date, created_at, updated_at, anchor_date, collect_on,
    notice_on)
SELECT id, tenant_id, session_id, order_id, lead_id, gateway_id, mandate_id, customer_id,
    status, billing_frequency, amount_minor, currency, gateway_reference, next_billing_date,
    created_at, updated_at, next_billing_date,
    CASE WHEN status = 'ACTIVE' THEN next_billing_date END,
    CASE WHEN status = 'ACTIVE' THEN date(next_billing_date, '-5 days') END
FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
CREATE INDEX subscriptions_tenant_created ON subscriptions (tenant_id, created_at, id);
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

COMMIT;
PRAGMA foreign_keys = ON;
