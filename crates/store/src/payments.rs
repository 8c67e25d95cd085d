//! Customers, mandates, transactions and subscriptions: the rows and their queries. What
//! changes them together, with events, lives in the flows ([`crate::session_pay`],
//! [`crate::billing`], [`crate::charges`], [`crate::refunds`], …).

use catalyst_domain::transaction::{SequenceType, TransactionKind, TransactionStatus};
use catalyst_domain::{
    CampaignId, CustomerId, CustomerStatus, GatewayId, LeadId, MandateId, OrderId, SessionId,
    SubscriptionId, SubscriptionStatus, TenantId, TransactionId,
};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use catalyst_domain::billing::{Pricing, PricingInput};
use catalyst_domain::money::{Currency, Money};

use crate::connection::on_backend;
use crate::schema::{customers, mandates, subscriptions, transactions};
use crate::sessions::PaymentSession;
use crate::{DbConnection, StoreError, StoreResult};

/// A saved customer (KOMOJU customer modes): a lead with a reusable mandate.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = customers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub lead_id: LeadId,
    pub external_customer_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The session that saved the customer, if one did.
    pub session_id: Option<SessionId>,
    /// The gateway the customer's mandate was signed for: charges go through it.
    pub gateway_id: Option<GatewayId>,
    /// The mandate charges are collected under (the latest one signed).
    pub mandate_id: Option<MandateId>,
    /// `ACTIVE`, or `DELETED` (mandate revoked; charges refused).
    pub status: CustomerStatus,
    pub deleted_at: Option<NaiveDateTime>,
}
crate::scoped::tenant_scoped!(Customer, customers, CustomerId);

/// A signed SEPA mandate. IBAN and holder are sealed; only last4, country, BIC and bank are clear.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = mandates, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Mandate {
    pub id: MandateId,
    pub tenant_id: TenantId,
    pub lead_id: LeadId,
    pub customer_id: Option<CustomerId>,
    /// `MAND-` + order number.
    pub reference: String,
    /// `Cipher::seal(IBAN_CONTEXT, iban)`.
    pub iban_sealed: String,
    pub iban_last4: String,
    pub iban_country: String,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    /// `Cipher::seal(HOLDER_CONTEXT, holder)`.
    pub holder_sealed: String,
    /// `FRST` until a collection succeeded, then `RCUR`.
    pub sequence_type: SequenceType,
    pub signed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The IBAN masked to full length (`******************3000`), for reports.
    pub iban_masked: String,
    /// The gateway's id of the first collection (`FRST`): the `reference_id` of later `RCUR`
    /// debits under this mandate.
    pub gateway_reference: Option<String>,
    /// When the mandate was revoked (customer deleted); no collection after that.
    pub revoked_at: Option<NaiveDateTime>,
    /// The mandate text the payer accepted, as shown (null before this was kept).
    pub mandate_text: Option<String>,
    /// The locale `mandate_text` was shown in.
    pub mandate_locale: Option<String>,
}
crate::scoped::tenant_scoped!(Mandate, mandates, MandateId);

/// Sealing context of mandate IBANs.
pub const IBAN_CONTEXT: &str = "mandate.iban";
/// Sealing context of account holder names.
pub const HOLDER_CONTEXT: &str = "mandate.holder";

/// One debit (or refund) attempt at the gateway.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = transactions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Transaction {
    pub id: TransactionId,
    pub tenant_id: TenantId,
    /// The session paid, for a session's debit; `None` for charges, renewals of sessionless
    /// subscriptions and their refunds.
    pub session_id: Option<SessionId>,
    pub order_id: OrderId,
    pub gateway_id: GatewayId,
    pub mandate_id: MandateId,
    /// `TXN-YYYYMMDD-` + 8 hex; the gateway's idempotency key.
    pub merchant_transaction_id: String,
    pub tenant_reference_id: Option<String>,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub sequence_type: SequenceType,
    pub amount_minor: i64,
    pub currency: String,
    pub gateway_reference: Option<String>,
    pub verification_url: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub gateway_code: Option<String>,
    pub gateway_message: Option<String>,
    /// False when the attempt must not be charged to the customer (gateway unreachable).
    pub counts_as_attempt: bool,
    pub processed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The subscription a renewal (`sdd_rebill`) collects for.
    pub subscription_id: Option<SubscriptionId>,
    /// The billing date of the period a renewal collects (with `billing_attempt`, unique per
    /// subscription: one collection per period and attempt).
    pub billing_period: Option<NaiveDate>,
    /// 1 for a period's first collection, then one more per dunning retry.
    pub billing_attempt: Option<i32>,
    /// The transaction a refund (`sdd_refund`) gives money back for.
    pub refund_of: Option<TransactionId>,
    /// A charge's description or a refund's reason.
    pub description: Option<String>,
}
crate::scoped::tenant_scoped!(Transaction, transactions, TransactionId);

/// A recurring billing plan started by a paid recurring session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = subscriptions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub tenant_id: TenantId,
    /// The session that started it; `None` when started on a saved customer.
    pub session_id: Option<SessionId>,
    pub order_id: OrderId,
    pub lead_id: LeadId,
    pub gateway_id: GatewayId,
    pub mandate_id: MandateId,
    pub customer_id: Option<CustomerId>,
    pub status: SubscriptionStatus,
    pub billing_frequency: String,
    pub amount_minor: i64,
    pub currency: String,
    pub gateway_reference: Option<String>,
    /// The billing date of the next period not yet collected.
    pub next_billing_date: NaiveDate,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The campaign whose plan this is, if any.
    pub campaign_id: Option<CampaignId>,
    pub plan_name: Option<String>,
    /// The first renewal date: period `n` is billed on `frequency.nth_after(anchor_date, n)`,
    /// so month ends stay anchored (Jan 31 → Feb 28/29 → Mar 31).
    pub anchor_date: NaiveDate,
    /// How many periods since the anchor were settled (collected or given up).
    pub periods_billed: i32,
    /// When the billing run next tries to collect (the billing date, or a dunning retry);
    /// `None` when nothing is scheduled (paused, cancelled, …).
    pub collect_on: Option<NaiveDate>,
    /// Failed collections of the current period.
    pub dunning_attempts: i32,
    /// Days to wait before each retry after a failed collection (`3,5,7`).
    pub dunning_ladder: String,
    /// Days before a collection the `subscription.upcoming` event is sent.
    pub notice_days: i32,
    /// When the next `subscription.upcoming` event is due; `None` once sent.
    pub notice_on: Option<NaiveDate>,
    /// Cancel instead of collecting the next period.
    pub cancel_at_period_end: bool,
    pub paused_at: Option<NaiveDateTime>,
    /// When it was cancelled or otherwise ended.
    pub ended_at: Option<NaiveDateTime>,
}
crate::scoped::tenant_scoped!(Subscription, subscriptions, SubscriptionId);

impl PaymentSession {
    /// The session's validated pricing (amount, billing type, frequency, trial).
    pub fn pricing(&self) -> StoreResult<Pricing> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("session {} {what}", self.id));
        let currency = Currency::parse(&self.currency).map_err(|_| corrupt("currency"))?;
        let money = |m: i64| Money::from_minor(m, currency).map_err(|_| corrupt("amount"));
        Pricing::validate(PricingInput {
            amount: money(self.amount_minor)?,
            billing_type: self
                .billing_type
                .parse()
                .map_err(|_| corrupt("billing_type"))?,
            billing_frequency: self
                .billing_frequency
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| corrupt("billing_frequency"))?,
            trial_period: self.trial_period.map(|p| u32::try_from(p).unwrap_or(0)),
            trial_interval_unit: self
                .trial_interval_unit
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| corrupt("trial_interval_unit"))?,
            trial_price: self.trial_price_minor.map(money).transpose()?,
        })
        .map_err(|_| corrupt("pricing"))
    }

    /// The latest transaction of this session, if any.
    pub fn latest_transaction(&self, conn: &mut DbConnection) -> StoreResult<Option<Transaction>> {
        Ok(on_backend!(conn, |c| transactions::table
            .filter(transactions::session_id.eq(&self.id))
            .order(transactions::id.desc())
            .select(Transaction::as_select())
            .first(c)
            .optional())?)
    }
}

impl Mandate {
    /// The tenant's mandate with this reference (`MAND-` + order number), if any.
    pub fn by_reference(
        conn: &mut DbConnection,
        tenant: &TenantId,
        reference: &str,
    ) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| mandates::table
            .filter(mandates::tenant_id.eq(tenant))
            .filter(mandates::reference.eq(reference))
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }
}

/// What every new transaction names: whose it is, what it collects on and how much.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub tenant_id: TenantId,
    pub order_id: OrderId,
    pub gateway_id: GatewayId,
    pub mandate_id: MandateId,
    pub kind: TransactionKind,
    pub sequence_type: SequenceType,
    pub amount_minor: i64,
    pub currency: String,
}

impl Transaction {
    /// A new `pending` transaction created `at`: a fresh id and merchant transaction id, no
    /// gateway answer yet, counted as an attempt. What only some transactions have (session,
    /// tenant reference, subscription period, refunded transaction, description) starts empty
    /// for the caller to set.
    pub fn pending(new: NewTransaction, at: NaiveDateTime) -> Self {
        Transaction {
            id: TransactionId::new(),
            tenant_id: new.tenant_id,
            session_id: None,
            order_id: new.order_id,
            gateway_id: new.gateway_id,
            mandate_id: new.mandate_id,
            merchant_transaction_id: catalyst_domain::ids::new_merchant_transaction_id(at.date()),
            tenant_reference_id: None,
            kind: new.kind,
            status: TransactionStatus::Pending,
            sequence_type: new.sequence_type,
            amount_minor: new.amount_minor,
            currency: new.currency,
            gateway_reference: None,
            verification_url: None,
            error_code: None,
            error_message: None,
            gateway_code: None,
            gateway_message: None,
            counts_as_attempt: true,
            processed_at: None,
            created_at: at,
            updated_at: at,
            subscription_id: None,
            billing_period: None,
            billing_attempt: None,
            refund_of: None,
            description: None,
        }
    }

    /// Loads a transaction by id (any tenant; internal use).
    pub fn by_id(conn: &mut DbConnection, id: &TransactionId) -> StoreResult<Self> {
        on_backend!(conn, |c| transactions::table
            .find(id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

impl Subscription {
    /// The subscription a session started, if any.
    pub fn of_session(
        conn: &mut DbConnection,
        session_id: &SessionId,
    ) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| subscriptions::table
            .filter(subscriptions::session_id.eq(session_id))
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }
}

/// What a transaction collects or gives back; it decides how the gateway's answer is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A payment session's debit.
    SessionDebit,
    /// A subscription's renewal (`sdd_rebill` with a billing period).
    Renewal,
    /// A charge on a saved customer.
    Charge,
    /// Money given back for another transaction.
    Refund,
}

impl Transaction {
    /// What this transaction is for.
    pub fn purpose(&self) -> Purpose {
        if self.refund_of.is_some() {
            Purpose::Refund
        } else if self.subscription_id.is_some() {
            Purpose::Renewal
        } else if self.session_id.is_some() {
            Purpose::SessionDebit
        } else {
            Purpose::Charge
        }
    }
}

impl Transaction {
    /// The transaction the gateway knows by `reference` (its unique id), if any.
    pub fn find_by_reference(
        conn: &mut DbConnection,
        reference: &str,
    ) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| transactions::table
            .filter(transactions::gateway_reference.eq(reference))
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }
}

impl Transaction {
    /// The transaction the gateway `gateway_id` knows by its reference or by our transaction id.
    pub fn find_for_gateway(
        conn: &mut DbConnection,
        gateway_id: &GatewayId,
        reference: &str,
        merchant_transaction_id: Option<&str>,
    ) -> StoreResult<Option<Self>> {
        let by_reference = on_backend!(conn, |c| transactions::table
            .filter(transactions::gateway_id.eq(gateway_id))
            .filter(transactions::gateway_reference.eq(reference))
            .select(Self::as_select())
            .first(c)
            .optional())?;
        match (by_reference, merchant_transaction_id) {
            (Some(t), _) => Ok(Some(t)),
            (None, Some(id)) => Ok(on_backend!(conn, |c| transactions::table
                .filter(transactions::gateway_id.eq(gateway_id))
                .filter(transactions::merchant_transaction_id.eq(id))
                .select(Self::as_select())
                .first(c)
                .optional())?),
            (None, None) => Ok(None),
        }
    }

    /// Approved debits (not refunds) on `SANDBOX` gateways (of one tenant, or all), with their
    /// mandates.
    pub fn approved_on_sandbox(
        conn: &mut DbConnection,
        tenant: Option<&str>,
    ) -> StoreResult<Vec<(Self, Mandate)>> {
        use crate::schema::gateways;
        Ok(on_backend!(conn, |c| {
            let mut query = transactions::table
                .inner_join(mandates::table)
                .inner_join(gateways::table.on(gateways::id.eq(transactions::gateway_id)))
                .filter(transactions::status.eq(TransactionStatus::Approved))
                .filter(transactions::refund_of.is_null())
                .filter(gateways::adapter.eq("SANDBOX"))
                .select((Self::as_select(), Mandate::as_select()))
                .into_boxed();
            if let Some(t) = tenant {
                query = query.filter(transactions::tenant_id.eq(t.to_owned()));
            }
            query.order(transactions::id.asc()).load(c)
        })?)
    }
}
