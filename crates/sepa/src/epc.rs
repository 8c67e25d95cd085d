//! EPC SEPA Direct Debit rules the ISO 20022 schema cannot express.
//!
//! Checked by [`validate`] (and by [`crate::pain008::write`] before it writes anything):
//! - identifiers (message, payment information, end-to-end, mandate ids) are 1..=35 characters
//!   of the EPC identifier set `A-Z a-z 0-9 / - ? : ( ) . , ' +` and space, not starting or ending
//!   with `/` and without `//`;
//! - names and remittance information use the SEPA Latin character set (`a-z A-Z 0-9
//!   / - ? : ( ) . , ' +` and space); [`transliterate`] maps other text into it;
//! - names are at most 70 characters, unstructured remittance information at most 140;
//! - amounts are > 0 and at most 999 999 999.99 EUR;
//! - the collection date is a T2 business day at least one T2 business day after the day the
//!   file is created ([`crate::calendar`]).
//!
//! ```
//! use catalyst_sepa::epc::{is_sepa_latin, transliterate};
//!
//! assert_eq!(transliterate("Müller & Söhne Straße"), "Mueller + Soehne Strasse");
//! assert!(is_sepa_latin("Mueller + Soehne Strasse"));
//! assert!(!is_sepa_latin("Müller"));
//! ```

use chrono::NaiveDate;

use crate::calendar;
use crate::pain008::Batch;

/// Largest amount of one collection in minor units (999 999 999.99 EUR).
pub const MAX_AMOUNT_MINOR: i64 = 99_999_999_999;
/// Longest unstructured remittance information.
pub const MAX_REMITTANCE_CHARS: usize = 140;
/// Longest identifier (message, payment information, end-to-end and mandate ids).
pub const MAX_ID_CHARS: usize = 35;
/// Longest party name.
pub const MAX_NAME_CHARS: usize = 70;

/// One broken EPC rule; `field` names where (e.g. `collections[2].end_to_end_id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcViolation {
    /// An identifier is empty, longer than 35 characters or has characters outside the id set.
    #[error(
        "{field}: an identifier must be 1 to 35 characters of A-Z a-z 0-9 / - ? : ( ) . , ' + and space"
    )]
    InvalidId {
        /// Where.
        field: String,
    },
    /// A text is longer than its limit.
    #[error("{field}: at most {max} characters")]
    TooLong {
        /// Where.
        field: String,
        /// The limit in characters.
        max: usize,
    },
    /// A text has characters outside the SEPA Latin set (see [`transliterate`]).
    #[error("{field}: characters outside the SEPA Latin set")]
    Charset {
        /// Where.
        field: String,
    },
    /// A name is empty.
    #[error("{field}: must not be empty")]
    Empty {
        /// Where.
        field: String,
    },
    /// The amount is not > 0 and <= 999 999 999.99.
    #[error("{field}: the amount must be more than 0 and at most 999999999.99")]
    Amount {
        /// Where.
        field: String,
    },
    /// The collection date is not a T2 business day at least one business day ahead.
    #[error(
        "{field}: {date} is not a TARGET2 business day at least one business day after {today}"
    )]
    CollectionDate {
        /// Where.
        field: String,
        /// The requested collection date.
        date: NaiveDate,
        /// The creation day it was checked against.
        today: NaiveDate,
    },
    /// Two collections share an end-to-end id.
    #[error("{field}: duplicate end-to-end id")]
    DuplicateEndToEndId {
        /// Where.
        field: String,
    },
}

/// Whether every character of `s` is in the SEPA Latin character set.
pub fn is_sepa_latin(s: &str) -> bool {
    s.chars().all(is_latin_char)
}

fn is_latin_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// Whether `s` is a valid EPC identifier (1..=35 characters, see the module docs).
pub fn is_valid_id(s: &str) -> bool {
    let n = s.chars().count();
    (1..=MAX_ID_CHARS).contains(&n)
        && is_sepa_latin(s)
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
}

/// Maps text into the SEPA Latin character set, following the EPC's "best practices" conversion
/// table: German umlauts and ß are spelled out (ä -> ae, ß -> ss), other Latin letters with
/// diacritics lose them (é -> e, ł -> l, ø -> o), `&` becomes `+`, `_`, `;`, `"` and similar
/// become their nearest allowed character, and anything else becomes `.`.
pub fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_latin_char(c) {
            out.push(c);
            continue;
        }
        let rep: &str = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'Ä' => "Ae",
            'Ö' => "Oe",
            'Ü' => "Ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ą' | 'ā' | 'ă' => "a",
            'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ą' | 'Ā' | 'Ă' => "A",
            'æ' => "ae",
            'Æ' => "AE",
            'ç' | 'ć' | 'č' => "c",
            'Ç' | 'Ć' | 'Č' => "C",
            'ď' | 'đ' => "d",
            'Ď' | 'Đ' => "D",
            'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' | 'ē' => "e",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' | 'Ē' => "E",
            'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
            'ł' | 'ľ' | 'ĺ' => "l",
            'Ł' | 'Ľ' | 'Ĺ' => "L",
            'ñ' | 'ń' | 'ň' => "n",
            'Ñ' | 'Ń' | 'Ň' => "N",
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ő' | 'ō' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' | 'Ő' | 'Ō' => "O",
            'œ' => "oe",
            'Œ' => "OE",
            'ř' | 'ŕ' => "r",
            'Ř' | 'Ŕ' => "R",
            'ś' | 'š' | 'ş' | 'ș' => "s",
            'Ś' | 'Š' | 'Ş' | 'Ș' => "S",
            'ť' | 'ţ' | 'ț' => "t",
            'Ť' | 'Ţ' | 'Ț' => "T",
            'ù' | 'ú' | 'û' | 'ů' | 'ű' | 'ū' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ů' | 'Ű' | 'Ū' => "U",
            'ý' | 'ÿ' => "y",
            'Ý' | 'Ÿ' => "Y",
            'ź' | 'ż' | 'ž' => "z",
            'Ź' | 'Ż' | 'Ž' => "Z",
            '&' => "+",
            '_' | '–' | '—' => "-",
            ';' => ",",
            '"' | '`' | '‘' | '’' | '„' | '“' | '”' => "'",
            '[' | '{' | '<' => "(",
            ']' | '}' | '>' => ")",
            '\t' | '\n' | '\r' => " ",
            _ => ".",
        };
        out.push_str(rep);
    }
    out
}

/// Checks `batch` against the EPC rules for a file created on `today`; `Err` lists every
/// violation found (not only the first).
pub fn validate(batch: &Batch, today: NaiveDate) -> Result<(), Vec<EpcViolation>> {
    let mut v = Vec::new();
    let id = |v: &mut Vec<EpcViolation>, field: &str, s: &str| {
        if !is_valid_id(s) {
            v.push(EpcViolation::InvalidId {
                field: field.to_owned(),
            });
        }
    };
    let name = |v: &mut Vec<EpcViolation>, field: &str, s: &str| {
        if s.trim().is_empty() {
            v.push(EpcViolation::Empty {
                field: field.to_owned(),
            });
        } else if s.chars().count() > MAX_NAME_CHARS {
            v.push(EpcViolation::TooLong {
                field: field.to_owned(),
                max: MAX_NAME_CHARS,
            });
        } else if !is_sepa_latin(s) {
            v.push(EpcViolation::Charset {
                field: field.to_owned(),
            });
        }
    };
    id(&mut v, "message_id", &batch.message_id);
    name(&mut v, "initiating_party", &batch.initiating_party);
    name(&mut v, "creditor.name", &batch.creditor.name);
    let mut seen = std::collections::HashSet::new();
    for (i, c) in batch.collections.iter().enumerate() {
        let f = |s: &str| format!("collections[{i}].{s}");
        id(&mut v, &f("end_to_end_id"), &c.end_to_end_id);
        if !seen.insert(c.end_to_end_id.as_str()) {
            v.push(EpcViolation::DuplicateEndToEndId {
                field: f("end_to_end_id"),
            });
        }
        id(&mut v, &f("mandate_id"), &c.mandate_id);
        if let Some(orig) = c
            .amendment
            .as_ref()
            .and_then(|a| a.original_mandate_id.as_deref())
        {
            id(&mut v, &f("amendment.original_mandate_id"), orig);
        }
        name(&mut v, &f("debtor_name"), &c.debtor_name);
        if !(1..=MAX_AMOUNT_MINOR).contains(&c.amount_minor) {
            v.push(EpcViolation::Amount {
                field: f("amount_minor"),
            });
        }
        if let Some(r) = &c.remittance_information {
            if r.chars().count() > MAX_REMITTANCE_CHARS {
                v.push(EpcViolation::TooLong {
                    field: f("remittance_information"),
                    max: MAX_REMITTANCE_CHARS,
                });
            } else if !is_sepa_latin(r) {
                v.push(EpcViolation::Charset {
                    field: f("remittance_information"),
                });
            }
        }
        if !calendar::is_valid_collection_date(today, c.collection_date) {
            v.push(EpcViolation::CollectionDate {
                field: f("collection_date"),
                date: c.collection_date,
                today,
            });
        }
    }
    if v.is_empty() { Ok(()) } else { Err(v) }
}
