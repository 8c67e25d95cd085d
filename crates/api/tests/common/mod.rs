//! The API test harness: an app on a throw-away database of either backend.
#![allow(dead_code)]

pub mod contract;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{App, test};
use catalyst_api::provision::{self, DemoSetup, TenantCredentials};
use catalyst_api::{ApiConfig, AppState};
use catalyst_store::test_support::TestDb;
use serde_json::Value;

pub const BASE: &str = "http://catalyst.test";

/// A test database plus the state an app is built from.
pub struct Ctx {
    pub db: TestDb,
    pub state: AppState,
}

impl Ctx {
    pub fn sqlite() -> Self {
        Self::on(TestDb::sqlite())
    }

    pub fn postgres() -> Option<Self> {
        TestDb::postgres().map(Self::on)
    }

    fn on(db: TestDb) -> Self {
        let state = AppState::new(db.store.clone(), config());
        Self { db, state }
    }

    pub async fn app(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        app_on(self.state.clone()).await
    }

    /// An app on this test's database with its own state, built from the tests' configuration
    /// changed by `change`.
    #[allow(dead_code)]
    pub async fn app_with(
        &self,
        change: impl FnOnce(&mut ApiConfig),
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        let mut config = config();
        change(&mut config);
        app_on(AppState::new(self.db.store.clone(), config)).await
    }

    /// The state of another server instance on the same database: its own store (pool), rate
    /// limiters, gateway context — nothing shared in memory with `self.state`. Also what this
    /// server has after a restart.
    pub fn other_instance(&self) -> AppState {
        AppState::new(self.db.open_again(), config())
    }
}

fn config() -> ApiConfig {
    let mut config = ApiConfig::new(BASE);
    config.browser_read_burst = 1000.0;
    config.browser_read_per_sec = 1000.0;
    config
}

/// An app on `state`.
pub async fn app_on(
    state: AppState,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(App::new().configure(move |cfg| catalyst_api::configure(cfg, state))).await
}

impl Ctx {
    pub fn tenant(&self, name: &str) -> TenantCredentials {
        provision::create_tenant(&self.db.store, name).unwrap()
    }

    pub fn demo(&self) -> DemoSetup {
        provision::demo(&self.db.store, BASE, None).unwrap()
    }

    /// Counts rows of a table.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db.store.conn().unwrap();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut *conn)
            .unwrap()
            .n
    }
}

/// A request to send: method, path, optional bearer token, optional JSON body.
pub struct Req<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<Value>,
    pub headers: Vec<(&'a str, String)>,
}

pub fn get(path: &str) -> Req<'_> {
    Req {
        method: Method::GET,
        path,
        token: None,
        body: None,
        headers: vec![],
    }
}

pub fn post<'a>(path: &'a str, body: Value) -> Req<'a> {
    Req {
        method: Method::POST,
        path,
        token: None,
        body: Some(body),
        headers: vec![],
    }
}

pub fn patch<'a>(path: &'a str, body: Value) -> Req<'a> {
    Req {
        method: Method::PATCH,
        path,
        token: None,
        body: Some(body),
        headers: vec![],
    }
}

pub fn delete(path: &str) -> Req<'_> {
    Req {
        method: Method::DELETE,
        path,
        token: None,
        body: None,
        headers: vec![],
    }
}

impl<'a> Req<'a> {
    pub fn auth(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Sends `req`; returns the status, the response headers and the body parsed as JSON
/// (`Value::Null` for an empty or non-JSON body). Panics when the response breaks the OpenAPI
/// document ([`contract::check`]).
pub async fn send<S, B>(app: &S, req: Req<'_>) -> (StatusCode, HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let sent = req.body.clone();
    let mut r = test::TestRequest::default()
        .method(req.method)
        .uri(req.path)
        .peer_addr("203.0.113.7:4000".parse().unwrap());
    if let Some(token) = req.token {
        r = r.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = req.body {
        r = r
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string());
    }
    for (k, v) in req.headers {
        r = r.insert_header((k, v));
    }
    let (status, headers, bytes) = exchange(app, r.to_request(), sent.as_ref()).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

/// Sends a request built by hand (an XML, CSV or multipart body; a GET of a file) and returns
/// the status, the response headers and the body's bytes. The response is checked against the
/// OpenAPI document as [`send`]'s is.
pub async fn call<S, B>(app: &S, req: actix_http::Request) -> (StatusCode, HeaderMap, Bytes)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    exchange(app, req, None).await
}

async fn exchange<S, B>(
    app: &S,
    req: actix_http::Request,
    sent: Option<&Value>,
) -> (StatusCode, HeaderMap, Bytes)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (method, uri) = (req.method().clone(), req.uri().to_string());
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    contract::check_exchange(&method, &uri, sent, status, content_type, &bytes);
    (status, headers, bytes)
}

/// Declares an async test that runs on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! api_test {
    ($(async fn $name:ident($ctx:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($ctx: $crate::common::Ctx) $body
                #[actix_web::test]
                async fn sqlite() {
                    run($crate::common::Ctx::sqlite()).await
                }
                #[actix_web::test]
                async fn postgres() {
                    if let Some(ctx) = $crate::common::Ctx::postgres() {
                        run(ctx).await
                    }
                }
            }
        )*
    };
}
