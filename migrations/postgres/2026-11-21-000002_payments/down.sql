DROP TABLE subscriptions;
DROP TABLE transactions;
DROP TABLE mandates;
DROP TABLE customers;
