//! One delivery attempt over HTTP.

use std::error::Error as _;
use std::time::{Duration, Instant};

use crate::request::{Method, Outgoing};

/// What one attempt did, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// The response status, when a response arrived in time.
    pub status_code: Option<u16>,
    /// From sending the request until the response headers (or the failure).
    pub latency: Duration,
    /// Transport failure, for the delivery log: one of the fixed texts of [`send`] (nothing
    /// of the target's own error text); `None` whenever a response arrived, whatever its status.
    pub error: Option<String>,
    /// The failure's full error chain (without the URL), for the operator's log only.
    pub detail: Option<String>,
    /// A 2xx response within the timeout.
    pub success: bool,
}

/// Sends `out` with `client`, bounded by `timeout` (10 s in production) from connecting to the
/// response headers. The response body is never read (the connection is closed with the
/// response, so a huge or endless body costs nothing). Never panics: every failure is an
/// [`AttemptResult`] with `error` set to a fixed text, so the delivery log cannot be used to
/// probe hosts and ports:
///
/// - [`TARGET_NOT_ALLOWED`]: the client refused the target (its resolver or connector failed
///   with an [`std::io::Error`] of kind `PermissionDenied`), nothing was sent;
/// - `timed out after {n} ms`;
/// - `connection failed`: name resolution, TCP connect or TLS handshake failed;
/// - `no valid HTTP response`: the connection broke or the answer was not HTTP;
/// - `invalid request`: the request could not be built (bad URL or header).
///
/// `detail` has the whole error chain for the operator's log, without the URL (whose
/// `URL_PARAMS` query holds payload data).
///
/// The client is the caller's: with rustls (as in Catalyst) its crypto provider must already be
/// installed. Build it with `redirect::Policy::none()` so a 3xx counts as a failure instead of
/// turning a POST into a GET.
///
/// ```no_run
/// use std::time::Duration;
/// use serde_json::json;
/// use catalyst_webhooks::{EndpointSpec, Outgoing, send, unix_now};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
/// let endpoint = EndpointSpec { url: "https://merchant.example/hooks".into(), ..Default::default() };
/// let out = Outgoing::render("evt_1", "order.created", &json!({"order_number": "A1"}), &endpoint, "whsec_…", unix_now())?;
/// let attempt = send(&client, &out, Duration::from_secs(10)).await;
/// println!("{:?} in {:?}: {:?}", attempt.status_code, attempt.latency, attempt.error);
/// # Ok(())
/// # }
/// ```
pub async fn send(client: &reqwest::Client, out: &Outgoing, timeout: Duration) -> AttemptResult {
    let method = match out.method {
        Method::Post => reqwest::Method::POST,
        Method::Get => reqwest::Method::GET,
    };
    let mut request = client.request(method, out.url.as_str()).timeout(timeout);
    for (name, value) in &out.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &out.body {
        request = request.body(body.clone());
    }
    let started = Instant::now();
    let response = request.send().await;
    let latency = started.elapsed();
    match response {
        Ok(response) => {
            let status = response.status();
            AttemptResult {
                status_code: Some(status.as_u16()),
                latency,
                error: None,
                detail: None,
                success: status.is_success(),
            }
        }
        Err(err) => {
            let err = err.without_url();
            AttemptResult {
                status_code: None,
                latency,
                error: Some(summary(&err, timeout)),
                detail: Some(chain(&err)),
                success: false,
            }
        }
    }
}

/// The delivery-log text of a target the client refused.
pub const TARGET_NOT_ALLOWED: &str = "target address not allowed";

/// The fixed delivery-log text for `err`.
fn summary(err: &reqwest::Error, timeout: Duration) -> String {
    if refused(err) {
        TARGET_NOT_ALLOWED.to_owned()
    } else if err.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else if err.is_builder() {
        "invalid request".to_owned()
    } else {
        "no valid HTTP response".to_owned()
    }
}

/// True when a cause of `err` is a `PermissionDenied` I/O error: a resolver or connector that
/// refused the target.
fn refused(err: &reqwest::Error) -> bool {
    let mut source = err.source();
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// `err` and its causes, one after the other.
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat their cause's text; keep the chain readable.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
