//! IBAN validation: normalisation of what people type, country length and BBAN structure,
//! ISO 7064 mod 97-10 check digits, and the bank from the registry.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::checksum::mod97;
use crate::country::{self, Country, CountryCode};
use crate::registry::{self, Bank};

/// The longest IBAN ISO 13616 allows (no country uses more than 33 today).
pub const MAX_IBAN_LENGTH: usize = 34;

/// Why an input is not a valid IBAN. `Display` is a sentence meant for the customer who typed
/// it; [`IbanError::code`] is a stable identifier for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IbanError {
    /// Nothing but whitespace.
    #[error("Enter an IBAN.")]
    Empty,
    /// A character that is neither a letter, a digit nor whitespace.
    #[error("The IBAN contains a character that cannot be in an IBAN: {}.", Shown(*character))]
    InvalidCharacter {
        /// The first such character.
        character: char,
    },
    /// The first two characters are not letters.
    #[error("An IBAN starts with a two-letter country code.")]
    MissingCountryCode,
    /// The country code has no IBAN format.
    #[error("{country} is not a known IBAN country.")]
    UnknownCountry {
        /// The code as given.
        country: CountryCode,
    },
    /// The length is not the country's.
    #[error("{country} IBANs have {expected} characters, this one has {actual}.")]
    WrongLength {
        /// The country.
        country: CountryCode,
        /// The country's IBAN length.
        expected: usize,
        /// The length of the input without whitespace.
        actual: usize,
    },
    /// The check digits are not digits, or the BBAN does not have the country's structure.
    #[error("The IBAN does not have the format of a {country} IBAN.")]
    InvalidFormat {
        /// The country.
        country: CountryCode,
    },
    /// The mod-97 check fails, or the check digits are 00, 01 or 99 (never issued).
    #[error("The IBAN check digits are wrong.")]
    WrongCheckDigits,
}

impl IbanError {
    /// A stable snake_case identifier of the variant, e.g. `"wrong_length"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::InvalidCharacter { .. } => "invalid_character",
            Self::MissingCountryCode => "missing_country_code",
            Self::UnknownCountry { .. } => "unknown_country",
            Self::WrongLength { .. } => "wrong_length",
            Self::InvalidFormat { .. } => "invalid_format",
            Self::WrongCheckDigits => "wrong_check_digits",
        }
    }

    /// The offending character as the error sentence shows it (`'-'`, or `U+200B` when it
    /// cannot be seen); `None` for other kinds.
    pub fn shown_character(&self) -> Option<String> {
        match self {
            Self::InvalidCharacter { character } => Some(Shown(*character).to_string()),
            _ => None,
        }
    }

    /// The country the error is about, when it names one.
    pub fn country(&self) -> Option<CountryCode> {
        match self {
            Self::UnknownCountry { country }
            | Self::WrongLength { country, .. }
            | Self::InvalidFormat { country } => Some(*country),
            _ => None,
        }
    }
}

/// Shows a character in an error sentence: quoted if it can be seen, as `U+XXXX` if it is
/// invisible (control and zero-width characters).
pub(crate) struct Shown(pub(crate) char);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let invisible = c.is_control()
            || c.is_whitespace()
            || matches!(c,
                '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
                | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}');
        if invisible {
            write!(f, "U+{:04X}", u32::from(c))
        } else if c == '\'' {
            f.write_str("\"'\"")
        } else {
            write!(f, "'{c}'")
        }
    }
}

/// Deletes every Unicode whitespace character and upper-cases ASCII letters; nothing else is
/// changed (so [`validate`] still rejects dashes, full-width digits and the like). Idempotent.
///
/// ```
/// assert_eq!(catalyst_sepa::normalize(" de89\u{a0}3704 0044-0532\t013000 "), "DE8937040044-0532013000");
/// ```
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A valid IBAN, kept in electronic form (upper case, no spaces), with its country's format and
/// the bank the registry knows for it.
///
/// `Display` gives the paper format (groups of four); [`ValidIban::as_str`] the electronic form.
/// `Debug` shows only the masked form, so IBANs do not end up in logs by accident.
#[derive(Clone, Copy)]
pub struct ValidIban {
    buf: [u8; MAX_IBAN_LENGTH],
    len: u8,
    code: CountryCode,
    country: &'static Country,
    bank: Option<Bank>,
}

/// Validates an IBAN as people type it and returns it with its parts and bank.
///
/// Whitespace of any kind (spaces, tabs, no-break spaces, U+3000 …) is removed and ASCII letters
/// are upper-cased; any other character makes the input invalid. Then the country must be known,
/// the length and BBAN structure must be the country's, and the ISO 7064 mod 97-10 check must
/// pass with check digits in 02–98.
///
/// ```
/// use catalyst_sepa::{validate, IbanError};
///
/// let iban = validate("de89 3704 0044 0532 0130 00").unwrap();
/// assert_eq!(iban.as_str(), "DE89370400440532013000");
/// assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
/// assert_eq!(iban.country(), "DE");
/// assert_eq!(iban.bank_code(), Some("37040044"));
/// assert_eq!(iban.bank_name(), Some("Commerzbank"));
/// assert_eq!(iban.bic(), Some("COBADEFFXXX"));
/// assert!(iban.is_sepa());
///
/// let err = validate("DE89 3704 0044 0532 0130 0").unwrap_err();
/// assert_eq!(err.to_string(), "DE IBANs have 22 characters, this one has 21.");
/// assert_eq!(validate("DE88370400440532013000"), Err(IbanError::WrongCheckDigits));
/// ```
pub fn validate(input: &str) -> Result<ValidIban, IbanError> {
    let mut buf = [0u8; MAX_IBAN_LENGTH];
    let mut len = 0usize;
    // Bit i set: character i is a digit / a letter.
    let (mut digits, mut letters) = (0u64, 0u64);

    let bytes = input.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match CLASS[usize::from(b)] {
            DIGIT | LETTER => {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = b.to_ascii_uppercase();
                    if CLASS[usize::from(b)] == DIGIT {
                        digits |= 1 << len;
                    } else {
                        letters |= 1 << len;
                    }
                }
                len += 1;
                i += 1;
            }
            SPACE => i += 1,
            OTHER => {
                return Err(IbanError::InvalidCharacter {
                    character: char::from(b),
                });
            }
            _ => {
                // The start of a multi-byte character: `i` is always on a character boundary.
                match input.get(i..).and_then(|rest| rest.chars().next()) {
                    Some(c) if c.is_whitespace() => i += c.len_utf8(),
                    Some(c) => return Err(IbanError::InvalidCharacter { character: c }),
                    None => break,
                }
            }
        }
    }

    if len == 0 {
        return Err(IbanError::Empty);
    }
    let code = CountryCode::from_letters(buf[0], buf[1]).ok_or(IbanError::MissingCountryCode)?;
    let country =
        country::by_letters(buf[0], buf[1]).ok_or(IbanError::UnknownCountry { country: code })?;
    if len != country.iban_length() {
        return Err(IbanError::WrongLength {
            country: code,
            expected: country.iban_length(),
            actual: len,
        });
    }
    if digits & 0b1100 != 0b1100 || !country.bban_matches(digits >> 4, letters >> 4) {
        return Err(IbanError::InvalidFormat { country: code });
    }
    let check = buf[2].wrapping_sub(b'0') * 10 + buf[3].wrapping_sub(b'0');
    let (head, bban) = buf
        .get(..len)
        .unwrap_or_default()
        .split_at_checked(4)
        .unwrap_or_default();
    if !(2..=98).contains(&check) || mod97(&[bban, head]) != 1 {
        return Err(IbanError::WrongCheckDigits);
    }
    let bank = country.bank_raw().and_then(|(s, e)| {
        registry::lookup_letters(buf[0], buf[1], bban.get(usize::from(s)..usize::from(e))?)
    });
    Ok(ValidIban {
        buf,
        len: country.iban_len_u8(),
        code,
        country,
        bank,
    })
}

const OTHER: u8 = 0;
const SPACE: u8 = 1;
const DIGIT: u8 = 2;
const LETTER: u8 = 3;
const NON_ASCII: u8 = 4;

/// The class of each byte: ASCII whitespace (as `char::is_whitespace` has it), digit, letter,
/// other ASCII, or part of a multi-byte character.
static CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if c >= 0x80 {
            NON_ASCII
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_alphabetic() {
            LETTER
        } else if matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            SPACE
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

impl ValidIban {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    fn slice(&self, range: std::ops::Range<usize>) -> &str {
        self.as_str().get(range).unwrap_or_default()
    }

    /// The electronic form: upper case, no spaces, e.g. `"DE89370400440532013000"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever stored.
        std::str::from_utf8(self.bytes()).unwrap_or_default()
    }

    /// The country (or territory) code, e.g. `DE`.
    pub fn country(&self) -> CountryCode {
        self.code
    }

    /// The format of the IBAN's country (length, BBAN structure, SEPA membership).
    pub fn country_format(&self) -> &'static Country {
        self.country
    }

    /// The two check digits, e.g. `"89"`.
    pub fn check_digits(&self) -> &str {
        self.slice(2..4)
    }

    /// The Basic Bank Account Number: everything after the check digits.
    pub fn bban(&self) -> &str {
        self.slice(4..usize::from(self.len))
    }

    /// The bank identifier, which is also the registry's key: e.g. the Bankleitzahl in DE, the
    /// code banque in FR, the 4-letter bank code in GB and NL, the ABI (after the CIN) in IT,
    /// the 8-digit bank and branch number in PL. `None` for countries whose format has none.
    pub fn bank_code(&self) -> Option<&str> {
        self.country
            .bank_code_range()
            .map(|r| self.slice(r.start + 4..r.end + 4))
    }

    /// The branch identifier (sort code in GB, code guichet in FR, CAB in IT, …), if the
    /// country's format has one separate from the bank identifier.
    pub fn branch_code(&self) -> Option<&str> {
        self.country
            .branch_code_range()
            .map(|r| self.slice(r.start + 4..r.end + 4))
    }

    /// Whether the country or territory is in the SEPA scheme.
    pub fn is_sepa(&self) -> bool {
        self.country.is_sepa()
    }

    /// Whether the country's format is only reserved (not yet in the SWIFT registry); banks may
    /// refuse such IBANs.
    pub fn is_aspirational(&self) -> bool {
        self.country.is_aspirational()
    }

    /// The bank the registry has for [`ValidIban::bank_code`], if any.
    pub fn bank(&self) -> Option<Bank> {
        self.bank
    }

    /// The registry's name of the bank, if known.
    pub fn bank_name(&self) -> Option<&'static str> {
        self.bank.map(|b| b.name)
    }

    /// The registry's BIC of the bank, if known (8 or 11 characters, as stored).
    pub fn bic(&self) -> Option<&'static str> {
        self.bank.and_then(|b| b.bic)
    }

    /// Whether the national check digits inside the BBAN are right, for the countries whose
    /// algorithm is known (BE, FR, MC, IT, SM, ES, NO, FI, EE, PL, CZ, SK, IS, PT, SI, BA, ME,
    /// MK, RS, TL, MR, TN); `None` elsewhere. Not part of validity: some banks issue accounts
    /// that fail these checks.
    pub fn bban_checksum_ok(&self) -> Option<bool> {
        crate::national::check(self.country.national(), self.bytes().get(4..)?)
    }

    /// The last four characters, e.g. `"3000"`.
    pub fn last4(&self) -> &str {
        let len = usize::from(self.len);
        self.slice(len.saturating_sub(4)..len)
    }

    /// The country code, then `*` for every further character but the last four, keeping the
    /// length: `"DE****************3000"`.
    pub fn masked(&self) -> String {
        let stars = usize::from(self.len).saturating_sub(6);
        format!("{}{}{}", self.country(), "*".repeat(stars), self.last4())
    }

    /// `*` for every character but the last four, as in reconciliation reports:
    /// `"******************3000"`.
    pub fn mask_full(&self) -> String {
        let stars = usize::from(self.len).saturating_sub(4);
        format!("{}{}", "*".repeat(stars), self.last4())
    }
}

impl fmt::Display for ValidIban {
    /// The paper format: groups of four separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.as_str().as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(std::str::from_utf8(group).unwrap_or_default())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ValidIban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidIban({})", self.masked())
    }
}

impl PartialEq for ValidIban {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for ValidIban {}

impl PartialEq<str> for ValidIban {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ValidIban {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for ValidIban {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl PartialOrd for ValidIban {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ValidIban {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl AsRef<str> for ValidIban {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for ValidIban {
    type Err = IbanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        validate(s)
    }
}

impl TryFrom<&str> for ValidIban {
    type Error = IbanError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        validate(s)
    }
}

impl serde::Serialize for ValidIban {
    /// Serialises as the electronic form.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ValidIban {
    /// Deserialises from a string, validating it; the error is the customer sentence.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        validate(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_sentences() {
        let cases = [
            ("DE88370400440532013000", "The IBAN check digits are wrong."),
            (
                "DE8937040044053201300",
                "DE IBANs have 22 characters, this one has 21.",
            ),
            ("XY89370400440532013000", "XY is not a known IBAN country."),
            (
                "DE89-3704-0044-0532-0130-00",
                "The IBAN contains a character that cannot be in an IBAN: '-'.",
            ),
            ("", "Enter an IBAN."),
            (" \t\u{a0}\u{3000}", "Enter an IBAN."),
            (
                "DE89370400440532O13000",
                "The IBAN does not have the format of a DE IBAN.",
            ),
            (
                "DEAB370400440532013000",
                "The IBAN does not have the format of a DE IBAN.",
            ),
            ("1234", "An IBAN starts with a two-letter country code."),
            ("D", "An IBAN starts with a two-letter country code."),
            ("DE", "DE IBANs have 22 characters, this one has 2."),
            (
                "DE89\u{200b}370400440532013000",
                "The IBAN contains a character that cannot be in an IBAN: U+200B.",
            ),
            (
                "DE89'370400440532013000",
                "The IBAN contains a character that cannot be in an IBAN: \"'\".",
            ),
            (
                "ＤE89370400440532013000",
                "The IBAN contains a character that cannot be in an IBAN: 'Ｄ'.",
            ),
        ];
        for (input, sentence) in cases {
            assert_eq!(
                validate(input).unwrap_err().to_string(),
                sentence,
                "{input:?}"
            );
        }
    }

    #[test]
    fn error_data_and_codes() {
        assert_eq!(
            validate("de89 3704 0044 0532 0130 0"),
            Err(IbanError::WrongLength {
                country: CountryCode::new("DE").unwrap(),
                expected: 22,
                actual: 21
            })
        );
        assert_eq!(
            validate("DE89.37"),
            Err(IbanError::InvalidCharacter { character: '.' })
        );
        assert_eq!(validate("DE89.37").unwrap_err().code(), "invalid_character");
        assert_eq!(validate("").unwrap_err().code(), "empty");
    }

    #[test]
    fn check_digit_aliases_are_rejected() {
        // 00, 01 and 99 pass the bare mod-97 arithmetic exactly when the proper check digits
        // are 97, 98 and 02 (alias = proper ± 97); search such BBANs.
        let mut found = 0;
        for n in 0u32..2000 {
            let bban = format!("{n:08}0532013000");
            let proper = 98 - mod97(&[bban.as_bytes(), b"DE00"]);
            let alias = match proper {
                2 => 99,
                97 => 0,
                98 => 1,
                _ => continue,
            };
            let iban = format!("DE{alias:02}{bban}");
            assert_eq!(
                mod97(&[bban.as_bytes(), format!("DE{alias:02}").as_bytes()]),
                1
            );
            assert_eq!(validate(&iban), Err(IbanError::WrongCheckDigits), "{iban}");
            assert!(validate(&format!("DE{proper:02}{bban}")).is_ok());
            found += 1;
        }
        assert!(found > 10);
    }

    #[test]
    fn parts_and_masks() {
        let iban = validate("GB29 NWBK 6016 1331 9268 19").unwrap();
        assert_eq!(iban.country(), "GB");
        assert_eq!(iban.check_digits(), "29");
        assert_eq!(iban.bban(), "NWBK60161331926819");
        assert_eq!(iban.bank_code(), Some("NWBK"));
        assert_eq!(iban.branch_code(), Some("601613"));
        assert_eq!(iban.last4(), "6819");
        assert_eq!(iban.masked(), "GB****************6819");
        assert_eq!(iban.mask_full(), "******************6819");
        assert_eq!(format!("{iban:?}"), "ValidIban(GB****************6819)");
        let de = validate("DE89370400440532013000").unwrap();
        assert_eq!(de.masked(), "DE****************3000");
        assert_eq!(de.mask_full(), "******************3000");
        assert_eq!(de.branch_code(), None);
        assert_eq!(de.bban_checksum_ok(), None);
    }

    #[test]
    fn identifiers_per_country() {
        let it = validate("IT60X0542811101000000123456").unwrap();
        assert_eq!(
            (it.bank_code(), it.branch_code()),
            (Some("05428"), Some("11101"))
        );
        assert_eq!(it.bban_checksum_ok(), Some(true));
        let pl = validate("PL61109010140000071219812874").unwrap();
        assert_eq!((pl.bank_code(), pl.branch_code()), (Some("10901014"), None));
        let si = validate("SI56263300012039086").unwrap();
        assert_eq!(si.bank_code(), Some("26330"));
        let gf = validate(&format!("GF{}", &"FR1420041010050500013M02606"[2..]));
        assert!(gf.is_err(), "check digits depend on the country code");
    }

    #[test]
    fn serde_round_trip() {
        let iban = validate("DE89370400440532013000").unwrap();
        let json = serde_json::to_string(&iban).unwrap();
        assert_eq!(json, "\"DE89370400440532013000\"");
        let back: ValidIban = serde_json::from_str("\"de89 3704 0044 0532 0130 00\"").unwrap();
        assert_eq!(back, iban);
        let err = serde_json::from_str::<ValidIban>("\"DE88370400440532013000\"").unwrap_err();
        assert!(err.to_string().contains("The IBAN check digits are wrong."));
    }

    #[test]
    fn comparisons() {
        let a = validate("DE89370400440532013000").unwrap();
        let b: ValidIban = "de89 3704 0044 0532 0130 00".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "DE89370400440532013000");
        assert!(ValidIban::try_from("GB29NWBK60161331926819").unwrap() > a);
    }
}
