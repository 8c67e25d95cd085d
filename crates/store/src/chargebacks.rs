//! Chargebacks and returns: an approved debit reversed after settlement (the row; recording
//! one with its consequences is [`crate::reversals`]).

use catalyst_domain::transaction::ReversalKind;
use catalyst_domain::{ChargebackId, GatewayId, TenantId, TransactionId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::chargebacks;

/// A reversed debit: a chargeback (debtor dispute, e.g. `MD06`) or a return (e.g. `AM04`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = chargebacks, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Chargeback {
    pub id: ChargebackId,
    pub tenant_id: TenantId,
    pub transaction_id: TransactionId,
    pub gateway_id: GatewayId,
    /// `chargeback` or `return`.
    pub kind: ReversalKind,
    /// The SEPA reason code (`MD06`, `AM04`, …) when the gateway gave one.
    pub reason_code: Option<String>,
    pub reason_description: Option<String>,
    /// Our normalized decline code for the reason.
    pub error_code: String,
    pub amount_minor: i64,
    pub currency: String,
    pub gateway_reference: Option<String>,
    pub report_date: NaiveDate,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(Chargeback, chargebacks, ChargebackId);
