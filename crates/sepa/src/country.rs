//! The IBAN countries: length, BBAN structure, SEPA membership and where the bank and branch
//! identifiers sit in the BBAN.
//!
//! The table follows the reference implementation (`schwifty` 2026.10.1, which merges the SWIFT
//! IBAN registry with its own additions): territories that use another country's format
//! (`AX` → FI, `BL GF GP MF MQ NC PF PM RE TF WF YT` → FR, `GG IM JE` → GB), `HN`, `PK`, the `BR`
//! structure and the "aspirational" countries (formats reserved but not yet in the SWIFT
//! registry) are all included. The SEPA flag follows the EPC scheme list (EEA, CH, GB, MC, SM,
//! VA, AD, GI, the territories above, and AL, ME, MD, MK, RS).

use std::fmt;

/// A two-letter country code as it appears at the start of an IBAN, BIC or creditor identifier
/// (always two upper-case ASCII letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Builds a code from two ASCII letters (either case); `None` for anything else.
    ///
    /// ```
    /// use catalyst_sepa::CountryCode;
    /// assert_eq!(CountryCode::new("de").unwrap().as_str(), "DE");
    /// assert!(CountryCode::new("D1").is_none());
    /// ```
    pub fn new(code: &str) -> Option<Self> {
        match code.as_bytes() {
            &[a, b] => Self::from_letters(a, b),
            _ => None,
        }
    }

    pub(crate) const fn from_letters(a: u8, b: u8) -> Option<Self> {
        if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() {
            Some(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
        } else {
            None
        }
    }

    /// The code as a string slice, e.g. `"DE"`.
    pub fn as_str(&self) -> &str {
        // The invariant (two ASCII letters) makes this infallible; the fallback is never used.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The IBAN format of this country, if it has one.
    pub fn iban_format(self) -> Option<&'static Country> {
        by_letters(self.0[0], self.0[1])
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl PartialEq<str> for CountryCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CountryCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl AsRef<str> for CountryCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How a country's national (BBAN-internal) check digits are computed, mirroring the reference's
/// algorithms. Countries without an entry here report `None` from
/// [`ValidIban::bban_checksum_ok`](crate::ValidIban::bban_checksum_ok).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum National {
    /// Not checked (no algorithm, or one that depends on the bank, as in DE).
    None,
    /// BE: the first 10 digits mod 97 (0 → 97) give the last two.
    Be,
    /// FR, MC: the RIB key.
    Fr,
    /// IT, SM: the CIN letter.
    It,
    /// ES: two mod-11 digits.
    Es,
    /// NO: weighted mod 11.
    No,
    /// FI: Luhn.
    Fi,
    /// EE: weights 7-3-1.
    Ee,
    /// PL: weights 3-9-7-1 over the bank and branch code.
    Pl,
    /// CZ, SK: branch and account each weigh to 0 mod 11.
    CzSk,
    /// IS: the check digit of the account holder's kennitala.
    Is,
    /// ISO 7064 mod 97-10 over `bban[..n]`, result (98 − r) in `bban[n..n + 2]`.
    Mod97(u8),
    /// Mod 97 over `bban[..n]`, result (97 − r) in `bban[n..n + 2]` (MR, TN).
    Mod97Variant(u8),
}

/// The IBAN format of one country or territory.
#[derive(Debug)]
pub struct Country {
    code: &'static str,
    iban_len: u8,
    bban_spec: &'static str,
    /// Bit `i` set: BBAN position `i` must be a digit.
    digits: u64,
    /// Bit `i` set: BBAN position `i` must be an upper-case letter.
    letters: u64,
    sepa: bool,
    aspirational: bool,
    bank: Option<(u8, u8)>,
    branch: Option<(u8, u8)>,
    national: National,
}

impl Country {
    /// The two-letter code, e.g. `"DE"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The length of this country's IBANs (electronic form).
    pub fn iban_length(&self) -> usize {
        usize::from(self.iban_len)
    }

    /// The BBAN structure in SWIFT registry notation, e.g. `"8!n10!n"` (`n` digits,
    /// `a` upper-case letters, `c` letters or digits).
    pub fn bban_spec(&self) -> &'static str {
        self.bban_spec
    }

    /// Whether the country or territory is in the SEPA scheme.
    pub fn is_sepa(&self) -> bool {
        self.sepa
    }

    /// Whether the format is reserved but not yet in the official SWIFT registry; such IBANs
    /// are well-formed but banks may refuse them.
    pub fn is_aspirational(&self) -> bool {
        self.aspirational
    }

    /// Where the bank identifier (the bank registry's key) sits in the BBAN, as a byte range.
    pub fn bank_code_range(&self) -> Option<std::ops::Range<usize>> {
        self.bank.map(|(s, e)| usize::from(s)..usize::from(e))
    }

    /// Where the branch identifier sits in the BBAN, if the country has one separate from the
    /// bank identifier.
    pub fn branch_code_range(&self) -> Option<std::ops::Range<usize>> {
        self.branch.map(|(s, e)| usize::from(s)..usize::from(e))
    }

    pub(crate) fn iban_len_u8(&self) -> u8 {
        self.iban_len
    }

    pub(crate) fn bank_raw(&self) -> Option<(u8, u8)> {
        self.bank
    }

    pub(crate) fn national(&self) -> National {
        self.national
    }

    /// Whether a BBAN with the given digit and letter position masks has this country's
    /// structure (positions beyond the BBAN are not looked at).
    #[inline]
    pub(crate) fn bban_matches(&self, digit_mask: u64, letter_mask: u64) -> bool {
        (self.digits & !digit_mask) | (self.letters & !letter_mask) == 0
    }
}

/// Parses a SWIFT BBAN spec (`8!n10!n`) into (length, digit mask, letter mask) at compile time.
const fn parse_spec(spec: &str) -> (u8, u64, u64) {
    let b = spec.as_bytes();
    let (mut i, mut pos, mut digits, mut letters) = (0usize, 0u32, 0u64, 0u64);
    while i < b.len() {
        let mut n = 0u32;
        while i < b.len() && b[i].is_ascii_digit() {
            n = n * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        assert!(
            n > 0 && i + 1 < b.len() && b[i] == b'!',
            "malformed BBAN spec"
        );
        let class = b[i + 1];
        assert!(
            class == b'n' || class == b'a' || class == b'c',
            "unknown BBAN class"
        );
        let mut k = 0;
        while k < n {
            assert!(pos < 64, "BBAN too long");
            if class == b'n' {
                digits |= 1 << pos;
            } else if class == b'a' {
                letters |= 1 << pos;
            }
            pos += 1;
            k += 1;
        }
        i += 2;
    }
    (pos as u8, digits, letters)
}

#[allow(clippy::too_many_arguments)]
const fn row(
    code: &'static str,
    iban_len: u8,
    bban_spec: &'static str,
    sepa: bool,
    aspirational: bool,
    bank: Option<(u8, u8)>,
    branch: Option<(u8, u8)>,
    national: National,
) -> Country {
    let (bban_len, digits, letters) = parse_spec(bban_spec);
    assert!(
        bban_len as usize + 4 == iban_len as usize,
        "IBAN length does not match the BBAN spec"
    );
    assert!(code.len() == 2, "country code must have two letters");
    if let Some((s, e)) = bank {
        assert!(s < e && e <= bban_len, "bad bank code range");
    }
    if let Some((s, e)) = branch {
        assert!(s < e && e <= bban_len, "bad branch code range");
    }
    Country {
        code,
        iban_len,
        bban_spec,
        digits,
        letters,
        sepa,
        aspirational,
        bank,
        branch,
        national,
    }
}

/// Every IBAN country, sorted by code. Generated from the reference's merged IBAN registry
/// (`iban_registry/generated.json` + `overwrite.json` of schwifty 2026.10.1); the bank-code
/// ranges agree with `data/bank-id-positions.csv` (checked by a test).
/// Columns: code, IBAN length, BBAN spec, SEPA, aspirational, bank range, branch range,
/// national check.
#[rustfmt::skip]
static COUNTRIES: [Country; 127] = [
    row("AD", 24, "4!n4!n12!c", true, false, Some((0, 4)), Some((4, 8)), National::None),
    row("AE", 23, "3!n16!n", false, false, Some((0, 3)), None, National::None),
    row("AL", 28, "8!n16!c", true, false, Some((0, 3)), Some((3, 7)), National::None),
    row("AO", 25, "21!n", false, true, None, None, National::None),
    row("AT", 20, "5!n11!n", true, false, Some((0, 5)), None, National::None),
    row("AX", 18, "3!n11!n", true, false, Some((0, 3)), None, National::None), // FI format
    row("AZ", 28, "4!a20!c", false, false, Some((0, 4)), None, National::None),
    row("BA", 20, "3!n3!n8!n2!n", false, false, Some((0, 3)), Some((3, 6)), National::Mod97(14)),
    row("BE", 16, "3!n7!n2!n", true, false, Some((0, 3)), None, National::Be),
    row("BF", 28, "2!c22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("BG", 22, "4!a4!n2!n8!c", true, false, Some((0, 4)), Some((4, 8)), National::None),
    row("BH", 22, "4!a14!c", false, false, Some((0, 4)), None, National::None),
    row("BI", 27, "5!n5!n11!n2!n", false, false, Some((0, 5)), Some((5, 10)), National::None),
    row("BJ", 28, "2!c22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("BL", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("BR", 29, "8!c5!n10!n1!c1!c", false, false, Some((0, 8)), Some((8, 13)), National::None),
    row("BY", 28, "4!c4!n16!c", false, false, Some((0, 4)), None, National::None),
    row("CF", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("CG", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("CH", 21, "5!n12!c", true, false, Some((0, 5)), None, National::None),
    row("CI", 28, "2!a22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("CM", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("CR", 22, "4!n14!n", false, false, Some((0, 4)), None, National::None),
    row("CV", 25, "21!n", false, true, Some((0, 4)), Some((4, 8)), National::None),
    row("CY", 28, "3!n5!n16!c", true, false, Some((0, 3)), Some((3, 8)), National::None),
    row("CZ", 24, "4!n6!n10!n", true, false, Some((0, 4)), Some((4, 10)), National::CzSk),
    row("DE", 22, "8!n10!n", true, false, Some((0, 8)), None, National::None),
    row("DJ", 27, "23!n", false, false, Some((0, 5)), Some((5, 10)), National::None),
    row("DK", 18, "4!n9!n1!n", true, false, Some((0, 4)), None, National::None),
    row("DO", 28, "4!c20!n", false, false, Some((0, 4)), None, National::None),
    row("DZ", 26, "22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("EE", 20, "2!n2!n11!n1!n", true, false, Some((0, 2)), Some((2, 4)), National::Ee),
    row("EG", 29, "4!n4!n17!n", false, false, Some((0, 4)), Some((4, 8)), National::None),
    row("ES", 24, "4!n4!n1!n1!n10!n", true, false, Some((0, 4)), Some((4, 8)), National::Es),
    row("FI", 18, "3!n11!n", true, false, Some((0, 3)), None, National::Fi),
    row("FK", 18, "2!a12!n", false, false, Some((0, 2)), None, National::None),
    row("FO", 18, "4!n9!n1!n", false, false, Some((0, 4)), None, National::None),
    row("FR", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::Fr),
    row("GA", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("GB", 22, "4!a6!n8!n", true, false, Some((0, 4)), Some((4, 10)), National::None),
    row("GE", 22, "2!a16!n", false, false, Some((0, 2)), None, National::None),
    row("GF", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("GG", 22, "4!a6!n8!n", true, false, Some((0, 4)), Some((4, 10)), National::None), // GB format
    row("GI", 23, "4!a15!c", true, false, Some((0, 4)), None, National::None),
    row("GL", 18, "4!n9!n1!n", false, false, Some((0, 4)), None, National::None),
    row("GP", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("GQ", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("GR", 27, "3!n4!n16!c", true, false, Some((0, 3)), Some((3, 7)), National::None),
    row("GT", 28, "4!c20!c", false, false, Some((0, 4)), None, National::None),
    row("GW", 25, "2!c19!n", false, true, None, None, National::None),
    row("HN", 28, "4!a20!n", false, false, Some((0, 4)), None, National::None),
    row("HR", 21, "7!n10!n", true, false, Some((0, 7)), None, National::None),
    row("HU", 28, "3!n4!n1!n15!n1!n", true, false, Some((0, 3)), Some((3, 7)), National::None),
    row("IE", 22, "4!a6!n8!n", true, false, Some((0, 4)), Some((4, 10)), National::None),
    row("IL", 23, "3!n3!n13!n", false, false, Some((0, 3)), Some((3, 6)), National::None),
    row("IM", 22, "4!a6!n8!n", true, false, Some((0, 4)), Some((4, 10)), National::None), // GB format
    row("IQ", 23, "4!a3!n12!n", false, false, Some((0, 4)), Some((4, 7)), National::None),
    row("IR", 26, "22!n", false, true, None, None, National::None),
    row("IS", 26, "4!n2!n6!n10!n", true, false, Some((0, 2)), Some((2, 4)), National::Is),
    row("IT", 27, "1!a5!n5!n12!c", true, false, Some((1, 6)), Some((6, 11)), National::It),
    row("JE", 22, "4!a6!n8!n", true, false, Some((0, 4)), Some((4, 10)), National::None), // GB format
    row("JO", 30, "4!a4!n18!c", false, false, Some((0, 4)), Some((4, 8)), National::None),
    row("KM", 27, "23!n", false, true, None, None, National::None),
    row("KW", 30, "4!a22!c", false, false, Some((0, 4)), None, National::None),
    row("KZ", 20, "3!n13!c", false, false, Some((0, 3)), None, National::None),
    row("LB", 28, "4!n20!c", false, false, Some((0, 4)), None, National::None),
    row("LC", 32, "4!a24!c", false, false, Some((0, 4)), None, National::None),
    row("LI", 21, "5!n12!c", true, false, Some((0, 5)), None, National::None),
    row("LT", 20, "5!n11!n", true, false, Some((0, 5)), None, National::None),
    row("LU", 20, "3!n13!c", true, false, Some((0, 3)), None, National::None),
    row("LV", 21, "4!a13!c", true, false, Some((0, 4)), None, National::None),
    row("LY", 25, "3!n3!n15!n", false, false, Some((0, 3)), Some((3, 6)), National::None),
    row("MA", 28, "24!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("MC", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::Fr),
    row("MD", 24, "2!c18!c", true, false, Some((0, 2)), None, National::None),
    row("ME", 22, "3!n13!n2!n", true, false, Some((0, 3)), None, National::Mod97(16)),
    row("MF", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("MG", 27, "23!n", false, true, None, None, National::None),
    row("MK", 19, "3!n10!c2!n", true, false, Some((0, 3)), None, National::Mod97(13)),
    row("ML", 28, "2!c22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("MN", 20, "4!n12!n", false, false, Some((0, 4)), None, National::None),
    row("MQ", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("MR", 27, "5!n5!n11!n2!n", false, false, Some((0, 5)), Some((5, 10)), National::Mod97Variant(21)),
    row("MT", 31, "4!a5!n18!c", true, false, Some((0, 4)), Some((4, 9)), National::None),
    row("MU", 30, "4!a2!n2!n12!n3!n3!a", false, false, Some((0, 6)), Some((6, 8)), National::None),
    row("MZ", 25, "21!n", false, true, None, None, National::None),
    row("NC", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("NE", 28, "2!a22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("NI", 28, "4!a20!n", false, false, Some((0, 4)), None, National::None),
    row("NL", 18, "4!a10!n", true, false, Some((0, 4)), None, National::None),
    row("NO", 15, "4!n6!n1!n", true, false, Some((0, 4)), None, National::No),
    row("OM", 23, "3!n16!c", false, false, Some((0, 3)), None, National::None),
    row("PF", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("PK", 24, "4!a16!c", false, false, Some((0, 4)), None, National::None),
    row("PL", 28, "8!n16!n", true, false, Some((0, 8)), None, National::Pl),
    row("PM", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("PS", 29, "4!a21!c", false, false, Some((0, 4)), None, National::None),
    row("PT", 25, "4!n4!n11!n2!n", true, false, Some((0, 4)), Some((4, 8)), National::Mod97(19)),
    row("QA", 29, "4!a21!c", false, false, Some((0, 4)), None, National::None),
    row("RE", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("RO", 24, "4!a16!c", true, false, Some((0, 4)), None, National::None),
    row("RS", 22, "3!n13!n2!n", true, false, Some((0, 3)), None, National::Mod97(16)),
    row("RU", 33, "9!n5!n15!c", false, false, Some((0, 9)), Some((9, 14)), National::None),
    row("SA", 24, "2!n18!c", false, false, Some((0, 2)), None, National::None),
    row("SC", 31, "4!a2!n2!n16!n3!a", false, false, Some((0, 6)), Some((6, 8)), National::None),
    row("SD", 18, "2!n12!n", false, false, Some((0, 2)), None, National::None),
    row("SE", 24, "3!n16!n1!n", true, false, Some((0, 3)), None, National::None),
    row("SI", 19, "5!n8!n2!n", true, false, Some((0, 5)), None, National::Mod97(13)),
    row("SK", 24, "4!n6!n10!n", true, false, Some((0, 4)), Some((4, 10)), National::CzSk),
    row("SM", 27, "1!a5!n5!n12!c", true, false, Some((1, 6)), Some((6, 11)), National::It),
    row("SN", 28, "2!a22!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("SO", 23, "4!n3!n12!n", false, false, Some((0, 4)), Some((4, 7)), National::None),
    row("ST", 25, "4!n4!n11!n2!n", false, false, Some((0, 4)), Some((4, 8)), National::None),
    row("SV", 28, "4!a20!n", false, false, Some((0, 4)), None, National::None),
    row("TD", 27, "23!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("TF", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("TG", 28, "2!a3!n5!n12!n2!n", false, true, Some((0, 5)), Some((5, 10)), National::None),
    row("TL", 23, "3!n14!n2!n", false, false, Some((0, 3)), None, National::Mod97(17)),
    row("TN", 24, "2!n3!n13!n2!n", false, false, Some((0, 2)), Some((2, 5)), National::Mod97Variant(18)),
    row("TR", 26, "5!n1!n16!c", false, false, Some((0, 5)), None, National::None),
    row("UA", 29, "6!n19!c", false, false, Some((0, 6)), None, National::None),
    row("VA", 22, "3!n15!n", true, false, Some((0, 3)), None, National::None),
    row("VG", 24, "4!a16!n", false, false, Some((0, 4)), None, National::None),
    row("WF", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), Some((5, 10)), National::None), // FR format
    row("XK", 20, "4!n10!n2!n", false, false, Some((0, 2)), Some((2, 4)), National::None),
    row("YE", 30, "4!a4!n18!c", false, false, Some((0, 4)), Some((4, 8)), National::None),
    row("YT", 27, "5!n5!n11!c2!n", true, false, Some((0, 5)), None, National::None), // FR format
];

/// `INDEX[(a - 'A') * 26 + (b - 'A')]` is 1 + the position of country `ab` in [`COUNTRIES`],
/// or 0 if there is none.
static INDEX: [u8; 676] = build_index();

const fn build_index() -> [u8; 676] {
    let mut index = [0u8; 676];
    let mut i = 0;
    while i < COUNTRIES.len() {
        let c = COUNTRIES[i].code.as_bytes();
        if i > 0 {
            let p = COUNTRIES[i - 1].code.as_bytes();
            assert!(
                p[0] < c[0] || (p[0] == c[0] && p[1] < c[1]),
                "COUNTRIES must be sorted"
            );
        }
        index[(c[0] - b'A') as usize * 26 + (c[1] - b'A') as usize] = i as u8 + 1;
        i += 1;
    }
    index
}

/// The format of country `ab` (two upper-case ASCII letters).
#[inline]
pub(crate) fn by_letters(a: u8, b: u8) -> Option<&'static Country> {
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    let slot = INDEX[usize::from(a - b'A') * 26 + usize::from(b - b'A')];
    COUNTRIES.get(usize::from(slot).checked_sub(1)?)
}

/// The IBAN format of a country by its two-letter code (either case).
///
/// ```
/// let de = catalyst_sepa::country::lookup("DE").unwrap();
/// assert_eq!(de.iban_length(), 22);
/// assert!(de.is_sepa());
/// assert!(catalyst_sepa::country::lookup("US").is_none());
/// ```
pub fn lookup(code: &str) -> Option<&'static Country> {
    CountryCode::new(code)?.iban_format()
}

/// All IBAN countries and territories, sorted by code.
pub fn all() -> &'static [Country] {
    &COUNTRIES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        assert_eq!(parse_spec("2!n3!a1!c"), (6, 0b11, 0b11100));
    }

    #[test]
    fn lookup_by_code() {
        assert_eq!(lookup("de").map(Country::code), Some("DE"));
        assert_eq!(lookup("GF").map(Country::iban_length), Some(27));
        assert!(lookup("XX").is_none());
        assert!(lookup("D").is_none());
        assert!(lookup("DEU").is_none());
        assert!(lookup("D1").is_none());
        assert!(lookup("ÄB").is_none());
    }

    #[test]
    fn every_country_is_indexed() {
        for c in all() {
            assert!(std::ptr::eq(lookup(c.code()).unwrap(), c));
        }
        assert_eq!(INDEX.iter().filter(|&&i| i != 0).count(), COUNTRIES.len());
    }

    #[test]
    fn sepa_members() {
        for code in [
            "DE", "FR", "AL", "ME", "MD", "MK", "RS", "GB", "CH", "YT", "AX", "VA",
        ] {
            assert!(lookup(code).unwrap().is_sepa(), "{code}");
        }
        for code in ["BR", "TR", "UA", "FO", "GL", "XK", "PK", "HN"] {
            assert!(!lookup(code).unwrap().is_sepa(), "{code}");
        }
    }

    #[test]
    fn territories_use_the_mother_format() {
        let fr = lookup("FR").unwrap();
        for t in [
            "BL", "GF", "GP", "MF", "MQ", "NC", "PF", "PM", "RE", "TF", "WF", "YT",
        ] {
            let c = lookup(t).unwrap();
            assert_eq!(
                (c.iban_length(), c.bban_spec()),
                (fr.iban_length(), fr.bban_spec())
            );
        }
        let gb = lookup("GB").unwrap();
        for t in ["GG", "IM", "JE"] {
            assert_eq!(lookup(t).unwrap().bban_spec(), gb.bban_spec());
        }
        assert_eq!(
            lookup("AX").unwrap().bban_spec(),
            lookup("FI").unwrap().bban_spec()
        );
    }
}
