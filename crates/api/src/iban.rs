//! `POST /api/v1/iban-validate/` (API.md §4): checksum, country rules and the bank registry.

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::validation::{self, ValidationErrors};
use serde_json::{Value, json};

use crate::auth::{Credential, authenticate_key, authenticate_session, credential};
use crate::body::{JsonBody, object};
use crate::error::ApiError;
use crate::schemas::ErrorBody;
use crate::schemas::payments::{IbanValidateRequest, IbanValidation};
use crate::state::AppState;

/// Longest input accepted (a 34-character IBAN in paper format with generous white space).
const MAX_INPUT_CHARS: usize = 100;

/// The §4 answer for one input: always a full body, invalid or not.
pub fn answer(input: &str) -> Value {
    match catalyst_sepa::validate(input) {
        Ok(iban) => json!({
            "valid": true,
            "iban": iban.as_str(),
            "country": iban.country().as_str(),
            "bank_name": iban.bank_name(),
            "bic": iban.bic(),
            "sepa": iban.is_sepa(),
            "error": null,
            "error_code": null,
            "error_params": null,
        }),
        Err(e) => {
            let normalized = catalyst_sepa::normalize(input);
            let country = catalyst_sepa::country::lookup(normalized.get(..2).unwrap_or_default());
            json!({
                "valid": false,
                "iban": normalized,
                "country": country.map(|c| c.code()),
                "bank_name": null,
                "bic": null,
                "sepa": country.map(|c| c.is_sepa()),
                "error": e.to_string(),
                "error_code": e.code(),
                "error_params": error_params(&e),
            })
        }
    }
}

/// The values the `error` sentence names, for a front end that words it in its own language.
fn error_params(e: &catalyst_sepa::IbanError) -> Value {
    let (expected, actual) = match e {
        catalyst_sepa::IbanError::WrongLength {
            expected, actual, ..
        } => (Some(*expected), Some(*actual)),
        _ => (None, None),
    };
    json!({
        "country": e.country().map(|c| c.as_str().to_owned()),
        "expected": expected,
        "actual": actual,
        "character": e.shown_character(),
    })
}

/// Who may call: an `rk_`/`sk_` key, or the `ps_` token of a session that is not terminal.
/// Returns the rate-limit bucket of the caller.
async fn caller_bucket(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
    match credential(req)? {
        Credential::Key(token) => Ok(format!(
            "key:{}",
            authenticate_key(state, token).await?.key_id
        )),
        Credential::Session(token) => {
            let session = authenticate_session(state, token).await?;
            Ok(format!("session:{}", session.id))
        }
    }
}

/// `POST /api/v1/iban-validate/` — `rk_`, `sk_` or `ps_`; 50 requests/s per key.
#[utoipa::path(post, path = "/api/v1/iban-validate/", tag = "iban",
    request_body = IbanValidateRequest, security(("bearer" = [])),
    responses((status = 200, body = IbanValidation, description = "Valid or not, with the bank when known"),
        (status = 400, body = ErrorBody, description = "validation_error: missing or empty `iban`; malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 429, body = ErrorBody, description = "throttled (with `Retry-After`)")))]
pub async fn validate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let bucket = caller_bucket(&state, &req).await?;
    state
        .iban_validate
        .check(&bucket)
        .map_err(|retry_after_secs| ApiError::Throttled { retry_after_secs })?;
    let obj = object(&body.value)?;
    let mut errors = ValidationErrors::new();
    let input = validation::required(obj, "iban", &mut errors, |v| match v {
        Value::String(s) if s.trim().is_empty() => Err(validation::messages::BLANK.to_owned()),
        Value::String(s) if s.chars().count() > MAX_INPUT_CHARS => {
            Err(validation::messages::max_length(MAX_INPUT_CHARS))
        }
        Value::String(s) => Ok(s.clone()),
        _ => Err(validation::messages::NOT_A_STRING.to_owned()),
    });
    let input = errors.into_result(input)?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(answer(&input)))
}

#[cfg(test)]
mod tests {
    use super::answer;
    use serde_json::json;

    #[test]
    fn the_documented_example() {
        assert_eq!(
            answer("DE89 3704 0044 0532 0130 00"),
            json!({"valid": true, "iban": "DE89370400440532013000", "country": "DE", "bank_name": "Commerzbank",
                   "bic": "COBADEFFXXX", "sepa": true, "error": null,
                   "error_code": null, "error_params": null})
        );
    }

    #[test]
    fn invalid_inputs_explain_themselves() {
        let wrong_digits = answer("DE88370400440532013000");
        assert_eq!(wrong_digits["valid"], false);
        assert_eq!(wrong_digits["error"], "The IBAN check digits are wrong.");
        assert_eq!(
            (
                wrong_digits["bank_name"].clone(),
                wrong_digits["bic"].clone()
            ),
            (json!(null), json!(null))
        );
        assert_eq!(
            answer("DE8937040044053201300")["error"],
            "DE IBANs have 22 characters, this one has 21."
        );
        assert_eq!(answer("XX89370400440532013000")["country"], json!(null));
        let short = answer("DE8937040044053201300");
        assert_eq!(short["error_code"], "wrong_length");
        assert_eq!(
            short["error_params"],
            json!({"country": "DE", "expected": 22, "actual": 21, "character": null})
        );
        assert_eq!(
            answer("DE89-3704")["error_params"]["character"],
            json!("'-'")
        );
    }
}
