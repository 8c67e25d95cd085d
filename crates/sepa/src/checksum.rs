//! ISO 7064 mod 97-10 arithmetic over alphanumeric strings (letters count as 10..35).

/// Values below this can absorb two more characters (`acc * 10^4 + 3535`) without overflowing.
const REDUCE_AT: u64 = 1 << 48;

/// Appends one character (`0-9` or `A-Z`; callers guarantee the alphabet, and any other byte
/// gives a wrong but overflow-free result) to the running number `acc`, reducing it first when
/// it gets large.
#[inline(always)]
fn push(acc: u64, b: u8) -> u64 {
    let acc = if acc >= REDUCE_AT { acc % 97 } else { acc };
    if b <= b'9' {
        acc * 10 + u64::from(b.wrapping_sub(b'0'))
    } else {
        acc * 100 + u64::from(b.wrapping_sub(b'A')) + 10
    }
}

/// The remainder mod 97 of the number formed by the concatenation of `parts`, each character
/// converted as in ISO 13616 (`A` = 10 … `Z` = 35).
#[inline]
pub(crate) fn mod97(parts: &[&[u8]]) -> u32 {
    let mut acc = 0u64;
    for part in parts {
        // Two characters per step halve the chain of dependent multiplications.
        let mut pairs = part.chunks_exact(2);
        for pair in &mut pairs {
            let (a, b) = (pair[0], pair[1]);
            let (va, ma) = value(a);
            let (vb, mb) = value(b);
            if acc >= REDUCE_AT {
                acc %= 97;
            }
            acc = acc * (ma * mb) + (va * mb + vb);
        }
        for &b in pairs.remainder() {
            acc = push(acc, b);
        }
    }
    (acc % 97) as u32
}

/// A character's value and the power of ten it shifts the number by (10 for a digit, 100 for a
/// letter).
#[inline(always)]
fn value(b: u8) -> (u64, u64) {
    if b <= b'9' {
        (u64::from(b.wrapping_sub(b'0')), 10)
    } else {
        (u64::from(b.wrapping_sub(b'A')) + 10, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::mod97;

    #[test]
    fn matches_big_number_arithmetic() {
        // 3214282912345698765432161182 mod 97 == 1 is the classic worked example (GB82WEST...).
        assert_eq!(mod97(&[b"WEST12345698765432", b"GB82"]), 1);
        assert_eq!(mod97(&[b"0"]), 0);
        assert_eq!(mod97(&[b"97"]), 0);
        assert_eq!(mod97(&[b"98"]), 1);
        assert_eq!(mod97(&[b"A"]), 10);
        assert_eq!(mod97(&[b"Z"]), 35);
        // 99 nines: 10^99 - 1 ≡ 10^3 - 1 (mod 97, since 10^96 ≡ 1) = 999 ≡ 29.
        assert_eq!(mod97(&[&[b'9'; 99]]), 29);
    }
}
