//! Canonical JSON: byte for byte what Python's
//! `json.dumps(payload, sort_keys=True, separators=(',', ':'))` prints.
//!
//! - object keys sorted by Unicode code point at every level (Rust's `str` order, which is the
//!   order of UTF-8 bytes, is code-point order; UTF-16 order would differ for astral keys);
//! - no whitespace; `null`, `true`, `false`; integers as written;
//! - strings ASCII-only (`ensure_ascii`): `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, every other
//!   character outside `' '..='~'` as lower-case `\uXXXX`, astral characters as a UTF-16
//!   surrogate pair (`😀` → `\ud83d\ude00`); `/` is not escaped.
//!
//! Floats are rejected ([`CanonicalError::NonInteger`]): webhook payloads carry money as decimal
//! strings, and matching Python's float formatting (`1.0`, `1e-05`) is a promise not worth
//! making for values that never occur.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number that is neither an `i64` nor a `u64` (a float).
    #[error(
        "number {number} at `{path}` is not an integer; webhook payloads carry amounts as decimal strings"
    )]
    NonInteger {
        /// The number as serde_json prints it.
        number: String,
        /// Dotted path to it (`line_items.0.amount`); empty for the top level.
        path: String,
    },
}

impl CanonicalError {
    /// Prefixes the path with the segment of the enclosing container.
    fn within(self, segment: &str) -> Self {
        match self {
            Self::NonInteger { number, path } => Self::NonInteger {
                number,
                path: if path.is_empty() {
                    segment.to_owned()
                } else {
                    format!("{segment}.{path}")
                },
            },
        }
    }
}

/// The canonical serialization of `value` (always pure ASCII).
///
/// ```
/// use serde_json::json;
///
/// let payload = json!({"name": "Jürgen 😀", "amount": "10.00", "meta": {"b": 1, "a": null}});
/// assert_eq!(
///     catalyst_webhooks::canonical_json(&payload).unwrap(),
///     r#"{"amount":"10.00","meta":{"a":null,"b":1},"name":"J\u00fcrgen \ud83d\ude00"}"#,
/// );
/// assert!(catalyst_webhooks::canonical_json(&json!({"amount": 10.5})).is_err());
/// ```
pub fn canonical_json(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) if number.is_i64() || number.is_u64() => {
            out.push_str(&number.to_string());
        }
        Value::Number(number) => {
            return Err(CanonicalError::NonInteger {
                number: number.to_string(),
                path: String::new(),
            });
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item).map_err(|e| e.within(&i.to_string()))?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is sorted unless `preserve_order` is on somewhere in the build;
            // sort explicitly so feature unification can never change signatures.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item).map_err(|e| e.within(key))?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, *unit);
                }
            }
        }
    }
    out.push('"');
}

fn push_unicode_escape(out: &mut String, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn canon(value: Value) -> String {
        canonical_json(&value).unwrap()
    }

    #[test]
    fn scalars_and_containers() {
        assert_eq!(canon(json!(null)), "null");
        assert_eq!(canon(json!(true)), "true");
        assert_eq!(canon(json!(false)), "false");
        assert_eq!(canon(json!(u64::MAX)), "18446744073709551615");
        assert_eq!(canon(json!(i64::MIN)), "-9223372036854775808");
        assert_eq!(canon(json!({})), "{}");
        assert_eq!(canon(json!([])), "[]");
        assert_eq!(canon(json!([1, [], {}, "x"])), r#"[1,[],{},"x"]"#);
    }

    // Expected strings printed by Python 3.11's json.dumps(..., sort_keys=True, separators=(',', ':')).
    #[test]
    fn string_escapes_match_python() {
        assert_eq!(
            canon(json!(
                "ü é 日本 😀 / \" \\ \n\t\u{0}\u{1f}\u{7f}\u{2028}\u{8}\u{c}\r"
            )),
            r#""\u00fc \u00e9 \u65e5\u672c \ud83d\ude00 / \" \\ \n\t\u0000\u001f\u007f\u2028\b\f\r""#
        );
        assert_eq!(canon(json!("\u{10ffff}")), r#""\udbff\udfff""#);
        assert_eq!(canon(json!("~ ")), r#""~ ""#);
    }

    #[test]
    fn keys_sort_by_code_point_not_utf16() {
        // UTF-16 would put U+10000 (D800 DC00) before U+FFFF; Python sorts by code point.
        let value =
            json!({"\u{10000}": 2, "\u{ffff}": 1, "\u{e000}": 0, "b": {"z": 1, "a": 2}, "B": 3});
        assert_eq!(
            canon(value),
            r#"{"B":3,"b":{"a":2,"z":1},"\ue000":0,"\uffff":1,"\ud800\udc00":2}"#
        );
    }

    #[test]
    fn floats_are_rejected_with_their_path() {
        let err = canonical_json(&json!({"lines": [{"amount": 1}, {"amount": 1.5}]})).unwrap_err();
        assert_eq!(
            err,
            CanonicalError::NonInteger {
                number: "1.5".into(),
                path: "lines.1.amount".into()
            }
        );
        assert!(canonical_json(&json!(1.0)).is_err());
    }
}
