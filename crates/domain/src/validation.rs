//! Field validation: the error map returned by every parser, the standard messages (worded as
//! Django REST Framework words them, so clients of the upstream API see the same text) and small
//! reusable field parsers for JSON objects.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// The key for errors that belong to the body as a whole.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Standard messages.
pub mod messages {
    /// A required field is missing.
    pub const REQUIRED: &str = "This field is required.";
    /// A required field was `null`.
    pub const NULL: &str = "This field may not be null.";
    /// A string field was empty or whitespace.
    pub const BLANK: &str = "This field may not be blank.";
    /// A field required because no `campaign_id` was given.
    pub const REQUIRED_DIRECT: &str = "This field is required in direct mode.";
    /// Not an e-mail address.
    pub const INVALID_EMAIL: &str = "Enter a valid email address.";
    /// Not a string.
    pub const NOT_A_STRING: &str = "Not a valid string.";
    /// Not an integer.
    pub const INVALID_INTEGER: &str = "A valid integer is required.";
    /// Not a boolean.
    pub const INVALID_BOOLEAN: &str = "Must be a valid boolean.";
    /// Not an absolute http(s) URL.
    pub const INVALID_URL: &str = "Enter a valid URL.";
    /// Not a UUID.
    pub const INVALID_UUID: &str = "Must be a valid UUID.";
    /// Not an IP address.
    pub const INVALID_IP: &str = "Enter a valid IPv4 or IPv6 address.";
    /// Not a phone number.
    pub const INVALID_PHONE: &str = "Enter a valid phone number.";
    /// An empty list where at least one item is needed.
    pub const EMPTY_LIST: &str = "This list may not be empty.";

    /// "Ensure this field has no more than {max} characters."
    pub fn max_length(max: usize) -> String {
        format!("Ensure this field has no more than {max} characters.")
    }

    /// "Ensure this value is less than or equal to {max}."
    pub fn max_value(max: impl std::fmt::Display) -> String {
        format!("Ensure this value is less than or equal to {max}.")
    }

    /// "Ensure this value is greater than or equal to {min}."
    pub fn min_value(min: impl std::fmt::Display) -> String {
        format!("Ensure this value is greater than or equal to {min}.")
    }

    /// "Ensure this field has no more than {max} elements."
    pub fn max_items(max: usize) -> String {
        format!("Ensure this field has no more than {max} elements.")
    }

    /// `"X" is not a valid choice.` (the value is shortened to 100 characters).
    pub fn invalid_choice(value: &str) -> String {
        format!("\"{}\" is not a valid choice.", super::shorten(value))
    }

    /// A nested object was expected.
    pub fn expected_object(got: &serde_json::Value) -> String {
        format!(
            "Invalid data. Expected a dictionary, but got {}.",
            super::python_type_name(got)
        )
    }

    /// A list was expected.
    pub fn expected_list(got: &serde_json::Value) -> String {
        format!(
            "Expected a list of items but got type \"{}\".",
            super::python_type_name(got)
        )
    }

    /// A string → string object was expected.
    pub fn expected_dict(got: &serde_json::Value) -> String {
        format!(
            "Expected a dictionary of items but got type \"{}\".",
            super::python_type_name(got)
        )
    }
}

/// Field path → messages, in field order. Serializes as the plain map
/// (`{"lead.email": ["Enter a valid email address."]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records `message` for `field` (a field may collect several messages; an identical
    /// message is recorded once).
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let message = message.into();
        let messages = self.0.entry(field.into()).or_default();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of fields with errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when `field` has at least one error.
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The messages for `field`.
    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// Adds all of `other`'s errors with their field paths prefixed: `"lead"` + `"email"` →
    /// `"lead.email"`. An empty prefix adds them unchanged.
    pub fn merge_prefixed(&mut self, prefix: &str, other: ValidationErrors) {
        for (field, messages) in other.0 {
            let key = if prefix.is_empty() {
                field
            } else {
                format!("{prefix}.{field}")
            };
            self.0.entry(key).or_default().extend(messages);
        }
    }

    /// Adds `other`'s errors for the fields that have none yet (used when a second check would
    /// repeat what the first already reported).
    pub fn merge_if_absent(&mut self, other: ValidationErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_insert(messages);
        }
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The map inside.
    pub fn into_map(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }

    /// (field, messages) pairs in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid request.")
    }
}

impl std::error::Error for ValidationErrors {}

impl From<ValidationErrors> for BTreeMap<String, Vec<String>> {
    fn from(errors: ValidationErrors) -> Self {
        errors.0
    }
}

impl IntoIterator for ValidationErrors {
    type Item = (String, Vec<String>);
    type IntoIter = std::collections::btree_map::IntoIter<String, Vec<String>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A string is not one of the allowed values. Its `Display` is the standard
/// `"X" is not a valid choice.` message; it is the `FromStr` error of every API enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{}\" is not a valid choice.", shorten(.value))]
pub struct InvalidChoice {
    /// The rejected text.
    pub value: String,
}

impl InvalidChoice {
    /// The error for `value`.
    pub fn new(value: &str) -> Self {
        Self {
            value: value.to_owned(),
        }
    }
}

/// Cuts `s` to 100 characters (with `…`) so error messages never echo huge inputs.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// The Python type name of a JSON value, as DRF messages show it (`str`, `int`, `list`, …).
pub fn python_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The value of `key`, treating JSON `null` as absent.
pub fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Reads a required field: absent → "This field is required.", `null` → "This field may not be
/// null.", a parse error → its message; every error is recorded under `key`.
pub fn required<T>(
    obj: &Map<String, Value>,
    key: &str,
    errors: &mut ValidationErrors,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<T> {
    match obj.get(key) {
        None => {
            errors.add(key, messages::REQUIRED);
            None
        }
        Some(Value::Null) => {
            errors.add(key, messages::NULL);
            None
        }
        Some(v) => record(key, errors, parse(v)),
    }
}

/// Reads an optional field: absent or `null` → `None`; a parse error is recorded under `key`
/// (and gives `None`).
pub fn optional<T>(
    obj: &Map<String, Value>,
    key: &str,
    errors: &mut ValidationErrors,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<T> {
    present(obj, key).and_then(|v| record(key, errors, parse(v)))
}

fn record<T>(key: &str, errors: &mut ValidationErrors, result: Result<T, String>) -> Option<T> {
    result.map_err(|message| errors.add(key, message)).ok()
}

/// A string field (DRF `CharField`): strings are trimmed, numbers are taken as their text,
/// anything else is "Not a valid string."; blank → "This field may not be blank."; more than
/// `max_len` characters → the max-length message.
pub fn char_field(v: &Value, max_len: usize) -> Result<String, String> {
    match optional_char_field(v, max_len)? {
        Some(s) => Ok(s),
        None => Err(messages::BLANK.to_owned()),
    }
}

/// Like [`char_field`], but a blank string is accepted and gives `None`.
pub fn optional_char_field(v: &Value, max_len: usize) -> Result<Option<String>, String> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(messages::NOT_A_STRING.to_owned()),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max_len {
        return Err(messages::max_length(max_len));
    }
    Ok(Some(text))
}

/// An integer field (DRF `IntegerField`): JSON integers, floats without a fraction (`3.0`) and
/// strings holding an integer (`"3"`, `" 3 "`, `"3.0"`) are accepted; the result must lie in
/// `min..=max`.
pub fn int_field(v: &Value, min: i64, max: i64) -> Result<i64, String> {
    let invalid = || messages::INVALID_INTEGER.to_owned();
    let n: i128 = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i128::from(i)
            } else if let Some(u) = n.as_u64() {
                i128::from(u)
            } else {
                match n.as_f64() {
                    // |f| < 2^63 keeps the cast exact and in range.
                    Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => f as i128,
                    _ => return Err(invalid()),
                }
            }
        }
        Value::String(s) => parse_int_text(s).ok_or_else(invalid)?,
        _ => return Err(invalid()),
    };
    if n < i128::from(min) {
        return Err(messages::min_value(min));
    }
    if n > i128::from(max) {
        return Err(messages::max_value(max));
    }
    i64::try_from(n).map_err(|_| invalid())
}

/// `[+-]?digits(.0*)?` with surrounding whitespace, at most 38 digits.
fn parse_int_text(s: &str) -> Option<i128> {
    let t = s.trim();
    let t = match t.split_once('.') {
        Some((int, zeros)) if zeros.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => t,
    };
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 38 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i128 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// A boolean field (DRF `BooleanField`): `true`/`false`, `1`/`0` and the strings
/// `"true"`, `"false"`, `"1"`, `"0"`, `"yes"`, `"no"`, `"on"`, `"off"` (any case).
pub fn bool_field(v: &Value) -> Result<bool, String> {
    let invalid = || messages::INVALID_BOOLEAN.to_owned();
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(invalid()),
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => Ok(true),
            "false" | "0" | "no" | "n" | "off" | "f" => Ok(false),
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

/// A UUID field parsed into `T` (one of the typed ids): "Must be a valid UUID." otherwise.
pub fn uuid_field<T: std::str::FromStr>(v: &Value) -> Result<T, String> {
    v.as_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| messages::INVALID_UUID.to_owned())
}

/// A choice among the API strings of `T`: `"X" is not a valid choice.` otherwise (exact match,
/// case-sensitive; a non-string shows as its JSON text).
pub fn choice_field<T: std::str::FromStr>(v: &Value) -> Result<T, String> {
    match v {
        Value::String(s) => s.parse().map_err(|_| messages::invalid_choice(s)),
        other => Err(messages::invalid_choice(&other.to_string())),
    }
}

/// An absolute `http`/`https` URL with a host, at most `max_len` characters; returned as sent
/// (trimmed).
pub fn url_field(v: &Value, max_len: usize) -> Result<String, String> {
    let s = char_field(v, max_len)?;
    if is_http_url(&s) {
        Ok(s)
    } else {
        Err(messages::INVALID_URL.to_owned())
    }
}

/// True for an absolute `http`/`https` URL with a host.
pub fn is_http_url(s: &str) -> bool {
    match url::Url::parse(s) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// An IPv4 or IPv6 address.
pub fn ip_field(v: &Value) -> Result<std::net::IpAddr, String> {
    v.as_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| messages::INVALID_IP.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn add_collects_messages_per_field() {
        let mut e = ValidationErrors::new();
        assert!(e.is_empty());
        e.add("amount", "a");
        e.add("amount", "b");
        e.add("currency", "c");
        e.add("currency", "c");
        assert_eq!(e.len(), 2);
        assert_eq!(e.get("currency").unwrap(), ["c"]);
        assert_eq!(e.get("amount").unwrap(), ["a", "b"]);
        assert!(e.contains("currency"));
        assert!(!e.contains("lead"));
    }

    #[test]
    fn merge_prefixed_joins_with_dot() {
        let mut outer = ValidationErrors::single("amount", "x");
        let mut inner = ValidationErrors::new();
        inner.add("email", messages::INVALID_EMAIL);
        outer.merge_prefixed("lead", inner);
        assert_eq!(outer.get("lead.email").unwrap(), [messages::INVALID_EMAIL]);
        outer.merge_prefixed("", ValidationErrors::single("mode", "m"));
        assert!(outer.contains("mode"));
    }

    #[test]
    fn merge_if_absent_keeps_existing() {
        let mut e = ValidationErrors::single("amount", "first");
        let mut other = ValidationErrors::single("amount", "second");
        other.add("currency", "c");
        e.merge_if_absent(other);
        assert_eq!(e.get("amount").unwrap(), ["first"]);
        assert_eq!(e.get("currency").unwrap(), ["c"]);
    }

    #[test]
    fn serializes_as_plain_map_and_displays_invalid_request() {
        let e = ValidationErrors::single("lead.email", messages::INVALID_EMAIL);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"lead.email": ["Enter a valid email address."]})
        );
        assert_eq!(e.to_string(), "Invalid request.");
        let map = e.clone().into_map();
        assert_eq!(map.len(), 1);
        assert_eq!(e.iter().count(), 1);
    }

    #[test]
    fn into_result() {
        assert_eq!(ValidationErrors::new().into_result(5), Ok(5));
        assert!(ValidationErrors::single("a", "b").into_result(5).is_err());
    }

    #[test]
    fn invalid_choice_message_and_shortening() {
        assert_eq!(
            InvalidChoice::new("X").to_string(),
            "\"X\" is not a valid choice."
        );
        let long = "a".repeat(500);
        let msg = messages::invalid_choice(&long);
        assert!(msg.chars().count() < 140, "{msg}");
        assert!(msg.contains('…'));
        // multi-byte characters are cut on a boundary
        let emoji = "😀".repeat(200);
        assert!(messages::invalid_choice(&emoji).contains('…'));
    }

    #[test]
    fn python_type_names() {
        assert_eq!(python_type_name(&json!(null)), "NoneType");
        assert_eq!(python_type_name(&json!(true)), "bool");
        assert_eq!(python_type_name(&json!(1)), "int");
        assert_eq!(python_type_name(&json!(1.5)), "float");
        assert_eq!(python_type_name(&json!("s")), "str");
        assert_eq!(python_type_name(&json!([])), "list");
        assert_eq!(python_type_name(&json!({})), "dict");
        assert_eq!(
            messages::expected_object(&json!("x")),
            "Invalid data. Expected a dictionary, but got str."
        );
    }

    #[test]
    fn required_and_optional() {
        let o = obj(json!({"a": "x", "n": null, "bad": 5}));
        let mut e = ValidationErrors::new();
        assert_eq!(
            required(&o, "a", &mut e, |v| char_field(v, 10)).as_deref(),
            Some("x")
        );
        assert_eq!(required(&o, "missing", &mut e, |v| char_field(v, 10)), None);
        assert_eq!(required(&o, "n", &mut e, |v| char_field(v, 10)), None);
        assert_eq!(optional(&o, "n", &mut e, |v| char_field(v, 10)), None);
        assert_eq!(
            optional(&o, "missing2", &mut e, |v| char_field(v, 10)),
            None
        );
        assert_eq!(optional(&o, "bad", &mut e, bool_field), None);
        assert_eq!(e.get("missing").unwrap(), [messages::REQUIRED]);
        assert_eq!(e.get("n").unwrap(), [messages::NULL]);
        assert_eq!(e.get("bad").unwrap(), [messages::INVALID_BOOLEAN]);
        assert!(!e.contains("missing2"));
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn char_field_rules() {
        assert_eq!(char_field(&json!("  hi "), 5).unwrap(), "hi");
        assert_eq!(char_field(&json!(12345), 5).unwrap(), "12345");
        assert_eq!(char_field(&json!(""), 5).unwrap_err(), messages::BLANK);
        assert_eq!(char_field(&json!("   "), 5).unwrap_err(), messages::BLANK);
        assert_eq!(
            char_field(&json!(true), 5).unwrap_err(),
            messages::NOT_A_STRING
        );
        assert_eq!(
            char_field(&json!([]), 5).unwrap_err(),
            messages::NOT_A_STRING
        );
        assert_eq!(
            char_field(&json!("abcdef"), 5).unwrap_err(),
            "Ensure this field has no more than 5 characters."
        );
        // characters, not bytes
        assert_eq!(char_field(&json!("ääääö"), 5).unwrap(), "ääääö");
        assert_eq!(optional_char_field(&json!(""), 5).unwrap(), None);
    }

    #[test]
    fn int_field_rules() {
        assert_eq!(int_field(&json!(3), 1, 10), Ok(3));
        assert_eq!(int_field(&json!(3.0), 1, 10), Ok(3));
        assert_eq!(int_field(&json!("3"), 1, 10), Ok(3));
        assert_eq!(int_field(&json!(" 3.00 "), 1, 10), Ok(3));
        assert_eq!(int_field(&json!("+3"), 1, 10), Ok(3));
        let invalid = Err(messages::INVALID_INTEGER.to_owned());
        assert_eq!(int_field(&json!(3.5), 1, 10), invalid);
        assert_eq!(int_field(&json!("3.5"), 1, 10), invalid);
        assert_eq!(int_field(&json!("three"), 1, 10), invalid);
        assert_eq!(int_field(&json!(""), 1, 10), invalid);
        assert_eq!(int_field(&json!("-"), 1, 10), invalid);
        assert_eq!(int_field(&json!(true), 1, 10), invalid);
        assert_eq!(int_field(&json!(null), 1, 10), invalid);
        assert_eq!(int_field(&json!(1e300), 1, 10), invalid);
        assert_eq!(
            int_field(&json!(0), 1, 10),
            Err("Ensure this value is greater than or equal to 1.".into())
        );
        assert_eq!(
            int_field(&json!(11), 1, 10),
            Err("Ensure this value is less than or equal to 10.".into())
        );
        assert_eq!(
            int_field(&json!(u64::MAX), 1, 10),
            Err("Ensure this value is less than or equal to 10.".into())
        );
        assert_eq!(
            int_field(&json!("-99999999999999999999"), 1, 10),
            Err("Ensure this value is greater than or equal to 1.".into())
        );
    }

    #[test]
    fn bool_field_rules() {
        assert_eq!(bool_field(&json!(true)), Ok(true));
        assert_eq!(bool_field(&json!("False")), Ok(false));
        assert_eq!(bool_field(&json!(1)), Ok(true));
        assert_eq!(bool_field(&json!(0)), Ok(false));
        assert_eq!(bool_field(&json!(2)), Err(messages::INVALID_BOOLEAN.into()));
        assert_eq!(
            bool_field(&json!("maybe")),
            Err(messages::INVALID_BOOLEAN.into())
        );
        assert_eq!(
            bool_field(&json!(null)),
            Err(messages::INVALID_BOOLEAN.into())
        );
    }

    #[test]
    fn uuid_and_choice_fields() {
        use crate::ids::GatewayId;
        use crate::session::SessionMode;
        assert!(uuid_field::<GatewayId>(&json!("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).is_ok());
        assert_eq!(
            uuid_field::<GatewayId>(&json!("nope")).unwrap_err(),
            messages::INVALID_UUID
        );
        assert_eq!(
            uuid_field::<GatewayId>(&json!(5)).unwrap_err(),
            messages::INVALID_UUID
        );
        assert_eq!(
            choice_field::<SessionMode>(&json!("customer")),
            Ok(SessionMode::Customer)
        );
        assert_eq!(
            choice_field::<SessionMode>(&json!("Customer")).unwrap_err(),
            "\"Customer\" is not a valid choice."
        );
        assert_eq!(
            choice_field::<SessionMode>(&json!(5)).unwrap_err(),
            "\"5\" is not a valid choice."
        );
    }

    #[test]
    fn url_rules() {
        assert!(url_field(&json!("https://shop.example/return?x=1"), 100).is_ok());
        assert!(url_field(&json!("http://localhost:8080/"), 100).is_ok());
        for bad in [
            "ftp://x.example/",
            "/relative",
            "shop.example",
            "https://",
            "javascript:alert(1)",
            "mailto:a@b.example",
        ] {
            assert_eq!(
                url_field(&json!(bad), 100).unwrap_err(),
                messages::INVALID_URL,
                "{bad}"
            );
        }
        assert_eq!(
            url_field(
                &json!(format!("https://x.example/{}", "a".repeat(100))),
                100
            )
            .unwrap_err(),
            messages::max_length(100)
        );
    }

    #[test]
    fn ip_rules() {
        assert!(ip_field(&json!("203.0.113.7")).is_ok());
        assert!(ip_field(&json!("2001:db8::1")).is_ok());
        assert_eq!(
            ip_field(&json!("256.0.0.1")).unwrap_err(),
            messages::INVALID_IP
        );
        assert_eq!(
            ip_field(&json!("example.com")).unwrap_err(),
            messages::INVALID_IP
        );
        assert_eq!(ip_field(&json!(17)).unwrap_err(), messages::INVALID_IP);
    }
}
