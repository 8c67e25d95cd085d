-- Webhook outbox, chargebacks, and the masked IBAN the reconciliation API shows.

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    profile_id  TEXT REFERENCES webhook_profiles (id),
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    event_id          TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMP NOT NULL,
    lease_until       TIMESTAMP,
    last_status_code  INTEGER,
    last_error        TEXT,
    last_latency_ms   INTEGER,
    delivered_at      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);

CREATE TABLE webhook_attempts (
    id            TEXT PRIMARY KEY NOT NULL,
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at  TIMESTAMP NOT NULL,
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    error         TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

CREATE TABLE chargebacks (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    transaction_id      TEXT NOT NULL UNIQUE REFERENCES transactions (id),
    gateway_id          TEXT NOT NULL REFERENCES gateways (id),
    kind                TEXT NOT NULL,
    reason_code         TEXT,
    reason_description  TEXT,
    error_code          TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    gateway_reference   TEXT,
    report_date         DATE NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX chargebacks_report ON chargebacks (tenant_id, report_date, id);

ALTER TABLE mandates ADD COLUMN iban_masked TEXT NOT NULL DEFAULT '';
