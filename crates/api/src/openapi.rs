//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::management::gateways;
use crate::sessions;

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(title = "Catalyst API", description = "SEPA Direct Debit payment sessions (see docs/API.md)."),
    paths(
        sessions::create, sessions::retrieve, sessions::cancel,
        gateways::create, gateways::list, gateways::retrieve, gateways::update, gateways::deactivate,
        serve,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(get, path = "/api/v1/openapi.json/", tag = "meta", responses((status = 200, description = "This document")))]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
