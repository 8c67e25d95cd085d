//! Catalyst's HTTP API (actix-web): payment sessions, the management API, hosted pages.
//!
//! [`configure`] mounts every route on an actix `App`; the binary wraps it in an `HttpServer`,
//! tests in `actix_web::test::init_service`:
//!
//! ```no_run
//! # async fn demo(state: catalyst_api::AppState) {
//! let app = actix_web::test::init_service(
//!     actix_web::App::new().configure(|cfg| catalyst_api::configure(cfg, state.clone())),
//! ).await;
//! # }
//! ```

pub mod auth;
pub mod bank_reports;
pub mod batches;
pub mod billing;
pub mod body;
pub mod collect;
pub mod controls;
pub mod customers;
pub mod db;
pub mod dispatcher;
pub mod envelope;
pub mod error;
pub mod health;
pub mod hosted;
pub mod iban;
pub mod idempotency;
pub mod imports;
mod listing;
pub mod management;
pub mod middleware;
pub mod openapi;
pub mod paging;
pub mod pay;
pub mod payment;
pub mod provision;
pub mod ratelimit;
pub mod reconciliation;
pub mod recovery;
pub mod refunds;
pub mod routes;
pub mod sandbox_ledger;
pub mod schemas;
pub mod sessions;
pub mod settlement;
pub mod state;
pub mod telemetry;
pub mod views;
pub mod workers;

use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{HttpResponse, web};

pub use error::{ApiError, Conflict};
pub use state::{ApiConfig, AppState};

/// Mounts every route, the shared state, the body limit and the middleware.
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(body::MAX_BODY_BYTES))
        .service(
            web::scope("")
                .wrap(from_fn(controls::query_guard))
                .wrap(NormalizePath::new(TrailingSlash::Always))
                .wrap(from_fn(middleware::request_context))
                .service(api_v1())
                .configure(operations)
                .service(web::resource("/s/assets/pay.js/").route(web::get().to(hosted::script)))
                .service(
                    web::resource("/s/{token}/")
                        .wrap(from_fn(controls::path_guard))
                        .route(web::get().to(hosted::page))
                        .route(web::post().to(hosted::pay_form)),
                )
                .service(
                    web::resource("/s/{token}/verify/")
                        .wrap(from_fn(controls::path_guard))
                        .route(web::post().to(hosted::verify_form)),
                )
                .service(
                    web::resource("/sandbox/verify/{reference}/")
                        .wrap(from_fn(controls::path_guard))
                        .route(web::get().to(hosted::sandbox_verification)),
                )
                .default_service(web::to(not_found)),
        );
}

/// The operator's routes outside `/api/v1`: the probes and the metrics (docs/operations.md).
fn operations(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz/").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz/").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics/").route(web::get().to(telemetry::serve)));
}

fn api_v1() -> actix_web::Scope {
    web::scope("/api/v1")
        .configure(routes::register)
        .default_service(web::to(not_found))
}

/// A resource whose unsupported methods answer 405 with the JSON error body, and whose path
/// parameters pass [`controls::path_guard`].
pub(crate) fn resource(
    path: &str,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path)
        .default_service(web::to(method_not_allowed))
        .wrap(from_fn(controls::path_guard))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
