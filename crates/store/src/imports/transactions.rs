//! Imported debits (`POST /imports/transactions/`): a transaction of an existing order, under
//! a mandate found by its reference or created from the row, with its `transaction.imported`
//! event.

use catalyst_domain::GatewayId;
use catalyst_domain::transaction::{SequenceType, TransactionKind, TransactionStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::events::Subject;
use crate::payments::{HOLDER_CONTEXT, IBAN_CONTEXT, NewTransaction};
use crate::schema::{mandates, orders, transactions};
use crate::sessions::{Lead, Order};
use crate::{Cipher, DbConnection, Gateway, Mandate, StoreError, StoreResult, Transaction, tx};

use super::{Rejection, Target};

/// The outcome an imported debit had; pending debits are not importable (the recovery worker
/// would ask the gateway about a transaction it never received from us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedOutcome {
    Approved,
    Declined,
}

impl ImportedOutcome {
    /// The stored transaction status.
    pub fn status(self) -> TransactionStatus {
        match self {
            ImportedOutcome::Approved => TransactionStatus::Approved,
            ImportedOutcome::Declined => TransactionStatus::Declined,
        }
    }
}

/// The payer's account of an imported mandate, validated by the caller (`catalyst_sepa`).
#[derive(Clone)]
pub struct Account {
    /// Electronic form.
    pub iban: String,
    pub last4: String,
    pub country: String,
    /// Masked to full length, for reports.
    pub masked: String,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub holder: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("iban", &self.masked)
            .finish_non_exhaustive()
    }
}

/// One imported debit, validated by the caller.
#[derive(Debug, Clone)]
pub struct TransactionRow {
    /// An order of the tenant.
    pub order_number: String,
    /// A gateway of the tenant.
    pub gateway_id: GatewayId,
    pub account: Account,
    /// `None`: `MAND-` + the order number, as a session's mandate.
    pub mandate_reference: Option<String>,
    /// When the mandate was signed (`None`: when the debit was created).
    pub mandate_signed_at: Option<NaiveDateTime>,
    /// `None`: a fresh `TXN-…` id.
    pub merchant_transaction_id: Option<String>,
    pub tenant_reference_id: Option<String>,
    pub outcome: ImportedOutcome,
    /// `FRST`, `RCUR` or `OOFF`.
    pub sequence_type: SequenceType,
    pub amount_minor: i64,
    pub currency: String,
    pub gateway_reference: Option<String>,
    /// The normalized decline code of a declined debit.
    pub error_code: Option<String>,
    /// When the debit was made (also its processing date in reconciliation).
    pub created_at: NaiveDateTime,
}

/// Checks one imported debit against what the tenant has and, unless `check_only`, writes it
/// (mandate, transaction, event) in a savepoint of the import's transaction.
pub fn import_transaction(
    conn: &mut DbConnection,
    cipher: &Cipher,
    target: Target<'_>,
    row: TransactionRow,
    check_only: bool,
    now: NaiveDateTime,
) -> StoreResult<Result<(), Rejection>> {
    let order: Option<Order> = on_backend!(conn, |c| orders::table
        .filter(orders::order_number.eq(&row.order_number))
        .filter(orders::tenant_id.eq(target.tenant_id))
        .select(Order::as_select())
        .first(c)
        .optional())?;
    let Some(order) = order else {
        return Ok(Err(Rejection::new(
            "order_number",
            "No order of this tenant has this number.",
        )));
    };
    if order.currency != row.currency {
        return Ok(Err(Rejection::new(
            "currency",
            format!("Must be the order's currency, {}.", order.currency),
        )));
    }
    match Gateway::find(conn, target.tenant_id, &row.gateway_id) {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Ok(Err(Rejection::new("gateway_id", "Unknown gateway.")));
        }
        Err(e) => return Err(e),
    }
    let reference = row
        .mandate_reference
        .clone()
        .unwrap_or_else(|| format!("MAND-{}", order.order_number));
    let existing = Mandate::by_reference(conn, target.tenant_id, &reference)?;
    if let Some(m) = &existing {
        if m.lead_id != order.lead_id {
            return Ok(Err(Rejection::new(
                "mandate_reference",
                "This mandate belongs to another payer's order.",
            )));
        }
        if cipher.open(IBAN_CONTEXT, &m.iban_sealed)? != row.account.iban.as_bytes() {
            return Ok(Err(Rejection::new(
                "iban",
                "Differs from the IBAN of the mandate with this reference.",
            )));
        }
    } else if on_backend!(conn, |c| mandates::table
        .filter(mandates::reference.eq(&reference))
        .count()
        .get_result::<i64>(c))?
        > 0
    {
        return Ok(Err(Rejection::new(
            "mandate_reference",
            "This mandate reference is already in use.",
        )));
    }
    if let Some(id) = &row.merchant_transaction_id
        && on_backend!(conn, |c| transactions::table
            .filter(transactions::merchant_transaction_id.eq(id))
            .count()
            .get_result::<i64>(c))?
            > 0
    {
        return Ok(Err(Rejection::new(
            "merchant_transaction_id",
            "A transaction with this id already exists.",
        )));
    }
    if let Some(r) = &row.tenant_reference_id
        && on_backend!(conn, |c| transactions::table
            .filter(transactions::tenant_id.eq(target.tenant_id))
            .filter(transactions::tenant_reference_id.eq(r))
            .count()
            .get_result::<i64>(c))?
            > 0
    {
        return Ok(Err(Rejection::new(
            "tenant_reference_id",
            "A transaction of this tenant already has this reference.",
        )));
    }
    if check_only {
        return Ok(Ok(()));
    }
    tx::savepoint(conn, |conn| {
        write(conn, cipher, target, &order, existing, reference, row, now)
    })
    .map(Ok)
}

#[allow(clippy::too_many_arguments)]
fn write(
    conn: &mut DbConnection,
    cipher: &Cipher,
    target: Target<'_>,
    order: &Order,
    existing: Option<Mandate>,
    reference: String,
    row: TransactionRow,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let approved = row.outcome == ImportedOutcome::Approved;
    let mandate = match existing {
        Some(mut m) => {
            if approved && m.sequence_type == SequenceType::First {
                m.sequence_type = SequenceType::Recurring;
                m.updated_at = now;
                m.save(conn)?;
            }
            m
        }
        None => {
            let m = Mandate {
                id: catalyst_domain::MandateId::new(),
                tenant_id: target.tenant_id.to_owned(),
                lead_id: order.lead_id.clone(),
                customer_id: None,
                reference,
                iban_sealed: cipher.seal(IBAN_CONTEXT, row.account.iban.as_bytes())?,
                iban_last4: row.account.last4.clone(),
                iban_country: row.account.country.clone(),
                bic: row.account.bic.clone(),
                bank_name: row.account.bank_name.clone(),
                holder_sealed: cipher.seal(HOLDER_CONTEXT, row.account.holder.as_bytes())?,
                // After an approved collection the next one under this mandate is RCUR.
                sequence_type: if approved {
                    SequenceType::Recurring
                } else {
                    SequenceType::First
                },
                signed_at: row.mandate_signed_at.unwrap_or(row.created_at),
                created_at: now,
                updated_at: now,
                iban_masked: row.account.masked.clone(),
                gateway_reference: row.gateway_reference.clone().filter(|_| approved),
                revoked_at: None,
                // Signed outside Catalyst: the accepted text is not known.
                mandate_text: None,
                mandate_locale: None,
            };
            m.insert(conn)?;
            m
        }
    };
    let base = Transaction::pending(
        NewTransaction {
            tenant_id: target.tenant_id.to_owned(),
            order_id: order.id.clone(),
            gateway_id: row.gateway_id,
            mandate_id: mandate.id,
            kind: TransactionKind::Sale,
            sequence_type: row.sequence_type,
            amount_minor: row.amount_minor,
            currency: row.currency,
        },
        row.created_at,
    );
    let t = Transaction {
        merchant_transaction_id: row
            .merchant_transaction_id
            .unwrap_or(base.merchant_transaction_id),
        tenant_reference_id: row.tenant_reference_id,
        status: row.outcome.status(),
        gateway_reference: row.gateway_reference,
        error_code: row.error_code,
        processed_at: Some(row.created_at),
        updated_at: now,
        ..base
    };
    t.insert(conn)?;
    let lead = Lead::find(conn, target.tenant_id, &order.lead_id)?;
    Subject::of_order(order, &lead).transaction_imported(conn, &t, now)
}
