//! What a transaction is and where it stands: its kind, status and SEPA sequence type, the
//! kind of a reversal and of a gateway's answer. Stored and sent as the API strings (API.md
//! §3.5, §5).

use crate::macros::string_enum;

string_enum! {
    /// What a transaction does (API.md §3.5 `type`).
    pub enum TransactionKind {
        /// A debit: a session's payment or a customer's charge.
        Sale => "sdd_sale",
        /// A debit of a subscription's renewal.
        Rebill => "sdd_rebill",
        /// Money sent back to the payer for an earlier debit.
        Refund => "sdd_refund",
    }
}

impl TransactionKind {
    /// Debits (sales and rebills) collect money; a refund pays it back.
    pub const fn is_debit(self) -> bool {
        matches!(self, TransactionKind::Sale | TransactionKind::Rebill)
    }
}

string_enum! {
    /// Where a transaction stands (API.md §3.5 `status`).
    pub enum TransactionStatus {
        /// Sent, the gateway's answer not yet applied.
        Pending => "pending",
        /// The gateway accepted it.
        Approved => "approved",
        /// The gateway or the bank refused it.
        Declined => "declined",
        /// An approved debit whose amount has been refunded in full.
        Refunded => "refunded",
        /// An approved debit the payer's bank reversed (chargeback or return).
        ChargedBack => "charged_back",
    }
}

impl TransactionStatus {
    /// True while the outcome is not known.
    pub const fn is_pending(self) -> bool {
        matches!(self, TransactionStatus::Pending)
    }
}

string_enum! {
    /// The SEPA sequence type of a collection under a mandate.
    pub enum SequenceType {
        /// The first collection of a recurrent mandate.
        First => "FRST",
        /// A later collection of a recurrent mandate.
        Recurring => "RCUR",
        /// The only collection of a one-off mandate.
        OneOff => "OOFF",
        /// The last collection of a recurrent mandate.
        Final => "FNAL",
    }
}

string_enum! {
    /// How the payer's bank took a collection back (API.md §5, SEPA.md).
    pub enum ReversalKind {
        /// The debtor claimed a refund (e.g. `MD06`, `MD01`).
        Chargeback => "chargeback",
        /// The bank returned the collection (e.g. `AM04`, `MS02`, `AC04`).
        Return => "return",
    }
}

string_enum! {
    /// The kind of a gateway's answer to a transaction, as the sandbox gateway records it.
    pub enum OutcomeStatus {
        /// Accepted.
        Approved => "approved",
        /// Sent; the bank's answer comes later.
        Pending => "pending",
        /// The payer must verify first.
        VerificationRequired => "verification_required",
        /// Declined by the bank (the outcome carries a reference).
        Declined => "declined",
        /// Declined before any bank saw it (no reference).
        Refused => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_strings_round_trip_and_others_are_refused() {
        for kind in TransactionKind::ALL {
            assert_eq!(kind.as_str().parse::<TransactionKind>(), Ok(*kind));
        }
        for status in TransactionStatus::ALL {
            assert_eq!(status.as_str().parse::<TransactionStatus>(), Ok(*status));
        }
        assert_eq!("RCUR".parse::<SequenceType>(), Ok(SequenceType::Recurring));
        assert!("rcur".parse::<SequenceType>().is_err());
        assert!("other_type".parse::<TransactionKind>().is_err());
        assert!("Approved".parse::<TransactionStatus>().is_err());
        assert_eq!(ReversalKind::Return.to_string(), "return");
    }

    #[test]
    fn only_sales_and_rebills_are_debits() {
        assert!(TransactionKind::Sale.is_debit());
        assert!(TransactionKind::Rebill.is_debit());
        assert!(!TransactionKind::Refund.is_debit());
        assert!(TransactionStatus::Pending.is_pending());
        assert!(!TransactionStatus::Approved.is_pending());
    }
}
