-- Bank-file collection (issue 15): the pain.008 batches cut for BATCH gateways, and which
-- pending collections each carries. A transaction is in at most one batch: batch_transactions'
-- primary key is the transaction, so two concurrent cuts can never put it in two files.
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    gateway_id TEXT NOT NULL REFERENCES gateways (id),
    collection_date DATE NOT NULL,
    pain_version TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    transaction_count INTEGER NOT NULL,
    control_sum_minor BIGINT NOT NULL,
    file BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX batches_gateway ON batches (tenant_id, gateway_id, created_at);

CREATE TABLE batch_transactions (
    transaction_id TEXT PRIMARY KEY REFERENCES transactions (id),
    batch_id TEXT NOT NULL REFERENCES batches (id)
);
CREATE INDEX batch_transactions_batch ON batch_transactions (batch_id);

-- Every bank report imported, by the SHA-256 of its bytes: the same file twice changes nothing.
CREATE TABLE batch_imports (
    digest TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    gateway_id TEXT NOT NULL REFERENCES gateways (id),
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, digest)
);

-- Recovery skips the pending debits of BATCH gateways (they wait for the bank's files).
CREATE INDEX gateways_adapter ON gateways (adapter, id);
