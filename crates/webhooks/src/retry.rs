//! The retry ladder (API.md §5): after a failed attempt, retry in 1 min, 5 min, 30 min, 2 h,
//! 6 h, 12 h, 24 h; after the eighth attempt fails the delivery is marked failed.

use std::time::Duration;

/// Waits before attempts 2 to 8.
pub const RETRY_LADDER: [Duration; 7] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Attempts per delivery: the first plus one per ladder step.
pub const MAX_ATTEMPTS: u32 = RETRY_LADDER.len() as u32 + 1;

/// The production wait before the next attempt: see [`RetryPolicy::next_attempt_delay`].
///
/// ```
/// use std::time::Duration;
/// use catalyst_webhooks::next_attempt_delay;
///
/// assert_eq!(next_attempt_delay(1), Some(Duration::from_secs(60)));
/// assert_eq!(next_attempt_delay(7), Some(Duration::from_secs(24 * 3600)));
/// assert_eq!(next_attempt_delay(8), None); // give up: mark the delivery failed
/// ```
pub fn next_attempt_delay(attempts_made: u32) -> Option<Duration> {
    RetryPolicy::PRODUCTION.next_attempt_delay(attempts_made)
}

/// A scale factor on [`RETRY_LADDER`], so tests and demos can run the whole ladder quickly
/// (`0.001` turns 1 min into 60 ms and 24 h into 86.4 s) with the same attempt count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    scale: f64,
}

/// A scale that is negative, NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("retry scale must be finite and non-negative, got {0}")]
pub struct InvalidScale(pub f64);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

impl RetryPolicy {
    /// The ladder as documented (scale 1).
    pub const PRODUCTION: Self = Self { scale: 1.0 };

    /// The ladder with every wait multiplied by `scale` (0 retries immediately).
    ///
    /// ```
    /// use std::time::Duration;
    /// use catalyst_webhooks::RetryPolicy;
    ///
    /// let fast = RetryPolicy::scaled(0.001).unwrap();
    /// assert_eq!(fast.next_attempt_delay(1), Some(Duration::from_millis(60)));
    /// assert_eq!(fast.next_attempt_delay(8), None);
    /// assert!(RetryPolicy::scaled(-1.0).is_err());
    /// ```
    pub fn scaled(scale: f64) -> Result<Self, InvalidScale> {
        if scale.is_finite() && scale >= 0.0 {
            Ok(Self { scale })
        } else {
            Err(InvalidScale(scale))
        }
    }

    /// The scale factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// How long to wait before the next attempt, given how many attempts were made (and
    /// failed) so far: `0` → now (the first attempt), `1` → 1 min, …, `7` → 24 h, `8` and more →
    /// `None`, the delivery has failed for good.
    pub fn next_attempt_delay(&self, attempts_made: u32) -> Option<Duration> {
        let step = match attempts_made.checked_sub(1) {
            None => return Some(Duration::ZERO),
            Some(step) => usize::try_from(step).ok()?,
        };
        let base = RETRY_LADDER.get(step)?;
        // Whole nanoseconds: 60 s × 0.001 is exactly 60 ms, not 59.999999 ms.
        let nanos = (base.as_nanos() as f64 * self.scale).round();
        Some(if nanos >= u64::MAX as f64 {
            Duration::MAX
        } else {
            Duration::from_nanos(nanos as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_ladder() {
        let minutes: Vec<Option<u64>> = (0..=9)
            .map(|n| next_attempt_delay(n).map(|d| d.as_secs() / 60))
            .collect();
        assert_eq!(
            minutes,
            [
                Some(0),
                Some(1),
                Some(5),
                Some(30),
                Some(120),
                Some(360),
                Some(720),
                Some(1440),
                None,
                None
            ]
        );
        assert_eq!(next_attempt_delay(u32::MAX), None);
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn scaled_ladder() {
        let fast = RetryPolicy::scaled(0.001).unwrap();
        let millis: Vec<u128> = (1..MAX_ATTEMPTS)
            .filter_map(|n| fast.next_attempt_delay(n))
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(millis, [60, 300, 1_800, 7_200, 21_600, 43_200, 86_400]);
        let zero = RetryPolicy::scaled(0.0).unwrap();
        assert_eq!(zero.next_attempt_delay(3), Some(Duration::ZERO));
        assert_eq!(zero.next_attempt_delay(8), None);
        let huge = RetryPolicy::scaled(1e300).unwrap();
        assert_eq!(huge.next_attempt_delay(1), Some(Duration::MAX));
        assert!(RetryPolicy::scaled(f64::NAN).is_err());
        assert!(RetryPolicy::scaled(f64::INFINITY).is_err());
        assert_eq!(RetryPolicy::default(), RetryPolicy::PRODUCTION);
    }
}
