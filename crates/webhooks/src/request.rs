//! Rendering one event for one endpoint into the exact HTTP request to send.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use url::Url;

use crate::canonical::{CanonicalError, canonical_json};
use crate::header;
use crate::signature::{sign, sign_v2};

/// How an endpoint receives events (API.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryMethod {
    /// `JSON_POST`: POST with the canonical JSON as the body.
    #[default]
    JsonPost,
    /// `URL_PARAMS`: GET with the payload flattened into query parameters ([`query_pairs`]).
    UrlParams,
}

/// The HTTP method of an [`Outgoing`] request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// For [`DeliveryMethod::JsonPost`].
    Post,
    /// For [`DeliveryMethod::UrlParams`].
    Get,
}

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointSpec {
    /// An absolute `http`/`https` URL; its own query parameters are kept.
    pub url: String,
    /// `JSON_POST` or `URL_PARAMS`.
    pub delivery_method: DeliveryMethod,
    /// Output key → payload variable path (see [`map_payload`]); `None` delivers the payload
    /// as is.
    pub payload_mapping: Option<BTreeMap<String, String>>,
}

/// Why an event cannot be rendered for an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The (mapped) payload has no canonical form.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The endpoint URL is not an absolute `http`/`https` URL. (The URL itself is left out: it
    /// may hold credentials.)
    #[error("invalid endpoint URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// `URL_PARAMS` needs a JSON object to turn into parameters.
    #[error("URL_PARAMS delivery needs a JSON object payload")]
    NotAnObject,
    /// The event id or type cannot be sent as a header value (printable ASCII only).
    #[error("{header} must be non-empty printable ASCII")]
    InvalidHeaderValue {
        /// The header's name.
        header: &'static str,
    },
}

/// One delivery attempt's request, ready to send (see [`send`](crate::send())).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `POST` (`JSON_POST`) or `GET` (`URL_PARAMS`).
    pub method: Method,
    /// The endpoint URL, with the query parameters for `URL_PARAMS`.
    pub url: String,
    /// Header names and values, in sending order.
    pub headers: Vec<(String, String)>,
    /// The canonical JSON for `JSON_POST`; `None` for `URL_PARAMS`.
    pub body: Option<Vec<u8>>,
}

impl Outgoing {
    /// Renders event `event_id` of type `event_type` for `endpoint`, signed with `secret` at
    /// `timestamp` (unix seconds; re-render each attempt so V2 timestamps stay fresh).
    ///
    /// The payload is first mapped through `payload_mapping` if set. Both signatures are over
    /// its canonical JSON, also for `URL_PARAMS`, whose receivers must rebuild that JSON with
    /// the original types (strings vs. numbers) to check them; the query parameters themselves
    /// are not signed. `GET` requests carry no body and no `Content-Type`.
    ///
    /// ```
    /// use serde_json::json;
    /// use catalyst_webhooks::{DeliveryMethod, EndpointSpec, Method, Outgoing, verify_at};
    /// use std::time::Duration;
    ///
    /// let endpoint = EndpointSpec { url: "https://merchant.example/hooks".into(), ..Default::default() };
    /// let payload = json!({"status": "COMPLETED", "amount": "10.00", "email": "zoë@example.com"});
    /// let out = Outgoing::render("evt_1", "payment_session.completed", &payload, &endpoint, "whsec_test", 1_760_000_000)?;
    /// assert_eq!(out.method, Method::Post);
    /// assert_eq!(out.body.as_deref(), Some(&br#"{"amount":"10.00","email":"zo\u00eb@example.com","status":"COMPLETED"}"#[..]));
    /// assert_eq!(out.header("x-catalystpay-delivery"), Some("evt_1"));
    /// let body = out.body.as_deref().unwrap_or_default();
    /// verify_at(&out.headers, body, "whsec_test", Duration::from_secs(300), 1_760_000_000)?;
    ///
    /// let get = EndpointSpec {
    ///     url: "https://merchant.example/hook.php?src=catalyst".into(),
    ///     delivery_method: DeliveryMethod::UrlParams,
    ///     payload_mapping: Some([("mail".to_string(), "lead.email".to_string())].into()),
    /// };
    /// let payload = json!({"lead": {"email": "a b@example.com"}});
    /// let out = Outgoing::render("evt_1", "order.created", &payload, &get, "whsec_test", 1_760_000_000)?;
    /// assert_eq!(out.url, "https://merchant.example/hook.php?src=catalyst&mail=a+b%40example.com");
    /// assert_eq!(out.body, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn render(
        event_id: &str,
        event_type: &str,
        payload: &Value,
        endpoint: &EndpointSpec,
        secret: impl AsRef<[u8]>,
        timestamp: i64,
    ) -> Result<Self, RenderError> {
        check_header_value(header::DELIVERY, event_id)?;
        check_header_value(header::EVENT, event_type)?;
        let mut url = Url::parse(&endpoint.url).map_err(|e| RenderError::InvalidUrl {
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RenderError::InvalidUrl {
                reason: format!("scheme `{}` is not http or https", url.scheme()),
            });
        }

        let mapped;
        let payload = match &endpoint.payload_mapping {
            Some(mapping) => {
                mapped = map_payload(payload, mapping);
                &mapped
            }
            None => payload,
        };
        let body = canonical_json(payload)?;
        let secret = secret.as_ref();
        let signature = sign(secret, body.as_bytes());
        let signature_v2 = sign_v2(secret, timestamp, body.as_bytes());

        let (method, body) = match endpoint.delivery_method {
            DeliveryMethod::JsonPost => (Method::Post, Some(body.into_bytes())),
            DeliveryMethod::UrlParams => {
                let object = payload.as_object().ok_or(RenderError::NotAnObject)?;
                let pairs = query_pairs(object);
                if !pairs.is_empty() {
                    url.query_pairs_mut().extend_pairs(pairs);
                }
                (Method::Get, None)
            }
        };

        let mut headers = Vec::with_capacity(7);
        if body.is_some() {
            headers.push((header::CONTENT_TYPE.into(), "application/json".into()));
        }
        headers.extend([
            (header::USER_AGENT.into(), crate::USER_AGENT.into()),
            (header::EVENT.into(), event_type.into()),
            (header::DELIVERY.into(), event_id.into()),
            (header::TIMESTAMP.into(), timestamp.to_string()),
            (header::SIGNATURE.into(), signature),
            (header::SIGNATURE_V2.into(), signature_v2),
        ]);
        Ok(Self {
            method,
            url: url.into(),
            headers,
            body,
        })
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::HeaderLookup::header(&self.headers, name)
    }
}

fn check_header_value(header: &'static str, value: &str) -> Result<(), RenderError> {
    if !value.is_empty() && value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(RenderError::InvalidHeaderValue { header })
    }
}

/// The payload a `payload_mapping` delivers: an object with one entry per mapped key, each the
/// value at its variable path, `null` where the path leads nowhere.
///
/// ```
/// use serde_json::json;
///
/// let payload = json!({"lead": {"email": "a@example.com"}, "line_items": [{"amount": "9.99"}]});
/// let mapping = [
///     ("email".to_string(), "lead.email".to_string()),
///     ("first".to_string(), "line_items.0.amount".to_string()),
///     ("phone".to_string(), "lead.phone".to_string()),
/// ].into();
/// assert_eq!(
///     catalyst_webhooks::map_payload(&payload, &mapping),
///     json!({"email": "a@example.com", "first": "9.99", "phone": null}),
/// );
/// ```
pub fn map_payload(payload: &Value, mapping: &BTreeMap<String, String>) -> Value {
    let object = mapping
        .iter()
        .map(|(key, path)| {
            let value = lookup_path(payload, path).cloned().unwrap_or(Value::Null);
            (key.clone(), value)
        })
        .collect::<Map<_, _>>();
    Value::Object(object)
}

/// The value at a dotted variable path: object keys, or decimal indexes into arrays
/// (`line_items.0.amount`). Keys that themselves contain dots cannot be addressed.
pub fn lookup_path<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(payload, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// `URL_PARAMS` query parameters, in canonical (sorted) order: nested objects and arrays as
/// dotted keys (`lead.email`, `line_items.0.amount`), strings raw, numbers and booleans as
/// text, `null` and empty objects/arrays as empty values. Percent-encoding (form style, space
/// as `+`) happens when they are added to the URL.
///
/// ```
/// use serde_json::json;
///
/// let payload = json!({"lead": {"email": "a@example.com", "vip": true}, "n": 3, "note": null});
/// let pairs = catalyst_webhooks::query_pairs(payload.as_object().unwrap());
/// let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
/// assert_eq!(pairs, [("lead.email", "a@example.com"), ("lead.vip", "true"), ("n", "3"), ("note", "")]);
/// ```
pub fn query_pairs(payload: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in sorted(payload) {
        flatten(key.clone(), value, &mut out);
    }
    out
}

fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in sorted(map) {
                flatten(format!("{key}.{k}"), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{key}.{i}"), v, out);
            }
        }
        Value::Object(_) | Value::Array(_) | Value::Null => out.push((key, String::new())),
        Value::String(s) => out.push((key, s.clone())),
        Value::Bool(b) => out.push((key, b.to_string())),
        Value::Number(n) => out.push((key, n.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::verify_at;

    fn endpoint(url: &str, method: DeliveryMethod) -> EndpointSpec {
        EndpointSpec {
            url: url.into(),
            delivery_method: method,
            payload_mapping: None,
        }
    }

    #[test]
    fn json_post_headers_in_order() {
        let out = Outgoing::render(
            "evt_1",
            "order.created",
            &json!({"b": 1, "a": "ü"}),
            &endpoint("http://127.0.0.1:9/h", DeliveryMethod::JsonPost),
            "whsec_x",
            1_700_000_000,
        )
        .unwrap();
        let body = br#"{"a":"\u00fc","b":1}"#;
        assert_eq!(out.body.as_deref(), Some(&body[..]));
        let names: Vec<&str> = out.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "User-Agent",
                "X-CatalystPay-Event",
                "X-CatalystPay-Delivery",
                "X-CatalystPay-Timestamp",
                "X-CatalystPay-Signature",
                "X-CatalystPay-Signature-V2"
            ]
        );
        assert_eq!(out.header("x-catalystpay-timestamp"), Some("1700000000"));
        assert_eq!(
            out.header("X-CatalystPay-Signature"),
            Some(sign("whsec_x", body).as_str())
        );
        let tol = std::time::Duration::ZERO;
        assert!(verify_at(&out.headers, body, "whsec_x", tol, 1_700_000_000).is_ok());
    }

    #[test]
    fn url_params_signs_the_canonical_json_of_the_mapped_payload() {
        let mut spec = endpoint("https://m.example/cb?x=1#frag", DeliveryMethod::UrlParams);
        spec.payload_mapping = Some(
            [
                ("e", "lead.email"),
                ("amt", "items.1.amount"),
                ("gone", "nope.x"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        );
        let payload = json!({"lead": {"email": "ü+&=@x"}, "items": [{}, {"amount": "1.50"}]});
        let out = Outgoing::render("e1", "t", &payload, &spec, "s", 7).unwrap();
        assert_eq!(out.method, Method::Get);
        assert_eq!(out.body, None);
        assert_eq!(out.header("content-type"), None);
        assert_eq!(
            out.url,
            "https://m.example/cb?x=1&amt=1.50&e=%C3%BC%2B%26%3D%40x&gone=#frag"
        );
        let signed = r#"{"amt":"1.50","e":"\u00fc+&=@x","gone":null}"#;
        assert!(verify_at(&out.headers, signed.as_bytes(), "s", Default::default(), 7).is_ok());
    }

    #[test]
    fn flattening() {
        let payload = json!({"z": [1, {"k": false}], "a": {"y": {}, "x": []}, "s": "two words"});
        let pairs = query_pairs(payload.as_object().unwrap());
        let expected = [
            ("a.x", ""),
            ("a.y", ""),
            ("s", "two words"),
            ("z.0", "1"),
            ("z.1.k", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(pairs, expected);
    }

    #[test]
    fn paths() {
        let payload = json!({"a": [{"b": null}], "": 1});
        assert_eq!(lookup_path(&payload, "a.0.b"), Some(&Value::Null));
        assert_eq!(lookup_path(&payload, "a.1.b"), None);
        assert_eq!(lookup_path(&payload, "a.x"), None);
        assert_eq!(lookup_path(&payload, "a.0.b.c"), None);
        assert_eq!(lookup_path(&payload, ""), Some(&json!(1)));
    }

    #[test]
    fn render_errors() {
        let post = |url: &str| endpoint(url, DeliveryMethod::JsonPost);
        let r = |id: &str, ty: &str, p: Value, e: &EndpointSpec| {
            Outgoing::render(id, ty, &p, e, "s", 0).unwrap_err()
        };
        let ok = post("http://h/");
        assert!(matches!(
            r("e", "t", json!({}), &post("/relative")),
            RenderError::InvalidUrl { .. }
        ));
        assert!(matches!(
            r("e", "t", json!({}), &post("ftp://h/")),
            RenderError::InvalidUrl { .. }
        ));
        assert_eq!(
            r("e\r\nX: y", "t", json!({}), &ok),
            RenderError::InvalidHeaderValue {
                header: header::DELIVERY
            }
        );
        assert_eq!(
            r("e", "", json!({}), &ok),
            RenderError::InvalidHeaderValue {
                header: header::EVENT
            }
        );
        assert!(matches!(
            r("e", "t", json!({"x": 0.5}), &ok),
            RenderError::Canonical(_)
        ));
        assert_eq!(
            r(
                "e",
                "t",
                json!([1]),
                &endpoint("http://h/", DeliveryMethod::UrlParams)
            ),
            RenderError::NotAnObject
        );
    }
}
