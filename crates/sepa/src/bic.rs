//! Business Identifier Codes (ISO 9362).

use std::fmt;
use std::str::FromStr;

use crate::country::CountryCode;
use crate::iban::Shown;

/// Why an input is not a valid BIC. `Display` is a sentence for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum BicError {
    /// Nothing but whitespace.
    #[error("Enter a BIC.")]
    Empty,
    /// A character that is neither a letter, a digit nor whitespace.
    #[error("The BIC contains a character that cannot be in a BIC: {}.", Shown(*character))]
    InvalidCharacter {
        /// The first such character.
        character: char,
    },
    /// Not 8 or 11 characters long.
    #[error("A BIC has 8 or 11 characters, this one has {actual}.")]
    WrongLength {
        /// The length of the input without whitespace.
        actual: usize,
    },
    /// The institution code (first four characters) is not four letters.
    #[error("The first four characters of a BIC must be letters.")]
    InvalidInstitution,
    /// Characters five and six are not a country code.
    #[error("Characters 5 and 6 of a BIC must be a country code.")]
    InvalidCountry,
    /// Characters five and six are letters, but no country has that code.
    #[error("{country} is not a country code.")]
    UnknownCountry {
        /// The code as given.
        country: CountryCode,
    },
}

/// A structurally valid BIC: 4 letters (institution), 2 letters (a country code, ISO 3166-1 or
/// `XK`), 2 letters or digits (location), and optionally 3 letters or digits (branch; `XXX` is
/// the head office). Stored upper case, 8 or 11 characters as given.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bic {
    buf: [u8; 11],
    len: u8,
}

impl Bic {
    /// Parses a BIC, ignoring whitespace and ASCII case.
    ///
    /// ```
    /// use catalyst_sepa::{Bic, BicError};
    ///
    /// let bic = Bic::parse("cobadeffxxx").unwrap();
    /// assert_eq!(bic.as_str(), "COBADEFFXXX");
    /// assert_eq!((bic.institution(), bic.country(), bic.location()), ("COBA", "DE", "FF"));
    /// assert_eq!(bic.branch(), Some("XXX"));
    /// assert!(!bic.is_test());
    /// assert_eq!(Bic::parse("COBA1EFF"), Err(BicError::InvalidCountry));
    /// assert_eq!(Bic::parse("COBADEF").unwrap_err().to_string(), "A BIC has 8 or 11 characters, this one has 7.");
    /// ```
    pub fn parse(input: &str) -> Result<Self, BicError> {
        let mut buf = [0u8; 11];
        let mut len = 0usize;
        for c in input.chars() {
            if c.is_ascii_alphanumeric() {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = c.to_ascii_uppercase() as u8;
                }
                len += 1;
            } else if !c.is_whitespace() {
                return Err(BicError::InvalidCharacter { character: c });
            }
        }
        match len {
            0 => return Err(BicError::Empty),
            8 | 11 => {}
            actual => return Err(BicError::WrongLength { actual }),
        }
        if !buf[..4].iter().all(u8::is_ascii_uppercase) {
            return Err(BicError::InvalidInstitution);
        }
        let country = CountryCode::from_letters(buf[4], buf[5]).ok_or(BicError::InvalidCountry)?;
        if !is_country(country.as_str()) {
            return Err(BicError::UnknownCountry { country });
        }
        Ok(Self {
            buf,
            len: len as u8,
        })
    }

    /// The BIC as stored, 8 or 11 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..usize::from(self.len)).unwrap_or_default())
            .unwrap_or_default()
    }

    fn part(&self, range: std::ops::Range<usize>) -> &str {
        self.as_str().get(range).unwrap_or_default()
    }

    /// The institution (bank) code, characters 1–4.
    pub fn institution(&self) -> &str {
        self.part(0..4)
    }

    /// The country code, characters 5–6.
    pub fn country(&self) -> &str {
        self.part(4..6)
    }

    /// The location code, characters 7–8.
    pub fn location(&self) -> &str {
        self.part(6..8)
    }

    /// The branch code, characters 9–11, if given.
    pub fn branch(&self) -> Option<&str> {
        (self.len == 11).then(|| self.part(8..11))
    }

    /// Whether this is a test BIC (second location character `0`).
    pub fn is_test(&self) -> bool {
        self.buf[7] == b'0'
    }

    /// Whether this names the head office: no branch, or branch `XXX`.
    pub fn is_head_office(&self) -> bool {
        matches!(self.branch(), None | Some("XXX"))
    }

    /// The 11-character form (`XXX` added to an 8-character BIC).
    pub fn to_bic11(&self) -> String {
        format!("{}{}", self.part(0..8), self.branch().unwrap_or("XXX"))
    }

    /// The 8-character form (the branch dropped).
    pub fn to_bic8(&self) -> &str {
        self.part(0..8)
    }
}

/// ISO 3166-1 alpha-2 codes (as the reference's `pycountry` 26.2.16 has them) plus `XK`
/// (Kosovo), which SWIFT uses.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM \
BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW \
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA \
LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR \
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

fn is_country(code: &str) -> bool {
    COUNTRIES.split(' ').any(|c| c == code)
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bic({})", self.as_str())
    }
}

impl AsRef<str> for Bic {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for Bic {
    type Err = BicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Bic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Bic {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_bics() {
        let bic = Bic::parse("DEUT DE DB HAM").unwrap();
        assert_eq!(bic.as_str(), "DEUTDEDBHAM");
        assert_eq!(bic.branch(), Some("HAM"));
        assert!(!bic.is_head_office());
        assert_eq!(bic.to_bic8(), "DEUTDEDB");
        let short = Bic::parse("NWBKGB2L").unwrap();
        assert_eq!(short.branch(), None);
        assert!(short.is_head_office());
        assert_eq!(short.to_bic11(), "NWBKGB2LXXX");
        assert!(Bic::parse("RBKOXKPR").is_ok(), "Kosovo");
        assert!(Bic::parse("CHASUS33").is_ok());
    }

    #[test]
    fn test_bics() {
        assert!(Bic::parse("ABCDDEF0").unwrap().is_test());
        assert!(Bic::parse("ABCDDE00XXX").unwrap().is_test());
        assert!(!Bic::parse("ABCDDEFF").unwrap().is_test());
    }

    #[test]
    fn invalid_bics() {
        assert_eq!(Bic::parse(" "), Err(BicError::Empty));
        assert_eq!(
            Bic::parse("COBA-DEFF"),
            Err(BicError::InvalidCharacter { character: '-' })
        );
        assert_eq!(
            Bic::parse("COBADEFFX"),
            Err(BicError::WrongLength { actual: 9 })
        );
        assert_eq!(
            Bic::parse("COBADEFFXXXX"),
            Err(BicError::WrongLength { actual: 12 })
        );
        assert_eq!(Bic::parse("C0BADEFF"), Err(BicError::InvalidInstitution));
        assert_eq!(Bic::parse("COBA1EFF"), Err(BicError::InvalidCountry));
        assert_eq!(
            Bic::parse("COBAQQFF").map_err(|e| e.to_string()),
            Err("QQ is not a country code.".to_string())
        );
        assert_eq!(
            Bic::parse("COBAÄEFF"),
            Err(BicError::InvalidCharacter { character: 'Ä' })
        );
    }

    #[test]
    fn country_list_is_sorted_and_complete() {
        let codes: Vec<&str> = COUNTRIES.split(' ').collect();
        assert_eq!(codes.len(), 250);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }
}
