//! Saved customers (KOMOJU customer modes): their listing with the mandate they are charged
//! under, deletion (the mandate is revoked), and subscriptions started on them without a
//! payment session. Charges are in [`crate::charges`].

use catalyst_domain::{
    CustomerId, CustomerStatus, GatewayId, OrderStatus, SubscriptionId, SubscriptionStatus,
    TenantId, WebhookProfileId,
};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use catalyst_domain::billing::BillingFrequency;

use crate::billing::Plan;
use crate::connection::on_backend;
use crate::events::Subject;
use crate::pagination::{Page, PageRequest};
use crate::payments::{Customer, Mandate, Subscription};
use crate::schema::{customers, leads, mandates, session_payers};
use crate::sessions::{Lead, Order, PaymentSession, SessionPayer};
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// A customer with what its API view shows: the payer's name and e-mail, and its mandate.
#[derive(Debug, Clone)]
pub struct CustomerDetails {
    pub customer: Customer,
    /// The customer's lead as the session that saved it presents it.
    pub payer: Lead,
    /// The mandate charges are collected under, if any.
    pub mandate: Option<Mandate>,
}

/// Why a customer cannot be charged (or subscribed).
#[derive(Debug, thiserror::Error)]
pub enum NotChargeable {
    #[error("the customer is deleted")]
    Deleted,
    #[error("the customer has no mandate")]
    NoMandate,
    #[error("the customer's mandate is revoked")]
    Revoked,
}

/// One page of the tenant's customers, newest first, optionally filtered by the merchant's
/// `external_customer_id` and by status.
pub fn page(
    conn: &mut DbConnection,
    tenant: &TenantId,
    external_customer_id: Option<&str>,
    status: Option<CustomerStatus>,
    page: &PageRequest,
) -> StoreResult<Page<Customer>> {
    Ok(crate::pagination::load_page!(
        {
            let mut query = customers::table
                .filter(customers::tenant_id.eq(tenant.to_owned()))
                .select(Customer::as_select())
                .into_boxed();
            if let Some(e) = external_customer_id {
                query = query.filter(customers::external_customer_id.eq(e.to_owned()));
            }
            if let Some(s) = status {
                query = query.filter(customers::status.eq(s));
            }
            query
        },
        customers::id,
        page,
        conn
    ))
}

/// The customer's lead as the session that saved it presents it (its payer's fields); the
/// stored lead for a customer without a session.
pub fn payer(conn: &mut DbConnection, c: &Customer) -> StoreResult<Lead> {
    let lead = Lead::find(conn, &c.tenant_id, &c.lead_id)?;
    match &c.session_id {
        Some(session_id) => Ok(SessionPayer::of_session(conn, session_id)?.present(lead)),
        None => Ok(lead),
    }
}

/// The customer with its payer and mandate.
pub fn details(conn: &mut DbConnection, customer: Customer) -> StoreResult<CustomerDetails> {
    let payer = payer(conn, &customer)?;
    let mandate = match &customer.mandate_id {
        Some(id) => Some(Mandate::find(conn, &customer.tenant_id, id)?),
        None => None,
    };
    Ok(CustomerDetails {
        customer,
        payer,
        mandate,
    })
}

/// [`details`] of many customers (a listing's page) in three queries, whatever their number:
/// their leads, their sessions' payers and their mandates, each read by primary key at once.
pub fn details_of_all(
    conn: &mut DbConnection,
    customers: Vec<Customer>,
) -> StoreResult<Vec<CustomerDetails>> {
    use std::collections::HashMap;
    let lead_ids: Vec<&str> = customers.iter().map(|c| c.lead_id.as_str()).collect();
    let session_ids: Vec<&str> = customers
        .iter()
        .filter_map(|c| c.session_id.as_deref())
        .collect();
    let mandate_ids: Vec<&str> = customers
        .iter()
        .filter_map(|c| c.mandate_id.as_deref())
        .collect();
    let lead_rows: HashMap<String, Lead> = on_backend!(conn, |c| leads::table
        .filter(leads::id.eq_any(&lead_ids))
        .select(Lead::as_select())
        .load::<Lead>(c))?
    .into_iter()
    .map(|l| (l.id.to_string(), l))
    .collect();
    let payers: HashMap<String, SessionPayer> = if session_ids.is_empty() {
        HashMap::new()
    } else {
        on_backend!(conn, |c| session_payers::table
            .filter(session_payers::session_id.eq_any(&session_ids))
            .select(SessionPayer::as_select())
            .load::<SessionPayer>(c))?
        .into_iter()
        .map(|p| (p.session_id.to_string(), p))
        .collect()
    };
    let mandate_rows: HashMap<String, Mandate> = if mandate_ids.is_empty() {
        HashMap::new()
    } else {
        on_backend!(conn, |c| mandates::table
            .filter(mandates::id.eq_any(&mandate_ids))
            .select(Mandate::as_select())
            .load::<Mandate>(c))?
        .into_iter()
        .map(|m| (m.id.to_string(), m))
        .collect()
    };
    customers
        .into_iter()
        .map(|customer| {
            // Rows are read by id alone; each must be the customer's tenant's (as `find` checks).
            let lead = lead_rows
                .get(customer.lead_id.as_str())
                .filter(|l| l.tenant_id == customer.tenant_id)
                .cloned()
                .ok_or(StoreError::NotFound)?;
            let payer = match &customer.session_id {
                Some(id) => payers
                    .get(id.as_str())
                    .ok_or(StoreError::NotFound)?
                    .present(lead),
                None => lead,
            };
            let mandate = match &customer.mandate_id {
                Some(id) => Some(
                    mandate_rows
                        .get(id.as_str())
                        .filter(|m| m.tenant_id == customer.tenant_id)
                        .cloned()
                        .ok_or(StoreError::NotFound)?,
                ),
                None => None,
            };
            Ok(CustomerDetails {
                customer,
                payer,
                mandate,
            })
        })
        .collect()
}

/// The mandate `customer` can be charged under, or why it cannot be charged.
pub fn chargeable_mandate(
    conn: &mut DbConnection,
    customer: &Customer,
) -> StoreResult<Result<Mandate, NotChargeable>> {
    if customer.status != CustomerStatus::Active {
        return Ok(Err(NotChargeable::Deleted));
    }
    let Some(id) = &customer.mandate_id else {
        return Ok(Err(NotChargeable::NoMandate));
    };
    let mandate = Mandate::find(conn, &customer.tenant_id, id)?;
    if mandate.revoked_at.is_some() {
        return Ok(Err(NotChargeable::Revoked));
    }
    Ok(Ok(mandate))
}

/// The order of the session that saved the customer: customer events without an order of
/// their own are sent with it (to that session's webhook profile).
fn origin_order(conn: &mut DbConnection, c: &Customer) -> StoreResult<Option<Order>> {
    match &c.session_id {
        Some(id) => Ok(Some(Order::find_by_session(conn, id)?)),
        None => Ok(None),
    }
}

/// The webhook profile of the session that saved the customer: where its charges' events go.
pub fn origin_profile(
    conn: &mut DbConnection,
    c: &Customer,
) -> StoreResult<Option<WebhookProfileId>> {
    match &c.session_id {
        Some(id) => Ok(PaymentSession::find(conn, &c.tenant_id, id)?.webhook_profile_id),
        None => Ok(None),
    }
}

/// Deletes the tenant's customer `id` in one transaction: status `DELETED`, every mandate of
/// the customer revoked, event `customer.deleted`. Deleting a deleted customer changes
/// nothing and emits nothing.
pub fn delete(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &CustomerId,
    now: NaiveDateTime,
) -> StoreResult<Customer> {
    tx::write(conn, |conn| {
        let mut customer = Customer::find(conn, tenant, id)?;
        if customer.status == CustomerStatus::Deleted {
            return Ok(customer);
        }
        customer.status = CustomerStatus::Deleted;
        customer.deleted_at = Some(now);
        customer.updated_at = now;
        customer.save(conn)?;
        on_backend!(conn, |c| prepared::update(
            mandates::table,
            mandates::customer_id
                .eq(&customer.id)
                .and(mandates::revoked_at.is_null()),
            (mandates::revoked_at.eq(now), mandates::updated_at.eq(now)),
        )
        .execute(c))?;
        let mandate = match &customer.mandate_id {
            Some(m) => Some(Mandate::find(conn, tenant, m)?),
            None => None,
        };
        if let Some(order) = origin_order(conn, &customer)? {
            let lead = payer(conn, &customer)?;
            Subject::of_order(&order, &lead).customer_deleted(
                conn,
                &customer,
                mandate.as_ref(),
                now,
            )?;
        }
        Ok(customer)
    })
}

/// Points the customer at the mandate a session of it just signed (and at that session's
/// gateway): later charges are collected under the new mandate. Inside the caller's
/// transaction.
pub(crate) fn adopt_mandate(
    conn: &mut DbConnection,
    customer_id: &CustomerId,
    mandate: &Mandate,
    gateway_id: &GatewayId,
    now: NaiveDateTime,
) -> StoreResult<()> {
    on_backend!(conn, |c| prepared::update(
        customers::table,
        customers::id
            .eq(customer_id)
            .and(customers::tenant_id.eq(&mandate.tenant_id)),
        (
            customers::mandate_id.eq(&mandate.id),
            customers::gateway_id.eq(gateway_id),
            customers::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    Ok(())
}

/// Why a charge or a subscription on a customer was refused.
#[derive(Debug, thiserror::Error)]
pub enum CustomerWriteError {
    /// No such customer for this tenant.
    #[error("no such customer")]
    NotFound,
    #[error(transparent)]
    NotChargeable(#[from] NotChargeable),
    /// The currency is not the one the customer's gateway collects.
    #[error("the customer's gateway collects {expected}")]
    Currency { expected: String },
    /// The merchant's `tenant_reference_id` is taken.
    #[error("tenant_reference_id already in use for this tenant")]
    TenantReferenceInUse,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CustomerWriteError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CustomerWriteError::NotFound,
            other => CustomerWriteError::Store(other),
        }
    }
}

/// The rows a write on a customer starts from, read in its transaction.
pub(crate) struct Chargeable {
    pub customer: Customer,
    pub mandate: Mandate,
    pub gateway: crate::Gateway,
    pub payer: Lead,
}

/// Reads the customer `id` of `tenant` with its mandate and gateway, refusing a customer that
/// cannot be charged or whose gateway collects another currency than `currency`.
pub(crate) fn chargeable(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &CustomerId,
    currency: &str,
) -> Result<Chargeable, CustomerWriteError> {
    let customer = Customer::find(conn, tenant, id)?;
    let mandate = chargeable_mandate(conn, &customer)??;
    let gateway_id = customer
        .gateway_id
        .clone()
        .ok_or(CustomerWriteError::NotChargeable(NotChargeable::NoMandate))?;
    let gateway = crate::Gateway::find(conn, tenant, &gateway_id).map_err(|e| match e {
        StoreError::NotFound => {
            CustomerWriteError::Store(StoreError::Corrupt(format!("customer {id} gateway")))
        }
        other => other.into(),
    })?;
    if gateway.currency != currency {
        return Err(CustomerWriteError::Currency {
            expected: gateway.currency,
        });
    }
    let payer = payer(conn, &customer)?;
    Ok(Chargeable {
        customer,
        mandate,
        gateway,
        payer,
    })
}

/// A sessionless order of a customer (a charge's, a subscription's), `PENDING`, with a fresh
/// order number; inserted inside the caller's transaction.
pub(crate) fn insert_order(
    conn: &mut DbConnection,
    rows: &Chargeable,
    amount_minor: i64,
    currency: &str,
    webhook_profile_id: Option<WebhookProfileId>,
    now: NaiveDateTime,
    new_order_number: &mut impl FnMut() -> String,
) -> StoreResult<Order> {
    let mut order = Order {
        id: catalyst_domain::OrderId::new(),
        tenant_id: rows.customer.tenant_id.clone(),
        session_id: None,
        lead_id: rows.customer.lead_id.clone(),
        order_number: new_order_number(),
        status: OrderStatus::Pending,
        amount_minor,
        currency: currency.to_owned(),
        created_at: now,
        updated_at: now,
        customer_id: Some(rows.customer.id.clone()),
        webhook_profile_id,
    };
    crate::sessions::insert_order_with_fresh_number(conn, &mut order, new_order_number)?;
    Ok(order)
}

/// The plan of a subscription started on a customer: a recurring campaign's, or given inline.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// The campaign the plan comes from (its terms: name, dunning ladder, notice).
    pub campaign: Option<crate::Campaign>,
    pub amount_minor: i64,
    pub currency: String,
    pub frequency: BillingFrequency,
    /// An inline plan's name (a campaign's plan is named after its offer).
    pub plan_name: Option<String>,
    /// The first billing date: the billing run collects the first period on it.
    pub start_date: NaiveDate,
}

/// Starts a subscription on the tenant's customer `id` in one transaction: a `PENDING` order
/// without a session, the subscription `ACTIVE` under the customer's mandate and gateway with
/// its first collection on `start_date` (nothing is collected now), event
/// `subscription.created`.
pub fn subscribe(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &CustomerId,
    new: NewSubscription,
    now: NaiveDateTime,
    mut new_order_number: impl FnMut() -> String,
) -> Result<(Subscription, Order), CustomerWriteError> {
    tx::write(conn, |conn| {
        let rows = chargeable(conn, tenant, id, &new.currency)?;
        let mut plan = Plan::of_campaign(new.campaign.as_ref())?;
        if plan.name.is_none() {
            plan.name.clone_from(&new.plan_name);
        }
        let profile = match new
            .campaign
            .as_ref()
            .and_then(|c| c.webhook_profile_id.clone())
        {
            Some(p) => Some(p),
            None => origin_profile(conn, &rows.customer)?,
        };
        let order = insert_order(
            conn,
            &rows,
            new.amount_minor,
            &new.currency,
            profile,
            now,
            &mut new_order_number,
        )?;
        let subscription = Subscription {
            id: SubscriptionId::new(),
            tenant_id: tenant.to_owned(),
            session_id: None,
            order_id: order.id.clone(),
            lead_id: rows.customer.lead_id.clone(),
            gateway_id: rows.gateway.id.clone(),
            mandate_id: rows.mandate.id.clone(),
            customer_id: Some(rows.customer.id.clone()),
            status: SubscriptionStatus::Active,
            billing_frequency: new.frequency.as_str().to_owned(),
            amount_minor: new.amount_minor,
            currency: new.currency.clone(),
            gateway_reference: rows.mandate.gateway_reference.clone(),
            next_billing_date: new.start_date,
            created_at: now,
            updated_at: now,
            campaign_id: new.campaign.as_ref().map(|c| c.id.clone()),
            plan_name: plan.name,
            anchor_date: new.start_date,
            periods_billed: 0,
            collect_on: Some(new.start_date),
            dunning_attempts: 0,
            dunning_ladder: plan.dunning_ladder.to_string(),
            notice_days: i32::try_from(plan.notice_days).unwrap_or(i32::MAX),
            notice_on: Some(catalyst_domain::dunning::notice_on(
                new.start_date,
                plan.notice_days,
                now.date(),
            )),
            cancel_at_period_end: false,
            paused_at: None,
            ended_at: None,
        };
        subscription.insert(conn)?;
        Subject::of_order(&order, &rows.payer).subscription_created(conn, &subscription, now)?;
        Ok((subscription, order))
    })
}
