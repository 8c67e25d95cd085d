//! The management API: gateways, campaigns, hosted pages, webhook profiles and endpoints, API keys,
//! deliveries and bank-file batches (API.md §5, §9, §9.2).
