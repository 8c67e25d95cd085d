//! `ValidIban::bban_checksum_ok` against the reference's own national check-digit verdicts
//! (`tests/data/national-checksums.csv`: 750 IBANs generated with `schwifty` 2026.10.1 for 25
//! countries, half of them with one BBAN character altered and the IBAN check digits
//! recomputed; `national_ok` is what `IBAN(..., validate_bban=True)` answered, `none` where the
//! reference has no algorithm for the country or it depends on the bank, as in DE).

#[path = "../support/csv.rs"]
mod csv;

use catalyst_sepa::validate;

#[test]
fn national_check_digits_agree_with_the_reference() {
    let records = csv::parse(include_str!("data/national-checksums.csv"));
    let (header, rows) = records.split_first().expect("header");
    assert_eq!(header, &["iban", "national_ok"]);
    assert_eq!(rows.len(), 750);
    let (mut good, mut bad, mut none) = (0, 0, 0);
    for row in rows {
        let iban = validate(&row[0]).unwrap_or_else(|e| panic!("{}: {e}", row[0]));
        let expected = match row[1].as_str() {
            "true" => Some(true),
            "false" => Some(false),
            "none" => None,
            other => panic!("{other}"),
        };
        assert_eq!(iban.bban_checksum_ok(), expected, "{}", row[0]);
        match expected {
            Some(true) => good += 1,
            Some(false) => bad += 1,
            None => none += 1,
        }
    }
    assert!(good > 300 && bad > 250 && none > 50, "{good} {bad} {none}");
}
