//! National (BBAN-internal) check digits, mirroring the reference's algorithms. They are not
//! part of IBAN validity: banks issue accounts whose national digits the published algorithms
//! reject, so this is information only.

use crate::checksum::mod97;
use crate::country::National;

/// `Some(true)`/`Some(false)` if the country's algorithm is known, `None` otherwise. `bban`
/// must already match its country's structure (digits where the country has digits).
pub(crate) fn check(national: National, bban: &[u8]) -> Option<bool> {
    let ok = match national {
        National::None => return None,
        National::Be => {
            let r = mod97(&[bban.get(..10)?]);
            two_digits(bban.get(10..12)?) == Some(if r == 0 { 97 } else { r })
        }
        National::Fr => {
            let bank = french_number(bban.get(..5)?);
            let branch = french_number(bban.get(5..10)?);
            let account = french_number(bban.get(10..21)?);
            let r = (89 * bank + 15 * branch + 3 * account) % 97;
            two_digits(bban.get(21..23)?) == Some(97 - r as u32)
        }
        National::It => {
            let sum: u32 = bban
                .get(1..23)?
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let index = italian_index(c);
                    if i % 2 == 1 {
                        index
                    } else {
                        ITALIAN_ODD[index as usize % 26]
                    }
                })
                .sum();
            *bban.first()? == b'A' + (sum % 26) as u8
        }
        National::Es => {
            const WEIGHTS: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
            let d1 = spanish_digit(bban.get(..8)?, &WEIGHTS[2..]);
            let d2 = spanish_digit(bban.get(10..20)?, &WEIGHTS);
            two_digits(bban.get(8..10)?) == Some(d1 * 10 + d2)
        }
        National::No => {
            let account = bban.get(4..10)?;
            let value = if account.starts_with(b"00") {
                &account[2..]
            } else {
                bban.get(..10)?
            };
            let check = 11 - weighted(value, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
            check != 10 && digit(*bban.get(10)?) == Some(check % 11)
        }
        National::Fi => digit(*bban.get(13)?) == Some(luhn(bban.get(..13)?)),
        National::Ee => {
            let sum = bban
                .get(2..15)?
                .iter()
                .rev()
                .zip([7, 3, 1].iter().cycle())
                .map(|(&c, &w)| digit_value(c) * w)
                .sum::<u32>()
                % 10;
            digit(*bban.get(15)?) == Some(if sum == 0 { 0 } else { 10 - sum })
        }
        National::Pl => {
            let sum = weighted(bban.get(..7)?, &[3, 9, 7, 1, 3, 9, 7]) % 10;
            digit(*bban.get(7)?) == Some(if sum == 0 { 0 } else { 10 - sum })
        }
        National::CzSk => {
            weighted(bban.get(4..10)?, &[10, 5, 8, 4, 2, 1]).is_multiple_of(11)
                && weighted(bban.get(10..20)?, &[6, 3, 7, 9, 10, 5, 8, 4, 2, 1]).is_multiple_of(11)
        }
        National::Is => {
            let holder = bban.get(12..22)?;
            let r = weighted(holder.get(..8)?, &[3, 2, 7, 6, 5, 4, 3, 2]) % 11;
            digit(*holder.get(8)?) == Some(if r == 0 { 0 } else { 11 - r })
        }
        National::Mod97(n) => {
            let n = usize::from(n);
            let r = mod97(&[bban.get(..n)?, b"00"]);
            two_digits(bban.get(n..n + 2)?) == Some(98 - r)
        }
        National::Mod97Variant(n) => {
            let n = usize::from(n);
            let r = mod97(&[bban.get(..n)?, b"00"]);
            two_digits(bban.get(n..n + 2)?) == Some(97 - r)
        }
    };
    Some(ok)
}

fn digit(c: u8) -> Option<u32> {
    c.is_ascii_digit().then(|| u32::from(c - b'0'))
}

/// The value of a character that the BBAN structure guarantees to be a digit.
fn digit_value(c: u8) -> u32 {
    u32::from(c.wrapping_sub(b'0') % 10)
}

fn two_digits(s: &[u8]) -> Option<u32> {
    match s {
        &[a, b] => Some(digit(a)? * 10 + digit(b)?),
        _ => None,
    }
}

/// Σ weight × digit over the shorter of the two (the reference zips them).
fn weighted(value: &[u8], weights: &[u32]) -> u32 {
    value
        .iter()
        .zip(weights)
        .map(|(&c, &w)| digit_value(c) * w)
        .sum()
}

fn spanish_digit(value: &[u8], weights: &[u32]) -> u32 {
    match 11 - weighted(value, weights) % 11 {
        11 => 0,
        10 => 1,
        d => d,
    }
}

/// Luhn check digit as the reference computes it (rightmost digit doubled).
fn luhn(value: &[u8]) -> u32 {
    let sum: u32 = value
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let p = digit_value(c) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

/// The RIB conversion: digits as themselves, letters A–I → 1–9, J–R → 1–9, S–Z → 2–9.
fn french_number(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'I' => c - b'A' + 1,
            b'J'..=b'R' => c - b'J' + 1,
            b'S'..=b'Z' => c - b'S' + 2,
            _ => 0,
        };
        acc.wrapping_mul(10).wrapping_add(u64::from(d))
    })
}

/// The CIN's "odd position" values, indexed by digit value or letter index.
const ITALIAN_ODD: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

fn italian_index(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'Z' => u32::from(c - b'A'),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::country;

    fn check_iban(iban: &str) -> Option<bool> {
        let c = country::lookup(&iban[..2]).unwrap();
        check(c.national(), &iban.as_bytes()[4..])
    }

    #[test]
    fn published_examples_pass() {
        for iban in [
            "BE68539007547034",
            "FR1420041010050500013M02606",
            "MC5811222000010123456789030",
            "IT60X0542811101000000123456",
            "SM86U0322509800000000270100",
            "ES9121000418450200051332",
            "NO9386011117947",
            "FI2112345600000785",
            "EE382200221020145685",
            "PL61109010140000071219812874",
            "CZ6508000000192000145399",
            "SK3112000000198742637541",
            "IS140159260076545510730339",
            "PT50000201231234567890154",
            "SI56263300012039086",
            "BA391290079401028494",
            "ME25505000012345678951",
            "MK07250120000058984",
            "RS35260005601001611379",
            "TL380080012345678910157",
            "MR1300020001010000123456753",
            "TN5910006035183598478831",
        ] {
            assert_eq!(check_iban(iban), Some(true), "{iban}");
        }
    }

    #[test]
    fn altered_national_digits_fail() {
        for iban in [
            "BE68539007547035",
            "FR1420041010050500013M02607",
            "IT60Y0542811101000000123456",
            "ES9121000418460200051332",
            "NO9386011117948",
            "FI2112345600000786",
            "EE382200221020145686",
            "PL61109010150000071219812874",
            "CZ6508000000192000145398",
            "IS140159260076545510730349",
            "PT50000201231234567890155",
        ] {
            assert_eq!(check_iban(iban), Some(false), "{iban}");
        }
    }

    #[test]
    fn unknown_algorithms_are_none() {
        assert_eq!(check_iban("DE89370400440532013000"), None);
        assert_eq!(check_iban("GB29NWBK60161331926819"), None);
    }
}
