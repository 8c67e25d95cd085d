-- Payments: customers, mandates, transactions, subscriptions.

CREATE TABLE customers (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    lead_id               TEXT NOT NULL REFERENCES leads (id),
    external_customer_id  TEXT,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX customers_tenant ON customers (tenant_id, id);

CREATE TABLE mandates (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    lead_id        TEXT NOT NULL REFERENCES leads (id),
    customer_id    TEXT REFERENCES customers (id),
    reference      TEXT NOT NULL UNIQUE,
    iban_sealed    TEXT NOT NULL,
    iban_last4     TEXT NOT NULL,
    iban_country   TEXT NOT NULL,
    bic            TEXT,
    bank_name      TEXT,
    holder_sealed  TEXT NOT NULL,
    sequence_type  TEXT NOT NULL,
    signed_at      TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX mandates_customer ON mandates (customer_id);

CREATE TABLE transactions (
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
    updated_at               TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX transactions_tenant_reference ON transactions (tenant_id, tenant_reference_id);
CREATE INDEX transactions_session ON transactions (session_id, id);
CREATE INDEX transactions_pending ON transactions (status, created_at);
CREATE INDEX transactions_processed ON transactions (tenant_id, processed_at, id);

CREATE TABLE subscriptions (
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
CREATE INDEX subscriptions_tenant_created ON subscriptions (tenant_id, created_at, id);
