ALTER TABLE mandates DROP COLUMN mandate_locale;
ALTER TABLE mandates DROP COLUMN mandate_text;
ALTER TABLE hosted_pages DROP COLUMN creditor_identifier;
ALTER TABLE hosted_pages DROP COLUMN creditor_address;
ALTER TABLE hosted_pages DROP COLUMN creditor_name;
