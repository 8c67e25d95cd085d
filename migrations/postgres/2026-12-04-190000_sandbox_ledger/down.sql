DROP INDEX sandbox_ledger_renewal_of;
DROP INDEX sandbox_ledger_reference;
DROP TABLE sandbox_ledger;
