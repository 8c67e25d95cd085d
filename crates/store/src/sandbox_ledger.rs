//! The sandbox gateway's records (`sandbox_ledger`): one row per transaction the in-process
//! `SANDBOX` gateway decided, debit or refund, so that verification, refunds, renewals and
//! reconciliation find it after a restart and on every server instance.
//!
//! The rows are data for the gateway crate's sandbox rules; the API maps them to and from its
//! `SandboxRecord`. A debit's row is written in the transaction that records its outcome. No
//! payer's IBAN is kept: `test_iban` is set only for the public test numbers of the sandbox
//! table (API.md §8), every other IBAN behaves alike.

use catalyst_domain::transaction::OutcomeStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreResult;
use crate::prepared;
use crate::schema::sandbox_ledger;

/// One transaction the sandbox decided.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sandbox_ledger, treat_none_as_default_value = false)]
pub struct SandboxEntry {
    /// Our transaction id (`TXN-…`).
    pub transaction_id: String,
    /// The sandbox's reference (`sbx_…`), unique.
    pub reference: String,
    /// A refund (true) or a debit.
    pub is_refund: bool,
    /// `approved`, `pending`, `verification_required`, `declined`, or `refused` (declined
    /// before any bank saw it: the outcome carries no reference).
    pub status: OutcomeStatus,
    /// `verification_required`: where the customer verifies.
    pub verification_url: Option<String>,
    /// Declines: the normalised decline code.
    pub decline_code: Option<String>,
    /// Declines: the raw code (a SEPA reason or a Genesis code).
    pub gateway_code: Option<String>,
    /// Declines: the text.
    pub gateway_message: Option<String>,
    /// `verification_required`: the reason verification declines with; none: it approves.
    pub verify_decline: Option<String>,
    /// The amount in minor units.
    pub amount_minor: i64,
    /// Debits: how much has been refunded.
    pub refunded_minor: i64,
    /// Debits: the IBAN when it is a sandbox test number.
    pub test_iban: Option<String>,
    /// Recurring debits: the first collection's reference.
    pub renewal_of: Option<String>,
    /// When the sandbox decided.
    pub created_at: NaiveDateTime,
}

impl SandboxEntry {
    /// The entry of our transaction id.
    pub fn by_transaction(
        conn: &mut DbConnection,
        transaction_id: &str,
    ) -> StoreResult<Option<SandboxEntry>> {
        on_backend!(conn, |c| sandbox_ledger::table
            .find(transaction_id)
            .select(SandboxEntry::as_select())
            .first(c)
            .optional())
        .map_err(Into::into)
    }

    /// The entry of a sandbox reference.
    pub fn by_reference(
        conn: &mut DbConnection,
        reference: &str,
    ) -> StoreResult<Option<SandboxEntry>> {
        on_backend!(conn, |c| sandbox_ledger::table
            .filter(sandbox_ledger::reference.eq(reference))
            .select(SandboxEntry::as_select())
            .first(c)
            .optional())
        .map_err(Into::into)
    }

    /// How many recurring debits were recorded under the first collection `reference`.
    pub fn renewals(conn: &mut DbConnection, reference: &str) -> StoreResult<i64> {
        on_backend!(conn, |c| sandbox_ledger::table
            .filter(sandbox_ledger::renewal_of.eq(reference))
            .count()
            .get_result(c))
        .map_err(Into::into)
    }

    /// Records the entry.
    pub fn insert(&self, conn: &mut DbConnection) -> StoreResult<()> {
        on_backend!(conn, |c| diesel::insert_into(sandbox_ledger::table)
            .values(self)
            .execute(c))?;
        Ok(())
    }

    /// Replaces the outcome of `transaction_id` with this entry's (after verification) and
    /// clears its `verify_decline`.
    pub fn set_outcome(&self, conn: &mut DbConnection) -> StoreResult<()> {
        on_backend!(conn, |c| prepared::update(
            sandbox_ledger::table,
            sandbox_ledger::transaction_id.eq(&self.transaction_id),
            (
                sandbox_ledger::status.eq(&self.status),
                sandbox_ledger::verification_url.eq(&self.verification_url),
                sandbox_ledger::decline_code.eq(&self.decline_code),
                sandbox_ledger::gateway_code.eq(&self.gateway_code),
                sandbox_ledger::gateway_message.eq(&self.gateway_message),
                sandbox_ledger::verify_decline.eq(None::<String>),
            ),
        )
        .execute(c))?;
        Ok(())
    }

    /// Adds `amount` to what is refunded of the debit `transaction_id`, in one conditional
    /// update that succeeds only while it fits in the debit's amount; false when it does not.
    pub fn add_refunded(
        conn: &mut DbConnection,
        transaction_id: &str,
        amount: i64,
    ) -> StoreResult<bool> {
        let n = on_backend!(conn, |c| prepared::update(
            sandbox_ledger::table,
            sandbox_ledger::transaction_id
                .eq(transaction_id)
                .and(sandbox_ledger::is_refund.eq(false))
                .and((sandbox_ledger::refunded_minor + amount).le(sandbox_ledger::amount_minor)),
            sandbox_ledger::refunded_minor.eq(sandbox_ledger::refunded_minor + amount),
        )
        .execute(c))?;
        Ok(n == 1)
    }
}
