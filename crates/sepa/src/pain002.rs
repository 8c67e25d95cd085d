//! The ISO 20022 `pain.002` (CustomerPaymentStatusReport) reader, any version `001.03`-`001.14`.
//!
//! Reads the group status, each original payment information block's status and each
//! transaction's status with its reason codes, mapped through the SEPA reason-code table
//! ([`crate::ReasonCode`]). Input is bounded (8 MiB, nesting depth, no DTD); every error
//! carries the line and column.
//!
//! ```
//! use catalyst_sepa::pain002::{read, Status};
//!
//! let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
//!   <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-12-05T08:00:00</CreDtTm></GrpHdr>
//!   <OrgnlGrpInfAndSts><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>
//!     <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
//!   <OrgnlPmtInfAndSts><OrgnlPmtInfId>MSG-1-1</OrgnlPmtInfId>
//!     <TxInfAndSts><OrgnlEndToEndId>E2E-2</OrgnlEndToEndId><TxSts>RJCT</TxSts>
//!       <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>
//!   </OrgnlPmtInfAndSts>
//! </CstmrPmtStsRpt></Document>"#;
//! let report = read(xml).unwrap();
//! assert_eq!(report.original_message_id, "MSG-1");
//! assert_eq!(report.group_status, Some(Status::PartiallyAccepted));
//! let tx = &report.transactions()[0];
//! assert_eq!(tx.original_end_to_end_id, "E2E-2");
//! assert_eq!(tx.status, Status::Rejected);
//! assert_eq!(tx.reasons[0].code, "AC04");
//! assert_eq!(tx.reasons[0].reason.unwrap().code(), "AC04");
//! ```

use crate::file_error::FileError;
use crate::reasons::ReasonCode;
use crate::xml_read::{self, Node};

/// An ISO 20022 payment status (ExternalPaymentTransactionStatus1Code / group status).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// `ACCP`: accepted customer profile.
    Accepted,
    /// `ACSC`: accepted, settlement completed.
    SettlementCompleted,
    /// `ACSP`: accepted, settlement in process.
    SettlementInProcess,
    /// `ACTC`: accepted after technical validation.
    TechnicalValidation,
    /// `ACWC`: accepted with change.
    AcceptedWithChange,
    /// `ACCC`: accepted, credit settlement completed.
    CreditSettlementCompleted,
    /// `PART`: some transactions accepted, some rejected.
    PartiallyAccepted,
    /// `PDNG`: pending.
    Pending,
    /// `RCVD`: received.
    Received,
    /// `RJCT`: rejected.
    Rejected,
    /// `CANC`: cancelled.
    Cancelled,
    /// Another four-letter code of the ISO external code list.
    Other(String),
}

impl Status {
    /// Parses an ISO status code.
    pub fn parse(code: &str) -> Status {
        match code {
            "ACCP" => Status::Accepted,
            "ACSC" => Status::SettlementCompleted,
            "ACSP" => Status::SettlementInProcess,
            "ACTC" => Status::TechnicalValidation,
            "ACWC" => Status::AcceptedWithChange,
            "ACCC" => Status::CreditSettlementCompleted,
            "PART" => Status::PartiallyAccepted,
            "PDNG" => Status::Pending,
            "RCVD" => Status::Received,
            "RJCT" => Status::Rejected,
            "CANC" => Status::Cancelled,
            other => Status::Other(other.to_owned()),
        }
    }

    /// The ISO code.
    pub fn code(&self) -> &str {
        match self {
            Status::Accepted => "ACCP",
            Status::SettlementCompleted => "ACSC",
            Status::SettlementInProcess => "ACSP",
            Status::TechnicalValidation => "ACTC",
            Status::AcceptedWithChange => "ACWC",
            Status::CreditSettlementCompleted => "ACCC",
            Status::PartiallyAccepted => "PART",
            Status::Pending => "PDNG",
            Status::Received => "RCVD",
            Status::Rejected => "RJCT",
            Status::Cancelled => "CANC",
            Status::Other(c) => c,
        }
    }

    /// Whether the bank refused it (`RJCT`, `CANC`).
    pub fn is_rejected(&self) -> bool {
        matches!(self, Status::Rejected | Status::Cancelled)
    }

    /// Whether the bank took it (`ACCP`, `ACSC`, `ACSP`, `ACTC`, `ACWC`, `ACCC`).
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            Status::Accepted
                | Status::SettlementCompleted
                | Status::SettlementInProcess
                | Status::TechnicalValidation
                | Status::AcceptedWithChange
                | Status::CreditSettlementCompleted
        )
    }
}

/// A status reason: the raw code, its SEPA meaning when the code is in the table, and free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReason {
    /// The ISO code (`Rsn/Cd`) or proprietary code (`Rsn/Prtry`) as written.
    pub code: String,
    /// The SEPA reason code, when `code` is one.
    pub reason: Option<ReasonCode>,
    /// `AddtlInf` lines.
    pub additional_information: Vec<String>,
}

/// The status of one original transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatus {
    /// `OrgnlPmtInfId` of the block the transaction was in.
    pub original_payment_information_id: String,
    /// `OrgnlEndToEndId`.
    pub original_end_to_end_id: String,
    /// `TxSts`; when absent the block's status, then the group's, applies.
    pub status: Status,
    /// Reasons, e.g. AC04, AM04, MD01.
    pub reasons: Vec<StatusReason>,
    /// `OrgnlTxRef/Amt/InstdAmt` in minor units, when reported.
    pub original_amount_minor: Option<i64>,
    /// The `Ccy` of that amount, when reported.
    pub original_currency: Option<String>,
}

/// The status of one original payment information block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStatus {
    /// `OrgnlPmtInfId`.
    pub original_payment_information_id: String,
    /// `PmtInfSts`, if given.
    pub status: Option<Status>,
    /// Block-level reasons.
    pub reasons: Vec<StatusReason>,
    /// The transactions reported in the block.
    pub transactions: Vec<TransactionStatus>,
}

/// A pain.002 status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The report's `MsgId`.
    pub message_id: String,
    /// The report's `CreDtTm` as written.
    pub created_at: String,
    /// `OrgnlMsgId`: the pain.008 message id this reports on.
    pub original_message_id: String,
    /// `OrgnlMsgNmId`, e.g. `pain.008.001.08`.
    pub original_message_name: String,
    /// `GrpSts`, if given.
    pub group_status: Option<Status>,
    /// Group-level reasons.
    pub group_reasons: Vec<StatusReason>,
    /// The blocks reported on.
    pub payments: Vec<PaymentStatus>,
}

impl StatusReport {
    /// Every reported transaction, across blocks.
    pub fn transactions(&self) -> Vec<&TransactionStatus> {
        self.payments
            .iter()
            .flat_map(|p| p.transactions.iter())
            .collect()
    }
}

pub(crate) fn reasons(node: &Node) -> Vec<StatusReason> {
    node.all("StsRsnInf")
        .filter_map(|r| {
            let code = r
                .text_at(&["Rsn", "Cd"])
                .or_else(|| r.text_at(&["Rsn", "Prtry"]))?;
            Some(StatusReason {
                reason: ReasonCode::parse(&code),
                code,
                additional_information: r.all("AddtlInf").map(|a| a.text.clone()).collect(),
            })
        })
        .collect()
}

/// Reads a pain.002 document. Errors are [`FileError::TooLarge`] or [`FileError::Malformed`]
/// with the line and column (bad XML, a DTD, another message, a missing required element).
pub fn read(input: &[u8]) -> Result<StatusReport, FileError> {
    from_document(&xml_read::parse(input)?)
}

/// Reads an already parsed document (the root `<Document>`).
pub(crate) fn from_document(doc: &Node) -> Result<StatusReport, FileError> {
    let ns = doc.attr("xmlns").unwrap_or("");
    if doc.name != "Document" || !ns.starts_with("urn:iso:std:iso:20022:tech:xsd:pain.002.") {
        return Err(doc.error(format!(
            "not a pain.002 document (root <{}> in namespace {ns:?})",
            doc.name
        )));
    }
    let rpt = doc
        .child("CstmrPmtStsRpt")
        .ok_or_else(|| doc.error("no <CstmrPmtStsRpt>".into()))?;
    let hdr = rpt
        .child("GrpHdr")
        .ok_or_else(|| rpt.error("no <GrpHdr>".into()))?;
    let grp = rpt
        .child("OrgnlGrpInfAndSts")
        .ok_or_else(|| rpt.error("no <OrgnlGrpInfAndSts>".into()))?;
    let group_status = grp.text_at(&["GrpSts"]).map(|s| Status::parse(&s));
    let mut payments = Vec::new();
    for p in rpt.all("OrgnlPmtInfAndSts") {
        let pid = p.required(&["OrgnlPmtInfId"])?;
        let status = p.text_at(&["PmtInfSts"]).map(|s| Status::parse(&s));
        let mut transactions = Vec::new();
        for t in p.all("TxInfAndSts") {
            let tx_status = match t.text_at(&["TxSts"]) {
                Some(s) => Status::parse(&s),
                None => status
                    .clone()
                    .or_else(|| group_status.clone())
                    .ok_or_else(|| {
                        t.error("<TxInfAndSts> has no <TxSts> and no block or group status".into())
                    })?,
            };
            let instructed = t.at(&["OrgnlTxRef", "Amt", "InstdAmt"]);
            let original_amount_minor = match instructed {
                Some(a) => Some(
                    xml_read::parse_amount(&a.text)
                        .ok_or_else(|| a.error(format!("bad amount {:?}", a.text)))?,
                ),
                None => None,
            };
            let original_currency = instructed
                .and_then(|a| a.attr("Ccy"))
                .map(str::to_owned)
                .filter(|c| !c.is_empty());
            transactions.push(TransactionStatus {
                original_payment_information_id: pid.clone(),
                original_end_to_end_id: t.required(&["OrgnlEndToEndId"])?,
                status: tx_status,
                reasons: reasons(t),
                original_amount_minor,
                original_currency,
            });
        }
        payments.push(PaymentStatus {
            original_payment_information_id: pid,
            status,
            reasons: reasons(p),
            transactions,
        });
    }
    Ok(StatusReport {
        message_id: hdr.required(&["MsgId"])?,
        created_at: hdr.required(&["CreDtTm"])?,
        original_message_id: grp.required(&["OrgnlMsgId"])?,
        original_message_name: grp.required(&["OrgnlMsgNmId"])?,
        group_status,
        group_reasons: reasons(grp),
        payments,
    })
}
