-- Foundation: tenants, keys, configuration objects, leads, sessions, orders, idempotency.
-- Portable types only (see ARCHITECTURE.md): TEXT ids/enums/JSON, BIGINT minor units, TIMESTAMP in UTC.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    demo        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    kind        TEXT NOT NULL,
    name        TEXT,
    key_hash    TEXT NOT NULL UNIQUE,
    key_prefix  TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE gateways (
    id                     TEXT PRIMARY KEY NOT NULL,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    name                   TEXT NOT NULL,
    adapter                TEXT NOT NULL,
    descriptor             TEXT,
    test_mode              BOOLEAN NOT NULL,
    currency               TEXT NOT NULL,
    creditor_name          TEXT,
    creditor_identifier    TEXT,
    credentials_sealed     TEXT,
    requires_verification  BOOLEAN NOT NULL DEFAULT FALSE,
    active                 BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX gateways_tenant ON gateways (tenant_id, id);

CREATE TABLE hosted_pages (
    id                        TEXT PRIMARY KEY NOT NULL,
    tenant_id                 TEXT NOT NULL REFERENCES tenants (id),
    name                      TEXT NOT NULL,
    logo_url                  TEXT,
    primary_color             TEXT,
    accent_color              TEXT,
    headline                  TEXT,
    show_product_name         BOOLEAN NOT NULL DEFAULT TRUE,
    show_product_price        BOOLEAN NOT NULL DEFAULT TRUE,
    show_product_description  BOOLEAN NOT NULL DEFAULT TRUE,
    mandate_acceptance_mode   TEXT NOT NULL DEFAULT 'checkbox',
    active                    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL
);
CREATE INDEX hosted_pages_tenant ON hosted_pages (tenant_id, id);

CREATE TABLE webhook_profiles (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    name           TEXT NOT NULL,
    secret_sealed  TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX webhook_profiles_tenant ON webhook_profiles (tenant_id, id);

CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    profile_id       TEXT NOT NULL REFERENCES webhook_profiles (id),
    url              TEXT NOT NULL,
    delivery_method  TEXT NOT NULL,
    events           TEXT,
    payload_mapping  TEXT,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_profile ON webhook_endpoints (profile_id, id);

CREATE TABLE campaigns (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    name                  TEXT NOT NULL,
    gateway_id            TEXT NOT NULL REFERENCES gateways (id),
    offer_name            TEXT NOT NULL,
    price_minor           BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    billing_type          TEXT NOT NULL,
    billing_frequency     TEXT,
    trial_period          INTEGER,
    trial_interval_unit   TEXT,
    trial_price_minor     BIGINT,
    product_name          TEXT,
    product_description   TEXT,
    hosted_page_id        TEXT REFERENCES hosted_pages (id),
    webhook_profile_id    TEXT REFERENCES webhook_profiles (id),
    max_payment_attempts  INTEGER NOT NULL,
    duplicate_policy      TEXT NOT NULL,
    success_redirect_url  TEXT,
    failure_redirect_url  TEXT,
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, id);

CREATE TABLE leads (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    email             TEXT NOT NULL,
    email_normalized  TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    country           TEXT NOT NULL,
    address           TEXT,
    city              TEXT,
    postal_code       TEXT,
    phone             TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX leads_tenant_email ON leads (tenant_id, email_normalized);

CREATE TABLE payment_sessions (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    token                 TEXT NOT NULL UNIQUE,
    status                TEXT NOT NULL,
    mode                  TEXT NOT NULL,
    campaign_id           TEXT REFERENCES campaigns (id),
    gateway_id            TEXT NOT NULL REFERENCES gateways (id),
    hosted_page_id        TEXT REFERENCES hosted_pages (id),
    webhook_profile_id    TEXT REFERENCES webhook_profiles (id),
    lead_id               TEXT NOT NULL REFERENCES leads (id),
    offer_snapshot        TEXT NOT NULL,
    amount_minor          BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    billing_type          TEXT NOT NULL,
    billing_frequency     TEXT,
    trial_period          INTEGER,
    trial_interval_unit   TEXT,
    trial_price_minor     BIGINT,
    offer_overrides       TEXT NOT NULL,
    max_payment_attempts  INTEGER NOT NULL,
    attempts_used         INTEGER NOT NULL DEFAULT 0,
    customer_id           TEXT,
    external_customer_id  TEXT,
    return_url            TEXT,
    default_locale        TEXT NOT NULL,
    line_items            TEXT NOT NULL,
    metadata              TEXT NOT NULL,
    customer_ip           TEXT,
    expires_at            TIMESTAMP NOT NULL,
    version               BIGINT NOT NULL DEFAULT 0,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX payment_sessions_due ON payment_sessions (status, expires_at);
CREATE INDEX payment_sessions_tenant ON payment_sessions (tenant_id, id);

CREATE TABLE orders (
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
CREATE INDEX orders_lead_status ON orders (lead_id, status);

CREATE TABLE idempotency_keys (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    idem_key         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);
