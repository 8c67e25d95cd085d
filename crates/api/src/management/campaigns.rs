//! `/campaigns/`: a pre-configured offer with its gateway, hosted page, webhook profile and
//! attempt limit. Prices are stored in minor units and shown as decimal strings.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::billing::{
    BillingFrequency, BillingType, Pricing, PricingInput, TrialIntervalUnit,
};
use catalyst_domain::dunning::{DunningLadder, MAX_NOTICE_DAYS};
use catalyst_domain::money::{Currency, Money, MoneyError, parse_amount_json};
use catalyst_domain::session::{
    CURRENCY_CHANGED_REQUIRED, CampaignOffer, DEFAULT_MAX_PAYMENT_ATTEMPTS, MAX_PAYMENT_ATTEMPTS,
    MAX_TRIAL_PERIOD,
};
use catalyst_domain::validation::messages;
use catalyst_domain::{CampaignId, DuplicatePolicy, TenantId};
use catalyst_store::billing::Plan;
use catalyst_store::{
    Campaign, DbConnection, Gateway, HostedPage, Page, PageRequest, WebhookProfile, now,
};
use serde_json::{Value, json};

use super::fields::{Fields, boolean, choice, int, text, url, uuid};
use super::{found, write};
use crate::auth::Operator;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::idempotency;
use crate::listing::{self, Render, Resource};
use crate::schemas::management::campaigns::{
    Campaign as CampaignBody, CampaignCreate, CampaignUpdate,
};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::{money, timestamp};

const FIELDS: &[&str] = &[
    "name",
    "gateway_id",
    "offer",
    "hosted_page_id",
    "webhook_profile_id",
    "max_payment_attempts",
    "duplicate_policy",
    "success_redirect_url",
    "failure_redirect_url",
    "active",
    "dunning_ladder",
    "prenotification_days",
];
const OFFER_FIELDS: &[&str] = &[
    "name",
    "price",
    "currency",
    "billing_type",
    "billing_frequency",
    "trial_period",
    "trial_interval_unit",
    "trial_price",
    "product_name",
    "product_description",
];

/// Longest `offer.product_description`.
const DESCRIPTION_MAX_LEN: usize = 2000;

fn render(k: &Campaign) -> Result<Value, ApiError> {
    // The effective billing terms: the campaign's, else the defaults.
    let plan = Plan::of_campaign(Some(k))?;
    let trial_price = k
        .trial_price_minor
        .map(|minor| money(minor, &k.currency))
        .transpose()?;
    Ok(json!({
        "id": k.id, "name": k.name, "gateway_id": k.gateway_id,
        "offer": {
            "name": k.offer_name, "price": money(k.price_minor, &k.currency)?, "currency": k.currency,
            "billing_type": k.billing_type, "billing_frequency": k.billing_frequency,
            "trial_period": k.trial_period, "trial_interval_unit": k.trial_interval_unit,
            "trial_price": trial_price, "product_name": k.product_name,
            "product_description": k.product_description,
        },
        "hosted_page_id": k.hosted_page_id, "webhook_profile_id": k.webhook_profile_id,
        "max_payment_attempts": k.max_payment_attempts, "duplicate_policy": k.duplicate_policy,
        "success_redirect_url": k.success_redirect_url, "failure_redirect_url": k.failure_redirect_url,
        "active": k.active, "created_at": timestamp(k.created_at), "updated_at": timestamp(k.updated_at),
        "dunning_ladder": plan.dunning_ladder.waits(), "prenotification_days": plan.notice_days,
    }))
}

impl Render for Campaign {
    fn render(&self) -> Result<Value, ApiError> {
        render(self)
    }
}

impl Resource for Campaign {
    fn page(
        c: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError> {
        Ok(Campaign::page(c, tenant, page)?)
    }

    fn find(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        Ok(Campaign::find(c, tenant, &id.into())?)
    }
}

/// A dunning ladder: a JSON array of whole numbers of days (`[3, 5, 7]`), each 1–60, at most
/// 10; `[]` never retries. Stored as `3,5,7`.
fn dunning_ladder(v: &Value) -> Result<DunningLadder, String> {
    const EXPECTED: &str = "Expected a list of whole numbers of days, e.g. [3, 5, 7].";
    let items = v.as_array().ok_or(EXPECTED)?;
    let waits = items
        .iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .ok_or(EXPECTED)
        })
        .collect::<Result<Vec<u32>, _>>()?;
    DunningLadder::new(waits)
}

/// An upper-case ISO 4217 code.
fn currency(v: &Value) -> Result<Currency, String> {
    match v {
        Value::String(s) => Currency::parse(s).map_err(|e| e.to_string()),
        other => Err(messages::invalid_choice(&other.to_string())),
    }
}

/// An amount in `currency`, zero allowed.
fn amount(currency: Currency) -> impl FnOnce(&Value) -> Result<Money, String> {
    move |v| parse_amount_json(v, currency).map_err(|e| e.to_string())
}

/// An amount in `currency` greater than zero.
fn positive_amount(currency: Currency) -> impl FnOnce(&Value) -> Result<Money, String> {
    move |v| match amount(currency)(v)? {
        m if m.is_zero() => Err(MoneyError::NotPositive.to_string()),
        m => Ok(m),
    }
}

/// A trial length.
fn trial_length(v: &Value) -> Result<u32, String> {
    int(1, i64::from(MAX_TRIAL_PERIOD))(v)
        .and_then(|n| u32::try_from(n).map_err(|_| messages::INVALID_INTEGER.to_owned()))
}

/// A nullable pricing field: the value sent (`null` clears it), else `inherited`. A value that
/// failed to parse (its error is already recorded) counts as sent: `placeholder` stands in for
/// it so that the combination check does not call it missing as well.
fn merge<T>(
    o: &mut Fields,
    key: &str,
    parse: impl FnOnce(&Value) -> Result<T, String>,
    inherited: Option<T>,
    placeholder: T,
) -> Option<T> {
    match o.nullable(key, parse) {
        Some(sent) => sent,
        None if o.raw(key).is_some() => Some(placeholder),
        None => inherited,
    }
}

/// Reads `offer` into the campaign. On `PATCH` the fields sent are merged with the `stored`
/// offer — stored frequency or trial fields that a newly sent billing type does not take are
/// dropped — and the whole pricing combination is checked again. Returns the offer's currency
/// when it is known.
fn apply_offer(
    o: &mut Fields,
    k: &mut Campaign,
    stored: Option<&CampaignOffer>,
) -> Option<Currency> {
    if let Some(name) = o.required("name", text(255)) {
        k.offer_name = name;
    }
    if let Some(name) = o.nullable("product_name", text(255)) {
        k.product_name = name;
    }
    if let Some(description) = o.nullable("product_description", text(DESCRIPTION_MAX_LEN)) {
        k.product_description = description;
    }

    let sent_type = o.required("billing_type", choice::<BillingType>);
    let billing_type = match o.raw("billing_type") {
        Some(_) => sent_type,
        None => stored.map(|s| s.billing_type),
    };
    let recurring = billing_type.is_some_and(BillingType::is_recurring);
    let with_trial = billing_type.is_some_and(BillingType::has_trial);
    let stored_trial = stored.and_then(|s| s.trial).filter(|_| with_trial);
    let billing_frequency = merge(
        o,
        "billing_frequency",
        choice::<BillingFrequency>,
        stored
            .and_then(|s| s.billing_frequency)
            .filter(|_| recurring),
        BillingFrequency::Monthly,
    );
    let trial_period = merge(
        o,
        "trial_period",
        trial_length,
        stored_trial.map(|t| t.period),
        1,
    );
    let trial_interval_unit = merge(
        o,
        "trial_interval_unit",
        choice::<TrialIntervalUnit>,
        stored_trial.map(|t| t.unit),
        TrialIntervalUnit::Day,
    );

    let sent_currency = o.required("currency", currency);
    let currency = match o.raw("currency") {
        Some(_) => sent_currency,
        None => stored.map(|s| s.price.currency()),
    }?;
    let changed = stored.is_some_and(|s| s.price.currency() != currency);
    let zero = Money::zero(currency);
    let price_sent = o.raw("price").is_some();
    let price = match o.required("price", positive_amount(currency)) {
        Some(price) => price,
        // Invalid: its error is recorded.
        None if price_sent => zero,
        None if changed => {
            o.error("price", CURRENCY_CHANGED_REQUIRED);
            zero
        }
        // Inherited; on create "required" is recorded and `stored` is `None`.
        None => stored.map_or(zero, |s| s.price),
    };
    let stored_trial_price = stored_trial.map(|t| t.price);
    let trial_price = match o.nullable("trial_price", amount(currency)) {
        Some(sent) => sent,
        None if o.raw("trial_price").is_some() => Some(zero),
        None if changed && stored_trial_price.is_some() => {
            o.error("trial_price", CURRENCY_CHANGED_REQUIRED);
            Some(zero)
        }
        None => stored_trial_price,
    };

    if let Some(billing_type) = billing_type {
        let input = PricingInput {
            amount: price,
            billing_type,
            billing_frequency,
            trial_period,
            trial_interval_unit,
            trial_price,
        };
        match Pricing::validate(input) {
            Ok(pricing) if o.errors.is_empty() => set_pricing(k, &pricing),
            Ok(_) => {}
            Err(errors) => o.errors.merge_if_absent(errors),
        }
    }
    Some(currency)
}

fn set_pricing(k: &mut Campaign, p: &Pricing) {
    let trial = p.trial();
    k.price_minor = p.amount().minor();
    k.currency = p.amount().currency().code().to_owned();
    k.billing_type = p.billing_type().as_str().to_owned();
    k.billing_frequency = p.billing_frequency().map(|f| f.as_str().to_owned());
    k.trial_period = trial.and_then(|t| i32::try_from(t.period).ok());
    k.trial_interval_unit = trial.map(|t| t.unit.as_str().to_owned());
    k.trial_price_minor = trial.map(|t| t.price.minor());
}

/// Sets `k.gateway_id` from the request: an active gateway of the tenant. Returns the
/// campaign's gateway (the stored one when none is sent), if known.
fn apply_gateway(
    c: &mut DbConnection,
    f: &mut Fields,
    k: &mut Campaign,
) -> Result<Option<Gateway>, ApiError> {
    match f.required("gateway_id", uuid) {
        Some(id) => {
            let gateway =
                found(Gateway::find(c, &k.tenant_id, &id.as_str().into()))?.filter(|g| g.active);
            match &gateway {
                Some(g) => k.gateway_id = g.id.clone(),
                None => f.error("gateway_id", "No active gateway with this id."),
            }
            Ok(gateway)
        }
        None if f.creating() || f.raw("gateway_id").is_some() => Ok(None),
        None => Ok(found(Gateway::find(c, &k.tenant_id, &k.gateway_id))?),
    }
}

/// Reads the nullable reference `key`: `null` clears it, an id must name an active row of the
/// tenant (`exists`).
fn apply_reference<I: From<String>>(
    f: &mut Fields,
    key: &str,
    target: &mut Option<I>,
    what: &str,
    mut exists: impl FnMut(&I) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    match f.nullable(key, uuid) {
        Some(Some(id)) => {
            let id = I::from(id);
            if exists(&id)? {
                *target = Some(id);
            } else {
                f.error(key, format!("No active {what} with this id."));
            }
        }
        Some(None) => *target = None,
        None => {}
    }
    Ok(())
}

fn apply(
    c: &mut DbConnection,
    k: &mut Campaign,
    body: &Value,
    creating: bool,
) -> Result<(), ApiError> {
    let stored = if creating { None } else { Some(k.offer()?) };
    let mut f = Fields::new(body, FIELDS, creating)?;
    if let Some(name) = f.required("name", text(255)) {
        k.name = name;
    }
    let gateway = apply_gateway(c, &mut f, k)?;
    let offer_currency = f
        .nested("offer", OFFER_FIELDS, true, |o| {
            apply_offer(o, k, stored.as_ref())
        })
        .flatten()
        .map(|c| c.code().to_owned())
        .or_else(|| {
            stored
                .as_ref()
                .map(|s| s.price.currency().code().to_owned())
        });
    if let (Some(g), Some(code)) = (&gateway, offer_currency)
        && code != g.currency
        && !f.errors.contains("offer.currency")
    {
        f.error(
            "offer.currency",
            format!("The gateway collects {} only.", g.currency),
        );
    }
    let tenant = k.tenant_id.clone();
    apply_reference(
        &mut f,
        "hosted_page_id",
        &mut k.hosted_page_id,
        "hosted page",
        |id| Ok(found(HostedPage::find(c, &tenant, id))?.is_some_and(|p| p.active)),
    )?;
    apply_reference(
        &mut f,
        "webhook_profile_id",
        &mut k.webhook_profile_id,
        "webhook profile",
        |id| Ok(found(WebhookProfile::find(c, &tenant, id))?.is_some_and(|p| p.active)),
    )?;
    let max_attempts = int(1, i64::from(MAX_PAYMENT_ATTEMPTS));
    if let Some(n) = f.set("max_payment_attempts", max_attempts) {
        k.max_payment_attempts = i32::try_from(n).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    if let Some(policy) = f.set("duplicate_policy", choice::<DuplicatePolicy>) {
        k.duplicate_policy = policy.as_str().to_owned();
    }
    if let Some(u) = f.nullable("success_redirect_url", url) {
        k.success_redirect_url = u;
    }
    if let Some(u) = f.nullable("failure_redirect_url", url) {
        k.failure_redirect_url = u;
    }
    if let Some(active) = f.set("active", boolean) {
        k.active = active;
    }
    if let Some(ladder) = f.nullable("dunning_ladder", dunning_ladder) {
        k.dunning_ladder = ladder.map(|l| l.to_string());
    }
    let notice_days = int(0, i64::from(MAX_NOTICE_DAYS));
    if let Some(days) = f.nullable("prenotification_days", notice_days) {
        k.prenotification_days = days
            .map(i32::try_from)
            .transpose()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    f.finish()
}

/// `POST /campaigns/`.
#[utoipa::path(post, path = "/api/v1/campaigns/", tag = "management", request_body = CampaignCreate, security(("bearer" = [])),
    responses((status = 201, body = CampaignBody, description = "Created"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    idempotency::run(&state, &m.tenant_id, &req, &body.raw, || async {
        let tenant = m.tenant_id.clone();
        let value = body.value.clone();
        let row = write(&state, move |c| {
            let at = now();
            let mut k = Campaign {
                id: CampaignId::new(),
                tenant_id: tenant,
                name: String::new(),
                gateway_id: String::new().into(),
                offer_name: String::new(),
                price_minor: 0,
                currency: String::new(),
                billing_type: String::new(),
                billing_frequency: None,
                trial_period: None,
                trial_interval_unit: None,
                trial_price_minor: None,
                product_name: None,
                product_description: None,
                hosted_page_id: None,
                webhook_profile_id: None,
                max_payment_attempts: i32::from(DEFAULT_MAX_PAYMENT_ATTEMPTS),
                duplicate_policy: DuplicatePolicy::default().as_str().to_owned(),
                success_redirect_url: None,
                failure_redirect_url: None,
                active: true,
                created_at: at,
                updated_at: at,
                dunning_ladder: None,
                prenotification_days: None,
            };
            apply(c, &mut k, &value, true)?;
            k.insert(c)?;
            Ok(k)
        })
        .await?;
        Ok((StatusCode::CREATED, render(&row)?))
    })
    .await
}

/// `GET /campaigns/`.
#[utoipa::path(get, path = "/api/v1/campaigns/", tag = "management", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<CampaignBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    listing::list::<Campaign>(&state, m.tenant_id, &req).await
}

/// `GET /campaigns/{id}/`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CampaignBody, description = "The campaign"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve::<Campaign>(&state, m.tenant_id, id.into_inner()).await
}

/// `PATCH /campaigns/{id}/` — `offer` may be partial: it is merged with the stored offer.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CampaignUpdate,
    responses((status = 200, body = CampaignBody, description = "The campaign, updated"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn update(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut k = Campaign::find(c, &m.tenant_id, &id.as_str().into())?;
        apply(c, &mut k, &body.value, false)?;
        k.updated_at = now();
        k.save(c)?;
        Ok(k)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)?))
}

/// `DELETE /campaigns/{id}/` — deactivates: no new sessions; existing ones are unaffected.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CampaignBody, description = "The campaign, `active: false`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut k = Campaign::find(c, &m.tenant_id, &id.as_str().into())?;
        if k.active {
            k.active = false;
            k.updated_at = now();
            k.save(c)?;
        }
        Ok(k)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)?))
}
