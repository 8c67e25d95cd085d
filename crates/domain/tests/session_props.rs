//! Property tests for the create-session parser: no input makes it panic, errors are keyed by
//! known field paths, and a direct-mode request that parses also resolves.

use catalyst_domain::{
    BillingFrequency, BillingType, CampaignOffer, CreateSessionRequest, Currency, Money, NewLead,
    Trial, TrialIntervalUnit,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

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

/// Strings likely to be meaningful somewhere, plus random ones.
fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "EUR",
            "JPY",
            "BHD",
            "eur",
            "ONE_OFF",
            "RECURRING",
            "TRIAL_RECURRING",
            "MONTHLY",
            "WEEKLY",
            "day",
            "month",
            "payment",
            "customer",
            "customer_payment",
            "sepa_debit",
            "29.99",
            "0.00",
            "0",
            "1.999",
            "1e3",
            "-1",
            "DE",
            "de",
            "en",
            "ja",
            "max@example.de",
            "https://shop.example/r",
            "203.0.113.1",
            "::1",
            "",
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "+49 30 1234567",
            "999999.99",
            "1000000",
        ])
        .prop_map(str::to_owned),
        ".{0,40}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0i64..2000).prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        interesting_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(
                [
                    FIELDS,
                    LEAD_FIELDS,
                    &["description", "quantity", "external_product_num"]
                ]
                .concat()
            )
            .prop_map(str::to_owned),
            "[a-z_]{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body made of known fields with arbitrary values (more likely to get deep into the parser).
fn arb_body() -> impl Strategy<Value = Value> {
    let lead = prop::collection::btree_map(
        prop::sample::select(LEAD_FIELDS).prop_map(str::to_owned),
        prop_oneof![interesting_string().prop_map(Value::String), arb_json()],
        0..9,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
    (
        prop::collection::btree_map(
            prop::sample::select(FIELDS).prop_map(str::to_owned),
            prop_oneof![interesting_string().prop_map(Value::String), arb_json()],
            0..14,
        ),
        lead,
    )
        .prop_map(|(m, lead)| {
            let mut obj: Map<String, Value> = m.into_iter().collect();
            obj.insert("lead".into(), lead);
            Value::Object(obj)
        })
}

fn offers() -> Vec<CampaignOffer> {
    let eur = |t: &str| Money::parse(t, Currency::EUR).unwrap();
    vec![
        CampaignOffer {
            name: "a".into(),
            price: eur("29.99"),
            billing_type: BillingType::OneOff,
            billing_frequency: None,
            trial: None,
            product_name: None,
            product_description: None,
        },
        CampaignOffer {
            name: "b".into(),
            price: eur("0.00"),
            billing_type: BillingType::TrialRecurring,
            billing_frequency: Some(BillingFrequency::Monthly),
            trial: Some(Trial {
                period: 7,
                unit: TrialIntervalUnit::Day,
                price: eur("1.00"),
            }),
            product_name: None,
            product_description: None,
        },
        CampaignOffer {
            name: "c".into(),
            price: Money::parse("500", Currency::parse("JPY").unwrap()).unwrap(),
            billing_type: BillingType::Recurring,
            billing_frequency: Some(BillingFrequency::Weekly),
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
    if let Some(rest) = path.strip_prefix("line_items.") {
        let mut parts = rest.splitn(2, '.');
        let index_ok = parts
            .next()
            .is_some_and(|i| i.parse::<usize>().is_ok_and(|i| i < 100));
        return index_ok
            && parts.next().is_none_or(|f| {
                ["description", "amount", "quantity", "external_product_num"].contains(&f)
            });
    }
    path.starts_with("metadata.")
}

fn check_body(body: &Value) -> Result<(), TestCaseError> {
    match CreateSessionRequest::from_json(body) {
        Ok(req) => {
            if req.is_direct() {
                prop_assert!(
                    req.resolve(None, None).is_ok(),
                    "direct request parsed but did not resolve: {body}"
                );
            }
            for offer in offers() {
                if let Ok(terms) = req.resolve(Some(&offer), Some(4)) {
                    prop_assert!(
                        terms.max_payment_attempts >= 1 && terms.max_payment_attempts <= 10
                    );
                    prop_assert!(
                        terms.pricing.amount().minor() > 0
                            || req.mode == catalyst_domain::SessionMode::Customer
                    );
                    prop_assert!(terms.line_items.len() <= 100);
                }
            }
            let _ = req.locale();
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for (path, messages) in errors.iter() {
                prop_assert!(known_path(path), "unexpected error path {path:?}");
                prop_assert!(!messages.is_empty());
            }
        }
    }
    Ok(())
}

/// A valid direct or campaign body with up to three fields replaced by arbitrary values.
fn mutated_valid_body() -> impl Strategy<Value = Value> {
    let value = prop_oneof![interesting_string().prop_map(Value::String), arb_json()];
    (
        any::<bool>(),
        prop::collection::vec((prop::sample::select(FIELDS), value), 0..4),
    )
        .prop_map(|(direct, changes)| {
            let mut body = if direct {
                json!({
                    "gateway_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "amount": "29.99",
                    "currency": "EUR", "billing_type": "ONE_OFF",
                    "lead": {"first_name": "A", "last_name": "B", "email": "a@b.de", "country": "DE"},
                    "line_items": [{"description": "x", "amount": "1.00"}],
                })
            } else {
                json!({
                    "campaign_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                    "lead": {"first_name": "A", "last_name": "B", "email": "a@b.de", "country": "DE"},
                })
            };
            for (field, v) in changes {
                body[field] = v;
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn mutated_valid_bodies_never_panic(body in mutated_valid_body()) {
        check_body(&body)?;
    }


    #[test]
    fn arbitrary_json_never_panics(body in arb_json()) {
        check_body(&body)?;
        let _ = NewLead::from_json(&body);
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in arb_body()) {
        check_body(&body)?;
    }
}

/// The mutation generator must often produce valid requests, or the properties above would
/// only ever see the error path.
#[test]
fn mutated_generator_reaches_success_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = mutated_valid_body();
    let (mut parsed, mut resolved) = (0, 0);
    for _ in 0..1000 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(req) = CreateSessionRequest::from_json(&body) {
            parsed += 1;
            if offers().iter().any(|o| req.resolve(Some(o), None).is_ok())
                || req.resolve(None, None).is_ok()
            {
                resolved += 1;
            }
        }
    }
    assert!(parsed > 150, "only {parsed} of 1000 parsed");
    assert!(resolved > 100, "only {resolved} of 1000 resolved");
}
