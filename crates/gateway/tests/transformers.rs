//! The pure Genesis transformers against the XML fixtures in `tests/fixtures/`.

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::emp::transformers::{
    self, Interpretation, ReconcileBy, SignatureAlgorithm, interpret, parse_notification,
    parse_payment_response, parse_payment_responses,
};
use catalyst_gateway::xml::Element;
use catalyst_gateway::{DebitKind, DebitRequest, GatewayError, GatewayOutcome, RefundRequest};
use catalyst_sepa::DeclineCode;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR).unwrap()
}

fn assert_same_tree(ours: &Element, fixture_name: &str) {
    let expected = Element::parse(&fixture(fixture_name)).unwrap();
    assert_eq!(
        ours.canonical(),
        expected.canonical(),
        "{fixture_name}\nours:\n{}",
        ours.to_document()
    );
}

fn sale_request() -> DebitRequest {
    let mut req = DebitRequest::example("TXN-20260411-0000ABCD");
    req.usage = "Pro plan & extras".into();
    req.iban = Some(Secret::new("de89 3704 0044 0532 0130 00".into()));
    req.return_url = Some("https://pay.example.com/return?s=1".into());
    req.notification_url = Some("https://pay.example.com/notifications/emp/".into());
    req
}

#[test]
fn sdd_sale_request_matches_fixture() {
    let xml = transformers::debit_request(&sale_request(), Some("  Catalyst Demo ")).unwrap();
    assert_same_tree(&xml, "request_sdd_sale.xml");
    // Order follows the PHP SDK: transaction_type first; the document is UTF-8 with a
    // declaration, and escapes `&`.
    let doc = xml.to_document();
    assert!(doc.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<payment_transaction>\n  <transaction_type>sdd_sale</transaction_type>\n"
    ));
    assert!(doc.contains("<usage>Pro plan &amp; extras</usage>"));
    assert!(doc.contains("<address1>Musterstraße 1</address1>"));
}

#[test]
fn sdd_init_recurring_sale_request_matches_fixture() {
    let mut req = DebitRequest::example("TXN-20260411-0000ABCE");
    req.kind = DebitKind::FirstRecurring;
    req.amount = eur(2999);
    req.usage = "Pro plan, monthly".into();
    req.remote_ip = "2001:db8::7".into();
    req.bic = None;
    req.email = None;
    req.first_name = "Erika".into();
    req.last_name = "Musterfrau".into();
    req.address = None;
    req.zip_code = Some("  ".into());
    req.city = None;
    req.country = "de".into();
    req.mandate_reference = "MAND-ORD-0000ABCE".into();
    let xml = transformers::debit_request(&req, None).unwrap();
    assert_same_tree(&xml, "request_sdd_init_recurring_sale.xml");
}

#[test]
fn sdd_recurring_sale_request_matches_fixture() {
    let mut req = DebitRequest::example("TXN-20260511-0000ABCF");
    req.kind = DebitKind::Recurring {
        reference_id: "44177a21403427eb96664a6d7e5d5d48".into(),
    };
    req.iban = None;
    req.amount = eur(500);
    req.usage = "Pro plan, monthly".into();
    // Descriptor and customer data are not sent on recurring debits.
    let xml = transformers::debit_request(&req, Some("Catalyst Demo")).unwrap();
    assert_same_tree(&xml, "request_sdd_recurring_sale.xml");
}

#[test]
fn sdd_recurring_sale_leaves_out_the_bank_details_the_caller_also_sets() {
    // The billing system sends renewals with the mandate's IBAN set: it must not go out.
    let mut req = sale_request();
    req.transaction_id = "TXN-20260511-0000ABCF".into();
    req.kind = DebitKind::Recurring {
        reference_id: " 44177a21403427eb96664a6d7e5d5d48 ".into(),
    };
    req.notification_url = None;
    req.amount = eur(500);
    req.usage = "Pro plan, monthly".into();
    let xml = transformers::debit_request(&req, Some("Catalyst Demo")).unwrap();
    assert_same_tree(&xml, "request_sdd_recurring_sale.xml");
    assert_eq!(
        xml.text_of("reference_id"),
        Some("44177a21403427eb96664a6d7e5d5d48")
    );
    let doc = xml.to_document();
    for absent in [
        "iban",
        "bic",
        "billing_address",
        "mandate_reference",
        "customer_email",
        "return_success_url",
        "dynamic_descriptor_params",
    ] {
        assert!(xml.get(absent).is_none(), "{absent} in {doc}");
    }
    assert!(!doc.contains("DE89370400440532013000"), "{doc}");
    assert!(!doc.contains("Mustermann"), "{doc}");
    // A renewal without a reference is refused before sending, IBAN or not.
    req.kind = DebitKind::Recurring {
        reference_id: "  ".into(),
    };
    assert!(matches!(
        transformers::debit_request(&req, None),
        Err(GatewayError::Protocol(_))
    ));
}

#[test]
fn sdd_refund_request_matches_fixture() {
    let req = RefundRequest {
        transaction_id: "TXN-20260412-0000ABD0".into(),
        reference: "44177a21403427eb96664a6d7e5d5d48".into(),
        amount: eur(1000),
        usage: "Refund: Pro plan".into(),
        remote_ip: "198.51.100.1".into(),
    };
    let xml = transformers::refund_request(&req).unwrap();
    assert_same_tree(&xml, "request_sdd_refund.xml");
    assert_eq!(
        xml.text_of("reference_id"),
        Some("44177a21403427eb96664a6d7e5d5d48")
    );
    assert_eq!(xml.text_of("transaction_id"), Some("TXN-20260412-0000ABD0"));
    assert!(xml.get("iban").is_none());
}

#[test]
fn reconcile_requests_match_fixtures() {
    assert_same_tree(
        &transformers::reconcile_request(ReconcileBy::UniqueId("44177a21403427eb96664a6d7e5d5d48")),
        "request_reconcile_unique_id.xml",
    );
    assert_same_tree(
        &transformers::reconcile_request(ReconcileBy::TransactionId("TXN-20260411-0000ABCD")),
        "request_reconcile_transaction_id.xml",
    );
    assert_same_tree(
        &transformers::reconcile_by_date_request("2024-01-01", Some("2024-01-31"), Some(2)),
        "request_reconcile_by_date.xml",
    );
}

#[test]
fn bad_requests_are_refused_before_sending() {
    let mut req = DebitRequest::example("TXN-1");
    req.iban = None;
    assert!(matches!(
        transformers::debit_request(&req, None),
        Err(GatewayError::Protocol(_))
    ));
    req.kind = DebitKind::Recurring {
        reference_id: " ".into(),
    };
    assert!(matches!(
        transformers::debit_request(&req, None),
        Err(GatewayError::Protocol(_))
    ));
    let refund = RefundRequest {
        transaction_id: "TXN-2".into(),
        reference: String::new(),
        amount: eur(1),
        usage: "x".into(),
        remote_ip: "127.0.0.1".into(),
    };
    assert!(transformers::refund_request(&refund).is_err());
}

#[test]
fn long_descriptors_are_cut_to_140_characters() {
    let xml = transformers::debit_request(&sale_request(), Some(&"é".repeat(200))).unwrap();
    let name = xml
        .get("dynamic_descriptor_params")
        .and_then(|d| d.text_of("merchant_name"))
        .unwrap();
    assert_eq!(name.chars().count(), 140);
}

fn interpret_fixture(name: &str) -> Result<Interpretation, GatewayError> {
    interpret(&parse_payment_response(&fixture(name)).unwrap())
}

fn outcome_of(name: &str) -> GatewayOutcome {
    match interpret_fixture(name) {
        Ok(Interpretation::Outcome(outcome)) => outcome,
        other => panic!("{name}: {other:?}"),
    }
}

fn declined(name: &str) -> (Option<String>, DeclineCode, Option<String>, Option<String>) {
    match outcome_of(name) {
        GatewayOutcome::Declined {
            reference,
            code,
            gateway_code,
            gateway_message,
        } => (reference, code, gateway_code, gateway_message),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn approved_sale() {
    let resp = parse_payment_response(&fixture("response_sdd_sale_approved.xml")).unwrap();
    assert_eq!(resp.status, "approved");
    assert_eq!(resp.amount_minor, Some(1234));
    assert_eq!(resp.currency.as_deref(), Some("EUR"));
    assert_eq!(resp.mode.as_deref(), Some("test"));
    assert_eq!(resp.sent_to_acquirer, Some(true));
    assert_eq!(
        resp.transaction_id.as_deref(),
        Some("TXN-20260411-0000ABCD")
    );
    assert_eq!(
        outcome_of("response_sdd_sale_approved.xml"),
        GatewayOutcome::Approved {
            reference: "44177a21403427eb96664a6d7e5d5d48".into()
        }
    );
}

#[test]
fn pending_async_with_and_without_redirect() {
    assert_eq!(
        outcome_of("response_sdd_sale_pending_async_redirect.xml"),
        GatewayOutcome::VerificationRequired {
            reference: "5e2cf5b6f6bb9e4f5cf4a1b9e5e6e1a0".into(),
            url: "https://gate.emerchantpay.net/redirect/to_acquirer/5e2cf5b6f6bb9e4f5cf4a1b9e5e6e1a0"
                .into()
        }
    );
    assert_eq!(
        outcome_of("response_sdd_sale_pending_async.xml"),
        GatewayOutcome::Pending {
            reference: "7c3a1e0f9d8b7a6c5e4d3c2b1a0f9e8d".into()
        }
    );
}

#[test]
fn declines_normalise_through_the_sepa_table() {
    let (reference, code, gateway_code, message) =
        declined("response_sdd_sale_declined_reason_in_message.xml");
    assert_eq!(
        reference.as_deref(),
        Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    );
    assert_eq!(code, DeclineCode::MandateRejected);
    assert_eq!(gateway_code.as_deref(), Some("MD01"));
    assert_eq!(
        message.as_deref(),
        Some("Transaction declined by the debtor bank (MD01: no valid mandate)")
    );

    let (_, code, gateway_code, _) = declined("response_sdd_sale_declined_reason_element.xml");
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::Unknown, Some("XX99"))
    );

    let (_, code, gateway_code, _) = declined("response_sdd_sale_declined_plain.xml");
    assert_eq!((code, gateway_code), (DeclineCode::DoNotHonor, None));

    let (_, code, gateway_code, _) = declined("response_error_iban_blacklisted_696.xml");
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::DoNotHonor, Some("696"))
    );

    let (_, code, gateway_code, _) = declined("response_error_iban_format_330.xml");
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::InvalidIban, Some("330"))
    );

    let (_, code, _, _) = declined("response_error_invalid_card_510.xml");
    assert_eq!(code, DeclineCode::InvalidIban);

    let (reference, code, gateway_code, _) = declined("response_error_missing_field_320.xml");
    assert_eq!(reference, None);
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::Unknown, Some("320"))
    );

    let (_, code, gateway_code, message) = declined("response_error_refund_exceeds_440.xml");
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::Unknown, Some("440"))
    );
    assert_eq!(
        message.as_deref(),
        Some("amount exceeds amount of reference transaction")
    );
}

#[test]
fn system_and_configuration_errors_are_errors() {
    match interpret_fixture("response_error_auth_110.xml") {
        Err(GatewayError::Config(m)) => assert!(m.contains("110"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        interpret_fixture("response_error_invalid_terminal_220.xml"),
        Err(GatewayError::Config(_))
    ));
    for (name, code) in [
        ("response_error_system_100.xml", "100"),
        ("response_error_remote_910.xml", "910"),
        ("response_error_issuer_timeout_230.xml", "230"),
    ] {
        match interpret_fixture(name) {
            Err(e @ GatewayError::Unavailable { .. }) => assert_eq!(e.gateway_code(), Some(code)),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn duplicates_and_not_found() {
    assert_eq!(
        interpret_fixture("response_error_duplicate_450.xml"),
        Ok(Interpretation::Duplicate)
    );
    assert_eq!(
        interpret_fixture("response_error_duplicate_340.xml"),
        Ok(Interpretation::Duplicate)
    );
    assert_eq!(
        interpret_fixture("response_reconcile_not_found_460.xml"),
        Ok(Interpretation::NotFound)
    );
}

#[test]
fn reconcile_states() {
    assert_eq!(
        outcome_of("response_reconcile_refunded.xml"),
        GatewayOutcome::Approved {
            reference: "44177a21403427eb96664a6d7e5d5d48".into()
        }
    );
    let (_, code, gateway_code, _) = declined("response_reconcile_chargebacked.xml");
    assert_eq!(
        (code, gateway_code.as_deref()),
        (DeclineCode::MandateRejected, Some("MD06"))
    );
    let (_, code, gateway_code, _) = declined("response_reconcile_chargebacked_no_reason.xml");
    assert_eq!((code, gateway_code), (DeclineCode::MandateRejected, None));
    assert_eq!(
        outcome_of("response_sdd_refund_approved.xml"),
        GatewayOutcome::Approved {
            reference: "9a1b2c3d4e5f60718293a4b5c6d7e8f9".into()
        }
    );
}

#[test]
fn reconcile_by_date_pages() {
    let (items, pages) =
        parse_payment_responses(&fixture("response_reconcile_by_date.xml")).unwrap();
    assert_eq!(pages, 7);
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].transaction_type.as_deref(), Some("sdd_refund"));
    assert_eq!(items[1].amount_minor, Some(50));
    // An error answer comes back as a single item.
    let (items, pages) =
        parse_payment_responses(&fixture("response_reconcile_not_found_460.xml")).unwrap();
    assert_eq!((items.len(), pages), (1, 1));
}

#[test]
fn unusable_answers_are_protocol_errors() {
    assert!(matches!(
        interpret_fixture("response_unknown_status.xml"),
        Err(GatewayError::Protocol(_))
    ));
    for body in [
        "",
        "<html><body>502 Bad Gateway</body></html",
        "<payment_response><code>100</code></payment_response>",
        "<reconcile><status>approved</status></reconcile>",
        "<payment_response><status>approved</status><amount>12.34</amount></payment_response>",
    ] {
        assert!(
            matches!(parse_payment_response(body), Err(GatewayError::Protocol(_))),
            "{body:?}"
        );
    }
    // Approved without a unique_id cannot be used.
    let resp =
        parse_payment_response("<payment_response><status>approved</status></payment_response>")
            .unwrap();
    assert!(matches!(interpret(&resp), Err(GatewayError::Protocol(_))));
}

#[test]
fn notification_fixture_parses_and_checks_its_signature() {
    let password = Secret::new("fake-password".to_owned());
    let unique_id = "44177a21403427eb96664a6d7e5d5d48";
    let template = fixture("notification_sdd_sale_chargeback.txt");
    for algorithm in [
        SignatureAlgorithm::Sha1,
        SignatureAlgorithm::Sha256,
        SignatureAlgorithm::Sha512,
    ] {
        let signature =
            transformers::notification_signature(unique_id, password.expose(), algorithm);
        let body = template.trim().replace("SIGNATURE", &signature);
        let n = parse_notification(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            body.as_bytes(),
            &password,
        )
        .unwrap();
        assert_eq!(n.reference, unique_id);
        assert_eq!(n.transaction_id.as_deref(), Some("TXN-20260411-0000ABCD"));
        assert_eq!(n.status, "chargebacked");
        assert_eq!(n.reason_code.as_deref(), Some("MD06"));
        assert_eq!(
            n.reason_description.as_deref(),
            Some("Refund request by end customer (authorised debit)")
        );
        assert_eq!(n.event.as_deref(), Some("chargeback"));
        assert_eq!(n.amount_minor, Some(1234));
        assert_eq!(n.terminal_token.as_deref(), Some("fake-terminal-token"));
        assert_eq!(n.decline_code(), Some(DeclineCode::MandateRejected));
    }
    // Tampered: another transaction's signature, a changed unique_id, a wrong password.
    let signature =
        transformers::notification_signature(unique_id, "fake-password", SignatureAlgorithm::Sha1);
    let body = template.trim().replace("SIGNATURE", &signature);
    let tampered = body.replace(unique_id, "54177a21403427eb96664a6d7e5d5d48");
    assert_eq!(
        parse_notification(None, tampered.as_bytes(), &password),
        Err(GatewayError::InvalidSignature)
    );
    assert_eq!(
        parse_notification(None, body.as_bytes(), &Secret::new("other".to_owned())),
        Err(GatewayError::InvalidSignature)
    );
    let unsigned = body.replace(&format!("&signature={signature}"), "");
    assert_eq!(
        parse_notification(None, unsigned.as_bytes(), &password),
        Err(GatewayError::InvalidSignature)
    );
    assert!(matches!(
        parse_notification(Some("application/json"), body.as_bytes(), &password),
        Err(GatewayError::Protocol(_))
    ));
}
