//! Opaque credentials: payment-session tokens (`ps_`), API keys (`rk_`/`sk_`) and webhook
//! signing secrets (`whsec_`), plus SHA-256 and constant-time comparison helpers.
//!
//! Random parts are drawn from the operating system's CSPRNG (`ring::rand::SystemRandom`) over
//! the alphabet `[a-z0-9]` by rejection sampling: a random byte is used only when it is below
//! 252 (= 7 × 36), so every character is equally likely.

use std::fmt;
use std::str::FromStr;

use ring::rand::{SecureRandom, SystemRandom};

use crate::macros::string_enum;
use crate::secret::Secret;

/// The token alphabet.
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Bytes at or above this are rejected (largest multiple of 36 that fits in a byte).
const REJECT_FROM: u8 = 252;

/// Length of the random part of a session token.
pub const SESSION_TOKEN_RANDOM_LEN: usize = 32;
/// Length of the random part of an API key.
pub const API_KEY_RANDOM_LEN: usize = 40;
/// Length of the random part of a webhook secret.
pub const WEBHOOK_SECRET_RANDOM_LEN: usize = 32;
/// Length of an API key's visible display prefix.
pub const API_KEY_DISPLAY_PREFIX_LEN: usize = 10;

/// A token does not have the expected shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token does not start with an accepted prefix.
    #[error("the token has an unknown prefix")]
    Prefix,
    /// The random part has the wrong length.
    #[error("the token has the wrong length")]
    Length,
    /// The random part has characters outside `[a-z0-9]`.
    #[error("the token contains characters outside [a-z0-9]")]
    Charset,
}

/// `len` random characters from `[a-z0-9]`, from the OS CSPRNG.
///
/// # Panics
/// Only if the operating system's random source fails, which `ring` treats as unrecoverable.
pub fn random_alphanumeric(len: usize) -> String {
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf)
            .expect("the operating system's random number generator failed");
        push_sampled(&mut out, &buf, len);
    }
    out
}

/// Appends characters drawn from `bytes` to `out` until it has `len` characters, skipping bytes
/// `>= 252` (rejection sampling: no modulo bias).
fn push_sampled(out: &mut String, bytes: &[u8], len: usize) {
    for &b in bytes {
        if out.len() >= len {
            break;
        }
        if b < REJECT_FROM {
            out.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
}

/// Checks `s` = `prefix` + exactly `len` characters of `[a-z0-9]`.
fn check_shape(s: &str, prefix: &str, len: usize) -> Result<(), TokenError> {
    let rest = s.strip_prefix(prefix).ok_or(TokenError::Prefix)?;
    if rest.len() != len {
        return Err(TokenError::Length);
    }
    if !rest
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(TokenError::Charset);
    }
    Ok(())
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    hex_lower(digest.as_ref())
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// Compares two byte strings in time that depends only on their length, not on where they
/// differ. Slices of different length are unequal (lengths are not secret here: every token
/// kind has a fixed length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A payment-session token: `ps_` + 32 characters of `[a-z0-9]`. It is the credential in the
/// hosted page's URL, so unlike API keys it is displayed as-is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionToken(String);

impl SessionToken {
    /// The prefix.
    pub const PREFIX: &'static str = "ps_";

    /// A fresh random token.
    pub fn generate() -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            random_alphanumeric(SESSION_TOKEN_RANDOM_LEN)
        ))
    }

    /// Parses a token, strictly: prefix, length and alphabet must match.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        check_shape(s, Self::PREFIX, SESSION_TOKEN_RANDOM_LEN)?;
        Ok(Self(s.to_owned()))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for SessionToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SessionToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

string_enum! {
    /// The kind of an API key.
    pub enum KeyKind {
        /// `rk_`: merchant back ends (sessions, IBAN validation, reconciliation, …).
        Restricted => "restricted",
        /// `sk_`: everything `rk_` may do, plus the management API.
        Secret => "secret",
    }
}

impl KeyKind {
    /// The token prefix: `"rk_"` or `"sk_"`.
    pub const fn prefix(self) -> &'static str {
        match self {
            KeyKind::Restricted => "rk_",
            KeyKind::Secret => "sk_",
        }
    }

    /// The kind whose prefix `token` starts with.
    pub fn of_token(token: &str) -> Option<KeyKind> {
        KeyKind::ALL
            .iter()
            .copied()
            .find(|k| token.starts_with(k.prefix()))
    }
}

/// An API key: `rk_`/`sk_` + 40 characters of `[a-z0-9]`. The text is held in a [`Secret`];
/// only its SHA-256 ([`ApiKeyToken::hash`]) and 10-character display prefix are stored.
#[derive(Debug, Clone)]
pub struct ApiKeyToken {
    kind: KeyKind,
    token: Secret<String>,
}

impl ApiKeyToken {
    /// A fresh random key of `kind`.
    pub fn generate(kind: KeyKind) -> Self {
        Self {
            kind,
            token: Secret::new(format!(
                "{}{}",
                kind.prefix(),
                random_alphanumeric(API_KEY_RANDOM_LEN)
            )),
        }
    }

    /// Parses a key, strictly: `rk_`/`sk_`, 40 characters of `[a-z0-9]`.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let kind = KeyKind::of_token(s).ok_or(TokenError::Prefix)?;
        check_shape(s, kind.prefix(), API_KEY_RANDOM_LEN)?;
        Ok(Self {
            kind,
            token: Secret::new(s.to_owned()),
        })
    }

    /// Restricted or secret.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The full key text (show it once, at creation).
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// Lower-case hex SHA-256 of the key: what the database stores and looks up.
    pub fn hash(&self) -> String {
        sha256_hex(self.token.expose().as_bytes())
    }

    /// The first 10 characters (e.g. `sk_a1b2c3d`), stored in clear to help people recognise a key.
    pub fn display_prefix(&self) -> String {
        self.token
            .expose()
            .chars()
            .take(API_KEY_DISPLAY_PREFIX_LEN)
            .collect()
    }
}

/// A webhook signing secret: `whsec_` + 32 characters of `[a-z0-9]`, held in a [`Secret`].
#[derive(Debug, Clone)]
pub struct WebhookSecret(Secret<String>);

impl WebhookSecret {
    /// The prefix.
    pub const PREFIX: &'static str = "whsec_";

    /// A fresh random secret.
    pub fn generate() -> Self {
        Self(Secret::new(format!(
            "{}{}",
            Self::PREFIX,
            random_alphanumeric(WEBHOOK_SECRET_RANDOM_LEN)
        )))
    }

    /// Parses a stored secret, strictly.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        check_shape(s, Self::PREFIX, WEBHOOK_SECRET_RANDOM_LEN)?;
        Ok(Self(Secret::new(s.to_owned())))
    }

    /// The secret text (the HMAC key).
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A bearer credential, classified by prefix (`Authorization: Bearer …`).
#[derive(Debug, Clone)]
pub enum BearerToken {
    /// `rk_…` or `sk_…`.
    ApiKey(ApiKeyToken),
    /// `ps_…`.
    Session(SessionToken),
}

impl BearerToken {
    /// Parses a bearer token of any kind, strictly.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        if s.starts_with(SessionToken::PREFIX) {
            SessionToken::parse(s).map(BearerToken::Session)
        } else {
            ApiKeyToken::parse(s).map(BearerToken::ApiKey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_alnum_lower(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    #[test]
    fn rejection_sampling_skips_high_bytes() {
        let mut out = String::new();
        push_sampled(&mut out, &[252, 253, 254, 255, 0, 35, 36, 251], 10);
        assert_eq!(out, "a9a9");
    }

    #[test]
    fn rejection_sampling_stops_at_len() {
        let mut out = String::new();
        push_sampled(&mut out, &[0, 1, 2, 3], 2);
        assert_eq!(out, "ab");
    }

    #[test]
    fn every_byte_below_252_maps_evenly() {
        let mut counts = [0u32; 36];
        let mut out = String::new();
        let bytes: Vec<u8> = (0..=255).collect();
        push_sampled(&mut out, &bytes, 1000);
        assert_eq!(out.len(), 252);
        for c in out.bytes() {
            let i = ALPHABET.iter().position(|&a| a == c).unwrap();
            counts[i] += 1;
        }
        assert!(counts.iter().all(|&n| n == 7), "{counts:?}");
    }

    #[test]
    fn random_alphanumeric_shape() {
        let s = random_alphanumeric(500);
        assert_eq!(s.len(), 500);
        assert!(is_alnum_lower(&s));
        // 500 draws from 36 symbols: all letters and digits should show up
        assert!(s.contains(|c: char| c.is_ascii_digit()));
        assert!(s.contains(|c: char| c.is_ascii_lowercase()));
        assert_ne!(random_alphanumeric(32), random_alphanumeric(32));
        assert_eq!(random_alphanumeric(0), "");
    }

    #[test]
    fn session_token_generate_and_parse() {
        let t = SessionToken::generate();
        assert!(t.as_str().starts_with("ps_"));
        assert_eq!(t.as_str().len(), 35);
        assert_eq!(SessionToken::parse(t.as_str()).unwrap(), t);
        assert_eq!(t.to_string(), t.as_str());
        assert_eq!(format!("{t:?}"), format!("SessionToken({:?})", t.as_str()));
    }

    #[test]
    fn session_token_parse_is_strict() {
        let good = format!("ps_{}", "a1".repeat(16));
        assert!(SessionToken::parse(&good).is_ok());
        assert_eq!(SessionToken::parse(&good[..34]), Err(TokenError::Length));
        assert_eq!(
            SessionToken::parse(&format!("{good}x")),
            Err(TokenError::Length)
        );
        assert_eq!(
            SessionToken::parse(&good.to_uppercase()),
            Err(TokenError::Prefix)
        );
        assert_eq!(
            SessionToken::parse(&format!("ps_{}", "A".repeat(32))),
            Err(TokenError::Charset)
        );
        assert_eq!(
            SessionToken::parse(&format!("ps_{}-", "a".repeat(31))),
            Err(TokenError::Charset)
        );
        assert_eq!(
            SessionToken::parse(&format!("ps_{}é", "a".repeat(30))),
            Err(TokenError::Charset)
        );
        assert_eq!(
            SessionToken::parse(&format!("rk_{}", "a".repeat(32))),
            Err(TokenError::Prefix)
        );
        assert_eq!(SessionToken::parse(""), Err(TokenError::Prefix));
    }

    #[test]
    fn session_token_serde() {
        let t = SessionToken::generate();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{t}\""));
        assert_eq!(serde_json::from_str::<SessionToken>(&json).unwrap(), t);
        assert!(serde_json::from_str::<SessionToken>("\"ps_short\"").is_err());
    }

    #[test]
    fn key_kind_strings() {
        assert_eq!(KeyKind::Restricted.prefix(), "rk_");
        assert_eq!(KeyKind::Secret.prefix(), "sk_");
        assert_eq!(KeyKind::Restricted.as_str(), "restricted");
        assert_eq!(KeyKind::Secret.as_str(), "secret");
        assert_eq!("secret".parse::<KeyKind>(), Ok(KeyKind::Secret));
        assert_eq!("restricted".parse::<KeyKind>(), Ok(KeyKind::Restricted));
        assert!("Secret".parse::<KeyKind>().is_err());
        assert!("sk".parse::<KeyKind>().is_err());
    }

    #[test]
    fn api_key_generate_and_parse() {
        for kind in [KeyKind::Restricted, KeyKind::Secret] {
            let k = ApiKeyToken::generate(kind);
            assert_eq!(k.kind(), kind);
            assert!(k.expose().starts_with(kind.prefix()));
            assert_eq!(k.expose().len(), 43);
            let parsed = ApiKeyToken::parse(k.expose()).unwrap();
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.hash(), k.hash());
        }
    }

    #[test]
    fn api_key_parse_is_strict() {
        let body = "a".repeat(40);
        assert!(ApiKeyToken::parse(&format!("sk_{body}")).is_ok());
        assert!(ApiKeyToken::parse(&format!("rk_{body}")).is_ok());
        assert_eq!(
            ApiKeyToken::parse(&format!("pk_{body}")).unwrap_err(),
            TokenError::Prefix
        );
        assert_eq!(
            ApiKeyToken::parse(&format!("sk_{}", &body[1..])).unwrap_err(),
            TokenError::Length
        );
        assert_eq!(
            ApiKeyToken::parse(&format!("sk_{}_", &body[1..])).unwrap_err(),
            TokenError::Charset
        );
        assert_eq!(
            ApiKeyToken::parse(&format!("SK_{body}")).unwrap_err(),
            TokenError::Prefix
        );
    }

    #[test]
    fn api_key_hash_prefix_and_redaction() {
        let text = format!("sk_a1b2c3d{}", "0".repeat(33));
        let k = ApiKeyToken::parse(&text).unwrap();
        assert_eq!(k.display_prefix(), "sk_a1b2c3d");
        assert_eq!(k.hash(), sha256_hex(text.as_bytes()));
        assert_eq!(k.hash().len(), 64);
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&text), "{dbg}");
        assert!(dbg.contains("[REDACTED]"));
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_behaviour() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn webhook_secret() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.expose().len(), 38);
        assert!(is_alnum_lower(&s.expose()[6..]));
        assert_eq!(
            WebhookSecret::parse(s.expose()).unwrap().expose(),
            s.expose()
        );
        assert_eq!(
            WebhookSecret::parse("whsec_short").unwrap_err(),
            TokenError::Length
        );
        assert!(!format!("{s:?}").contains(s.expose()));
    }

    #[test]
    fn bearer_token_classification() {
        let ps = SessionToken::generate();
        assert!(matches!(
            BearerToken::parse(ps.as_str()),
            Ok(BearerToken::Session(_))
        ));
        let rk = ApiKeyToken::generate(KeyKind::Restricted);
        match BearerToken::parse(rk.expose()) {
            Ok(BearerToken::ApiKey(k)) => assert_eq!(k.kind(), KeyKind::Restricted),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            BearerToken::parse("Basic abc").unwrap_err(),
            TokenError::Prefix
        );
        assert_eq!(BearerToken::parse("ps_x").unwrap_err(), TokenError::Length);
    }
}
