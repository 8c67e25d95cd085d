-- The complete SEPA mandate (issue 14): a hosted page may name the creditor (name, postal
-- address, SEPA creditor identifier; each overrides the gateway's), and a mandate keeps a copy
-- of the text the payer accepted and the locale it was shown in (null for mandates from before).
ALTER TABLE hosted_pages ADD COLUMN creditor_name TEXT;
ALTER TABLE hosted_pages ADD COLUMN creditor_address TEXT;
ALTER TABLE hosted_pages ADD COLUMN creditor_identifier TEXT;
ALTER TABLE mandates ADD COLUMN mandate_text TEXT;
ALTER TABLE mandates ADD COLUMN mandate_locale TEXT;
