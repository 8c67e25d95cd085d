//! The sandbox gateway's records in the database: [`DbLedger`] is the gateway crate's
//! [`SandboxLedger`] on a connection (the caller's transaction), [`DbSandbox`] the
//! [`SandboxBackend`] every `SANDBOX` adapter of the server is built with. So a debit's record
//! is written in the transaction that records its outcome, and verification, refunds, renewals
//! and reconciliation find it after a restart and on every instance sharing the database.

use catalyst_domain::transaction::OutcomeStatus;
use catalyst_gateway::sandbox::LedgerWork;
use catalyst_gateway::{
    GatewayError, GatewayOutcome, SandboxBackend, SandboxLedger, SandboxRecord,
};
use catalyst_store::sandbox_ledger::SandboxEntry;
use catalyst_store::{DbConnection, Store, StoreError, StoreResult, now};

use crate::db;

/// The sandbox's ledger on a connection, inside the caller's transaction. A database error is
/// kept and handed back by [`DbLedger::finish`], so that the caller rolls its transaction back
/// instead of recording an outcome the ledger does not have.
pub struct DbLedger<'c> {
    conn: &'c mut DbConnection,
    failure: Option<StoreError>,
}

impl<'c> DbLedger<'c> {
    /// The ledger on `conn`.
    pub fn new(conn: &'c mut DbConnection) -> Self {
        DbLedger {
            conn,
            failure: None,
        }
    }

    /// `answer`, unless a statement failed: then that error.
    pub fn finish<T>(self, answer: T) -> Result<T, StoreError> {
        match self.failure {
            Some(error) => Err(error),
            None => Ok(answer),
        }
    }

    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
    ) -> Result<T, GatewayError> {
        if let Some(error) = &self.failure {
            return Err(GatewayError::Ledger(error.to_string()));
        }
        f(self.conn).map_err(|error| {
            let ledger = GatewayError::Ledger(error.to_string());
            self.failure = Some(error);
            ledger
        })
    }
}

impl SandboxLedger for DbLedger<'_> {
    fn by_transaction(
        &mut self,
        transaction_id: &str,
    ) -> Result<Option<SandboxRecord>, GatewayError> {
        self.run(|c| {
            SandboxEntry::by_transaction(c, transaction_id)?
                .map(record)
                .transpose()
        })
    }

    fn by_reference(&mut self, reference: &str) -> Result<Option<SandboxRecord>, GatewayError> {
        self.run(|c| {
            SandboxEntry::by_reference(c, reference)?
                .map(record)
                .transpose()
        })
    }

    fn renewals(&mut self, reference: &str) -> Result<u32, GatewayError> {
        self.run(|c| {
            let n = SandboxEntry::renewals(c, reference)?;
            u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} renewals")))
        })
    }

    fn insert(&mut self, record: &SandboxRecord) -> Result<(), GatewayError> {
        self.run(|c| entry(record).insert(c))
    }

    fn set_outcome(
        &mut self,
        transaction_id: &str,
        outcome: &GatewayOutcome,
    ) -> Result<(), GatewayError> {
        self.run(|c| {
            let mut row =
                SandboxEntry::by_transaction(c, transaction_id)?.ok_or(StoreError::NotFound)?;
            let columns = OutcomeColumns::of(outcome);
            row.status = columns.status;
            row.verification_url = columns.verification_url;
            row.decline_code = columns.decline_code;
            row.gateway_code = columns.gateway_code;
            row.gateway_message = columns.gateway_message;
            row.set_outcome(c)
        })
    }

    fn add_refunded(
        &mut self,
        transaction_id: &str,
        amount_minor: i64,
    ) -> Result<bool, GatewayError> {
        self.run(|c| SandboxEntry::add_refunded(c, transaction_id, amount_minor))
    }
}

/// Where the server's `SANDBOX` adapters keep their records: the database, each operation in
/// one write transaction of its own.
#[derive(Clone)]
pub struct DbSandbox {
    store: Store,
}

impl DbSandbox {
    /// The sandbox's records in `store`.
    pub fn new(store: Store) -> Self {
        DbSandbox { store }
    }
}

#[async_trait::async_trait]
impl SandboxBackend for DbSandbox {
    async fn transact(&self, work: LedgerWork) -> Result<Option<GatewayOutcome>, GatewayError> {
        db::write(&self.store, move |conn| {
            let mut ledger = DbLedger::new(conn);
            let answer = work(&mut ledger);
            ledger.finish(answer)
        })
        .await
        .map_err(|e| GatewayError::Ledger(e.to_string()))?
    }
}

/// An outcome as the columns of `sandbox_ledger` hold it.
struct OutcomeColumns {
    status: OutcomeStatus,
    verification_url: Option<String>,
    decline_code: Option<String>,
    gateway_code: Option<String>,
    gateway_message: Option<String>,
}

impl OutcomeColumns {
    fn of(outcome: &GatewayOutcome) -> Self {
        let plain = |status| OutcomeColumns {
            status,
            verification_url: None,
            decline_code: None,
            gateway_code: None,
            gateway_message: None,
        };
        match outcome {
            GatewayOutcome::Approved { .. } => plain(OutcomeStatus::Approved),
            GatewayOutcome::Pending { .. } => plain(OutcomeStatus::Pending),
            GatewayOutcome::VerificationRequired { url, .. } => OutcomeColumns {
                verification_url: Some(url.clone()),
                ..plain(OutcomeStatus::VerificationRequired)
            },
            GatewayOutcome::Declined {
                reference,
                code,
                gateway_code,
                gateway_message,
            } => OutcomeColumns {
                status: if reference.is_some() {
                    OutcomeStatus::Declined
                } else {
                    OutcomeStatus::Refused
                },
                verification_url: None,
                decline_code: Some(code.as_str().to_owned()),
                gateway_code: gateway_code.clone(),
                gateway_message: gateway_message.clone(),
            },
        }
    }
}

/// The row of a record.
fn entry(r: &SandboxRecord) -> SandboxEntry {
    let columns = OutcomeColumns::of(&r.outcome);
    SandboxEntry {
        transaction_id: r.transaction_id.clone(),
        reference: r.reference.clone(),
        is_refund: r.is_refund,
        status: columns.status,
        verification_url: columns.verification_url,
        decline_code: columns.decline_code,
        gateway_code: columns.gateway_code,
        gateway_message: columns.gateway_message,
        verify_decline: r.verify_decline.clone(),
        amount_minor: r.amount_minor,
        refunded_minor: r.refunded_minor,
        test_iban: r.test_iban.clone(),
        renewal_of: r.renewal_of.clone(),
        created_at: now(),
    }
}

/// The record of a row.
fn record(e: SandboxEntry) -> StoreResult<SandboxRecord> {
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("sandbox_ledger {}: {what}", e.transaction_id));
    let reference = e.reference.clone();
    let outcome = match e.status {
        OutcomeStatus::Approved => GatewayOutcome::Approved { reference },
        OutcomeStatus::Pending => GatewayOutcome::Pending { reference },
        OutcomeStatus::VerificationRequired => GatewayOutcome::VerificationRequired {
            reference,
            url: e
                .verification_url
                .clone()
                .ok_or_else(|| corrupt("verification_url"))?,
        },
        status @ (OutcomeStatus::Declined | OutcomeStatus::Refused) => GatewayOutcome::Declined {
            reference: (status == OutcomeStatus::Declined).then_some(reference),
            code: e
                .decline_code
                .as_deref()
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| corrupt("decline_code"))?,
            gateway_code: e.gateway_code.clone(),
            gateway_message: e.gateway_message.clone(),
        },
    };
    Ok(SandboxRecord {
        transaction_id: e.transaction_id,
        reference: e.reference,
        is_refund: e.is_refund,
        outcome,
        verify_decline: e.verify_decline,
        amount_minor: e.amount_minor,
        refunded_minor: e.refunded_minor,
        test_iban: e.test_iban,
        renewal_of: e.renewal_of,
    })
}

#[cfg(test)]
mod tests {
    use catalyst_sepa::DeclineCode;

    use super::*;

    #[test]
    fn every_outcome_survives_its_row() {
        let outcomes = [
            GatewayOutcome::Approved {
                reference: "sbx_1".into(),
            },
            GatewayOutcome::Pending {
                reference: "sbx_1".into(),
            },
            GatewayOutcome::VerificationRequired {
                reference: "sbx_1".into(),
                url: "https://pay.example.com/sandbox/verify/sbx_1".into(),
            },
            GatewayOutcome::Declined {
                reference: Some("sbx_1".into()),
                code: DeclineCode::InsufficientFunds,
                gateway_code: Some("AM04".into()),
                gateway_message: Some("Declined by the sandbox".into()),
            },
            GatewayOutcome::Declined {
                reference: None,
                code: DeclineCode::Unknown,
                gateway_code: Some("440".into()),
                gateway_message: Some("amount exceeds".into()),
            },
        ];
        for outcome in outcomes {
            let r = SandboxRecord {
                transaction_id: "TXN-1".into(),
                reference: "sbx_1".into(),
                is_refund: false,
                outcome: outcome.clone(),
                verify_decline: Some("MS02".into()),
                amount_minor: 1234,
                refunded_minor: 34,
                test_iban: Some("DE87100000000000000402".into()),
                renewal_of: Some("sbx_0".into()),
            };
            assert_eq!(record(entry(&r)).unwrap(), r, "{outcome:?}");
        }
    }
}
