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
    /// Transport failure (timeout, connection refused, TLS, invalid request); `None` whenever
    /// a response arrived, whatever its status.
    pub error: Option<String>,
    /// A 2xx response within the timeout.
    pub success: bool,
}

/// Sends `out` with `client`, bounded by `timeout` (10 s in production) from connecting to the
/// response headers. The response body is never read (the connection is closed with the
/// response, so a huge or endless body costs nothing). Never panics: every failure is an
/// [`AttemptResult`] with `error` set. Error texts leave out the URL, whose `URL_PARAMS` query
/// holds payload data.
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
                success: status.is_success(),
            }
        }
        Err(err) => AttemptResult {
            status_code: None,
            latency,
            error: Some(describe(err, timeout)),
            success: false,
        },
    }
}

fn describe(err: reqwest::Error, timeout: Duration) -> String {
    let err = err.without_url();
    if err.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
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
