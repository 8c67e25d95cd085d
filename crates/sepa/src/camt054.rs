//! The ISO 20022 `camt.054` (BankToCustomerDebitCreditNotification) reader, any version.
//!
//! Flattens every entry's transaction details into [`EntryRecord`]s: end-to-end id, amount in
//! minor units, credit/debit, reversal indicator, booking date and the return reason
//! (`RtrInf/Rsn/Cd`, e.g. `AM04` for a return, `MD06` for a refund request) mapped through the
//! SEPA reason-code table. Input is bounded like [`crate::pain002::read`].
//!
//! ```
//! use catalyst_sepa::camt054::{CreditDebit, read};
//!
//! let xml = br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
//! <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N-1</MsgId><CreDtTm>2026-12-10T06:00:00</CreDtTm></GrpHdr>
//! <Ntfctn><Id>1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
//!  <Ntry><Amt Ccy="EUR">19.99</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
//!   <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-10</Dt></BookgDt>
//!   <NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs>
//!    <Amt Ccy="EUR">19.99</Amt><CdtDbtInd>DBIT</CdtDbtInd>
//!    <RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
//! </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"#;
//! let n = read(xml).unwrap();
//! let r = &n.entries[0];
//! assert_eq!(r.end_to_end_id.as_deref(), Some("E2E-1"));
//! assert_eq!(r.amount_minor, 1999);
//! assert_eq!(r.credit_debit, CreditDebit::Debit);
//! assert!(r.reversal);
//! assert_eq!(r.return_reason.as_ref().unwrap().code, "AM04");
//! ```

use chrono::NaiveDate;

use crate::file_error::FileError;
use crate::reasons::ReasonCode;
use crate::xml_read::{self, Node};

pub use crate::pain002::StatusReason;

/// Direction of an entry from the account holder's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditDebit {
    /// `CRDT`: money in.
    Credit,
    /// `DBIT`: money out (for a creditor: a returned or refunded collection).
    Debit,
}

/// One transaction of a notification (an entry's `TxDtls`, or the entry itself when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// `Ntfctn/Id`.
    pub notification_id: String,
    /// The account's IBAN, when given.
    pub account_iban: Option<String>,
    /// `NtryRef`, when given.
    pub entry_reference: Option<String>,
    /// `Refs/EndToEndId` of the original collection (`None` when absent or `NOTPROVIDED`).
    pub end_to_end_id: Option<String>,
    /// `Refs/MndtId`, when given.
    pub mandate_id: Option<String>,
    /// Amount of the transaction in minor units (the entry's when the details have none).
    pub amount_minor: i64,
    /// Currency of the amount.
    pub currency: String,
    /// Credit or debit.
    pub credit_debit: CreditDebit,
    /// `RvslInd` of the entry.
    pub reversal: bool,
    /// The entry status (`BOOK`, `PDNG`, `INFO`), as written.
    pub status: String,
    /// `BookgDt`, when given.
    pub booking_date: Option<NaiveDate>,
    /// `RtrInf/Rsn`: why the collection came back.
    pub return_reason: Option<StatusReason>,
}

/// A camt.054 notification, flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitCreditNotification {
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm` as written.
    pub created_at: String,
    /// Every transaction of every entry of every notification, in file order.
    pub entries: Vec<EntryRecord>,
}

impl DebitCreditNotification {
    /// The records that carry a return reason (R-transactions).
    pub fn returns(&self) -> impl Iterator<Item = &EntryRecord> {
        self.entries.iter().filter(|e| e.return_reason.is_some())
    }
}

fn amount(node: &Node) -> Result<(i64, String), FileError> {
    let minor = xml_read::parse_amount(&node.text)
        .ok_or_else(|| node.error(format!("bad amount {:?}", node.text)))?;
    Ok((minor, node.attr("Ccy").unwrap_or("").to_owned()))
}

fn credit_debit(node: &Node) -> Result<CreditDebit, FileError> {
    match node.required(&["CdtDbtInd"])?.as_str() {
        "CRDT" => Ok(CreditDebit::Credit),
        "DBIT" => Ok(CreditDebit::Debit),
        other => Err(node.error(format!("CdtDbtInd {other:?} is neither CRDT nor DBIT"))),
    }
}

fn return_reason(tx: &Node) -> Option<StatusReason> {
    let info = tx.child("RtrInf")?;
    let code = info
        .text_at(&["Rsn", "Cd"])
        .or_else(|| info.text_at(&["Rsn", "Prtry"]))?;
    Some(StatusReason {
        reason: ReasonCode::parse(&code),
        code,
        additional_information: info.all("AddtlInf").map(|a| a.text.clone()).collect(),
    })
}

/// Reads a camt.054 document. Errors are [`FileError::TooLarge`] or [`FileError::Malformed`]
/// with the line and column.
pub fn read(input: &[u8]) -> Result<DebitCreditNotification, FileError> {
    from_document(&xml_read::parse(input)?)
}

/// Reads an already parsed document (the root `<Document>`).
pub(crate) fn from_document(doc: &Node) -> Result<DebitCreditNotification, FileError> {
    let ns = doc.attr("xmlns").unwrap_or("");
    if doc.name != "Document" || !ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.054.") {
        return Err(doc.error(format!(
            "not a camt.054 document (root <{}> in namespace {ns:?})",
            doc.name
        )));
    }
    let body = doc
        .child("BkToCstmrDbtCdtNtfctn")
        .ok_or_else(|| doc.error("no <BkToCstmrDbtCdtNtfctn>".into()))?;
    let hdr = body
        .child("GrpHdr")
        .ok_or_else(|| body.error("no <GrpHdr>".into()))?;
    let mut entries = Vec::new();
    for n in body.all("Ntfctn") {
        let notification_id = n.required(&["Id"])?;
        let account_iban = n.text_at(&["Acct", "Id", "IBAN"]);
        for e in n.all("Ntry") {
            let amt = e
                .child("Amt")
                .ok_or_else(|| e.error("<Ntry> has no <Amt>".into()))?;
            let (entry_minor, entry_ccy) = amount(amt)?;
            let entry_cd = credit_debit(e)?;
            let reversal = e
                .text_at(&["RvslInd"])
                .is_some_and(|v| v == "true" || v == "1");
            let status = e
                .text_at(&["Sts", "Cd"])
                .or_else(|| e.text_at(&["Sts"]))
                .unwrap_or_default();
            let booking_date = match e.text_at(&["BookgDt", "Dt"]) {
                Some(d) => Some(
                    NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| e.error(format!("bad booking date {d:?}")))?,
                ),
                None => None,
            };
            let details: Vec<&Node> = e.all("NtryDtls").flat_map(|d| d.all("TxDtls")).collect();
            let base =
                |end_to_end_id, mandate_id, amount_minor, currency, credit_debit, return_reason| {
                    EntryRecord {
                        notification_id: notification_id.clone(),
                        account_iban: account_iban.clone(),
                        entry_reference: e.text_at(&["NtryRef"]),
                        end_to_end_id,
                        mandate_id,
                        amount_minor,
                        currency,
                        credit_debit,
                        reversal,
                        status: status.clone(),
                        booking_date,
                        return_reason,
                    }
                };
            if details.is_empty() {
                entries.push(base(
                    None,
                    None,
                    entry_minor,
                    entry_ccy.clone(),
                    entry_cd,
                    None,
                ));
                continue;
            }
            for tx in details {
                let tx_amt = tx
                    .child("Amt")
                    .or_else(|| tx.at(&["AmtDtls", "TxAmt", "Amt"]));
                let (minor, ccy) = match tx_amt {
                    Some(a) => amount(a)?,
                    None => (entry_minor, entry_ccy.clone()),
                };
                let cd = if tx.child("CdtDbtInd").is_some() {
                    credit_debit(tx)?
                } else {
                    entry_cd
                };
                let e2e = tx
                    .text_at(&["Refs", "EndToEndId"])
                    .filter(|id| id != "NOTPROVIDED");
                entries.push(base(
                    e2e,
                    tx.text_at(&["Refs", "MndtId"]),
                    minor,
                    ccy,
                    cd,
                    return_reason(tx),
                ));
            }
        }
    }
    Ok(DebitCreditNotification {
        message_id: hdr.required(&["MsgId"])?,
        created_at: hdr.required(&["CreDtTm"])?,
        entries,
    })
}
