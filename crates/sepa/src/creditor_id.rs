//! SEPA creditor identifiers (the "Gläubiger-ID" of a direct debit creditor).

use std::fmt;
use std::str::FromStr;

use crate::checksum::mod97;
use crate::country::CountryCode;
use crate::iban::Shown;

/// The longest creditor identifier the EPC allows.
pub const MAX_CREDITOR_ID_LENGTH: usize = 35;
/// Country code, check digits, business code and at least one character of national id.
const MIN_LENGTH: usize = 8;

/// Why an input is not a valid SEPA creditor identifier. `Display` is a sentence for the person
/// who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CreditorIdError {
    /// Nothing but whitespace.
    #[error("Enter a creditor identifier.")]
    Empty,
    /// A character that is neither a letter, a digit nor whitespace.
    #[error(
        "The creditor identifier contains a character that cannot be in it: {}.",
        Shown(*character)
    )]
    InvalidCharacter {
        /// The first such character.
        character: char,
    },
    /// Shorter than 8 or longer than 35 characters.
    #[error("A creditor identifier has 8 to 35 characters, this one has {actual}.")]
    WrongLength {
        /// The length of the input without whitespace.
        actual: usize,
    },
    /// The first two characters are not letters.
    #[error("A creditor identifier starts with a two-letter country code.")]
    MissingCountryCode,
    /// The country is not in the SEPA scheme.
    #[error("{country} is not a SEPA country.")]
    NotSepaCountry {
        /// The code as given.
        country: CountryCode,
    },
    /// Characters three and four are not digits.
    #[error("Characters 3 and 4 of a creditor identifier must be its check digits.")]
    InvalidCheckDigitsFormat,
    /// The check digits do not match the national identifier.
    #[error("The creditor identifier check digits are wrong.")]
    WrongCheckDigits,
}

/// A valid SEPA creditor identifier: country code, two check digits, a three-character creditor
/// business code (free, not covered by the check digits) and the national identifier. Stored
/// upper case without whitespace.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditorId {
    buf: [u8; MAX_CREDITOR_ID_LENGTH],
    len: u8,
}

impl CreditorId {
    /// Parses and checks a creditor identifier, ignoring whitespace and ASCII case.
    ///
    /// The check digits are 98 − (national identifier + country code + `00`, letters as
    /// A = 10 … Z = 35) mod 97; the business code is ignored.
    ///
    /// ```
    /// use catalyst_sepa::{CreditorId, CreditorIdError};
    ///
    /// let id = CreditorId::parse("DE98 ZZZ 09999999999").unwrap();
    /// assert_eq!(id.as_str(), "DE98ZZZ09999999999");
    /// assert_eq!((id.country(), id.business_code(), id.national_id()), ("DE", "ZZZ", "09999999999"));
    /// assert_eq!(CreditorId::parse("DE97ZZZ09999999999"), Err(CreditorIdError::WrongCheckDigits));
    /// ```
    pub fn parse(input: &str) -> Result<Self, CreditorIdError> {
        let mut buf = [0u8; MAX_CREDITOR_ID_LENGTH];
        let mut len = 0usize;
        for c in input.chars() {
            if c.is_ascii_alphanumeric() {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = c.to_ascii_uppercase() as u8;
                }
                len += 1;
            } else if !c.is_whitespace() {
                return Err(CreditorIdError::InvalidCharacter { character: c });
            }
        }
        if len == 0 {
            return Err(CreditorIdError::Empty);
        }
        let country =
            CountryCode::from_letters(buf[0], buf[1]).ok_or(CreditorIdError::MissingCountryCode)?;
        if !country.iban_format().is_some_and(crate::Country::is_sepa) {
            return Err(CreditorIdError::NotSepaCountry { country });
        }
        if !(MIN_LENGTH..=MAX_CREDITOR_ID_LENGTH).contains(&len) {
            return Err(CreditorIdError::WrongLength { actual: len });
        }
        if !buf[2].is_ascii_digit() || !buf[3].is_ascii_digit() {
            return Err(CreditorIdError::InvalidCheckDigitsFormat);
        }
        let given = u32::from(buf[2] - b'0') * 10 + u32::from(buf[3] - b'0');
        let expected = 98 - mod97(&[buf.get(7..len).unwrap_or_default(), &buf[..2], b"00"]);
        if given != expected {
            return Err(CreditorIdError::WrongCheckDigits);
        }
        Ok(Self {
            buf,
            len: len as u8,
        })
    }

    /// The identifier, upper case without whitespace.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..usize::from(self.len)).unwrap_or_default())
            .unwrap_or_default()
    }

    fn part(&self, range: std::ops::Range<usize>) -> &str {
        self.as_str().get(range).unwrap_or_default()
    }

    /// The country code, e.g. `"DE"`.
    pub fn country(&self) -> &str {
        self.part(0..2)
    }

    /// The two check digits.
    pub fn check_digits(&self) -> &str {
        self.part(2..4)
    }

    /// The creditor business code (characters 5–7; `ZZZ` when unused).
    pub fn business_code(&self) -> &str {
        self.part(4..7)
    }

    /// The national identifier (from character 8 on).
    pub fn national_id(&self) -> &str {
        self.part(7..usize::from(self.len))
    }

    /// Whether both identify the same creditor: the business code is not part of the
    /// creditor's identity, so `DE98ZZZ09999999999` and `DE98ABC09999999999` are the same.
    pub fn is_same_creditor(&self, other: &CreditorId) -> bool {
        self.country() == other.country() && self.national_id() == other.national_id()
    }
}

impl fmt::Display for CreditorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CreditorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditorId({})", self.as_str())
    }
}

impl AsRef<str> for CreditorId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for CreditorId {
    type Err = CreditorIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CreditorId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CreditorId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid identifier from its parts, computing the check digits independently
    /// with big-number arithmetic on the decimal string.
    fn make(country: &str, business: &str, national: &str) -> String {
        let digits: String = format!("{national}{country}00")
            .chars()
            .map(|c| c.to_digit(36).unwrap().to_string())
            .collect();
        let r = digits
            .bytes()
            .fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
        format!("{country}{:02}{business}{national}", 98 - r)
    }

    #[test]
    fn bundesbank_test_id() {
        assert_eq!(make("DE", "ZZZ", "09999999999"), "DE98ZZZ09999999999");
        let id = CreditorId::parse("DE98ZZZ09999999999").unwrap();
        assert_eq!(id.check_digits(), "98");
        assert_eq!(id.to_string(), "DE98ZZZ09999999999");
    }

    #[test]
    fn business_code_is_ignored() {
        let a = CreditorId::parse("DE98ZZZ09999999999").unwrap();
        let b = CreditorId::parse("de98 abc 0999 9999 999").unwrap();
        assert_ne!(a, b);
        assert!(a.is_same_creditor(&b));
    }

    #[test]
    fn other_countries_and_letters() {
        for (country, national) in [
            ("FR", "123456"),
            ("NL", "123456780000"),
            ("ES", "B12345678"),
            ("IT", "ABCDEFGHIJKLMNOP"),
            ("AT", "00000000000"),
            ("CH", "1"),
        ] {
            let id = make(country, "ZZZ", national);
            let parsed = CreditorId::parse(&id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(parsed.national_id(), national);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(CreditorId::parse(""), Err(CreditorIdError::Empty));
        assert_eq!(
            CreditorId::parse("DE98-ZZZ-09999999999"),
            Err(CreditorIdError::InvalidCharacter { character: '-' })
        );
        assert_eq!(
            CreditorId::parse("1298ZZZ0999"),
            Err(CreditorIdError::MissingCountryCode)
        );
        assert_eq!(
            CreditorId::parse("US98ZZZ09999999999")
                .unwrap_err()
                .to_string(),
            "US is not a SEPA country."
        );
        assert_eq!(
            CreditorId::parse("DE98ZZZ"),
            Err(CreditorIdError::WrongLength { actual: 7 })
        );
        let long = format!("DE98ZZZ{}", "9".repeat(29));
        assert_eq!(
            CreditorId::parse(&long),
            Err(CreditorIdError::WrongLength { actual: 36 })
        );
        assert_eq!(
            CreditorId::parse("DEX8ZZZ09999999999"),
            Err(CreditorIdError::InvalidCheckDigitsFormat)
        );
        assert_eq!(
            CreditorId::parse("DE99ZZZ09999999999"),
            Err(CreditorIdError::WrongCheckDigits)
        );
        assert_eq!(
            CreditorId::parse("DE98ZZZ09999999998"),
            Err(CreditorIdError::WrongCheckDigits)
        );
    }
}
