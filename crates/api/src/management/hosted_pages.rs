//! `/hosted-pages/`: branding and content of the hosted payment page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::validation;
use catalyst_store::{DbConnection, HostedPage, Page, PageRequest, now};
use serde_json::{Value, json};

use super::fields::{Fields, boolean, one_of, text, url};
use super::write;
use crate::auth::Operator;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::idempotency;
use crate::listing::{self, Render, Resource};
use crate::schemas::management::hosted_pages::{
    HostedPage as HostedPageBody, HostedPageCreate, HostedPageUpdate,
};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::timestamp;

const FIELDS: &[&str] = &[
    "name",
    "branding",
    "content",
    "show_product_name",
    "show_product_price",
    "show_product_description",
    "mandate_acceptance_mode",
    "creditor_name",
    "creditor_address",
    "creditor_identifier",
    "active",
];
const BRANDING_FIELDS: &[&str] = &["logo_url", "primary_color", "accent_color"];
const CONTENT_FIELDS: &[&str] = &["headline"];

/// How the customer accepts the mandate on the page.
const ACCEPTANCE_MODES: &[&str] = &["checkbox"];

fn render(p: &HostedPage) -> Value {
    json!({
        "id": p.id, "name": p.name,
        "branding": {"logo_url": p.logo_url, "primary_color": p.primary_color, "accent_color": p.accent_color},
        "content": {"headline": p.headline},
        "show_product_name": p.show_product_name, "show_product_price": p.show_product_price,
        "show_product_description": p.show_product_description,
        "mandate_acceptance_mode": p.mandate_acceptance_mode,
        "creditor_name": p.creditor_name, "creditor_address": p.creditor_address,
        "creditor_identifier": p.creditor_identifier, "active": p.active,
        "created_at": timestamp(p.created_at), "updated_at": timestamp(p.updated_at),
    })
}

impl Render for HostedPage {
    fn render(&self) -> Result<Value, ApiError> {
        Ok(render(self))
    }
}

impl Resource for HostedPage {
    fn page(
        c: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError> {
        Ok(HostedPage::page(c, tenant, page)?)
    }

    fn find(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        Ok(HostedPage::find(c, tenant, &id.into())?)
    }
}

/// A CSS hex colour: `#rgb` or `#rrggbb`.
fn hex_color(v: &Value) -> Result<String, String> {
    let s = validation::char_field(v, 100)?;
    let hex = s.strip_prefix('#').unwrap_or_default();
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err("Enter a CSS hex colour such as #1f4ed8 or #fff.".to_owned())
    }
}

/// A SEPA creditor identifier (`DE98ZZZ09999999999`), checked and stored in canonical form.
fn creditor_identifier(v: &Value) -> Result<String, String> {
    let s = text(35)(v)?;
    catalyst_sepa::CreditorId::parse(&s)
        .map(|c| c.to_string())
        .map_err(|e| e.to_string())
}

fn apply(p: &mut HostedPage, body: &Value, creating: bool) -> Result<(), ApiError> {
    let mut f = Fields::new(body, FIELDS, creating)?;
    if let Some(name) = f.required("name", text(255)) {
        p.name = name;
    }
    f.nested("branding", BRANDING_FIELDS, false, |b| {
        if let Some(logo) = b.nullable("logo_url", url) {
            p.logo_url = logo;
        }
        if let Some(color) = b.nullable("primary_color", hex_color) {
            p.primary_color = color;
        }
        if let Some(color) = b.nullable("accent_color", hex_color) {
            p.accent_color = color;
        }
    });
    f.nested("content", CONTENT_FIELDS, false, |c| {
        if let Some(headline) = c.nullable("headline", text(255)) {
            p.headline = headline;
        }
    });
    if let Some(show) = f.set("show_product_name", boolean) {
        p.show_product_name = show;
    }
    if let Some(show) = f.set("show_product_price", boolean) {
        p.show_product_price = show;
    }
    if let Some(show) = f.set("show_product_description", boolean) {
        p.show_product_description = show;
    }
    if let Some(mode) = f.set("mandate_acceptance_mode", one_of(ACCEPTANCE_MODES)) {
        p.mandate_acceptance_mode = mode;
    }
    if let Some(name) = f.nullable("creditor_name", text(70)) {
        p.creditor_name = name;
    }
    if let Some(address) = f.nullable("creditor_address", text(255)) {
        p.creditor_address = address;
    }
    if let Some(id) = f.nullable("creditor_identifier", creditor_identifier) {
        p.creditor_identifier = id;
    }
    if let Some(active) = f.set("active", boolean) {
        p.active = active;
    }
    f.finish()
}

/// `POST /hosted-pages/`.
#[utoipa::path(post, path = "/api/v1/hosted-pages/", tag = "management", request_body = HostedPageCreate, security(("bearer" = [])),
    responses((status = 201, body = HostedPageBody, description = "Created"),
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
        let at = now();
        let mut p = HostedPage {
            id: catalyst_domain::HostedPageId::new(),
            tenant_id: m.tenant_id.clone(),
            name: String::new(),
            logo_url: None,
            primary_color: None,
            accent_color: None,
            headline: None,
            show_product_name: true,
            show_product_price: true,
            show_product_description: true,
            mandate_acceptance_mode: ACCEPTANCE_MODES[0].to_owned(),
            active: true,
            created_at: at,
            updated_at: at,
            creditor_name: None,
            creditor_address: None,
            creditor_identifier: None,
        };
        apply(&mut p, &body.value, true)?;
        let row = write(&state, move |c| {
            p.insert(c)?;
            Ok(p)
        })
        .await?;
        Ok((StatusCode::CREATED, render(&row)))
    })
    .await
}

/// `GET /hosted-pages/`.
#[utoipa::path(get, path = "/api/v1/hosted-pages/", tag = "management", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<HostedPageBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    listing::list::<HostedPage>(&state, m.tenant_id, &req).await
}

/// `GET /hosted-pages/{id}/`.
#[utoipa::path(get, path = "/api/v1/hosted-pages/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = HostedPageBody, description = "The hosted page"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve::<HostedPage>(&state, m.tenant_id, id.into_inner()).await
}

/// `PATCH /hosted-pages/{id}/`.
#[utoipa::path(patch, path = "/api/v1/hosted-pages/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = HostedPageUpdate,
    responses((status = 200, body = HostedPageBody, description = "The hosted page, updated"),
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
        let mut p = HostedPage::find(c, &m.tenant_id, &id.as_str().into())?;
        apply(&mut p, &body.value, false)?;
        p.updated_at = now();
        p.save(c)?;
        Ok(p)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `DELETE /hosted-pages/{id}/` — deactivates; campaigns and sessions keep their reference.
#[utoipa::path(delete, path = "/api/v1/hosted-pages/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = HostedPageBody, description = "The hosted page, `active: false`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut p = HostedPage::find(c, &m.tenant_id, &id.as_str().into())?;
        if p.active {
            p.active = false;
            p.updated_at = now();
            p.save(c)?;
        }
        Ok(p)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        for ok in ["#fff", "#1F4ed8", " #abc "] {
            assert!(hex_color(&json!(ok)).is_ok(), "{ok}");
        }
        for bad in ["fff", "#ffff", "#ggg", "#1f4ed8aa", "red", ""] {
            assert!(hex_color(&json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(hex_color(&json!(" #abc ")).unwrap(), "#abc");
    }
}
