//! The schedule around a renewal: when a declined one is retried (the dunning ladder) and when
//! the payer is told of the next collection (SEPA pre-notification).

use std::fmt;

use chrono::{Days, NaiveDate};

/// Days before a collection the `subscription.upcoming` event goes out, unless the campaign
/// says otherwise. The SEPA rulebook's default is 14 days "unless otherwise agreed"; merchants'
/// terms commonly agree on less, and 5 keeps a monthly plan's notice inside its period.
pub const DEFAULT_NOTICE_DAYS: u32 = 5;

/// Longest notice a campaign may set.
pub const MAX_NOTICE_DAYS: u32 = 60;

/// The waits, in days, before each retry of a declined renewal: `3,5,7` retries 3 days after
/// the first decline, 5 days after the second and 7 days after the third; a fourth decline
/// ends the subscription.
///
/// ```
/// use catalyst_domain::dunning::DunningLadder;
/// let ladder: DunningLadder = "3,5,7".parse().unwrap();
/// assert_eq!(ladder.wait_after(1), Some(3));
/// assert_eq!(ladder.wait_after(3), Some(7));
/// assert_eq!(ladder.wait_after(4), None);
/// assert!("0,5".parse::<DunningLadder>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningLadder(Vec<u32>);

/// Most retries a ladder may hold.
pub const MAX_RETRIES: usize = 10;
/// Longest wait before one retry.
pub const MAX_WAIT_DAYS: u32 = 60;

impl Default for DunningLadder {
    fn default() -> Self {
        DunningLadder(vec![3, 5, 7])
    }
}

impl DunningLadder {
    /// A ladder of these waits (each 1–60 days, at most 10; an empty ladder never retries).
    pub fn new(waits: Vec<u32>) -> Result<Self, String> {
        if waits.len() > MAX_RETRIES {
            return Err(format!("At most {MAX_RETRIES} retries."));
        }
        if waits.iter().any(|d| !(1..=MAX_WAIT_DAYS).contains(d)) {
            return Err(format!("Each wait is 1 to {MAX_WAIT_DAYS} days."));
        }
        Ok(DunningLadder(waits))
    }

    /// The waits in days.
    pub fn waits(&self) -> &[u32] {
        &self.0
    }

    /// The wait before the retry that follows the `failures`-th declined collection of a
    /// period (1-based); `None` when the ladder is exhausted.
    pub fn wait_after(&self, failures: u32) -> Option<u32> {
        let index = usize::try_from(failures.checked_sub(1)?).ok()?;
        self.0.get(index).copied()
    }

    /// The retry date after the `failures`-th decline on `declined_on`; `None` when exhausted.
    pub fn retry_on(&self, declined_on: NaiveDate, failures: u32) -> Option<NaiveDate> {
        let wait = self.wait_after(failures)?;
        declined_on.checked_add_days(Days::new(u64::from(wait)))
    }
}

impl std::str::FromStr for DunningLadder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return DunningLadder::new(Vec::new());
        }
        let waits = s
            .split(',')
            .map(|d| d.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "Enter whole numbers of days separated by commas.".to_owned())?;
        DunningLadder::new(waits)
    }
}

impl fmt::Display for DunningLadder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for d in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
            first = false;
        }
        Ok(())
    }
}

/// The day the `subscription.upcoming` event for a collection on `collect_on` is due: `days`
/// before it, but never before `today` (a notice that is late is still sent at once).
pub fn notice_on(collect_on: NaiveDate, days: u32, today: NaiveDate) -> NaiveDate {
    collect_on
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
        .max(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ladder_round_trips_and_rejects_bad_waits() {
        let l: DunningLadder = " 3, 5,7 ".parse().unwrap();
        assert_eq!(l.to_string(), "3,5,7");
        assert_eq!(l, DunningLadder::default());
        assert_eq!("".parse::<DunningLadder>().unwrap().wait_after(1), None);
        for bad in ["0", "61", "a", "3,,5", "1,1,1,1,1,1,1,1,1,1,1"] {
            assert!(bad.parse::<DunningLadder>().is_err(), "{bad}");
        }
    }

    #[test]
    fn retries_follow_the_ladder_then_stop() {
        let l = DunningLadder::default();
        assert_eq!(l.wait_after(0), None);
        assert_eq!(l.retry_on(d("2027-01-31"), 1), Some(d("2027-02-03")));
        assert_eq!(l.retry_on(d("2027-02-03"), 2), Some(d("2027-02-08")));
        assert_eq!(l.retry_on(d("2027-02-08"), 3), Some(d("2027-02-15")));
        assert_eq!(l.retry_on(d("2027-02-15"), 4), None);
    }

    #[test]
    fn notice_is_days_before_but_never_in_the_past() {
        assert_eq!(
            notice_on(d("2027-03-10"), 5, d("2027-01-01")),
            d("2027-03-05")
        );
        assert_eq!(
            notice_on(d("2027-03-10"), 5, d("2027-03-08")),
            d("2027-03-08")
        );
        assert_eq!(
            notice_on(d("2027-03-10"), 0, d("2027-01-01")),
            d("2027-03-10")
        );
    }
}
