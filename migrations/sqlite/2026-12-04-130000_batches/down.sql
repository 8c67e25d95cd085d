DROP INDEX gateways_adapter;
DROP TABLE batch_imports;
DROP TABLE batch_transactions;
DROP TABLE batches;
