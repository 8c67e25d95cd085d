//! [`Secret`]: a value that must not end up in logs.

use std::fmt;

/// Wraps a sensitive value (IBAN, key, credential). `Debug` and `Display` print `[REDACTED]`;
/// the value is reachable only through [`Secret::expose`] or [`Secret::into_inner`], so every
/// read is explicit and greppable. Deliberately not `Serialize`, and not `PartialEq` (compare
/// secrets with [`crate::token::constant_time_eq`]).
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret value.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Secrets may be read from configuration; they are never written out.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new(String::from("DE89370400440532013000"));
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([REDACTED])");
    }

    #[test]
    fn expose_and_into_inner_return_the_value() {
        let s = Secret::new(42_u32);
        assert_eq!(*s.expose(), 42);
        assert_eq!(s.into_inner(), 42);
    }

    #[test]
    fn deserializes_from_plain_value() {
        let s: Secret<String> = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(s.expose(), "hunter2");
    }
}
