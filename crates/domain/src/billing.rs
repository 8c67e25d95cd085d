//! Billing: one-off or recurring pricing, frequencies, trials and date arithmetic.

use chrono::{Days, Months, NaiveDate};

use crate::macros::string_enum;
use crate::money::Money;
use crate::validation::{ValidationErrors, messages};

string_enum! {
    /// How an offer is charged.
    pub enum BillingType {
        /// One debit.
        OneOff => "ONE_OFF",
        /// A subscription debited every `billing_frequency`.
        Recurring => "RECURRING",
        /// A trial at `trial_price`, then a subscription.
        TrialRecurring => "TRIAL_RECURRING",
    }
}

impl BillingType {
    /// Lower-case form for the session GET `offer.billing_type` (`"one_off"`, …).
    pub const fn as_lower(self) -> &'static str {
        match self {
            BillingType::OneOff => "one_off",
            BillingType::Recurring => "recurring",
            BillingType::TrialRecurring => "trial_recurring",
        }
    }

    /// True for `RECURRING` and `TRIAL_RECURRING` (a billing frequency is needed).
    pub const fn is_recurring(self) -> bool {
        !matches!(self, BillingType::OneOff)
    }

    /// True for `TRIAL_RECURRING` (the trial fields are needed).
    pub const fn has_trial(self) -> bool {
        matches!(self, BillingType::TrialRecurring)
    }
}

string_enum! {
    /// The interval between recurring debits.
    pub enum BillingFrequency {
        /// Every 7 days.
        Weekly => "WEEKLY",
        /// Every 14 days.
        Biweekly => "BIWEEKLY",
        /// Every calendar month.
        Monthly => "MONTHLY",
        /// Every 3 months.
        Quarterly => "QUARTERLY",
        /// Every 6 months.
        Semiannually => "SEMIANNUALLY",
        /// Every 12 months.
        Yearly => "YEARLY",
    }
}

/// One billing period as days or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Days(u64),
    Months(u32),
}

fn add_steps(date: NaiveDate, step: Step, n: u32) -> Option<NaiveDate> {
    match step {
        Step::Days(d) => date.checked_add_days(Days::new(d.checked_mul(u64::from(n))?)),
        Step::Months(m) => date.checked_add_months(Months::new(m.checked_mul(n)?)),
    }
}

impl BillingFrequency {
    fn step(self) -> Step {
        match self {
            BillingFrequency::Weekly => Step::Days(7),
            BillingFrequency::Biweekly => Step::Days(14),
            BillingFrequency::Monthly => Step::Months(1),
            BillingFrequency::Quarterly => Step::Months(3),
            BillingFrequency::Semiannually => Step::Months(6),
            BillingFrequency::Yearly => Step::Months(12),
        }
    }

    /// `date` plus one period; month-based periods clamp to the month's end (Jan 31 + 1 month =
    /// Feb 28/29). `None` past chrono's last date.
    pub fn checked_add_to(self, date: NaiveDate) -> Option<NaiveDate> {
        add_steps(date, self.step(), 1)
    }

    /// `date` plus one period (see [`checked_add_to`](Self::checked_add_to)); saturates at
    /// `NaiveDate::MAX` instead of failing.
    pub fn add_to(self, date: NaiveDate) -> NaiveDate {
        self.checked_add_to(date).unwrap_or(NaiveDate::MAX)
    }

    /// The `n`-th billing date counted from `anchor` (`anchor` + n periods, computed from the
    /// anchor so month-end clamping does not drift: Jan 31 → Feb 28 → Mar 31). Saturates at
    /// `NaiveDate::MAX`.
    pub fn nth_after(self, anchor: NaiveDate, n: u32) -> NaiveDate {
        add_steps(anchor, self.step(), n).unwrap_or(NaiveDate::MAX)
    }

    /// The first billing date on or after `today` among periods `from`, `from + 1`, … counted
    /// from `anchor` ([`nth_after`](Self::nth_after)), with its period number. Resuming a paused
    /// subscription uses it: the periods whose dates passed meanwhile are skipped, not collected.
    pub fn first_on_or_after(
        self,
        anchor: NaiveDate,
        from: u32,
        today: NaiveDate,
    ) -> (u32, NaiveDate) {
        let mut n = from;
        loop {
            let date = self.nth_after(anchor, n);
            if date >= today || n == u32::MAX {
                return (n, date);
            }
            n += 1;
        }
    }
}

string_enum! {
    /// The unit of a trial's length.
    pub enum TrialIntervalUnit {
        /// Days.
        Day => "day",
        /// Weeks (7 days).
        Week => "week",
        /// Calendar months (clamped to month end).
        Month => "month",
    }
}

impl TrialIntervalUnit {
    /// `date` plus `n` units; saturates at `NaiveDate::MAX`.
    pub fn add_to(self, date: NaiveDate, n: u32) -> NaiveDate {
        let step = match self {
            TrialIntervalUnit::Day => Step::Days(1),
            TrialIntervalUnit::Week => Step::Days(7),
            TrialIntervalUnit::Month => Step::Months(1),
        };
        add_steps(date, step, n).unwrap_or(NaiveDate::MAX)
    }
}

/// A trial: `period` × `unit` at `price` before the regular amount applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trial {
    /// Length in `unit`s (≥ 1).
    pub period: u32,
    /// Unit of `period`.
    pub unit: TrialIntervalUnit,
    /// Price of the trial (may be zero).
    pub price: Money,
}

impl Trial {
    /// The day the trial ends (and the first regular debit is due) for a trial starting `start`.
    pub fn end_date(&self, start: NaiveDate) -> NaiveDate {
        self.unit.add_to(start, self.period)
    }
}

/// The raw pricing fields, as sent or stored, for [`Pricing::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricingInput {
    /// Regular amount.
    pub amount: Money,
    /// Billing type.
    pub billing_type: BillingType,
    /// Required when recurring, refused for `ONE_OFF`.
    pub billing_frequency: Option<BillingFrequency>,
    /// Required (≥ 1) with `TRIAL_RECURRING`, refused otherwise.
    pub trial_period: Option<u32>,
    /// Required with `TRIAL_RECURRING`, refused otherwise.
    pub trial_interval_unit: Option<TrialIntervalUnit>,
    /// Required with `TRIAL_RECURRING` (zero allowed), refused otherwise; same currency as
    /// `amount`.
    pub trial_price: Option<Money>,
}

/// A validated pricing combination: a frequency exactly when recurring, a trial exactly when
/// `TRIAL_RECURRING`. Whether the amount may be zero is the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    amount: Money,
    billing_type: BillingType,
    billing_frequency: Option<BillingFrequency>,
    trial: Option<Trial>,
}

/// "This field is required when billing_type is X."
fn required_for(bt: BillingType) -> String {
    format!("This field is required when billing_type is {bt}.")
}

/// "This field is not allowed when billing_type is X."
fn refused_for(bt: BillingType) -> String {
    format!("This field is not allowed when billing_type is {bt}.")
}

impl Pricing {
    /// Checks the combination. Errors are keyed by API field (`billing_frequency`,
    /// `trial_period`, `trial_interval_unit`, `trial_price`).
    pub fn validate(input: PricingInput) -> Result<Pricing, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let bt = input.billing_type;

        let billing_frequency = match (bt.is_recurring(), input.billing_frequency) {
            (true, None) => {
                errors.add("billing_frequency", required_for(bt));
                None
            }
            (false, Some(_)) => {
                errors.add("billing_frequency", refused_for(bt));
                None
            }
            (_, f) => f,
        };

        let mut trial = None;
        if bt.has_trial() {
            if input.trial_period.is_none() {
                errors.add("trial_period", required_for(bt));
            }
            if input.trial_period == Some(0) {
                errors.add("trial_period", messages::min_value(1));
            }
            if input.trial_interval_unit.is_none() {
                errors.add("trial_interval_unit", required_for(bt));
            }
            match input.trial_price {
                None => errors.add("trial_price", required_for(bt)),
                Some(p) if p.currency() != input.amount.currency() => {
                    errors.add("trial_price", "Must be in the same currency as the amount.");
                }
                Some(_) => {}
            }
            if let (Some(period @ 1..), Some(unit), Some(price)) = (
                input.trial_period,
                input.trial_interval_unit,
                input.trial_price,
            ) {
                trial = Some(Trial {
                    period,
                    unit,
                    price,
                });
            }
        } else {
            for (field, sent) in [
                ("trial_period", input.trial_period.is_some()),
                ("trial_interval_unit", input.trial_interval_unit.is_some()),
                ("trial_price", input.trial_price.is_some()),
            ] {
                if sent {
                    errors.add(field, refused_for(bt));
                }
            }
        }

        errors.into_result(Pricing {
            amount: input.amount,
            billing_type: bt,
            billing_frequency,
            trial,
        })
    }

    /// A one-off price.
    pub const fn one_off(amount: Money) -> Pricing {
        Pricing {
            amount,
            billing_type: BillingType::OneOff,
            billing_frequency: None,
            trial: None,
        }
    }

    /// A recurring price without trial.
    pub const fn recurring(amount: Money, frequency: BillingFrequency) -> Pricing {
        Pricing {
            amount,
            billing_type: BillingType::Recurring,
            billing_frequency: Some(frequency),
            trial: None,
        }
    }

    /// The regular amount.
    pub const fn amount(&self) -> Money {
        self.amount
    }

    /// The billing type.
    pub const fn billing_type(&self) -> BillingType {
        self.billing_type
    }

    /// The frequency (`Some` exactly when recurring).
    pub const fn billing_frequency(&self) -> Option<BillingFrequency> {
        self.billing_frequency
    }

    /// The trial (`Some` exactly for `TRIAL_RECURRING`).
    pub const fn trial(&self) -> Option<Trial> {
        self.trial
    }

    /// True when a subscription follows the first debit.
    pub const fn is_recurring(&self) -> bool {
        self.billing_type.is_recurring()
    }

    /// What the first debit collects: the trial price with a trial, else the amount.
    pub fn initial_amount(&self) -> Money {
        self.trial.map_or(self.amount, |t| t.price)
    }

    /// The date of the first regular debit after a first debit on `start`: the trial's end with
    /// a trial, `start` + one period when recurring, `None` for one-off.
    pub fn next_billing_date(&self, start: NaiveDate) -> Option<NaiveDate> {
        match (self.trial, self.billing_frequency) {
            (Some(trial), _) => Some(trial.end_date(start)),
            (None, Some(f)) => Some(f.add_to(start)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn first_on_or_after_skips_past_periods_and_keeps_month_ends() {
        let m = BillingFrequency::Monthly;
        // Anchored on Jan 31: the dates stay on month ends.
        assert_eq!(
            m.first_on_or_after(d(2027, 1, 31), 1, d(2027, 4, 10)),
            (3, d(2027, 4, 30))
        );
        assert_eq!(
            m.first_on_or_after(d(2027, 1, 31), 1, d(2027, 2, 28)),
            (1, d(2027, 2, 28))
        );
        assert_eq!(
            m.first_on_or_after(d(2027, 1, 31), 1, d(2027, 3, 1)),
            (2, d(2027, 3, 31))
        );
        // A period already billed is never offered again, even when its date is today.
        assert_eq!(
            m.first_on_or_after(d(2027, 1, 15), 2, d(2027, 1, 15)),
            (2, d(2027, 3, 15))
        );
        let w = BillingFrequency::Weekly;
        assert_eq!(
            w.first_on_or_after(d(2027, 1, 1), 0, d(2027, 1, 16)),
            (3, d(2027, 1, 22))
        );
        assert_eq!(
            w.first_on_or_after(d(2027, 1, 1), 0, d(2027, 1, 15)),
            (2, d(2027, 1, 15))
        );
    }

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR).unwrap()
    }

    fn input(bt: BillingType) -> PricingInput {
        PricingInput {
            amount: eur(2999),
            billing_type: bt,
            billing_frequency: None,
            trial_period: None,
            trial_interval_unit: None,
            trial_price: None,
        }
    }

    fn trial_input() -> PricingInput {
        PricingInput {
            billing_frequency: Some(BillingFrequency::Monthly),
            trial_period: Some(14),
            trial_interval_unit: Some(TrialIntervalUnit::Day),
            trial_price: Some(eur(0)),
            ..input(BillingType::TrialRecurring)
        }
    }

    #[test]
    fn billing_type_strings() {
        assert_eq!(BillingType::OneOff.as_str(), "ONE_OFF");
        assert_eq!(BillingType::TrialRecurring.as_str(), "TRIAL_RECURRING");
        assert_eq!(BillingType::OneOff.as_lower(), "one_off");
        assert_eq!(BillingType::Recurring.as_lower(), "recurring");
        assert_eq!(BillingType::TrialRecurring.as_lower(), "trial_recurring");
        assert_eq!(
            "RECURRING".parse::<BillingType>(),
            Ok(BillingType::Recurring)
        );
        assert!("recurring".parse::<BillingType>().is_err());
        assert!(!BillingType::OneOff.is_recurring());
        assert!(
            BillingType::TrialRecurring.is_recurring() && BillingType::TrialRecurring.has_trial()
        );
        assert!(!BillingType::Recurring.has_trial());
    }

    #[test]
    fn frequency_and_unit_strings() {
        let all: Vec<_> = BillingFrequency::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            all,
            [
                "WEEKLY",
                "BIWEEKLY",
                "MONTHLY",
                "QUARTERLY",
                "SEMIANNUALLY",
                "YEARLY"
            ]
        );
        assert_eq!(
            "day".parse::<TrialIntervalUnit>(),
            Ok(TrialIntervalUnit::Day)
        );
        assert_eq!(TrialIntervalUnit::Month.as_str(), "month");
        assert!("DAY".parse::<TrialIntervalUnit>().is_err());
    }

    #[test]
    fn add_to_each_frequency() {
        let start = d(2026, 1, 15);
        assert_eq!(BillingFrequency::Weekly.add_to(start), d(2026, 1, 22));
        assert_eq!(BillingFrequency::Biweekly.add_to(start), d(2026, 1, 29));
        assert_eq!(BillingFrequency::Monthly.add_to(start), d(2026, 2, 15));
        assert_eq!(BillingFrequency::Quarterly.add_to(start), d(2026, 4, 15));
        assert_eq!(BillingFrequency::Semiannually.add_to(start), d(2026, 7, 15));
        assert_eq!(BillingFrequency::Yearly.add_to(start), d(2027, 1, 15));
    }

    #[test]
    fn month_ends_clamp() {
        assert_eq!(
            BillingFrequency::Monthly.add_to(d(2026, 1, 31)),
            d(2026, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Monthly.add_to(d(2028, 1, 31)),
            d(2028, 2, 29)
        );
        assert_eq!(
            BillingFrequency::Quarterly.add_to(d(2026, 11, 30)),
            d(2027, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Yearly.add_to(d(2028, 2, 29)),
            d(2029, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Semiannually.add_to(d(2026, 8, 31)),
            d(2027, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Weekly.add_to(d(2026, 12, 28)),
            d(2027, 1, 4)
        );
    }

    #[test]
    fn nth_after_does_not_drift() {
        let anchor = d(2026, 1, 31);
        assert_eq!(BillingFrequency::Monthly.nth_after(anchor, 0), anchor);
        assert_eq!(
            BillingFrequency::Monthly.nth_after(anchor, 1),
            d(2026, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Monthly.nth_after(anchor, 2),
            d(2026, 3, 31)
        );
        assert_eq!(
            BillingFrequency::Biweekly.nth_after(anchor, 2),
            d(2026, 2, 28)
        );
        assert_eq!(
            BillingFrequency::Yearly.nth_after(anchor, u32::MAX),
            NaiveDate::MAX
        );
    }

    #[test]
    fn add_to_saturates_instead_of_panicking() {
        assert_eq!(
            BillingFrequency::Monthly.add_to(NaiveDate::MAX),
            NaiveDate::MAX
        );
        assert_eq!(
            BillingFrequency::Weekly.checked_add_to(NaiveDate::MAX),
            None
        );
        assert_eq!(
            TrialIntervalUnit::Day.add_to(NaiveDate::MAX, 1),
            NaiveDate::MAX
        );
    }

    #[test]
    fn trial_units() {
        let start = d(2026, 1, 31);
        assert_eq!(TrialIntervalUnit::Day.add_to(start, 14), d(2026, 2, 14));
        assert_eq!(TrialIntervalUnit::Week.add_to(start, 2), d(2026, 2, 14));
        assert_eq!(TrialIntervalUnit::Month.add_to(start, 1), d(2026, 2, 28));
        let t = Trial {
            period: 7,
            unit: TrialIntervalUnit::Day,
            price: eur(100),
        };
        assert_eq!(t.end_date(d(2026, 3, 1)), d(2026, 3, 8));
    }

    #[test]
    fn one_off_valid_and_refuses_recurring_fields() {
        let p = Pricing::validate(input(BillingType::OneOff)).unwrap();
        assert_eq!(p, Pricing::one_off(eur(2999)));
        assert!(!p.is_recurring());
        assert_eq!(p.next_billing_date(d(2026, 1, 1)), None);
        assert_eq!(p.initial_amount(), eur(2999));

        let e = Pricing::validate(PricingInput {
            billing_frequency: Some(BillingFrequency::Monthly),
            trial_period: Some(3),
            trial_interval_unit: Some(TrialIntervalUnit::Week),
            trial_price: Some(eur(0)),
            ..input(BillingType::OneOff)
        })
        .unwrap_err();
        let refused = ["This field is not allowed when billing_type is ONE_OFF."];
        for f in [
            "billing_frequency",
            "trial_period",
            "trial_interval_unit",
            "trial_price",
        ] {
            assert_eq!(e.get(f).unwrap(), refused, "{f}");
        }
    }

    #[test]
    fn recurring_needs_frequency_and_refuses_trial() {
        let e = Pricing::validate(input(BillingType::Recurring)).unwrap_err();
        assert_eq!(
            e.get("billing_frequency").unwrap(),
            ["This field is required when billing_type is RECURRING."]
        );
        assert_eq!(e.len(), 1);

        let p = Pricing::validate(PricingInput {
            billing_frequency: Some(BillingFrequency::Monthly),
            ..input(BillingType::Recurring)
        })
        .unwrap();
        assert_eq!(p, Pricing::recurring(eur(2999), BillingFrequency::Monthly));
        assert_eq!(p.next_billing_date(d(2026, 1, 31)), Some(d(2026, 2, 28)));

        let e = Pricing::validate(PricingInput {
            billing_frequency: Some(BillingFrequency::Monthly),
            trial_price: Some(eur(0)),
            ..input(BillingType::Recurring)
        })
        .unwrap_err();
        assert_eq!(
            e.get("trial_price").unwrap(),
            ["This field is not allowed when billing_type is RECURRING."]
        );
    }

    #[test]
    fn trial_recurring_valid() {
        let p = Pricing::validate(trial_input()).unwrap();
        let t = p.trial().unwrap();
        assert_eq!(t.period, 14);
        assert_eq!(t.price, eur(0));
        assert_eq!(p.initial_amount(), eur(0));
        assert_eq!(p.amount(), eur(2999));
        assert_eq!(p.billing_frequency(), Some(BillingFrequency::Monthly));
        assert_eq!(p.billing_type(), BillingType::TrialRecurring);
        assert_eq!(p.next_billing_date(d(2026, 1, 1)), Some(d(2026, 1, 15)));
    }

    #[test]
    fn trial_recurring_requires_every_trial_field_and_frequency() {
        let e = Pricing::validate(input(BillingType::TrialRecurring)).unwrap_err();
        let required = ["This field is required when billing_type is TRIAL_RECURRING."];
        for f in [
            "billing_frequency",
            "trial_period",
            "trial_interval_unit",
            "trial_price",
        ] {
            assert_eq!(e.get(f).unwrap(), required, "{f}");
        }
        for (f, strip) in [
            (
                "trial_period",
                PricingInput {
                    trial_period: None,
                    ..trial_input()
                },
            ),
            (
                "trial_interval_unit",
                PricingInput {
                    trial_interval_unit: None,
                    ..trial_input()
                },
            ),
            (
                "trial_price",
                PricingInput {
                    trial_price: None,
                    ..trial_input()
                },
            ),
        ] {
            let e = Pricing::validate(strip).unwrap_err();
            assert_eq!(e.get(f).unwrap(), required, "{f}");
            assert_eq!(e.len(), 1);
        }
    }

    #[test]
    fn trial_period_zero_and_currency_mismatch() {
        let e = Pricing::validate(PricingInput {
            trial_period: Some(0),
            ..trial_input()
        })
        .unwrap_err();
        assert_eq!(
            e.get("trial_period").unwrap(),
            ["Ensure this value is greater than or equal to 1."]
        );
        let usd = Currency::parse("USD").unwrap();
        let e = Pricing::validate(PricingInput {
            trial_price: Some(Money::zero(usd)),
            ..trial_input()
        })
        .unwrap_err();
        assert_eq!(
            e.get("trial_price").unwrap(),
            ["Must be in the same currency as the amount."]
        );
    }
}
