//! The TARGET2 (T2) business-day calendar that SEPA Direct Debit collection dates follow.
//!
//! T2 is closed on Saturdays and Sundays, New Year's Day (1 January), Good Friday, Easter Monday,
//! Labour Day (1 May), Christmas Day (25 December) and 26 December. Easter is computed with the
//! Anonymous Gregorian algorithm (Meeus/Jones/Butcher), so the calendar has no year limit.
//!
//! ```
//! use catalyst_sepa::calendar::{easter_sunday, is_business_day, next_business_day};
//! use chrono::NaiveDate;
//!
//! let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
//! assert_eq!(easter_sunday(2027), d(2027, 3, 28));
//! assert!(!is_business_day(d(2027, 3, 26))); // Good Friday
//! assert!(!is_business_day(d(2027, 3, 29))); // Easter Monday
//! assert_eq!(next_business_day(d(2027, 3, 25)), d(2027, 3, 30));
//! ```

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of `year` in the Gregorian calendar.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction of the algorithm.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

/// Whether T2 settles on `date` (not a weekend, not one of the six T2 holidays).
pub fn is_business_day(date: NaiveDate) -> bool {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (12, 25) | (12, 26)
    );
    if fixed {
        return false;
    }
    let easter = easter_sunday(date.year());
    let good_friday = easter.checked_sub_days(Days::new(2));
    let easter_monday = easter.checked_add_days(Days::new(1));
    Some(date) != good_friday && Some(date) != easter_monday
}

/// The first T2 business day strictly after `date`.
pub fn next_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    loop {
        d = match d.succ_opt() {
            Some(next) => next,
            None => return d,
        };
        if is_business_day(d) {
            return d;
        }
    }
}

/// Whether `collection` is at least one T2 business day after `today` (the earliest date a
/// collection handed in on `today` may carry), and itself a business day.
pub fn is_valid_collection_date(today: NaiveDate, collection: NaiveDate) -> bool {
    is_business_day(collection) && collection >= next_business_day(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_matches_known_dates() {
        for (y, m, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2000, 4, 23),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), d(y, m, day), "{y}");
        }
    }

    #[test]
    fn holidays_and_weekends_are_closed() {
        for date in [
            d(2026, 1, 1),
            d(2026, 4, 3),
            d(2026, 4, 6),
            d(2026, 5, 1),
            d(2026, 12, 25),
            d(2026, 12, 26),
            d(2026, 12, 5),
            d(2026, 12, 6),
        ] {
            assert!(!is_business_day(date), "{date}");
        }
        assert!(is_business_day(d(2026, 12, 4)));
        assert!(is_business_day(d(2026, 4, 2)));
        assert!(is_business_day(d(2026, 12, 24)));
    }

    #[test]
    fn collection_date_needs_one_business_day() {
        let fri = d(2026, 12, 4);
        assert_eq!(next_business_day(fri), d(2026, 12, 7));
        assert!(!is_valid_collection_date(fri, fri));
        assert!(!is_valid_collection_date(fri, d(2026, 12, 5)));
        assert!(is_valid_collection_date(fri, d(2026, 12, 7)));
        // Christmas: Thu 24 Dec -> Mon 28 Dec.
        assert_eq!(next_business_day(d(2026, 12, 24)), d(2026, 12, 28));
    }
}
