//! CSV imports (API.md §12): rows the API has validated, written with their `*.imported`
//! events. The caller runs a whole import inside one write transaction, so a bad row found
//! late (an unknown lead) rolls every earlier row back unless the import is partial.

use catalyst_domain::{TenantId, WebhookProfileId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use catalyst_domain::status::OrderStatus;

mod chargebacks;
mod transactions;

pub use chargebacks::{ChargebackRow, import_chargeback};
pub use transactions::{Account, ImportedOutcome, TransactionRow, import_transaction};

use crate::connection::on_backend;
use crate::events::{self, Subject};
use crate::schema::{leads, orders};
use crate::sessions::{Lead, Order, insert_order_with_fresh_number};
use crate::{DbConnection, StoreError, StoreResult};

/// An imported lead's fields (validated like a session's `lead`).
#[derive(Debug, Clone)]
pub struct LeadRow {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
}

/// An imported order: the lead it belongs to (by e-mail), its amount and status.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// The e-mail of a lead of the tenant (imported earlier or created by a session).
    pub email: String,
    /// The order's number in the system it comes from; `None`: a fresh one.
    pub order_number: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub status: OrderStatus,
}

/// Where an import's rows go: the tenant and the webhook profile its events are sent to.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub tenant_id: &'a TenantId,
    pub profile_id: Option<&'a WebhookProfileId>,
}

/// Writes one lead and its `lead.imported` event.
pub fn import_lead(
    conn: &mut DbConnection,
    target: Target<'_>,
    row: LeadRow,
    now: NaiveDateTime,
) -> StoreResult<Lead> {
    let lead = Lead {
        id: catalyst_domain::LeadId::new(),
        tenant_id: target.tenant_id.to_owned(),
        email_normalized: catalyst_domain::lead::normalize_email(&row.email),
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        country: row.country,
        address: row.address,
        city: row.city,
        postal_code: row.postal_code,
        phone: row.phone,
        created_at: now,
        updated_at: now,
    };
    on_backend!(conn, |c| diesel::insert_into(leads::table)
        .values(&lead)
        .execute(c))?;
    events::lead_imported(conn, &lead, target.profile_id, now)?;
    Ok(lead)
}

/// Writes one order of the tenant's newest lead with `row.email`, and its `order.imported`
/// event. No such lead → [`StoreError::NotFound`] (the row's `email` is wrong); a given order
/// number already in use → [`StoreError::Conflict`]`("order_number")`.
pub fn import_order(
    conn: &mut DbConnection,
    target: Target<'_>,
    row: OrderRow,
    now: NaiveDateTime,
    new_order_number: &mut impl FnMut() -> String,
) -> StoreResult<Order> {
    let normalized = catalyst_domain::lead::normalize_email(&row.email);
    let lead: Lead = on_backend!(conn, |c| leads::table
        .filter(leads::tenant_id.eq(target.tenant_id))
        .filter(leads::email_normalized.eq(&normalized))
        .order(leads::id.desc())
        .select(Lead::as_select())
        .first(c))?;
    let mut order = Order {
        id: catalyst_domain::OrderId::new(),
        tenant_id: target.tenant_id.to_owned(),
        session_id: None,
        lead_id: lead.id.clone(),
        order_number: row
            .order_number
            .clone()
            .unwrap_or_else(&mut *new_order_number),
        status: row.status,
        amount_minor: row.amount_minor,
        currency: row.currency,
        created_at: now,
        updated_at: now,
        customer_id: None,
        webhook_profile_id: target.profile_id.cloned(),
    };
    if row.order_number.is_some() {
        let inserted = on_backend!(conn, |c| diesel::insert_into(orders::table)
            .values(&order)
            .on_conflict(orders::order_number)
            .do_nothing()
            .execute(c))?;
        if inserted == 0 {
            return Err(StoreError::Conflict("order_number"));
        }
    } else {
        insert_order_with_fresh_number(conn, &mut order, new_order_number)?;
    }
    Subject::of_order(&order, &lead).order_imported(conn, now)?;
    Ok(order)
}

/// True when the tenant has a lead with this e-mail (an order row's reference).
pub fn lead_exists(conn: &mut DbConnection, target: Target<'_>, email: &str) -> StoreResult<bool> {
    let normalized = catalyst_domain::lead::normalize_email(email);
    let found: Option<String> = on_backend!(conn, |c| leads::table
        .filter(leads::tenant_id.eq(target.tenant_id))
        .filter(leads::email_normalized.eq(&normalized))
        .select(leads::id)
        .first(c)
        .optional())?;
    Ok(found.is_some())
}

/// Why a row cannot be written: it refers to something the tenant does not have, or clashes
/// with what it has. `column` names the CSV column to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub column: &'static str,
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(column: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            column,
            message: message.into(),
        }
    }
}

/// True when an order (of any tenant: numbers are unique) has this number.
pub fn order_number_taken(conn: &mut DbConnection, number: &str) -> StoreResult<bool> {
    let n: i64 = on_backend!(conn, |c| orders::table
        .filter(orders::order_number.eq(number))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

/// True when `e` means the row referred to something the tenant does not have.
pub fn is_unknown_reference(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound)
}
