//! Property tests for billing date arithmetic.

use catalyst_domain::{BillingFrequency, TrialIntervalUnit};
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

/// Any date from 1970-01-01 to 2200-12-31.
fn date() -> impl Strategy<Value = NaiveDate> {
    let start = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap();
    (0..=(end - start).num_days()).prop_map(move |d| start + chrono::Duration::days(d))
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn months_of(f: BillingFrequency) -> Option<i64> {
    match f {
        BillingFrequency::Weekly | BillingFrequency::Biweekly => None,
        BillingFrequency::Monthly => Some(1),
        BillingFrequency::Quarterly => Some(3),
        BillingFrequency::Semiannually => Some(6),
        BillingFrequency::Yearly => Some(12),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn add_to_is_later_and_well_shaped(d in date(), f in prop::sample::select(BillingFrequency::ALL)) {
        let next = f.add_to(d);
        prop_assert_eq!(f.checked_add_to(d), Some(next));
        prop_assert!(next > d);
        match months_of(f) {
            Some(n) => {
                prop_assert_eq!(month_index(next) - month_index(d), n);
                // never a later day of month than the start; only clamping makes it earlier
                prop_assert!(next.day() <= d.day());
                if next.day() < d.day() {
                    prop_assert!(next.succ_opt().unwrap().day() == 1, "clamped to month end");
                }
            }
            None => {
                let days = if f == BillingFrequency::Weekly { 7 } else { 14 };
                prop_assert_eq!((next - d).num_days(), days);
                prop_assert_eq!(next.weekday(), d.weekday());
            }
        }
    }

    #[test]
    fn nth_after_is_increasing_and_anchored(d in date(), f in prop::sample::select(BillingFrequency::ALL), n in 0u32..400) {
        let a = f.nth_after(d, n);
        let b = f.nth_after(d, n + 1);
        prop_assert!(b > a);
        prop_assert_eq!(f.nth_after(d, 0), d);
        prop_assert_eq!(f.nth_after(d, 1), f.add_to(d));
        if months_of(f).is_some() {
            // anchored: the day of month only differs from the anchor's by clamping
            prop_assert!(a.day() <= d.day());
        }
    }

    #[test]
    fn trial_units_add(d in date(), unit in prop::sample::select(TrialIntervalUnit::ALL), n in 0u32..1000) {
        let end = unit.add_to(d, n);
        match unit {
            TrialIntervalUnit::Day => prop_assert_eq!((end - d).num_days(), i64::from(n)),
            TrialIntervalUnit::Week => prop_assert_eq!((end - d).num_days(), 7 * i64::from(n)),
            TrialIntervalUnit::Month => {
                prop_assert_eq!(month_index(end) - month_index(d), i64::from(n));
                prop_assert!(end.day() <= d.day());
            }
        }
    }

    #[test]
    fn never_panics_on_extreme_inputs(f in prop::sample::select(BillingFrequency::ALL), n in any::<u32>()) {
        let _ = f.nth_after(NaiveDate::MAX, n);
        let _ = f.nth_after(NaiveDate::MIN, n);
        prop_assert_eq!(f.add_to(NaiveDate::MAX), NaiveDate::MAX);
        let _ = TrialIntervalUnit::Month.add_to(NaiveDate::MIN, n);
    }
}
