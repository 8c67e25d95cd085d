-- Customer charges (issue 13): the merchant's metadata of a charge, a JSON object of strings
-- (the same bounds as a session's), kept on the charge's order. NULL for session orders.
ALTER TABLE orders ADD COLUMN metadata TEXT;
