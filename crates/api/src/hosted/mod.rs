//! The hosted payment page (`/s/{token}`): offer, SEPA mandate and the IBAN form, one screen per
//! session state (the DOM contract of docs/API.md §3).
//!
//! Server-rendered HTML with every value escaped ([`view`]); the page's script (same origin, no
//! inline script, strict CSP) validates the IBAN with `/iban-validate/` as it is typed and pays
//! with `/pay/`. Without JavaScript the form posts to `/s/{token}`, which runs the same pay path
//! ([`crate::pay::pay_session`]) and answers 303 to the page or re-renders the form with the error.

pub mod i18n;
pub mod view;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use catalyst_domain::session::Locale;
use catalyst_domain::status::SessionStatus;
use catalyst_store::{Mandate, Order};
use serde_json::json;

use crate::db;
use crate::error::{ApiError, Conflict};
use crate::sessions::load_current;
use crate::state::AppState;
use crate::views;
use i18n::Messages;
use view::{FormEcho, PageData, Screen, TrialTerms};

const SCRIPT: &str = include_str!("pay.js");
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src https: data:; \
                   style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// Days of notice before a debit when the campaign sets none (API.md `prenotification_days`).
const DEFAULT_PRENOTIFICATION_DAYS: i64 = 5;
/// The largest form body `POST /s/{token}` reads.
const MAX_FORM_BYTES: usize = 4096;

async fn load(state: &AppState, token: String) -> Result<PageData, ApiError> {
    db::read(&state.store, move |conn| {
        let session = load_current(conn, &token)?;
        let config = views::SessionConfig::load(conn, &session)?;
        let body = views::session_body_with(conn, &session, &config)?;
        let order = Order::find_by_session(conn, &session.id)?;
        let latest = session.latest_transaction(conn)?;
        let creditor = config.creditor();
        let signed = match &latest {
            Some(t) => Some(Mandate::find(conn, &session.tenant_id, &t.mandate_id)?.signed_at),
            None => None,
        };
        let prenotification_days = config
            .campaign
            .as_ref()
            .and_then(|c| c.prenotification_days)
            .map_or(DEFAULT_PRENOTIFICATION_DAYS, i64::from);
        let trial = match (session.trial_period, &session.trial_interval_unit) {
            (Some(period), Some(unit)) => Some(TrialTerms {
                period: u32::try_from(period).unwrap_or_default(),
                unit: unit
                    .parse()
                    .map_err(|_| ApiError::Internal("stored trial unit".into()))?,
                price: views::money(
                    session.trial_price_minor.unwrap_or_default(),
                    &session.currency,
                )?,
            }),
            _ => None,
        };
        Ok::<_, ApiError>(PageData {
            session: body,
            mandate_reference: format!("MAND-{}", order.order_number),
            order_number: order.order_number,
            latest_status: latest.as_ref().map(|t| t.status),
            verification_url: latest.and_then(|t| t.verification_url),
            creditor_name: creditor.name,
            creditor_address: creditor.address,
            creditor_id: creditor.identifier,
            mandate_date: signed.unwrap_or_else(catalyst_store::now).date(),
            prenotification_days,
            trial,
            // A cancel expires the session before its time; running out happens after it.
            cancelled: session.status == SessionStatus::Expired
                && session.updated_at < session.expires_at,
        })
    })
    .await
}

fn locale_of(req: &HttpRequest, data: Option<&PageData>) -> Locale {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("locale").cloned());
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    view::choose_locale(
        query.as_deref(),
        data.and_then(|d| d.session["default_locale"].as_str()),
        accept,
    )
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}

async fn show(
    state: &AppState,
    req: &HttpRequest,
    token: String,
    status: actix_web::http::StatusCode,
    form: &FormEcho,
) -> Result<HttpResponse, ApiError> {
    match load(state, token).await {
        Ok(data) => {
            let locale = form.locale.unwrap_or_else(|| locale_of(req, Some(&data)));
            let screen = Screen::of(
                data.session["status"].as_str().unwrap_or_default(),
                data.latest_status,
                data.cancelled,
            );
            Ok(html(status, view::render(&data, locale, screen, form)))
        }
        Err(ApiError::NotFound) => Ok(html(
            actix_web::http::StatusCode::NOT_FOUND,
            view::not_found(locale_of(req, None)),
        )),
        Err(e) => Err(e),
    }
}

/// `GET /s/{token}` — the hosted payment page.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    show(
        &state,
        &req,
        token.into_inner(),
        actix_web::http::StatusCode::OK,
        &FormEcho::default(),
    )
    .await
}

/// 303 to the page, keeping `locale` in the query when given.
fn see_other(token: &str, locale: Option<Locale>) -> HttpResponse {
    let location = match locale {
        Some(l) => format!("/s/{token}?locale={}", l.as_str()),
        None => format!("/s/{token}"),
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The fields of an `application/x-www-form-urlencoded` body of at most [`MAX_FORM_BYTES`];
/// `None` for another content type, an oversize body or one that is not UTF-8.
fn form_fields(req: &HttpRequest, body: &[u8]) -> Option<Vec<(String, String)>> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_type || body.len() > MAX_FORM_BYTES || std::str::from_utf8(body).is_err() {
        return None;
    }
    Some(
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

fn bad_form() -> ApiError {
    ApiError::Validation(catalyst_domain::validation::ValidationErrors::single(
        "body",
        "Expected an application/x-www-form-urlencoded form of at most 4096 bytes.",
    ))
}

/// `POST /s/{token}` — the page's form without JavaScript: pays through `/pay/`'s path, then
/// answers 303 to the page (its new screen), or 400 with the form, the typed values and the error
/// (nothing written).
pub async fn pay_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let fields = form_fields(&req, &body).ok_or_else(bad_form)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (iban, holder) = (field("iban"), field("holder"));
    let locale_data = load(&state, token.clone()).await;
    // The page's hidden `locale` field: the language the payer chose, kept across the post.
    let chosen: Option<Locale> = field("locale").parse().ok();
    let default_locale = locale_data
        .as_ref()
        .ok()
        .and_then(|d| d.session["default_locale"].as_str())
        .and_then(|l| l.parse::<Locale>().ok());
    let redirect_locale = chosen.filter(|c| Some(*c) != default_locale);
    let locale = chosen.unwrap_or_else(|| locale_of(&req, locale_data.as_ref().ok()));
    let echo = |error: String| FormEcho {
        iban: iban.clone(),
        holder: holder.clone(),
        error: Some(error),
        locale: Some(locale),
    };
    let t = Messages::of(locale);
    if field("accept").is_empty() {
        let form = echo(t.get("must-accept"));
        return show(
            &state,
            &req,
            token,
            actix_web::http::StatusCode::BAD_REQUEST,
            &form,
        )
        .await;
    }
    if let Some(error) = view::holder_error(&t, &holder) {
        return show(
            &state,
            &req,
            token,
            actix_web::http::StatusCode::BAD_REQUEST,
            &echo(error),
        )
        .await;
    }
    if let Err(e) = catalyst_sepa::validate(&iban) {
        return show(
            &state,
            &req,
            token,
            actix_web::http::StatusCode::BAD_REQUEST,
            &echo(view::iban_error(&t, &e)),
        )
        .await;
    }
    let request = json!({"iban": iban, "iban_holder_name": holder, "locale": locale.as_str()});
    match crate::pay::pay_session(state.get_ref().clone(), token.clone(), &request).await {
        Ok(_) => Ok(see_other(&token, redirect_locale)),
        Err(ApiError::InvalidIban(message)) => {
            show(
                &state,
                &req,
                token,
                actix_web::http::StatusCode::BAD_REQUEST,
                &echo(message),
            )
            .await
        }
        Err(ApiError::Validation(errors)) => {
            let message = [
                ("iban", t.get("iban")),
                ("iban_holder_name", t.get("holder")),
            ]
            .iter()
            .filter_map(|(field, label)| {
                errors
                    .get(field)
                    .map(|m| format!("{label}: {}", m.join(" ")))
            })
            .collect::<Vec<_>>()
            .join(" ");
            show(
                &state,
                &req,
                token,
                actix_web::http::StatusCode::BAD_REQUEST,
                &echo(message),
            )
            .await
        }
        Err(ApiError::Conflict(Conflict::SessionNotPayable) | ApiError::SessionExpired) => {
            Ok(see_other(&token, redirect_locale))
        }
        Err(ApiError::NotFound) => {
            show(
                &state,
                &req,
                token,
                actix_web::http::StatusCode::NOT_FOUND,
                &FormEcho::default(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /s/{token}/verify` — the verification step without JavaScript: runs `/verify/`'s path
/// and answers 303 to the page.
pub async fn verify_form(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    match crate::pay::verify_session(state.get_ref().clone(), token.clone(), &json!({})).await {
        Ok(_) | Err(ApiError::Conflict(Conflict::SessionNotVerifiable)) => {
            Ok(see_other(&token, None))
        }
        Err(e) => Err(e),
    }
}

/// `GET /s/assets/pay.js` — the page's script.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(SCRIPT)
}

/// The sandbox bank's confirmation page.
#[derive(askama::Template)]
#[template(path = "hosted/sandbox_bank.html")]
struct SandboxBank<'a> {
    amount: &'a str,
    creditor: &'a str,
    token: &'a str,
}

/// `GET /sandbox/verify/{reference}` — the SANDBOX gateway's stand-in for the customer's online
/// bank: it shows what is being confirmed and sends the customer back to the payment page,
/// where `/verify/` asks the gateway for the result.
pub async fn sandbox_verification(
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference.into_inner();
    let found = db::read(
        &state.store,
        move |c| -> Result<Option<(String, String, String)>, ApiError> {
            let Some(t) = catalyst_store::Transaction::find_by_reference(c, &reference)? else {
                return Ok(None);
            };
            let Some(session_id) = &t.session_id else {
                return Ok(None);
            };
            let session = catalyst_store::PaymentSession::find(c, &t.tenant_id, session_id)?;
            let gateway = catalyst_store::Gateway::find(c, &t.tenant_id, &t.gateway_id)?;
            if gateway.adapter != "SANDBOX" {
                return Ok(None);
            }
            let creditor = gateway.creditor_name.unwrap_or(gateway.name);
            Ok(Some((
                session.token,
                views::money(t.amount_minor, &t.currency)? + " " + &t.currency,
                creditor,
            )))
        },
    )
    .await?;
    let Some((token, amount, creditor)) = found else {
        return Err(ApiError::NotFound);
    };
    let html = SandboxBank {
        amount: &amount,
        creditor: &creditor,
        token: &token,
    }
    .render()
    .map_err(|e| ApiError::Internal(format!("sandbox bank page: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}
