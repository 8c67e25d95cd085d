//! The reconciliation API: transactions, chargebacks, subscriptions (API.md §6) and refunds (§10).
