//! Fuzz target: the Genesis XML response parsers ([`Element::parse`],
//! [`parse_payment_response`], [`parse_payment_responses`], [`interpret`]) on hostile replies —
//! mutated fixtures, token soup, deep nesting, arbitrary text, huge numbers, unicode and
//! control characters.
//!
//! They must never panic or recurse with the input's depth (checks run on a 256 KiB stack);
//! a parsed tree stays within [`Limits::DEFAULT`], writes back to a
//! document that parses to the same tree, and has a stable canonical form; a response built
//! from arbitrary field values parses back to those values. Bounded by case count;
//! `PROPTEST_CASES=N` runs longer.

use catalyst_gateway::emp::transformers::{
    Interpretation, PaymentResponse, interpret, parse_payment_response, parse_payment_responses,
};
use catalyst_gateway::xml::{Element, Limits};
use catalyst_gateway::{GatewayError, GatewayOutcome};
use proptest::prelude::*;

/// The response fixtures (`tests/fixtures/response_*.xml`).
fn fixtures() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("response_") && n.ends_with(".xml"))
        })
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("fixture"))
        .collect()
}

/// Pieces that mean something to an XML parser or to the response reader.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "<a>",
    "</a>",
    "<payment_response>",
    "</payment_response>",
    "<status>",
    "</status>",
    "<amount>",
    "</amount>",
    "<unique_id/>",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x110000;",
    "&#x263A;",
    "&#65;",
    "&bogus;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE x [<!ENTITY e \"eeee\">]>",
    "&e;",
    "\"",
    "'",
    " a=\"1\"",
    " a='&amp;'",
    " a=\"1\" a=\"2\"",
    "=",
    "\u{0}",
    "\u{1}",
    "\u{7f}",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{fffe}",
    "é",
    "😀",
    "\u{202e}",
    "99999999999999999999",
    "-9223372036854775809",
    "9223372036854775807",
    "1e400",
    "NaN",
    "approved",
    "APPROVED",
    "declined",
    "error",
    "pending_async",
    "chargebacked",
    "230",
    "340",
    "450",
    "460",
    "AM04",
    "MD06",
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

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z_]{1,12}",
    ]
}

/// One byte-range edit, at char boundaries.
#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, String),
    Delete(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, usize),
    Replace(prop::sample::Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<prop::sample::Index>();
    prop_oneof![
        (at.clone(), token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (at.clone(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (at.clone(), 1usize..200).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        (at, token()).prop_map(|(i, t)| Edit::Replace(i, t)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    match edit {
        Edit::Insert(i, t) => {
            let at = i.index(len + 1);
            chars.splice(at..at, t.chars());
        }
        Edit::Delete(i, n) if len > 0 => {
            let at = i.index(len);
            chars.drain(at..(at + n).min(len));
        }
        Edit::Duplicate(i, n) if len > 0 => {
            let at = i.index(len);
            let copy: Vec<char> = chars[at..(at + n).min(len)].to_vec();
            chars.splice(at..at, copy);
        }
        Edit::Replace(i, t) if len > 0 => {
            let at = i.index(len);
            chars.splice(at..=at, t.chars());
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// A response fixture after up to six edits.
fn mutated_fixture() -> impl Strategy<Value = String> {
    (
        prop::sample::select(fixtures()),
        prop::collection::vec(edit(), 0..7),
    )
        .prop_map(|(fixture, edits)| edits.iter().fold(fixture, |text, e| apply(&text, e)))
}

/// A fixture's root wrapped in (or holding) nested elements, around the depth bound and
/// far past it.
fn nested_fixture() -> impl Strategy<Value = String> {
    (
        prop::sample::select(fixtures()),
        prop_oneof![4 => 0usize..40, 1 => 40usize..60_000],
        "[a-z]{1,3}",
        any::<bool>(),
    )
        .prop_map(|(fixture, depth, name, inside)| {
            let body = fixture
                .lines()
                .filter(|l| !l.starts_with("<?xml") && !l.starts_with("<!--"))
                .collect::<Vec<_>>()
                .join("\n");
            let open = format!("<{name}>").repeat(depth);
            let close = format!("</{name}>").repeat(depth);
            if inside {
                // Deep content inside the payment_response: the reader must cope or refuse.
                body.replacen("<status>", &format!("{open}{close}<status>"), 1)
            } else {
                format!("{open}{body}{close}")
            }
        })
}

fn hostile_reply() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => mutated_fixture(),
        1 => nested_fixture(),
        1 => prop::collection::vec(token(), 0..60).prop_map(|t| t.concat()),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Runs `check` on a thread with a 256 KiB stack, so that recursion driven by the input's
/// depth overflows it (and aborts the run) instead of passing on a large stack.
fn on_small_stack(
    check: impl FnOnce() -> Result<(), TestCaseError> + Send + 'static,
) -> Result<(), TestCaseError> {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(check)
        .expect("spawn")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Depth (root = 1) and element count, without recursion.
fn shape(root: &Element) -> (usize, usize) {
    let mut pending = vec![(root, 1usize)];
    let (mut depth, mut count) = (0, 0);
    while let Some((element, level)) = pending.pop() {
        depth = depth.max(level);
        count += 1;
        pending.extend(element.children.iter().map(|c| (c, level + 1)));
    }
    (depth, count)
}

fn check_tree(input: &str) -> Result<(), TestCaseError> {
    let Ok(root) = Element::parse(input) else {
        return Ok(());
    };
    let (depth, count) = shape(&root);
    prop_assert!(depth <= Limits::DEFAULT.max_depth);
    prop_assert!(count <= Limits::DEFAULT.max_elements);
    let document = root.to_document();
    let again = Element::parse(&document);
    prop_assert_eq!(again.as_ref(), Ok(&root), "written as:\n{}", document);
    let canonical = root.canonical();
    prop_assert_eq!(canonical.canonical(), canonical.clone());
    Ok(())
}

fn check_outcome(resp: &PaymentResponse) -> Result<(), TestCaseError> {
    match interpret(resp) {
        Ok(Interpretation::Outcome(outcome)) => {
            if let GatewayOutcome::Approved { reference }
            | GatewayOutcome::Pending { reference }
            | GatewayOutcome::VerificationRequired { reference, .. } = &outcome
            {
                prop_assert!(!reference.is_empty());
            }
        }
        Ok(Interpretation::Duplicate | Interpretation::NotFound) => {
            prop_assert!(resp.status != "approved");
        }
        Err(error) => prop_assert!(!error.to_string().is_empty()),
    }
    Ok(())
}

fn check_reply(input: &str) -> Result<(), TestCaseError> {
    check_tree(input)?;
    match parse_payment_response(input) {
        Ok(resp) => {
            prop_assert!(!resp.status.is_empty());
            prop_assert_eq!(resp.status.to_ascii_lowercase(), resp.status.clone());
            check_outcome(&resp)?;
        }
        Err(error) => prop_assert!(matches!(error, GatewayError::Protocol(_)), "{error:?}"),
    }
    match parse_payment_responses(input) {
        Ok((items, pages)) => {
            prop_assert!(items.len() <= Limits::DEFAULT.max_elements);
            let _ = pages;
            for item in &items {
                check_outcome(item)?;
            }
        }
        Err(error) => prop_assert!(matches!(error, GatewayError::Protocol(_)), "{error:?}"),
    }
    Ok(())
}

/// Field text as a gateway might send it: anything but blank, trimmed (the reader trims).
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TOKENS).prop_map(str::to_owned),
        "[ -~]{1,30}",
        "\\PC{1,30}",
    ]
    .prop_map(|t| t.trim().to_owned())
    .prop_filter("not blank", |t| !t.is_empty())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn hostile_replies_never_panic(input in hostile_reply()) {
        on_small_stack(move || check_reply(&input))?;
    }

    #[test]
    fn built_responses_parse_back(
        status in prop::sample::select(&["approved", "declined", "error", "pending_async", "Approved"][..]),
        fields in prop::collection::btree_map(
            prop::sample::select(&[
                "transaction_type", "unique_id", "transaction_id", "code", "technical_message",
                "message", "rc_code", "mode", "timestamp", "currency", "redirect_url",
                "descriptor", "reference_transaction_unique_id",
            ][..]),
            field_text(),
            0..8,
        ),
        amount in prop_oneof![any::<i64>().prop_map(|a| a.to_string()), field_text()],
    ) {
        let mut root = Element::new("payment_response");
        root.push_leaf("status", status);
        for (name, text) in &fields {
            root.push_leaf(name, text.as_str());
        }
        root.push_leaf("amount", amount.as_str());
        let document = root.to_document();
        match parse_payment_response(&document) {
            Ok(resp) => {
                prop_assert_eq!(&resp.status, &status.to_ascii_lowercase());
                prop_assert_eq!(resp.amount_minor, amount.parse::<i64>().ok());
                prop_assert_eq!(resp.unique_id.as_deref(), fields.get("unique_id").map(String::as_str));
                prop_assert_eq!(resp.technical_message.as_deref(), fields.get("technical_message").map(String::as_str));
                prop_assert_eq!(resp.reason_code.as_deref(), fields.get("rc_code").map(String::as_str));
                check_outcome(&resp)?;
            }
            Err(error) => {
                // Only an amount that is not minor units may be refused.
                prop_assert!(amount.parse::<i64>().is_err(), "{error}\n{document}");
            }
        }
    }
}

/// The mutation generator keeps reaching parsed responses, or the properties above would
/// only ever see errors.
#[test]
fn mutated_fixtures_often_parse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = mutated_fixture();
    let parsed = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).expect("tree").current();
            parse_payment_response(&text).is_ok()
        })
        .count();
    assert!(parsed > 50, "{parsed}");
}
