ALTER TABLE mandates DROP COLUMN iban_masked;
DROP TABLE chargebacks;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
