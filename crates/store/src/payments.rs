//! Customers, mandates, transactions and subscriptions, and the two transactions of a payment:
//! the atomic claim before the gateway call and the application of its outcome after it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use catalyst_domain::billing::{Pricing, PricingInput};
use catalyst_domain::money::{Currency, Money};
use catalyst_domain::{OrderStatus, SessionStatus, SubscriptionStatus};

use crate::config::Gateway;
use crate::connection::on_backend;
use crate::schema::{
    customers, gateways, leads, mandates, orders, payment_sessions, session_payers, subscriptions,
    transactions,
};
use crate::sessions::{Lead, Order, PaymentSession, SessionPayer};
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// A saved customer (KOMOJU customer modes): a lead with a reusable mandate.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = customers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Customer {
    pub id: String,
    pub tenant_id: String,
    pub lead_id: String,
    pub external_customer_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The session that saved the customer, if one did.
    pub session_id: Option<String>,
    /// The gateway the customer's mandate was signed for: charges go through it.
    pub gateway_id: Option<String>,
    /// The mandate charges are collected under (the latest one signed).
    pub mandate_id: Option<String>,
    /// `ACTIVE`, or `DELETED` (mandate revoked; charges refused).
    pub status: String,
    pub deleted_at: Option<NaiveDateTime>,
}
crate::scoped::tenant_scoped!(Customer, customers);

/// A signed SEPA mandate. IBAN and holder are sealed; only last4, country, BIC and bank are clear.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = mandates, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Mandate {
    pub id: String,
    pub tenant_id: String,
    pub lead_id: String,
    pub customer_id: Option<String>,
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
    pub sequence_type: String,
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
}
crate::scoped::tenant_scoped!(Mandate, mandates);

/// Sealing context of mandate IBANs.
pub const IBAN_CONTEXT: &str = "mandate.iban";
/// Sealing context of account holder names.
pub const HOLDER_CONTEXT: &str = "mandate.holder";

/// One debit (or refund) attempt at the gateway.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = transactions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Transaction {
    pub id: String,
    pub tenant_id: String,
    /// The session paid, for a session's debit; `None` for charges, renewals of sessionless
    /// subscriptions and their refunds.
    pub session_id: Option<String>,
    pub order_id: String,
    pub gateway_id: String,
    pub mandate_id: String,
    /// `TXN-YYYYMMDD-` + 8 hex; the gateway's idempotency key.
    pub merchant_transaction_id: String,
    pub tenant_reference_id: Option<String>,
    /// `sdd_sale`, `sdd_rebill`, `sdd_refund`.
    pub kind: String,
    /// `pending`, `approved`, `declined`, `refunded`, `charged_back`.
    pub status: String,
    pub sequence_type: String,
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
    pub subscription_id: Option<String>,
    /// The billing date of the period a renewal collects (with `billing_attempt`, unique per
    /// subscription: one collection per period and attempt).
    pub billing_period: Option<NaiveDate>,
    /// 1 for a period's first collection, then one more per dunning retry.
    pub billing_attempt: Option<i32>,
    /// The transaction a refund (`sdd_refund`) gives money back for.
    pub refund_of: Option<String>,
    /// A charge's description or a refund's reason.
    pub description: Option<String>,
}
crate::scoped::tenant_scoped!(Transaction, transactions);

/// A recurring billing plan started by a paid recurring session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = subscriptions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Subscription {
    pub id: String,
    pub tenant_id: String,
    /// The session that started it; `None` when started on a saved customer.
    pub session_id: Option<String>,
    pub order_id: String,
    pub lead_id: String,
    pub gateway_id: String,
    pub mandate_id: String,
    pub customer_id: Option<String>,
    pub status: String,
    pub billing_frequency: String,
    pub amount_minor: i64,
    pub currency: String,
    pub gateway_reference: Option<String>,
    /// The billing date of the next period not yet collected.
    pub next_billing_date: NaiveDate,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The campaign whose plan this is, if any.
    pub campaign_id: Option<String>,
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
crate::scoped::tenant_scoped!(Subscription, subscriptions);

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
        tenant: &str,
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

impl Transaction {
    /// Loads a transaction by id (any tenant; internal use).
    pub fn by_id(conn: &mut DbConnection, id: &str) -> StoreResult<Self> {
        on_backend!(conn, |c| transactions::table
            .find(id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

impl Subscription {
    /// The subscription a session started, if any.
    pub fn of_session(conn: &mut DbConnection, session_id: &str) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| subscriptions::table
            .filter(subscriptions::session_id.eq(session_id))
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }
}

/// Why a session could not be claimed for payment.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("no such session")]
    NotFound,
    #[error("the session has expired")]
    Expired,
    #[error("the session is not payable in its status")]
    NotPayable,
    #[error("tenant_reference_id already in use for this tenant")]
    TenantReferenceInUse,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a payment writes before the gateway call; built by the caller from the claimed session.
pub struct PaymentDraft {
    pub mandate: Mandate,
    /// `None` when nothing is debited (customer mode, or a free trial): the session completes at once.
    pub transaction: Option<Transaction>,
    /// A customer to create (customer modes) — linked to the mandate and the session.
    pub customer: Option<Customer>,
}

/// What the claim wrote, with the rows it read: everything the payment's outcome and its
/// answer need, so that neither has to read them again.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub session: PaymentSession,
    pub order: Order,
    pub lead: Lead,
    pub gateway: Gateway,
    pub mandate: Mandate,
    pub transaction: Option<Transaction>,
    /// The customer the claim created (customer modes).
    pub customer: Option<Customer>,
    /// The subscription started when the session completed at once (nothing to debit).
    pub subscription: Option<Subscription>,
}

/// Claims a `PENDING` session for payment in one transaction: one conditional update
/// `PENDING → PAYMENT_IN_PROGRESS` (exactly one of concurrent callers wins), then the mandate,
/// the pending transaction and the customer. With no transaction (nothing to debit) the session
/// is completed right away. `draft` is called with the claimed session, its order and its lead.
pub fn claim_for_payment(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
) -> Result<Claimed, ClaimError> {
    tx::write(conn, |conn| claim(conn, token, now, draft))
}

/// [`claim_for_payment`] and, in the same transaction, the outcome `settle_now` decides for the
/// claimed debit (a gateway that answers in-process), applied as [`settle_claimed`] would. When
/// `settle_now` answers `None` (a gateway reached over the network), or there is nothing to
/// debit, only the claim is written and the outcome is `None`: the caller calls the gateway
/// after the commit and settles with [`settle_claimed`]. `settle_now` is called only with a
/// claimed transaction; an error from it rolls the claim back.
pub fn claim_and_settle<E>(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
    settle_now: impl FnOnce(&Claimed) -> Result<Option<Settlement>, E>,
) -> Result<(Claimed, Option<Settled>), E>
where
    E: From<ClaimError> + From<StoreError>,
{
    tx::write(conn, |conn| {
        let claimed = claim(conn, token, now, draft)?;
        let Some(transaction) = claimed.transaction.clone() else {
            return Ok((claimed, None));
        };
        let Some(settlement) = settle_now(&claimed)? else {
            return Ok((claimed, None));
        };
        let settled = apply_to_claim(conn, &claimed, transaction, &settlement, now)?;
        Ok((claimed, Some(settled)))
    })
}

/// The claim's reads and writes, inside the caller's transaction.
fn claim(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
) -> Result<Claimed, ClaimError> {
    let (session, order, lead, gateway) = claim_rows(conn, token)?;
    let status = session.status()?;
    if status == SessionStatus::Pending && session.expires_at <= now {
        return Err(ClaimError::Expired);
    }
    match status {
        SessionStatus::Pending => {}
        SessionStatus::Expired => return Err(ClaimError::Expired),
        _ => return Err(ClaimError::NotPayable),
    }
    let PaymentDraft {
        mut mandate,
        mut transaction,
        customer,
    } = draft(&session, &order, &lead)?;
    // One mandate per order: a retry after a decline replaces the unused one.
    let existing = Mandate::by_reference(conn, &session.tenant_id, &mandate.reference)?;
    if let Some(found) = &existing {
        mandate.id.clone_from(&found.id);
    }
    if let Some(t) = transaction.as_mut() {
        t.mandate_id.clone_from(&mandate.id);
    }

    let claimed = on_backend!(conn, |c| prepared::update(
        payment_sessions::table,
        payment_sessions::id
            .eq(&session.id)
            .and(payment_sessions::status.eq(SessionStatus::Pending.as_str()))
            .and(payment_sessions::version.eq(session.version)),
        (
            payment_sessions::status.eq(SessionStatus::PaymentInProgress.as_str()),
            payment_sessions::version.eq(session.version + 1),
            payment_sessions::updated_at.eq(now),
        ),
    )
    .execute(c))
    .map_err(StoreError::from)?;
    if claimed != 1 {
        return Err(ClaimError::NotPayable);
    }
    if let Some(c) = &customer {
        c.insert(conn)?;
    }
    if existing.is_some() {
        mandate.save(conn)?
    } else {
        mandate.insert(conn)?
    }
    if let Some(t) = transaction.as_mut() {
        insert_new_transaction(conn, t)?;
    }
    let order_status = order
        .status()?
        .transition_to(OrderStatus::Pending)
        .unwrap_or(order.status()?);
    let mut order = order;
    order.status = order_status.as_str().to_owned();
    order.updated_at = now;
    order.save(conn)?;
    let subject_session = session.clone();
    let mut session = session;
    session.status = SessionStatus::PaymentInProgress.as_str().to_owned();
    session.version += 1;
    session.updated_at = now;
    if let Some(c) = &customer {
        session.customer_id = Some(c.id.clone());
        session.save(conn)?;
    }
    let subject = crate::events::Subject::of_session(&subject_session, &order, &lead);
    if let Some(t) = &transaction {
        subject.transaction_created(conn, t, now)?;
    }
    if let Some(c) = &customer {
        subject.customer_created(conn, c, now)?;
    }
    let subscription = match transaction {
        Some(_) => None,
        None => complete(
            conn,
            &mut session,
            &mut order,
            &lead,
            &mut mandate,
            None,
            now,
        )?,
    };
    Ok(Claimed {
        session,
        order,
        lead,
        gateway,
        mandate,
        transaction,
        customer,
        subscription,
    })
}

/// The session with this token, its order, its lead (as the session presents it: the payer's
/// fields, [`SessionPayer::present`]) and its gateway, in one query.
///
/// Every join is on a key that is unique by itself (the order's `session_id`, the lead's, the
/// payer's and the gateway's primary keys), so PostgreSQL has one sensible plan for it however small the tables
/// were when the statement was prepared. With `tenant_id` in the join too, a plan made on empty
/// tables looked the lead up through `(tenant_id, email_normalized)` and read every lead of the
/// tenant, for as long as the connection lived. The tenants are compared here instead.
fn claim_rows(
    conn: &mut DbConnection,
    token: &str,
) -> Result<(PaymentSession, Order, Lead, Gateway), ClaimError> {
    type Rows = (PaymentSession, Order, Lead, SessionPayer, Gateway);
    let (session, order, lead, payer, gateway): Rows =
        on_backend!(conn, |c| payment_sessions::table
            .inner_join(orders::table.on(orders::session_id.eq(payment_sessions::id.nullable())))
            .inner_join(leads::table.on(leads::id.eq(payment_sessions::lead_id)))
            .inner_join(
                session_payers::table.on(session_payers::session_id.eq(payment_sessions::id))
            )
            .inner_join(gateways::table.on(gateways::id.eq(payment_sessions::gateway_id)))
            .filter(payment_sessions::token.eq(token))
            .select((
                PaymentSession::as_select(),
                Order::as_select(),
                Lead::as_select(),
                SessionPayer::as_select(),
                Gateway::as_select(),
            ))
            .first(c))
        .map_err(|e| match StoreError::from(e) {
            StoreError::NotFound => ClaimError::NotFound,
            other => other.into(),
        })?;
    if lead.tenant_id != session.tenant_id || gateway.tenant_id != session.tenant_id {
        return Err(StoreError::Corrupt(format!(
            "session {} refers to another tenant's lead or gateway",
            session.id
        ))
        .into());
    }
    Ok((session, order, payer.present(lead), gateway))
}

/// Inserts the claim's transaction. Its merchant transaction id has only 32 random bits per day
/// (the API's format), so a busy tenant's day can draw one twice: the insert then writes nothing
/// (`ON CONFLICT (merchant_transaction_id) DO NOTHING`) and is tried again with a new id. A
/// `tenant_reference_id` is the merchant's own and its collision is reported; only when one is
/// given does the insert run in a savepoint, so that the collision does not abort the whole
/// transaction.
pub(crate) fn insert_new_transaction(
    conn: &mut DbConnection,
    t: &mut Transaction,
) -> Result<(), ClaimError> {
    for _ in 0..5 {
        let inserted = if t.tenant_reference_id.is_none() {
            insert_unless_id_taken(conn, t)?
        } else {
            match tx::savepoint(conn, |c| insert_unless_id_taken(c, t)) {
                Err(StoreError::Conflict(_)) => return Err(ClaimError::TenantReferenceInUse),
                other => other?,
            }
        };
        if inserted {
            return Ok(());
        }
        t.merchant_transaction_id =
            catalyst_domain::ids::new_merchant_transaction_id(t.created_at.date());
    }
    Err(StoreError::Conflict("merchant_transaction_id").into())
}

/// Inserts `t`; false when its merchant transaction id is already taken.
fn insert_unless_id_taken(conn: &mut DbConnection, t: &Transaction) -> StoreResult<bool> {
    let inserted = on_backend!(conn, |c| diesel::insert_into(transactions::table)
        .values(t)
        .on_conflict(transactions::merchant_transaction_id)
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

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

/// The rows a settlement changes, as they are after it.
#[derive(Debug, Clone)]
pub struct Settled {
    pub session: PaymentSession,
    pub order: Order,
    pub transaction: Transaction,
    pub mandate: Mandate,
    /// The subscription a recurring plan started on completion.
    pub subscription: Option<Subscription>,
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

/// Applies the gateway's answer for any transaction, by its [`Purpose`]: a session's debit
/// as [`apply_settlement`], a renewal, a charge or a refund by their own modules. Idempotent:
/// a transaction that is no longer pending is left as it is.
pub fn apply_outcome(
    conn: &mut DbConnection,
    transaction_id: &str,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let purpose = Transaction::by_id(conn, transaction_id)?.purpose();
    match purpose {
        Purpose::SessionDebit => apply_settlement(conn, transaction_id, settlement, now).map(drop),
        Purpose::Renewal => crate::billing::apply_renewal(conn, transaction_id, settlement, now),
        Purpose::Charge => crate::charges::apply_charge(conn, transaction_id, settlement, now),
        Purpose::Refund => crate::refunds::apply_refund(conn, transaction_id, settlement, now),
    }
}

/// Applies the gateway's answer for `transaction_id` in one transaction: transaction, session,
/// order, attempts, mandate sequence, subscription. Idempotent: a transaction that is no longer
/// `pending` (or awaiting verification) is left as it is. Returns the updated session.
pub fn apply_settlement(
    conn: &mut DbConnection,
    transaction_id: &str,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<PaymentSession> {
    tx::write(conn, |conn| {
        let transaction = Transaction::by_id(conn, transaction_id)?;
        let session_id = transaction.session_id.as_deref().ok_or_else(|| {
            StoreError::Corrupt(format!("transaction {transaction_id} has no session"))
        })?;
        let session = on_backend!(conn, |c| payment_sessions::table
            .find(session_id)
            .select(PaymentSession::as_select())
            .first(c))?;
        if transaction.status != "pending" {
            return Ok(session);
        }
        let order = Order::find_by_session(conn, &session.id)?;
        let mandate = Mandate::find(conn, &transaction.tenant_id, &transaction.mandate_id)?;
        let lead = crate::sessions::lead_of_session(conn, &session)?;
        let mut rows = Settled {
            session,
            order,
            transaction,
            mandate,
            subscription: None,
        };
        apply(conn, &mut rows, &lead, settlement, now)?;
        Ok(rows.session)
    })
}

/// Applies the gateway's answer to the transaction `claimed` created, starting from the claim's
/// rows instead of reading them again. If anything changed since the claim (a gateway
/// notification or the recovery worker got there first), it writes nothing and fails with
/// [`StoreError::StateConflict`]; [`apply_settlement`] then applies the answer to what is stored.
pub fn settle_claimed(
    conn: &mut DbConnection,
    claimed: &Claimed,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<Settled> {
    let transaction = claimed
        .transaction
        .clone()
        .ok_or(StoreError::StateConflict)?;
    tx::write(conn, |conn| {
        apply_to_claim(conn, claimed, transaction, settlement, now)
    })
}

/// [`apply`] to the rows the claim returned, with `transaction` as the claim wrote it.
fn apply_to_claim(
    conn: &mut DbConnection,
    claimed: &Claimed,
    transaction: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<Settled> {
    let mut rows = Settled {
        session: claimed.session.clone(),
        order: claimed.order.clone(),
        transaction,
        mandate: claimed.mandate.clone(),
        subscription: None,
    };
    apply(conn, &mut rows, &claimed.lead, settlement, now)?;
    Ok(rows)
}

/// The writes of a settlement, on rows read in (or carried into) the current transaction. The
/// transaction row is only written while it is still `pending`, and the session only at the
/// version read, so a concurrent settlement makes this fail with `StateConflict`.
fn apply(
    conn: &mut DbConnection,
    rows: &mut Settled,
    lead: &Lead,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let Settled {
        session,
        order,
        transaction: t,
        mandate,
        subscription,
    } = rows;
    let current = session.status()?;
    // The attempt of a debit that needed verification was used when it was submitted.
    let counted_at_submit = t.verification_url.is_some();
    match settlement {
        Settlement::Pending { reference } => {
            if let Some(r) = reference {
                t.gateway_reference = Some(r.clone());
                t.updated_at = now;
                t.save_while_pending(conn)?;
            }
        }
        Settlement::Verification { reference, url } => {
            t.gateway_reference = Some(reference.clone());
            t.verification_url = Some(url.clone());
            t.updated_at = now;
            t.save_while_pending(conn)?;
            if current != SessionStatus::AwaitingVerification {
                if !counted_at_submit {
                    session.attempts_used += 1;
                }
                move_session(
                    conn,
                    session,
                    current,
                    SessionStatus::AwaitingVerification,
                    now,
                )?;
            }
        }
        Settlement::Approved { reference } => {
            t.status = "approved".into();
            t.gateway_reference = Some(reference.clone());
            t.processed_at = Some(processed_at(t, now));
            t.updated_at = now;
            t.save_while_pending(conn)?;
            crate::events::Subject::of_session(session, order, lead)
                .transaction_status_changed(conn, t, "pending", now)?;
            if !counted_at_submit {
                session.attempts_used += 1;
            }
            *subscription = complete(conn, session, order, lead, mandate, Some(t), now)?;
        }
        Settlement::Declined {
            reference,
            code,
            message,
            gateway_code,
            gateway_message,
            counts_as_attempt,
        } => {
            t.status = "declined".into();
            if reference.is_some() {
                t.gateway_reference.clone_from(reference);
            }
            t.error_code = Some(code.clone());
            t.error_message = Some(message.clone());
            t.gateway_code.clone_from(gateway_code);
            t.gateway_message.clone_from(gateway_message);
            t.counts_as_attempt = *counts_as_attempt || counted_at_submit;
            t.processed_at = Some(processed_at(t, now));
            t.updated_at = now;
            t.save_while_pending(conn)?;
            if *counts_as_attempt && !counted_at_submit {
                session.attempts_used += 1;
            }
            crate::events::Subject::of_session(session, order, lead)
                .transaction_status_changed(conn, t, "pending", now)?;
            if session.attempts_used >= session.max_payment_attempts {
                move_session(conn, session, current, SessionStatus::Failed, now)?;
                move_order(conn, order, OrderStatus::Failed, now)?;
                crate::events::Subject::of_session(session, order, lead).session_finished(
                    conn,
                    Some(t),
                    now,
                )?;
            } else {
                move_session(conn, session, current, SessionStatus::Pending, now)?;
            }
        }
        Settlement::Abandoned { code, message } => {
            t.status = "declined".into();
            t.error_code = Some(code.clone());
            t.error_message = Some(message.clone());
            t.processed_at = Some(processed_at(t, now));
            t.updated_at = now;
            t.save_while_pending(conn)?;
            let subject = crate::events::Subject::of_session(session, order, lead);
            subject.transaction_status_changed(conn, t, "pending", now)?;
            move_session(conn, session, current, SessionStatus::Expired, now)?;
            move_order(conn, order, OrderStatus::Cancelled, now)?;
            crate::events::Subject::of_session(session, order, lead).session_finished(
                conn,
                Some(t),
                now,
            )?;
        }
    }
    Ok(())
}

/// When a settlement at `now` processed `t`: never before the transaction was created (its
/// `created_at` may come from another clock reading than the settlement's `now`).
pub(crate) fn processed_at(t: &Transaction, now: NaiveDateTime) -> NaiveDateTime {
    now.max(t.created_at)
}

impl Transaction {
    /// Writes every column back, provided the stored row is still `pending`; otherwise
    /// `StateConflict` (someone else settled it).
    pub(crate) fn save_while_pending(&self, conn: &mut DbConnection) -> StoreResult<()> {
        let n = on_backend!(conn, |c| prepared::update(
            transactions::table,
            transactions::id
                .eq(&self.id)
                .and(transactions::status.eq("pending")),
            self,
        )
        .execute(c))?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::StateConflict)
        }
    }
}

fn move_session(
    conn: &mut DbConnection,
    session: &mut PaymentSession,
    from: SessionStatus,
    to: SessionStatus,
    now: NaiveDateTime,
) -> StoreResult<()> {
    from.transition_to(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let n = on_backend!(conn, |c| prepared::update(
        payment_sessions::table,
        payment_sessions::id
            .eq(&session.id)
            .and(payment_sessions::version.eq(session.version)),
        (
            payment_sessions::status.eq(to.as_str()),
            payment_sessions::attempts_used.eq(session.attempts_used),
            payment_sessions::customer_id.eq(&session.customer_id),
            payment_sessions::version.eq(session.version + 1),
            payment_sessions::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    if n != 1 {
        return Err(StoreError::StateConflict);
    }
    session.status = to.as_str().to_owned();
    session.version += 1;
    session.updated_at = now;
    Ok(())
}

fn move_order(
    conn: &mut DbConnection,
    order: &mut Order,
    to: OrderStatus,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let from = order.status()?;
    if from == to {
        return Ok(());
    }
    from.transition_to(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    order.status = to.as_str().to_owned();
    order.updated_at = now;
    order.save(conn)
}

/// After the first successful collection under `mandate` (`FRST`): later ones are `RCUR`, with
/// the gateway's reference of this one as their `reference_id`.
pub fn mark_collected(
    conn: &mut DbConnection,
    mandate: &mut Mandate,
    collected: &Transaction,
    now: NaiveDateTime,
) -> StoreResult<()> {
    on_backend!(conn, |c| prepared::update(
        mandates::table,
        mandates::id.eq(&mandate.id),
        (
            mandates::sequence_type.eq("RCUR"),
            mandates::gateway_reference.eq(&collected.gateway_reference),
            mandates::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    mandate.sequence_type = "RCUR".into();
    mandate
        .gateway_reference
        .clone_from(&collected.gateway_reference);
    mandate.updated_at = now;
    Ok(())
}

/// Completes a paid (or mandate-only) session: session and order `COMPLETED`, the mandate moves
/// to `RCUR` after a successful collection, and a recurring plan starts its subscription.
fn complete(
    conn: &mut DbConnection,
    session: &mut PaymentSession,
    order: &mut Order,
    lead: &Lead,
    mandate: &mut Mandate,
    collected: Option<&Transaction>,
    now: NaiveDateTime,
) -> StoreResult<Option<Subscription>> {
    let from = session.status()?;
    move_session(conn, session, from, SessionStatus::Completed, now)?;
    move_order(conn, order, OrderStatus::Completed, now)?;
    // A customer-mode session charges its customer under the mandate it just signed.
    if let Some(customer_id) = &mandate.customer_id
        && session.mode != "payment"
    {
        crate::customers::adopt_mandate(conn, customer_id, mandate, &session.gateway_id, now)?;
    }
    if let Some(t) = collected
        && mandate.sequence_type == "FRST"
    {
        mark_collected(conn, mandate, t, now)?;
    }
    let subject = crate::events::Subject::of_session(session, order, lead);
    subject.session_finished(conn, collected, now)?;
    let pricing = session.pricing()?;
    if let (Some(frequency), Some(next)) = (
        pricing.billing_frequency(),
        pricing.next_billing_date(now.date()),
    ) {
        // The period the session paid counts from today; a trial's first paid period is
        // counted from the trial's end.
        let (anchor_date, periods_billed) = match pricing.trial() {
            Some(_) => (next, 0),
            None => (now.date(), 1),
        };
        let plan = crate::billing::Plan::of_session(conn, session)?;
        let subscription = Subscription {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: session.tenant_id.clone(),
            session_id: Some(session.id.clone()),
            order_id: order.id.clone(),
            lead_id: session.lead_id.clone(),
            gateway_id: session.gateway_id.clone(),
            mandate_id: mandate.id.clone(),
            customer_id: session.customer_id.clone(),
            status: SubscriptionStatus::Active.as_str().to_owned(),
            billing_frequency: frequency.as_str().to_owned(),
            amount_minor: pricing.amount().minor(),
            currency: session.currency.clone(),
            gateway_reference: collected.and_then(|t| t.gateway_reference.clone()),
            next_billing_date: next,
            created_at: now,
            updated_at: now,
            campaign_id: session.campaign_id.clone(),
            plan_name: plan.name,
            anchor_date,
            periods_billed,
            collect_on: Some(next),
            dunning_attempts: 0,
            dunning_ladder: plan.dunning_ladder.to_string(),
            notice_days: i32::try_from(plan.notice_days).unwrap_or(i32::MAX),
            notice_on: Some(catalyst_domain::dunning::notice_on(
                next,
                plan.notice_days,
                now.date(),
            )),
            cancel_at_period_end: false,
            paused_at: None,
            ended_at: None,
        };
        subscription.insert(conn)?;
        subject.subscription_created(conn, &subscription, now)?;
        return Ok(Some(subscription));
    }
    Ok(None)
}

impl Order {
    /// The order's status as its enum.
    pub fn status(&self) -> StoreResult<OrderStatus> {
        self.status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("order status {:?}", self.status)))
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
        gateway_id: &str,
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
                .filter(transactions::status.eq("approved"))
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
