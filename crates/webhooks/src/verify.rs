//! Verifying a delivery on the receiving side.
//!
//! With `X-CatalystPay-Signature-V2` present, it alone decides: a `v1` HMAC of `"<t>.<body>"`
//! must match and `t` must lie within the tolerance of now (either direction). Without it, the
//! legacy `X-CatalystPay-Signature` (HMAC of the body, no replay protection) is checked.
//! Receivers that want replay protection reject [`Scheme::Legacy`]. `X-CatalystPay-Timestamp`
//! is informational: the signed `t` is what counts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::time::Duration;

use ring::hmac;

use crate::header;
use crate::signature::{decode_tag, v2_tag};

/// Most `v1=` entries a V2 header may carry (each costs an HMAC check).
const MAX_V1_SIGNATURES: usize = 8;

/// Read access to request headers, names compared ASCII case-insensitively.
///
/// Implemented for slices, arrays and `Vec`s of `(name, value)` string pairs and for string
/// maps; implement it for your framework's header type (first value wins, non-UTF-8 → `None`).
pub trait HeaderLookup {
    /// The first value of the header `name`, if any.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        find(self.iter().map(|(k, v)| (k.as_ref(), v.as_ref())), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<V: AsRef<str>, S: BuildHasher> HeaderLookup for HashMap<String, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        find(self.iter().map(|(k, v)| (k.as_str(), v.as_ref())), name)
    }
}

impl<V: AsRef<str>> HeaderLookup for BTreeMap<String, V> {
    fn header(&self, name: &str) -> Option<&str> {
        find(self.iter().map(|(k, v)| (k.as_str(), v.as_ref())), name)
    }
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

fn find<'a>(mut pairs: impl Iterator<Item = (&'a str, &'a str)>, name: &str) -> Option<&'a str> {
    pairs
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Which signature header authenticated the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `X-CatalystPay-Signature-V2`: timestamped, replay-protected.
    V2,
    /// `X-CatalystPay-Signature`: body only.
    Legacy,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V2 => header::SIGNATURE_V2,
            Self::Legacy => header::SIGNATURE,
        })
    }
}

/// An authentic delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The header that matched.
    pub scheme: Scheme,
    /// The signed timestamp (unix seconds); `None` for [`Scheme::Legacy`].
    pub timestamp: Option<i64>,
    /// `X-CatalystPay-Event`, if sent (not covered by the signature).
    pub event_type: Option<String>,
    /// `X-CatalystPay-Delivery`: the event id, stable across retries, for de-duplication (not
    /// covered by the signature).
    pub delivery_id: Option<String>,
}

/// Why a delivery was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Neither signature header is present.
    #[error("missing {} and {} headers", header::SIGNATURE_V2, header::SIGNATURE)]
    MissingSignature,
    /// A signature header is malformed.
    #[error("malformed {header} header: {reason}")]
    BadFormat {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The V2 signature matches but its timestamp is too far from now (a replay, or a skewed
    /// clock).
    #[error("timestamp {timestamp} is more than {}s away from now ({now})", tolerance.as_secs())]
    StaleTimestamp {
        /// The signed timestamp (unix seconds).
        timestamp: i64,
        /// The verifier's clock (unix seconds).
        now: i64,
        /// The allowed distance.
        tolerance: Duration,
    },
    /// No signature matches the body and secret.
    #[error("{scheme} does not match the body")]
    Mismatch {
        /// The header that was checked.
        scheme: Scheme,
    },
}

/// Verifies a delivery against the clock: see [`verify_at`].
///
/// ```
/// use std::time::Duration;
/// use catalyst_webhooks::{Scheme, VerifyError, sign, sign_v2, unix_now, verify};
///
/// let secret = "whsec_test";
/// let body = br#"{"event":"order.created"}"#;
/// let v2 = sign_v2(secret, unix_now(), body);
/// let headers = [("x-catalystpay-signature-v2", v2.as_str())];
/// let ok = verify(&headers, body, secret, Duration::from_secs(300)).unwrap();
/// assert_eq!(ok.scheme, Scheme::V2);
///
/// // Legacy senders: body signature only.
/// let legacy = sign(secret, body);
/// let headers = vec![("X-CatalystPay-Signature".to_string(), legacy)];
/// assert_eq!(verify(&headers, body, secret, Duration::from_secs(300)).unwrap().scheme, Scheme::Legacy);
///
/// // Tampered body.
/// assert!(matches!(
///     verify(&headers, b"{}", secret, Duration::from_secs(300)),
///     Err(VerifyError::Mismatch { .. })
/// ));
/// ```
pub fn verify<H: HeaderLookup + ?Sized>(
    headers: &H,
    body: &[u8],
    secret: impl AsRef<[u8]>,
    tolerance: Duration,
) -> Result<Verified, VerifyError> {
    verify_at(headers, body, secret, tolerance, crate::unix_now())
}

/// Verifies a delivery as of `now` (unix seconds).
///
/// `body` must be the raw request bytes. The V2 header, when present, is authoritative (no
/// fallback to the legacy header); signatures are compared in constant time; the timestamp is
/// checked after the signature, so [`VerifyError::StaleTimestamp`] means an authentic but old
/// (or future) delivery.
///
/// ```
/// use std::time::Duration;
/// use catalyst_webhooks::{VerifyError, sign_v2, verify_at};
///
/// let v2 = sign_v2("whsec_test", 1_000, b"{}");
/// let headers = [("X-CatalystPay-Signature-V2", v2.as_str())];
/// let five_min = Duration::from_secs(300);
/// assert_eq!(verify_at(&headers, b"{}", "whsec_test", five_min, 1_300).unwrap().timestamp, Some(1_000));
/// assert!(matches!(
///     verify_at(&headers, b"{}", "whsec_test", five_min, 1_301),
///     Err(VerifyError::StaleTimestamp { timestamp: 1_000, now: 1_301, .. })
/// ));
/// ```
pub fn verify_at<H: HeaderLookup + ?Sized>(
    headers: &H,
    body: &[u8],
    secret: impl AsRef<[u8]>,
    tolerance: Duration,
    now: i64,
) -> Result<Verified, VerifyError> {
    let secret = secret.as_ref();
    let (scheme, timestamp) = if let Some(v2) = headers.header(header::SIGNATURE_V2) {
        let parsed = parse_v2(v2)?;
        let expected = v2_tag(secret, parsed.t, body);
        if !parsed.v1.iter().any(|tag| tags_equal(&expected, tag)) {
            return Err(VerifyError::Mismatch { scheme: Scheme::V2 });
        }
        if now.abs_diff(parsed.timestamp) > tolerance.as_secs() {
            return Err(VerifyError::StaleTimestamp {
                timestamp: parsed.timestamp,
                now,
                tolerance,
            });
        }
        (Scheme::V2, Some(parsed.timestamp))
    } else if let Some(legacy) = headers.header(header::SIGNATURE) {
        let tag = decode_tag(legacy.trim()).ok_or(VerifyError::BadFormat {
            header: header::SIGNATURE,
            reason: "expected 64 hex digits",
        })?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::verify(&key, body, &tag).map_err(|_| VerifyError::Mismatch {
            scheme: Scheme::Legacy,
        })?;
        (Scheme::Legacy, None)
    } else {
        return Err(VerifyError::MissingSignature);
    };
    Ok(Verified {
        scheme,
        timestamp,
        event_type: headers.header(header::EVENT).map(str::to_owned),
        delivery_id: headers.header(header::DELIVERY).map(str::to_owned),
    })
}

/// Constant-time comparison of the expected tag with a candidate.
fn tags_equal(expected: &hmac::Tag, candidate: &[u8; 32]) -> bool {
    let expected = expected.as_ref();
    expected.len() == candidate.len()
        && expected
            .iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

struct ParsedV2<'a> {
    /// `t` as written: the signed string.
    t: &'a str,
    timestamp: i64,
    v1: Vec<[u8; 32]>,
}

fn parse_v2(value: &str) -> Result<ParsedV2<'_>, VerifyError> {
    let bad = |reason| VerifyError::BadFormat {
        header: header::SIGNATURE_V2,
        reason,
    };
    let mut t = None;
    let mut v1 = Vec::new();
    for part in value.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or(bad("expected comma-separated key=value pairs"))?;
        match key {
            "t" if t.is_some() => return Err(bad("more than one t")),
            "t" => t = Some(val),
            "v1" if v1.len() == MAX_V1_SIGNATURES => return Err(bad("too many v1 signatures")),
            "v1" => v1.push(decode_tag(val).ok_or(bad("v1 must be 64 hex digits"))?),
            // Unknown schemes are skipped, so new ones can be added alongside v1.
            _ => {}
        }
    }
    let t = t.ok_or(bad("missing t"))?;
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("t must be unix seconds"));
    }
    let timestamp = t.parse().map_err(|_| bad("t must be unix seconds"))?;
    if v1.is_empty() {
        return Err(bad("missing v1"));
    }
    Ok(ParsedV2 { t, timestamp, v1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sign, sign_v2};

    const SECRET: &str = "whsec_unit";
    const TOL: Duration = Duration::from_secs(300);

    fn err(headers: &[(&str, &str)], body: &[u8], now: i64) -> VerifyError {
        verify_at(headers, body, SECRET, TOL, now).unwrap_err()
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let sig = sign(SECRET, b"x");
        for name in ["x-catalystpay-signature", "X-CATALYSTPAY-SIGNATURE"] {
            let headers = [
                (name, sig.as_str()),
                ("X-CatalystPay-Event", "order.created"),
            ];
            let ok = verify_at(&headers, b"x", SECRET, TOL, 0).unwrap();
            assert_eq!(ok.event_type.as_deref(), Some("order.created"));
        }
        let mut map = HashMap::new();
        map.insert("X-Catalystpay-Signature".to_string(), sig.clone());
        assert!(verify_at(&map, b"x", SECRET, TOL, 0).is_ok());
        let map: BTreeMap<String, &str> = [("x-catalystpay-signature".to_string(), sig.as_str())]
            .into_iter()
            .collect();
        assert!(verify_at(&map, b"x", SECRET, TOL, 0).is_ok());
    }

    #[test]
    fn v2_window_is_symmetric_and_inclusive() {
        let v2 = sign_v2(SECRET, 10_000, b"b");
        let headers = [(header::SIGNATURE_V2, v2.as_str())];
        for now in [9_700, 10_000, 10_300] {
            assert_eq!(
                verify_at(&headers, b"b", SECRET, TOL, now).unwrap(),
                Verified {
                    scheme: Scheme::V2,
                    timestamp: Some(10_000),
                    event_type: None,
                    delivery_id: None,
                }
            );
        }
        for now in [9_699, 10_301] {
            assert!(matches!(
                err(&headers, b"b", now),
                VerifyError::StaleTimestamp { .. }
            ));
        }
    }

    #[test]
    fn v2_is_authoritative_over_legacy() {
        let legacy = sign(SECRET, b"b");
        let v2 = sign_v2("whsec_other", 0, b"b");
        let headers = [
            (header::SIGNATURE, legacy.as_str()),
            (header::SIGNATURE_V2, v2.as_str()),
        ];
        assert_eq!(
            err(&headers, b"b", 0),
            VerifyError::Mismatch { scheme: Scheme::V2 }
        );
    }

    #[test]
    fn v2_accepts_any_matching_v1_and_unknown_keys() {
        let good = sign_v2(SECRET, 5, b"b");
        let good_hex = good.rsplit_once("v1=").map(|(_, h)| h).unwrap_or_default();
        let value = format!(
            "t=5, v0=zz, v1={}, v1={good_hex}",
            sign("whsec_old", b"5.b")
        );
        let headers = [(header::SIGNATURE_V2, value.as_str())];
        assert!(verify_at(&headers, b"b", SECRET, TOL, 5).is_ok());
    }

    #[test]
    fn malformed_headers() {
        let sig = sign(SECRET, b"b");
        let cases = [
            format!("v1={sig}"),
            format!("t=5,v1={sig},t=5"),
            "t=5".to_string(),
            format!("t=,v1={sig}"),
            format!("t=-5,v1={sig}"),
            format!("t=+5,v1={sig}"),
            format!("t=99999999999999999999,v1={sig}"),
            "t=5,v1=abc".to_string(),
            format!("t=5;v1={sig}"),
            format!("t=5,{}", vec![format!("v1={sig}"); 9].join(",")),
        ];
        for value in &cases {
            let headers = [(header::SIGNATURE_V2, value.as_str())];
            assert!(
                matches!(err(&headers, b"b", 5), VerifyError::BadFormat { header: h, .. } if h == header::SIGNATURE_V2),
                "{value}"
            );
        }
        let headers = [(header::SIGNATURE, "sha256=abc")];
        assert!(matches!(
            err(&headers, b"b", 0),
            VerifyError::BadFormat { .. }
        ));
        assert_eq!(err(&[], b"b", 0), VerifyError::MissingSignature);
    }

    #[test]
    fn legacy_mismatch() {
        let sig = sign("whsec_other", b"b");
        let headers = [(header::SIGNATURE, sig.as_str())];
        assert_eq!(
            err(&headers, b"b", 0),
            VerifyError::Mismatch {
                scheme: Scheme::Legacy
            }
        );
    }
}
