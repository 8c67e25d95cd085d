//! The `/api/v1` route table: declared once, registered from here, and exported as
//! [`ROUTE_TABLE`] so a test can hold the OpenAPI document to exactly these routes.

use actix_web::web;

use crate::management::deliveries;
use crate::management::webhook_profiles::{self, endpoints};
use crate::management::{api_keys, campaigns, gateways, hosted_pages, subscriptions};
use crate::{
    bank_reports, batches, customers, iban, imports, openapi, pay, reconciliation, refunds,
    sessions, settlement,
};

/// Declares resources with their methods; generates `register` and `ROUTE_TABLE`.
macro_rules! route_table {
    ($($path:literal => { $($method:ident: $handler:path),+ $(,)? }),* $(,)?) => {
        /// Every `(method, path)` served under `/api/v1`, as registered.
        pub const ROUTE_TABLE: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),*];

        /// Registers every route of the table.
        pub fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service(crate::resource($path)$(.route(web::$method().to($handler)))+);)*
        }
    };
}

// actix tries the resources in this order, and each pattern with a `{segment}` is a regex
// match: the two busiest routes come first.
route_table! {
    "/payment-sessions/" => { post: sessions::create },
    "/payment-sessions/{token}/pay/" => { post: pay::pay },
    "/payment-sessions/{token}/" => { get: sessions::retrieve },
    "/payment-sessions/{token}/cancel/" => { post: sessions::cancel },
    "/payment-sessions/{token}/verify/" => { post: pay::verify },
    "/iban-validate/" => { post: iban::validate },
    "/reconciliation/transactions/" => { get: reconciliation::transactions },
    "/reconciliation/chargebacks/" => { get: reconciliation::chargebacks },
    "/reconciliation/subscriptions/" => { get: reconciliation::subscriptions },
    "/transactions/{id}/refund/" => { post: refunds::create },
    "/transactions/{id}/refunds/" => { get: refunds::list },
    "/customers/" => { get: customers::list },
    "/customers/{id}/" => { get: customers::retrieve, delete: customers::delete },
    "/customers/{id}/charges/" => { post: customers::charges::create },
    "/customers/{id}/subscriptions/" => { post: customers::subscriptions::create },
    "/gateways/" => { post: gateways::create, get: gateways::list },
    "/gateways/{id}/" => { get: gateways::retrieve, patch: gateways::update, delete: gateways::deactivate },
    "/gateways/{id}/batches/" => { post: batches::create, get: batches::list },
    "/gateways/{id}/batches/{batch_id}/file/" => { get: batches::file },
    "/hosted-pages/" => { post: hosted_pages::create, get: hosted_pages::list },
    "/hosted-pages/{id}/" => { get: hosted_pages::retrieve, patch: hosted_pages::update, delete: hosted_pages::deactivate },
    "/webhook-profiles/" => { post: webhook_profiles::create, get: webhook_profiles::list },
    "/webhook-profiles/{id}/" => { get: webhook_profiles::retrieve, patch: webhook_profiles::update, delete: webhook_profiles::deactivate },
    "/webhook-profiles/{id}/rotate-secret/" => { post: webhook_profiles::rotate_secret },
    "/webhook-profiles/{id}/endpoints/" => { post: endpoints::create, get: endpoints::list },
    "/webhook-profiles/{id}/endpoints/{endpoint_id}/" => { get: endpoints::retrieve, patch: endpoints::update, delete: endpoints::deactivate },
    "/campaigns/" => { post: campaigns::create, get: campaigns::list },
    "/campaigns/{id}/" => { get: campaigns::retrieve, patch: campaigns::update, delete: campaigns::deactivate },
    "/api-keys/" => { post: api_keys::create, get: api_keys::list },
    "/api-keys/{id}/" => { get: api_keys::retrieve, patch: api_keys::update, delete: api_keys::deactivate },
    "/api-keys/{id}/revoke/" => { post: api_keys::revoke },
    "/gateways/{gateway_id}/notifications/" => { post: settlement::notification },
    "/gateways/{gateway_id}/batches/imports/" => { post: bank_reports::create },
    "/sandbox/settle/" => { post: settlement::settle },
    "/imports/{kind}/" => { post: imports::create },
    "/subscriptions/" => { get: subscriptions::list },
    "/subscriptions/{id}/" => { get: subscriptions::retrieve, patch: subscriptions::update },
    "/subscriptions/{id}/cancel/" => { post: subscriptions::cancel },
    "/subscriptions/{id}/pause/" => { post: subscriptions::pause },
    "/subscriptions/{id}/resume/" => { post: subscriptions::resume },
    "/webhook-deliveries/" => { get: deliveries::list },
    "/webhook-deliveries/{id}/" => { get: deliveries::retrieve },
    "/webhook-deliveries/{id}/redeliver/" => { post: deliveries::redeliver },
    "/openapi.json/" => { get: openapi::serve },
}
