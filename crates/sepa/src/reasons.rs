//! SEPA Direct Debit R-transaction reason codes (ISO 20022 / EPC) and their mapping to the
//! platform's decline codes (the API's `error_details.code`). One table for every adapter.

use std::fmt;
use std::str::FromStr;

/// Why a debit failed, normalised across gateways. [`DeclineCode::as_str`] gives the API's
/// `error_details.code` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclineCode {
    /// The account lacked funds (AM04).
    InsufficientFunds,
    /// The account or bank details are wrong or unreachable.
    InvalidIban,
    /// The mandate is missing, incomplete or disputed by the debtor.
    MandateRejected,
    /// The account is closed, blocked, or its holder deceased.
    AccountClosed,
    /// The debtor's bank refused without a more specific reason.
    DoNotHonor,
    /// The gateway or clearing system could not process the debit.
    GatewayUnavailable,
    /// Anything else, including missing and unknown reason codes.
    Unknown,
}

impl DeclineCode {
    /// Every decline code.
    pub const ALL: [DeclineCode; 7] = [
        Self::InsufficientFunds,
        Self::InvalidIban,
        Self::MandateRejected,
        Self::AccountClosed,
        Self::DoNotHonor,
        Self::GatewayUnavailable,
        Self::Unknown,
    ];

    /// The snake_case value used in the API, e.g. `"insufficient_funds"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "insufficient_funds",
            Self::InvalidIban => "invalid_iban",
            Self::MandateRejected => "mandate_rejected",
            Self::AccountClosed => "account_closed",
            Self::DoNotHonor => "do_not_honor",
            Self::GatewayUnavailable => "gateway_unavailable",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for DeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input is not one of the API's decline codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decline code")]
pub struct UnknownDeclineCode;

impl FromStr for DeclineCode {
    type Err = UnknownDeclineCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownDeclineCode)
    }
}

impl serde::Serialize for DeclineCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for DeclineCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse()
            .map_err(|_| serde::de::Error::unknown_variant(&s, &DECLINE_CODE_NAMES))
    }
}

const DECLINE_CODE_NAMES: [&str; 7] = [
    "insufficient_funds",
    "invalid_iban",
    "mandate_rejected",
    "account_closed",
    "do_not_honor",
    "gateway_unavailable",
    "unknown",
];

/// The kind of R-transaction a reason code typically arrives with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RType {
    /// Reject: refused by a bank before settlement.
    Reject,
    /// Return: sent back by the debtor bank after settlement.
    Return,
    /// Refund: claimed back by the debtor (8 weeks authorised, 13 months unauthorised).
    Refund,
    /// Refusal: refused by the debtor before settlement.
    Refusal,
}

impl RType {
    /// The EPC abbreviation: `Rj`, `Rt`, `Rf` or `Rs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "Rj",
            Self::Return => "Rt",
            Self::Refund => "Rf",
            Self::Refusal => "Rs",
        }
    }
}

/// Whether a debit that failed with a reason is worth submitting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Do not retry; new details or a new mandate are needed.
    No,
    /// Only after talking to the customer.
    AfterCustomerContact,
    /// Only after the cause (a technical or data fault) is fixed.
    AfterFix,
    /// At most once more.
    Once,
    /// Later (e.g. after payday, or once the clearing problem is solved).
    Later,
}

/// A SEPA R-transaction reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum ReasonCode {
    /// Account identifier incorrect (invalid IBAN).
    AC01,
    /// Account closed.
    AC04,
    /// Account blocked (for direct debit, or a legal block).
    AC06,
    /// Debtor account is a consumer account (B2B scheme).
    AC13,
    /// Transaction forbidden on this account.
    AG01,
    /// Invalid bank operation code / sequence type.
    AG02,
    /// Insufficient funds.
    AM04,
    /// Duplication.
    AM05,
    /// Unrecognised initiating party (creditor identifier).
    BE05,
    /// Creditor bank not registered in the clearing system.
    CNOR,
    /// Debtor bank not registered or not reachable in the clearing system.
    DNOR,
    /// Invalid file format.
    FF01,
    /// No mandate / unauthorised transaction.
    MD01,
    /// Missing mandatory mandate information.
    MD02,
    /// Refund request by the end customer (authorised debit).
    MD06,
    /// End customer deceased.
    MD07,
    /// Reason not specified, customer-generated.
    MS02,
    /// Reason not specified, agent-generated.
    MS03,
    /// Bank identifier (BIC) incorrect.
    RC01,
    /// Missing debtor account or identification.
    RR01,
    /// Missing debtor name or address.
    RR02,
    /// Missing creditor name or address.
    RR03,
    /// Regulatory reason.
    RR04,
    /// Specific service offered by the debtor agent (direct debit blocking or whitelist).
    SL01,
}

use DeclineCode as D;
use RType::{Refund as RF, Refusal as RS, Reject as RJ, Return as RT};
use ReasonCode as R;

/// code, ISO meaning, typical R-types, decline code, retry.
type Row = (
    ReasonCode,
    &'static str,
    &'static str,
    &'static [RType],
    DeclineCode,
    Retry,
);

/// GENESIS.md §7: EPC/ISO 20022 codes for SDD R-transactions.
#[rustfmt::skip]
static TABLE: [Row; 24] = [
    (R::AC01, "AC01", "Account identifier incorrect (invalid IBAN)", &[RJ, RT], D::InvalidIban, Retry::No),
    (R::AC04, "AC04", "Account closed", &[RJ, RT], D::AccountClosed, Retry::No),
    (R::AC06, "AC06", "Account blocked (blocked for direct debit, or legal block)", &[RJ, RT], D::AccountClosed, Retry::AfterCustomerContact),
    (R::AC13, "AC13", "Debtor account is a consumer account (B2B scheme)", &[RJ], D::InvalidIban, Retry::No),
    (R::AG01, "AG01", "Transaction forbidden on this account", &[RJ, RT], D::DoNotHonor, Retry::No),
    (R::AG02, "AG02", "Invalid bank operation code / sequence type", &[RJ], D::Unknown, Retry::No),
    (R::AM04, "AM04", "Insufficient funds", &[RJ, RT], D::InsufficientFunds, Retry::Later),
    (R::AM05, "AM05", "Duplication", &[RJ, RT], D::DoNotHonor, Retry::No),
    (R::BE05, "BE05", "Unrecognised initiating party (creditor identifier)", &[RJ], D::Unknown, Retry::No),
    (R::CNOR, "CNOR", "Creditor bank not registered in the clearing system", &[RJ], D::GatewayUnavailable, Retry::Later),
    (R::DNOR, "DNOR", "Debtor bank not registered or not reachable in the clearing system", &[RJ], D::InvalidIban, Retry::No),
    (R::FF01, "FF01", "Invalid file format", &[RJ], D::Unknown, Retry::AfterFix),
    (R::MD01, "MD01", "No mandate / unauthorised transaction", &[RJ, RT, RF], D::MandateRejected, Retry::No),
    (R::MD02, "MD02", "Missing mandatory mandate information", &[RJ, RT], D::MandateRejected, Retry::No),
    (R::MD06, "MD06", "Refund request by end customer (authorised debit)", &[RF], D::MandateRejected, Retry::No),
    (R::MD07, "MD07", "End customer deceased", &[RJ, RT], D::AccountClosed, Retry::No),
    (R::MS02, "MS02", "Reason not specified, customer-generated", &[RJ, RT, RS], D::MandateRejected, Retry::No),
    (R::MS03, "MS03", "Reason not specified, agent-generated", &[RJ, RT], D::DoNotHonor, Retry::Once),
    (R::RC01, "RC01", "Bank identifier (BIC) incorrect", &[RJ], D::InvalidIban, Retry::No),
    (R::RR01, "RR01", "Missing debtor account or identification (regulatory)", &[RJ, RT], D::InvalidIban, Retry::No),
    (R::RR02, "RR02", "Missing debtor name or address (regulatory)", &[RJ, RT], D::Unknown, Retry::No),
    (R::RR03, "RR03", "Missing creditor name or address (regulatory)", &[RJ, RT], D::Unknown, Retry::No),
    (R::RR04, "RR04", "Regulatory reason", &[RJ, RT], D::DoNotHonor, Retry::No),
    (R::SL01, "SL01", "Specific service offered by debtor agent (direct debit blocking or whitelist)", &[RJ, RT], D::MandateRejected, Retry::No),
];

impl ReasonCode {
    /// Every reason code in the table, sorted.
    pub fn all() -> impl Iterator<Item = ReasonCode> {
        TABLE.iter().map(|row| row.0)
    }

    fn row(self) -> &'static Row {
        // The table holds the variants in declaration order (checked by a test).
        &TABLE[self as usize]
    }

    /// Parses a code such as `"AM04"` (surrounding whitespace and ASCII case ignored).
    pub fn parse(code: &str) -> Option<ReasonCode> {
        let code = code.trim();
        TABLE
            .iter()
            .find(|row| row.1.eq_ignore_ascii_case(code))
            .map(|row| row.0)
    }

    /// The four-character code, e.g. `"AM04"`.
    pub fn code(self) -> &'static str {
        self.row().1
    }

    /// The ISO meaning, paraphrased.
    pub fn meaning(self) -> &'static str {
        self.row().2
    }

    /// The R-transaction types the code typically arrives with.
    pub fn r_types(self) -> &'static [RType] {
        self.row().3
    }

    /// The platform's decline code for this reason.
    pub fn decline_code(self) -> DeclineCode {
        self.row().4
    }

    /// Whether and when a retry makes sense.
    pub fn retry(self) -> Retry {
        self.row().5
    }

    /// Whether an automatic retry is worth it (later, or once more).
    pub fn is_retryable(self) -> bool {
        matches!(self.retry(), Retry::Later | Retry::Once)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The input is not a known SEPA reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SEPA reason code")]
pub struct UnknownReasonCode;

impl FromStr for ReasonCode {
    type Err = UnknownReasonCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(UnknownReasonCode)
    }
}

impl serde::Serialize for ReasonCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// The decline code for a SEPA reason code as a gateway reports it (`"AM04"`, `" md06 "`);
/// unknown or empty codes give [`DeclineCode::Unknown`].
///
/// ```
/// use catalyst_sepa::reasons::{decline_code_for_reason, DeclineCode};
/// assert_eq!(decline_code_for_reason("AM04"), DeclineCode::InsufficientFunds);
/// assert_eq!(decline_code_for_reason("AM04").as_str(), "insufficient_funds");
/// assert_eq!(decline_code_for_reason(""), DeclineCode::Unknown);
/// ```
pub fn decline_code_for_reason(code: &str) -> DeclineCode {
    ReasonCode::parse(code).map_or(DeclineCode::Unknown, ReasonCode::decline_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "{}", row.1);
            assert_eq!(format!("{:?}", row.0), row.1);
        }
        assert!(TABLE.windows(2).all(|w| w[0].1 < w[1].1));
    }

    #[test]
    fn mapping_follows_genesis_table() {
        let expected = [
            ("AC01", "invalid_iban"),
            ("AC04", "account_closed"),
            ("AC06", "account_closed"),
            ("AC13", "invalid_iban"),
            ("AG01", "do_not_honor"),
            ("AG02", "unknown"),
            ("AM04", "insufficient_funds"),
            ("AM05", "do_not_honor"),
            ("BE05", "unknown"),
            ("CNOR", "gateway_unavailable"),
            ("DNOR", "invalid_iban"),
            ("FF01", "unknown"),
            ("MD01", "mandate_rejected"),
            ("MD02", "mandate_rejected"),
            ("MD06", "mandate_rejected"),
            ("MD07", "account_closed"),
            ("MS02", "mandate_rejected"),
            ("MS03", "do_not_honor"),
            ("RC01", "invalid_iban"),
            ("RR01", "invalid_iban"),
            ("RR02", "unknown"),
            ("RR03", "unknown"),
            ("RR04", "do_not_honor"),
            ("SL01", "mandate_rejected"),
        ];
        assert_eq!(ReasonCode::all().count(), expected.len());
        for (code, decline) in expected {
            assert_eq!(decline_code_for_reason(code).as_str(), decline, "{code}");
        }
    }

    #[test]
    fn unknown_and_messy_inputs() {
        assert_eq!(
            decline_code_for_reason(" am04\n"),
            DeclineCode::InsufficientFunds
        );
        for code in ["", "   ", "XX99", "AM0", "AM044", "10.5", "ÄM04"] {
            assert_eq!(
                decline_code_for_reason(code),
                DeclineCode::Unknown,
                "{code:?}"
            );
        }
    }

    #[test]
    fn retry_and_r_types() {
        assert!(ReasonCode::AM04.is_retryable());
        assert!(ReasonCode::MS03.is_retryable());
        assert!(ReasonCode::CNOR.is_retryable());
        assert!(!ReasonCode::AC04.is_retryable());
        assert!(!ReasonCode::AC06.is_retryable());
        assert!(!ReasonCode::FF01.is_retryable());
        assert_eq!(ReasonCode::MD06.r_types(), &[RType::Refund]);
        assert!(ReasonCode::MS02.r_types().contains(&RType::Refusal));
        assert_eq!(RType::Reject.as_str(), "Rj");
        assert_eq!(ReasonCode::AM04.meaning(), "Insufficient funds");
    }

    #[test]
    fn decline_code_strings_round_trip() {
        for code in DeclineCode::ALL {
            assert_eq!(code.as_str().parse::<DeclineCode>(), Ok(code));
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{code}\""));
            assert_eq!(
                serde_json::from_str::<DeclineCode>(&format!("\"{code}\"")).unwrap(),
                code
            );
        }
        assert_eq!(
            DECLINE_CODE_NAMES,
            DeclineCode::ALL.map(DeclineCode::as_str)
        );
        assert!("Insufficient_Funds".parse::<DeclineCode>().is_err());
    }
}
