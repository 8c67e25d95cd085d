//! Fuzz target: the IBAN parser ([`validate`]) on hostile input — arbitrary bytes and text,
//! near-valid mutations of real IBANs, long inputs, unicode whitespace and control characters.
//!
//! It must never panic, and what it accepts must be a real IBAN: electronic form, the
//! country's length, an independent mod-97 check, and the same result when re-validated in
//! either form. Bounded by case count; `PROPTEST_CASES=N` runs
//! longer.

use catalyst_sepa::{IbanError, ValidIban, normalize, validate};
use proptest::prelude::*;

/// Valid IBANs of several countries and structures.
const VALID: &[&str] = &[
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "BE68539007547034",
    "AT611904300234573201",
    "CH9300762011623852957",
    "NO9386011117947",
    "MT84MALT011000012345MTLCAST001S",
    "SE4550000000058398257466",
];

/// Characters that are meaningful to an IBAN parser or hostile to one.
const PIECES: &[&str] = &[
    " ", "\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{0}", "\u{7f}", "-",
    ".", "/", "０", "１", "Ａ", "ß", "é", "İ", "ı", "\u{301}", "😀", "a", "z", "Z", "0", "9", "00",
    "99", "DE", "XX", "GB",
];

/// `cases` unless `PROPTEST_CASES` asks for more (or fewer).
fn config(cases: u32) -> ProptestConfig {
    let env_cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok());
    ProptestConfig {
        cases: env_cases.unwrap_or(cases),
        ..ProptestConfig::default()
    }
}

/// ISO 7064 mod 97-10 of an electronic-form IBAN, digit by digit.
fn mod97(iban: &str) -> u32 {
    let (head, tail) = iban.split_at(4);
    format!("{tail}{head}")
        .chars()
        .filter_map(|c| c.to_digit(36))
        .flat_map(|d| d.to_string().into_bytes())
        .fold(0, |r, d| (r * 10 + u32::from(d - b'0')) % 97)
}

/// One edit of a string, at a char boundary.
#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, String),
    Delete(prop::sample::Index),
    Replace(prop::sample::Index, String),
    Swap(prop::sample::Index),
    Repeat(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        prop::sample::select(PIECES).prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), piece.clone()).prop_map(|(i, p)| Edit::Insert(i, p)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), piece).prop_map(|(i, p)| Edit::Replace(i, p)),
        any::<prop::sample::Index>().prop_map(Edit::Swap),
        (2usize..400).prop_map(Edit::Repeat),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    match edit {
        Edit::Insert(i, piece) => {
            let at = i.index(chars.len() + 1);
            chars.splice(at..at, piece.chars());
        }
        Edit::Delete(i) if !chars.is_empty() => {
            chars.remove(i.index(chars.len()));
        }
        Edit::Replace(i, piece) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars.splice(at..=at, piece.chars());
        }
        Edit::Swap(i) if chars.len() >= 2 => {
            let at = i.index(chars.len() - 1);
            chars.swap(at, at + 1);
        }
        // Repeats compound over several edits: keep inputs at most about 16 KB.
        Edit::Repeat(n) if text.len() * n <= 16 * 1024 => return text.repeat(*n),
        _ => {}
    }
    chars.into_iter().collect()
}

/// A valid IBAN (electronic or paper form, any case) after up to four edits.
fn near_valid() -> impl Strategy<Value = String> {
    (
        prop::sample::select(VALID),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(edit(), 0..5),
    )
        .prop_map(|(iban, paper, lower, edits)| {
            let mut text = if paper {
                validate(iban).expect("fixture").to_string()
            } else {
                iban.to_owned()
            };
            if lower {
                text = text.to_lowercase();
            }
            for e in &edits {
                text = apply(&text, e);
            }
            text
        })
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat()),
        "[A-Z]{2}[0-9]{2}[A-Z0-9]{0,40}",
        near_valid(),
        near_valid(),
        near_valid(),
    ]
}

/// The invariants of one validation.
fn check(input: &str) -> Result<(), TestCaseError> {
    match validate(input) {
        Ok(iban) => check_accepted(input, &iban),
        Err(error) => {
            prop_assert!(!error.code().is_empty());
            prop_assert!(!error.to_string().is_empty());
            // Normalising first changes nothing.
            prop_assert_eq!(validate(&normalize(input)).err(), Some(error));
            Ok(())
        }
    }
}

fn check_accepted(input: &str, iban: &ValidIban) -> Result<(), TestCaseError> {
    let electronic = iban.as_str();
    prop_assert_eq!(electronic, normalize(input));
    prop_assert!(
        electronic
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    );
    prop_assert_eq!(electronic.len(), iban.country_format().iban_length());
    prop_assert_eq!(mod97(electronic), 1, "{}", electronic);
    prop_assert!(!matches!(iban.check_digits(), "00" | "01" | "99"));
    let country = iban.country();
    prop_assert_eq!(&electronic[..2], country.as_str());
    prop_assert_eq!(&electronic[4..], iban.bban());
    prop_assert_eq!(validate(electronic), Ok(*iban));
    // The paper form (groups of four) reads back too.
    let paper = iban.to_string();
    prop_assert_eq!(validate(&paper), Ok(*iban));
    prop_assert!(electronic.ends_with(iban.last4()));
    prop_assert!(!iban.masked().contains(&electronic[4..electronic.len() - 4]));
    let debug = format!("{iban:?}");
    prop_assert!(!debug.contains(electronic), "{}", debug);
    Ok(())
}

proptest! {
    #![proptest_config(config(10_000))]

    #[test]
    fn hostile_input_never_panics_and_accepts_only_real_ibans(input in hostile_text()) {
        check(&input)?;
    }

    #[test]
    fn long_input_is_refused(piece in prop::sample::select(VALID), n in 2usize..2000) {
        let input = piece.repeat(n);
        let result = validate(&input);
        let wrong_length = matches!(result, Err(IbanError::WrongLength { .. }));
        prop_assert!(wrong_length, "{:?}", result);
    }
}

/// The near-valid generator keeps reaching the accepting path, or the invariants above would
/// only ever see errors.
#[test]
fn near_valid_generator_reaches_valid_ibans() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = near_valid();
    let accepted = (0..1000)
        .filter(|_| validate(&strategy.new_tree(&mut runner).expect("tree").current()).is_ok())
        .count();
    assert!(accepted > 100, "{accepted}");
}
