//! Property tests for tokens and the byte helpers.

use catalyst_domain::{
    ApiKeyToken, BearerToken, KeyKind, SessionToken, TokenError, WebhookSecret, constant_time_eq,
    sha256_hex,
};
use proptest::prelude::*;

fn alnum_lower(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn generated_session_tokens_parse(_n in any::<u8>()) {
        let t = SessionToken::generate();
        let s = t.as_str();
        prop_assert_eq!(s.len(), 35);
        prop_assert!(s.starts_with("ps_"));
        prop_assert!(alnum_lower(&s[3..]));
        prop_assert_eq!(SessionToken::parse(s), Ok(t.clone()));
        prop_assert!(matches!(BearerToken::parse(s), Ok(BearerToken::Session(_))));
    }

    #[test]
    fn generated_api_keys_parse(kind in prop::sample::select(KeyKind::ALL)) {
        let k = ApiKeyToken::generate(kind);
        let s = k.expose();
        prop_assert_eq!(s.len(), 43);
        prop_assert!(s.starts_with(kind.prefix()));
        prop_assert!(alnum_lower(&s[3..]));
        let parsed = ApiKeyToken::parse(s).unwrap();
        prop_assert_eq!(parsed.kind(), kind);
        prop_assert_eq!(parsed.hash(), k.hash());
        prop_assert_eq!(k.display_prefix().len(), 10);
        prop_assert!(s.starts_with(&k.display_prefix()));
        prop_assert_eq!(k.hash(), sha256_hex(s.as_bytes()));
    }

    #[test]
    fn generated_webhook_secrets_parse(_n in any::<u8>()) {
        let w = WebhookSecret::generate();
        prop_assert_eq!(w.expose().len(), 38);
        prop_assert!(w.expose().starts_with("whsec_"));
        prop_assert!(alnum_lower(&w.expose()[6..]));
        prop_assert!(WebhookSecret::parse(w.expose()).is_ok());
    }

    /// Replacing any character of a valid token with one outside [a-z0-9] is refused.
    #[test]
    fn one_bad_character_is_refused(pos in 0usize..32, bad in "[^a-z0-9]") {
        let t = SessionToken::generate();
        let mut s = t.as_str().to_owned();
        s.replace_range(3 + pos..4 + pos, &bad);
        let expected = if bad.len() == 1 { TokenError::Charset } else { TokenError::Length };
        prop_assert_eq!(SessionToken::parse(&s), Err(expected));
    }

    /// Whatever the input, parsing never panics, and what parses has the exact shape.
    #[test]
    fn parse_arbitrary_strings(s in "(ps_|rk_|sk_|whsec_)?[a-z0-9A-Z_ -]{0,45}") {
        if let Ok(t) = SessionToken::parse(&s) {
            prop_assert!(t.as_str().len() == 35 && alnum_lower(&t.as_str()[3..]));
        }
        if let Ok(k) = ApiKeyToken::parse(&s) {
            prop_assert!(k.expose().len() == 43 && alnum_lower(&k.expose()[3..]));
        }
        if let Ok(w) = WebhookSecret::parse(&s) {
            prop_assert!(w.expose().len() == 38 && alnum_lower(&w.expose()[6..]));
        }
        let _ = BearerToken::parse(&s);
    }

    #[test]
    fn constant_time_eq_matches_slice_eq(a in prop::collection::vec(any::<u8>(), 0..64), b in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(constant_time_eq(&a, &b), a == b);
        prop_assert!(constant_time_eq(&a, &a.clone()));
    }

    #[test]
    fn sha256_hex_shape(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let h = sha256_hex(&data);
        prop_assert_eq!(h.len(), 64);
        prop_assert!(h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
