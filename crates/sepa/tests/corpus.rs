//! The reference corpus (`tests/data/iban-corpus.csv`, 2,129 inputs with the answers of
//! `schwifty` 2026.10.1): our validity must agree on every row, and BIC and bank name on every
//! valid row.

#[path = "../support/csv.rs"]
mod csv;

use catalyst_sepa::{IbanError, validate};

struct Row {
    line: usize,
    iban: String,
    valid: bool,
    country: String,
    bic: String,
    bank: String,
    kind: String,
}

fn corpus() -> Vec<Row> {
    let text = include_str!("data/iban-corpus.csv");
    let records = csv::parse(text);
    let (header, rows) = records.split_first().expect("corpus has a header");
    assert_eq!(
        header,
        &[
            "iban",
            "valid",
            "country",
            "expected_bic",
            "expected_bank",
            "kind"
        ]
    );
    rows.iter()
        .enumerate()
        .map(|(i, r)| Row {
            line: i + 2,
            iban: r[0].clone(),
            valid: match r[1].as_str() {
                "true" => true,
                "false" => false,
                other => panic!("line {}: valid = {other:?}", i + 2),
            },
            country: r[2].clone(),
            bic: r[3].clone(),
            bank: r[4].clone(),
            kind: r[5].clone(),
        })
        .collect()
}

#[test]
fn corpus_has_every_row() {
    assert_eq!(corpus().len(), 2129);
}

#[test]
fn validity_agrees_on_every_row() {
    let mut disagreements = Vec::new();
    for row in corpus() {
        let ours = validate(&row.iban);
        if ours.is_ok() != row.valid {
            disagreements.push(format!(
                "line {} {:?} ({}): reference {}, ours {ours:?}",
                row.line, row.iban, row.kind, row.valid
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn country_bic_and_bank_agree_on_valid_rows() {
    let mut with_bank = 0;
    for row in corpus().into_iter().filter(|r| r.valid) {
        let iban = validate(&row.iban).unwrap_or_else(|e| panic!("line {}: {e}", row.line));
        assert_eq!(iban.country(), row.country.as_str(), "line {}", row.line);
        assert_eq!(
            iban.bic().unwrap_or(""),
            row.bic,
            "line {} {:?}",
            row.line,
            row.iban
        );
        assert_eq!(
            iban.bank_name().unwrap_or(""),
            row.bank,
            "line {} {:?}",
            row.line,
            row.iban
        );
        if iban.bank().is_some() {
            with_bank += 1;
        }
    }
    // The corpus has ~740 valid IBANs of registry banks: make sure the lookup really ran.
    assert!(with_bank > 700, "only {with_bank} rows found a bank");
}

/// The error we report fits the kind of mistake the corpus row was built with.
#[test]
fn errors_fit_the_kind_of_mistake() {
    let mut misfits = Vec::new();
    for row in corpus().into_iter().filter(|r| !r.valid) {
        let err = validate(&row.iban).expect_err(&row.iban);
        let allowed: &[&str] = match row.kind.as_str() {
            "bad_checksum" | "bad_checksum_alias_00_01_99" => &["wrong_check_digits"],
            "bban_format_valid_mod97" => &["invalid_format"],
            "empty_or_whitespace" => &["empty"],
            "illegal_char" | "illegal_char_separator" | "unicode_lookalike" | "prefix_text" => {
                &["invalid_character"]
            }
            "unknown_country" => &["unknown_country"],
            "wrong_length_raw" | "wrong_length_valid_mod97" | "very_long" => &["wrong_length"],
            "typo_substitution" | "typo_transposition" => {
                &["wrong_check_digits", "invalid_format", "unknown_country"]
            }
            "structure_prefix" => &[
                "missing_country_code",
                "unknown_country",
                "wrong_length",
                "invalid_format",
            ],
            // Includes "N/A".
            "too_short" => &[
                "missing_country_code",
                "unknown_country",
                "wrong_length",
                "invalid_character",
            ],
            other => panic!("line {}: unexpected kind {other}", row.line),
        };
        if !allowed.contains(&err.code()) {
            misfits.push(format!(
                "line {} {:?} ({}): {err:?}",
                row.line, row.iban, row.kind
            ));
        }
        // Every error is a sentence.
        let sentence = err.to_string();
        assert!(
            sentence.ends_with('.') && sentence.chars().next().is_some_and(char::is_uppercase),
            "{sentence}"
        );
    }
    assert!(misfits.is_empty(), "{}", misfits.join("\n"));
}

#[test]
fn wrong_length_reports_the_numbers() {
    for row in corpus()
        .into_iter()
        .filter(|r| r.kind.starts_with("wrong_length"))
    {
        if let Err(IbanError::WrongLength {
            country,
            expected,
            actual,
        }) = validate(&row.iban)
        {
            assert_eq!(
                country.iban_format().map(|c| c.iban_length()),
                Some(expected)
            );
            let compact: String = row.iban.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(actual, compact.chars().count());
            assert_ne!(actual, expected);
        } else {
            panic!("line {}: expected a length error", row.line);
        }
    }
}
