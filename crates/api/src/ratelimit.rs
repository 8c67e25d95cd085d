//! Token-bucket rate limiting per key (an IP address or an API key id), in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Where a limiter reads the time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The monotonic system clock.
    #[default]
    System,
    /// Always this instant: tests that must not depend on how fast requests arrive.
    Fixed(Instant),
}

impl Clock {
    /// The time now, by this clock.
    pub fn now(self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// A token bucket per key: `rate` tokens per second, at most `burst` stored.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    clock: Clock,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `rate` requests per second with bursts of `burst`.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self::with_clock(rate, burst, Clock::System)
    }

    /// [`RateLimiter::new`] reading the time from `clock`.
    pub fn with_clock(rate: f64, burst: f64, clock: Clock) -> Self {
        Self {
            rate,
            burst: burst.max(1.0),
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`; `Err(seconds)` to wait when none is left.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            Err(((1.0 - refilled) / self.rate).ceil().max(1.0) as u64)
        }
    }

    /// Takes one token for `key` now, by the limiter's clock.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, self.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(1.0, 10.0);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.check_at("1.2.3.4", t0), Ok(()));
        }
        assert_eq!(limiter.check_at("1.2.3.4", t0), Err(1));
        assert_eq!(
            limiter.check_at("5.6.7.8", t0),
            Ok(()),
            "keys are independent"
        );
        assert_eq!(
            limiter.check_at("1.2.3.4", t0 + Duration::from_millis(1100)),
            Ok(())
        );
        assert_eq!(
            limiter.check_at("1.2.3.4", t0 + Duration::from_millis(1200)),
            Err(1)
        );
    }

    #[test]
    fn fifty_per_second_allows_fifty_then_throttles() {
        let limiter = RateLimiter::new(50.0, 50.0);
        let t0 = Instant::now();
        assert!((0..50).all(|_| limiter.check_at("key", t0).is_ok()));
        assert!(limiter.check_at("key", t0).is_err());
        assert!(
            limiter
                .check_at("key", t0 + Duration::from_millis(25))
                .is_ok()
        );
    }
}
