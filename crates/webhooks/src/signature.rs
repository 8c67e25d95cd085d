//! HMAC-SHA256 signatures, lower-case hex.
//!
//! The key is the profile secret's bytes, prefix included (`whsec_…` as written).
//!
//! - `X-CatalystPay-Signature`: HMAC of the body ([`sign`]).
//! - `X-CatalystPay-Signature-V2`: `t=<ts>,v1=<hex>`, the HMAC of `"<ts>.<body>"` ([`sign_v2`]);
//!   binding the timestamp lets receivers reject replays.

use ring::hmac;
use serde_json::Value;

use crate::canonical::{CanonicalError, canonical_json};

/// A payload's canonical body and its legacy signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    /// The canonical JSON, exactly the bytes to send.
    pub body: String,
    /// Lower-case hex HMAC-SHA256 of `body` (`X-CatalystPay-Signature`).
    pub signature: String,
}

/// Canonicalizes `payload` and signs it.
///
/// ```
/// use serde_json::json;
///
/// let signed = catalyst_webhooks::sign_payload("whsec_test", &json!({"b": "ü", "a": 1})).unwrap();
/// assert_eq!(signed.body, r#"{"a":1,"b":"\u00fc"}"#);
/// assert_eq!(signed.signature, catalyst_webhooks::sign("whsec_test", signed.body.as_bytes()));
/// assert_eq!(signed.signature.len(), 64);
/// ```
pub fn sign_payload(
    secret: impl AsRef<[u8]>,
    payload: &Value,
) -> Result<SignedPayload, CanonicalError> {
    let body = canonical_json(payload)?;
    let signature = sign(secret, body.as_bytes());
    Ok(SignedPayload { body, signature })
}

/// Lower-case hex HMAC-SHA256 of `body` with `secret`: the `X-CatalystPay-Signature` value.
///
/// Python: `hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()`.
pub fn sign(secret: impl AsRef<[u8]>, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
    hex(hmac::sign(&key, body).as_ref())
}

/// The `X-CatalystPay-Signature-V2` value: `t=<timestamp>,v1=<hex HMAC of "<timestamp>.<body>">`.
///
/// ```
/// let header = catalyst_webhooks::sign_v2("whsec_test", 1_760_000_000, b"{}");
/// let expected = catalyst_webhooks::sign("whsec_test", b"1760000000.{}");
/// assert_eq!(header, format!("t=1760000000,v1={expected}"));
/// ```
pub fn sign_v2(secret: impl AsRef<[u8]>, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    format!(
        "t={t},v1={}",
        hex(v2_tag(secret.as_ref(), &t, body).as_ref())
    )
}

/// HMAC of `"<t>.<body>"`, with `t` exactly as it appears in the header.
pub(crate) fn v2_tag(secret: &[u8], t: &str, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Decodes a 64-digit hex SHA-256 tag (either case); `None` for anything else.
pub(crate) fn decode_tag(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2.
    #[test]
    fn rfc4231_vector() {
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hex_round_trip() {
        let sig = sign("k", b"body");
        assert_eq!(decode_tag(&sig).map(|t| hex(&t)), Some(sig.clone()));
        assert_eq!(
            decode_tag(&sig.to_uppercase()).map(|t| hex(&t)),
            Some(sig.clone())
        );
        assert_eq!(decode_tag(&sig[1..]), None);
        assert_eq!(decode_tag(&format!("{}g", &sig[1..])), None);
        assert_eq!(decode_tag("é"), None);
    }
}
