//! Paying a session: `/pay/`, `/verify/`, the result envelope, IBAN validation (API.md §3.3–§3.5, §4).

use serde::Serialize;
use utoipa::ToSchema;

/// `POST /iban-validate/` body.
#[derive(Serialize, ToSchema)]
pub struct IbanValidateRequest {
    /// Spaces and lower case accepted.
    pub iban: String,
}

/// The answer of `POST /iban-validate/` (API.md §4): 200 for any well-formed request.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IbanValidation {
    pub valid: bool,
    /// The IBAN normalized: no spaces, upper case.
    pub iban: String,
    /// ISO 3166-1 alpha-2; null when the input names no known country.
    #[schema(required = true)]
    pub country: Option<String>,
    /// From the bank registry; null when invalid or not in the registry.
    #[schema(required = true)]
    pub bank_name: Option<String>,
    #[schema(required = true)]
    pub bic: Option<String>,
    /// Whether the country is in SEPA; null when no country is known.
    #[schema(required = true)]
    pub sepa: Option<bool>,
    /// A sentence for the customer; null when valid.
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(required = true)]
    pub error_code: Option<IbanErrorCode>,
    #[schema(required = true)]
    pub error_params: Option<IbanErrorParams>,
}

/// Why an IBAN is invalid (stable).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IbanErrorCode {
    Empty,
    InvalidCharacter,
    MissingCountryCode,
    UnknownCountry,
    WrongLength,
    InvalidFormat,
    WrongCheckDigits,
}

/// The values the error sentence names, so a front end can word it in its own language.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IbanErrorParams {
    #[schema(required = true)]
    pub country: Option<String>,
    #[schema(required = true)]
    pub expected: Option<u32>,
    #[schema(required = true)]
    pub actual: Option<u32>,
    #[schema(required = true)]
    pub character: Option<String>,
}
