//! What a gateway said about a transaction, in the form the store applies it.

/// What the gateway said about a transaction, as the store applies it.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// Collected (or accepted for collection).
    Approved { reference: String },
    /// Still open at the gateway; the recovery worker reconciles later.
    Pending { reference: Option<String> },
    /// The customer must verify the mandate at `url`.
    Verification { reference: String, url: String },
    /// Refused. `counts_as_attempt` is false when the gateway was unreachable (nothing debited).
    Declined {
        reference: Option<String>,
        code: String,
        message: String,
        gateway_code: Option<String>,
        gateway_message: Option<String>,
        counts_as_attempt: bool,
    },
    /// The customer never completed the verification: the transaction is declined with `code`
    /// and the session expires (its order is cancelled).
    Abandoned { code: String, message: String },
}
