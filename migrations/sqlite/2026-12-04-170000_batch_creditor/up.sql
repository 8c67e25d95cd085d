-- The creditor identifier each batch was filed under: a later collection under the same mandate
-- filed under another creditor identifier carries the original as an amendment (issue 15).
ALTER TABLE batches ADD COLUMN creditor_id TEXT;
