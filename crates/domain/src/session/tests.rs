use super::*;
use serde_json::json;

const GATEWAY: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const CAMPAIGN: &str = "0190a1b2-c3d4-7e5f-8a9b-000000000001";

fn lead() -> Value {
    json!({"first_name": "Max", "last_name": "Mustermann", "email": "max@example.de", "country": "DE"})
}

/// A valid direct-mode body.
fn direct() -> Value {
    json!({
        "gateway_id": GATEWAY,
        "amount": "29.99",
        "currency": "EUR",
        "billing_type": "ONE_OFF",
        "lead": lead(),
    })
}

/// A valid campaign-mode body.
fn campaign() -> Value {
    json!({"campaign_id": CAMPAIGN, "lead": lead()})
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn eur(text: &str) -> Money {
    Money::parse(text, Currency::EUR).unwrap()
}

fn offer(billing_type: BillingType) -> CampaignOffer {
    CampaignOffer {
        name: "Pro".into(),
        price: eur("29.99"),
        billing_type,
        billing_frequency: billing_type
            .is_recurring()
            .then_some(BillingFrequency::Monthly),
        trial: billing_type.has_trial().then_some(Trial {
            period: 14,
            unit: TrialIntervalUnit::Day,
            price: eur("1.00"),
        }),
        product_name: Some("Widget".into()),
        product_description: None,
    }
}

fn parse(body: Value) -> CreateSessionRequest {
    CreateSessionRequest::from_json(&body).unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
}

/// The messages on `field`; panics if the body parses or `field` has no error.
fn err_on(body: Value, field: &str) -> Vec<String> {
    let errors = CreateSessionRequest::from_json(&body).expect_err("expected errors");
    errors
        .get(field)
        .unwrap_or_else(|| panic!("no error on {field}: {errors:?}"))
        .to_vec()
}

fn resolve_err(body: Value, offer: Option<&CampaignOffer>, field: &str) -> Vec<String> {
    let errors = parse(body)
        .resolve(offer, None)
        .expect_err("expected errors");
    errors
        .get(field)
        .unwrap_or_else(|| panic!("no error on {field}: {errors:?}"))
        .to_vec()
}

fn terms(body: Value, offer: Option<&CampaignOffer>) -> SessionTerms {
    parse(body)
        .resolve(offer, None)
        .unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
}

// ---- body shape -------------------------------------------------------------------------

#[test]
fn body_must_be_an_object() {
    for (body, got) in [
        (json!([]), "list"),
        (json!("x"), "str"),
        (json!(null), "NoneType"),
        (json!(1), "int"),
    ] {
        let e = CreateSessionRequest::from_json(&body).unwrap_err();
        assert_eq!(
            e.get("non_field_errors").unwrap(),
            [format!(
                "Invalid data. Expected a dictionary, but got {got}."
            )]
        );
    }
}

#[test]
fn valid_direct_request() {
    let r = parse(direct());
    assert!(r.is_direct());
    assert_eq!(r.gateway_id.clone().unwrap().to_string(), GATEWAY);
    assert_eq!(r.currency, Some(Currency::EUR));
    assert_eq!(r.billing_type, Some(BillingType::OneOff));
    assert_eq!(r.mode, SessionMode::Payment);
    assert_eq!(r.expires_in_seconds, 86_400);
    assert_eq!(r.lead.email, "max@example.de");
    assert!(r.line_items.is_empty() && r.metadata.is_empty());
    let t = r.resolve(None, None).unwrap();
    assert_eq!(t.pricing, Pricing::one_off(eur("29.99")));
    assert_eq!(t.max_payment_attempts, 3);
    assert!(t.offer_overrides.is_empty());
    assert_eq!(t.currency(), Currency::EUR);
}

#[test]
fn unknown_fields_are_ignored_and_null_means_absent() {
    let mut body = direct();
    body["something_else"] = json!({"deep": [1, 2]});
    for f in [
        "billing_frequency",
        "trial_period",
        "trial_interval_unit",
        "trial_price",
        "max_payment_attempts",
        "webhook_profile_id",
        "hosted_page_id",
        "customer_ip",
        "mode",
        "customer_id",
        "external_customer_id",
        "return_url",
        "expires_in_seconds",
        "default_locale",
        "payment_types",
        "line_items",
        "metadata",
        "campaign_id",
    ] {
        body[f] = Value::Null;
    }
    let r = parse(body);
    assert!(r.is_direct());
    assert_eq!(r.expires_in_seconds, 86_400);
    assert_eq!(r.mode, SessionMode::Payment);
}

#[test]
fn direct_mode_requires_gateway_amount_currency_billing_type() {
    let e = CreateSessionRequest::from_json(&json!({"lead": lead()})).unwrap_err();
    for f in ["gateway_id", "amount", "currency", "billing_type"] {
        assert_eq!(
            e.get(f).unwrap(),
            ["This field is required in direct mode."],
            "{f}"
        );
    }
    assert_eq!(e.len(), 4, "{e:?}");
    // null counts as absent
    let e = err_on(with(direct(), "currency", Value::Null), "currency");
    assert_eq!(e, ["This field is required in direct mode."]);
}

#[test]
fn campaign_mode_needs_only_campaign_and_lead() {
    let r = parse(campaign());
    assert!(!r.is_direct());
    assert_eq!(r.campaign_id.unwrap().to_string(), CAMPAIGN);
    assert_eq!(r.amount, None);
}

#[test]
fn invalid_campaign_id_is_not_direct_mode() {
    let e = CreateSessionRequest::from_json(&with(campaign(), "campaign_id", json!("nope")))
        .unwrap_err();
    assert_eq!(e.get("campaign_id").unwrap(), ["Must be a valid UUID."]);
    assert_eq!(e.len(), 1, "{e:?}");
}

#[test]
fn uuid_fields() {
    for f in [
        "campaign_id",
        "gateway_id",
        "webhook_profile_id",
        "hosted_page_id",
    ] {
        assert_eq!(
            err_on(with(direct(), f, json!("123")), f),
            ["Must be a valid UUID."],
            "{f}"
        );
        assert_eq!(
            err_on(with(direct(), f, json!(42)), f),
            ["Must be a valid UUID."],
            "{f}"
        );
    }
    let r = parse(with(
        with(direct(), "webhook_profile_id", json!(GATEWAY)),
        "hosted_page_id",
        json!(CAMPAIGN),
    ));
    assert_eq!(r.webhook_profile_id.unwrap().to_string(), GATEWAY);
    assert_eq!(r.hosted_page_id.unwrap().to_string(), CAMPAIGN);
}

#[test]
fn collects_all_errors_at_once() {
    let body = json!({
        "amount": "abc",
        "currency": "eur",
        "billing_type": "MONTHLY",
        "max_payment_attempts": 0,
        "expires_in_seconds": 10,
        "payment_types": ["card"],
        "return_url": "nope",
        "customer_ip": "1.2.3",
        "lead": {"first_name": "", "email": "x", "country": "de"},
        "line_items": [{"amount": "1"}],
        "metadata": {"k": 1},
    });
    let e = CreateSessionRequest::from_json(&body).unwrap_err();
    for f in [
        "gateway_id",
        "amount",
        "currency",
        "billing_type",
        "max_payment_attempts",
        "expires_in_seconds",
        "payment_types",
        "return_url",
        "customer_ip",
        "lead.first_name",
        "lead.last_name",
        "lead.email",
        "lead.country",
        "line_items.0.description",
        "metadata.k",
    ] {
        assert!(e.contains(f), "missing {f}: {e:?}");
    }
    assert_eq!(e.len(), 15, "{e:?}");
}

// ---- amount and currency ----------------------------------------------------------------

#[test]
fn amount_syntax_errors() {
    for bad in [
        json!("1e3"),
        json!("-5"),
        json!(""),
        json!(".5"),
        json!("5."),
        json!(" 5"),
        json!(true),
        json!([]),
        json!(-1),
    ] {
        assert_eq!(
            err_on(with(direct(), "amount", bad.clone()), "amount"),
            ["Enter a valid amount."],
            "{bad}"
        );
        // syntax is checked in campaign mode too, before the currency is known
        assert_eq!(
            err_on(with(campaign(), "amount", bad.clone()), "amount"),
            ["Enter a valid amount."],
            "{bad}"
        );
    }
}

#[test]
fn amount_decimals_and_maximum_in_direct_mode() {
    assert_eq!(
        err_on(with(direct(), "amount", json!("29.999")), "amount"),
        ["Ensure that there are no more than 2 decimal places."]
    );
    assert_eq!(
        err_on(with(direct(), "amount", json!("1000000.00")), "amount"),
        ["Ensure this value is less than or equal to 999999.99."]
    );
    assert!(CreateSessionRequest::from_json(&with(direct(), "amount", json!("999999.99"))).is_ok());
    let jpy = with(
        with(direct(), "currency", json!("JPY")),
        "amount",
        json!("500.5"),
    );
    assert_eq!(
        err_on(jpy, "amount"),
        ["Ensure that there are no more than 0 decimal places."]
    );
}

#[test]
fn amount_as_json_number() {
    let t = terms(with(direct(), "amount", json!(29.99)), None);
    assert_eq!(t.pricing.amount(), eur("29.99"));
    let t = terms(with(direct(), "amount", json!(30)), None);
    assert_eq!(t.pricing.amount(), eur("30.00"));
    let t = terms(with(direct(), "amount", json!("29.9")), None);
    assert_eq!(t.pricing.amount().minor(), 2990);
}

#[test]
fn zero_amount_only_in_customer_mode() {
    let zero = with(direct(), "amount", json!("0.00"));
    assert_eq!(
        err_on(zero.clone(), "amount"),
        ["Ensure this value is greater than 0."]
    );
    assert_eq!(
        err_on(
            with(zero.clone(), "mode", json!("customer_payment")),
            "amount"
        ),
        ["Ensure this value is greater than 0."]
    );
    let t = terms(with(zero, "mode", json!("customer")), None);
    assert!(t.pricing.amount().is_zero());
    assert_eq!(
        err_on(with(direct(), "amount", json!(0)), "amount"),
        ["Ensure this value is greater than 0."]
    );
}

#[test]
fn currency_errors() {
    for (bad, shown) in [
        (json!("eur"), "eur"),
        (json!("XYZ"), "XYZ"),
        (json!(978), "978"),
        (json!("EURO"), "EURO"),
    ] {
        assert_eq!(
            err_on(with(direct(), "currency", bad), "currency"),
            [format!("\"{shown}\" is not a valid choice.")]
        );
    }
    // a bad currency does not also produce decimal-place errors
    let e = CreateSessionRequest::from_json(&with(direct(), "currency", json!("eur"))).unwrap_err();
    assert!(!e.contains("amount"), "{e:?}");
}

// ---- billing fields ---------------------------------------------------------------------

#[test]
fn billing_choice_errors() {
    assert_eq!(
        err_on(
            with(direct(), "billing_type", json!("one_off")),
            "billing_type"
        ),
        ["\"one_off\" is not a valid choice."]
    );
    assert_eq!(
        err_on(
            with(direct(), "billing_frequency", json!("monthly")),
            "billing_frequency"
        ),
        ["\"monthly\" is not a valid choice."]
    );
    assert_eq!(
        err_on(
            with(direct(), "trial_interval_unit", json!("days")),
            "trial_interval_unit"
        ),
        ["\"days\" is not a valid choice."]
    );
}

#[test]
fn direct_recurring_needs_frequency() {
    let body = with(direct(), "billing_type", json!("RECURRING"));
    assert_eq!(
        err_on(body.clone(), "billing_frequency"),
        ["This field is required when billing_type is RECURRING."]
    );
    let t = terms(with(body, "billing_frequency", json!("WEEKLY")), None);
    assert_eq!(
        t.pricing.billing_frequency(),
        Some(BillingFrequency::Weekly)
    );
}

#[test]
fn direct_one_off_refuses_frequency_and_trial() {
    let body = with(
        with(direct(), "billing_frequency", json!("MONTHLY")),
        "trial_price",
        json!("0.00"),
    );
    let e = CreateSessionRequest::from_json(&body).unwrap_err();
    assert_eq!(
        e.get("billing_frequency").unwrap(),
        ["This field is not allowed when billing_type is ONE_OFF."]
    );
    assert_eq!(
        e.get("trial_price").unwrap(),
        ["This field is not allowed when billing_type is ONE_OFF."]
    );
}

#[test]
fn direct_trial_recurring() {
    let body = with(
        with(direct(), "billing_type", json!("TRIAL_RECURRING")),
        "billing_frequency",
        json!("MONTHLY"),
    );
    let e = CreateSessionRequest::from_json(&body).unwrap_err();
    for f in ["trial_period", "trial_interval_unit", "trial_price"] {
        assert_eq!(
            e.get(f).unwrap(),
            ["This field is required when billing_type is TRIAL_RECURRING."],
            "{f}"
        );
    }
    let body = with(
        with(
            with(body, "trial_period", json!(7)),
            "trial_interval_unit",
            json!("day"),
        ),
        "trial_price",
        json!("0.00"),
    );
    let t = terms(body, None);
    let trial = t.pricing.trial().unwrap();
    assert_eq!((trial.period, trial.unit), (7, TrialIntervalUnit::Day));
    assert!(trial.price.is_zero());
}

#[test]
fn trial_field_values() {
    let f = "trial_period";
    assert_eq!(
        err_on(with(direct(), f, json!(0)), f),
        ["Ensure this value is greater than or equal to 1."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(1001)), f),
        ["Ensure this value is less than or equal to 1000."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!("abc")), f),
        ["A valid integer is required."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(1.5)), f),
        ["A valid integer is required."]
    );
    let f = "trial_price";
    assert_eq!(
        err_on(with(direct(), f, json!("-1")), f),
        ["Enter a valid amount."]
    );
    let body = json!({
        "gateway_id": GATEWAY, "amount": "9.99", "currency": "EUR", "billing_type": "TRIAL_RECURRING",
        "billing_frequency": "MONTHLY", "trial_period": 1, "trial_interval_unit": "month",
        "trial_price": "1.234", "lead": lead()
    });
    assert_eq!(
        err_on(body, f),
        ["Ensure that there are no more than 2 decimal places."]
    );
}

// ---- simple fields ----------------------------------------------------------------------

#[test]
fn max_payment_attempts_bounds() {
    let f = "max_payment_attempts";
    assert_eq!(
        err_on(with(direct(), f, json!(0)), f),
        ["Ensure this value is greater than or equal to 1."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(11)), f),
        ["Ensure this value is less than or equal to 10."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!("x")), f),
        ["A valid integer is required."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(true)), f),
        ["A valid integer is required."]
    );
    assert_eq!(
        parse(with(direct(), f, json!(1))).max_payment_attempts,
        Some(1)
    );
    assert_eq!(
        parse(with(direct(), f, json!(10))).max_payment_attempts,
        Some(10)
    );
    assert_eq!(
        parse(with(direct(), f, json!("4"))).max_payment_attempts,
        Some(4)
    );
    assert_eq!(
        terms(with(direct(), f, json!(7)), None).max_payment_attempts,
        7
    );
}

#[test]
fn expires_in_seconds_bounds() {
    let f = "expires_in_seconds";
    assert_eq!(
        err_on(with(direct(), f, json!(59)), f),
        ["Ensure this value is greater than or equal to 60."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(86_401)), f),
        ["Ensure this value is less than or equal to 86400."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!("soon")), f),
        ["A valid integer is required."]
    );
    assert_eq!(parse(with(direct(), f, json!(60))).expires_in_seconds, 60);
    assert_eq!(
        parse(with(direct(), f, json!(86_400))).expires_in_seconds,
        86_400
    );
}

#[test]
fn payment_types_only_sepa_debit() {
    let f = "payment_types";
    assert!(CreateSessionRequest::from_json(&with(direct(), f, json!(["sepa_debit"]))).is_ok());
    assert_eq!(
        err_on(with(direct(), f, json!([])), f),
        ["This list may not be empty."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(["card"])), f),
        ["\"card\" is not a valid choice."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(["sepa_debit", "card"])), f),
        ["\"card\" is not a valid choice."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!([5])), f),
        ["\"5\" is not a valid choice."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!(["sepa_debit", "sepa_debit"])), f),
        ["Only [\"sepa_debit\"] is accepted."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!("sepa_debit")), f),
        ["Expected a list of items but got type \"str\"."]
    );
}

#[test]
fn mode_and_customer_id() {
    assert_eq!(
        err_on(with(direct(), "mode", json!("CUSTOMER")), "mode"),
        ["\"CUSTOMER\" is not a valid choice."]
    );
    let cid = "0190a1b2-c3d4-7e5f-8a9b-0000000000cc";
    // payment mode (explicit or default) refuses customer_id
    assert_eq!(
        err_on(with(direct(), "customer_id", json!(cid)), "customer_id"),
        [CUSTOMER_ID_MODE]
    );
    let body = with(
        with(direct(), "customer_id", json!(cid)),
        "mode",
        json!("payment"),
    );
    assert_eq!(err_on(body, "customer_id"), [CUSTOMER_ID_MODE]);
    for mode in ["customer", "customer_payment"] {
        let r = parse(with(
            with(direct(), "customer_id", json!(cid)),
            "mode",
            json!(mode),
        ));
        assert_eq!(r.customer_id.unwrap().to_string(), cid);
        assert_eq!(r.mode.as_str(), mode);
    }
    let body = with(
        with(direct(), "customer_id", json!("x")),
        "mode",
        json!("customer"),
    );
    assert_eq!(err_on(body, "customer_id"), ["Must be a valid UUID."]);
}

#[test]
fn mode_helpers() {
    assert!(SessionMode::Payment.debits() && !SessionMode::Payment.saves_customer());
    assert!(!SessionMode::Customer.debits() && SessionMode::Customer.saves_customer());
    assert!(SessionMode::CustomerPayment.debits() && SessionMode::CustomerPayment.saves_customer());
    assert!(
        SessionMode::Customer.allows_zero_amount()
            && !SessionMode::CustomerPayment.allows_zero_amount()
    );
    assert_eq!(SessionMode::default(), SessionMode::Payment);
}

#[test]
fn external_customer_id_length() {
    let f = "external_customer_id";
    assert_eq!(
        parse(with(direct(), f, json!("a".repeat(255))))
            .external_customer_id
            .unwrap()
            .len(),
        255
    );
    assert_eq!(
        err_on(with(direct(), f, json!("a".repeat(256))), f),
        ["Ensure this field has no more than 255 characters."]
    );
    assert_eq!(
        err_on(with(direct(), f, json!({})), f),
        ["Not a valid string."]
    );
    assert_eq!(
        parse(with(direct(), f, json!(12345)))
            .external_customer_id
            .as_deref(),
        Some("12345")
    );
}

#[test]
fn return_url_rules() {
    let f = "return_url";
    let r = parse(with(direct(), f, json!("https://shop.example/done?x=1")));
    assert_eq!(
        r.return_url.as_deref(),
        Some("https://shop.example/done?x=1")
    );
    for bad in [
        "/done",
        "shop.example/done",
        "ftp://shop.example/",
        "javascript:alert(1)",
        "https://",
    ] {
        assert_eq!(
            err_on(with(direct(), f, json!(bad)), f),
            ["Enter a valid URL."],
            "{bad}"
        );
    }
    assert_eq!(
        err_on(with(direct(), f, json!("")), f),
        ["This field may not be blank."]
    );
    let long = format!("https://shop.example/{}", "a".repeat(2048));
    assert_eq!(
        err_on(with(direct(), f, json!(long)), f),
        ["Ensure this field has no more than 2048 characters."]
    );
}

#[test]
fn customer_ip_rules() {
    let f = "customer_ip";
    assert_eq!(
        parse(with(direct(), f, json!("203.0.113.9")))
            .customer_ip
            .unwrap()
            .to_string(),
        "203.0.113.9"
    );
    assert!(
        parse(with(direct(), f, json!("2001:db8::1")))
            .customer_ip
            .unwrap()
            .is_ipv6()
    );
    for bad in [
        json!("203.0.113"),
        json!("localhost"),
        json!(3232235777_u64),
    ] {
        assert_eq!(
            err_on(with(direct(), f, bad), f),
            ["Enter a valid IPv4 or IPv6 address."]
        );
    }
}

#[test]
fn locale_rules() {
    assert_eq!(
        err_on(
            with(direct(), "default_locale", json!("DE")),
            "default_locale"
        ),
        ["\"DE\" is not a valid choice."]
    );
    assert_eq!(
        err_on(
            with(direct(), "default_locale", json!("sv")),
            "default_locale"
        ),
        ["\"sv\" is not a valid choice."]
    );
    assert_eq!(
        parse(with(direct(), "default_locale", json!("ja"))).locale(),
        Locale::Ja
    );
    assert_eq!(parse(direct()).locale(), Locale::De);
    let mut body = direct();
    body["lead"]["country"] = json!("SE");
    assert_eq!(parse(body).locale(), Locale::En);
    assert_eq!(
        parse(with(direct(), "default_locale", json!("pl"))).locale(),
        Locale::Pl
    );
}

#[test]
fn locale_for_country() {
    for (c, l) in [
        ("DE", Locale::De),
        ("AT", Locale::De),
        ("CH", Locale::De),
        ("LI", Locale::De),
        ("FR", Locale::Fr),
        ("BE", Locale::Fr),
        ("LU", Locale::Fr),
        ("MC", Locale::Fr),
        ("ES", Locale::Es),
        ("IT", Locale::It),
        ("SM", Locale::It),
        ("VA", Locale::It),
        ("NL", Locale::Nl),
        ("JP", Locale::Ja),
        ("PL", Locale::Pl),
        ("PT", Locale::Pt),
        ("BR", Locale::Pt),
        ("GB", Locale::En),
        ("US", Locale::En),
        ("", Locale::En),
        ("de", Locale::De),
    ] {
        assert_eq!(Locale::for_country(c), l, "{c}");
    }
    assert_eq!(Locale::default(), Locale::En);
    assert_eq!(Locale::ALL.len(), 9);
}

// ---- lead -------------------------------------------------------------------------------

#[test]
fn lead_presence_and_shape() {
    let mut body = direct();
    body.as_object_mut().unwrap().remove("lead");
    assert_eq!(err_on(body, "lead"), ["This field is required."]);
    assert_eq!(
        err_on(with(direct(), "lead", Value::Null), "lead"),
        ["This field may not be null."]
    );
    assert_eq!(
        err_on(with(direct(), "lead", json!("max")), "lead"),
        ["Invalid data. Expected a dictionary, but got str."]
    );
    assert_eq!(
        err_on(with(direct(), "lead", json!([])), "lead"),
        ["Invalid data. Expected a dictionary, but got list."]
    );
}

#[test]
fn lead_errors_are_prefixed() {
    let mut body = direct();
    body["lead"]["email"] = json!("not-an-email");
    body["lead"]["country"] = json!("de");
    let e = CreateSessionRequest::from_json(&body).unwrap_err();
    assert_eq!(
        e.get("lead.email").unwrap(),
        ["Enter a valid email address."]
    );
    assert_eq!(
        e.get("lead.country").unwrap(),
        ["\"de\" is not a valid choice."]
    );
    assert!(!e.contains("email"));
}

// ---- line items -------------------------------------------------------------------------

fn item() -> Value {
    json!({"description": "Widget", "amount": "9.99"})
}

#[test]
fn line_items_valid() {
    let body = with(
        direct(),
        "line_items",
        json!([
            item(),
            {"description": "Gadget", "amount": 5, "quantity": 3, "external_product_num": "SKU-1"}
        ]),
    );
    let r = parse(body);
    assert_eq!(r.line_items.len(), 2);
    assert_eq!(r.line_items[0].quantity, 1);
    let t = r.resolve(None, None).unwrap();
    assert_eq!(t.line_items[0].amount, eur("9.99"));
    assert_eq!(t.line_items[1].amount, eur("5.00"));
    assert_eq!(t.line_items[1].quantity, 3);
    assert_eq!(t.line_items[1].total_minor(), Some(1500));
    assert_eq!(
        t.line_items[1].external_product_num.as_deref(),
        Some("SKU-1")
    );
}

#[test]
fn line_items_shape_and_count() {
    assert_eq!(
        err_on(with(direct(), "line_items", json!({})), "line_items"),
        ["Expected a list of items but got type \"dict\"."]
    );
    let hundred: Vec<Value> = (0..100).map(|_| item()).collect();
    assert_eq!(
        parse(with(direct(), "line_items", json!(hundred)))
            .line_items
            .len(),
        100
    );
    let many: Vec<Value> = (0..101).map(|_| item()).collect();
    assert_eq!(
        err_on(with(direct(), "line_items", json!(many)), "line_items"),
        ["Ensure this field has no more than 100 elements."]
    );
    assert_eq!(
        err_on(
            with(direct(), "line_items", json!([item(), "x"])),
            "line_items.1"
        ),
        ["Invalid data. Expected a dictionary, but got str."]
    );
}

#[test]
fn line_item_fields() {
    let li = |v: Value| with(direct(), "line_items", json!([item(), v]));
    assert_eq!(
        err_on(li(json!({"amount": "1"})), "line_items.1.description"),
        ["This field is required."]
    );
    assert_eq!(
        err_on(
            li(json!({"amount": "1", "description": " "})),
            "line_items.1.description"
        ),
        ["This field may not be blank."]
    );
    assert_eq!(
        err_on(
            li(json!({"amount": "1", "description": "a".repeat(256)})),
            "line_items.1.description"
        ),
        ["Ensure this field has no more than 255 characters."]
    );
    assert!(
        CreateSessionRequest::from_json(&li(
            json!({"amount": "1", "description": "a".repeat(255)})
        ))
        .is_ok()
    );
    assert_eq!(
        err_on(li(json!({"description": "x"})), "line_items.1.amount"),
        ["This field is required."]
    );
    assert_eq!(
        err_on(
            li(json!({"description": "x", "amount": "1e3"})),
            "line_items.1.amount"
        ),
        ["Enter a valid amount."]
    );
    assert_eq!(
        err_on(
            li(json!({"description": "x", "amount": "1.999"})),
            "line_items.1.amount"
        ),
        ["Ensure that there are no more than 2 decimal places."]
    );
    assert_eq!(
        err_on(
            li(json!({"description": "x", "amount": "1", "quantity": 0})),
            "line_items.1.quantity"
        ),
        ["Ensure this value is greater than or equal to 1."]
    );
    assert_eq!(
        err_on(
            li(json!({"description": "x", "amount": "1", "quantity": "two"})),
            "line_items.1.quantity"
        ),
        ["A valid integer is required."]
    );
    assert_eq!(
        err_on(
            li(json!({"description": "x", "amount": "1", "external_product_num": "a".repeat(256)})),
            "line_items.1.external_product_num"
        ),
        ["Ensure this field has no more than 255 characters."]
    );
}

#[test]
fn line_item_zero_amount_is_allowed() {
    let t = terms(
        with(
            direct(),
            "line_items",
            json!([{"description": "Free gift", "amount": "0.00"}]),
        ),
        None,
    );
    assert!(t.line_items[0].amount.is_zero());
}

// ---- metadata ---------------------------------------------------------------------------

#[test]
fn metadata_valid() {
    let r = parse(with(
        direct(),
        "metadata",
        json!({"order_ref": "A-1", "empty": ""}),
    ));
    assert_eq!(r.metadata.get("order_ref"), Some("A-1"));
    assert_eq!(r.metadata.len(), 2);
    assert_eq!(
        r.metadata.to_json(),
        json!({"order_ref": "A-1", "empty": ""})
    );
    assert_eq!(
        serde_json::to_value(&r.metadata).unwrap(),
        json!({"order_ref": "A-1", "empty": ""})
    );
}

#[test]
fn metadata_rules() {
    let m = |v: Value| with(direct(), "metadata", v);
    assert_eq!(
        err_on(m(json!(["a"])), "metadata"),
        ["Expected a dictionary of items but got type \"list\"."]
    );
    assert_eq!(
        err_on(m(json!("a")), "metadata"),
        ["Expected a dictionary of items but got type \"str\"."]
    );

    let fifty: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(parse(m(Value::Object(fifty))).metadata.len(), 50);
    let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        err_on(m(Value::Object(many)), "metadata"),
        ["Ensure this field has no more than 50 keys."]
    );

    let k30 = "k".repeat(30);
    assert!(CreateSessionRequest::from_json(&m(json!({ k30: "v" }))).is_ok());
    let k31 = "k".repeat(31);
    assert_eq!(
        err_on(m(json!({ k31.clone(): "v" })), "metadata"),
        [format!(
            "Ensure that metadata keys have no more than 30 characters (\"{k31}\")."
        )]
    );
    assert_eq!(
        err_on(m(json!({"": "v"})), "metadata"),
        ["Metadata keys may not be blank."]
    );

    assert!(CreateSessionRequest::from_json(&m(json!({"k": "v".repeat(2000)}))).is_ok());
    assert_eq!(
        err_on(m(json!({"k": "v".repeat(2001)})), "metadata.k"),
        ["Ensure this field has no more than 2000 characters."]
    );
    assert_eq!(
        err_on(m(json!({"k": 5})), "metadata.k"),
        ["Not a valid string."]
    );
    assert_eq!(
        err_on(m(json!({"k": null})), "metadata.k"),
        ["Not a valid string."]
    );
}

#[test]
fn metadata_from_json_directly() {
    assert_eq!(
        Metadata::from_json(&json!({"a": "b"})).unwrap().get("a"),
        Some("b")
    );
    assert!(
        Metadata::from_json(&json!({"a": 1}))
            .unwrap_err()
            .contains("metadata.a")
    );
    assert!(
        Metadata::from_json(&json!(null))
            .unwrap_err()
            .contains("metadata")
    );
}

// ---- resolution against a campaign ------------------------------------------------------

#[test]
fn campaign_offer_is_used_as_is() {
    let o = offer(BillingType::Recurring);
    let r = parse(campaign());
    let t = r.resolve(Some(&o), Some(5)).unwrap();
    assert_eq!(
        t.pricing,
        Pricing::recurring(eur("29.99"), BillingFrequency::Monthly)
    );
    assert_eq!(t.max_payment_attempts, 5);
    assert!(t.offer_overrides.is_empty());
    assert_eq!(r.resolve(Some(&o), None).unwrap().max_payment_attempts, 3);
    let r = parse(with(campaign(), "max_payment_attempts", json!(2)));
    assert_eq!(
        r.resolve(Some(&o), Some(5)).unwrap().max_payment_attempts,
        2
    );
}

#[test]
fn amount_override() {
    let o = offer(BillingType::OneOff);
    let t = terms(with(campaign(), "amount", json!("19.9")), Some(&o));
    assert_eq!(t.pricing.amount(), eur("19.90"));
    assert_eq!(
        t.offer_overrides,
        BTreeMap::from([("amount".to_owned(), json!("19.90"))])
    );
    assert_eq!(
        resolve_err(
            with(campaign(), "amount", json!("19.999")),
            Some(&o),
            "amount"
        ),
        ["Ensure that there are no more than 2 decimal places."]
    );
}

#[test]
fn campaign_amount_decimals_follow_campaign_currency() {
    let mut o = offer(BillingType::OneOff);
    o.price = Money::parse("500", Currency::parse("JPY").unwrap()).unwrap();
    assert_eq!(
        resolve_err(
            with(campaign(), "amount", json!("500.5")),
            Some(&o),
            "amount"
        ),
        ["Ensure that there are no more than 0 decimal places."]
    );
    assert_eq!(
        terms(with(campaign(), "amount", json!("600")), Some(&o))
            .pricing
            .amount()
            .minor(),
        600
    );
}

#[test]
fn zero_priced_campaign_and_zero_override() {
    let mut o = offer(BillingType::OneOff);
    o.price = eur("0.00");
    assert_eq!(
        resolve_err(campaign(), Some(&o), "amount"),
        ["Ensure this value is greater than 0."]
    );
    assert!(
        terms(with(campaign(), "mode", json!("customer")), Some(&o))
            .pricing
            .amount()
            .is_zero()
    );
    let o = offer(BillingType::OneOff);
    assert_eq!(
        resolve_err(
            with(campaign(), "amount", json!("0.00")),
            Some(&o),
            "amount"
        ),
        ["Ensure this value is greater than 0."]
    );
    let body = with(
        with(campaign(), "amount", json!("0.00")),
        "mode",
        json!("customer"),
    );
    assert!(terms(body, Some(&o)).pricing.amount().is_zero());
}

#[test]
fn currency_override_needs_amount() {
    let o = offer(BillingType::OneOff);
    let usd = with(campaign(), "currency", json!("USD"));
    assert_eq!(
        resolve_err(usd.clone(), Some(&o), "amount"),
        [CURRENCY_CHANGED_REQUIRED]
    );
    let t = terms(with(usd, "amount", json!("31.00")), Some(&o));
    assert_eq!(t.currency().code(), "USD");
    assert_eq!(t.offer_overrides["currency"], json!("USD"));
    assert_eq!(t.offer_overrides["amount"], json!("31.00"));
    // same currency as the campaign: the price is reused
    let t = terms(with(campaign(), "currency", json!("EUR")), Some(&o));
    assert_eq!(t.pricing.amount(), eur("29.99"));
    assert_eq!(t.offer_overrides["currency"], json!("EUR"));
}

#[test]
fn currency_override_needs_trial_price_too() {
    let o = offer(BillingType::TrialRecurring);
    let body = with(
        with(campaign(), "currency", json!("USD")),
        "amount",
        json!("31.00"),
    );
    assert_eq!(
        resolve_err(body.clone(), Some(&o), "trial_price"),
        [CURRENCY_CHANGED_REQUIRED]
    );
    let t = terms(with(body, "trial_price", json!("2")), Some(&o));
    assert_eq!(t.pricing.trial().unwrap().price.to_decimal_string(), "2.00");
}

#[test]
fn one_off_campaign_switched_to_recurring_needs_frequency() {
    let o = offer(BillingType::OneOff);
    let body = with(campaign(), "billing_type", json!("RECURRING"));
    assert_eq!(
        resolve_err(body.clone(), Some(&o), "billing_frequency"),
        ["This field is required when billing_type is RECURRING."]
    );
    let t = terms(with(body, "billing_frequency", json!("YEARLY")), Some(&o));
    assert_eq!(
        t.pricing,
        Pricing::recurring(eur("29.99"), BillingFrequency::Yearly)
    );
    assert_eq!(t.offer_overrides["billing_type"], json!("RECURRING"));
    assert_eq!(t.offer_overrides["billing_frequency"], json!("YEARLY"));
}

#[test]
fn recurring_campaign_switched_to_one_off_drops_frequency() {
    let o = offer(BillingType::Recurring);
    let t = terms(with(campaign(), "billing_type", json!("ONE_OFF")), Some(&o));
    assert_eq!(t.pricing, Pricing::one_off(eur("29.99")));
    // but a frequency the request itself sends is refused
    let body = with(
        with(campaign(), "billing_type", json!("ONE_OFF")),
        "billing_frequency",
        json!("MONTHLY"),
    );
    assert_eq!(
        resolve_err(body, Some(&o), "billing_frequency"),
        ["This field is not allowed when billing_type is ONE_OFF."]
    );
}

#[test]
fn one_off_campaign_refuses_sent_frequency() {
    let o = offer(BillingType::OneOff);
    assert_eq!(
        resolve_err(
            with(campaign(), "billing_frequency", json!("MONTHLY")),
            Some(&o),
            "billing_frequency"
        ),
        ["This field is not allowed when billing_type is ONE_OFF."]
    );
}

#[test]
fn trial_campaign_switched_to_recurring_drops_trial() {
    let o = offer(BillingType::TrialRecurring);
    let t = terms(
        with(campaign(), "billing_type", json!("RECURRING")),
        Some(&o),
    );
    assert_eq!(
        t.pricing,
        Pricing::recurring(eur("29.99"), BillingFrequency::Monthly)
    );
    assert!(t.pricing.trial().is_none());
}

#[test]
fn recurring_campaign_switched_to_trial() {
    let o = offer(BillingType::Recurring);
    let body = with(campaign(), "billing_type", json!("TRIAL_RECURRING"));
    let e = parse(body.clone()).resolve(Some(&o), None).unwrap_err();
    for f in ["trial_period", "trial_interval_unit", "trial_price"] {
        assert!(e.contains(f), "{f}: {e:?}");
    }
    assert!(
        !e.contains("billing_frequency"),
        "the campaign's frequency is kept: {e:?}"
    );
    let body = with(
        with(
            with(body, "trial_period", json!(1)),
            "trial_interval_unit",
            json!("week"),
        ),
        "trial_price",
        json!(0),
    );
    let t = terms(body, Some(&o));
    let trial = t.pricing.trial().unwrap();
    assert_eq!(
        (trial.period, trial.unit, trial.price),
        (1, TrialIntervalUnit::Week, eur("0"))
    );
    assert_eq!(
        t.pricing.billing_frequency(),
        Some(BillingFrequency::Monthly)
    );
    assert_eq!(t.offer_overrides["trial_period"], json!(1));
    assert_eq!(t.offer_overrides["trial_interval_unit"], json!("week"));
    assert_eq!(t.offer_overrides["trial_price"], json!("0.00"));
    assert_eq!(t.offer_overrides.len(), 4);
}

#[test]
fn partial_trial_override_keeps_other_trial_fields() {
    let o = offer(BillingType::TrialRecurring);
    let t = terms(with(campaign(), "trial_price", json!("0.50")), Some(&o));
    let trial = t.pricing.trial().unwrap();
    assert_eq!(
        (trial.period, trial.unit, trial.price),
        (14, TrialIntervalUnit::Day, eur("0.50"))
    );
    assert_eq!(
        t.offer_overrides,
        BTreeMap::from([("trial_price".to_owned(), json!("0.50"))])
    );
}

#[test]
fn trial_fields_refused_on_non_trial_campaign() {
    let o = offer(BillingType::Recurring);
    assert_eq!(
        resolve_err(
            with(campaign(), "trial_period", json!(3)),
            Some(&o),
            "trial_period"
        ),
        ["This field is not allowed when billing_type is RECURRING."]
    );
}

#[test]
fn line_items_use_session_currency_in_campaign_mode() {
    let mut o = offer(BillingType::OneOff);
    o.price = Money::parse("500", Currency::parse("JPY").unwrap()).unwrap();
    let body = with(
        campaign(),
        "line_items",
        json!([{"description": "a", "amount": "100"}, {"description": "b", "amount": "1.5"}]),
    );
    assert_eq!(
        resolve_err(body, Some(&o), "line_items.1.amount"),
        ["Ensure that there are no more than 0 decimal places."]
    );
}

#[test]
fn campaign_offer_pricing() {
    assert!(
        offer(BillingType::TrialRecurring)
            .pricing()
            .unwrap()
            .trial()
            .is_some()
    );
    let mut bad = offer(BillingType::Recurring);
    bad.billing_frequency = None;
    assert!(bad.pricing().unwrap_err().contains("billing_frequency"));
}

#[test]
fn line_item_total_overflow_is_none() {
    let li = LineItem {
        description: "x".into(),
        amount: Money::max(Currency::parse("CLF").unwrap()),
        quantity: u32::MAX,
        external_product_num: None,
    };
    // 9 999 999 999 × 4 294 967 295 ≈ 4.3e19 > i64::MAX
    assert_eq!(li.total_minor(), None);
    let li = LineItem { quantity: 1, ..li };
    assert_eq!(li.total_minor(), Some(9_999_999_999));
}
