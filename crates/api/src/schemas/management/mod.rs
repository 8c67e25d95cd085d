//! The management API: gateways, campaigns, hosted pages, webhook profiles and endpoints, API keys,
//! deliveries and bank-file batches (API.md §5, §9, §9.2).

pub mod api_keys;
pub mod batches;
pub mod campaigns;
pub mod deliveries;
pub mod gateways;
pub mod hosted_pages;
pub mod webhooks;
