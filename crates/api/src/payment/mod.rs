//! The payment use case, one home for it: between the HTTP handlers (which parse and render)
//! and the store and gateways.
//!
//! - [`input`]: the validated `/pay/` input.
//! - [`draft`]: the rows a claim writes and the debit request.
//! - [`adapter`]: a stored gateway's adapter (`gateway.adapter(&cipher, &ctx)`), with the
//!   credentials' sealing context.
//! - [`flow`]: `/pay/` (claim → debit → settle) and `/verify/`.
//! - [`reconcile`]: the gateway's record of a transaction and the one reconcile-after-fault
//!   rule, also used by collections, refunds, the recovery worker and notifications.

pub mod adapter;
pub mod draft;
pub mod flow;
pub mod input;
pub mod reconcile;

pub use adapter::{CREDENTIALS_CONTEXT, GatewayAdapterExt, adapter_for, try_adapter_for};
pub use flow::{pay, verify};
pub use input::PayInput;
pub use reconcile::{
    IfNotFound, Record, debit_now, decline_message, lookup, may_have_reached, never_debited,
    record, settle, settle_now, settlement_of,
};
