//! Small helpers shared by the adapters and the fake server.

use ring::rand::{SecureRandom, SystemRandom};

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0x0f)] as char);
    }
    s
}

/// 32 lower-case hex characters from the system CSPRNG (a Genesis-style `unique_id`).
pub(crate) fn random_hex32() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator works");
    hex_lower(&bytes)
}

/// An IBAN in electronic form: whitespace removed, ASCII upper case.
pub(crate) fn normalize_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_random() {
        assert_eq!(hex_lower(&[0x00, 0xab, 0xff]), "00abff");
        let a = random_hex32();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, random_hex32());
        assert_eq!(normalize_iban(" de89 3704\t0044 "), "DE8937040044");
    }
}
