//! Customers, their charges and subscriptions, and the subscription object (API.md §3.9, §9.1, §11).
