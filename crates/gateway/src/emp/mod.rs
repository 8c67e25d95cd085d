//! The `EMP` adapter: emerchantpay Genesis over HTTPS (`GENESIS.md`).
//!
//! This module is the plumbing (HTTP, Basic auth, the reconcile-before-error rule); building
//! and reading XML is [`transformers`], which does no I/O.
//!
//! - `POST {endpoint}/process/{terminal_token}/` and `/reconcile/{terminal_token}/`,
//!   `Content-Type: text/xml`, `Authorization: Basic base64(username:password)`.
//! - The endpoint defaults to `https://staging.gate.emerchantpay.net` in test mode and
//!   `https://gate.emerchantpay.net` otherwise; a configured `endpoint` may use plain `http`
//!   only in test mode (the fake server), and must be a public address unless the
//!   [`TargetPolicy`] allows private ones ([`EmpAdapter::with_targets`]).
//! - A debit or refund whose answer is lost (timeout, HTTP 5xx, an unreadable body, or Genesis
//!   codes 230/240/250) is reconciled by `transaction_id` before anything is reported: if the
//!   gateway has the transaction, its outcome is returned, else the original error. A reused
//!   `transaction_id` (450, or 340 "already exists") answers with the existing transaction.
//! - Answers are hostile input: a body over 1 MiB is not read on
//!   ([`crate::body::MAX_GATEWAY_RESPONSE_BYTES`]) and a document beyond
//!   [`crate::xml::Limits::DEFAULT`] is not parsed; both are unreadable bodies
//!   ([`GatewayError::Protocol`]), reconciled as above when the status was 2xx.

pub mod transformers;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use catalyst_domain::secret::Secret;
use reqwest::StatusCode;

use self::transformers::{Interpretation, PaymentResponse, ReconcileBy};
use crate::body::{BodyError, MAX_GATEWAY_RESPONSE_BYTES, read_limited};
use crate::outbound::{self, TargetPolicy};
use crate::xml::Element;
use crate::{
    DebitRequest, Echo, GatewayAdapter, GatewayError, GatewayOutcome, GatewaySettings,
    Notification, ReconcileRequest, RefundRequest,
};

/// The adapter name.
pub const NAME: &str = "EMP";

/// The staging ("sandbox") processing API.
pub const STAGING_ENDPOINT: &str = "https://staging.gate.emerchantpay.net";
/// The production processing API.
pub const PRODUCTION_ENDPOINT: &str = "https://gate.emerchantpay.net";

/// The decrypted credentials of an `EMP` gateway row.
#[derive(Clone, serde::Deserialize)]
pub struct EmpCredentials {
    /// API login.
    pub username: String,
    /// API password (also the notification signing key).
    pub password: Secret<String>,
    /// Terminal token.
    pub terminal_token: String,
    /// Base URL of the processing API; default by test mode.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl fmt::Debug for EmpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmpCredentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("terminal_token", &"[REDACTED]")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl EmpCredentials {
    /// Parses the credentials JSON `{"username", "password", "terminal_token", "endpoint"?}`.
    pub fn from_json(json: &str) -> Result<EmpCredentials, GatewayError> {
        let creds: EmpCredentials = serde_json::from_str(json).map_err(|e| {
            // serde_json's message names the field, never a value.
            GatewayError::Config(format!("EMP credentials: {e}"))
        })?;
        for (name, value) in [
            ("username", creds.username.as_str()),
            ("password", creds.password.expose().as_str()),
            ("terminal_token", creds.terminal_token.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(GatewayError::Config(format!(
                    "EMP credentials: {name} is empty"
                )));
            }
        }
        Ok(creds)
    }
}

/// The `EMP` adapter.
#[derive(Clone)]
pub struct EmpAdapter {
    http: reqwest::Client,
    endpoint: String,
    username: String,
    password: Secret<String>,
    terminal_token: String,
    descriptor: Option<String>,
    /// Checked against the endpoint before each call (the client's resolver only sees names).
    targets: Arc<TargetPolicy>,
}

impl fmt::Debug for EmpAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmpAdapter")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An HTTP exchange that failed. `uncertain`: the gateway may have processed the request.
struct SendError {
    error: GatewayError,
    uncertain: bool,
}

impl EmpAdapter {
    /// An adapter from parsed credentials. Gateway calls are bounded by `http`'s timeout. Every
    /// endpoint address is allowed until [`EmpAdapter::with_targets`] says otherwise.
    pub fn new(
        credentials: EmpCredentials,
        test_mode: bool,
        descriptor: Option<String>,
        http: reqwest::Client,
    ) -> Result<EmpAdapter, GatewayError> {
        let endpoint = match credentials.endpoint.as_deref().map(str::trim) {
            None | Some("") if test_mode => STAGING_ENDPOINT.to_owned(),
            None | Some("") => PRODUCTION_ENDPOINT.to_owned(),
            Some(e) => {
                let url = url::Url::parse(e)
                    .map_err(|err| GatewayError::Config(format!("EMP endpoint {e:?}: {err}")))?;
                match url.scheme() {
                    "https" => {}
                    "http" if test_mode => {}
                    scheme => {
                        return Err(GatewayError::Config(format!(
                            "EMP endpoint scheme {scheme:?} is not allowed{}",
                            if test_mode {
                                ""
                            } else {
                                " outside test mode (use https)"
                            }
                        )));
                    }
                }
                if url.host_str().is_none() || url.query().is_some() {
                    return Err(GatewayError::Config(format!(
                        "EMP endpoint {e:?} is not a base URL"
                    )));
                }
                e.trim_end_matches('/').to_owned()
            }
        };
        Ok(EmpAdapter {
            http,
            endpoint,
            username: credentials.username,
            password: credentials.password,
            terminal_token: credentials.terminal_token,
            descriptor: descriptor.filter(|d| !d.trim().is_empty()),
            targets: Arc::new(TargetPolicy::allow_all()),
        })
    }

    /// Refuses calls to an endpoint `targets` does not allow ([`GatewayError::TargetRefused`],
    /// nothing sent). Build `http` with the same policy so resolved names are held to it too.
    pub fn with_targets(mut self, targets: Arc<TargetPolicy>) -> EmpAdapter {
        self.targets = targets;
        self
    }

    /// An adapter from a gateway row: credentials JSON required.
    pub fn from_settings(
        settings: &GatewaySettings,
        http: reqwest::Client,
    ) -> Result<EmpAdapter, GatewayError> {
        let json = settings
            .credentials
            .as_ref()
            .ok_or_else(|| GatewayError::Config("EMP gateway without credentials".into()))?;
        let credentials = EmpCredentials::from_json(json.expose())?;
        EmpAdapter::new(
            credentials,
            settings.test_mode,
            settings.descriptor.clone(),
            http,
        )
    }

    /// The base URL in use (no trailing slash).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn url(&self, operation: &str) -> String {
        format!("{}/{operation}/{}/", self.endpoint, self.terminal_token)
    }

    /// POSTs `body` to `{endpoint}/{operation}/{token}/` and returns the status and the body,
    /// or [`GatewayError::Protocol`] for a body over [`MAX_GATEWAY_RESPONSE_BYTES`] (not read).
    async fn post(
        &self,
        operation: &str,
        body: String,
    ) -> Result<(StatusCode, Result<String, GatewayError>), SendError> {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose()
        ));
        let url = self.url(operation);
        if self.targets.check_url(&url).is_err() {
            return Err(SendError {
                error: GatewayError::TargetRefused,
                uncertain: false,
            });
        }
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .header(reqwest::header::AUTHORIZATION, format!("Basic {auth}"))
            .header(reqwest::header::ACCEPT, "application/xml, text/xml");
        if let Some(id) = crate::trace::current_request_id() {
            request = request.header(crate::trace::REQUEST_ID_HEADER, id);
        }
        let started = std::time::Instant::now();
        let answer = Self::read_answer(request.body(body).send().await).await;
        let result = match &answer {
            Ok((status, Ok(_))) => status.as_str().to_owned(),
            Ok((_, Err(_))) => "oversized".to_owned(),
            Err(_) => "transport_error".to_owned(),
        };
        metrics::histogram!(
            "catalyst_gateway_call_duration_seconds",
            "adapter" => "EMP", "operation" => operation.to_owned(), "result" => result
        )
        .record(started.elapsed().as_secs_f64());
        answer
    }

    /// The status and the bounded body of a sent request.
    async fn read_answer(
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<(StatusCode, Result<String, GatewayError>), SendError> {
        let response = sent.map_err(transport_error)?;
        let status = response.status();
        let text = match read_limited(response, MAX_GATEWAY_RESPONSE_BYTES).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(BodyError::TooLarge) => Err(GatewayError::Protocol(format!(
                "the answer exceeds {MAX_GATEWAY_RESPONSE_BYTES} bytes"
            ))),
            Err(BodyError::Transport(e)) => return Err(transport_error(e)),
        };
        Ok((status, text))
    }

    /// Sends a document and parses the `payment_response` (`GENESIS.md` §1: the body is
    /// parsed whatever the HTTP status; 401 without one is a credentials error).
    async fn send(
        &self,
        operation: &str,
        document: &Element,
    ) -> Result<PaymentResponse, SendError> {
        let (status, body) = self.post(operation, document.to_document()).await?;
        // An oversized body is an unreadable one: the same rules apply.
        let parsed = body.and_then(|body| transformers::parse_payment_response(&body));
        match parsed {
            Ok(resp) => Ok(resp),
            Err(_) if status == StatusCode::UNAUTHORIZED => Err(SendError {
                error: GatewayError::Config("Genesis refused the credentials (HTTP 401)".into()),
                uncertain: false,
            }),
            Err(_) if status.is_server_error() => Err(SendError {
                error: GatewayError::Transport(format!("Genesis answered HTTP {status}")),
                uncertain: true,
            }),
            Err(e) => Err(SendError {
                error: match e {
                    GatewayError::Protocol(m) => {
                        GatewayError::Protocol(format!("HTTP {status}: {m}"))
                    }
                    other => other,
                },
                // A 2xx we cannot read may still be a processed transaction.
                uncertain: status.is_success(),
            }),
        }
    }

    async fn reconcile_by(
        &self,
        by: ReconcileBy<'_>,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        let document = transformers::reconcile_request(by);
        let resp = self
            .send("reconcile", &document)
            .await
            .map_err(|e| e.error)?;
        match transformers::interpret(&resp)? {
            Interpretation::Outcome(outcome) => Ok(Some(outcome)),
            Interpretation::NotFound => Ok(None),
            Interpretation::Duplicate => Err(GatewayError::Protocol(
                "reconcile answered with a duplicate-transaction error".into(),
            )),
        }
    }

    /// Submits a financial transaction and applies the reconcile rules of the module docs.
    async fn process(
        &self,
        transaction_id: &str,
        document: &Element,
    ) -> Result<GatewayOutcome, GatewayError> {
        let interpretation = match self.send("process", document).await {
            Ok(resp) => transformers::interpret(&resp),
            Err(SendError {
                error,
                uncertain: false,
            }) => return Err(error),
            Err(SendError {
                error,
                uncertain: true,
            }) => return self.settle_uncertain(transaction_id, error).await,
        };
        match interpretation {
            Ok(Interpretation::Outcome(outcome)) => Ok(outcome),
            Ok(Interpretation::Duplicate) => {
                tracing::info!(
                    transaction_id,
                    "Genesis reports a duplicate transaction_id; reconciling"
                );
                self.reconcile_by(ReconcileBy::TransactionId(transaction_id))
                    .await?
                    .ok_or_else(|| {
                        GatewayError::Protocol(format!(
                            "Genesis reports transaction {transaction_id} as a duplicate but cannot find it"
                        ))
                    })
            }
            Ok(Interpretation::NotFound) => Err(GatewayError::Protocol(
                "Genesis answered 'transaction not found' to a financial request".into(),
            )),
            Err(error @ GatewayError::Unavailable { .. })
                if matches!(error.gateway_code(), Some("230" | "240" | "250")) =>
            {
                self.settle_uncertain(transaction_id, error).await
            }
            Err(error) => Err(error),
        }
    }

    /// The answer was lost or unknown: reconcile by transaction_id before reporting `error`.
    async fn settle_uncertain(
        &self,
        transaction_id: &str,
        error: GatewayError,
    ) -> Result<GatewayOutcome, GatewayError> {
        tracing::warn!(transaction_id, %error, "Genesis answer lost or unknown; reconciling");
        match self
            .reconcile_by(ReconcileBy::TransactionId(transaction_id))
            .await
        {
            Ok(Some(outcome)) => {
                tracing::info!(transaction_id, ?outcome, "reconciled after {error}");
                Ok(outcome)
            }
            Ok(None) => Err(error),
            Err(reconcile_error) => {
                tracing::warn!(transaction_id, %reconcile_error, "reconcile failed too");
                Err(error)
            }
        }
    }
}

fn transport_error(e: reqwest::Error) -> SendError {
    let e = &e;
    if outbound::is_refused(e) {
        SendError {
            error: GatewayError::TargetRefused,
            uncertain: false,
        }
    } else if e.is_timeout() {
        // A connect timeout never reached the gateway; any other did.
        SendError {
            error: GatewayError::Timeout,
            uncertain: !e.is_connect(),
        }
    } else if e.is_connect() {
        SendError {
            error: GatewayError::Transport(format!(
                "cannot connect to Genesis: {}",
                error_chain(e)
            )),
            uncertain: false,
        }
    } else {
        SendError {
            error: GatewayError::Transport(error_chain(e)),
            uncertain: true,
        }
    }
}

/// The error and its sources, without the URL (which holds the terminal token).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = match e.url() {
        Some(url) => e.to_string().replace(url.as_str(), "<gateway URL>"),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[async_trait::async_trait]
impl GatewayAdapter for EmpAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn debit(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError> {
        let document = transformers::debit_request(req, self.descriptor.as_deref())?;
        self.process(&req.transaction_id, &document).await
    }

    async fn verify(&self, req: &ReconcileRequest) -> Result<GatewayOutcome, GatewayError> {
        self.reconcile(req).await?.ok_or_else(|| {
            GatewayError::Protocol(format!(
                "Genesis has no transaction {}",
                req.reference.as_deref().unwrap_or(&req.transaction_id)
            ))
        })
    }

    async fn reconcile(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        let by = match req.reference.as_deref().filter(|r| !r.is_empty()) {
            Some(reference) => ReconcileBy::UniqueId(reference),
            None => ReconcileBy::TransactionId(&req.transaction_id),
        };
        self.reconcile_by(by).await
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayOutcome, GatewayError> {
        let document = transformers::refund_request(req)?;
        self.process(&req.transaction_id, &document).await
    }

    fn parse_notification(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Notification, GatewayError> {
        transformers::parse_notification(content_type, body, &self.password)
    }

    fn notification_echo(&self, n: &Notification) -> Echo {
        Echo {
            status: 200,
            content_type: "text/xml; charset=utf-8",
            body: transformers::notification_echo_body(&n.reference),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        crate::http_client(std::time::Duration::from_secs(1))
    }

    #[test]
    fn credentials_and_endpoints() {
        let creds = |json: &str| EmpCredentials::from_json(json);
        let c = creds(r#"{"username":"u","password":"p","terminal_token":"t"}"#).unwrap();
        assert!(!format!("{c:?}").contains("\"p\""));
        let a = EmpAdapter::new(c.clone(), true, None, client()).unwrap();
        assert_eq!(a.endpoint(), STAGING_ENDPOINT);
        assert_eq!(
            a.url("process"),
            "https://staging.gate.emerchantpay.net/process/t/"
        );
        let a = EmpAdapter::new(c.clone(), false, None, client()).unwrap();
        assert_eq!(a.endpoint(), PRODUCTION_ENDPOINT);

        let local = creds(r#"{"username":"u","password":"p","terminal_token":"t","endpoint":"http://127.0.0.1:9/"}"#).unwrap();
        let a = EmpAdapter::new(local.clone(), true, None, client()).unwrap();
        assert_eq!(a.url("reconcile"), "http://127.0.0.1:9/reconcile/t/");
        assert!(matches!(
            EmpAdapter::new(local, false, None, client()),
            Err(GatewayError::Config(_))
        ));

        for bad in [
            "{}",
            "not json",
            r#"{"username":"u","password":"","terminal_token":"t"}"#,
            r#"{"username":"u","password":"p"}"#,
        ] {
            assert!(matches!(creds(bad), Err(GatewayError::Config(_))), "{bad}");
        }
        let err = creds(r#"{"username":"u","password":"s3cret-value","terminal_token":5}"#)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("s3cret-value"));
    }

    /// A local port that records whether anything connected to it.
    fn listener() -> (std::net::TcpListener, u16) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    fn nothing_connected(l: &std::net::TcpListener) -> bool {
        matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    fn adapter_at(endpoint: &str, targets: &Arc<TargetPolicy>) -> EmpAdapter {
        let creds = EmpCredentials::from_json(&format!(
            r#"{{"username":"u","password":"p","terminal_token":"t","endpoint":"{endpoint}"}}"#
        ))
        .unwrap();
        let http = crate::http_client_for(std::time::Duration::from_secs(1), targets.clone());
        EmpAdapter::new(creds, true, None, http)
            .unwrap()
            .with_targets(targets.clone())
    }

    #[tokio::test]
    async fn private_endpoints_are_refused_before_connecting() {
        let (l, port) = listener();
        let strict = Arc::new(TargetPolicy::public_only());
        for endpoint in [
            format!("http://127.0.0.1:{port}"),
            format!("http://0x7f.1:{port}"),
            format!("http://localhost:{port}"),
        ] {
            let a = adapter_at(&endpoint, &strict);
            let debit = a
                .debit(&DebitRequest::example("TXN-20260411-0000ABCD"))
                .await;
            assert_eq!(debit, Err(GatewayError::TargetRefused), "{endpoint}");
            let reconcile = a
                .reconcile(&ReconcileRequest {
                    transaction_id: "TXN-20260411-0000ABCD".into(),
                    reference: None,
                })
                .await;
            assert_eq!(reconcile, Err(GatewayError::TargetRefused), "{endpoint}");
        }
        assert!(nothing_connected(&l));
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_by_the_client_alone() {
        let (l, port) = listener();
        let strict = Arc::new(TargetPolicy::public_only());
        let creds = EmpCredentials::from_json(&format!(
            r#"{{"username":"u","password":"p","terminal_token":"t","endpoint":"http://localhost:{port}"}}"#
        ))
        .unwrap();
        let http = crate::http_client_for(std::time::Duration::from_secs(1), strict);
        // No `with_targets`: the resolver alone keeps the call away.
        let a = EmpAdapter::new(creds, true, None, http).unwrap();
        let debit = a
            .debit(&DebitRequest::example("TXN-20260411-0000ABCD"))
            .await;
        assert_eq!(debit, Err(GatewayError::TargetRefused));
        assert!(nothing_connected(&l));
    }
}
