ALTER TABLE batches DROP COLUMN creditor_id;
