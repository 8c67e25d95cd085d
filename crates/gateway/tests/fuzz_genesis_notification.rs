//! Fuzz target: the Genesis notification parser ([`parse_notification`]) on hostile POSTs —
//! arbitrary bytes and content types, forms of known and unknown fields with hostile values,
//! good and bad signatures, byte mutations of signed forms.
//!
//! It must never panic; it accepts only a body signed with the API password; an accepted
//! notification carries the form's trimmed fields, and its echo is a document that parses
//! back to the same `unique_id`. Bounded by case count; `PROPTEST_CASES=N` runs longer.

use catalyst_domain::secret::Secret;
use catalyst_gateway::emp::transformers::{
    SignatureAlgorithm, notification_echo_body, notification_signature, parse_notification,
    verify_notification_signature,
};
use catalyst_gateway::xml::Element;
use catalyst_gateway::{GatewayError, Notification};
use proptest::prelude::*;

const PASSWORD: &str = "b5a6f9f8c1d2e3a4";

const FIELDS: &[&str] = &[
    "transaction_id",
    "unique_id",
    "transaction_type",
    "terminal_token",
    "status",
    "amount",
    "event",
    "rc_code",
    "rc_description",
    "reason_code",
    "reason_description",
];

/// Values that mean something to the parser, or are hostile to it.
const VALUES: &[&str] = &[
    "",
    " ",
    "approved",
    "DECLINED",
    "chargebacked",
    "second_chargebacked",
    "refunded",
    "AM04",
    "MD06",
    "XX99",
    "1234",
    "-1",
    "0",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "1e3",
    "12.34",
    "&",
    "=",
    "%",
    "%ZZ",
    "+",
    "<unique_id>",
    "]]>",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "😀",
    "\u{202e}",
    "44177a21403427eb96664a6d7e5d5d48",
];

const CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/json",
    "text/xml",
    "",
    ";",
    "multipart/form-data; boundary=x",
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

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(VALUES).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[ -~]{0,20}",
        1 => prop::collection::vec(prop::sample::select(VALUES), 1..4).prop_map(|v| v.concat()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        3 => prop::sample::select(CONTENT_TYPES).prop_map(|c| Some(c.to_owned())),
        1 => any::<String>().prop_map(Some),
    ]
}

/// How a form is signed.
#[derive(Debug, Clone)]
enum Signing {
    /// Correctly, with this hash and letter case.
    Good(SignatureAlgorithm, bool),
    /// With another password.
    WrongPassword,
    /// Not at all.
    Missing,
    /// With this text.
    Text(String),
}

fn signing() -> impl Strategy<Value = Signing> {
    let algorithm = prop::sample::select(vec![
        SignatureAlgorithm::Sha1,
        SignatureAlgorithm::Sha256,
        SignatureAlgorithm::Sha512,
    ]);
    prop_oneof![
        4 => (algorithm, any::<bool>()).prop_map(|(a, upper)| Signing::Good(a, upper)),
        1 => Just(Signing::WrongPassword),
        1 => Just(Signing::Missing),
        1 => value().prop_map(Signing::Text),
    ]
}

/// A form of known (and some unknown) fields, its `unique_id` and its signing.
fn form() -> impl Strategy<Value = (Vec<(String, String)>, Signing)> {
    let key = prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}".prop_filter("not the signature", |k| k != "signature"),
        1 => prop::sample::select(FIELDS).prop_map(|f| format!(" {f} ")),
    ];
    (
        value(),
        prop::collection::vec((key, value()), 0..12),
        signing(),
        any::<bool>(),
        prop::option::of(prop::sample::select(VALUES)),
    )
        .prop_map(|(unique_id, mut fields, signing, with_unique_id, status)| {
            if let Some(status) = status {
                fields.insert(0, ("status".to_owned(), status.to_owned()));
            }
            if with_unique_id {
                fields.insert(0, ("unique_id".to_owned(), unique_id));
            }
            (fields, signing)
        })
}

/// The form's first value for `name` (keys and values trimmed), when not empty: what the
/// parser is documented to read.
fn first(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The encoded form, with its signature appended as the signing says.
fn encode(fields: &[(String, String)], signing: &Signing) -> String {
    let unique_id = first(fields, "unique_id").unwrap_or_default();
    let signature = match signing {
        Signing::Good(algorithm, upper) => {
            let s = notification_signature(&unique_id, PASSWORD, *algorithm);
            Some(if *upper { s.to_ascii_uppercase() } else { s })
        }
        Signing::WrongPassword => Some(notification_signature(
            &unique_id,
            "another-password",
            SignatureAlgorithm::Sha1,
        )),
        Signing::Missing => None,
        Signing::Text(text) => Some(text.clone()),
    };
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        serializer.append_pair(k, v);
    }
    if let Some(signature) = signature {
        serializer.append_pair("signature", &signature);
    }
    serializer.finish()
}

fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Notification, GatewayError> {
    parse_notification(content_type, body, &Secret::new(PASSWORD.to_owned()))
}

/// What every accepted notification satisfies, whatever the body.
fn check_accepted(n: &Notification) -> Result<(), TestCaseError> {
    prop_assert!(!n.reference.is_empty());
    prop_assert_eq!(n.reference.trim(), n.reference.as_str());
    prop_assert!(!n.status.is_empty());
    prop_assert_eq!(n.status.to_ascii_lowercase(), n.status.clone());
    let _ = n.decline_code();
    let echo = notification_echo_body(&n.reference);
    let root = Element::parse(&echo);
    prop_assert!(root.is_ok(), "{:?}: {}", root, echo);
    let root = root.map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(root.name.as_str(), "notification_echo");
    prop_assert_eq!(root.text_of("unique_id"), Some(n.reference.as_str()));
    Ok(())
}

fn check_any(content_type: Option<&str>, body: &[u8]) -> Result<(), TestCaseError> {
    match parse(content_type, body) {
        Ok(n) => check_accepted(&n),
        Err(GatewayError::InvalidSignature | GatewayError::Protocol(_)) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn arbitrary_bodies_never_panic(
        content_type in content_type(),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            any::<String>().prop_map(String::into_bytes),
        ],
    ) {
        check_any(content_type.as_deref(), &body)?;
    }

    #[test]
    fn forms_are_read_as_signed((fields, signing) in form()) {
        let body = encode(&fields, &signing);
        let result = parse(None, body.as_bytes());
        let unique_id = first(&fields, "unique_id");
        let signed = match &signing {
            Signing::Good(..) => true,
            Signing::Text(text) => unique_id.as_deref().is_some_and(|u| {
                verify_notification_signature(u, PASSWORD, text)
            }),
            Signing::WrongPassword | Signing::Missing => false,
        };
        match result {
            Ok(n) => {
                prop_assert!(signed, "accepted an unsigned form: {}", body);
                check_accepted(&n)?;
                prop_assert_eq!(Some(n.reference.clone()), unique_id);
                prop_assert_eq!(Some(n.status.clone()), first(&fields, "status").map(|s| s.to_ascii_lowercase()));
                prop_assert_eq!(n.transaction_id, first(&fields, "transaction_id"));
                prop_assert_eq!(n.reason_code, first(&fields, "rc_code").or_else(|| first(&fields, "reason_code")));
                prop_assert_eq!(n.amount_minor, first(&fields, "amount").map(|a| a.parse::<i64>().expect("accepted amounts are integers")));
            }
            Err(GatewayError::InvalidSignature) => {
                prop_assert!(!signed || unique_id.is_none(), "refused a signed form: {}", body);
            }
            Err(GatewayError::Protocol(message)) => {
                let explained = unique_id.is_none()
                    || first(&fields, "status").is_none()
                    || first(&fields, "amount").is_some_and(|a| a.parse::<i64>().is_err());
                prop_assert!(explained, "{}: {}", message, body);
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
        }
    }

    #[test]
    fn mutated_signed_forms_never_panic(
        (fields, signing) in form(),
        content_type in content_type(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    ) {
        let mut body = encode(&fields, &signing).into_bytes();
        for (at, byte) in cuts {
            if body.is_empty() {
                body.push(byte);
            } else {
                let i = at.index(body.len());
                body[i] = byte;
            }
        }
        check_any(content_type.as_deref(), &body)?;
    }
}

/// The form generator keeps reaching accepted notifications, or the properties above would
/// only ever see errors.
#[test]
fn form_generator_reaches_accepted_notifications() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = form();
    let accepted = (0..500)
        .filter(|_| {
            let (fields, signing) = strategy.new_tree(&mut runner).expect("tree").current();
            parse(None, encode(&fields, &signing).as_bytes()).is_ok()
        })
        .count();
    assert!(accepted > 50, "{accepted}");
}
