//! The `SANDBOX` adapter: in-process, deterministic, no network.
//!
//! The IBANs of [`SANDBOX_IBANS`] give fixed outcomes; any other IBAN is approved. The decisions
//! are pure functions of the request and of what the sandbox recorded earlier: one
//! [`SandboxRecord`] per transaction id, kept in a [`SandboxLedger`]. So a repeated debit
//! answers with the first outcome and `reconcile`/`verify`/refunds/renewals answer from the
//! records. The adapter's async calls run on its [`SandboxBackend`]; the synchronous
//! [`InProcessGateway`] face writes to the ledger its caller passes, e.g. the database
//! transaction that also records the payment. The API server keeps the records in its database
//! (table `sandbox_ledger`), so they survive restarts and every instance sees them;
//! [`MemoryLedger`] keeps them in this process's memory (tests, embedders without a database).
//! A record keeps a debit's IBAN only when it is one of the table's test numbers (every other
//! IBAN behaves alike), never a payer's account number.
//!
//! Off-session operations follow the same table ([`recurring_behavior`],
//! [`refund_decline_reason`]):
//!
//! - A recurring collection ([`DebitKind::Recurring`]) takes the IBAN the sandbox recorded for
//!   its `reference_id` (the first collection; none recorded: an IBAN outside the table), else,
//!   when the sandbox has no record of that reference, the request's IBAN, and gives what a
//!   one-off from that IBAN gives; the verification IBANs are approved (nobody is there to
//!   verify an off-session collection) and `requires_verification` does not apply. The
//!   first-renewal IBAN declines the first recurring collection under each reference and
//!   approves the next ones. A reference the sandbox knows but that is not an approved debit
//!   is refused; an unknown reference without an IBAN is approved (e.g. a first collection
//!   made before the sandbox kept its records in the database).
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

/// One transaction the sandbox has recorded (a debit or a refund): what a [`SandboxLedger`]
/// keeps, so that a repeated call, `verify`, `reconcile`, refunds and renewals find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxRecord {
    /// Our transaction id (the key).
    pub transaction_id: String,
    /// The sandbox's reference (`sbx_…`), unique.
    pub reference: String,
    /// A refund (true) or a debit.
    pub is_refund: bool,
    /// The current outcome.
    pub outcome: GatewayOutcome,
    /// While the outcome is [`GatewayOutcome::VerificationRequired`]: the reason `verify`
    /// declines with; `None`: `verify` approves.
    pub verify_decline: Option<String>,
    /// The amount in minor units.
    pub amount_minor: i64,
    /// Debits: how much of the amount has been refunded.
    pub refunded_minor: i64,
    /// Debits: the IBAN collected from (a recurring debit's is its first collection's) when
    /// it is one of [`SANDBOX_IBANS`], public test numbers. Any other IBAN is approved under
    /// every rule, so it is not kept: the ledger holds no payer's account number.
    pub test_iban: Option<String>,
    /// Recurring debits: the reference of the first collection they were made under.
    pub renewal_of: Option<String>,
}

/// Where the sandbox keeps its [`SandboxRecord`]s, inside one unit of work (a database
/// transaction, or a locked in-memory map). Errors are [`GatewayError::Ledger`].
pub trait SandboxLedger {
    /// The record of our transaction id.
    fn by_transaction(
        &mut self,
        transaction_id: &str,
    ) -> Result<Option<SandboxRecord>, GatewayError>;

    /// The record of a sandbox reference.
    fn by_reference(&mut self, reference: &str) -> Result<Option<SandboxRecord>, GatewayError>;

    /// How many recurring debits were recorded under the first collection `reference`.
    fn renewals(&mut self, reference: &str) -> Result<u32, GatewayError>;

    /// Records a new transaction.
    fn insert(&mut self, record: &SandboxRecord) -> Result<(), GatewayError>;

    /// Replaces a transaction's outcome (after `verify`); clears `verify_decline`.
    fn set_outcome(
        &mut self,
        transaction_id: &str,
        outcome: &GatewayOutcome,
    ) -> Result<(), GatewayError>;

    /// Adds `amount_minor` to what is refunded of a debit if that stays within its amount;
    /// false (nothing changed) otherwise.
    fn add_refunded(
        &mut self,
        transaction_id: &str,
        amount_minor: i64,
    ) -> Result<bool, GatewayError>;
}

/// Work on a [`SandboxLedger`]: one sandbox operation.
pub type LedgerWork =
    Box<dyn FnOnce(&mut dyn SandboxLedger) -> Result<Option<GatewayOutcome>, GatewayError> + Send>;

/// Where `SANDBOX` adapters keep their records between calls: runs one operation on a
/// [`SandboxLedger`], all or nothing. The API server's keeps them in its database
/// (`sandbox_ledger`), so they survive restarts and are shared by every instance;
/// [`MemoryLedger`] keeps them in this process (tests, embedders without a database).
#[async_trait::async_trait]
pub trait SandboxBackend: Send + Sync {
    /// Runs `work` in one unit of work and returns its answer.
    async fn transact(&self, work: LedgerWork) -> Result<Option<GatewayOutcome>, GatewayError>;
}

/// The records of a [`MemoryLedger`].
#[derive(Debug, Default)]
pub struct MemoryRecords {
    by_transaction: HashMap<String, SandboxRecord>,
    /// reference → transaction id
    by_reference: HashMap<String, String>,
}

impl SandboxLedger for MemoryRecords {
    fn by_transaction(
        &mut self,
        transaction_id: &str,
    ) -> Result<Option<SandboxRecord>, GatewayError> {
        Ok(self.by_transaction.get(transaction_id).cloned())
    }

    fn by_reference(&mut self, reference: &str) -> Result<Option<SandboxRecord>, GatewayError> {
        Ok(self
            .by_reference
            .get(reference)
            .and_then(|txn| self.by_transaction.get(txn))
            .cloned())
    }

    fn renewals(&mut self, reference: &str) -> Result<u32, GatewayError> {
        let count = self
            .by_transaction
            .values()
            .filter(|r| r.renewal_of.as_deref() == Some(reference))
            .count();
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    fn insert(&mut self, record: &SandboxRecord) -> Result<(), GatewayError> {
        if self.by_transaction.contains_key(&record.transaction_id)
            || self.by_reference.contains_key(&record.reference)
        {
            return Err(GatewayError::Ledger(format!(
                "transaction {} is recorded already",
                record.transaction_id
            )));
        }
        self.by_reference
            .insert(record.reference.clone(), record.transaction_id.clone());
        self.by_transaction
            .insert(record.transaction_id.clone(), record.clone());
        Ok(())
    }

    fn set_outcome(
        &mut self,
        transaction_id: &str,
        outcome: &GatewayOutcome,
    ) -> Result<(), GatewayError> {
        if let Some(record) = self.by_transaction.get_mut(transaction_id) {
            record.outcome = outcome.clone();
            record.verify_decline = None;
        }
        Ok(())
    }

    fn add_refunded(
        &mut self,
        transaction_id: &str,
        amount_minor: i64,
    ) -> Result<bool, GatewayError> {
        Ok(match self.by_transaction.get_mut(transaction_id) {
            Some(r) if !r.is_refund && r.refunded_minor + amount_minor <= r.amount_minor => {
                r.refunded_minor += amount_minor;
                true
            }
            _ => false,
        })
    }
}

/// The sandbox's records in this process's memory, shared by every adapter built on it; lost
/// on restart and not seen by other processes. Cheap to clone (an `Arc`).
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    records: Arc<Mutex<MemoryRecords>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    /// The records, locked: a [`SandboxLedger`] for calls to [`InProcessGateway`].
    pub fn records(&self) -> MutexGuard<'_, MemoryRecords> {
        // Every operation writes only after its checks, so a panic while holding the lock
        // cannot leave a record half-written: a poisoned lock is still usable.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many transactions (debits and refunds) are recorded.
    pub fn len(&self) -> usize {
        self.records().by_transaction.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait::async_trait]
impl SandboxBackend for MemoryLedger {
    async fn transact(&self, work: LedgerWork) -> Result<Option<GatewayOutcome>, GatewayError> {
        work(&mut *self.records())
    }
}

/// The `SANDBOX` adapter.
#[derive(Clone)]
pub struct SandboxAdapter {
    backend: Arc<dyn SandboxBackend>,
    public_url: String,
    requires_verification: bool,
}

impl std::fmt::Debug for SandboxAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxAdapter")
            .field("public_url", &self.public_url)
            .field("requires_verification", &self.requires_verification)
            .finish_non_exhaustive()
    }
}

impl SandboxAdapter {
    /// A sandbox adapter keeping its records in `backend`. Verification pages are
    /// `{public_url}/sandbox/verify/{reference}`; with `requires_verification`, every debit that
    /// would be approved needs verification first (and is approved by `verify`).
    pub fn new(
        backend: Arc<dyn SandboxBackend>,
        public_url: &str,
        requires_verification: bool,
    ) -> Self {
        SandboxAdapter {
            backend,
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

    /// Runs one operation on the backend's ledger.
    async fn on_backend(
        &self,
        op: impl FnOnce(
            &SandboxAdapter,
            &mut dyn SandboxLedger,
        ) -> Result<Option<GatewayOutcome>, GatewayError>
        + Send
        + 'static,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        let adapter = self.clone();
        self.backend
            .transact(Box::new(move |ledger| op(&adapter, ledger)))
            .await
    }

    /// The first outcome of a new debit, what `verify` declines it with (if it does), and the
    /// test IBAN the debit is collected from (when it is one).
    fn decide(
        &self,
        req: &DebitRequest,
        ledger: &mut dyn SandboxLedger,
    ) -> Result<Decision, GatewayError> {
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
                let first = ledger.by_reference(reference_id)?;
                if first
                    .as_ref()
                    .is_some_and(|r| r.is_refund || !r.outcome.is_approved())
                {
                    return Ok(Decision {
                        outcome: refusal(
                            Some(reference),
                            "the referenced first collection is not approved",
                        ),
                        verify_decline: None,
                        iban: None,
                    });
                }
                let iban = match first {
                    Some(first) => first.test_iban,
                    None => request_iban,
                };
                let earlier = ledger.renewals(reference_id)?;
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
        let (outcome, verify_decline) = match behavior {
            SandboxBehavior::Unreachable => return Err(GatewayError::Timeout),
            SandboxBehavior::Decline { reason } => (decline_outcome(Some(reference), reason), None),
            SandboxBehavior::Verify { decline } => (needs_verification, decline),
            SandboxBehavior::Approve
            | SandboxBehavior::ApproveThenLater(_)
            | SandboxBehavior::RefundDeclined { .. }
            | SandboxBehavior::FirstRenewalDeclined { .. } => {
                if self.requires_verification && !off_session {
                    (needs_verification, None)
                } else {
                    (approved, None)
                }
            }
        };
        Ok(Decision {
            outcome,
            verify_decline: verify_decline.map(str::to_owned),
            iban,
        })
    }

    fn verify_on(
        ledger: &mut dyn SandboxLedger,
        req: &ReconcileRequest,
    ) -> Result<GatewayOutcome, GatewayError> {
        let record = find(ledger, req)?.ok_or_else(|| {
            GatewayError::Protocol(format!(
                "the sandbox has no transaction {}",
                req.reference.as_deref().unwrap_or(&req.transaction_id)
            ))
        })?;
        if !matches!(record.outcome, GatewayOutcome::VerificationRequired { .. }) {
            return Ok(record.outcome);
        }
        let outcome = match record.verify_decline.as_deref() {
            None => GatewayOutcome::Approved {
                reference: record.reference.clone(),
            },
            Some(reason) => decline_outcome(Some(record.reference.clone()), reason),
        };
        ledger.set_outcome(&record.transaction_id, &outcome)?;
        Ok(outcome)
    }

    fn refund_on(
        ledger: &mut dyn SandboxLedger,
        req: &RefundRequest,
    ) -> Result<GatewayOutcome, GatewayError> {
        if let Some(record) = ledger.by_transaction(&req.transaction_id)? {
            return Ok(record.outcome);
        }
        let reference = Self::new_reference();
        let amount = req.amount.minor();
        let outcome = match ledger.by_reference(&req.reference)? {
            None => refund_refusal(410, "Reference transaction not found"),
            Some(original) if original.is_refund => refund_refusal(
                420,
                "Reference transaction cannot be refunded (it is a refund)",
            ),
            Some(original) if !original.outcome.is_approved() => refund_refusal(
                400,
                "Cannot refund the reference transaction: it is not an approved debit",
            ),
            Some(original) if amount > original.amount_minor - original.refunded_minor => {
                over_refund(&original)
            }
            Some(original) => match original
                .test_iban
                .as_deref()
                .and_then(refund_decline_reason)
            {
                Some(reason) => bank_decline(
                    Some(reference.clone()),
                    reason,
                    "Refund declined by the sandbox",
                ),
                None if ledger.add_refunded(&original.transaction_id, amount)? => {
                    GatewayOutcome::Approved {
                        reference: reference.clone(),
                    }
                }
                // A concurrent refund took what was left: read it again.
                None => over_refund(
                    &ledger
                        .by_transaction(&original.transaction_id)?
                        .unwrap_or(original),
                ),
            },
        };
        tracing::debug!(transaction_id = %req.transaction_id, %reference, ?outcome, "sandbox refund");
        ledger.insert(&SandboxRecord {
            transaction_id: req.transaction_id.clone(),
            reference,
            is_refund: true,
            outcome: outcome.clone(),
            verify_decline: None,
            amount_minor: amount,
            refunded_minor: 0,
            test_iban: None,
            renewal_of: None,
        })?;
        Ok(outcome)
    }
}

/// The refusal of a refund over what is left of `debit`.
fn over_refund(debit: &SandboxRecord) -> GatewayOutcome {
    refund_refusal(
        440,
        &format!(
            "amount exceeds amount of reference transaction ({} of {} minor units left)",
            debit.amount_minor - debit.refunded_minor,
            debit.amount_minor
        ),
    )
}

/// The record `req` names: by reference when it has one, else by our transaction id.
fn find(
    ledger: &mut dyn SandboxLedger,
    req: &ReconcileRequest,
) -> Result<Option<SandboxRecord>, GatewayError> {
    match &req.reference {
        Some(reference) => ledger.by_reference(reference),
        None => ledger.by_transaction(&req.transaction_id),
    }
}

/// The IBAN if it is one of the sandbox table's.
fn test_iban(iban: Option<String>) -> Option<String> {
    iban.filter(|iban| SANDBOX_IBANS.iter().any(|row| row.iban == iban))
}

/// What [`SandboxAdapter::decide`] made of a new debit.
struct Decision {
    outcome: GatewayOutcome,
    verify_decline: Option<String>,
    iban: Option<String>,
}

/// An operation that always answers with an outcome.
fn answered(outcome: Option<GatewayOutcome>) -> Result<GatewayOutcome, GatewayError> {
    outcome.ok_or_else(|| GatewayError::Ledger("the sandbox operation gave no answer".into()))
}

#[async_trait::async_trait]
impl GatewayAdapter for SandboxAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn debit(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError> {
        let req = req.clone();
        answered(
            self.on_backend(move |adapter, ledger| adapter.debit_now(ledger, &req).map(Some))
                .await?,
        )
    }

    async fn verify(&self, req: &ReconcileRequest) -> Result<GatewayOutcome, GatewayError> {
        let req = req.clone();
        answered(
            self.on_backend(move |_, ledger| Self::verify_on(ledger, &req).map(Some))
                .await?,
        )
    }

    async fn reconcile(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        let req = req.clone();
        self.on_backend(move |adapter, ledger| adapter.reconcile_now(ledger, &req))
            .await
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayOutcome, GatewayError> {
        let req = req.clone();
        answered(
            self.on_backend(move |_, ledger| Self::refund_on(ledger, &req).map(Some))
                .await?,
        )
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
    fn debit_now(
        &self,
        ledger: &mut dyn SandboxLedger,
        req: &DebitRequest,
    ) -> Result<GatewayOutcome, GatewayError> {
        if let Some(record) = ledger.by_transaction(&req.transaction_id)? {
            return Ok(record.outcome);
        }
        let Decision {
            outcome,
            verify_decline,
            iban,
        } = self.decide(req, ledger)?;
        let reference = outcome
            .reference()
            .expect("sandbox outcomes carry a reference")
            .to_owned();
        tracing::debug!(transaction_id = %req.transaction_id, %reference, ?outcome, "sandbox debit");
        let renewal_of = match &req.kind {
            DebitKind::Recurring { reference_id } => Some(reference_id.clone()),
            DebitKind::OneOff | DebitKind::FirstRecurring => None,
        };
        ledger.insert(&SandboxRecord {
            transaction_id: req.transaction_id.clone(),
            reference,
            is_refund: false,
            outcome: outcome.clone(),
            verify_decline,
            amount_minor: req.amount.minor(),
            refunded_minor: 0,
            test_iban: test_iban(iban),
            renewal_of,
        })?;
        Ok(outcome)
    }

    fn reconcile_now(
        &self,
        ledger: &mut dyn SandboxLedger,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        Ok(find(ledger, req)?.map(|r| r.outcome))
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
