//! Fuzz target: the session-create validator ([`CreateSessionRequest::from_json`] and
//! `resolve`) on hostile request bodies, starting from the bytes as the API receives them —
//! arbitrary text, mutated valid bodies, fields replaced by hostile JSON literals (huge and
//! tiny numbers, long and unicode strings, control characters, deep nesting).
//!
//! It must never panic; an accepted request stays within the documented bounds (API.md §3);
//! a refused one names only known fields. Bounded by case count; `PROPTEST_CASES=N` runs
//! longer.

use catalyst_domain::session::{
    MAX_EXPIRES_IN_SECONDS, MAX_LINE_ITEMS, MAX_METADATA_KEY_LEN, MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LEN, MAX_PAYMENT_ATTEMPTS, RETURN_URL_MAX_LEN, TEXT_MAX_LEN,
};
use catalyst_domain::{
    BillingFrequency, BillingType, CampaignOffer, CreateSessionRequest, Currency, Money,
};
use proptest::prelude::*;
use serde_json::Value;

const DIRECT: &str = r#"{"gateway_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "amount": "29.99",
 "currency": "EUR", "billing_type": "ONE_OFF", "max_payment_attempts": 3,
 "expires_in_seconds": 3600, "return_url": "https://shop.example/r",
 "external_customer_id": "u-1", "default_locale": "de", "customer_ip": "203.0.113.1",
 "lead": {"first_name": "Änne", "last_name": "B", "email": "a@b.de", "country": "DE",
          "address": "Musterstraße 1", "city": "Köln", "postal_code": "50667", "phone": "+49 221 1"},
 "line_items": [{"description": "x", "amount": "1.00", "quantity": 2}],
 "metadata": {"order": "A1"}}"#;

const CAMPAIGN: &str = r#"{"campaign_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
 "lead": {"first_name": "A", "last_name": "B", "email": "a@b.de", "country": "DE"}}"#;

const FIELDS: &[&str] = &[
    "campaign_id",
    "gateway_id",
    "amount",
    "currency",
    "billing_type",
    "billing_frequency",
    "trial_period",
    "trial_interval_unit",
    "trial_price",
    "max_payment_attempts",
    "webhook_profile_id",
    "hosted_page_id",
    "customer_ip",
    "lead",
    "mode",
    "customer_id",
    "external_customer_id",
    "return_url",
    "expires_in_seconds",
    "default_locale",
    "payment_types",
    "line_items",
    "metadata",
];

const LEAD_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "country",
    "address",
    "city",
    "postal_code",
    "phone",
];

/// JSON literals (as text) that stress number, string and structure handling.
const LITERALS: &[&str] = &[
    "null",
    "true",
    "0",
    "-0",
    "1",
    "-1",
    "0.1",
    "29.99",
    "29.999",
    "1e3",
    "1e400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "86400",
    "86401",
    "59",
    "\"29.99\"",
    "\"0.00\"",
    "\"999999.99\"",
    "\"1000000.00\"",
    "\"99999999999999999999999999.99\"",
    "\"1e3\"",
    "\"NaN\"",
    "\"Infinity\"",
    "\" 1.00\"",
    "\"1,00\"",
    "\"٣\"",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\u202e\"",
    "\"e\\u0301\"",
    "\"😀\"",
    "\"EUR\"",
    "\"eur\"",
    "\"JPY\"",
    "\"RECURRING\"",
    "\"TRIAL_RECURRING\"",
    "\"customer\"",
    "\"javascript:alert(1)\"",
    "\"https://\"",
    "\"http://[::1]:80/x\"",
    "\"::ffff:10.0.0.1\"",
    "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"",
    "\"0190A1B2C3D47E5F8A9B0C1D2E3F4A5B\"",
    "[]",
    "{}",
    "[{}]",
    "{\"\":\"\"}",
];

/// `cases` unless `PROPTEST_CASES` asks for more (or fewer).
fn config(cases: u32) -> ProptestConfig {
    let env_cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok());
    ProptestConfig {
        cases: env_cases.unwrap_or(cases),
        ..ProptestConfig::default()
    }
}

/// A JSON string literal of `n` copies of `unit` (to probe length limits counted in chars,
/// not bytes).
fn long_string(unit: &str, n: usize) -> String {
    Value::String(unit.repeat(n)).to_string()
}

/// A hostile JSON literal, as text.
fn literal() -> impl Strategy<Value = String> {
    let limits = [
        TEXT_MAX_LEN,
        RETURN_URL_MAX_LEN,
        MAX_METADATA_KEY_LEN,
        MAX_METADATA_VALUE_LEN,
        254,
        64,
        32,
    ];
    prop_oneof![
        4 => prop::sample::select(LITERALS).prop_map(str::to_owned),
        1 => (
            prop::sample::select(vec!["a", "é", "😀", "\u{301}", " ", "\u{0}", "\u{feff}"]),
            prop::sample::select(limits.to_vec()),
            -1i64..=1,
        )
            .prop_map(|(unit, limit, delta)| {
                let n = usize::try_from(i64::try_from(limit).expect("small") + delta).expect("positive");
                long_string(unit, n)
            }),
        1 => (
            prop::sample::select(vec!["[", "{\"a\":"]),
            prop_oneof![1usize..130, 130usize..20_000],
        )
            .prop_map(|(open, depth)| {
                let close = if open == "[" { "]" } else { "}" };
                format!("{}1{}", open.repeat(depth), close.repeat(depth))
            }),
        1 => any::<String>().prop_map(|s| Value::String(s).to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<i128>().prop_map(|n| n.to_string()),
        1 => (1usize..200).prop_map(|n| {
            let items = vec![r#"{"description":"d","amount":"0.01"}"#; n].join(",");
            format!("[{items}]")
        }),
        1 => (1usize..80).prop_map(|n| {
            let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":\"v\"")).collect();
            format!("{{{}}}", keys.join(","))
        }),
    ]
}

/// A valid body with up to four (possibly nested) fields replaced by hostile literals.
fn replaced_fields() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(|f| vec![f.to_owned()]),
        2 => prop::sample::select(LEAD_FIELDS).prop_map(|f| vec!["lead".to_owned(), f.to_owned()]),
        1 => prop::sample::select(vec!["description", "amount", "quantity", "external_product_num"])
            .prop_map(|f| vec!["line_items".to_owned(), "0".to_owned(), f.to_owned()]),
        1 => "[a-z_]{1,40}".prop_map(|k| vec!["metadata".to_owned(), k]),
    ];
    (
        any::<bool>(),
        prop::collection::vec((path, literal()), 0..5),
    )
        .prop_map(|(direct, changes)| {
            let base = if direct { DIRECT } else { CAMPAIGN };
            let mut body: Value = serde_json::from_str(base).expect("base body");
            for (path, literal) in &changes {
                // A literal serde_json cannot read (too deep, out of range) goes in as text.
                let value = serde_json::from_str(literal)
                    .unwrap_or_else(|_| Value::String(literal.clone()));
                set(&mut body, path, value);
            }
            // The deepest literals only survive as text: splice one in raw.
            let mut text = body.to_string();
            if let Some((path, literal)) = changes.last()
                && serde_json::from_str::<Value>(literal).is_err()
                && path.len() == 1
            {
                text = text.replacen('{', &format!("{{\"{}\":{literal},", path[0]), 1);
            }
            text
        })
}

fn set(body: &mut Value, path: &[String], value: Value) {
    let mut target = body;
    for key in &path[..path.len() - 1] {
        target = match target {
            Value::Object(map) => map.entry(key.clone()).or_insert(Value::Null),
            Value::Array(items) => match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
    }
    if let (Value::Object(map), Some(last)) = (target, path.last()) {
        map.insert(last.clone(), value);
    }
}

/// A valid body's text after up to five character edits.
fn mutated_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "\"", "\\", ",", ":", "{", "}", "[", "]", "0", "-", "e", "null", "\\u0000", " ", "\n",
        ])
        .prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
    ];
    (
        prop::sample::select(vec![DIRECT, CAMPAIGN]),
        prop::collection::vec((any::<prop::sample::Index>(), piece, 0u8..3), 0..6),
    )
        .prop_map(|(base, edits)| {
            let mut chars: Vec<char> = base.chars().collect();
            for (at, piece, kind) in edits {
                let i = at.index(chars.len());
                match kind {
                    0 => {
                        chars.splice(i..i, piece.chars());
                    }
                    1 => {
                        chars.remove(i);
                    }
                    _ => {
                        chars.splice(i..=i, piece.chars());
                    }
                }
            }
            chars.into_iter().collect()
        })
}

fn hostile_body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => replaced_fields(),
        2 => mutated_text(),
        1 => any::<String>(),
        1 => literal(),
    ]
}

fn offers() -> Vec<CampaignOffer> {
    let eur = |t: &str| Money::parse(t, Currency::EUR).expect("amount");
    vec![
        CampaignOffer {
            name: "one-off".into(),
            price: eur("29.99"),
            billing_type: BillingType::OneOff,
            billing_frequency: None,
            trial: None,
            product_name: None,
            product_description: None,
        },
        CampaignOffer {
            name: "monthly".into(),
            price: eur("9.99"),
            billing_type: BillingType::Recurring,
            billing_frequency: Some(BillingFrequency::Monthly),
            trial: None,
            product_name: None,
            product_description: None,
        },
    ]
}

fn known_path(path: &str) -> bool {
    if path == "non_field_errors" || FIELDS.contains(&path) {
        return true;
    }
    if let Some(rest) = path.strip_prefix("lead.") {
        return LEAD_FIELDS.contains(&rest);
    }
    path.starts_with("line_items.") || path.starts_with("metadata.")
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The validator's invariants on one body, as the API would hand it over.
fn check(text: &str) -> Result<(), TestCaseError> {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Ok(());
    };
    match CreateSessionRequest::from_json(&body) {
        Ok(req) => {
            prop_assert!(
                req.expires_in_seconds >= 60 && req.expires_in_seconds <= MAX_EXPIRES_IN_SECONDS
            );
            prop_assert!(
                req.max_payment_attempts
                    .is_none_or(|n| (1..=MAX_PAYMENT_ATTEMPTS).contains(&n))
            );
            prop_assert!(req.line_items.len() <= MAX_LINE_ITEMS);
            prop_assert!(req.metadata.len() <= MAX_METADATA_KEYS);
            for (key, value) in req.metadata.iter() {
                prop_assert!(chars(key) <= MAX_METADATA_KEY_LEN, "{:?}", key);
                prop_assert!(chars(value) <= MAX_METADATA_VALUE_LEN);
            }
            prop_assert!(
                req.external_customer_id
                    .as_deref()
                    .is_none_or(|e| chars(e) <= TEXT_MAX_LEN)
            );
            if let Some(url) = &req.return_url {
                prop_assert!(chars(url) <= RETURN_URL_MAX_LEN);
                // Stored as sent; the WHATWG parser (as a browser) reads it as http(s) with a
                // host, so "https:/shop.example/r" passes.
                let parsed = url::Url::parse(url);
                prop_assert!(
                    parsed
                        .as_ref()
                        .is_ok_and(|u| matches!(u.scheme(), "http" | "https")
                            && u.host_str().is_some_and(|h| !h.is_empty())),
                    "{}",
                    url
                );
            }
            let lead = &req.lead;
            for text in [&lead.first_name, &lead.last_name, &lead.email] {
                prop_assert!(!text.trim().is_empty());
                prop_assert!(chars(text) <= TEXT_MAX_LEN);
            }
            prop_assert_eq!(lead.country.len(), 2);
            if req.is_direct() {
                let terms = req.resolve(None, None);
                prop_assert!(
                    terms.is_ok(),
                    "direct request parsed but did not resolve: {}",
                    text
                );
            }
            for offer in offers() {
                if let Ok(terms) = req.resolve(Some(&offer), Some(4)) {
                    prop_assert!((1..=MAX_PAYMENT_ATTEMPTS).contains(&terms.max_payment_attempts));
                    prop_assert!(terms.line_items.len() <= MAX_LINE_ITEMS);
                }
            }
            let _ = req.locale();
            // Validation is a function of the body.
            prop_assert!(CreateSessionRequest::from_json(&body).is_ok());
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for (path, messages) in errors.iter() {
                prop_assert!(known_path(path), "unexpected error path {:?}", path);
                prop_assert!(!messages.is_empty());
                prop_assert!(messages.iter().all(|m| !m.is_empty()));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn hostile_bodies_never_panic(text in hostile_body()) {
        check(&text)?;
    }
}

/// The replacement generator keeps reaching accepted requests, or the invariants above would
/// only ever see errors.
#[test]
fn replacement_generator_reaches_valid_requests() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = replaced_fields();
    let accepted = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).expect("tree").current();
            serde_json::from_str::<Value>(&text)
                .ok()
                .is_some_and(|body| CreateSessionRequest::from_json(&body).is_ok())
        })
        .count();
    assert!(accepted > 50, "{accepted}");
}
