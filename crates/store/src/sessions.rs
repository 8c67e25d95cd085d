//! Leads, payment sessions, their payers and orders: the rows and their queries. Creating and
//! expiring sessions is [`crate::checkout`].

use catalyst_domain::{
    CampaignId, CustomerId, GatewayId, HostedPageId, LeadId, OrderId, OrderStatus, SessionId,
    SessionStatus, TenantId, WebhookProfileId,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use catalyst_domain::session::SessionMode;

use crate::connection::on_backend;
use crate::schema::{leads, orders, payment_sessions, session_payers};
use crate::{DbConnection, StoreError, StoreResult};

/// A person who started a payment session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = leads, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Lead {
    pub id: LeadId,
    pub tenant_id: TenantId,
    pub email: String,
    /// Lower-cased email, the key for duplicate handling.
    pub email_normalized: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(Lead, leads, LeadId);

impl Lead {
    /// Fills this lead's empty optional fields from `other`; true if anything changed.
    pub(crate) fn fill_empty_from(&mut self, other: &Lead) -> bool {
        let mut changed = false;
        for (mine, theirs) in [
            (&mut self.address, &other.address),
            (&mut self.city, &other.city),
            (&mut self.postal_code, &other.postal_code),
            (&mut self.phone, &other.phone),
        ] {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                changed = true;
            }
        }
        changed
    }
}

/// The payer of a session: the lead fields its creation request sent. The session shows and
/// uses these (hosted page, webhooks, the gateway's debit request), not the fields stored on the
/// lead it is linked to: with the `REUSE` policy that lead may come from another person's
/// request with the same e-mail, and its stored fields are not this session's to disclose.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_payers, treat_none_as_default_value = false)]
pub struct SessionPayer {
    pub session_id: SessionId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
}

impl SessionPayer {
    /// The payer of session `session_id` as `sent`, the lead of its creation request.
    pub fn sent(session_id: &SessionId, sent: &Lead) -> Self {
        Self {
            session_id: session_id.to_owned(),
            email: sent.email.clone(),
            first_name: sent.first_name.clone(),
            last_name: sent.last_name.clone(),
            country: sent.country.clone(),
            address: sent.address.clone(),
            city: sent.city.clone(),
            postal_code: sent.postal_code.clone(),
            phone: sent.phone.clone(),
        }
    }

    /// The payer of a session.
    pub fn of_session(conn: &mut DbConnection, session_id: &SessionId) -> StoreResult<Self> {
        on_backend!(conn, |c| session_payers::table
            .find(session_id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }

    /// `lead` as the session presents it: the linked lead's id and keys with this payer's
    /// fields, so that nothing reads the stored fields of a lead the session only links to.
    pub fn present(&self, lead: Lead) -> Lead {
        Lead {
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            country: self.country.clone(),
            address: self.address.clone(),
            city: self.city.clone(),
            postal_code: self.postal_code.clone(),
            phone: self.phone.clone(),
            ..lead
        }
    }
}

/// The lead of `session` as the session presents it ([`SessionPayer::present`]).
pub fn lead_of_session(conn: &mut DbConnection, session: &PaymentSession) -> StoreResult<Lead> {
    let lead = Lead::find(conn, &session.tenant_id, &session.lead_id)?;
    Ok(SessionPayer::of_session(conn, &session.id)?.present(lead))
}

/// A payment session: the terms a customer is asked to accept and pay.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = payment_sessions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PaymentSession {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub token: String,
    pub status: SessionStatus,
    pub mode: SessionMode,
    pub campaign_id: Option<CampaignId>,
    pub gateway_id: GatewayId,
    pub hosted_page_id: Option<HostedPageId>,
    pub webhook_profile_id: Option<WebhookProfileId>,
    pub lead_id: LeadId,
    /// JSON object: the offer's display fields (`name`, `product_name`, `product_description`)
    /// as they were when the session was created.
    pub offer_snapshot: String,
    pub amount_minor: i64,
    pub currency: String,
    pub billing_type: String,
    pub billing_frequency: Option<String>,
    pub trial_period: Option<i32>,
    pub trial_interval_unit: Option<String>,
    pub trial_price_minor: Option<i64>,
    /// JSON object: the pricing fields this session overrode on its campaign.
    pub offer_overrides: String,
    pub max_payment_attempts: i32,
    pub attempts_used: i32,
    pub customer_id: Option<CustomerId>,
    pub external_customer_id: Option<String>,
    pub return_url: Option<String>,
    pub default_locale: String,
    /// JSON array of line items.
    pub line_items: String,
    /// JSON object string → string.
    pub metadata: String,
    pub customer_ip: Option<String>,
    pub expires_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(PaymentSession, payment_sessions, SessionId);

impl PaymentSession {
    /// Loads a session by its token (any tenant: the token is the credential).
    pub fn find_by_token(conn: &mut DbConnection, token: &str) -> StoreResult<Self> {
        on_backend!(conn, |c| payment_sessions::table
            .filter(payment_sessions::token.eq(token))
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

/// The order a session creates; completed when the session is paid.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = orders, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Order {
    pub id: OrderId,
    pub tenant_id: TenantId,
    /// The session this order pays; `None` for a customer charge.
    pub session_id: Option<SessionId>,
    pub lead_id: LeadId,
    /// `ORD-` + 8 upper-case hex.
    pub order_number: String,
    pub status: OrderStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The saved customer a charge was made on.
    pub customer_id: Option<CustomerId>,
    /// Where the order's events go (the session's profile, for a session's order).
    pub webhook_profile_id: Option<WebhookProfileId>,
}
crate::scoped::tenant_scoped!(Order, orders, OrderId);

impl Order {
    /// The order of a session.
    pub fn find_by_session(conn: &mut DbConnection, session_id: &SessionId) -> StoreResult<Self> {
        on_backend!(conn, |c| orders::table
            .filter(orders::session_id.eq(session_id))
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

/// Inserts the order; an order number that is taken (8 random hex digits) makes the insert
/// write nothing (`ON CONFLICT (order_number) DO NOTHING`), and it is tried again with a new
/// number. No savepoint is needed: nothing failed.
pub(crate) fn insert_order_with_fresh_number(
    conn: &mut DbConnection,
    order: &mut Order,
    new_order_number: &mut impl FnMut() -> String,
) -> StoreResult<()> {
    for _ in 0..5 {
        let row: &Order = order;
        let inserted = on_backend!(conn, |c| diesel::insert_into(orders::table)
            .values(row)
            .on_conflict(orders::order_number)
            .do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(());
        }
        order.order_number = new_order_number();
    }
    Err(StoreError::Conflict("order_number"))
}
