//! Property tests for money parsing and formatting.

use catalyst_domain::money::check_amount_syntax;
use catalyst_domain::{Currency, Money, MoneyError, parse_amount_json};
use proptest::prelude::*;
use serde_json::json;

/// Any known currency.
fn currency() -> impl Strategy<Value = Currency> {
    let all: Vec<Currency> = Currency::all().collect();
    prop::sample::select(all)
}

/// A currency and a valid minor amount in it.
fn currency_and_minor() -> impl Strategy<Value = (Currency, i64)> {
    currency().prop_flat_map(|c| (Just(c), 0..=c.max_minor()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_then_parse_round_trips((c, minor) in currency_and_minor()) {
        let m = Money::from_minor(minor, c).unwrap();
        let text = m.to_decimal_string();
        // exactly the currency's decimal places
        let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
        prop_assert_eq!(decimals, c.exponent() as usize);
        prop_assert_eq!(Money::parse(&text, c), Ok(m));
        prop_assert_eq!(parse_amount_json(&json!(text), c), Ok(m));
    }

    #[test]
    fn fewer_decimals_are_padded((c, minor) in currency_and_minor()) {
        let m = Money::from_minor(minor, c).unwrap();
        let text = m.to_decimal_string();
        let short = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            text.clone()
        };
        prop_assert_eq!(Money::parse(&short, c), Ok(m));
    }

    #[test]
    fn too_many_fraction_digits_are_refused(
        c in currency(),
        int in 0u32..=999_999,
        extra in 1usize..6,
        digit in 0u8..10,
    ) {
        let frac: String = std::iter::repeat_n(char::from(b'0' + digit), c.exponent() as usize + extra).collect();
        let text = format!("{int}.{frac}");
        prop_assert_eq!(Money::parse(&text, c), Err(MoneyError::TooManyDecimals { max: c.exponent() }));
    }

    #[test]
    fn above_maximum_is_refused(c in currency(), major in 1_000_000u64..u64::MAX) {
        let refused = matches!(Money::parse(&major.to_string(), c), Err(MoneyError::TooLarge { .. }));
        prop_assert!(refused);
        prop_assert!(Money::from_minor(c.max_minor() + 1, c).is_err());
    }

    #[test]
    fn parse_never_panics_and_accepts_only_plain_decimals(
        s in prop_oneof![".{0,24}", "[0-9.]{0,14}", "[0-9+eE. -]{0,10}"],
        c in currency(),
    ) {
        let plain = s.split('.').count() <= 2
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        match Money::parse(&s, c) {
            Ok(m) => {
                prop_assert!(plain, "accepted {s:?}");
                prop_assert!(m.minor() >= 0 && m.minor() <= c.max_minor());
            }
            Err(MoneyError::Invalid) => prop_assert!(!plain, "refused plain {s:?}"),
            Err(_) => prop_assert!(plain),
        }
        prop_assert_eq!(check_amount_syntax(&json!(s)).is_ok(), plain);
    }

    #[test]
    fn signs_exponents_and_spaces_are_refused(n in 0u32..1_000_000, junk in prop::sample::select(vec!["-", "+", " ", "e3", "E2", "e", "\t", "_"])) {
        prop_assert_eq!(Money::parse(&format!("{junk}{n}"), Currency::EUR), Err(MoneyError::Invalid));
        prop_assert_eq!(Money::parse(&format!("{n}{junk}"), Currency::EUR), Err(MoneyError::Invalid));
    }

    #[test]
    fn eur_json_floats_parse_exactly(minor in 0i64..=99_999_999) {
        // The float nearest to minor/100 has minor/100 as its shortest decimal text.
        let v = json!(minor as f64 / 100.0);
        prop_assert_eq!(parse_amount_json(&v, Currency::EUR).map(|m| m.minor()), Ok(minor));
    }

    #[test]
    fn json_integers_are_major_units(c in currency(), major in 0u64..=999_999) {
        let m = parse_amount_json(&json!(major), c).unwrap();
        prop_assert_eq!(m.minor(), major as i64 * c.minor_per_major());
    }

    #[test]
    fn negative_minor_is_refused(minor in i64::MIN..0, c in currency()) {
        prop_assert_eq!(Money::from_minor(minor, c), Err(MoneyError::Negative));
    }
}
