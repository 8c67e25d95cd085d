//! Control characters in request input, refused at the choke points every request passes:
//! the JSON body reader ([`check_body`]), the query string ([`query_guard`]) and path
//! parameters ([`path_guard`]).
//!
//! C0 controls (U+0000–U+001F) have no place in names, ids or references, and PostgreSQL
//! cannot store NUL at all: a string holding one is a 400 `validation_error` naming its field
//! path, on every backend alike. Only the free-text fields of [`MULTILINE`] may hold tab, LF
//! and CR. A path id that is not a UUID, or any path parameter holding a control, names no
//! resource: 404.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, body::BoxBody};
use catalyst_domain::validation::ValidationErrors;
use serde_json::Value;

use crate::error::ApiError;

/// Body field paths whose strings may hold tab, LF and CR; `*` stands for any one segment.
pub const MULTILINE: &[&[&str]] = &[&["metadata", "*"], &["offer", "product_description"]];

/// Path parameters that hold a UUID.
pub const UUID_PARAMS: &[&str] = &["id", "endpoint_id", "gateway_id", "batch_id"];

/// The message of a refused value.
pub const MESSAGE: &str = "Control characters are not allowed.";

/// True for a C0 control other than those `whitespace` allows (tab, LF, CR).
fn refused(c: char, whitespace: bool) -> bool {
    c.is_ascii_control() && c != '\u{7f}' && !(whitespace && matches!(c, '\t' | '\n' | '\r'))
}

fn holds_refused(s: &str, whitespace: bool) -> bool {
    s.chars().any(|c| refused(c, whitespace))
}

fn multiline(path: &[String]) -> bool {
    MULTILINE.iter().any(|pattern| {
        pattern.len() == path.len()
            && pattern
                .iter()
                .zip(path)
                .all(|(want, got)| *want == "*" || want == got)
    })
}

fn field_name(path: &[String]) -> String {
    if path.is_empty() {
        "non_field_errors".to_owned()
    } else {
        path.join(".")
    }
}

fn walk(value: &Value, path: &mut Vec<String>, errors: &mut ValidationErrors) {
    match value {
        Value::String(s) if holds_refused(s, multiline(path)) => {
            errors.add(field_name(path), MESSAGE)
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(item, path, errors);
                path.pop();
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                if holds_refused(key, false) {
                    errors.add(
                        field_name(path),
                        "Control characters are not allowed in names.",
                    );
                    continue;
                }
                path.push(key.clone());
                walk(item, path, errors);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Every string and object key of a request body holding a refused control character: a 400
/// naming each field path (`lead.first_name`, `line_items.0.description`).
pub fn check_body(value: &Value) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    walk(value, &mut Vec::new(), &mut errors);
    errors.into_result(()).map_err(ApiError::Validation)
}

/// The query parameters (percent-decoded) holding a control character, by name.
fn query_errors(query: &str) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if holds_refused(&name, false) {
            errors.add(
                "non_field_errors",
                "Control characters are not allowed in names.",
            );
        } else if holds_refused(&value, false) {
            errors.add(name.into_owned(), MESSAGE);
        }
    }
    errors
}

/// Answers 400 for a query string holding a control character, before any handler runs.
pub async fn query_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let errors = query_errors(req.query_string());
    if errors.is_empty() {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let response = ApiError::Validation(errors).error_response();
    Ok(req.into_response(response))
}

/// Answers 404 when a path parameter of the matched resource holds a control character, or one
/// of [`UUID_PARAMS`] is not a UUID.
pub async fn path_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let bad = req.match_info().iter().any(|(name, value)| {
        holds_refused(value, false)
            || (UUID_PARAMS.contains(&name) && uuid::Uuid::try_parse(value).is_err())
    });
    if bad {
        return Ok(req.into_response(ApiError::NotFound.error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Vec<String> {
        match check_body(&value) {
            Ok(()) => vec![],
            Err(ApiError::Validation(e)) => e.iter().map(|(f, _)| f.to_owned()).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_every_field_path_holding_a_control() {
        let body = json!({
            "name": "a\u{0}b",
            "lead": {"first_name": "Ada\u{1b}", "last_name": "Lovelace"},
            "line_items": [{"description": "ok"}, {"description": "x\ny"}],
            "ok": "plain text with unicode é and DEL \u{7f}",
            "n": 1,
        });
        let mut got = fields(body);
        got.sort();
        assert_eq!(got, ["lead.first_name", "line_items.1.description", "name"]);
        assert_eq!(fields(json!("\u{0}")), ["non_field_errors"]);
        assert_eq!(fields(json!({"a\u{0}": 1})), ["non_field_errors"]);
    }

    #[test]
    fn only_documented_free_text_takes_tab_and_newlines_and_nul_never() {
        let text = json!({"metadata": {"note": "line 1\r\n\tline 2"},
            "offer": {"product_description": "a\nb", "name": "x"}});
        assert!(fields(text).is_empty());
        assert_eq!(
            fields(json!({"metadata": {"note": "a\u{0}b"}})),
            ["metadata.note"]
        );
        assert_eq!(fields(json!({"offer": {"name": "a\nb"}})), ["offer.name"]);
        assert_eq!(
            fields(json!({"metadata": {"deep": {"x": "a\nb"}}})),
            ["metadata.deep.x"]
        );
    }

    #[test]
    fn query_parameters_are_decoded_before_the_check() {
        assert!(query_errors("start_date=2026-01-01&status=approved,declined").is_empty());
        let errors = query_errors("start_date=2026-01-01%00&cursor=a%0Ab");
        let got: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(got, ["cursor", "start_date"]);
        assert!(!query_errors("a%00b=1").is_empty());
    }
}
