//! Money: ISO 4217 currencies with their minor-unit exponent, and amounts held as integer minor
//! units.
//!
//! At the API, amounts are plain decimal strings (`"29.99"`); inside, `i64` minor units (2999).
//! Parsing is strict: `^\d+(\.\d+)?$` with at most the currency's number of decimal places and at
//! most 999999 major units (999999.99 for EUR).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The largest accepted amount in major units (plus an all-nines fraction).
pub const MAX_MAJOR_UNITS: i64 = 999_999;

/// Current ISO 4217 codes with a defined minor unit, sorted by code. Codes whose minor unit is
/// "N.A." (precious metals, SDR, test codes) are left out: they cannot be amounts here.
static CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// Why an amount or currency was refused. `Display` is a sentence for the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a plain non-negative decimal (`1e3`, `-1`, `+1`, `.5`, `5.`, `" 5"`, `""`, …).
    #[error("Enter a valid amount.")]
    Invalid,
    /// More decimal places than the currency has.
    #[error("Ensure that there are no more than {max} decimal places.")]
    TooManyDecimals {
        /// The currency's exponent.
        max: u32,
    },
    /// Above 999999 major units (+ all-nines fraction).
    #[error("Ensure this value is less than or equal to {max}.")]
    TooLarge {
        /// The largest accepted amount, formatted in the currency.
        max: String,
    },
    /// Zero where a positive amount is needed (callers decide when that is).
    #[error("Ensure this value is greater than 0.")]
    NotPositive,
    /// Negative minor units given to [`Money::from_minor`].
    #[error("Ensure this value is greater than or equal to 0.")]
    Negative,
    /// Not a known ISO 4217 code (codes are upper case).
    #[error("\"{}\" is not a valid choice.", crate::validation::shorten(.code))]
    UnknownCurrency {
        /// The rejected code.
        code: String,
    },
}

/// An ISO 4217 currency and its minor-unit exponent. Cheap to copy; compares by code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// The euro (exponent 2), the SEPA currency.
    pub const EUR: Currency = Currency {
        code: "EUR",
        exponent: 2,
    };

    /// Looks up an upper-case ISO 4217 code (`"EUR"`; `"eur"` is refused).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .ok()
            .and_then(|i| CURRENCIES.get(i))
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| MoneyError::UnknownCurrency {
                code: code.to_owned(),
            })
    }

    /// The three-letter code.
    pub const fn code(self) -> &'static str {
        self.code
    }

    /// Number of minor-unit digits (EUR 2, JPY 0, BHD 3, CLF 4).
    pub const fn exponent(self) -> u32 {
        self.exponent as u32
    }

    /// Every known currency, by code.
    pub fn all() -> impl ExactSizeIterator<Item = Currency> {
        CURRENCIES
            .iter()
            .map(|&(code, exponent)| Currency { code, exponent })
    }

    /// `10^exponent`: minor units per major unit.
    pub const fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent as u32)
    }

    /// The largest accepted amount in minor units: 999999 major + all-nines minor
    /// (99 999 999 for EUR).
    pub const fn max_minor(self) -> i64 {
        (MAX_MAJOR_UNITS + 1) * self.minor_per_major() - 1
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: non-negative integer minor units, at most [`Currency::max_minor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Parses a plain decimal string in `currency` (see the module docs for the rules). Fewer
    /// decimal places than the currency has are padded: `"29.9"` → 2990, `"30"` → 3000. Zero is
    /// accepted; callers that need a positive amount check [`Money::is_zero`].
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let (int_part, frac_part) = split_decimal(text)?;
        let exponent = currency.exponent();
        if frac_part.len() > exponent as usize {
            return Err(MoneyError::TooManyDecimals { max: exponent });
        }
        let too_large = || MoneyError::TooLarge {
            max: Money::max(currency).to_decimal_string(),
        };
        let significant = int_part.trim_start_matches('0');
        if significant.len() > 6 {
            return Err(too_large());
        }
        let major = digits_value(significant);
        if major > MAX_MAJOR_UNITS {
            return Err(too_large());
        }
        // Pad the fraction to `exponent` digits: "9" with exponent 2 → 90.
        let padding = exponent - frac_part.len() as u32;
        let minor_part = digits_value(frac_part) * 10_i64.pow(padding);
        Ok(Money {
            minor: major * currency.minor_per_major() + minor_part,
            currency,
        })
    }

    /// An amount from minor units: refused when negative or above [`Currency::max_minor`].
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        if minor > currency.max_minor() {
            return Err(MoneyError::TooLarge {
                max: Money::max(currency).to_decimal_string(),
            });
        }
        Ok(Money { minor, currency })
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The largest accepted amount in `currency` (999999.99 for EUR).
    pub const fn max(currency: Currency) -> Money {
        Money {
            minor: currency.max_minor(),
            currency,
        }
    }

    /// Integer minor units (2999 for 29.99 EUR).
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// True for an amount of zero.
    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// The API form: exactly the currency's decimal places (`"29.99"`, `"99.00"`, JPY `"500"`).
    pub fn to_decimal_string(&self) -> String {
        decimal_string(self.minor, self.currency)
    }
}

/// `minor` units of `currency` in the API form, for totals that no single amount's limit
/// bounds (a bank file's control sum): `decimal_string(123_456_789_00, Currency::EUR)` is
/// `"123456789.00"`.
///
/// ```
/// use catalyst_domain::money::{decimal_string, Currency};
/// assert_eq!(decimal_string(12_345_678_901, Currency::EUR), "123456789.01");
/// assert_eq!(decimal_string(-150, Currency::EUR), "-1.50");
/// ```
pub fn decimal_string(minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent() as usize;
    if exponent == 0 {
        return minor.to_string();
    }
    let per_major = currency.minor_per_major().unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0exponent$}", abs / per_major, abs % per_major)
}

impl fmt::Display for Money {
    /// Same as [`Money::to_decimal_string`] (no currency code).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// Splits `^\d+(\.\d+)?$` into integer and fraction digits (the fraction may be empty when
/// there is no dot); anything else is [`MoneyError::Invalid`].
fn split_decimal(text: &str) -> Result<(&str, &str), MoneyError> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return Err(MoneyError::Invalid),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(MoneyError::Invalid);
    }
    Ok((int_part, frac_part))
}

/// Checks only the decimal syntax of a JSON amount (string or number), for when the currency —
/// and so the allowed decimal places — is not known yet.
pub fn check_amount_syntax(v: &Value) -> Result<(), MoneyError> {
    match v {
        Value::String(s) => split_decimal(s).map(|_| ()),
        Value::Number(n) => split_decimal(&n.to_string()).map(|_| ()),
        _ => Err(MoneyError::Invalid),
    }
}

/// Value of at most 18 ASCII digits (callers guarantee both).
fn digits_value(digits: &str) -> i64 {
    digits
        .bytes()
        .fold(0_i64, |acc, b| acc * 10 + i64::from(b - b'0'))
}

/// Parses an amount given in JSON: a string, or a number judged by its `to_string()` text with
/// the same rules as [`Money::parse`] (`29.99` → "29.99"; exact for our range). Anything else is
/// [`MoneyError::Invalid`].
///
/// Note: unless serde_json's `arbitrary_precision` feature is on, a literal like `1e3` reaches
/// us as the float 1000.0 (text `"1000.0"`) and is accepted as 1000; exponent notation in the
/// number's text (e.g. very large or tiny floats) is refused.
pub fn parse_amount_json(v: &Value, currency: Currency) -> Result<Money, MoneyError> {
    match v {
        Value::String(s) => Money::parse(s, currency),
        Value::Number(n) => Money::parse(&n.to_string(), currency),
        _ => Err(MoneyError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn eur(text: &str) -> Result<i64, MoneyError> {
        Money::parse(text, Currency::EUR).map(|m| m.minor())
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURRENCIES.len() > 150);
        for &(code, exp) in CURRENCIES {
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
            assert!(exp <= 4, "{code}");
        }
    }

    #[test]
    fn currency_lookup() {
        assert_eq!(cur("EUR"), Currency::EUR);
        assert_eq!(cur("EUR").exponent(), 2);
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("BHD").exponent(), 3);
        assert_eq!(cur("CLF").exponent(), 4);
        assert_eq!(cur("KWD").code(), "KWD");
        assert_eq!(Currency::all().count(), CURRENCIES.len());
        for bad in ["eur", "Eur", "EU", "EURO", "", "XXX", "XAU", "ZZZ", " EUR"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::UnknownCurrency { code: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(
            Currency::parse("eur").unwrap_err().to_string(),
            "\"eur\" is not a valid choice."
        );
    }

    #[test]
    fn currency_display_and_serde() {
        assert_eq!(Currency::EUR.to_string(), "EUR");
        assert_eq!(format!("{:?}", Currency::EUR), "Currency(EUR)");
        assert_eq!(serde_json::to_value(Currency::EUR).unwrap(), json!("EUR"));
        assert_eq!(
            serde_json::from_value::<Currency>(json!("JPY")).unwrap(),
            cur("JPY")
        );
        assert!(serde_json::from_value::<Currency>(json!("jpy")).is_err());
        assert_eq!("GBP".parse::<Currency>().unwrap().code(), "GBP");
    }

    #[test]
    fn max_minor_per_exponent() {
        assert_eq!(cur("JPY").max_minor(), 999_999);
        assert_eq!(Currency::EUR.max_minor(), 99_999_999);
        assert_eq!(cur("BHD").max_minor(), 999_999_999);
        assert_eq!(cur("CLF").max_minor(), 9_999_999_999);
    }

    #[test]
    fn parse_valid_and_padding() {
        assert_eq!(eur("29.99"), Ok(2999));
        assert_eq!(eur("29.9"), Ok(2990));
        assert_eq!(eur("30"), Ok(3000));
        assert_eq!(eur("0"), Ok(0));
        assert_eq!(eur("0.00"), Ok(0));
        assert_eq!(eur("0.01"), Ok(1));
        assert_eq!(eur("007.50"), Ok(750));
        assert_eq!(eur("999999.99"), Ok(99_999_999));
        assert_eq!(eur("0000000000000000000000999999.99"), Ok(99_999_999));
        assert_eq!(Money::parse("500", cur("JPY")).unwrap().minor(), 500);
        assert_eq!(Money::parse("1.5", cur("BHD")).unwrap().minor(), 1500);
    }

    #[test]
    fn parse_rejects_bad_syntax() {
        for bad in [
            "", ".", ".5", "5.", "-1", "-0.01", "+1", "1e3", "1E3", "1.5e2", "NaN", "nan", "inf",
            "Infinity", " 1", "1 ", "1 000", "1,00", "1.2.3", "0x10", "١٢", "１", "\u{0}", "abc",
        ] {
            assert_eq!(eur(bad), Err(MoneyError::Invalid), "{bad:?}");
        }
        assert_eq!(MoneyError::Invalid.to_string(), "Enter a valid amount.");
    }

    #[test]
    fn parse_rejects_too_many_decimals() {
        assert_eq!(eur("29.999"), Err(MoneyError::TooManyDecimals { max: 2 }));
        assert_eq!(eur("29.990"), Err(MoneyError::TooManyDecimals { max: 2 }));
        assert_eq!(
            eur("1.001").unwrap_err().to_string(),
            "Ensure that there are no more than 2 decimal places."
        );
        assert_eq!(
            Money::parse("500.0", cur("JPY")),
            Err(MoneyError::TooManyDecimals { max: 0 })
        );
        assert!(Money::parse("1.234", cur("BHD")).is_ok());
        assert_eq!(
            Money::parse("1.2345", cur("BHD")),
            Err(MoneyError::TooManyDecimals { max: 3 })
        );
    }

    #[test]
    fn parse_rejects_too_large() {
        let err = eur("1000000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Ensure this value is less than or equal to 999999.99."
        );
        assert!(matches!(
            eur("1000000.00"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            eur("99999999999999999999999999"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert_eq!(
            Money::parse("1000000", cur("JPY")).unwrap_err().to_string(),
            "Ensure this value is less than or equal to 999999."
        );
        assert_eq!(
            Money::parse("1000000", cur("BHD")).unwrap_err().to_string(),
            "Ensure this value is less than or equal to 999999.999."
        );
    }

    #[test]
    fn from_minor_bounds() {
        assert_eq!(Money::from_minor(0, Currency::EUR).unwrap().minor(), 0);
        assert_eq!(
            Money::from_minor(99_999_999, Currency::EUR).unwrap(),
            Money::max(Currency::EUR)
        );
        assert!(matches!(
            Money::from_minor(100_000_000, Currency::EUR),
            Err(MoneyError::TooLarge { .. })
        ));
        assert_eq!(
            Money::from_minor(-1, Currency::EUR),
            Err(MoneyError::Negative)
        );
        assert_eq!(
            Money::from_minor(i64::MIN, Currency::EUR),
            Err(MoneyError::Negative)
        );
        assert!(Money::from_minor(i64::MAX, Currency::EUR).is_err());
    }

    #[test]
    fn formatting() {
        let f = |minor, c| Money::from_minor(minor, c).unwrap().to_decimal_string();
        assert_eq!(f(2999, Currency::EUR), "29.99");
        assert_eq!(f(9900, Currency::EUR), "99.00");
        assert_eq!(f(5, Currency::EUR), "0.05");
        assert_eq!(f(0, Currency::EUR), "0.00");
        assert_eq!(f(500, cur("JPY")), "500");
        assert_eq!(f(1005, cur("BHD")), "1.005");
        assert_eq!(f(12345, cur("CLF")), "1.2345");
        assert_eq!(
            Money::from_minor(2999, Currency::EUR).unwrap().to_string(),
            "29.99"
        );
    }

    #[test]
    fn zero_and_accessors() {
        let z = Money::zero(Currency::EUR);
        assert!(z.is_zero());
        assert_eq!(z.currency(), Currency::EUR);
        assert!(!Money::from_minor(1, Currency::EUR).unwrap().is_zero());
        assert_eq!(
            MoneyError::NotPositive.to_string(),
            "Ensure this value is greater than 0."
        );
    }

    #[test]
    fn json_amounts() {
        let p = |v: Value| parse_amount_json(&v, Currency::EUR).map(|m| m.minor());
        assert_eq!(p(json!("29.99")), Ok(2999));
        assert_eq!(p(json!(29.99)), Ok(2999));
        assert_eq!(p(json!(30)), Ok(3000));
        assert_eq!(p(json!(30.5)), Ok(3050));
        assert_eq!(p(json!(0)), Ok(0));
        assert_eq!(p(json!(999999.99)), Ok(99_999_999));
        assert_eq!(
            p(json!(29.999)),
            Err(MoneyError::TooManyDecimals { max: 2 })
        );
        assert_eq!(p(json!(-5)), Err(MoneyError::Invalid));
        assert_eq!(p(json!(-5.5)), Err(MoneyError::Invalid));
        assert_eq!(p(json!(1e-7)), Err(MoneyError::Invalid));
        assert_eq!(p(json!(1e300)), Err(MoneyError::Invalid));
        assert!(matches!(
            p(json!(u64::MAX)),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            p(json!(1_000_000)),
            Err(MoneyError::TooLarge { .. })
        ));
        for bad in [json!(null), json!(true), json!([]), json!({}), json!("1e3")] {
            assert_eq!(p(bad.clone()), Err(MoneyError::Invalid), "{bad}");
        }
        // JPY: a float's text always has a fraction, so only integers pass
        assert_eq!(
            parse_amount_json(&json!(500), cur("JPY")).unwrap().minor(),
            500
        );
        assert_eq!(
            parse_amount_json(&json!(500.0), cur("JPY")),
            Err(MoneyError::TooManyDecimals { max: 0 })
        );
    }

    #[test]
    fn syntax_check() {
        assert!(check_amount_syntax(&json!("29.999")).is_ok());
        assert!(check_amount_syntax(&json!(29.5)).is_ok());
        assert_eq!(check_amount_syntax(&json!("1e3")), Err(MoneyError::Invalid));
        assert_eq!(check_amount_syntax(&json!(false)), Err(MoneyError::Invalid));
    }
}
