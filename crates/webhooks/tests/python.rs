//! Canonical JSON and signatures, byte for byte against Python's
//! `json.dumps(payload, sort_keys=True, separators=(',', ':'))` and `hmac`.

mod common;

use catalyst_webhooks::{canonical_json, sign, sign_payload, sign_v2};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Value, json};

const SECRET: &str = "whsec_Zk3v9QpL2mN8xR4t";
const TS: i64 = 1_767_225_600;

/// For each input line (one JSON value): `<canonical>\t<signature>\t<v2 hex>`.
const REFERENCE: &str = r#"
import hashlib, hmac, json, sys
secret, ts = sys.argv[1].encode(), sys.argv[2]
# split on "\n" only: str.splitlines() would also split on U+2028, U+0085, ...
for line in sys.stdin.buffer.read().decode("utf-8").split("\n"):
    if not line:
        continue
    body = json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"))
    sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    v2 = hmac.new(secret, (ts + "." + body).encode(), hashlib.sha256).hexdigest()
    print(body, sig, v2, sep="\t")
"#;

struct Reference {
    body: String,
    signature: String,
    v2: String,
}

/// Python's canonical body and signatures for each value, in one python3 run.
fn reference(values: &[Value]) -> Vec<Reference> {
    let mut input = String::new();
    for value in values {
        // serde_json escapes line breaks inside strings, so one value is one line.
        input.push_str(&serde_json::to_string(value).expect("serializable"));
        input.push('\n');
    }
    let stdout = common::python(REFERENCE, &[SECRET, &TS.to_string()], input.as_bytes());
    let lines: Vec<Reference> = stdout
        .lines()
        .map(|line| {
            let mut cols = line.split('\t').map(str::to_owned);
            let mut col = || cols.next().expect("three columns");
            Reference {
                body: col(),
                signature: col(),
                v2: col(),
            }
        })
        .collect();
    assert_eq!(lines.len(), values.len());
    lines
}

fn check(values: &[Value]) -> Result<(), TestCaseError> {
    for (value, expected) in values.iter().zip(reference(values)) {
        let signed = sign_payload(SECRET, value).expect("integers only");
        prop_assert_eq!(&signed.body, &expected.body, "value: {:?}", value);
        prop_assert_eq!(&signed.signature, &expected.signature);
        let v2 = sign_v2(SECRET, TS, signed.body.as_bytes());
        prop_assert_eq!(v2, format!("t={TS},v1={}", expected.v2));
    }
    Ok(())
}

#[test]
fn vectors_match_python() {
    let values = vec![
        json!({
            "session_token": "ps_2x8KqL", "status": "COMPLETED", "order_number": "ORD-1001",
            "amount": "49.90", "currency": "EUR", "email": "jürgen.müller@example.de",
            "tenant_reference_id": null,
            "metadata": {"campaign": "été", "ids": [3, 1, 2], "nested": {"z": {}, "a": []}}
        }),
        json!({"name": "Zoë Ångström", "city": "Köln", "note": "日本語テキスト", "emoji": "😀👍🏽"}),
        json!({"b": {"d": {"f": 1, "e": 2}, "c": 3}, "a": [{"y": 1, "x": 2}], "A": 0, "_": 1, "0": 2}),
        json!({"ctrl": "a\nb\tc\r\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}\u{80}", "quote": "\"\\/", "sep": "\u{2028}\u{2029}"}),
        json!({"\u{10000}": "astral key", "\u{ffff}": "bmp max", "\u{e000}": "private", "é": 1, "z": 2}),
        json!({"amounts": ["0.01", "-12.50", "1000000.00"], "count": 0, "big": u64::MAX, "neg": i64::MIN}),
        json!({"empty_object": {}, "empty_array": [], "empty_string": "", "null": null, "t": true, "f": false}),
        json!([]),
        json!({}),
        json!("bare string ü"),
        json!(null),
        json!(42),
    ];
    check(&values).expect("canonical JSON matches Python");
}

// Frozen from the Python reference, so a regression shows up even in a broken Python setup.
#[test]
fn frozen_vector() {
    let payload = json!({"email": "zoë@example.com", "amount": "10.00", "meta": {"k": "😀"}});
    let body = canonical_json(&payload).expect("integers only");
    assert_eq!(
        body,
        r#"{"amount":"10.00","email":"zo\u00eb@example.com","meta":{"k":"\ud83d\ude00"}}"#
    );
    assert_eq!(
        sign(SECRET, body.as_bytes()),
        "32e413eb46ec2df0fdab2aaf72659b5527bb3a912fa6802c834503ffe8d2c29a"
    );
}

const SPECIAL: &[char] = &[
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\u{0}',
    '\u{8}',
    '\u{c}',
    '\u{1f}',
    ' ',
    '~',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    'ü',
    'é',
    '日',
    '\u{2028}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{e000}',
    '\u{10000}',
    '😀',
    '\u{10ffff}',
    'a',
    'A',
    '0',
    '.',
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), 0..10).prop_map(String::from_iter),
        vec(prop::sample::select(SPECIAL), 0..6).prop_map(String::from_iter),
        "[a-z]{0,4}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(arb_string(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    // Each case is a batch checked with one python3 run.
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn arbitrary_values_match_python(values in vec(arb_json(), 1..80)) {
        check(&values)?;
    }
}
