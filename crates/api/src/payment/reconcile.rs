//! The gateway's record of a transaction and the one reconcile-after-fault rule, used by
//! `/pay/`, `/verify/`, collections, refunds, the recovery worker and gateway notifications.
//!
//! After an integration fault the gateway is asked once (reconcile by our transaction id):
//! found → its outcome; not found → nothing was debited (declined `gateway_unavailable`, the
//! attempt does not count), unless the "not found" may not be final yet (the debit may have
//! reached a gateway that has not indexed it: a timeout, an issuer error to reconcile); no
//! answer → pending, for the recovery worker.

use catalyst_gateway::ReconcileRequest;
use catalyst_gateway::{
    DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome, InProcessGateway, SandboxLedger,
};
use catalyst_store::settlement::Settlement;
use catalyst_store::{DbConnection, StoreError, Transaction};

use crate::sandbox_ledger::DbLedger;

/// What the gateway has on record for a transaction.
pub enum Record {
    /// Its outcome, as the store applies it (`Pending` while the gateway has none yet).
    Found(Settlement),
    /// The gateway does not know the transaction.
    NotFound,
    /// The gateway could not be asked.
    Unanswered(GatewayError),
}

impl Record {
    fn of(answer: Result<Option<GatewayOutcome>, GatewayError>) -> Record {
        match answer {
            Ok(Some(outcome)) => Record::Found(settlement_of(outcome)),
            Ok(None) => Record::NotFound,
            Err(error) => Record::Unanswered(error),
        }
    }

    /// The reconcile-after-fault rule for `t`: a found outcome is applied; a "not found" is
    /// `if_not_found`; no answer leaves the transaction pending.
    pub fn settle(self, t: &Transaction, if_not_found: IfNotFound) -> Settlement {
        match (self, if_not_found) {
            (Record::Found(settlement), _) => settlement,
            (Record::NotFound, IfNotFound::Final(settlement)) => settlement,
            (Record::NotFound, IfNotFound::CheckAgain) => {
                tracing::warn!(transaction = %t.merchant_transaction_id, "not found at the gateway; left pending for a later check");
                Settlement::Pending { reference: None }
            }
            (Record::Unanswered(error), _) => {
                tracing::warn!(transaction = %t.merchant_transaction_id, %error, "reconcile failed; left pending");
                Settlement::Pending { reference: None }
            }
        }
    }
}

/// What a "not found" from the gateway means.
pub enum IfNotFound {
    /// It is final: this settlement (typically [`never_debited`]).
    Final(Settlement),
    /// It may not be final yet: the transaction stays pending and is checked again later.
    CheckAgain,
}

/// Asks the gateway for its record of the transaction `request` names.
pub async fn record(adapter: &dyn GatewayAdapter, request: &ReconcileRequest) -> Record {
    Record::of(adapter.reconcile(request).await)
}

/// How the gateway finds `t`: by its reference when known, else by our transaction id.
pub fn lookup(t: &Transaction) -> ReconcileRequest {
    ReconcileRequest {
        transaction_id: t.merchant_transaction_id.clone(),
        reference: t.gateway_reference.clone(),
    }
}

/// Turns an adapter's answer to a debit or verification of `t` into what the store applies:
/// on an integration fault, the reconcile-after-fault rule (module docs).
pub async fn settle(
    adapter: &dyn GatewayAdapter,
    t: &Transaction,
    answer: Result<GatewayOutcome, GatewayError>,
) -> Settlement {
    match answer {
        Ok(outcome) => settlement_of(outcome),
        Err(error) => {
            fault(t, &error);
            let found = record(adapter, &lookup(t)).await;
            found.settle(t, not_found_after(&error, may_have_reached(&error)))
        }
    }
}

/// [`settle`] for a gateway that answers in-process, from its records in `ledger`: its "not
/// found" is final at once.
pub fn settle_now(
    gateway: &dyn InProcessGateway,
    ledger: &mut dyn SandboxLedger,
    t: &Transaction,
    answer: Result<GatewayOutcome, GatewayError>,
) -> Settlement {
    match answer {
        Ok(outcome) => settlement_of(outcome),
        Err(error) => {
            fault(t, &error);
            let found = Record::of(gateway.reconcile_now(ledger, &lookup(t)));
            found.settle(t, not_found_after(&error, false))
        }
    }
}

/// Debits `t` on an in-process gateway and settles its answer, the gateway's records written
/// on `conn`. A failed write of those records is an error, so that the caller's transaction
/// rolls back rather than record an outcome the gateway has no record of.
pub fn debit_now(
    conn: &mut DbConnection,
    gateway: &dyn InProcessGateway,
    t: &Transaction,
    request: &DebitRequest,
) -> Result<Settlement, StoreError> {
    let mut ledger = DbLedger::new(conn);
    let answer = gateway.debit_now(&mut ledger, request);
    let settlement = settle_now(gateway, &mut ledger, t, answer);
    ledger.finish(settlement)
}

fn fault(t: &Transaction, error: &GatewayError) {
    tracing::warn!(transaction = %t.merchant_transaction_id, %error, "gateway fault; reconciling");
}

/// What "not found" means after `error`; `recheck`: it is not final yet.
fn not_found_after(error: &GatewayError, recheck: bool) -> IfNotFound {
    if recheck {
        IfNotFound::CheckAgain
    } else {
        IfNotFound::Final(never_debited(
            "The payment gateway could not be reached; nothing was debited.",
            gateway_code_of(error),
            Some(error.to_string()),
        ))
    }
}

/// The outcome when the gateway turns out never to have received the debit: declined
/// `gateway_unavailable`, and the attempt does not count.
pub fn never_debited(
    message: &str,
    gateway_code: Option<String>,
    gateway_message: Option<String>,
) -> Settlement {
    Settlement::Declined {
        reference: None,
        code: catalyst_sepa::DeclineCode::GatewayUnavailable
            .as_str()
            .to_owned(),
        message: message.to_owned(),
        gateway_code,
        gateway_message,
        counts_as_attempt: false,
    }
}

/// Whether a debit that failed with `error` may still have reached the gateway: its answer was
/// lost (timeout) or the gateway reported an outcome it must reconcile (Genesis 230/240/250).
pub fn may_have_reached(error: &GatewayError) -> bool {
    match error {
        GatewayError::Timeout => true,
        GatewayError::Unavailable { .. } => {
            matches!(error.gateway_code(), Some("230" | "240" | "250"))
        }
        _ => false,
    }
}

fn gateway_code_of(error: &GatewayError) -> Option<String> {
    match error {
        GatewayError::Unavailable { gateway_code, .. } => gateway_code.clone(),
        GatewayError::Timeout => Some("timeout".into()),
        _ => None,
    }
}

/// The store's view of an adapter outcome.
pub fn settlement_of(outcome: GatewayOutcome) -> Settlement {
    match outcome {
        GatewayOutcome::Approved { reference } => Settlement::Approved { reference },
        GatewayOutcome::Pending { reference } => Settlement::Pending {
            reference: Some(reference),
        },
        GatewayOutcome::VerificationRequired { reference, url } => {
            Settlement::Verification { reference, url }
        }
        GatewayOutcome::Declined {
            reference,
            code,
            gateway_code,
            gateway_message,
        } => Settlement::Declined {
            reference,
            code: code.as_str().to_owned(),
            message: decline_message(code),
            gateway_code,
            gateway_message,
            counts_as_attempt: true,
        },
    }
}

/// The payer-facing message of a decline code.
pub fn decline_message(code: catalyst_sepa::DeclineCode) -> String {
    use catalyst_sepa::DeclineCode::*;
    match code {
        InsufficientFunds => "The account has insufficient funds.",
        InvalidIban => "The bank account details are not valid.",
        MandateRejected => "The mandate was rejected.",
        AccountClosed => "The account is closed or blocked.",
        DoNotHonor => "The bank declined the debit.",
        GatewayUnavailable => "The payment gateway is unavailable.",
        Unknown => "The debit was declined.",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalyst_domain::transaction::{SequenceType, TransactionKind};
    use catalyst_store::{NewTransaction, now};

    fn pending() -> Transaction {
        Transaction {
            id: "t".into(),
            session_id: Some("s".into()),
            merchant_transaction_id: "TXN-20261204-0000CAFE".into(),
            ..Transaction::pending(
                NewTransaction {
                    tenant_id: "tenant".into(),
                    order_id: "o".into(),
                    gateway_id: "g".into(),
                    mandate_id: "m".into(),
                    kind: TransactionKind::Sale,
                    sequence_type: SequenceType::First,
                    amount_minor: 1234,
                    currency: "EUR".into(),
                },
                now(),
            )
        }
    }

    fn is_pending(s: &Settlement) -> bool {
        matches!(s, Settlement::Pending { reference: None })
    }

    fn is_never_debited(s: &Settlement) -> bool {
        matches!(s, Settlement::Declined { code, counts_as_attempt: false, .. } if code == "gateway_unavailable")
    }

    #[test]
    fn not_found_after_a_lost_answer_is_checked_again_later() {
        let t = pending();
        let issuer_timeout = GatewayError::Unavailable {
            gateway_code: Some("230".into()),
            message: "issuer timeout".into(),
        };
        for error in [GatewayError::Timeout, issuer_timeout] {
            assert!(may_have_reached(&error), "{error}");
            assert!(
                is_pending(&Record::NotFound.settle(&t, not_found_after(&error, true))),
                "{error}"
            );
            // An in-process gateway's "not found" is final at once.
            assert!(
                is_never_debited(&Record::NotFound.settle(&t, not_found_after(&error, false))),
                "{error}"
            );
        }
        let refused = GatewayError::Transport("connection refused".into());
        assert!(!may_have_reached(&refused));
        assert!(is_never_debited(&Record::NotFound.settle(
            &t,
            not_found_after(&refused, may_have_reached(&refused))
        )));
        // No answer at all: pending, whatever the fault.
        assert!(is_pending(
            &Record::Unanswered(GatewayError::Timeout).settle(&t, not_found_after(&refused, false))
        ));
    }
}
