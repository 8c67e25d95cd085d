//! Charges on a saved customer's mandate (`POST /customers/{id}/charges/`): a sessionless
//! `PENDING` order with its pending collection, written in one transaction before the gateway
//! is asked; then the gateway's answer, applied in another ([`apply_charge`]): the order
//! `COMPLETED` on approval, `FAILED` on a decline.

use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::{OrderId, OrderStatus, TenantId, TransactionId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::collection::{self, Collected};
use crate::connection::on_backend;
use crate::customers::{self, CustomerWriteError};
use crate::events::Subject;
use crate::payments::{Customer, Mandate, Transaction};
use crate::schema::orders;
use crate::sessions::{Lead, Order};
use crate::settlement::Settlement;
use crate::{DbConnection, Gateway, StoreError, StoreResult, prepared, tx};

/// What the merchant asks to collect.
#[derive(Debug, Clone)]
pub struct NewCharge {
    pub amount_minor: i64,
    pub currency: String,
    /// Statement text and the charge's description.
    pub description: String,
    /// The merchant's own reference, unique per tenant.
    pub tenant_reference_id: Option<String>,
    /// The merchant's metadata (a JSON object of strings), kept on the order.
    pub metadata: Option<Value>,
}

/// A charge and every row its submission and its answer show.
#[derive(Debug, Clone)]
pub struct Charge {
    pub customer: Customer,
    pub order: Order,
    pub transaction: Transaction,
    pub mandate: Mandate,
    pub gateway: Gateway,
    /// The customer's payer (names and address for the debit).
    pub payer: Lead,
    pub metadata: Option<Value>,
}

/// Writes a charge on the tenant's customer `id` in one transaction: the order (no session,
/// `PENDING`, the customer's lead, the webhook profile of the session that saved the customer)
/// and its pending collection under the customer's mandate (`FRST` on a mandate never
/// collected from, else `RCUR`), event `transaction.created`. Nothing is written when the
/// customer is deleted or its mandate revoked, the currency is not its gateway's, or the
/// `tenant_reference_id` is taken.
pub fn create(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &catalyst_domain::CustomerId,
    new: NewCharge,
    now: NaiveDateTime,
    mut new_order_number: impl FnMut() -> String,
) -> Result<Charge, CustomerWriteError> {
    tx::write(conn, |conn| {
        let rows = customers::chargeable(conn, tenant, id, &new.currency)?;
        let profile = customers::origin_profile(conn, &rows.customer)?;
        let order = customers::insert_order(
            conn,
            &rows,
            new.amount_minor,
            &new.currency,
            profile,
            now,
            &mut new_order_number,
        )?;
        if let Some(m) = &new.metadata {
            on_backend!(conn, |c| prepared::update(
                orders::table,
                orders::id.eq(&order.id),
                orders::metadata.eq(m.to_string()),
            )
            .execute(c))
            .map_err(StoreError::from)?;
        }
        let mut t = collection::new_collection(
            &order,
            &rows.gateway.id,
            &rows.mandate,
            new.amount_minor,
            now,
        );
        t.customer_charge(&new);
        collection::insert_pending(conn, &mut t).map_err(|e| match e {
            StoreError::Conflict("tenant_reference_id") => CustomerWriteError::TenantReferenceInUse,
            other => other.into(),
        })?;
        Subject::of_order(&order, &rows.payer).transaction_created(conn, &t, now)?;
        Ok(Charge {
            customer: rows.customer,
            order,
            transaction: t,
            mandate: rows.mandate,
            gateway: rows.gateway,
            payer: rows.payer,
            metadata: new.metadata,
        })
    })
}

impl Transaction {
    /// Sets a charge's own fields on a new collection.
    fn customer_charge(&mut self, new: &NewCharge) {
        self.description = Some(new.description.clone());
        self.tenant_reference_id
            .clone_from(&new.tenant_reference_id);
    }
}

/// The metadata of a charge's order, if any.
pub fn metadata_of(conn: &mut DbConnection, order_id: &OrderId) -> StoreResult<Option<Value>> {
    let text: Option<String> = on_backend!(conn, |c| orders::table
        .find(order_id)
        .select(orders::metadata)
        .first(c))?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// The tenant's charge whose transaction is `transaction_id`, with its rows as stored.
pub fn load(
    conn: &mut DbConnection,
    tenant: &TenantId,
    transaction_id: &TransactionId,
) -> StoreResult<Charge> {
    let transaction = Transaction::find(conn, tenant, transaction_id)?;
    rows_of(conn, transaction)
}

/// The charge of `transaction`, already read: its order, customer, mandate, gateway, payer and
/// metadata.
fn rows_of(conn: &mut DbConnection, transaction: Transaction) -> StoreResult<Charge> {
    let (tenant, transaction_id) = (&transaction.tenant_id, transaction.id.as_str());
    let order = Order::find(conn, tenant, &transaction.order_id)?;
    let customer_id = order.customer_id.clone().ok_or_else(|| {
        StoreError::Corrupt(format!("charge {transaction_id}: order without customer"))
    })?;
    let customer = Customer::find(conn, tenant, &customer_id)?;
    let mandate = Mandate::find(conn, tenant, &transaction.mandate_id)?;
    let gateway = Gateway::find(conn, tenant, &transaction.gateway_id)?;
    let payer = customers::payer(conn, &customer)?;
    let metadata = metadata_of(conn, &order.id)?;
    Ok(Charge {
        customer,
        order,
        transaction,
        mandate,
        gateway,
        payer,
        metadata,
    })
}

/// Applies the gateway's answer to the charge `t`, inside the caller's transaction
/// ([`crate::outcome::apply_outcome`]): the transaction (and, after
/// the first approved collection under the mandate, the mandate's move to `RCUR`), the order
/// `COMPLETED` on approval or `FAILED` on a decline, events `transaction.status_changed` and
/// `charge.succeeded` / `charge.failed`. An answer that is still pending writes only a new
/// gateway reference. Idempotent: a charge that is no longer pending is left as it is.
pub(crate) fn apply_charge(
    conn: &mut DbConnection,
    t: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    if t.status != TransactionStatus::Pending {
        return Ok(());
    }
    let charge = rows_of(conn, t)?;
    let (mut t, mut order, mut mandate) = (charge.transaction, charge.order, charge.mandate);
    let to = match collection::settle(conn, &mut t, &mut mandate, settlement, now)? {
        Collected::Approved => OrderStatus::Completed,
        Collected::Declined { .. } => OrderStatus::Failed,
        Collected::Pending => return Ok(()),
    };
    let from = order.status;
    from.transition_to(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    order.status = to;
    order.updated_at = now;
    order.save(conn)?;
    let subject = Subject::of_order(&order, &charge.payer);
    subject.transaction_status_changed(conn, &t, TransactionStatus::Pending, now)?;
    subject.charge_finished(conn, &t, &charge.customer, charge.metadata.as_ref(), now)
}
