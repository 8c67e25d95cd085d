//! The bank registry's hash table key and hash, shared by the build script (which fills the
//! table) and `src/registry.rs` (which probes it), so both always agree.

/// log2 of the number of slots in the registry's hash table.
pub const TABLE_BITS: u32 = 16;

/// A registry key: the country's slot (`(a - 'A') * 26 + (b - 'A')`) and the bank code read as
/// a base-37 number (`0`–`9` → 1–10, `A`–`Z` → 11–36; ASCII case ignored), which is unique for
/// codes of 1 to 8 characters and never 0. `None` for anything else.
#[inline]
pub fn key(a: u8, b: u8, code: &[u8]) -> Option<u64> {
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() || code.is_empty() || code.len() > 8 {
        return None;
    }
    let mut value = u64::from(a - b'A') * 26 + u64::from(b - b'A');
    for &c in code {
        let digit = match c {
            b'0'..=b'9' => c - b'0' + 1,
            b'A'..=b'Z' => c - b'A' + 11,
            b'a'..=b'z' => c - b'a' + 11,
            _ => return None,
        };
        value = value * 37 + u64::from(digit);
    }
    // Shift shorter codes so that every length has its own range (37^8 · 676 < 2^64).
    for _ in code.len()..8 {
        value *= 37;
    }
    Some(value)
}

/// The home slot of a key (Fibonacci hashing).
#[inline]
pub fn home(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as usize
}
