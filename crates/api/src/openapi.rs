//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Required, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi};

use crate::management::deliveries;
use crate::management::webhook_profiles::{self, endpoints};
use crate::management::{api_keys, campaigns, gateways, hosted_pages, subscriptions};
use crate::schemas::ErrorBody;
use crate::schemas::reconciliation::ReconciliationFormat;
use crate::{
    bank_reports, batches, customers, iban, imports, pay, reconciliation, refunds, sessions,
    settlement,
};

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(title = "Catalyst API", description = "SEPA Direct Debit payment sessions (see docs/API.md)."),
    paths(
        sessions::create, sessions::retrieve, sessions::cancel, pay::pay, pay::verify, iban::validate,
        reconciliation::transactions, reconciliation::chargebacks, reconciliation::subscriptions,
        refunds::create, refunds::list, imports::create,
        settlement::notification, bank_reports::create, settlement::settle, deliveries::list, deliveries::retrieve, deliveries::redeliver,
        gateways::create, gateways::list, gateways::retrieve, gateways::update, gateways::deactivate,
        batches::create, batches::list, batches::file,
        hosted_pages::create, hosted_pages::list, hosted_pages::retrieve, hosted_pages::update,
        hosted_pages::deactivate,
        webhook_profiles::create, webhook_profiles::list, webhook_profiles::retrieve,
        webhook_profiles::update, webhook_profiles::deactivate, webhook_profiles::rotate_secret,
        endpoints::create, endpoints::list, endpoints::retrieve, endpoints::update, endpoints::deactivate,
        campaigns::create, campaigns::list, campaigns::retrieve, campaigns::update, campaigns::deactivate,
        api_keys::create, api_keys::list, api_keys::retrieve, api_keys::update, api_keys::deactivate,
        api_keys::revoke,
        subscriptions::list, subscriptions::retrieve, subscriptions::update, subscriptions::cancel,
        subscriptions::pause, subscriptions::resume,
        customers::list, customers::retrieve, customers::delete, customers::charges::create,
        customers::subscriptions::create,
        serve,
    ),
    // Query parameter types are referenced, not collected: they are listed here.
    components(schemas(ErrorBody, ReconciliationFormat)),
    modifiers(&BearerAuth, &InternalError, &OperationIds, &OptionalBodies)
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

/// Any operation can fail unexpectedly: each lists the 500 `internal_error` body.
struct InternalError;

impl Modify for InternalError {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response = ResponseBuilder::new()
            .description("internal_error: an unexpected fault, logged with the request id")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build();
        for (_, op) in operations(openapi) {
            op.responses
                .responses
                .entry("500".to_string())
                .or_insert_with(|| response.clone().into());
        }
    }
}

/// Operation ids unique across the document (generated clients name their methods after them):
/// the path's resource segments, then the handler's name unless the path already ends with it
/// (`campaigns_list`, `payment_sessions_pay`, `webhook_profiles_endpoints_create`).
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, op) in operations(openapi) {
            let handler = op.operation_id.take().unwrap_or_default();
            op.operation_id = Some(operation_id(&resource_name(path), &handler));
        }
    }
}

/// An optional body (`request_body = Option<T>`) may be left out, but it is never JSON `null`:
/// its schema is `T`'s, not utoipa's `oneOf [null, T]`.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (_, op) in operations(openapi) {
            let Some(body) = op.request_body.as_mut() else {
                continue;
            };
            unwrap_nullable(body);
        }
    }
}

fn unwrap_nullable(body: &mut RequestBody) {
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let mut refs = one_of.items.iter().filter(|i| matches!(i, RefOr::Ref(_)));
            if let (Some(only), None, 2) = (refs.next(), refs.next(), one_of.items.len()) {
                content.schema = Some(only.clone());
            }
        }
    }
}

/// Every operation of the document with its path.
fn operations(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (&String, &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        .map(move |op| (&*path, op))
    })
}

fn resource_name(path: &str) -> String {
    path.trim_start_matches("/api/v1/")
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(|s| s.replace(['-', '.'], "_"))
        .collect::<Vec<_>>()
        .join("_")
}

fn operation_id(resource: &str, handler: &str) -> String {
    let plural = format!("{handler}s");
    if handler.is_empty() || resource.ends_with(handler) || resource.ends_with(&plural) {
        resource.to_string()
    } else {
        format!("{resource}_{handler}")
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(get, path = "/api/v1/openapi.json/", tag = "meta", responses((status = 200, body = Object, description = "This document")))]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_name_the_resource_and_the_action() {
        let id = |path: &str, handler: &str| operation_id(&resource_name(path), handler);
        assert_eq!(id("/api/v1/campaigns/", "list"), "campaigns_list");
        assert_eq!(
            id("/api/v1/campaigns/{id}/", "retrieve"),
            "campaigns_retrieve"
        );
        assert_eq!(
            id("/api/v1/payment-sessions/{token}/pay/", "pay"),
            "payment_sessions_pay"
        );
        assert_eq!(id("/api/v1/iban-validate/", "validate"), "iban_validate");
        assert_eq!(
            id(
                "/api/v1/gateways/{gateway_id}/notifications/",
                "notification"
            ),
            "gateways_notifications"
        );
        assert_eq!(
            id(
                "/api/v1/webhook-profiles/{id}/endpoints/{endpoint_id}/",
                "update"
            ),
            "webhook_profiles_endpoints_update"
        );
    }
}
