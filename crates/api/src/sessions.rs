//! Payment sessions: create (§3.1), retrieve (§3.2), cancel (§3.7).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::session::{CreateSessionRequest, Locale, SessionTerms};
use catalyst_domain::token::SessionToken;
use catalyst_domain::{DuplicatePolicy, OrderStatus, SessionStatus, TenantId};
use catalyst_store::checkout::CreateSessionError;
use catalyst_store::{
    Campaign, DbConnection, Gateway, HostedPage, Lead, Order, PaymentSession, StoreError,
    WebhookProfile, now,
};
use serde_json::{Value, json};

use crate::auth::{Merchant, MerchantKey};
use crate::body::JsonBody;
use crate::db;
use crate::error::{ApiError, Conflict};
use crate::schemas::ErrorBody;
use crate::schemas::sessions::{Session, SessionCreateRequest, SessionCreated};
use crate::state::AppState;
use crate::{idempotency, views};

/// `POST /api/v1/payment-sessions/` — campaign or direct mode.
#[utoipa::path(post, path = "/api/v1/payment-sessions/", tag = "payment sessions",
    request_body = SessionCreateRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "At most 255 characters: the same key and body within 24 h replay the first answer")),
    security(("bearer" = [])),
    responses((status = 201, body = SessionCreated, description = "The session, `PENDING`, with its hosted page URL"),
        (status = 400, body = ErrorBody, description = "validation_error (`errors` names each field) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 409, body = ErrorBody, description = "duplicate_lead / idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn create(
    state: web::Data<AppState>,
    key: MerchantKey,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    let peer_ip = req.peer_addr().map(|a| a.ip().to_string());
    // A body error is answered only once the key is known to be good.
    let request = CreateSessionRequest::from_json(&body.value).map_err(ApiError::from);
    if !idempotency::requested(&req) {
        let (status, answer) = create_once(&state, Caller::Key(key), request, peer_ip).await?;
        return Ok(HttpResponse::build(status).json(answer));
    }
    let tenant = key.authenticate(&state).await?.tenant_id;
    idempotency::run(&state, &tenant, &req, &body.raw, || {
        create_once(&state, Caller::Tenant(tenant.clone()), request, peer_ip)
    })
    .await
}

/// Whose session is created.
enum Caller {
    /// A key to check in the create's own blocking step (no idempotency key: one step).
    Key(MerchantKey),
    /// The tenant of a key already checked.
    Tenant(TenantId),
}

/// One create: lead + session + order in one transaction, then `201` with the token.
async fn create_once(
    state: &AppState,
    caller: Caller,
    request: Result<CreateSessionRequest, ApiError>,
    peer_ip: Option<String>,
) -> Result<(StatusCode, Value), ApiError> {
    let created = db::read(&state.store, move |conn| {
        let tenant = match caller {
            Caller::Key(key) => key.verify(conn)?.tenant_id,
            Caller::Tenant(tenant) => tenant,
        };
        create_in_store(conn, &tenant, &request?, peer_ip)
    })
    .await?;
    state.events_written();
    let token = created.session.token;
    let public_url = &state.config.public_url;
    Ok((
        StatusCode::CREATED,
        json!({"session_token": token, "status": SessionStatus::Pending.as_str(),
               "payment_url": format!("{public_url}/s/{token}")}),
    ))
}

/// A row a create request refers to by id: missing or inactive is a 400 on `field`; a
/// database that cannot answer stays a database fault (503), never a "no such row".
fn active_reference<T>(
    row: Result<T, StoreError>,
    active: impl FnOnce(&T) -> bool,
    field: &str,
    message: &str,
) -> Result<T, ApiError> {
    crate::management::found(row)?
        .filter(active)
        .ok_or_else(|| ApiError::field(field, message))
}

/// Resolves campaign, gateway and optional references of the tenant, applies the pricing
/// rules, and writes lead + session + order in one transaction.
fn create_in_store(
    conn: &mut DbConnection,
    tenant: &TenantId,
    request: &CreateSessionRequest,
    peer_ip: Option<String>,
) -> Result<catalyst_store::checkout::CreatedSession, ApiError> {
    let campaign = match &request.campaign_id {
        Some(id) => Some(active_reference(
            Campaign::find(conn, tenant, id),
            |c| c.active,
            "campaign_id",
            "No active campaign with this id.",
        )?),
        None => None,
    };
    let gateway_id = match (&request.gateway_id, &campaign) {
        (Some(id), _) => id.clone(),
        (None, Some(c)) => c.gateway_id.clone(),
        (None, None) => {
            return Err(ApiError::field(
                "gateway_id",
                "This field is required in direct mode.",
            ));
        }
    };
    let gateway = active_reference(
        Gateway::find(conn, tenant, &gateway_id),
        |g| g.active,
        "gateway_id",
        "No active gateway with this id.",
    )?;
    let hosted_page_id = match &request.hosted_page_id {
        Some(id) => Some(
            active_reference(
                HostedPage::find(conn, tenant, id),
                |p| p.active,
                "hosted_page_id",
                "No active hosted page with this id.",
            )?
            .id,
        ),
        None => campaign.as_ref().and_then(|c| c.hosted_page_id.clone()),
    };
    let webhook_profile_id = match &request.webhook_profile_id {
        Some(id) => Some(
            active_reference(
                WebhookProfile::find(conn, tenant, id),
                |p| p.active,
                "webhook_profile_id",
                "No active webhook profile with this id.",
            )?
            .id,
        ),
        None => campaign.as_ref().and_then(|c| c.webhook_profile_id.clone()),
    };
    if let Some(id) = &request.customer_id {
        active_reference(
            catalyst_store::Customer::find(conn, tenant, id),
            |c| c.status == catalyst_domain::CustomerStatus::Active,
            "customer_id",
            "No active customer with this id.",
        )?;
    }
    let offer = campaign.as_ref().map(Campaign::offer).transpose()?;
    let campaign_attempts = campaign
        .as_ref()
        .and_then(|c| u8::try_from(c.max_payment_attempts).ok());
    let terms = request.resolve(offer.as_ref(), campaign_attempts)?;
    if terms.pricing.amount().currency().code() != gateway.currency {
        return Err(ApiError::field(
            "currency",
            format!(
                "The gateway does not support {}; it collects {}.",
                terms.pricing.amount().currency().code(),
                gateway.currency
            ),
        ));
    }

    let at = now();
    let lead = &request.lead;
    let lead_row = Lead {
        id: catalyst_domain::LeadId::new(),
        tenant_id: tenant.to_owned(),
        email: lead.email.clone(),
        email_normalized: lead.normalized_email(),
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        country: lead.country.clone(),
        address: lead.address.clone(),
        city: lead.city.clone(),
        postal_code: lead.postal_code.clone(),
        phone: lead.phone.clone(),
        created_at: at,
        updated_at: at,
    };
    let policy = match &campaign {
        Some(c) => c
            .duplicate_policy
            .parse()
            .map_err(|_| ApiError::Internal("stored duplicate policy".into()))?,
        None => DuplicatePolicy::Reuse,
    };
    let session = session_row(
        tenant,
        request,
        &terms,
        &campaign,
        &gateway,
        hosted_page_id,
        webhook_profile_id,
        peer_ip,
        at,
    );
    let order = Order {
        id: catalyst_domain::OrderId::new(),
        tenant_id: tenant.to_owned(),
        session_id: Some(session.id.clone()),
        lead_id: String::new().into(),
        order_number: new_order_number(),
        status: OrderStatus::PendingPaymentSubmission,
        amount_minor: session.amount_minor,
        currency: session.currency.clone(),
        created_at: at,
        updated_at: at,
        customer_id: None,
        webhook_profile_id: session.webhook_profile_id.clone(),
    };
    catalyst_store::checkout::create_session(
        conn,
        lead_row,
        policy,
        session,
        order,
        new_order_number,
    )
    .map_err(|e| match e {
        CreateSessionError::DuplicateLead => ApiError::Conflict(Conflict::DuplicateLead),
        CreateSessionError::Store(e) => e.into(),
    })
}

#[allow(clippy::too_many_arguments)]
fn session_row(
    tenant: &TenantId,
    request: &CreateSessionRequest,
    terms: &SessionTerms,
    campaign: &Option<Campaign>,
    gateway: &Gateway,
    hosted_page_id: Option<catalyst_domain::HostedPageId>,
    webhook_profile_id: Option<catalyst_domain::WebhookProfileId>,
    peer_ip: Option<String>,
    at: chrono::NaiveDateTime,
) -> PaymentSession {
    let pricing = &terms.pricing;
    let offer_snapshot = match campaign {
        Some(c) => {
            json!({"name": c.offer_name, "product_name": c.product_name, "product_description": c.product_description})
        }
        None => json!({"name": null, "product_name": null, "product_description": null}),
    };
    let line_items: Vec<Value> = terms
        .line_items
        .iter()
        .map(|item| {
            json!({"description": item.description, "amount_minor": item.amount.minor(),
                   "quantity": item.quantity, "external_product_num": item.external_product_num})
        })
        .collect();
    let locale = request
        .default_locale
        .unwrap_or_else(|| Locale::for_country(&request.lead.country));
    PaymentSession {
        id: catalyst_domain::SessionId::new(),
        tenant_id: tenant.to_owned(),
        token: SessionToken::generate().as_str().to_owned(),
        status: SessionStatus::Pending,
        mode: request.mode,
        campaign_id: campaign.as_ref().map(|c| c.id.clone()),
        gateway_id: gateway.id.clone(),
        hosted_page_id,
        webhook_profile_id,
        lead_id: String::new().into(),
        offer_snapshot: offer_snapshot.to_string(),
        amount_minor: pricing.amount().minor(),
        currency: pricing.amount().currency().code().to_owned(),
        billing_type: pricing.billing_type().as_str().to_owned(),
        billing_frequency: pricing.billing_frequency().map(|f| f.as_str().to_owned()),
        trial_period: pricing
            .trial()
            .as_ref()
            .and_then(|t| i32::try_from(t.period).ok()),
        trial_interval_unit: pricing.trial().as_ref().map(|t| t.unit.as_str().to_owned()),
        trial_price_minor: pricing.trial().as_ref().map(|t| t.price.minor()),
        offer_overrides: Value::Object(terms.offer_overrides.clone().into_iter().collect())
            .to_string(),
        max_payment_attempts: i32::from(terms.max_payment_attempts),
        attempts_used: 0,
        customer_id: request.customer_id.clone(),
        external_customer_id: request.external_customer_id.clone(),
        return_url: request.return_url.clone(),
        default_locale: locale.as_str().to_owned(),
        line_items: Value::Array(line_items).to_string(),
        metadata: serde_json::to_string(&request.metadata).unwrap_or_else(|_| "{}".into()),
        customer_ip: request.customer_ip.map(|ip| ip.to_string()).or(peer_ip),
        expires_at: at + chrono::Duration::seconds(i64::from(request.expires_in_seconds)),
        version: 0,
        created_at: at,
        updated_at: at,
    }
}

/// `ORD-` + 8 upper-case hex digits from the CSPRNG.
pub fn new_order_number() -> String {
    let bytes = uuid::Uuid::new_v4();
    let b = bytes.as_bytes();
    format!("ORD-{:08X}", u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Loads a session by token and applies expiry on read: a `PENDING` session past its
/// `expires_at` is moved to `EXPIRED` (and its order cancelled) before it is returned.
pub(crate) fn load_current(
    conn: &mut DbConnection,
    token: &str,
) -> Result<PaymentSession, ApiError> {
    if SessionToken::parse(token).is_err() {
        return Err(ApiError::NotFound);
    }
    let session = PaymentSession::find_by_token(conn, token)?;
    let at = now();
    if session.status == SessionStatus::Pending && session.expires_at <= at {
        catalyst_store::checkout::expire_session(conn, &session.id, at)?;
        return Ok(PaymentSession::find_by_token(conn, token)?);
    }
    Ok(session)
}

/// `GET /api/v1/payment-sessions/{token}/` — no auth; `browser_read` rate limit per IP.
#[utoipa::path(get, path = "/api/v1/payment-sessions/{token}/", tag = "payment sessions",
    params(("token" = String, Path, description = "`ps_…` session token")),
    responses((status = 200, body = Session, description = "Everything the hosted page needs"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 404, body = ErrorBody, description = "not_found: unknown token"),
        (status = 429, body = ErrorBody, description = "throttled: `browser_read` limit per IP (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn retrieve(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    state
        .browser_read
        .check(&ip)
        .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
    let token = token.into_inner();
    let body = db::read(&state.store, move |conn| {
        let session = load_current(conn, &token)?;
        views::session_body(conn, &session)
    })
    .await?;
    state.events_written();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/payment-sessions/{token}/cancel/` — `PENDING → EXPIRED`; the caller's tenant only.
#[utoipa::path(post, path = "/api/v1/payment-sessions/{token}/cancel/", tag = "payment sessions",
    params(("token" = String, Path, description = "`ps_…` session token")), security(("bearer" = [])),
    responses((status = 200, body = Session, description = "The session, now `EXPIRED`"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown token or another tenant's session"),
        (status = 409, body = ErrorBody, description = "session_not_cancellable: not `PENDING`"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn cancel(
    state: web::Data<AppState>,
    merchant: Merchant,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let body = db::read(&state.store, move |conn| {
        let session = load_current(conn, &token)?;
        if session.tenant_id != merchant.tenant_id {
            return Err(ApiError::NotFound);
        }
        if session.status != SessionStatus::Pending
            || !catalyst_store::checkout::expire_session(conn, &session.id, now())?
        {
            return Err(ApiError::Conflict(Conflict::SessionNotCancellable));
        }
        let session = PaymentSession::find_by_token(conn, &token)?;
        views::session_body(conn, &session)
    })
    .await?;
    state.events_written();
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;
    use catalyst_store::StoreError;

    use super::active_reference;

    fn status(found: Result<bool, StoreError>) -> Option<StatusCode> {
        active_reference(
            found,
            |active| *active,
            "campaign_id",
            "No active campaign.",
        )
        .err()
        .map(|e| e.status_code())
    }

    #[test]
    fn a_reference_the_database_could_not_look_up_is_503_not_400() {
        assert_eq!(status(Ok(true)), None);
        assert_eq!(status(Ok(false)), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            status(Err(StoreError::NotFound)),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(Err(StoreError::Unavailable("restarting".into()))),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
    }
}
