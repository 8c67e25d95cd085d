//! The `/api/v1` route table: declared once, registered from here, and exported as
//! [`ROUTE_TABLE`] so a test can hold the OpenAPI document to exactly these routes.

use actix_web::web;

use crate::management::gateways;
use crate::{openapi, sessions};

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

route_table! {
    "/payment-sessions/" => { post: sessions::create },
    "/payment-sessions/{token}/" => { get: sessions::retrieve },
    "/payment-sessions/{token}/cancel/" => { post: sessions::cancel },
    "/gateways/" => { post: gateways::create, get: gateways::list },
    "/gateways/{id}/" => { get: gateways::retrieve, patch: gateways::update, delete: gateways::deactivate },
    "/openapi.json/" => { get: openapi::serve },
}
