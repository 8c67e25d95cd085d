//! The bank registry: bank name and BIC by country and national bank code.
//!
//! Compiled in from `data/bank-registry.csv` (25,333 banks in 46 countries, built from the
//! registry that the `schwifty` package ships; see `data/README.md`) by the build script into a
//! static open-addressing hash table (about 1.4 probes per lookup). Nothing is allocated or
//! initialised at run time. `cargo xtask registry` regenerates the CSV.

/// A bank from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Bank {
    /// The bank's name as the registry gives it.
    pub name: &'static str,
    /// The bank's BIC (8 or 11 characters, as stored), if the registry has one.
    pub bic: Option<&'static str>,
}

#[path = "../support/registry_key.rs"]
mod registry_key;

include!(concat!(env!("OUT_DIR"), "/registry_data.rs"));

/// Looks up a bank by country letters (upper case) and bank code.
#[inline]
pub(crate) fn lookup_letters(a: u8, b: u8, code: &[u8]) -> Option<Bank> {
    let key = registry_key::key(a, b, code)?;
    let mut slot = registry_key::home(key);
    for _ in 0..MAX_PROBES {
        match *TABLE_KEYS.get(slot)? {
            k if k == key => return BANKS.get(*TABLE_BANKS.get(slot)? as usize).copied(),
            0 => return None,
            _ => slot = (slot + 1) % TABLE_KEYS.len(),
        }
    }
    None
}

/// The bank registered under `bank_code` in `country` (two letters; codes are matched
/// ignoring ASCII case). `bank_code` is the bank identifier as it appears in the IBAN, see
/// [`ValidIban::bank_code`](crate::ValidIban::bank_code): 8 digits in DE, 5 in FR, the 4-letter
/// code in GB and NL, …. Unknown banks give `None`.
///
/// ```
/// use catalyst_sepa::registry;
/// let bank = registry::lookup("DE", "37040044").unwrap();
/// assert_eq!(bank.name, "Commerzbank");
/// assert_eq!(bank.bic, Some("COBADEFFXXX"));
/// assert!(registry::lookup("DE", "00000000").is_none());
/// ```
pub fn lookup(country: &str, bank_code: &str) -> Option<Bank> {
    match country.as_bytes() {
        &[a, b] => lookup_letters(
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            bank_code.as_bytes(),
        ),
        _ => None,
    }
}

/// The number of banks in the registry.
pub fn len() -> usize {
    BANKS.len()
}

/// Whether the registry is empty (it never is; present for symmetry with [`len`]).
pub fn is_empty() -> bool {
    BANKS.is_empty()
}

/// The countries the registry has banks for, sorted.
pub fn countries() -> impl Iterator<Item = crate::CountryCode> {
    COUNTRIES.iter().filter_map(|c| crate::CountryCode::new(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_banks() {
        assert_eq!(
            lookup("AD", "0001"),
            Some(Bank {
                name: "andbanc Grup Agricol Reig",
                bic: Some("BACAADADXXX")
            })
        );
        assert_eq!(
            lookup("gb", "nwbk"),
            Some(Bank {
                name: "NATIONAL WESTMINSTER BANK PUBLIC LIMITED COMPANY",
                bic: Some("NWBKGB2LXXX")
            })
        );
        // A bank without a BIC, and an 8-character BIC stored as such.
        assert_eq!(lookup("PL", "10900033").map(|b| b.bic), Some(None));
        assert_eq!(lookup("FR", "30003").and_then(|b| b.bic), Some("SOGEFRPP"));
    }

    #[test]
    fn malformed_queries_are_none() {
        assert_eq!(lookup("", "0001"), None);
        assert_eq!(lookup("ADX", "0001"), None);
        assert_eq!(lookup("A1", "0001"), None);
        assert_eq!(lookup("AD", ""), None);
        assert_eq!(lookup("AD", "000100000"), None);
        assert_eq!(lookup("AD", "000"), None);
        assert_eq!(lookup("ÄD", "0001"), None);
        assert_eq!(lookup("US", "0001"), None);
    }

    #[test]
    fn countries_and_size() {
        assert_eq!(len(), 25_333);
        assert!(!is_empty());
        let countries: Vec<_> = countries().map(|c| c.to_string()).collect();
        assert_eq!(countries.len(), 46);
        assert_eq!(countries.first().map(String::as_str), Some("AD"));
        assert_eq!(countries.last().map(String::as_str), Some("UA"));
    }
}
