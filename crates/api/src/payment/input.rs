//! The validated `/pay/` input: what a payer sends, checked before anything is written.

use catalyst_domain::session::Locale;
use catalyst_domain::validation::{self, ValidationErrors, messages};
use catalyst_sepa::ValidIban;
use serde_json::Value;

use crate::body::object;
use crate::error::ApiError;

/// The longest account holder name `/pay/` takes, in characters (API.md §3.3).
pub(crate) const HOLDER_MAX_CHARS: usize = 70;

/// The validated `/pay/` body.
pub struct PayInput {
    /// The payer's IBAN, checked (country, length, checksum).
    pub iban: ValidIban,
    /// The account holder's name.
    pub holder: String,
    /// The merchant's own reference for the debit, unique per tenant.
    pub tenant_reference_id: Option<String>,
    /// The language the payer read the mandate in (else the session's default).
    pub locale: Option<Locale>,
}

impl PayInput {
    /// Checks a `/pay/` body: 400 `validation_error` naming every bad field, then 400
    /// `invalid_iban` for an IBAN that fails its checks.
    pub fn parse(value: &Value) -> Result<PayInput, ApiError> {
        let obj = object(value)?;
        let mut errors = ValidationErrors::new();
        let iban = validation::required(obj, "iban", &mut errors, |v| match v {
            Value::String(s) if s.trim().is_empty() => Err(messages::BLANK.to_owned()),
            Value::String(s) if s.chars().count() > 100 => Err(messages::max_length(100)),
            Value::String(s) => Ok(s.clone()),
            _ => Err(messages::NOT_A_STRING.to_owned()),
        });
        let holder = validation::required(obj, "iban_holder_name", &mut errors, |v| {
            validation::char_field(v, HOLDER_MAX_CHARS)
        });
        let tenant_reference_id = match obj.get("tenant_reference_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.add("tenant_reference_id", messages::BLANK);
                None
            }
            Some(Value::String(s)) if s.chars().count() > 255 => {
                errors.add("tenant_reference_id", messages::max_length(255));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.add("tenant_reference_id", messages::NOT_A_STRING);
                None
            }
        };
        let locale = match obj.get("locale") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_str().and_then(|s| s.parse::<Locale>().ok()) {
                Some(l) => Some(l),
                None => {
                    let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    errors.add("locale", messages::invalid_choice(&shown));
                    None
                }
            },
        };
        let (iban, holder) = errors.into_result((iban, holder))?;
        let (iban, holder) = (iban.unwrap_or_default(), holder.unwrap_or_default());
        let iban =
            catalyst_sepa::validate(&iban).map_err(|e| ApiError::InvalidIban(e.to_string()))?;
        Ok(PayInput {
            iban,
            holder,
            tenant_reference_id,
            locale,
        })
    }
}
