//! Property tests for the status state machines, against tables written out independently
//! of the implementation (from API.md §3.8 and the design brief).

use std::str::FromStr;

use catalyst_domain::{OrderStatus, SessionStatus, SubscriptionStatus, TransitionError};
use proptest::prelude::*;

const SESSION: &[(&str, &str)] = &[
    ("PENDING", "PAYMENT_IN_PROGRESS"),
    ("PENDING", "EXPIRED"),
    ("PAYMENT_IN_PROGRESS", "COMPLETED"),
    ("PAYMENT_IN_PROGRESS", "AWAITING_VERIFICATION"),
    ("PAYMENT_IN_PROGRESS", "PENDING"),
    ("PAYMENT_IN_PROGRESS", "FAILED"),
    ("AWAITING_VERIFICATION", "COMPLETED"),
    ("AWAITING_VERIFICATION", "PENDING"),
    ("AWAITING_VERIFICATION", "FAILED"),
    ("AWAITING_VERIFICATION", "EXPIRED"),
];
const SESSION_TERMINAL: &[&str] = &["COMPLETED", "FAILED", "EXPIRED"];

const ORDER: &[(&str, &str)] = &[
    ("PENDING_PAYMENT_SUBMISSION", "PENDING"),
    ("PENDING_PAYMENT_SUBMISSION", "COMPLETED"),
    ("PENDING_PAYMENT_SUBMISSION", "FAILED"),
    ("PENDING_PAYMENT_SUBMISSION", "CANCELLED"),
    ("PENDING", "COMPLETED"),
    ("PENDING", "FAILED"),
    ("PENDING", "CANCELLED"),
    ("COMPLETED", "PARTIALLY_REFUNDED"),
    ("COMPLETED", "REFUNDED"),
    ("COMPLETED", "CHARGEDBACK"),
    ("PARTIALLY_REFUNDED", "REFUNDED"),
    ("PARTIALLY_REFUNDED", "CHARGEDBACK"),
    ("PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED"),
];
const ORDER_TERMINAL: &[&str] = &["FAILED", "REFUNDED", "CHARGEDBACK", "CANCELLED"];

const SUBSCRIPTION: &[(&str, &str)] = &[
    ("PENDING_ACTIVATION", "ACTIVE"),
    ("PENDING_ACTIVATION", "FAILED"),
    ("PENDING_ACTIVATION", "CANCELLED"),
    ("ACTIVE", "PENDING"),
    ("ACTIVE", "PAST_DUE"),
    ("ACTIVE", "PAUSED"),
    ("ACTIVE", "CANCELLED"),
    ("ACTIVE", "EXPIRED"),
    ("ACTIVE", "CHARGEDBACK"),
    ("PENDING", "ACTIVE"),
    ("PENDING", "PAST_DUE"),
    ("PENDING", "FAILED"),
    ("PENDING", "CANCELLED"),
    ("PENDING", "CHARGEDBACK"),
    ("PAST_DUE", "ACTIVE"),
    ("PAST_DUE", "PAUSED"),
    ("PAST_DUE", "CANCELLED"),
    ("PAST_DUE", "FAILED"),
    ("PAST_DUE", "CHARGEDBACK"),
    ("PAUSED", "ACTIVE"),
    ("PAUSED", "CANCELLED"),
];
const SUBSCRIPTION_TERMINAL: &[&str] = &["CANCELLED", "EXPIRED", "CHARGEDBACK", "FAILED"];

/// What every status enum offers, so one set of checks covers all three machines.
trait Machine:
    Copy + Eq + std::fmt::Debug + FromStr + serde::Serialize + serde::de::DeserializeOwned + 'static
{
    const NAME: &'static str;
    fn all() -> &'static [Self];
    fn string(self) -> &'static str;
    fn terminal(self) -> bool;
    fn can(self, next: Self) -> bool;
    fn go(self, next: Self) -> Result<Self, TransitionError>;
}

macro_rules! machine {
    ($t:ty, $name:literal) => {
        impl Machine for $t {
            const NAME: &'static str = $name;
            fn all() -> &'static [Self] {
                <$t>::ALL
            }
            fn string(self) -> &'static str {
                self.as_str()
            }
            fn terminal(self) -> bool {
                self.is_terminal()
            }
            fn can(self, next: Self) -> bool {
                self.can_transition_to(next)
            }
            fn go(self, next: Self) -> Result<Self, TransitionError> {
                self.transition_to(next)
            }
        }
    };
}
machine!(SessionStatus, "session");
machine!(OrderStatus, "order");
machine!(SubscriptionStatus, "subscription");

fn check_pair<M: Machine>(from: M, to: M, table: &[(&str, &str)]) -> Result<(), TestCaseError> {
    let expected = table.contains(&(from.string(), to.string()));
    prop_assert_eq!(from.can(to), expected, "{:?} -> {:?}", from, to);
    match from.go(to) {
        Ok(next) => {
            prop_assert!(expected, "{:?} -> {:?} allowed", from, to);
            prop_assert_eq!(next, to);
        }
        Err(e) => {
            prop_assert!(!expected, "{:?} -> {:?} refused", from, to);
            prop_assert_eq!(
                e,
                TransitionError {
                    machine: M::NAME,
                    from: from.string(),
                    to: to.string()
                }
            );
        }
    }
    Ok(())
}

fn check_machine<M: Machine>(
    table: &[(&str, &str)],
    terminal: &[&str],
) -> Result<(), TestCaseError> {
    // every table entry names real statuses (catches typos in either side)
    for (a, b) in table {
        prop_assert!(M::all().iter().any(|s| s.string() == *a), "{}", a);
        prop_assert!(M::all().iter().any(|s| s.string() == *b), "{}", b);
    }
    for &from in M::all() {
        for &to in M::all() {
            check_pair(from, to, table)?;
        }
        let outgoing = M::all().iter().filter(|&&to| from.can(to)).count();
        prop_assert_eq!(
            from.terminal(),
            terminal.contains(&from.string()),
            "{:?}",
            from
        );
        prop_assert_eq!(
            from.terminal(),
            outgoing == 0,
            "{:?} terminal vs outgoing",
            from
        );
        // string round trips
        prop_assert_eq!(M::from_str(from.string()).ok(), Some(from));
        let json = serde_json::to_value(from).unwrap();
        prop_assert_eq!(json.as_str(), Some(from.string()));
        prop_assert_eq!(serde_json::from_value::<M>(json).ok(), Some(from));
        // API strings are SCREAMING_SNAKE_CASE
        prop_assert!(
            from.string()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_')
        );
        prop_assert!(M::from_str(&from.string().to_lowercase()).is_err());
    }
    Ok(())
}

#[test]
fn session_machine_exhaustive() {
    check_machine::<SessionStatus>(SESSION, SESSION_TERMINAL).unwrap();
}

#[test]
fn order_machine_exhaustive() {
    check_machine::<OrderStatus>(ORDER, ORDER_TERMINAL).unwrap();
}

#[test]
fn subscription_machine_exhaustive() {
    check_machine::<SubscriptionStatus>(SUBSCRIPTION, SUBSCRIPTION_TERMINAL).unwrap();
}

proptest! {
    #[test]
    fn session_pairs(from in prop::sample::select(SessionStatus::ALL), to in prop::sample::select(SessionStatus::ALL)) {
        check_pair(from, to, SESSION)?;
    }

    #[test]
    fn order_pairs(from in prop::sample::select(OrderStatus::ALL), to in prop::sample::select(OrderStatus::ALL)) {
        check_pair(from, to, ORDER)?;
    }

    #[test]
    fn subscription_pairs(from in prop::sample::select(SubscriptionStatus::ALL), to in prop::sample::select(SubscriptionStatus::ALL)) {
        check_pair(from, to, SUBSCRIPTION)?;
    }

    /// Walking any sequence of requested moves never leaves a terminal state.
    #[test]
    fn terminal_states_absorb(moves in prop::collection::vec(prop::sample::select(SessionStatus::ALL), 0..30)) {
        let mut s = SessionStatus::Pending;
        for next in moves {
            let was_terminal = s.is_terminal();
            match s.transition_to(next) {
                Ok(n) => { prop_assert!(!was_terminal); s = n; }
                Err(_) => prop_assert!(!s.can_transition_to(next)),
            }
        }
    }

    #[test]
    fn unknown_strings_are_refused(s in "[A-Za-z_]{0,30}") {
        let known = SessionStatus::ALL.iter().any(|x| x.as_str() == s);
        prop_assert_eq!(s.parse::<SessionStatus>().is_ok(), known);
        let known = OrderStatus::ALL.iter().any(|x| x.as_str() == s);
        prop_assert_eq!(s.parse::<OrderStatus>().is_ok(), known);
        let known = SubscriptionStatus::ALL.iter().any(|x| x.as_str() == s);
        prop_assert_eq!(s.parse::<SubscriptionStatus>().is_ok(), known);
    }
}
