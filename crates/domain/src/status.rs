//! Status state machines of sessions, orders and subscriptions, and a customer's status.
//!
//! Each machine's transitions are one explicit `match` in `can_transition_to`; a status is
//! terminal exactly when it has no outgoing transition. Stored and sent as the API strings
//! (SCREAMING_SNAKE_CASE, API.md §3.8).

use crate::macros::string_enum;

/// A status change that the machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{machine} status cannot change from {from} to {to}")]
pub struct TransitionError {
    /// `"session"`, `"order"` or `"subscription"`.
    pub machine: &'static str,
    /// The current status (API string).
    pub from: &'static str,
    /// The refused target status (API string).
    pub to: &'static str,
}

string_enum! {
    /// A payment session's status.
    pub enum SessionStatus {
        /// Created, waiting for the customer to pay.
        Pending => "PENDING",
        /// A `/pay/` call claimed the session and is talking to the gateway.
        PaymentInProgress => "PAYMENT_IN_PROGRESS",
        /// The gateway asked for a verification step (`/verify/`).
        AwaitingVerification => "AWAITING_VERIFICATION",
        /// Paid (or mandate saved). Terminal.
        Completed => "COMPLETED",
        /// Declined with no attempts left. Terminal.
        Failed => "FAILED",
        /// Expired or cancelled. Terminal.
        Expired => "EXPIRED",
    }
}

impl SessionStatus {
    /// Allowed moves:
    ///
    /// | from | to |
    /// |---|---|
    /// | `PENDING` | `PAYMENT_IN_PROGRESS` (pay), `EXPIRED` (timeout/cancel) |
    /// | `PAYMENT_IN_PROGRESS` | `COMPLETED`, `AWAITING_VERIFICATION`, `PENDING` (declined, attempts left), `FAILED` |
    /// | `AWAITING_VERIFICATION` | `COMPLETED`, `PENDING` (verification failed, attempts left), `FAILED`, `EXPIRED` |
    /// | `COMPLETED`, `FAILED`, `EXPIRED` | — (terminal) |
    pub const fn can_transition_to(self, next: SessionStatus) -> bool {
        use SessionStatus::*;
        matches!(
            (self, next),
            (Pending, PaymentInProgress)
                | (Pending, Expired)
                | (PaymentInProgress, Completed)
                | (PaymentInProgress, AwaitingVerification)
                | (PaymentInProgress, Pending)
                | (PaymentInProgress, Failed)
                | (AwaitingVerification, Completed)
                | (AwaitingVerification, Pending)
                | (AwaitingVerification, Failed)
                | (AwaitingVerification, Expired)
        )
    }

    /// `COMPLETED`, `FAILED`, `EXPIRED`.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionStatus::Completed | SessionStatus::Failed | SessionStatus::Expired
        )
    }

    /// Only `PENDING` sessions can be paid.
    pub const fn is_payable(self) -> bool {
        matches!(self, SessionStatus::Pending)
    }

    /// `next` if the move is allowed, else a [`TransitionError`].
    pub fn transition_to(self, next: SessionStatus) -> Result<SessionStatus, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                machine: "session",
                from: self.as_str(),
                to: next.as_str(),
            })
        }
    }
}

string_enum! {
    /// An order's status.
    pub enum OrderStatus {
        /// Created with its session; no payment submitted yet.
        PendingPaymentSubmission => "PENDING_PAYMENT_SUBMISSION",
        /// Payment submitted, outcome not known yet.
        Pending => "PENDING",
        /// Paid.
        Completed => "COMPLETED",
        /// Payment failed. Terminal.
        Failed => "FAILED",
        /// Part of the amount refunded.
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        /// Fully refunded. Terminal.
        Refunded => "REFUNDED",
        /// Charged back. Terminal.
        Chargedback => "CHARGEDBACK",
        /// Cancelled before payment (e.g. session expired). Terminal.
        Cancelled => "CANCELLED",
    }
}

impl OrderStatus {
    /// Allowed moves:
    ///
    /// | from | to |
    /// |---|---|
    /// | `PENDING_PAYMENT_SUBMISSION` | `PENDING`, `COMPLETED`, `FAILED`, `CANCELLED` |
    /// | `PENDING` | `COMPLETED`, `FAILED`, `CANCELLED` |
    /// | `COMPLETED` | `PARTIALLY_REFUNDED`, `REFUNDED`, `CHARGEDBACK` |
    /// | `PARTIALLY_REFUNDED` | `PARTIALLY_REFUNDED` (another partial refund), `REFUNDED`, `CHARGEDBACK` |
    /// | `FAILED`, `REFUNDED`, `CHARGEDBACK`, `CANCELLED` | — (terminal) |
    pub const fn can_transition_to(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (PendingPaymentSubmission, Pending)
                | (PendingPaymentSubmission, Completed)
                | (PendingPaymentSubmission, Failed)
                | (PendingPaymentSubmission, Cancelled)
                | (Pending, Completed)
                | (Pending, Failed)
                | (Pending, Cancelled)
                | (Completed, PartiallyRefunded)
                | (Completed, Refunded)
                | (Completed, Chargedback)
                | (PartiallyRefunded, PartiallyRefunded)
                | (PartiallyRefunded, Refunded)
                | (PartiallyRefunded, Chargedback)
        )
    }

    /// `FAILED`, `REFUNDED`, `CHARGEDBACK`, `CANCELLED`.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Failed
                | OrderStatus::Refunded
                | OrderStatus::Chargedback
                | OrderStatus::Cancelled
        )
    }

    /// True once the order has been paid (completed, or later refunded/charged back).
    pub const fn was_paid(self) -> bool {
        matches!(
            self,
            OrderStatus::Completed
                | OrderStatus::PartiallyRefunded
                | OrderStatus::Refunded
                | OrderStatus::Chargedback
        )
    }

    /// `next` if the move is allowed, else a [`TransitionError`].
    pub fn transition_to(self, next: OrderStatus) -> Result<OrderStatus, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                machine: "order",
                from: self.as_str(),
                to: next.as_str(),
            })
        }
    }
}

string_enum! {
    /// A subscription's status.
    pub enum SubscriptionStatus {
        /// Created; waiting for the first debit to succeed.
        PendingActivation => "PENDING_ACTIVATION",
        /// Running.
        Active => "ACTIVE",
        /// A rebill is in flight.
        Pending => "PENDING",
        /// A rebill failed; retrying.
        PastDue => "PAST_DUE",
        /// Paused by the merchant.
        Paused => "PAUSED",
        /// Cancelled. Terminal.
        Cancelled => "CANCELLED",
        /// Ran its course. Terminal.
        Expired => "EXPIRED",
        /// A debit was charged back. Terminal.
        Chargedback => "CHARGEDBACK",
        /// Could not be activated or collected. Terminal.
        Failed => "FAILED",
    }
}

impl SubscriptionStatus {
    /// Allowed moves:
    ///
    /// | from | to |
    /// |---|---|
    /// | `PENDING_ACTIVATION` | `ACTIVE`, `FAILED`, `CANCELLED` |
    /// | `ACTIVE` | `PENDING`, `PAST_DUE`, `PAUSED`, `CANCELLED`, `EXPIRED`, `CHARGEDBACK` |
    /// | `PENDING` | `ACTIVE`, `PAST_DUE`, `FAILED`, `CANCELLED`, `CHARGEDBACK` |
    /// | `PAST_DUE` | `ACTIVE`, `PAUSED`, `CANCELLED`, `FAILED`, `CHARGEDBACK` |
    /// | `PAUSED` | `ACTIVE`, `CANCELLED` |
    /// | `CANCELLED`, `EXPIRED`, `CHARGEDBACK`, `FAILED` | — (terminal) |
    pub const fn can_transition_to(self, next: SubscriptionStatus) -> bool {
        use SubscriptionStatus::*;
        matches!(
            (self, next),
            (PendingActivation, Active)
                | (PendingActivation, Failed)
                | (PendingActivation, Cancelled)
                | (Active, Pending)
                | (Active, PastDue)
                | (Active, Paused)
                | (Active, Cancelled)
                | (Active, Expired)
                | (Active, Chargedback)
                | (Pending, Active)
                | (Pending, PastDue)
                | (Pending, Failed)
                | (Pending, Cancelled)
                | (Pending, Chargedback)
                | (PastDue, Active)
                | (PastDue, Paused)
                | (PastDue, Cancelled)
                | (PastDue, Failed)
                | (PastDue, Chargedback)
                | (Paused, Active)
                | (Paused, Cancelled)
        )
    }

    /// `CANCELLED`, `EXPIRED`, `CHARGEDBACK`, `FAILED`.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Cancelled
                | SubscriptionStatus::Expired
                | SubscriptionStatus::Chargedback
                | SubscriptionStatus::Failed
        )
    }

    /// `next` if the move is allowed, else a [`TransitionError`].
    pub fn transition_to(
        self,
        next: SubscriptionStatus,
    ) -> Result<SubscriptionStatus, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                machine: "subscription",
                from: self.as_str(),
                to: next.as_str(),
            })
        }
    }
}

string_enum! {
    /// A saved customer's status.
    pub enum CustomerStatus {
        /// The customer may be charged.
        Active => "ACTIVE",
        /// The mandate is revoked and charges are refused. Terminal.
        Deleted => "DELETED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_happy_paths() {
        use SessionStatus::*;
        let s = Pending.transition_to(PaymentInProgress).unwrap();
        let s = s.transition_to(AwaitingVerification).unwrap();
        assert_eq!(s.transition_to(Completed), Ok(Completed));
        assert_eq!(PaymentInProgress.transition_to(Pending), Ok(Pending));
        assert_eq!(Pending.transition_to(Expired), Ok(Expired));
        assert_eq!(AwaitingVerification.transition_to(Expired), Ok(Expired));
    }

    #[test]
    fn session_refused_moves() {
        use SessionStatus::*;
        let e = Pending.transition_to(Completed).unwrap_err();
        assert_eq!(
            e,
            TransitionError {
                machine: "session",
                from: "PENDING",
                to: "COMPLETED"
            }
        );
        assert_eq!(
            e.to_string(),
            "session status cannot change from PENDING to COMPLETED"
        );
        assert!(PaymentInProgress.transition_to(Expired).is_err());
        assert!(Completed.transition_to(Pending).is_err());
        assert!(Expired.transition_to(Pending).is_err());
        assert!(Pending.transition_to(Pending).is_err());
        assert!(Pending.is_payable() && !Failed.is_payable());
    }

    #[test]
    fn order_moves() {
        use OrderStatus::*;
        assert_eq!(
            PendingPaymentSubmission.transition_to(Completed),
            Ok(Completed)
        );
        assert_eq!(
            Completed.transition_to(PartiallyRefunded),
            Ok(PartiallyRefunded)
        );
        assert_eq!(
            PartiallyRefunded.transition_to(PartiallyRefunded),
            Ok(PartiallyRefunded)
        );
        assert_eq!(PartiallyRefunded.transition_to(Refunded), Ok(Refunded));
        assert!(Completed.transition_to(Pending).is_err());
        assert!(Completed.transition_to(Completed).is_err());
        assert!(Pending.transition_to(Refunded).is_err());
        assert!(Refunded.transition_to(Chargedback).is_err());
        assert!(!Completed.is_terminal());
        assert!(Cancelled.is_terminal());
        let e = Failed.transition_to(Completed).unwrap_err();
        assert_eq!(e.machine, "order");
        assert_eq!((e.from, e.to), ("FAILED", "COMPLETED"));
        assert!(Chargedback.was_paid() && !Pending.was_paid() && !Cancelled.was_paid());
    }

    #[test]
    fn subscription_moves() {
        use SubscriptionStatus::*;
        assert_eq!(PendingActivation.transition_to(Active), Ok(Active));
        assert_eq!(Active.transition_to(Paused), Ok(Paused));
        assert_eq!(Paused.transition_to(Active), Ok(Active));
        assert_eq!(PastDue.transition_to(Chargedback), Ok(Chargedback));
        // The merchant may pause a subscription that is retrying a declined renewal, not one
        // whose renewal is in flight.
        assert_eq!(PastDue.transition_to(Paused), Ok(Paused));
        assert!(Pending.transition_to(Paused).is_err());
        assert!(Paused.transition_to(PastDue).is_err());
        assert!(Paused.transition_to(Paused).is_err());
        for terminal in [Cancelled, Expired, Chargedback, Failed] {
            for next in [Active, Paused, Cancelled] {
                assert!(
                    terminal.transition_to(next).is_err(),
                    "{terminal} -> {next}"
                );
            }
        }
        assert!(PendingActivation.transition_to(Pending).is_err());
        assert!(Active.transition_to(Failed).is_err());
        assert!(Expired.transition_to(Active).is_err());
        assert_eq!(
            Cancelled.transition_to(Active).unwrap_err().machine,
            "subscription"
        );
    }

    #[test]
    fn api_strings() {
        assert_eq!(
            SessionStatus::PaymentInProgress.as_str(),
            "PAYMENT_IN_PROGRESS"
        );
        assert_eq!(
            SessionStatus::AwaitingVerification.to_string(),
            "AWAITING_VERIFICATION"
        );
        assert_eq!(
            OrderStatus::PendingPaymentSubmission.as_str(),
            "PENDING_PAYMENT_SUBMISSION"
        );
        assert_eq!(OrderStatus::Chargedback.as_str(), "CHARGEDBACK");
        assert_eq!(SubscriptionStatus::PastDue.as_str(), "PAST_DUE");
        assert_eq!(
            SubscriptionStatus::PendingActivation.as_str(),
            "PENDING_ACTIVATION"
        );
        assert_eq!(
            "PAUSED".parse::<SubscriptionStatus>(),
            Ok(SubscriptionStatus::Paused)
        );
        assert!("paused".parse::<SubscriptionStatus>().is_err());
        assert_eq!(
            "CHARGED_BACK"
                .parse::<OrderStatus>()
                .unwrap_err()
                .to_string(),
            "\"CHARGED_BACK\" is not a valid choice."
        );
        assert_eq!(SessionStatus::ALL.len(), 6);
        assert_eq!(OrderStatus::ALL.len(), 8);
        assert_eq!(SubscriptionStatus::ALL.len(), 9);
    }

    #[test]
    fn serde_as_api_strings() {
        assert_eq!(
            serde_json::to_value(SessionStatus::Pending).unwrap(),
            json!("PENDING")
        );
        assert_eq!(
            serde_json::from_value::<OrderStatus>(json!("PARTIALLY_REFUNDED")).unwrap(),
            OrderStatus::PartiallyRefunded
        );
        assert!(serde_json::from_value::<SessionStatus>(json!("pending")).is_err());
        assert!(serde_json::from_value::<SessionStatus>(json!(1)).is_err());
    }
}
