//! The `SANDBOX` adapter: in-process, deterministic, no network.
//!
//! The IBANs of [`SANDBOX_IBANS`] give fixed outcomes; any other IBAN is approved. State per
//! transaction id lives in a [`SandboxState`] shared by every sandbox adapter of the process,
//! so a repeated debit answers with the first outcome and `reconcile`/`verify` answer from it.
//! The state is in memory: after a restart the sandbox has forgotten earlier transactions
//! (`reconcile` answers `None`, `verify` a [`GatewayError::Protocol`]).
//!
//! Off-session operations follow the same table ([`recurring_behavior`],
//! [`refund_decline_reason`]):
//!
//! - A recurring collection ([`DebitKind::Recurring`]) takes the IBAN the sandbox recorded for
//!   its `reference_id` (the first collection), else the request's IBAN, and gives what a
//!   one-off from that IBAN gives; the verification IBANs are approved (nobody is there to
//!   verify an off-session collection) and `requires_verification` does not apply. The
//!   first-renewal IBAN declines the first recurring collection under each reference and
//!   approves the next ones. A reference the sandbox knows but that is not an approved debit
//!   is refused; an unknown reference without an IBAN is approved (the state may have been
//!   lost in a restart).
//! - A refund of an approved debit is approved up to what is left of it; over that it is
//!   declined with Genesis' code `440`, an unknown reference with `410`, a reference that is
//!   not an approved debit with `400` (`420` for a refund). The refund-decline IBAN's debits
//!   are approved and their refunds declined with the bank's reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use catalyst_sepa::{DeclineCode, ReasonCode, decline_code_for_reason};

use crate::util::{normalize_iban, random_hex32};
use crate::{
    DebitKind, DebitRequest, Echo, GatewayAdapter, GatewayError, GatewayOutcome, InProcessGateway,
    Notification, ReconcileRequest, RefundRequest,
};

/// The adapter name.
pub const NAME: &str = "SANDBOX";

/// What happens after settlement to a debit that was approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaterKind {
    /// The debtor disputes the debit (SEPA refund request, an R-transaction after settlement).
    Chargeback,
    /// The debtor bank returns the debit unpaid after settlement.
    Return,
}

/// A sandbox debit's fate after settlement (the "settle" step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LaterOutcome {
    /// Chargeback or return.
    pub kind: LaterKind,
    /// The SEPA reason code: `"MD06"` or `"AM04"`.
    pub reason: &'static str,
}

impl LaterOutcome {
    /// The reason as a typed SEPA code.
    pub fn reason_code(&self) -> ReasonCode {
        ReasonCode::parse(self.reason).expect("sandbox reasons are SEPA codes")
    }

    /// The normalised decline code of the reason.
    pub fn decline_code(&self) -> DeclineCode {
        decline_code_for_reason(self.reason)
    }
}

/// What a sandbox IBAN does at debit time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxBehavior {
    /// Approved.
    Approve,
    /// Declined with this reason code (a SEPA code, or `XX99` for "unknown").
    Decline {
        /// The gateway code reported (`gateway_code`).
        reason: &'static str,
    },
    /// The gateway cannot be reached: the debit times out and nothing is debited.
    Unreachable,
    /// The customer must verify the debit; `verify` then approves (`decline: None`) or
    /// declines with the given reason.
    Verify {
        /// The reason `verify` declines with, if it does.
        decline: Option<&'static str>,
    },
    /// Approved now; later a chargeback or return arrives.
    ApproveThenLater(LaterOutcome),
    /// Debits approved; every refund of them declined by the bank with this reason.
    RefundDeclined {
        /// The gateway code of the refund's decline.
        reason: &'static str,
    },
    /// One-off and first collections approved; under each first collection the first
    /// recurring collection is declined with this reason and the later ones (the dunning
    /// retry) are approved.
    FirstRenewalDeclined {
        /// The gateway code of the first renewal's decline.
        reason: &'static str,
    },
}

/// One row of the sandbox IBAN table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxIban {
    /// The IBAN in electronic form.
    pub iban: &'static str,
    /// Its outcome.
    pub behavior: SandboxBehavior,
}

const fn row(iban: &'static str, behavior: SandboxBehavior) -> SandboxIban {
    SandboxIban { iban, behavior }
}

const fn decline(reason: &'static str) -> SandboxBehavior {
    SandboxBehavior::Decline { reason }
}

/// The sandbox IBAN table: `API.md` §8 ("Sandbox"), row for row. Used by the `SANDBOX`
/// adapter and by the fake Genesis server; any IBAN not listed is approved.
pub const SANDBOX_IBANS: [SandboxIban; 15] = [
    row("DE89370400440532013000", SandboxBehavior::Approve),
    row("GB82WEST12345698765432", SandboxBehavior::Approve),
    row("DE91100000000123456789", decline("AM04")),
    row("DE66100000000000000101", decline("AC01")),
    row("DE17100000000000000401", decline("AC04")),
    row("DE49100000000000000601", decline("MD01")),
    row("DE71100000000000000302", decline("MS03")),
    row("DE76100000000000000503", SandboxBehavior::Unreachable),
    row("DE70100000000000000999", decline("XX99")),
    row(
        "DE92100000000000000700",
        SandboxBehavior::Verify { decline: None },
    ),
    row(
        "DE65100000000000000701",
        SandboxBehavior::Verify {
            decline: Some("MS02"),
        },
    ),
    row(
        "DE43100000000000000806",
        SandboxBehavior::ApproveThenLater(LaterOutcome {
            kind: LaterKind::Chargeback,
            reason: "MD06",
        }),
    ),
    row(
        "DE98100000000000000204",
        SandboxBehavior::ApproveThenLater(LaterOutcome {
            kind: LaterKind::Return,
            reason: "AM04",
        }),
    ),
    row(
        "DE87100000000000000402",
        SandboxBehavior::RefundDeclined { reason: "AC04" },
    ),
    row(
        "DE71100000000000000205",
        SandboxBehavior::FirstRenewalDeclined { reason: "AM04" },
    ),
];

/// The behaviour of `iban` (any form: spaces and lower case are ignored); unlisted IBANs are
/// approved.
pub fn behavior_for(iban: &str) -> SandboxBehavior {
    let iban = normalize_iban(iban);
    SANDBOX_IBANS
        .iter()
        .find(|row| row.iban == iban)
        .map_or(SandboxBehavior::Approve, |row| row.behavior)
}

/// The chargeback or return that the settle step should apply to an approved debit from
/// `iban`, if any.
pub fn later_outcome(iban: &str) -> Option<LaterOutcome> {
    match behavior_for(iban) {
        SandboxBehavior::ApproveThenLater(later) => Some(later),
        _ => None,
    }
}

/// What the sandbox rules make of a recurring collection ([`DebitKind::Recurring`]) from
/// `iban`, when `earlier` recurring collections were made under the same first collection
/// before it: what a one-off gives, except that the verification IBANs are approved (an
/// off-session collection has nobody to verify it) and the first-renewal IBAN declines only
/// the first one.
pub fn recurring_behavior(iban: &str, earlier: u32) -> SandboxBehavior {
    match behavior_for(iban) {
        SandboxBehavior::FirstRenewalDeclined { reason } if earlier == 0 => {
            SandboxBehavior::Decline { reason }
        }
        SandboxBehavior::FirstRenewalDeclined { .. } | SandboxBehavior::Verify { .. } => {
            SandboxBehavior::Approve
        }
        other => other,
    }
}

/// The reason a refund of an approved debit from `iban` is declined with, if the sandbox
/// declines it (the refund-decline IBAN of the table).
pub fn refund_decline_reason(iban: &str) -> Option<&'static str> {
    match behavior_for(iban) {
        SandboxBehavior::RefundDeclined { reason } => Some(reason),
        _ => None,
    }
}

/// The message of sandbox declines.
fn decline_outcome(reference: Option<String>, reason: &str) -> GatewayOutcome {
    bank_decline(reference, reason, "Declined by the sandbox")
}

fn bank_decline(reference: Option<String>, reason: &str, what: &str) -> GatewayOutcome {
    let message = ReasonCode::parse(reason).map_or_else(
        || format!("{what} (unknown reason)"),
        |code| format!("{what}: {}", code.meaning()),
    );
    GatewayOutcome::Declined {
        reference,
        code: decline_code_for_reason(reason),
        gateway_code: Some(reason.to_owned()),
        gateway_message: Some(message),
    }
}

fn refusal(reference: Option<String>, message: &str) -> GatewayOutcome {
    GatewayOutcome::Declined {
        reference,
        code: DeclineCode::Unknown,
        gateway_code: None,
        gateway_message: Some(message.to_owned()),
    }
}

/// A refund the sandbox refuses before any bank sees it, with the Genesis code of the same
/// refusal (`GENESIS.md` §2.4, §4), so both adapters report it alike.
fn refund_refusal(genesis_code: u16, message: &str) -> GatewayOutcome {
    GatewayOutcome::Declined {
        reference: None,
        code: DeclineCode::Unknown,
        gateway_code: Some(genesis_code.to_string()),
        gateway_message: Some(message.to_owned()),
    }
}

#[derive(Debug, Clone)]
struct Entry {
    reference: String,
    /// The current outcome.
    outcome: GatewayOutcome,
    /// What `verify` turns a `VerificationRequired` into.
    on_verify: Option<GatewayOutcome>,
    /// Debits: the amount and what has been refunded of it.
    amount_minor: i64,
    refunded_minor: i64,
    is_refund: bool,
    /// Debits: the IBAN (electronic form) collected from, when known; a recurring debit's is
    /// its first collection's.
    iban: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    by_transaction: HashMap<String, Entry>,
    /// reference → transaction id
    by_reference: HashMap<String, String>,
    /// `reference_id` → how many recurring debits were recorded under it.
    renewals: HashMap<String, u32>,
}

/// The sandbox's per-transaction state, shared by every `SANDBOX` adapter of the process.
/// Cheap to clone (an `Arc`).
#[derive(Debug, Clone, Default)]
pub struct SandboxState {
    inner: Arc<Mutex<Inner>>,
}

impl SandboxState {
    /// An empty state.
    pub fn new() -> SandboxState {
        SandboxState::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written (every update
        // is a single insert or field assignment), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many transactions (debits and refunds) the sandbox has recorded.
    pub fn len(&self) -> usize {
        self.lock().by_transaction.len()
    }

    /// True when the sandbox has recorded nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn insert(&mut self, transaction_id: &str, entry: Entry) {
        self.by_reference
            .insert(entry.reference.clone(), transaction_id.to_owned());
        self.by_transaction.insert(transaction_id.to_owned(), entry);
    }

    fn by_reference(&self, reference: &str) -> Option<&Entry> {
        self.by_reference
            .get(reference)
            .and_then(|txn| self.by_transaction.get(txn))
    }

    fn find_mut(&mut self, req: &ReconcileRequest) -> Option<&mut Entry> {
        let transaction_id = match &req.reference {
            Some(reference) => self.by_reference.get(reference)?.clone(),
            None => req.transaction_id.clone(),
        };
        self.by_transaction.get_mut(&transaction_id)
    }
}

/// The `SANDBOX` adapter.
#[derive(Debug, Clone)]
pub struct SandboxAdapter {
    state: SandboxState,
    public_url: String,
    requires_verification: bool,
}

impl SandboxAdapter {
    /// A sandbox adapter on `state`. Verification pages are
    /// `{public_url}/sandbox/verify/{reference}`; with `requires_verification`, every debit that
    /// would be approved needs verification first (and is approved by `verify`).
    pub fn new(state: SandboxState, public_url: &str, requires_verification: bool) -> Self {
        SandboxAdapter {
            state,
            public_url: public_url.trim_end_matches('/').to_owned(),
            requires_verification,
        }
    }

    /// The verification page of a sandbox reference.
    pub fn verification_url(&self, reference: &str) -> String {
        format!("{}/sandbox/verify/{reference}", self.public_url)
    }

    fn new_reference() -> String {
        format!("sbx_{}", random_hex32())
    }

    /// The first outcome of a new debit, what `verify` would make of it, and the IBAN the
    /// debit is collected from (when known).
    fn decide(&self, req: &DebitRequest, inner: &Inner) -> Result<Decision, GatewayError> {
        let reference = Self::new_reference();
        let request_iban = req
            .iban
            .as_ref()
            .map(|iban| normalize_iban(iban.expose()))
            .filter(|iban| !iban.is_empty());
        let (behavior, iban, off_session) = match &req.kind {
            DebitKind::Recurring { reference_id } => {
                // A collection under a saved mandate: refused when the sandbox knows the first
                // collection and it did not go through; else by the first collection's IBAN.
                let first = inner.by_reference(reference_id);
                if first.is_some_and(|e| e.is_refund || !e.outcome.is_approved()) {
                    return Ok(Decision {
                        outcome: refusal(
                            Some(reference),
                            "the referenced first collection is not approved",
                        ),
                        on_verify: None,
                        iban: None,
                    });
                }
                let iban = first.and_then(|e| e.iban.clone()).or(request_iban);
                let earlier = inner.renewals.get(reference_id).copied().unwrap_or(0);
                let behavior = iban.as_deref().map_or(SandboxBehavior::Approve, |iban| {
                    recurring_behavior(iban, earlier)
                });
                (behavior, iban, true)
            }
            DebitKind::OneOff | DebitKind::FirstRecurring => {
                let iban = request_iban.ok_or_else(|| {
                    GatewayError::Protocol("a one-off or first debit needs an IBAN".into())
                })?;
                (behavior_for(&iban), Some(iban), false)
            }
        };
        let approved = GatewayOutcome::Approved {
            reference: reference.clone(),
        };
        let needs_verification = GatewayOutcome::VerificationRequired {
            url: self.verification_url(&reference),
            reference: reference.clone(),
        };
        let (outcome, on_verify) = match behavior {
            SandboxBehavior::Unreachable => return Err(GatewayError::Timeout),
            SandboxBehavior::Decline { reason } => (decline_outcome(Some(reference), reason), None),
            SandboxBehavior::Verify { decline: None } => (needs_verification, Some(approved)),
            SandboxBehavior::Verify {
                decline: Some(reason),
            } => (
                needs_verification,
                Some(decline_outcome(Some(reference), reason)),
            ),
            SandboxBehavior::Approve
            | SandboxBehavior::ApproveThenLater(_)
            | SandboxBehavior::RefundDeclined { .. }
            | SandboxBehavior::FirstRenewalDeclined { .. } => {
                if self.requires_verification && !off_session {
                    (needs_verification, Some(approved))
                } else {
                    (approved, None)
                }
            }
        };
        Ok(Decision {
            outcome,
            on_verify,
            iban,
        })
    }
}

/// What [`SandboxAdapter::decide`] made of a new debit.
struct Decision {
    outcome: GatewayOutcome,
    on_verify: Option<GatewayOutcome>,
    iban: Option<String>,
}

#[async_trait::async_trait]
impl GatewayAdapter for SandboxAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn debit(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError> {
        self.debit_now(req)
    }

    async fn verify(&self, req: &ReconcileRequest) -> Result<GatewayOutcome, GatewayError> {
        let mut inner = self.state.lock();
        let entry = inner.find_mut(req).ok_or_else(|| {
            GatewayError::Protocol(format!(
                "the sandbox has no transaction {} (its state is in memory)",
                req.reference.as_deref().unwrap_or(&req.transaction_id)
            ))
        })?;
        if let Some(result) = entry.on_verify.take() {
            entry.outcome = result;
        }
        Ok(entry.outcome.clone())
    }

    async fn reconcile(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        self.reconcile_now(req)
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayOutcome, GatewayError> {
        let mut inner = self.state.lock();
        if let Some(entry) = inner.by_transaction.get(&req.transaction_id) {
            return Ok(entry.outcome.clone());
        }
        let reference = Self::new_reference();
        let original = inner
            .by_reference
            .get(&req.reference)
            .cloned()
            .and_then(|txn| inner.by_transaction.get_mut(&txn));
        let outcome = match original {
            None => refund_refusal(410, "Reference transaction not found"),
            Some(original) if original.is_refund => refund_refusal(
                420,
                "Reference transaction cannot be refunded (it is a refund)",
            ),
            Some(original) if !original.outcome.is_approved() => refund_refusal(
                400,
                "Cannot refund the reference transaction: it is not an approved debit",
            ),
            Some(original)
                if req.amount.minor() > original.amount_minor - original.refunded_minor =>
            {
                refund_refusal(
                    440,
                    &format!(
                        "amount exceeds amount of reference transaction ({} of {} minor units left)",
                        original.amount_minor - original.refunded_minor,
                        original.amount_minor
                    ),
                )
            }
            Some(original) => match original.iban.as_deref().and_then(refund_decline_reason) {
                Some(reason) => bank_decline(
                    Some(reference.clone()),
                    reason,
                    "Refund declined by the sandbox",
                ),
                None => {
                    original.refunded_minor += req.amount.minor();
                    GatewayOutcome::Approved {
                        reference: reference.clone(),
                    }
                }
            },
        };
        tracing::debug!(transaction_id = %req.transaction_id, %reference, ?outcome, "sandbox refund");
        inner.insert(
            &req.transaction_id,
            Entry {
                reference,
                outcome: outcome.clone(),
                on_verify: None,
                amount_minor: req.amount.minor(),
                refunded_minor: 0,
                is_refund: true,
                iban: None,
            },
        );
        Ok(outcome)
    }

    fn parse_notification(
        &self,
        _content_type: Option<&str>,
        _body: &[u8],
    ) -> Result<Notification, GatewayError> {
        Err(GatewayError::Protocol(
            "the SANDBOX gateway sends no notifications".into(),
        ))
    }

    fn notification_echo(&self, _n: &Notification) -> Echo {
        Echo {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: "OK".to_owned(),
        }
    }

    fn in_process(&self) -> Option<&dyn InProcessGateway> {
        Some(self)
    }
}

impl InProcessGateway for SandboxAdapter {
    fn debit_now(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError> {
        let mut inner = self.state.lock();
        if let Some(entry) = inner.by_transaction.get(&req.transaction_id) {
            return Ok(entry.outcome.clone());
        }
        let Decision {
            outcome,
            on_verify,
            iban,
        } = self.decide(req, &inner)?;
        let reference = outcome
            .reference()
            .expect("sandbox outcomes carry a reference")
            .to_owned();
        tracing::debug!(transaction_id = %req.transaction_id, %reference, ?outcome, "sandbox debit");
        if let DebitKind::Recurring { reference_id } = &req.kind {
            *inner.renewals.entry(reference_id.clone()).or_default() += 1;
        }
        inner.insert(
            &req.transaction_id,
            Entry {
                reference,
                outcome: outcome.clone(),
                on_verify,
                amount_minor: req.amount.minor(),
                refunded_minor: 0,
                is_refund: false,
                iban,
            },
        );
        Ok(outcome)
    }

    fn reconcile_now(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        Ok(self.state.lock().find_mut(req).map(|e| e.outcome.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_the_api_table() {
        // Every IBAN is valid and unique; the codes are those of API.md §8.
        let mut seen = std::collections::HashSet::new();
        for row in SANDBOX_IBANS {
            assert!(catalyst_sepa::validate(row.iban).is_ok(), "{}", row.iban);
            assert!(seen.insert(row.iban));
        }
        assert_eq!(behavior_for("de91 1000 0000 0123 4567 89"), decline("AM04"));
        assert_eq!(
            behavior_for("FR1420041010050500013M02606"),
            SandboxBehavior::Approve
        );
        assert_eq!(
            later_outcome("DE43100000000000000806"),
            Some(LaterOutcome {
                kind: LaterKind::Chargeback,
                reason: "MD06"
            })
        );
        assert_eq!(
            later_outcome("DE98100000000000000204").map(|l| l.decline_code()),
            Some(DeclineCode::InsufficientFunds)
        );
        assert_eq!(later_outcome("DE89370400440532013000"), None);
        assert_eq!(
            later_outcome("DE43100000000000000806").map(|l| l.reason_code()),
            Some(ReasonCode::MD06)
        );
    }

    #[test]
    fn off_session_rules() {
        // Refunds fail only for the refund-decline IBAN, whose debits are approved.
        assert_eq!(
            refund_decline_reason("DE87 1000 0000 0000 0004 02"),
            Some("AC04")
        );
        assert_eq!(refund_decline_reason("DE89370400440532013000"), None);
        assert_eq!(refund_decline_reason("DE91100000000123456789"), None);
        // Renewals: the first-renewal IBAN declines the first one only; the verification
        // IBANs are approved; everything else as a one-off.
        assert_eq!(
            recurring_behavior("DE71100000000000000205", 0),
            decline("AM04")
        );
        assert_eq!(
            recurring_behavior("DE71100000000000000205", 1),
            SandboxBehavior::Approve
        );
        for iban in ["DE92100000000000000700", "DE65100000000000000701"] {
            assert_eq!(recurring_behavior(iban, 0), SandboxBehavior::Approve);
        }
        for earlier in [0, 1, 5] {
            assert_eq!(
                recurring_behavior("DE91100000000123456789", earlier),
                decline("AM04")
            );
        }
        assert_eq!(
            recurring_behavior("DE76100000000000000503", 0),
            SandboxBehavior::Unreachable
        );
        assert_eq!(
            recurring_behavior("DE87100000000000000402", 0),
            SandboxBehavior::RefundDeclined { reason: "AC04" }
        );
    }
}
