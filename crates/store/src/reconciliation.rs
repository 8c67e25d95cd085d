//! The reconciliation listings (API.md §6): a tenant's processed transactions, chargebacks and
//! subscriptions over a range of whole UTC days, each row joined with what a report needs
//! (session token, order number, masked IBAN, mandate reference).
//!
//! Order and paging: rows are listed by `(date field, id)` ascending and paged by keyset
//! ([`Seek`]): a page after a position reads `(date, id) > position`, a page before it reads
//! `(date, id) < position` backwards. Rows inserted while a client pages are therefore never
//! the reason for a skipped or repeated row.
//!
//! Each listing's statement is served by one index whose leading columns are the tenant, the
//! date field and the id, so that the range, the order and the keyset are one index scan:
//!
//! | listing | date field | index |
//! |---|---|---|
//! | [`transactions`] | `processed_at` (pending transactions have none and are not listed) | `transactions_processed (tenant_id, processed_at, id)` |
//! | [`chargebacks`] | `report_date` | `chargebacks_report (tenant_id, report_date, id)` |
//! | [`subscriptions`] | `created_at` | `subscriptions_tenant_created (tenant_id, created_at, id)` |
//!
//! The `explain_*` functions return the plan of exactly the statement the listing runs.

mod cursor;
mod explain;

use catalyst_domain::{GatewayId, TenantId, TransactionId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;

use crate::schema::{chargebacks, mandates, orders, payment_sessions, subscriptions, transactions};
use crate::{DbConnection, StoreResult, Subscription, Transaction};

pub use cursor::{Listing, Position, Seek, SortKey};

type Db = <DbConnection as diesel::Connection>::Backend;

/// The `kind`s a chargeback row can have: a disputed debit, or a debit returned unpaid.
pub const CHARGEBACK_KINDS: &[&str] = &["chargeback", "return"];

/// A range of whole UTC days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days {
    /// The first day.
    pub first: NaiveDate,
    /// The last day (not before `first`).
    pub last: NaiveDate,
}

impl Days {
    /// Midnight starting the first day, and midnight ending the last day (exclusive).
    fn instants(&self) -> (NaiveDateTime, NaiveDateTime) {
        let end = self.last.succ_opt().unwrap_or(NaiveDate::MAX);
        (
            self.first.and_time(chrono::NaiveTime::MIN),
            end.and_time(chrono::NaiveTime::MIN),
        )
    }
}

/// Which page to read: its size (bounds-checked by the caller) and where it starts.
#[derive(Clone, Debug)]
pub struct Slice<K> {
    /// Rows per page.
    pub size: u32,
    /// `None`: the first page.
    pub seek: Option<Seek<K>>,
}

/// One page of a listing, oldest first, with the positions of its neighbours.
#[derive(Debug)]
pub struct Listed<T, K> {
    /// The rows.
    pub items: Vec<T>,
    /// Where the next (later) page starts, when there is one.
    pub next: Option<Seek<K>>,
    /// Where the previous (earlier) page ends, when the client came from there.
    pub previous: Option<Seek<K>>,
}

/// What a row contributes to the keyset.
trait Keyed<K> {
    fn position(&self) -> Position<K>;
}

/// Builds a page from the `size + 1` rows read in the direction of `slice`.
fn assemble<T: Keyed<K>, K>(mut rows: Vec<T>, slice: &Slice<K>) -> Listed<T, K> {
    let more = rows.len() > slice.size as usize;
    rows.truncate(slice.size as usize);
    let backwards = matches!(slice.seek, Some(Seek::Before(_)));
    if backwards {
        rows.reverse();
    }
    let after_last = || rows.last().map(|r| Seek::After(r.position()));
    let before_first = || rows.first().map(|r| Seek::Before(r.position()));
    let (next, previous) = match &slice.seek {
        None => (more.then(after_last).flatten(), None),
        Some(Seek::After(_)) => (more.then(after_last).flatten(), before_first()),
        Some(Seek::Before(_)) => (after_last(), more.then(before_first).flatten()),
    };
    Listed {
        items: rows,
        next,
        previous,
    }
}

/// Adds the keyset condition, the order and the limit of `slice` to a boxed query ordered by
/// `($key, $id)`. `(key, id) > (k, i)` is written `key >= k AND (key > k OR id > i)` so that
/// `key >= k` bounds the index scan on both backends.
macro_rules! keyset {
    ($query:expr, $key:expr, $id:expr, $slice:expr) => {{
        let slice = $slice;
        let query = $query;
        let query = match &slice.seek {
            None => query.order(($key.asc(), $id.asc())),
            Some(Seek::After(p)) => query
                .filter($key.ge(p.key))
                .filter($key.gt(p.key).or($id.gt(p.id.clone())))
                .order(($key.asc(), $id.asc())),
            Some(Seek::Before(p)) => query
                .filter($key.le(p.key))
                .filter($key.lt(p.key).or($id.lt(p.id.clone())))
                .order(($key.desc(), $id.desc())),
        };
        query.limit(i64::from(slice.size) + 1)
    }};
}

/// The mandate columns a report shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mandates)]
pub struct MandateSummary {
    /// `MAND-` + order number.
    pub reference: String,
    /// The IBAN masked to full length; empty on rows written before it was stored.
    pub iban_masked: String,
    /// The IBAN's last four characters.
    pub iban_last4: String,
    /// The IBAN's country.
    pub iban_country: String,
    /// The bank's BIC, when the registry knows it.
    pub bic: Option<String>,
    /// The bank's name, when the registry knows it.
    pub bank_name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// Filters of the transactions listing. Empty lists mean "any".
#[derive(Clone, Debug)]
pub struct TransactionFilter {
    /// Days of `processed_at`.
    pub processed: Days,
    /// Transaction statuses.
    pub statuses: Vec<String>,
    /// Transaction types (`kind`).
    pub kinds: Vec<String>,
    /// Only this gateway.
    pub gateway_id: Option<GatewayId>,
}

/// A processed transaction with its session token, order number and mandate.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transactions)]
pub struct TransactionLine {
    /// The transaction row.
    #[diesel(embed)]
    pub transaction: Transaction,
    /// `processed_at`, never null in this listing.
    #[diesel(select_expression = transactions::processed_at.assume_not_null())]
    pub date_processed: NaiveDateTime,
    /// The session's `ps_` token (none for charges, renewals of customer subscriptions, refunds).
    #[diesel(select_expression = payment_sessions::token.nullable())]
    pub session_token: Option<String>,
    /// The order's number.
    #[diesel(select_expression = orders::order_number)]
    pub order_number: String,
    /// The mandate debited.
    #[diesel(embed)]
    pub mandate: MandateSummary,
}

impl Keyed<NaiveDateTime> for TransactionLine {
    fn position(&self) -> Position<NaiveDateTime> {
        Position {
            key: self.date_processed,
            id: self.transaction.id.to_string(),
        }
    }
}

fn transactions_query<'a>(
    tenant: &'a str,
    filter: &'a TransactionFilter,
    slice: &'a Slice<NaiveDateTime>,
) -> impl LoadQuery<'a, DbConnection, TransactionLine> + QueryFragment<Db> + QueryId + 'a {
    let (from, until) = filter.processed.instants();
    let mut query = transactions::table
        .left_join(
            payment_sessions::table
                .on(transactions::session_id.eq(payment_sessions::id.nullable())),
        )
        .inner_join(orders::table.on(orders::id.eq(transactions::order_id)))
        .inner_join(mandates::table.on(mandates::id.eq(transactions::mandate_id)))
        .filter(transactions::tenant_id.eq(tenant))
        .filter(transactions::processed_at.ge(from))
        .filter(transactions::processed_at.lt(until))
        .select(TransactionLine::as_select())
        .into_boxed::<Db>();
    if !filter.statuses.is_empty() {
        query = query.filter(transactions::status.eq_any(&filter.statuses));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(transactions::kind.eq_any(&filter.kinds));
    }
    if let Some(gateway) = &filter.gateway_id {
        query = query.filter(transactions::gateway_id.eq(gateway));
    }
    keyset!(query, transactions::processed_at, transactions::id, slice)
}

/// One page of the tenant's processed transactions, by `(processed_at, id)`.
pub fn transactions(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &TransactionFilter,
    slice: &Slice<NaiveDateTime>,
) -> StoreResult<Listed<TransactionLine, NaiveDateTime>> {
    let rows = transactions_query(tenant, filter, slice).load(conn)?;
    Ok(assemble(rows, slice))
}

/// The plan of the statement [`transactions`] runs for these arguments.
pub fn explain_transactions(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &TransactionFilter,
    slice: &Slice<NaiveDateTime>,
) -> StoreResult<String> {
    explain::plan(transactions_query(tenant, filter, slice), conn)
}

// ---------------------------------------------------------------------------------------------
// Chargebacks

/// Filters of the chargebacks listing. Empty lists mean "any".
#[derive(Clone, Debug)]
pub struct ChargebackFilter {
    /// Days of `report_date`.
    pub reported: Days,
    /// Chargeback kinds ([`CHARGEBACK_KINDS`]).
    pub kinds: Vec<String>,
    /// Only this gateway.
    pub gateway_id: Option<GatewayId>,
}

/// A chargeback (or return) with its transaction's references, order number and mandate.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chargebacks)]
pub struct ChargebackLine {
    /// The chargeback id.
    pub id: String,
    /// The transaction charged back.
    pub transaction_id: TransactionId,
    /// The gateway that reported it.
    pub gateway_id: GatewayId,
    /// One of [`CHARGEBACK_KINDS`].
    pub kind: String,
    /// The SEPA reason code (`MD06`, `AM04`, …).
    pub reason_code: Option<String>,
    /// The reason in words.
    pub reason_description: Option<String>,
    /// The normalised decline code (`mandate_rejected`, …).
    pub error_code: String,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// The gateway's id of the chargeback.
    pub gateway_reference: Option<String>,
    /// The day the gateway reported it.
    pub report_date: NaiveDate,
    /// When it was recorded.
    pub created_at: NaiveDateTime,
    /// The transaction's `TXN-…` id.
    #[diesel(select_expression = transactions::merchant_transaction_id)]
    pub merchant_transaction_id: String,
    /// The transaction's tenant reference.
    #[diesel(select_expression = transactions::tenant_reference_id)]
    pub tenant_reference_id: Option<String>,
    /// The order's number.
    #[diesel(select_expression = orders::order_number)]
    pub order_number: String,
    /// The mandate debited.
    #[diesel(embed)]
    pub mandate: MandateSummary,
}

impl Keyed<NaiveDate> for ChargebackLine {
    fn position(&self) -> Position<NaiveDate> {
        Position {
            key: self.report_date,
            id: self.id.clone(),
        }
    }
}

fn chargebacks_query<'a>(
    tenant: &'a str,
    filter: &'a ChargebackFilter,
    slice: &'a Slice<NaiveDate>,
) -> impl LoadQuery<'a, DbConnection, ChargebackLine> + QueryFragment<Db> + QueryId + 'a {
    let mut query = chargebacks::table
        .inner_join(transactions::table.on(transactions::id.eq(chargebacks::transaction_id)))
        .inner_join(orders::table.on(orders::id.eq(transactions::order_id)))
        .inner_join(mandates::table.on(mandates::id.eq(transactions::mandate_id)))
        .filter(chargebacks::tenant_id.eq(tenant))
        .filter(chargebacks::report_date.ge(filter.reported.first))
        .filter(chargebacks::report_date.le(filter.reported.last))
        .select(ChargebackLine::as_select())
        .into_boxed::<Db>();
    if !filter.kinds.is_empty() {
        query = query.filter(chargebacks::kind.eq_any(&filter.kinds));
    }
    if let Some(gateway) = &filter.gateway_id {
        query = query.filter(chargebacks::gateway_id.eq(gateway));
    }
    keyset!(query, chargebacks::report_date, chargebacks::id, slice)
}

/// One page of the tenant's chargebacks, by `(report_date, id)`.
pub fn chargebacks(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &ChargebackFilter,
    slice: &Slice<NaiveDate>,
) -> StoreResult<Listed<ChargebackLine, NaiveDate>> {
    let rows = chargebacks_query(tenant, filter, slice).load(conn)?;
    Ok(assemble(rows, slice))
}

/// The plan of the statement [`chargebacks`] runs for these arguments.
pub fn explain_chargebacks(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &ChargebackFilter,
    slice: &Slice<NaiveDate>,
) -> StoreResult<String> {
    explain::plan(chargebacks_query(tenant, filter, slice), conn)
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// Filters of the subscriptions listing. Empty lists and `None` mean "any".
#[derive(Clone, Debug)]
pub struct SubscriptionFilter {
    /// Days of `created_at`.
    pub created: Days,
    /// Subscription statuses.
    pub statuses: Vec<String>,
    /// Only this gateway.
    pub gateway_id: Option<GatewayId>,
    /// `next_billing_date` on or after this day.
    pub next_billing_from: Option<NaiveDate>,
    /// `next_billing_date` on or before this day.
    pub next_billing_to: Option<NaiveDate>,
}

/// A subscription with its session token, order number and mandate.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionLine {
    /// The subscription row.
    #[diesel(embed)]
    pub subscription: Subscription,
    /// The session's `ps_` token (none for charges, renewals of customer subscriptions, refunds).
    #[diesel(select_expression = payment_sessions::token.nullable())]
    pub session_token: Option<String>,
    /// The order's number.
    #[diesel(select_expression = orders::order_number)]
    pub order_number: String,
    /// The mandate collected under.
    #[diesel(embed)]
    pub mandate: MandateSummary,
}

impl Keyed<NaiveDateTime> for SubscriptionLine {
    fn position(&self) -> Position<NaiveDateTime> {
        Position {
            key: self.subscription.created_at,
            id: self.subscription.id.to_string(),
        }
    }
}

fn subscriptions_query<'a>(
    tenant: &'a str,
    filter: &'a SubscriptionFilter,
    slice: &'a Slice<NaiveDateTime>,
) -> impl LoadQuery<'a, DbConnection, SubscriptionLine> + QueryFragment<Db> + QueryId + 'a {
    let (from, until) = filter.created.instants();
    let mut query = subscriptions::table
        .left_join(
            payment_sessions::table
                .on(subscriptions::session_id.eq(payment_sessions::id.nullable())),
        )
        .inner_join(orders::table.on(orders::id.eq(subscriptions::order_id)))
        .inner_join(mandates::table.on(mandates::id.eq(subscriptions::mandate_id)))
        .filter(subscriptions::tenant_id.eq(tenant))
        .filter(subscriptions::created_at.ge(from))
        .filter(subscriptions::created_at.lt(until))
        .select(SubscriptionLine::as_select())
        .into_boxed::<Db>();
    if !filter.statuses.is_empty() {
        query = query.filter(subscriptions::status.eq_any(&filter.statuses));
    }
    if let Some(gateway) = &filter.gateway_id {
        query = query.filter(subscriptions::gateway_id.eq(gateway));
    }
    if let Some(day) = filter.next_billing_from {
        query = query.filter(subscriptions::next_billing_date.ge(day));
    }
    if let Some(day) = filter.next_billing_to {
        query = query.filter(subscriptions::next_billing_date.le(day));
    }
    keyset!(query, subscriptions::created_at, subscriptions::id, slice)
}

/// One page of the tenant's subscriptions, by `(created_at, id)`.
pub fn subscriptions(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &SubscriptionFilter,
    slice: &Slice<NaiveDateTime>,
) -> StoreResult<Listed<SubscriptionLine, NaiveDateTime>> {
    let rows = subscriptions_query(tenant, filter, slice).load(conn)?;
    Ok(assemble(rows, slice))
}

/// The plan of the statement [`subscriptions`] runs for these arguments.
pub fn explain_subscriptions(
    conn: &mut DbConnection,
    tenant: &TenantId,
    filter: &SubscriptionFilter,
    slice: &Slice<NaiveDateTime>,
) -> StoreResult<String> {
    explain::plan(subscriptions_query(tenant, filter, slice), conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(u32);

    impl Keyed<u32> for Row {
        fn position(&self) -> Position<u32> {
            Position {
                key: self.0,
                id: self.0.to_string(),
            }
        }
    }

    fn at(key: u32) -> Position<u32> {
        Position {
            key,
            id: key.to_string(),
        }
    }

    fn keys(page: &Listed<Row, u32>) -> Vec<u32> {
        page.items.iter().map(|r| r.0).collect()
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        let first = assemble(
            vec![Row(1), Row(2), Row(3)],
            &Slice {
                size: 2,
                seek: None,
            },
        );
        assert_eq!(keys(&first), [1, 2]);
        assert_eq!(
            (first.next, first.previous),
            (Some(Seek::After(at(2))), None)
        );

        let last = assemble(
            vec![Row(3)],
            &Slice {
                size: 2,
                seek: Some(Seek::After(at(2))),
            },
        );
        assert_eq!(
            (last.next, last.previous),
            (None, Some(Seek::Before(at(3))))
        );

        // Read backwards (newest first) and handed out oldest first.
        let back = assemble(
            vec![Row(4), Row(3), Row(2)],
            &Slice {
                size: 2,
                seek: Some(Seek::Before(at(5))),
            },
        );
        assert_eq!(keys(&back), [3, 4]);
        assert_eq!(
            (back.next, back.previous),
            (Some(Seek::After(at(4))), Some(Seek::Before(at(3))))
        );
        let start = assemble(
            vec![Row(2), Row(1)],
            &Slice {
                size: 2,
                seek: Some(Seek::Before(at(3))),
            },
        );
        assert_eq!(
            (start.next, start.previous),
            (Some(Seek::After(at(2))), None)
        );
    }
}
