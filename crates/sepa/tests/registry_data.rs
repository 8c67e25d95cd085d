//! The compiled-in tables agree with the data files they were built from.

#[path = "../support/csv.rs"]
mod csv;

use catalyst_sepa::{country, registry};

/// Every row of `data/bank-registry.csv` is found with its BIC and name.
#[test]
fn every_registry_row_is_found() {
    let records = csv::parse(include_str!("../data/bank-registry.csv"));
    let (header, rows) = records.split_first().expect("header");
    assert_eq!(header, &["country", "bank_code", "bic", "name"]);
    assert_eq!(rows.len(), registry::len());
    let mut without_bic = 0;
    for row in rows {
        let bank =
            registry::lookup(&row[0], &row[1]).unwrap_or_else(|| panic!("{row:?} not found"));
        assert_eq!(bank.name, row[3], "{row:?}");
        assert_eq!(bank.bic.unwrap_or(""), row[2], "{row:?}");
        without_bic += usize::from(bank.bic.is_none());
    }
    assert_eq!(without_bic, 962);
}

/// Codes next to registered ones are not found (the binary search does not match prefixes or
/// neighbours).
#[test]
fn neighbours_of_registered_codes_are_not_found() {
    assert!(registry::lookup("DE", "37040044").is_some());
    assert!(registry::lookup("DE", "3704004").is_none());
    assert!(registry::lookup("DE", "370400440").is_none());
    assert!(registry::lookup("AT", "37040").is_none());
}

/// The country table agrees with `data/bank-id-positions.csv` on length and on where the
/// registry key sits.
#[test]
fn country_table_matches_bank_id_positions() {
    let records = csv::parse(include_str!("../data/bank-id-positions.csv"));
    let (header, rows) = records.split_first().expect("header");
    assert_eq!(
        &header[..7],
        &[
            "country",
            "in_sepa_schwifty",
            "iban_length",
            "registry_key_bban_start",
            "registry_key_bban_end",
            "registry_key_iban_start",
            "registry_key_iban_end",
        ]
    );
    assert_eq!(rows.len(), country::all().len());
    for row in rows {
        let c = country::lookup(&row[0]).unwrap_or_else(|| panic!("{} missing", row[0]));
        assert_eq!(c.iban_length().to_string(), row[2], "{}", row[0]);
        let range = c.bank_code_range();
        let expected =
            (!row[3].is_empty()).then(|| row[3].parse::<usize>().unwrap()..row[4].parse().unwrap());
        assert_eq!(range, expected, "{}", row[0]);
        // Our SEPA flag adds the EPC's 2024/25 members to the reference's list.
        let reference_sepa = row[1] == "True";
        let added = ["AL", "ME", "MD", "MK", "RS"].contains(&row[0].as_str());
        assert_eq!(c.is_sepa(), reference_sepa || added, "{}", row[0]);
    }
}
