//! The management API for `sk_` keys (API.md §9): tenant-scoped CRUD, `DELETE` deactivates.
//! Routes are declared in [`crate::routes`].

mod fields;
pub mod gateways;
