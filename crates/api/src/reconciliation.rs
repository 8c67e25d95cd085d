//! The reconciliation API (API.md §6) for `rk_`/`sk_` keys:
//! `GET /reconciliation/transactions/`, `/chargebacks/`, `/subscriptions/`.
//!
//! Query parameters (every problem → 400 `validation_error` under the parameter's name;
//! unknown parameters too):
//!
//! | parameter | meaning |
//! |---|---|
//! | `start_date` | required, `YYYY-MM-DD`, first day (UTC) of the listing's date field |
//! | `end_date` | last day, inclusive; at most 90 days after `start_date`; default `start_date` + 90 days |
//! | `status`, `type` | comma-separated lists (or repeated), case-insensitive; see each listing |
//! | `payment_gateway_id` | one of the tenant's gateways |
//! | `format` | `json` (default), `xml`, `csv` |
//! | `page_size` | 1–1000, default 100 |
//! | `cursor` | from a `next`/`previous` link; bound to its listing |
//! | `next_billing_date_from`, `_to` | subscriptions only; inclusive days |
//!
//! Rows come oldest first by `(date field, id)` and are paged by keyset, so rows written while
//! a client pages never cause a skipped or repeated row. The date field is `date_processed` for
//! transactions (pending transactions have none and are not listed: `status=pending` is
//! refused), `report_date` for chargebacks, `created_at` for subscriptions. Links: JSON carries
//! `next`/`previous` absolute URLs, XML the same as attributes of the root; every format also
//! sends `Link: <url>; rel="next", <url>; rel="prev"` and `X-Next-Cursor`/`X-Previous-Cursor`.
//! IBANs are masked to full length (`******************3000`). Responses are `no-store`.

mod params;
mod render;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::{GatewayId, TenantId};
use catalyst_store::reconciliation::{
    self, CHARGEBACK_KINDS, ChargebackFilter, ChargebackLine, Listed, Listing, MandateSummary,
    SortKey, SubscriptionFilter, SubscriptionLine, TransactionFilter, TransactionLine,
};
use catalyst_store::{DbConnection, Gateway, StoreError, StoreResult};
use chrono::{NaiveDate, NaiveDateTime};
use utoipa::IntoParams;

use self::params::{Choices, Params, Spec};
use self::render::{Links, Record, Table};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::schemas::reconciliation::{
    ReconciliationChargeback, ReconciliationFormat, ReconciliationSubscription,
    ReconciliationTransaction,
};
use crate::schemas::{ErrorBody, Page};
use crate::state::AppState;
use crate::views::{money, timestamp};

pub use self::params::{Format, MAX_WINDOW_DAYS};

/// Fields of a transaction record, in column order.
pub const TRANSACTION_FIELDS: &[&str] = &[
    "id",
    "merchant_transaction_id",
    "gateway_reference",
    "tenant_reference_id",
    "type",
    "status",
    "amount",
    "currency",
    "date_processed",
    "created_at",
    "updated_at",
    "session_token",
    "order_id",
    "order_number",
    "payment_gateway_id",
    "iban",
    "bic",
    "bank_name",
    "mandate_reference",
    "sequence_type",
    "error_code",
    "error_message",
    "gateway_code",
];

/// Fields of a chargeback record, in column order.
pub const CHARGEBACK_FIELDS: &[&str] = &[
    "id",
    "transaction_id",
    "merchant_transaction_id",
    "tenant_reference_id",
    "kind",
    "reason_code",
    "reason_description",
    "error_code",
    "amount",
    "currency",
    "report_date",
    "created_at",
    "gateway_reference",
    "order_number",
    "payment_gateway_id",
    "iban",
    "mandate_reference",
];

/// Fields of a subscription record, in column order.
pub const SUBSCRIPTION_FIELDS: &[&str] = &[
    "id",
    "status",
    "billing_frequency",
    "amount",
    "currency",
    "next_billing_date",
    "created_at",
    "updated_at",
    "session_token",
    "order_number",
    "customer_id",
    "payment_gateway_id",
    "iban",
    "mandate_reference",
];

/// Transaction statuses a listing can filter on (`pending` ones are not listed).
pub const TRANSACTION_STATUSES: &[&str] = &["approved", "declined", "refunded", "charged_back"];
/// Transaction types (API.md §3.5).
pub const TRANSACTION_TYPES: &[&str] = &["sdd_sale", "sdd_rebill", "sdd_refund", "other_type"];
/// Subscription statuses (API.md §3.8).
pub const SUBSCRIPTION_STATUSES: &[&str] = &[
    "PENDING_ACTIVATION",
    "ACTIVE",
    "PENDING",
    "PAST_DUE",
    "PAUSED",
    "CANCELLED",
    "EXPIRED",
    "CHARGEDBACK",
    "FAILED",
];

/// A listing's parameters and its shape in every format.
struct Endpoint {
    spec: Spec,
    root: &'static str,
    element: &'static str,
    columns: &'static [&'static str],
}

const TRANSACTIONS: Endpoint = Endpoint {
    spec: Spec {
        listing: Listing::Transactions,
        status: Choices::OneOf(
            TRANSACTION_STATUSES,
            &[(
                "pending",
                "Pending transactions have no date_processed and are not listed.",
            )],
        ),
        kind: Choices::OneOf(TRANSACTION_TYPES, &[]),
        next_billing: false,
    },
    root: "transactions",
    element: "transaction",
    columns: TRANSACTION_FIELDS,
};

const CHARGEBACKS: Endpoint = Endpoint {
    spec: Spec {
        listing: Listing::Chargebacks,
        status: Choices::NotApplicable(
            "Chargebacks have no status; filter by type (chargeback, return).",
        ),
        kind: Choices::OneOf(CHARGEBACK_KINDS, &[]),
        next_billing: false,
    },
    root: "chargebacks",
    element: "chargeback",
    columns: CHARGEBACK_FIELDS,
};

const SUBSCRIPTIONS: Endpoint = Endpoint {
    spec: Spec {
        listing: Listing::Subscriptions,
        status: Choices::OneOf(SUBSCRIPTION_STATUSES, &[]),
        kind: Choices::NotApplicable("Subscriptions have no type; filter by status."),
        next_billing: true,
    },
    root: "subscriptions",
    element: "subscription",
    columns: SUBSCRIPTION_FIELDS,
};

/// Query parameters shared by the three listings.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListingQuery {
    /// First day (UTC, inclusive) of the listing's date field, `YYYY-MM-DD`.
    start_date: NaiveDate,
    /// Last day (inclusive), at most 90 days after `start_date`; default `start_date` + 90 days.
    end_date: Option<NaiveDate>,
    /// Comma-separated statuses.
    status: Option<String>,
    /// Comma-separated types.
    r#type: Option<String>,
    /// Only this gateway of the tenant.
    payment_gateway_id: Option<uuid::Uuid>,
    /// Default `json`.
    format: Option<ReconciliationFormat>,
    /// Default 100.
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<u32>,
    /// Opaque cursor from a `next`/`previous` link.
    cursor: Option<String>,
}

/// The subscriptions listing's extra parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct NextBillingQuery {
    /// `next_billing_date` on or after this day.
    next_billing_date_from: Option<NaiveDate>,
    /// `next_billing_date` on or before this day.
    next_billing_date_to: Option<NaiveDate>,
}

/// `GET /api/v1/reconciliation/transactions/` — processed transactions by `date_processed`.
/// `status`: `approved`, `declined`, `refunded`, `charged_back`; `type`: `sdd_sale`,
/// `sdd_rebill`, `sdd_refund`, `other_type`.
#[utoipa::path(get, path = "/api/v1/reconciliation/transactions/", tag = "reconciliation",
    security(("bearer" = [])), params(ListingQuery),
    responses((status = 200, description = "One page, oldest first, in the asked `format`: JSON `{next, previous, results}`, XML or CSV; links also in `Link`, `X-Next-Cursor` and `X-Previous-Cursor`",
            headers(("Link" = String, description = "`<url>; rel=\"next\"`, `<url>; rel=\"prev\"` when there are such pages"),
                ("X-Next-Cursor" = String, description = "The next page's cursor, when there is one"),
                ("X-Previous-Cursor" = String, description = "The previous page's cursor, when there is one")),
            content((Page<ReconciliationTransaction> = "application/json"), (String = "application/xml"), (String = "text/csv"))),
        (status = 400, body = ErrorBody, description = "validation_error naming the parameter (unknown parameters too)"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn transactions(
    state: web::Data<AppState>,
    merchant: Merchant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    serve::<TransactionReport>(&state, merchant, &req).await
}

/// `GET /api/v1/reconciliation/chargebacks/` — chargebacks and returns by `report_date`.
/// `type`: `chargeback`, `return`; `status` does not apply.
#[utoipa::path(get, path = "/api/v1/reconciliation/chargebacks/", tag = "reconciliation",
    security(("bearer" = [])), params(ListingQuery),
    responses((status = 200, description = "One page, oldest first, in the asked `format`: JSON `{next, previous, results}`, XML or CSV; links also in `Link`, `X-Next-Cursor` and `X-Previous-Cursor`",
            headers(("Link" = String, description = "`<url>; rel=\"next\"`, `<url>; rel=\"prev\"` when there are such pages"),
                ("X-Next-Cursor" = String, description = "The next page's cursor, when there is one"),
                ("X-Previous-Cursor" = String, description = "The previous page's cursor, when there is one")),
            content((Page<ReconciliationChargeback> = "application/json"), (String = "application/xml"), (String = "text/csv"))),
        (status = 400, body = ErrorBody, description = "validation_error naming the parameter (unknown parameters too)"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn chargebacks(
    state: web::Data<AppState>,
    merchant: Merchant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    serve::<ChargebackReport>(&state, merchant, &req).await
}

/// `GET /api/v1/reconciliation/subscriptions/` — subscriptions by `created_at`, optionally
/// within a `next_billing_date` range. `status`: the subscription statuses of API.md §3.8;
/// `type` does not apply.
#[utoipa::path(get, path = "/api/v1/reconciliation/subscriptions/", tag = "reconciliation",
    security(("bearer" = [])), params(ListingQuery, NextBillingQuery),
    responses((status = 200, description = "One page, oldest first, in the asked `format`: JSON `{next, previous, results}`, XML or CSV; links also in `Link`, `X-Next-Cursor` and `X-Previous-Cursor`",
            headers(("Link" = String, description = "`<url>; rel=\"next\"`, `<url>; rel=\"prev\"` when there are such pages"),
                ("X-Next-Cursor" = String, description = "The next page's cursor, when there is one"),
                ("X-Previous-Cursor" = String, description = "The previous page's cursor, when there is one")),
            content((Page<ReconciliationSubscription> = "application/json"), (String = "application/xml"), (String = "text/csv"))),
        (status = 400, body = ErrorBody, description = "validation_error naming the parameter (unknown parameters too)"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn subscriptions(
    state: web::Data<AppState>,
    merchant: Merchant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    serve::<SubscriptionReport>(&state, merchant, &req).await
}

/// One listing: its endpoint, its rows, how a page is loaded and how a row is written.
trait Report {
    /// The date field rows are ordered by.
    type Key: SortKey + Send + 'static;
    /// A row with what its record needs.
    type Line: Send + 'static;
    /// The listing's parameters and output format.
    const ENDPOINT: &'static Endpoint;

    /// One page of the tenant's rows for the checked parameters.
    fn load(
        conn: &mut DbConnection,
        tenant: &TenantId,
        params: &Params<Self::Key>,
    ) -> StoreResult<Listed<Self::Line, Self::Key>>;

    /// A row's fields, in column order.
    fn record(line: &Self::Line) -> Result<Record, ApiError>;
}

/// `/reconciliation/transactions/`.
struct TransactionReport;

impl Report for TransactionReport {
    type Key = NaiveDateTime;
    type Line = TransactionLine;
    const ENDPOINT: &'static Endpoint = &TRANSACTIONS;

    fn load(
        conn: &mut DbConnection,
        tenant: &TenantId,
        p: &Params<NaiveDateTime>,
    ) -> StoreResult<Listed<TransactionLine, NaiveDateTime>> {
        let filter = TransactionFilter {
            processed: p.days,
            statuses: p.statuses.clone(),
            kinds: p.kinds.clone(),
            gateway_id: p.gateway_id.clone().map(GatewayId::from),
        };
        reconciliation::transactions(conn, tenant, &filter, &p.slice)
    }

    fn record(line: &TransactionLine) -> Result<Record, ApiError> {
        transaction_record(line)
    }
}

/// `/reconciliation/chargebacks/`.
struct ChargebackReport;

impl Report for ChargebackReport {
    type Key = NaiveDate;
    type Line = ChargebackLine;
    const ENDPOINT: &'static Endpoint = &CHARGEBACKS;

    fn load(
        conn: &mut DbConnection,
        tenant: &TenantId,
        p: &Params<NaiveDate>,
    ) -> StoreResult<Listed<ChargebackLine, NaiveDate>> {
        let filter = ChargebackFilter {
            reported: p.days,
            kinds: p.kinds.clone(),
            gateway_id: p.gateway_id.clone().map(GatewayId::from),
        };
        reconciliation::chargebacks(conn, tenant, &filter, &p.slice)
    }

    fn record(line: &ChargebackLine) -> Result<Record, ApiError> {
        chargeback_record(line)
    }
}

/// `/reconciliation/subscriptions/`.
struct SubscriptionReport;

impl Report for SubscriptionReport {
    type Key = NaiveDateTime;
    type Line = SubscriptionLine;
    const ENDPOINT: &'static Endpoint = &SUBSCRIPTIONS;

    fn load(
        conn: &mut DbConnection,
        tenant: &TenantId,
        p: &Params<NaiveDateTime>,
    ) -> StoreResult<Listed<SubscriptionLine, NaiveDateTime>> {
        let filter = SubscriptionFilter {
            created: p.days,
            statuses: p.statuses.clone(),
            gateway_id: p.gateway_id.clone().map(GatewayId::from),
            next_billing_from: p.next_billing_from,
            next_billing_to: p.next_billing_to,
        };
        reconciliation::subscriptions(conn, tenant, &filter, &p.slice)
    }

    fn record(line: &SubscriptionLine) -> Result<Record, ApiError> {
        subscription_record(line)
    }
}

/// Checks the query, loads one page of the tenant's rows and answers in the asked format.
async fn serve<R: Report>(
    state: &AppState,
    merchant: Merchant,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let endpoint = R::ENDPOINT;
    let params = params::parse::<R::Key>(req.query_string(), &endpoint.spec)?;
    let format = params.format;
    let tenant = merchant.tenant_id;
    let page = crate::management::read(state, move |c| {
        if let Some(id) = &params.gateway_id {
            known_gateway(c, &tenant, id)?;
        }
        Ok(R::load(c, &tenant, &params)?)
    })
    .await?;
    let mut table = Table::new(endpoint.columns);
    for item in &page.items {
        table.push(R::record(item)?)?;
    }
    let listing = endpoint.spec.listing;
    let next = page.next.map(|s| s.encode(listing));
    let previous = page.previous.map(|s| s.encode(listing));
    let public_url = &state.config.public_url;
    let links = Links {
        next: next.as_deref().map(|c| link(req, public_url, c)),
        previous: previous.as_deref().map(|c| link(req, public_url, c)),
    };

    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let mut link_header = Vec::new();
    for (rel, url) in [("next", &links.next), ("prev", &links.previous)] {
        if let Some(url) = url {
            link_header.push(format!("<{url}>; rel=\"{rel}\""));
        }
    }
    if !link_header.is_empty() {
        res.insert_header((header::LINK, link_header.join(", ")));
    }
    for (name, cursor) in [("X-Next-Cursor", next), ("X-Previous-Cursor", previous)] {
        if let Some(cursor) = cursor {
            res.insert_header((name, cursor));
        }
    }
    Ok(match format {
        Format::Json => res.json(render::json(&table, &links)),
        Format::Csv => res
            .content_type("text/csv; charset=utf-8")
            .body(render::csv(&table)?),
        Format::Xml => res
            .content_type("application/xml; charset=utf-8")
            .body(render::xml(endpoint.root, endpoint.element, &table, &links)),
    })
}

/// A `payment_gateway_id` filter must name one of the tenant's gateways (active or not).
fn known_gateway(conn: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<(), ApiError> {
    match Gateway::find(conn, tenant, &id.into()) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::field(
            "payment_gateway_id",
            "No gateway with this id.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// This request's absolute URL with `cursor` replaced; every other parameter is kept.
fn link(req: &HttpRequest, public_url: &str, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if k != "cursor" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("cursor", cursor);
    format!("{public_url}{}?{}", req.path(), query.finish())
}

/// `*` for every character of the IBAN but the last four. The length comes from the stored
/// mask (or, on rows stored before it existed, from the IBAN country); the stored mask itself is
/// never echoed, so a clear IBAN can never leak through it.
fn masked_iban(m: &MandateSummary) -> String {
    let len = if m.iban_masked.is_empty() {
        catalyst_sepa::country::lookup(&m.iban_country).map_or(8, |c| c.iban_length())
    } else {
        m.iban_masked.chars().count()
    };
    let chars: Vec<char> = m.iban_last4.chars().collect();
    let last4 = &chars[chars.len().saturating_sub(4)..];
    let mut out = "*".repeat(len.saturating_sub(last4.len()));
    out.extend(last4);
    out
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn transaction_record(line: &TransactionLine) -> Result<Record, ApiError> {
    let t = &line.transaction;
    Ok(vec![
        ("id", Some(t.id.to_string())),
        (
            "merchant_transaction_id",
            Some(t.merchant_transaction_id.clone()),
        ),
        ("gateway_reference", t.gateway_reference.clone()),
        ("tenant_reference_id", t.tenant_reference_id.clone()),
        ("type", Some(t.kind.as_str().to_owned())),
        ("status", Some(t.status.as_str().to_owned())),
        ("amount", Some(money(t.amount_minor, &t.currency)?)),
        ("currency", Some(t.currency.clone())),
        ("date_processed", Some(timestamp(line.date_processed))),
        ("created_at", Some(timestamp(t.created_at))),
        ("updated_at", Some(timestamp(t.updated_at))),
        ("session_token", line.session_token.clone()),
        ("order_id", Some(t.order_id.to_string())),
        ("order_number", Some(line.order_number.clone())),
        ("payment_gateway_id", Some(t.gateway_id.to_string())),
        ("iban", Some(masked_iban(&line.mandate))),
        ("bic", line.mandate.bic.clone()),
        ("bank_name", line.mandate.bank_name.clone()),
        ("mandate_reference", Some(line.mandate.reference.clone())),
        ("sequence_type", Some(t.sequence_type.as_str().to_owned())),
        ("error_code", t.error_code.clone()),
        ("error_message", t.error_message.clone()),
        ("gateway_code", t.gateway_code.clone()),
    ])
}

fn chargeback_record(c: &ChargebackLine) -> Result<Record, ApiError> {
    Ok(vec![
        ("id", Some(c.id.clone())),
        ("transaction_id", Some(c.transaction_id.to_string())),
        (
            "merchant_transaction_id",
            Some(c.merchant_transaction_id.clone()),
        ),
        ("tenant_reference_id", c.tenant_reference_id.clone()),
        ("kind", Some(c.kind.clone())),
        ("reason_code", c.reason_code.clone()),
        ("reason_description", c.reason_description.clone()),
        ("error_code", Some(c.error_code.clone())),
        ("amount", Some(money(c.amount_minor, &c.currency)?)),
        ("currency", Some(c.currency.clone())),
        ("report_date", Some(day(c.report_date))),
        ("created_at", Some(timestamp(c.created_at))),
        ("gateway_reference", c.gateway_reference.clone()),
        ("order_number", Some(c.order_number.clone())),
        ("payment_gateway_id", Some(c.gateway_id.to_string())),
        ("iban", Some(masked_iban(&c.mandate))),
        ("mandate_reference", Some(c.mandate.reference.clone())),
    ])
}

fn subscription_record(line: &SubscriptionLine) -> Result<Record, ApiError> {
    let s = &line.subscription;
    Ok(vec![
        ("id", Some(s.id.to_string())),
        ("status", Some(s.status.as_str().to_owned())),
        ("billing_frequency", Some(s.billing_frequency.clone())),
        ("amount", Some(money(s.amount_minor, &s.currency)?)),
        ("currency", Some(s.currency.clone())),
        ("next_billing_date", Some(day(s.next_billing_date))),
        ("created_at", Some(timestamp(s.created_at))),
        ("updated_at", Some(timestamp(s.updated_at))),
        ("session_token", line.session_token.clone()),
        ("order_number", Some(line.order_number.clone())),
        (
            "customer_id",
            s.customer_id.as_ref().map(ToString::to_string),
        ),
        ("payment_gateway_id", Some(s.gateway_id.to_string())),
        ("iban", Some(masked_iban(&line.mandate))),
        ("mandate_reference", Some(line.mandate.reference.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_statuses_are_the_domain_ones() {
        let domain: Vec<&str> = catalyst_domain::SubscriptionStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(SUBSCRIPTION_STATUSES, domain.as_slice());
    }

    #[test]
    fn ibans_are_masked_to_full_length_whatever_is_stored() {
        let mandate = |masked: &str, country: &str| MandateSummary {
            reference: "MAND-ORD-1".into(),
            iban_masked: masked.into(),
            iban_last4: "3000".into(),
            iban_country: country.into(),
            bic: None,
            bank_name: None,
        };
        assert_eq!(
            masked_iban(&mandate("******************3000", "DE")),
            "******************3000"
        );
        assert_eq!(
            masked_iban(&mandate("DE89370400440532013000", "DE")),
            "******************3000"
        );
        assert_eq!(masked_iban(&mandate("", "DE")), "******************3000");
        assert_eq!(masked_iban(&mandate("", "GB")), "******************3000");
        assert_eq!(
            masked_iban(&mandate("", "FR")),
            "***********************3000"
        );
    }
}
